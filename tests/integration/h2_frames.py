#!/usr/bin/python3
"""HTTP/2 client for ferry's tests, frame by frame (Debian's python3-h2, hyperframe, hpack).

    h2_frames.py SCENARIO PORT [ARG]

Each scenario talks to 127.0.0.1:PORT only, bounded in frames and time, and prints what it saw as
"key value" lines for the test to check: the statuses of its streams, the resets and the GOAWAY it
received, and whether the connection was closed. It exits 0 unless it could not connect.
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import hpack
from hyperframe.frame import ContinuationFrame, DataFrame, HeadersFrame, PingFrame, SettingsFrame

PORT = int(sys.argv[2])
AUTHORITY = f"127.0.0.1:{PORT}"


def request(path="/", method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", AUTHORITY), (":path", path), *extra]


class Client:
    def __init__(self, settings=None, validate=True):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        # validate=False sends header lists as given, malformed ones included.
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=validate,
                                           normalize_outbound_headers=validate)
        self.conn = h2.connection.H2Connection(config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.status = {}
        self.body = {}
        self.ended = set()
        self.resets = {}
        self.goaway = None
        self.closed = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.raw(data)

    def raw(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def pump(self, until, seconds=5.0, ack=True):
        """Reads and handles events until until() holds, the connection closes, or time runs out."""
        deadline = time.monotonic() + seconds
        while not until() and not self.closed and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                events = []
            for e in events:
                self.on_event(e, ack)
            self.flush()

    def on_event(self, e, ack):
        if isinstance(e, h2.events.ResponseReceived):
            self.status[e.stream_id] = dict(e.headers)[":status"]
            self.body.setdefault(e.stream_id, b"")
        elif isinstance(e, h2.events.DataReceived):
            self.body[e.stream_id] = self.body.get(e.stream_id, b"") + e.data
            if ack and e.flow_controlled_length:
                self.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.StreamEnded):
            self.ended.add(e.stream_id)
        elif isinstance(e, h2.events.StreamReset):
            self.resets[e.stream_id] = int(e.error_code)
        elif isinstance(e, h2.events.ConnectionTerminated):
            self.goaway = (int(e.error_code), e.last_stream_id)

    def report(self):
        for sid in sorted(self.status):
            print(f"status {sid} {self.status[sid]} {len(self.body.get(sid, b''))}")
        for sid in sorted(self.resets):
            print(f"reset {sid} {self.resets[sid]}")
        if self.goaway is not None:
            print(f"goaway {self.goaway[0]} {self.goaway[1]}")
        if self.closed:
            print("closed")


def wait_closed(c, seconds=5.0):
    c.pump(lambda: False, seconds)


def scenario_streams(n):
    """n concurrent GETs on one connection."""
    c = Client()
    ids = []
    for _ in range(n):
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, request("/"), end_stream=True)
        ids.append(sid)
    c.flush()
    c.pump(lambda: all(s in c.ended or s in c.resets for s in ids), 20)
    print(f"ok {sum(1 for s in ids if c.status.get(s) == '200' and s in c.ended)}")
    c.report()


def scenario_rapid_reset(n):
    """Streams opened and reset at once, in writes of 50 pairs (CVE-2023-44487)."""
    c = Client()
    sent = 0
    for batch in range(0, n, 50):
        for _ in range(min(50, n - batch)):
            if c.conn.state_machine.state == h2.connection.ConnectionState.CLOSED:
                break
            sid = c.conn.get_next_available_stream_id()
            try:
                c.conn.send_headers(sid, request("/slow"), end_stream=True)
                c.conn.reset_stream(sid)
            except h2.exceptions.ProtocolError:
                break
            sent += 1
        c.flush()
        c.pump(lambda: c.goaway is not None, 0.01)
        if c.closed or c.goaway is not None:
            break
    wait_closed(c, 3)
    print(f"sent {sent}")
    c.report()


def header_block(headers, encoder=None):
    return (encoder or hpack.Encoder()).encode(headers)


def scenario_continuation(n):
    """HEADERS without END_HEADERS, then n CONTINUATION frames (CVE-2024-27316)."""
    c = Client()
    block = header_block(request("/"))
    f = HeadersFrame(1)
    f.data = block
    c.raw(f.serialize())
    filler = header_block([("x-filler", "a" * 100)])
    for i in range(n):
        cf = ContinuationFrame(1)
        cf.data = filler
        if i == n - 1:
            cf.flags.add("END_HEADERS")
        c.raw(cf.serialize())
        if c.closed:
            break
    wait_closed(c, 3)
    c.report()


def scenario_hpack_bomb(_):
    """One 4 KiB field put in the dynamic table, then referenced 12,000 times in one block of
    about 16 KiB: 48 MB once decoded, unless ferry stops counting at max_header_bytes."""
    c = Client()
    big = ("x-bomb", "b" * 4000)
    c.conn.send_headers(1, request("/") + [big] * 12000, end_stream=True)
    c.flush()
    c.pump(lambda: 1 in c.ended or 1 in c.resets, 5)
    # The connection is still good for an ordinary request.
    c.conn.send_headers(3, request("/"), end_stream=True)
    c.flush()
    c.pump(lambda: 3 in c.ended or 3 in c.resets, 5)
    c.report()


def scenario_flood(kind_and_n):
    """PING or SETTINGS frames sent without reading a byte back (CVE-2019-9512/9515)."""
    kind, n = kind_and_n.split(":")
    c = Client()
    frame = PingFrame(0) if kind == "ping" else SettingsFrame(0)
    if kind == "ping":
        frame.opaque_data = b"12345678"
    else:
        frame.settings = {SettingsFrame.MAX_CONCURRENT_STREAMS: 100}
    chunk = frame.serialize() * 1000
    sent = 0
    c.sock.settimeout(5)
    while sent < int(n) and not c.closed:
        c.raw(chunk)
        sent += 1000
    wait_closed(c, 5)
    print(f"sent {sent}")
    c.report()


def scenario_empty_data(n):
    """A POST whose body is a run of empty DATA frames (CVE-2019-9518)."""
    c = Client()
    c.conn.send_headers(1, request("/echo", "POST"), end_stream=False)
    c.flush()
    for _ in range(int(n)):
        f = DataFrame(1)
        f.data = b""
        c.raw(f.serialize())
        if c.closed:
            break
    wait_closed(c, 3)
    c.report()


def scenario_zero_window(path):
    """A client that grants no window and never opens it: the stream must not wait forever."""
    c = Client(settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    c.conn.send_headers(1, request(path), end_stream=True)
    c.flush()
    c.pump(lambda: 1 in c.resets or 1 in c.ended, 8, ack=False)
    c.report()


def scenario_headers(kind):
    """One malformed or oversized request, then an ordinary one on the same connection."""
    c = Client(validate=False)
    extra = {
        "ok": [],
        "big": [("x-big", "c" * 40000)],
        "host-mismatch": [("host", "other.example")],
        "host-same": [("host", AUTHORITY)],
        "connection": [("connection", "close")],
        "te-gzip": [("te", "gzip")],
        "cookies": [("cookie", "a=1"), ("cookie", "b=2")],
        "no-authority": None,
    }[kind]
    headers = request("/") + extra if extra is not None else [h for h in request("/") if h[0] != ":authority"]
    c.conn.send_headers(1, headers, end_stream=True)
    c.flush()
    c.pump(lambda: 1 in c.ended or 1 in c.resets or c.goaway is not None, 5)
    if c.goaway is None and not c.closed:
        c.conn.send_headers(3, request("/"), end_stream=True)
        c.flush()
        c.pump(lambda: 3 in c.ended or 3 in c.resets, 5)
    c.report()


def scenario_upload(size):
    """A POST of `size` bytes in DATA frames as the window allows; prints the response body."""
    c = Client()
    body = bytes((i * 7 + 3) % 251 for i in range(int(size)))
    c.conn.send_headers(1, request("/echo", "POST", [("content-length", str(len(body)))]), end_stream=False)
    c.flush()
    off = 0
    while off < len(body) and not c.closed:
        room = min(c.conn.local_flow_control_window(1), c.conn.max_outbound_frame_size, len(body) - off)
        if room > 0:
            c.conn.send_data(1, body[off:off + room], end_stream=off + room == len(body))
            off += room
            c.flush()
        else:
            c.pump(lambda: c.conn.local_flow_control_window(1) > 0 or 1 in c.resets, 5)
            if 1 in c.resets:
                break
    c.pump(lambda: 1 in c.ended or 1 in c.resets, 10)
    c.report()


def scenario_download(size):
    """One GET of /size/SIZE with windows far larger than ferry's frames ahead (10 MiB for the
    stream, the most the connection can have), as curl and browsers grant them: nothing but
    ferry's own writes paces the response. Each DATA frame is acknowledged. Prints
    "download STATUS BYTES ended|stalled" (stalled: 3 s without a byte)."""
    c = Client(settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10 << 20})
    c.conn.increment_flow_control_window((1 << 31) - 1 - 65535)
    c.conn.send_headers(1, request(f"/size/{int(size)}"), end_stream=True)
    c.flush()
    got, status, ended = 0, None, False
    deadline = time.monotonic() + 60
    c.sock.settimeout(3)
    while not ended and time.monotonic() < deadline:
        try:
            data = c.sock.recv(1 << 20)
        except socket.timeout:
            break
        except OSError:
            data = b""
        if not data:
            c.closed = True
            break
        for e in c.conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived):
                status = dict(e.headers)[":status"]
            elif isinstance(e, h2.events.DataReceived):
                got += len(e.data)
                c.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            elif isinstance(e, h2.events.StreamEnded):
                ended = True
        c.flush()
    print(f"download {status} {got} {'ended' if ended else 'stalled'}")


SCENARIOS = {
    "streams": lambda a: scenario_streams(int(a or 100)),
    "rapid-reset": lambda a: scenario_rapid_reset(int(a or 2000)),
    "continuation": lambda a: scenario_continuation(int(a or 10000)),
    "hpack-bomb": scenario_hpack_bomb,
    "flood": scenario_flood,
    "empty-data": lambda a: scenario_empty_data(int(a or 1000)),
    "zero-window": lambda a: scenario_zero_window(a or "/"),
    "headers": scenario_headers,
    "upload": scenario_upload,
    "download": scenario_download,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[3] if len(sys.argv) > 3 else None)
