"""Python client for Topology, the service-topology server. Standard library only.

Register a service and keep it alive, report the calls it makes, and query or watch the live graph::

    from topology_client import TopologyClient

    with TopologyClient("127.0.0.1:50053") as client:
        client.register("checkout", version="1.4.2")
        client.report_call("payments", "Charge", latency_ms=12.5, ok=True)
        for update in client.watch():
            print(update.type.name, update.node or update.edge)

Command line: ``python3 -m topology_client --help``.
"""

from ._transport import DEFAULT_ADDRESS, parse_address
from .activity import ActivityAggregator, bucket_index, bucket_value, percentile
from .client import ClientState, ClientStats, ProcessMetrics, TopologyClient
from .errors import (AuthenticationError, DecodeError, FrameTooLargeError, ProtocolError, ServerStatusError,
                     StatusCode, TopologyConnectionError, TopologyError, TopologyTimeoutError)
from .framing import FrameReader, encode_frame
from .messages import (ActivityType, ApplicationHealth, ConnectionState, Frame, HealthState, LatencyHistogram,
                       ServiceEdge, ServiceHandle, ServiceLanguage, ServiceMetadata, ServiceMetrics, ServiceNode,
                       ServiceState, ServiceType, Status, TopologyQuery, TopologySnapshot, TopologyUpdate, UpdateType)
from .watch import TopologyView, Watch

__version__ = "0.1.0"

__all__ = [
    "TopologyClient", "ClientState", "ClientStats", "ProcessMetrics", "Watch", "TopologyView",
    "TopologyError", "ProtocolError", "DecodeError", "FrameTooLargeError", "TopologyConnectionError",
    "TopologyTimeoutError", "ServerStatusError", "AuthenticationError", "StatusCode",
    "ServiceType", "ServiceLanguage", "HealthState", "ServiceState", "ConnectionState", "UpdateType", "ActivityType",
    "ServiceMetadata", "ServiceMetrics", "ApplicationHealth", "ServiceHandle", "ServiceNode", "ServiceEdge",
    "TopologySnapshot", "TopologyUpdate", "TopologyQuery", "LatencyHistogram", "Frame", "Status",
    "FrameReader", "encode_frame", "ActivityAggregator", "bucket_index", "bucket_value", "percentile",
    "DEFAULT_ADDRESS", "parse_address", "__version__",
]
