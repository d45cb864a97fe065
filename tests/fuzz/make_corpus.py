#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (run from anywhere; idempotent).

Seeds are small and named for what they hold. The fuzzers grow their own corpora from these in
build-fuzz/corpus/<target>/, which is never committed.
"""
import hashlib
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
H = "Host: example.com\r\n"


def req(line, headers="", body=""):
    return (line + "\r\n" + headers + "\r\n" + body).encode("latin-1")


REQUEST = {
    "get": req("GET / HTTP/1.1", H),
    "get_query": req("GET /a/b?x=1&y=%20 HTTP/1.1", H + "Accept: */*\r\nUser-Agent: curl/8\r\n"),
    "head": req("HEAD /x HTTP/1.1", H),
    "options_star": req("OPTIONS * HTTP/1.1", H),
    "absolute_form": req("GET http://example.com/x HTTP/1.1", H),
    "http10_no_host": req("GET / HTTP/1.0", ""),
    "http10_keep_alive": req("GET / HTTP/1.0", "Connection: keep-alive\r\n"),
    "post_cl": req("POST /echo HTTP/1.1", H + "Content-Length: 5\r\n", "hello"),
    "post_cl0": req("POST / HTTP/1.1", H + "Content-Length: 0\r\n"),
    "post_chunked": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
    "post_chunked_upper": req("POST / HTTP/1.1", H + "Transfer-Encoding: CHUNKED\r\n", "3\r\nabc\r\n0\r\n\r\n"),
    "post_chunked_ext": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "5;name=\"v a\";x\r\nhello\r\n0\r\n\r\n"),
    "post_chunked_trailer": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "1\r\na\r\n0\r\nX-Sum: 1\r\n\r\n"),
    "trailer_host": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "0\r\nHost: evil\r\n\r\n"),
    "expect_continue": req("PUT /u HTTP/1.1", H + "Expect: 100-continue\r\nContent-Length: 3\r\n", "abc"),
    "pipelined": req("GET /1 HTTP/1.1", H) + req("GET /2 HTTP/1.1", H) + req("POST /3 HTTP/1.1", H + "Content-Length: 1\r\n", "z"),
    "leading_crlf": b"\r\n" + req("GET / HTTP/1.1", H),
    "upgrade": req("GET /ws HTTP/1.1", H + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n") + b"tunnel bytes",
    "connection_close": req("GET / HTTP/1.1", H + "Connection: close\r\n"),
    "connection_lists": req("GET / HTTP/1.1", H + "Connection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"),
    "connection_host": req("GET / HTTP/1.1", H + "Connection: host\r\n"),
    "xff_many": req("GET / HTTP/1.1", H + "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n"),
    "hop_by_hop": req("GET / HTTP/1.1", H + "TE: trailers\r\nTrailer: X\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: x\r\n"),
    "underscore": req("POST / HTTP/1.1", H + "Content_Length: 5\r\nTransfer_Encoding: chunked\r\nContent-Length: 2\r\n", "ok"),
    "empty_value": req("GET / HTTP/1.1", H + "X-Empty:\r\nX-Spaces:   \r\n"),
    # smuggling classes: ferry must reject each
    "cl_te": req("POST / HTTP/1.1", H + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nG"),
    "te_cl": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "8\r\nSMUGGLED\r\n0\r\n\r\n"),
    "te_te_dup": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", "0\r\n\r\n"),
    "te_junk": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunkedx\r\n", "0\r\n\r\n"),
    "te_vt": req("POST / HTTP/1.1", H + "Transfer-Encoding: \x0bchunked\r\n", "0\r\n\r\n"),
    "te_q": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n"),
    "te_list": req("POST / HTTP/1.1", H + "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"),
    "te_space_colon": req("POST / HTTP/1.1", H + "Transfer-Encoding : chunked\r\n", "0\r\n\r\n"),
    "cl_cl": req("POST / HTTP/1.1", H + "Content-Length: 1\r\nContent-Length: 2\r\n", "ab"),
    "cl_plus": req("POST / HTTP/1.1", H + "Content-Length: +3\r\n", "abc"),
    "cl_list": req("POST / HTTP/1.1", H + "Content-Length: 3, 3\r\n", "abc"),
    "cl_huge": req("POST / HTTP/1.1", H + "Content-Length: 18446744073709551616\r\n", "a"),
    "bare_lf": b"GET / HTTP/1.1\nHost: x\n\n",
    "bare_cr": b"GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
    "cr_junk_end": b"GET / HTTP/1.1\r\nHost: x\r\n\rGET /s HTTP/1.1\r\n",
    "obs_fold": req("GET / HTTP/1.1", H + "X-A: b\r\n c\r\n"),
    "nul_target": b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",
    "nul_value": b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
    "two_hosts": req("GET / HTTP/1.1", "Host: a\r\nHost: b\r\n"),
    "connect": req("CONNECT a:443 HTTP/1.1", "Host: a:443\r\n"),
    "http2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "chunk_size_overflow": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "10000000000000000\r\na\r\n0\r\n\r\n"),
    "chunk_lf_end": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "0\r\n\n"),
    "smuggle_in_body": req("POST / HTTP/1.1", H + "Content-Length: 35\r\n", "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n\r\n"),
    "http10_empty_host": req("GET / HTTP/1.0", "Host:\r\n"),
    "upgrade_twice": req("GET /ws HTTP/1.1", H + "Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: \r\n"),
    "te_http10": req("POST / HTTP/1.0", "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n") + req("GET /next HTTP/1.0", ""),
    "trailer_fold": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "0\r\nX: a\r\n b\r\n\r\n"),
    # RFC 9110/9112's grammar, where llhttp 8.1 alone is looser: ferry must reject each
    "empty_name": req("GET / HTTP/1.1", H + ": v\r\n"),
    "name_obs_text": req("GET / HTTP/1.1", H + "X\x80A: v\r\n"),
    "two_spaces": b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
    "rtsp_version": req("GET / RTSP/1.0", H),
    "http2_version": req("GET / HTTP/2.0", H),
    "fragment": req("GET /a#b HTTP/1.1", H),
    "asterisk_get": req("GET * HTTP/1.1", H),
    "asterisk_more": req("OPTIONS *x HTTP/1.1", H),
    "trailer_empty_name": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "0\r\n: v\r\n\r\n"),
    "ext_empty_name": req("POST / HTTP/1.1", H + "Transfer-Encoding: chunked\r\n", "5;=x\r\nhello\r\n0\r\n\r\n"),
    # and their valid edges, which it must take
    "obs_text_value": req("GET / HTTP/1.1", H + "X-Name: caf\xc3\xa9\r\n"),
    "all_tchar_name": req("GET / HTTP/1.1", H + "!#$%&'*+-.^`|~09azAZ: v\r\n"),
    "long_header": req("GET / HTTP/1.1", H + "X-Long: " + "a" * 3000 + "\r\n"),
    "many_headers": req("GET / HTTP/1.1", H + "".join("X-%d: v\r\n" % i for i in range(200))),
}

def resp(flags, line, headers="", body=""):
    return bytes([flags]) + (line + "\r\n" + headers + "\r\n" + body).encode("latin-1")

KA = 8  # flag bits: 1 HEAD request, 2 HTTP/1.0 client, 4 upgrade request, 8 keep-alive
RESPONSE = {
    "ok_cl": resp(KA, "HTTP/1.1 200 OK", "Content-Length: 5\r\nX-Backend: b1\r\n", "hello"),
    "ok_chunked": resp(KA, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
    "ok_chunked_trailer": resp(KA, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    "ok_close_delimited": resp(KA, "HTTP/1.1 200 OK", "Connection: close\r\n", "until the end"),
    "ok_http10_client": resp(KA | 2, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"),
    "ok_http10_close": resp(2, "HTTP/1.0 200 OK", "", "body to close"),
    "head_response": resp(KA | 1, "HTTP/1.1 200 OK", "Content-Length: 100\r\n"),
    "head_chunked": resp(KA | 1, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n"),
    "no_content": resp(KA, "HTTP/1.1 204 No Content", "Content-Length: 0\r\n"),
    "not_modified": resp(KA, "HTTP/1.1 304 Not Modified", "Content-Length: 10\r\nETag: \"x\"\r\n"),
    "continue_then_ok": resp(KA, "HTTP/1.1 100 Continue") + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "early_hints": resp(KA, "HTTP/1.1 103 Early Hints", "Link: </s.css>; rel=preload\r\n") + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "switching": resp(KA | 4, "HTTP/1.1 101 Switching Protocols", "Connection: Upgrade\r\nUpgrade: websocket\r\n") + b"frames",
    "switching_unasked": resp(KA, "HTTP/1.1 101 Switching Protocols", "Connection: Upgrade\r\nUpgrade: websocket\r\n"),
    "upgrade_refused": resp(KA | 4, "HTTP/1.1 200 OK", "Content-Length: 2\r\n", "no"),
    "no_reason": resp(KA, "HTTP/1.1 404", "Content-Length: 0\r\n"),
    "connection_lists": resp(KA, "HTTP/1.1 200 OK", "Connection: X-Drop\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n"),
    "extra_after_cl": resp(KA, "HTTP/1.1 200 OK", "Content-Length: 2\r\n", "okHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsmuggl"),
    "cl_te": resp(KA, "HTTP/1.1 200 OK", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
    "cl_cl": resp(KA, "HTTP/1.1 200 OK", "Content-Length: 2\r\nContent-Length: 3\r\n", "abc"),
    "bare_lf": bytes([KA]) + b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "obs_fold": resp(KA, "HTTP/1.1 200 OK", "X: a\r\n b\r\nContent-Length: 0\r\n"),
    "te_gzip": resp(KA, "HTTP/1.1 200 OK", "Transfer-Encoding: gzip\r\n", "abc"),
    "te_gzip_chunked": resp(KA, "HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"),
    "bad_status": resp(KA, "HTTP/1.1 2000 OK", "Content-Length: 0\r\n"),
    "truncated_chunked": resp(KA, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", "5\r\nhel"),
    "truncated_cl": resp(KA, "HTTP/1.1 200 OK", "Content-Length: 10\r\n", "short"),
    "cl_huge": resp(KA, "HTTP/1.1 200 OK", "Content-Length: 99999999999999999999\r\n"),
    "switching_no_connection": resp(KA | 4, "HTTP/1.1 101 Switching Protocols", "Upgrade: websocket\r\n") + b"frames",
    # Found by fuzzing: two Upgrade headers, the last empty; ferry relayed one and the client
    # saw no switch. A 101 must carry exactly one Upgrade header (502 otherwise).
    "switching_two_upgrades": resp(KA | 4, "HTTP/1.1 101 Switching Protocols",
                                   "Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade:\r\n") + b"frames",
    "switching_chunked": resp(KA | 4, "HTTP/1.1 101 Switching Protocols", "Connection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n") + b"frames",
    "interim_with_length": resp(KA, "HTTP/1.1 103 Early Hints", "Content-Length: 4\r\n", "JUNK") + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "no_content_with_body": resp(KA, "HTTP/1.1 204 No Content", "Content-Length: 5\r\n", "JUNK!"),
    "not_modified_chunked": resp(KA, "HTTP/1.1 304 Not Modified", "Transfer-Encoding: chunked\r\n"),
    "set_cookie_many": resp(KA, "HTTP/1.1 200 OK", "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n"),
    # RFC 9110/9112's grammar, where llhttp 8.1 alone is looser: each is a 502
    "empty_name": resp(KA, "HTTP/1.1 200 OK", ": v\r\nContent-Length: 0\r\n"),
    "status_two_spaces": resp(KA, "HTTP/1.1  200 OK", "Content-Length: 0\r\n"),
    "status_two_digits": resp(KA, "HTTP/1.1 20 OK", "Content-Length: 0\r\n"),
    "status_600": resp(KA, "HTTP/1.1 600 OK", "Content-Length: 0\r\n"),
    "http2_version": resp(KA, "HTTP/2.0 200 OK", "Content-Length: 0\r\n"),
    "chunk_ext_empty_value": resp(KA, "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", "2;x=\r\nok\r\n0\r\n\r\n"),
    # and valid edges it relays
    "reason_obs_text": resp(KA, "HTTP/1.1 200 \xc3\x89tat\tOK", "X-Name: caf\xc3\xa9\r\nContent-Length: 0\r\n"),
}

CHUNKED = {
    "empty": b"0\r\n\r\n",
    "one": b"5\r\nhello\r\n0\r\n\r\n",
    "two": b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "upper_hex": b"A\r\n0123456789\r\n0\r\n\r\n",
    "leading_zeros": b"0005\r\nhello\r\n0000\r\n\r\n",
    "ext": b"5;a=b\r\nhello\r\n0;last\r\n\r\n",
    "ext_quoted": b"5;a=\"x;y\\\"z\"\r\nhello\r\n0\r\n\r\n",
    "ext_bws": b"5 ;a=b\r\nhello\r\n0\r\n\r\n",
    "trailer": b"1\r\na\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
    "then_request": b"3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
    "size_overflow": b"ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
    "size_garbage": b"zz\r\nx\r\n0\r\n\r\n",
    "size_bare_lf": b"5\nhello\r\n0\r\n\r\n",
    "data_no_crlf": b"5\r\nhelloXX0\r\n\r\n",
    "data_bare_lf": b"5\r\nhello\n0\r\n\r\n",
    "last_bare_lf": b"0\r\n\n",
    "trailer_bare_lf": b"0\r\nX: y\n\r\n",
    "bare_cr_ext": b"5;a\rb\r\nhello\r\n0\r\n\r\n",
    "size_space": b"5 \r\nhello\r\n0\r\n\r\n",
    "size_minus": b"-5\r\nhello\r\n0\r\n\r\n",
    "size_0x": b"0x5\r\nhello\r\n0\r\n\r\n",
    "big_chunk": b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n",
    "many_small": b"".join(b"1\r\n%c\r\n" % (97 + i % 26) for i in range(60)) + b"0\r\n\r\n",
    "trailer_fold": b"0\r\nX: a\r\n b\r\n\r\n",
    "trailer_host": b"0\r\nHost: evil\r\nContent-Length: 5\r\n\r\n",
    "incomplete": b"5\r\nhel",
    # chunk extensions llhttp 8.1 alone takes and ferry refuses (http_parser.cc)
    "ext_empty_name": b"5;=x\r\nhello\r\n0\r\n\r\n",
    "ext_empty_value": b"5;x=\r\nhello\r\n0\r\n\r\n",
    "ext_quote_in_token": b"5;x=a\"b\"\r\nhello\r\n0\r\n\r\n",
    "ext_del_in_quotes": b"5;x=\"\x7f\"\r\nhello\r\n0\r\n\r\n",
    "ext_semi_semi": b"0;;=x\r\n\r\n",
    # found by fuzz_chunked: llhttp ends a token value at ';' and then takes the CR
    "ext_token_semicolon": b"5;a=b0;\r\nhello\r\n0;last\r\n\r\n",
    "ext_token_two_semicolons": b"5;a=b;;c=d\r\nhello\r\n0\r\n\r\n",
    "ext_empty_quotes": b"5;x=\"\"\r\nhello\r\n0\r\n\r\n",
    "trailer_empty_name": b"0\r\n: v\r\n\r\n",
    "trailer_bad_name": b"0\r\nX@Y: v\r\n\r\n",
}

def config_seeds():
    seeds = {}
    for rel in ("deploy/dev/ferry.dev.yaml", "deploy/ferry.yaml", "bench/conf/ferry.yaml"):
        p = ROOT / rel
        if p.exists():
            seeds[rel.replace("/", "_")] = p.read_bytes()
    full = """listen: ["127.0.0.1:8888", "[::1]:8888"]
workers: 2
admin: "127.0.0.1:9901"
balancer: consistent_hash
hash_key: "header:X-User"
resolve_interval: 0
backends:
  - address: "10.0.0.1:8000"
    weight: 5
  - "10.0.0.2:8000"
  - address: "[fd00::1]:8000"
    weight: 1000
health_check:
  path: /health
  interval: 250ms
  timeout: 2s
  healthy_threshold: 2
  unhealthy_threshold: 3
  expected_status: "200-299,304"
  host: "svc.local"
  fail_open: true
timeouts:
  connect: 3s
  client_header: 10s
  client_idle: 1m
  backend_response: 60s
  backend_idle: 4s
  shutdown_grace: 10s
limits:
  max_connections: 10000
  max_header_bytes: 32768
  max_body_bytes: 1048576
buffers:
  request: 64KiB
  response: 1MiB
retries: 2
access_log: stdout
"""
    seeds.update({
        "full": full.encode(),
        "minimal": b"backends: [\"127.0.0.1:8000\"]\n",
        "short_and_long": b"backends:\n  - \"10.0.0.1:1\"\n  - {address: \"10.0.0.2:2\", weight: 3}\n",
        "wrr": b"balancer: weighted_round_robin\nbackends: [{address: \"1.1.1.1:1\", weight: 2}]\n",
        "p2c": b"balancer: power_of_two\nbackends: [\"1.1.1.1:1\", \"1.1.1.2:1\"]\n",
        "cookie_key": b"balancer: consistent_hash\nhash_key: cookie:session\nbackends: [\"1.1.1.1:1\"]\n",
        "unknown_key": b"backend: [\"1.1.1.1:1\"]\nlisten: 1\n",
        "bad_duration": b"backends: [\"1.1.1.1:1\"]\ntimeouts: {connect: 3}\n",
        "bad_size": b"backends: [\"1.1.1.1:1\"]\nbuffers: {request: 64QiB}\n",
        "bad_address": b"backends: [\"1.1.1.1\", \"[::1:80\", \"host:99999\"]\n",
        "anchors": b"x: &a \"1.1.1.1:1\"\nbackends: [*a, *a]\n",
        "tags": b"backends: !!seq [!!str \"1.1.1.1:1\"]\nworkers: !!int 0x10\n",
        "two_docs": b"backends: [\"1.1.1.1:1\"]\n---\nworkers: 2\n",
        "flow_map": b"{backends: [\"1.1.1.1:1\"], limits: {max_connections: 0}}\n",
        "status_list": b"backends: [\"1.1.1.1:1\"]\nhealth_check: {expected_status: \"200,204,300-399\"}\n",
        "access_log_file": b"backends: [\"1.1.1.1:1\"]\naccess_log: /var/log/ferry/access.log\n",
        "null": b"~\n",
        "empty": b"",
        "scalar": b"just a string\n",
        "deep": b"a: " + b"[" * 40 + b"]" * 40 + b"\n",
        "tab_indent": b"backends:\n\t- \"1.1.1.1:1\"\n",
        "dns_name": b"backends: [\"backend.invalid:80\"]\n",
        # A stray comma: yaml-cpp 0.7's LoadAll never returned on it; config/load.cc now bounds the walk.
        "stray_comma": b"backends: [\"127.0.0.1:8000\"]\n,\n",
        "stray_comma_after_list": b"- a\n,",
    })
    return seeds

# fuzz_tls (see its header): mode byte 0 or 1 a conversation, 2 raw bytes to a server, 3 to a
# client; raw modes: bit 2 EOF at the end, bits 3-7 the piece size (0: all at once).
def u16(n):
    return n.to_bytes(2, "big")


def tls_ext(kind, body):
    return u16(kind) + u16(len(body)) + body


def client_hello(tls13=True, key_share=True, sni=b"example.com"):
    exts = b""
    if sni:
        entry = b"\x00" + u16(len(sni)) + sni
        exts += tls_ext(0, u16(len(entry)) + entry)
    exts += tls_ext(10, u16(4) + b"\x00\x1d\x00\x17")  # X25519, P-256
    exts += tls_ext(11, b"\x01\x00")  # uncompressed points
    exts += tls_ext(13, u16(6) + b"\x04\x03\x08\x04\x04\x01")  # ECDSA-SHA256, PSS, RSA
    exts += tls_ext(16, u16(9) + b"\x08http/1.1")
    exts += tls_ext(23, b"")  # extended master secret
    if tls13:
        exts += tls_ext(43, b"\x04\x03\x04\x03\x03")
        exts += tls_ext(45, b"\x01\x01")  # psk_dhe_ke
        share = b"\x00\x1d" + u16(32) + bytes(range(9, 41)) if key_share else b""
        exts += tls_ext(51, u16(len(share)) + share)  # empty: the server must ask again (HRR)
    suites = b"\x13\x01\x13\x02\x13\x03\xc0\x2b\xc0\x2c\xcc\xa9"
    body = (b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(range(32, 64)) + u16(len(suites)) +
            suites + b"\x01\x00" + u16(len(exts)) + exts)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + u16(len(handshake)) + handshake


def server_hello(tls13=True):
    exts = tls_ext(43, b"\x03\x04") + tls_ext(51, b"\x00\x1d" + u16(32) + bytes(range(40, 72))) \
        if tls13 else tls_ext(23, b"") + tls_ext(0xff01, b"\x00")
    suite = b"\x13\x01" if tls13 else b"\xc0\x2b"
    body = (b"\x03\x03" + bytes(range(100, 132)) + b"\x20" + bytes(range(32, 64)) + suite + b"\x00" +
            u16(len(exts)) + exts)
    handshake = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + u16(len(handshake)) + handshake


def raw(to_server, data, piece=0, eof=False):
    return bytes([(2 if to_server else 3) | (4 if eof else 0) | piece << 3]) + data


# A wire (one direction's mischief): flags (bits 0-2 piece count, 3 flip, 4 cut, 5 inject,
# 6-7 what to inject: bytes, an alert, a CCS, plain HTTP), piece sizes - 1, then the events.
def wire(pieces=(), flip=None, cut=None, inject=None, kind=0, junk=b""):
    flags = len(pieces) | (8 if flip else 0) | (16 if cut is not None else 0)
    out = b""
    out += bytes(p - 1 for p in pieces)
    if flip:
        out += u16(flip[0]) + bytes([flip[1]])
    if cut is not None:
        out += u16(cut)
    if inject is not None:
        flags |= 32 | kind << 6
        out += u16(inject) + (bytes([len(junk)]) + junk if kind == 0 else b"")
    return bytes([flags]) + out


REQ = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
TLS12, TLS13, NO_SNI, RESUME, CLIENT_SINK, SERVER_SINK, EARLY, KEY_UPDATE = 1, 2, 4, 8, 16, 32, 64, 128
BIG, SHUT_CLIENT, SHUT_SERVER, SHUT_BOTH, EOF, AGAIN = 1, 2, 4, 6, 8, 16


def conv(a=0, b=0, to_server=wire(), to_client=wire(), request=REQ, reply=REPLY):
    return b"\x00" + bytes([a, b]) + to_server + to_client + u16(len(request)) + request + reply


TLS = {
    "conv_clean": conv(),
    "conv_tls12": conv(TLS12),
    "conv_tls13_sinks_no_sni": conv(TLS13 | CLIENT_SINK | SERVER_SINK | NO_SNI),
    "conv_resume_tls13": conv(TLS13 | RESUME),
    "conv_resume_tls12": conv(TLS12 | RESUME, SHUT_CLIENT),
    "conv_early_write": conv(EARLY | CLIENT_SINK),
    "conv_key_update": conv(TLS13 | KEY_UPDATE, AGAIN | SHUT_BOTH),
    "conv_big_reply": conv(0, BIG | SHUT_SERVER, to_client=wire(pieces=(200, 7, 1))),
    "conv_eof_no_close_notify": conv(0, EOF),
    "conv_close_then_eof": conv(TLS12, SHUT_BOTH | EOF),
    "conv_pieces": conv(0, SHUT_CLIENT, to_server=wire(pieces=(1, 5, 100)), to_client=wire(pieces=(3,))),
    "conv_bytewise_tls12": conv(TLS12, 0, to_server=wire(pieces=(1,)), to_client=wire(pieces=(1,))),
    "conv_flip_client_hello": conv(0, 0, to_server=wire(flip=(100, 1))),
    "conv_flip_certificate": conv(0, 0, to_client=wire(flip=(400, 0x10))),
    "conv_flip_app_data": conv(TLS12, 0, to_server=wire(flip=(340, 1))),
    "conv_cut_mid_record": conv(0, 0, to_client=wire(pieces=(50,), cut=700)),
    "conv_cut_client_hello": conv(0, 0, to_server=wire(cut=3)),
    "conv_inject_alert": conv(0, 0, to_server=wire(inject=0, kind=1)),
    "conv_inject_ccs": conv(TLS13, 0, to_client=wire(inject=127, kind=2)),
    "conv_inject_http": conv(0, 0, to_server=wire(inject=0, kind=3)),
    "conv_inject_junk": conv(0, 0, to_client=wire(inject=5, junk=b"\x17\x03\x03\x00\x01x")),
    "raw_client_hello_13": raw(True, client_hello()),
    "raw_client_hello_12": raw(True, client_hello(tls13=False)),
    "raw_client_hello_hrr": raw(True, client_hello(key_share=False)),
    "raw_client_hello_pieces_eof": raw(True, client_hello(sni=b""), piece=7, eof=True),
    "raw_client_hello_truncated_eof": raw(True, client_hello()[:60], eof=True),
    "raw_client_hello_then_data": raw(True, client_hello() + b"\x17\x03\x03\x00\x10" + bytes(16)),
    "raw_two_client_hellos": raw(True, client_hello() + client_hello(tls13=False)),
    "raw_alert": raw(True, b"\x15\x03\x01\x00\x02\x02\x28"),
    "raw_http": raw(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    "raw_sslv2_hello": raw(True, b"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10" + bytes(37)),
    "raw_empty_eof": raw(True, b"", eof=True),
    "raw_server_hello_13": raw(False, server_hello()),
    "raw_server_hello_12": raw(False, server_hello(tls13=False), piece=9),
    "raw_server_alert": raw(False, b"\x15\x03\x03\x00\x02\x02\x46", eof=True),
}


def h2_seeds():
    """Client frames after the preface (fuzz_h2 adds it); the first byte is the read size."""
    import h2.config
    import h2.connection
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def frames(build, step=0):
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                                                 validate_outbound_headers=False,
                                                                 normalize_outbound_headers=False))
        c.initiate_connection()
        build(c)
        return bytes([step]) + c.data_to_send()[len(preface):]

    def req(path="/", method="GET", extra=()):
        return [(":method", method), (":scheme", "http"), (":authority", "example.com"), (":path", path), *extra]

    return {
        "get": frames(lambda c: c.send_headers(1, req(), end_stream=True)),
        "get_split": frames(lambda c: c.send_headers(1, req(), end_stream=True), 7),
        "post_length": frames(lambda c: (c.send_headers(1, req("/e", "POST", [("content-length", "5")])),
                                         c.send_data(1, b"hello", end_stream=True))),
        "post_chunked": frames(lambda c: (c.send_headers(1, req("/e", "POST")), c.send_data(1, b"ab"),
                                          c.send_data(1, b"cd", end_stream=True))),
        "cookies_host": frames(lambda c: c.send_headers(1, req("/", "GET", [("cookie", "a=1"), ("cookie", "b=2"),
                                                                            ("host", "example.com")]), end_stream=True)),
        "two_streams_reset": frames(lambda c: (c.send_headers(1, req(), end_stream=True), c.reset_stream(1),
                                               c.send_headers(3, req("/x"), end_stream=True))),
        "ping_settings": frames(lambda c: (c.ping(b"12345678"), c.update_settings({4: 1000}),
                                           c.send_headers(1, req(), end_stream=True))),
    }


def write(target, seeds):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (d / name).write_bytes(data)

def main():
    write("request", REQUEST)
    write("response", RESPONSE)
    write("chunked", CHUNKED)
    write("config", config_seeds())
    write("tls", TLS)
    write("h2", h2_seeds())

if __name__ == "__main__":
    main()
