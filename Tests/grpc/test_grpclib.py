"""grpclib (an independent pure-Python HTTP/2 stack, h2 underneath) against the frames port: a unary
call, a heartbeat stream, an error with its status, and a cancelled watch."""

from __future__ import annotations

import asyncio

from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

PATH = "/runtime.v1.TopologyService/"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=20))


def test_unary_stream_error_and_cancel(server, stubs):
    m = stubs.messages
    host, port = server.address.rsplit(":", 1)

    async def exchange():
        channel = Channel(host, int(port))
        try:
            async with channel.request(PATH + "RegisterService", Cardinality.UNARY_UNARY,
                                       m.RegisterServiceRequest, m.RegisterServiceResponse) as stream:
                await stream.send_message(m.RegisterServiceRequest(service_name="grpclib-service", service_type=1), end=True)
                service_id = (await stream.recv_message()).handle.service_id
            async with channel.request(PATH + "Heartbeat", Cardinality.STREAM_STREAM,
                                       m.HeartbeatRequest, m.HeartbeatResponse) as stream:
                sequences = []
                for sequence in (1, 2):
                    await stream.send_message(m.HeartbeatRequest(service_id=service_id, sequence=sequence))
                    sequences.append((await stream.recv_message()).sequence)
                await stream.end()
                assert await stream.recv_message() is None
            try:
                async with channel.request(PATH + "RegisterService", Cardinality.UNARY_UNARY,
                                           m.RegisterServiceRequest, m.RegisterServiceResponse) as stream:
                    await stream.send_message(m.RegisterServiceRequest(service_name=" "), end=True)
                    await stream.recv_message()
                refusal = None
            except GRPCError as error:
                refusal = error
            async with channel.request(PATH + "WatchTopology", Cardinality.UNARY_STREAM,
                                       m.WatchTopologyRequest, m.WatchTopologyResponse) as stream:
                await stream.send_message(m.WatchTopologyRequest(), end=True)
                first = await stream.recv_message()
                await stream.cancel()
            return service_id, sequences, refusal, first
        finally:
            channel.close()

    service_id, sequences, refusal, first = run(exchange())
    assert service_id and sequences == [1, 2]
    assert refusal is not None and refusal.status == Status.INVALID_ARGUMENT, refusal
    assert "service_name" in refusal.message
    assert first.update.type == m.UPDATE_TYPE_SNAPSHOT
    assert [n.service_name for n in first.update.snapshot.nodes] == ["grpclib-service"]
