"""A fork server for the AWS CLI, to make tests/deploy affordable on a small machine.

Debian's awscli v2 spends ~1.5 CPU-seconds per call importing itself. This server imports it
once, and for every call forks a child that executes the very script /usr/bin/aws (runpy,
same interpreter, same package) with the caller's arguments, environment, working directory
and standard streams. Behaviour and exit codes are those of the CLI; only start-up is cheaper.

    python3 awsfs.py serve SOCKET [AWS_SCRIPT]     (run with the interpreter of AWS_SCRIPT)
    python3 -I -S awsfs.py call SOCKET ARGS...     (what tests/deploy/bin/aws-logged runs)

Set FERRY_TEST_NO_FORKSERVER=1 for tests/deploy/run.sh to run /usr/bin/aws directly instead.
"""
import json
import os
import runpy
import signal
import socket
import struct
import sys


def serve(path, script):
    import awscli  # noqa: F401  (sets AWS_DATA_PATH for itself at import)
    import awscli.clidriver  # noqa: F401  (the expensive part, done once)

    data_dir = awscli._awscli_data_path[-1]
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    print("awsfs: serving", script, "on", path, flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
            req = json.loads(msg)
        except Exception as e:  # noqa: BLE001
            print("awsfs: bad request:", e, flush=True)
            conn.close()
            continue
        if os.fork() == 0:
            srv.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.setsid()
            rc = run_cli(script, data_dir, req, fds)
            try:
                conn.sendall(struct.pack("i", rc))
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        conn.close()


def run_cli(script, data_dir, req, fds):
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(req["cwd"])
    env = req["env"]
    # What awscli/__init__.py does at import, for the caller's environment.
    extra = [os.path.expanduser(os.path.expandvars(p))
             for p in env.get("AWS_DATA_PATH", "").split(os.pathsep) if p]
    env["AWS_DATA_PATH"] = os.pathsep.join(extra + [data_dir])
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = [script] + req["argv"]
    rc = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # noqa: BLE001
        print("awsfs: the CLI raised %r" % e, file=sys.stderr)
        rc = 255
    sys.stdout.flush()
    sys.stderr.flush()
    return rc


def call(path, argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    req = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(s, [json.dumps(req).encode()], [0, 1, 2])
    data = b""
    while len(data) < 4:
        chunk = s.recv(4 - len(data))
        if not chunk:
            print("awsfs: the CLI process died", file=sys.stderr)
            return 255
        data += chunk
    return struct.unpack("i", data)[0]


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/aws")
    elif len(sys.argv) >= 3 and sys.argv[1] == "call":
        sys.exit(call(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit(__doc__)
