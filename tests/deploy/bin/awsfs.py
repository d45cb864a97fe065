"""A fork server for the AWS CLI, to make tests/deploy affordable on a small machine.

Debian's awscli v2 spends ~1.5 CPU-seconds per call importing itself. This server imports it
once, and for every call forks a child that executes the very script /usr/bin/aws (runpy,
same interpreter, same package) with the caller's arguments, environment, working directory
and standard streams. Behaviour and exit codes are those of the CLI; only start-up is cheaper.

    python3 awsfs.py serve SOCKET [AWS_SCRIPT]     (run with the interpreter of AWS_SCRIPT)
    python3 -I -S awsfs.py call SOCKET ARGS...     (what tests/deploy/bin/aws-logged runs)

Set FERRY_TEST_NO_FORKSERVER=1 for tests/deploy/run.sh to run /usr/bin/aws directly instead.
"""
import importlib
import io
import contextlib
import gc
import json
import os
import runpy
import signal
import socket
import struct
import sys


def serve(path, script):
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(128)  # callers wait here while the imports and the warm-up run

    import awscli  # noqa: F401  (sets AWS_DATA_PATH for itself at import)
    import awscli.clidriver  # noqa: F401  (the expensive part, done once)

    data_dir = awscli._awscli_data_path[-1]
    warm_up(script, data_dir)
    # Keep the collector away from what the children inherit: scanning it would copy every
    # page (copy on write) in every child.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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


# One call of each kind the tests make, against a closed loopback port (nothing is sent).
WARM_CALLS = [
    ["ec2", "describe-vpcs"], ["iam", "get-role", "--role-name", "x"], ["s3api", "head-bucket", "--bucket", "x"],
    ["ssm", "describe-instance-information"], ["elbv2", "describe-load-balancers"], ["s3", "presign", "s3://x/y"],
    ["route53", "list-hosted-zones"], ["acm", "list-certificates"],
]


WARM_SERVICES = ("ec2", "iam", "s3", "ssm", "elbv2", "sts", "route53", "acm")


def warm_up(script, data_dir):
    """Learn, in a throwaway child, which modules and data files a call needs; import and
    parse them here once so every call's child starts with them. (The warm-up calls run in a
    child because a real call starts a native awscrt thread, and a process with threads must
    not fork children that keep running Python.)"""
    from botocore import loaders  # (awscli maps its vendored botocore to this name)
    original = loaders.JSONFileLoader.load_file
    before = set(sys.modules)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        seen = []

        def recording(self, file_path, *a, **k):
            seen.append(file_path)
            return original(self, file_path, *a, **k)

        loaders.JSONFileLoader.load_file = recording
        os.environ.update({"AWS_ACCESS_KEY_ID": "warm", "AWS_SECRET_ACCESS_KEY": "warm",
                           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                           "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
                           "AWS_DATA_PATH": data_dir, "NO_PROXY": "127.0.0.1"})
        for argv in WARM_CALLS:
            sys.argv = [script, "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1"] + argv
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                try:
                    runpy.run_path(script, run_name="__main__")
                except BaseException:  # noqa: BLE001
                    pass
        os.write(w, json.dumps({"modules": sorted(set(sys.modules) - before), "files": seen}).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    try:
        learned = json.loads(data)
    except ValueError:
        return
    for name in learned["modules"]:
        if name.startswith("__"):
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001
            pass
    memo = {}
    for file_path in learned["files"]:
        if file_path not in memo:
            memo[file_path] = original(loaders.JSONFileLoader(), file_path)

    def memoized(self, file_path, *a, **k):
        # Each child gets the parsed data as this process holds it (copy on write).
        if file_path in memo:
            return memo[file_path]
        return original(self, file_path, *a, **k)

    loaders.JSONFileLoader.load_file = memoized

    # The CLI's user agent names the Linux distribution, which `distro` finds by running
    # lsb_release: ask once here (it caches the answer).
    try:
        import distro
        for query in ("id", "version", "major_version", "minor_version", "name", "codename", "like"):
            getattr(distro, query)()
        distro.os_release_info(), distro.lsb_release_info(), distro.distro_release_info()
    except Exception:  # noqa: BLE001
        pass

    # The listing of the data directories (hundreds of services) is the same for every call.
    for method in ("list_available_services", "list_api_versions"):
        listed = {}
        unbound = getattr(loaders.Loader, method)
        plain = getattr(unbound, "__wrapped__", unbound)

        def listing(self, *args, _plain=plain, _listed=listed, **kwargs):
            key = (tuple(self.search_paths),) + args + tuple(sorted(kwargs.items()))
            if key not in _listed:
                _listed[key] = _plain(self, *args, **kwargs)
            return list(_listed[key])

        setattr(loaders.Loader, method, listing)
    warm = loaders.create_loader(data_dir)  # the search path the children's sessions get
    for service in warm.list_available_services("service-2"):
        if service in WARM_SERVICES:
            warm.list_api_versions(service, "service-2")


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
    import time
    deadline = time.monotonic() + 60
    while True:  # the server may still be starting
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
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
