#!/usr/bin/python3
"""A gRPC server and client for ferry's h2c tests (Debian's python3-grpcio, no generated code:
messages are raw bytes).

    grpc_peer.py serve PORT          serves test.Echo on 127.0.0.1:PORT until killed
    grpc_peer.py call PORT METHOD X  calls test.Echo/METHOD with X through 127.0.0.1:PORT

Methods: Say answers "echo:X"; Fail fails with NOT_FOUND "nope: X"; Count streams "X-1".."X-3".
call prints "ok REPLY" (one line per message for Count) or "status CODE DETAILS".
"""
import sys
import time
from concurrent import futures

import grpc


def say(request, context):
    return b"echo:" + request


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "nope: " + request.decode())


def count(request, context):
    for i in range(1, 4):
        yield request + b"-" + str(i).encode()


def serve(port):
    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(say),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def call(port, method, payload):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            if method == "Count":
                for reply in channel.unary_stream(f"/test.Echo/{method}")(payload.encode(), timeout=10):
                    print("ok " + reply.decode())
            else:
                reply = channel.unary_unary(f"/test.Echo/{method}")(payload.encode(), timeout=10)
                print("ok " + reply.decode())
        except grpc.RpcError as e:
            print(f"status {e.code().value[0]} {e.details()}")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        call(int(sys.argv[2]), sys.argv[3], sys.argv[4])
