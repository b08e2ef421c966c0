#!/usr/bin/env python3
"""A Sluice sink plugin in Python (grpcio), to show the protocol in
plugins/proto/sluice/plugin/v1/plugin.proto is language-neutral: it appends
each event's body to a file, validating its properties (path, batchSize).

It follows hashicorp/go-plugin's handshake by hand: check the cookie, pick
protocol 1 from PLUGIN_PROTOCOL_VERSIONS, serve gRPC (with the health
service reporting "plugin" SERVING) on loopback, print the handshake line.
The generated modules (sluice.plugin.v1.plugin_pb2*) are made by
grpc_tools.protoc into gen/ (see run.sh and test/plugins/python_test.go).
"""
import os
import sys
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from sluice.plugin.v1 import plugin_pb2 as pb
from sluice.plugin.v1 import plugin_pb2_grpc as rpc

COOKIE_KEY, COOKIE = "SLUICE_PLUGIN", "a6b1a3d0-sluice-plugin"
PROTOCOL = "1"


class Sink(rpc.SinkServicer):
    def __init__(self):
        self.path = None

    def Configure(self, req, ctx):
        resp = pb.ConfigureResponse()
        props = dict(req.properties)
        path = props.pop("path", "")
        if not path:
            resp.errors.add(key="path", message='required property "path" is missing')
        raw = props.pop("batchSize", "50")
        try:
            batch = int(raw)
            if batch < 1:
                raise ValueError
        except ValueError:
            resp.errors.add(key="batchSize", message=f'"{raw}" is not a whole number of at least 1')
            batch = 0
        for key in sorted(props):
            if not key.startswith("plugin."):
                resp.warnings.add(key=key, message=f'unknown property "{key}"')
        if not resp.errors:
            resp.batch_size = batch
            if not req.check_only:
                self.path = path
        return resp

    def Start(self, req, ctx):
        return pb.StartResponse()

    def Deliver(self, req, ctx):
        # Acknowledge only once the batch is on disk: the agent commits
        # the channel transaction on this reply.
        with open(self.path, "ab") as f:
            for e in req.events:
                f.write(e.body + b"\n")
            f.flush()
            os.fsync(f.fileno())
        return pb.DeliverResponse()

    def Stop(self, req, ctx):
        return pb.StopResponse()


def main():
    if os.environ.get(COOKIE_KEY) != COOKIE:
        print("this is a Sluice plugin: an agent starts it (docs/plugins.md)", file=sys.stderr)
        sys.exit(1)
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", PROTOCOL).split(",")
    if PROTOCOL not in offered:
        print(f"agent offers protocol versions {offered}; this plugin speaks {PROTOCOL}", file=sys.stderr)
    big = 1 << 30
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", big), ("grpc.max_send_message_length", big)])
    rpc.add_SinkServicer_to_server(Sink(), server)
    hs = health.HealthServicer()
    hs.set("plugin", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # go-plugin's handshake line: core version|protocol version|network|address|protocol
    print(f"1|{PROTOCOL}|tcp|127.0.0.1:{port}|grpc", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
