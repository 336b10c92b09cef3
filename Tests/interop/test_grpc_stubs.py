"""grpc_stubs.py: stubs generated at test time from OUR Schema/topology.proto by grpcio-tools call what
the existing runtime's clients call: the six /runtime.v1.TopologyService/<Method> paths with the seed's
streaming kinds (seed_topology_service.txt) and the schema's message classes. This proves the schema
compiles with protoc's gRPC plugin and declares the service those clients expect; calls against the
server come with gRPC on the frames port (issue 15)."""

import grpc
import pytest

import grpc_stubs
from seed_service import PACKAGE, SERVICE, seed_methods

# grpc.Channel's factory for each (client streams, server streams).
CHANNEL_FACTORIES = {(False, False): "unary_unary", (False, True): "unary_stream",
                     (True, False): "stream_unary", (True, True): "stream_stream"}


class RecordingChannel:
    """Stands in for a grpc.Channel: records which multi-callable factory the stub asks for, per path."""

    def __init__(self):
        self.calls = {}

    def __getattr__(self, factory):
        if factory not in CHANNEL_FACTORIES.values():
            raise AttributeError(factory)

        def record(path, request_serializer=None, response_deserializer=None, **_):
            assert path not in self.calls, f"{path} bound twice"
            self.calls[path] = (factory, request_serializer, response_deserializer)
            return object()
        return record


@pytest.fixture(scope="module")
def stubs():
    return grpc_stubs.load()


def message(stubs, full_name):
    package, _, name = full_name.rpartition(".")
    assert package == PACKAGE
    return getattr(stubs.messages, name)


def test_the_stub_calls_the_seeds_paths_with_its_streaming_kinds(stubs):
    channel = RecordingChannel()
    stubs.services.TopologyServiceStub(channel)
    seed = seed_methods()
    assert len(seed) == 6
    assert set(channel.calls) == {f"/{PACKAGE}.{SERVICE}/{name}" for name in seed}
    for name, (request, client_streams, response, server_streams) in seed.items():
        factory, serialize, deserialize = channel.calls[f"/{PACKAGE}.{SERVICE}/{name}"]
        assert factory == CHANNEL_FACTORIES[(client_streams, server_streams)], name
        assert serialize == message(stubs, request).SerializeToString, name
        assert deserialize == message(stubs, response).FromString, name


def test_the_servicer_leaves_every_seed_rpc_unimplemented(stubs):
    """The generated server base class has the six methods; each answers UNIMPLEMENTED until
    overridden, which is what a test double built on it relies on."""

    class Context:
        def set_code(self, code):
            self.code = code

        def set_details(self, details):
            self.details = details

    servicer = stubs.services.TopologyServiceServicer()
    for name in seed_methods():
        context = Context()
        with pytest.raises(NotImplementedError):
            getattr(servicer, name)(None, context)
        assert context.code == grpc.StatusCode.UNIMPLEMENTED, name


def test_load_compiles_once_and_the_messages_encode(stubs):
    assert grpc_stubs.load() is stubs
    request = stubs.messages.HeartbeatRequest(service_id="a", sequence=150)
    assert request.SerializeToString() == b"\x0a\x01a\x10\x96\x01"
