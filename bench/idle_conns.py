#!/usr/bin/python3
"""Open N keep-alive client connections to HOST:PORT and hold them idle.

Each connection sends one `GET / HTTP/1.1` and reads the whole response first, so it is a
real keep-alive client that has finished a request and now sits idle (what a browser or an
SDK connection pool looks like to a proxy). Then the helper prints

    READY open=<n> failed=<n> seconds=<s>

on stdout and holds every socket until SIGUSR1 or SIGTERM. With --pause-at K it first opens K
connections, prints `HALF open=<n> failed=<n>` and waits for SIGUSR2 before opening the rest,
so a caller can read the proxy's memory at two counts: the difference over the second batch is
what one more idle connection costs, without the pools a proxy sizes once for the opening
burst's concurrency. On SIGUSR1 it first counts the
connections the proxy has not closed meanwhile and prints `STILL_OPEN <n>`. It exits on its
own after --hold seconds. Standard library only; one thread, epoll via selectors.

With --tls each connection first completes a TLS handshake (non-blocking; ALPN http/1.1,
server name "localhost", the certificate not verified: the bench's own self-signed one),
then sends the GET inside TLS. Every connection makes a full handshake (no session reuse).
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import ssl
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: ferry-bench-idle\r\n\r\n"


def response_complete(buf):
    """True once buf holds a whole response with a Content-Length (or no-body) framing."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    length = 0
    for line in buf[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(buf) >= head_end + 4 + length


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def open_all(host, port, count, parallel, deadline, ctx=None):
    """ctx: an SSLContext for TLS connections, or None for plain TCP."""
    sel = selectors.DefaultSelector()
    state = {}  # fd -> [sock, phase, buffer]
    done = []
    failed = 0
    started = 0
    while (started < count or state) and time.monotonic() < deadline:
        while started < count and len(state) < parallel:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, port))
            started += 1
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                continue
            state[s.fileno()] = [s, "connect", b""]
            sel.register(s, selectors.EVENT_WRITE)
        for key, _ in sel.select(timeout=0.5):
            entry = state[key.fd]
            s = entry[0]
            try:
                if entry[1] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    if ctx is not None:
                        sel.unregister(s)
                        s = ctx.wrap_socket(s, server_hostname="localhost",
                                            do_handshake_on_connect=False)
                        entry[0] = s
                        entry[1] = "handshake"
                        sel.register(s, selectors.EVENT_WRITE)
                        # fall through: start the handshake now
                    else:
                        s.send(REQUEST)  # tiny; fits the empty send buffer
                        entry[1] = "read"
                        sel.modify(s, selectors.EVENT_READ)
                        continue
                if entry[1] == "handshake":
                    try:
                        s.do_handshake()
                    except ssl.SSLWantReadError:
                        sel.modify(s, selectors.EVENT_READ)
                        continue
                    except ssl.SSLWantWriteError:
                        sel.modify(s, selectors.EVENT_WRITE)
                        continue
                    s.send(REQUEST)  # one small record; fits the empty send buffer
                    entry[1] = "read"
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                try:
                    chunk = s.recv(65536)
                except ssl.SSLWantReadError:
                    continue  # a TLS record without data (a TLS 1.3 session ticket)
                if not chunk:
                    raise OSError("closed before the response was complete")
                entry[2] += chunk
                while ctx is not None and s.pending():
                    entry[2] += s.recv(65536)
                if response_complete(entry[2]):
                    if not entry[2].startswith(b"HTTP/1.1 2"):
                        raise OSError("status " + entry[2][:12].decode(errors="replace"))
                    sel.unregister(s)
                    del state[key.fd]
                    done.append(s)
            except OSError:
                sel.unregister(s)
                del state[key.fd]
                s.close()
                failed += 1
    for entry in state.values():  # timed out
        entry[0].close()
        failed += 1
    failed += count - started
    sel.close()
    return done, failed


def still_open(socks):
    """Connections the peer has not closed: not readable, or readable with data (not EOF).
    Over TLS a readable connection is read: a close_notify alert or EOF means closed, a record
    without data (say a late session ticket) or with data means open."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    for key, _ in sel.select(timeout=0):
        try:
            if isinstance(key.fileobj, ssl.SSLSocket):
                if not key.fileobj.recv(65536):
                    closed += 1
            elif not key.fileobj.recv(1, socket.MSG_PEEK):
                closed += 1
        except ssl.SSLWantReadError:
            pass
        except (OSError, ssl.SSLError):
            closed += 1
    sel.close()
    return len(socks) - closed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--parallel", type=int, default=256, help="connections being set up at once")
    ap.add_argument("--open-timeout", type=float, default=60.0)
    ap.add_argument("--hold", type=float, default=120.0, help="exit after this many seconds")
    ap.add_argument("--tls", action="store_true", help="connect with TLS (HTTPS)")
    ap.add_argument("--pause-at", type=int, default=0,
                    help="after this many, print HALF and wait for SIGUSR2 before the rest")
    args = ap.parse_args()

    signals = []
    signal.signal(signal.SIGUSR1, lambda *_: signals.append("usr1"))
    signal.signal(signal.SIGUSR2, lambda *_: signals.append("usr2"))
    signal.signal(signal.SIGTERM, lambda *_: signals.append("term"))

    ctx = tls_context() if args.tls else None
    t0 = time.monotonic()
    first = min(args.pause_at, args.count) if args.pause_at > 0 else args.count
    socks, failed = open_all(args.host, args.port, first, args.parallel, t0 + args.open_timeout, ctx)
    if first < args.count:
        print(f"HALF open={len(socks)} failed={failed}", flush=True)
        paused = time.monotonic()
        wait_end = paused + args.hold
        while "usr2" not in signals and "term" not in signals and time.monotonic() < wait_end:
            time.sleep(0.05)
        t0 += time.monotonic() - paused  # the pause is not opening time
        more, more_failed = open_all(args.host, args.port, args.count - first, args.parallel,
                                     t0 + args.open_timeout, ctx)
        socks += more
        failed += more_failed
    print(f"READY open={len(socks)} failed={failed} seconds={time.monotonic() - t0:.2f}",
          flush=True)
    end = time.monotonic() + args.hold
    while "usr1" not in signals and "term" not in signals and time.monotonic() < end:
        time.sleep(0.05)
    if "usr1" in signals:
        print(f"STILL_OPEN {still_open(socks)}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
