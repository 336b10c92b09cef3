"""Python gRPC stubs for Schema/topology.proto, generated at test time by grpcio-tools' protoc and its
gRPC plugin into a temporary directory (no generated code is committed, so the stubs always follow
the schema).

    stubs = grpc_stubs.load()
    channel = grpc.insecure_channel("127.0.0.1:50053")
    client = stubs.services.TopologyServiceStub(channel)
    client.GetTopology(stubs.messages.GetTopologyRequest(), timeout=5)

`load()` compiles once per process and returns the same modules after that."""

import atexit
import functools
import importlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

SCHEMA = Path(__file__).resolve().parents[2] / "Schema" / "topology.proto"
PROTOC_TIMEOUT_S = 120


class StubGenerationError(Exception):
    """protoc could not compile the schema; the message carries its output."""


@dataclass(frozen=True)
class GrpcModules:
    messages: ModuleType  # topology_pb2: the message classes and enums
    services: ModuleType  # topology_pb2_grpc: TopologyServiceStub, TopologyServiceServicer, add_...


@functools.cache
def load():
    build_dir = tempfile.mkdtemp(prefix="topology-grpc-stubs-")
    atexit.register(shutil.rmtree, build_dir, True)
    command = [sys.executable, "-m", "grpc_tools.protoc", f"-I{SCHEMA.parent}", "--fatal_warnings",
               f"--python_out={build_dir}", f"--grpc_python_out={build_dir}", SCHEMA.name]
    result = subprocess.run(command, capture_output=True, text=True, timeout=PROTOC_TIMEOUT_S)
    if result.returncode != 0:
        raise StubGenerationError(f"protoc failed on {SCHEMA} (exit {result.returncode}): {result.stderr.strip()}")
    # topology_pb2_grpc imports its messages as plain `topology_pb2`: both come from build_dir, so any
    # topology_pb2 imported earlier (the interop tests compile one too) is replaced first. The
    # descriptors are shared through the default pool, so earlier message classes stay valid.
    sys.path.insert(0, build_dir)
    try:
        for name in ("topology_pb2", "topology_pb2_grpc"):
            sys.modules.pop(name, None)
        messages = importlib.import_module("topology_pb2")
        services = importlib.import_module("topology_pb2_grpc")
    finally:
        sys.path.remove(build_dir)
    return GrpcModules(messages=messages, services=services)
