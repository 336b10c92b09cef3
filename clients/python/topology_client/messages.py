"""The runtime.v1 messages and enums of ``Schema/topology.proto``, as typed dataclasses.

Every message has ``encode() -> bytes``, ``Message.decode(data)`` and ``to_dict()`` (proto3 JSON).
Enum fields hold the enum member, or a plain ``int`` for a number this package does not know.
``Optional`` fields are ``None`` when absent (proto3 ``optional`` keeps presence).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, List, Optional, Type

from ._proto import (BOOL, DOUBLE, ENUM, INT32, INT64, MAP, MESSAGE, OPTIONAL, REPEATED, SINT32, STRING, UINT64,
                     Message, message, pb)

__all__ = [
    "ServiceType", "ServiceLanguage", "HealthState", "ServiceState", "ConnectionState", "UpdateType",
    "ActivityType", "ServiceMetadata", "ServiceMetrics", "ApplicationHealth", "RegisterServiceRequest",
    "ServiceHandle", "RegisterServiceResponse", "HeartbeatRequest", "HeartbeatResponse", "LatencyHistogram",
    "ReportActivityRequest", "ReportActivityResponse", "UnregisterServiceRequest", "UnregisterServiceResponse",
    "TopologyQuery", "GetTopologyRequest", "ServiceNode", "ServiceEdge", "TopologySnapshot",
    "GetTopologyResponse", "WatchTopologyRequest", "TopologyUpdate", "WatchTopologyResponse",
    "AuthenticateRequest", "AuthenticateResponse", "Status", "Frame",
    "MESSAGE_TYPES",
]


class ServiceType(enum.IntEnum):
    SERVICE_TYPE_UNSPECIFIED = 0
    SERVICE_TYPE_SERVER = 1
    SERVICE_TYPE_CLIENT = 2
    SERVICE_TYPE_HYBRID = 3


class ServiceLanguage(enum.IntEnum):
    SERVICE_LANGUAGE_UNSPECIFIED = 0
    SERVICE_LANGUAGE_TYPESCRIPT = 1
    SERVICE_LANGUAGE_RUST = 2
    SERVICE_LANGUAGE_CPP = 3
    SERVICE_LANGUAGE_GO = 4
    SERVICE_LANGUAGE_PYTHON = 5
    SERVICE_LANGUAGE_JAVA = 6
    SERVICE_LANGUAGE_CSHARP = 7
    SERVICE_LANGUAGE_C = 8
    SERVICE_LANGUAGE_SWIFT = 9


class HealthState(enum.IntEnum):
    HEALTH_STATE_UNKNOWN = 0
    HEALTH_STATE_STARTING = 1
    HEALTH_STATE_HEALTHY = 2
    HEALTH_STATE_DEGRADED = 3
    HEALTH_STATE_UNHEALTHY = 4


class ServiceState(enum.IntEnum):
    SERVICE_STATE_UNSPECIFIED = 0
    SERVICE_STATE_REGISTERED = 1
    SERVICE_STATE_IDLE = 2
    SERVICE_STATE_ACTIVE = 3
    SERVICE_STATE_STALE = 4
    SERVICE_STATE_DEAD = 5


class ConnectionState(enum.IntEnum):
    CONNECTION_STATE_UNSPECIFIED = 0
    CONNECTION_STATE_IDLE = 1
    CONNECTION_STATE_ACTIVE = 2
    CONNECTION_STATE_FAILED = 3


class UpdateType(enum.IntEnum):
    UPDATE_TYPE_UNSPECIFIED = 0
    UPDATE_TYPE_SNAPSHOT = 1
    UPDATE_TYPE_NODE_ADDED = 2
    UPDATE_TYPE_NODE_UPDATED = 3
    UPDATE_TYPE_NODE_REMOVED = 4
    UPDATE_TYPE_EDGE_ADDED = 5
    UPDATE_TYPE_EDGE_UPDATED = 6
    UPDATE_TYPE_EDGE_REMOVED = 7
    UPDATE_TYPE_PROGRESS = 8


class ActivityType(enum.IntEnum):
    ACTIVITY_TYPE_UNSPECIFIED = 0
    ACTIVITY_TYPE_REQUEST_SENT = 1
    ACTIVITY_TYPE_RESPONSE_RECEIVED = 2
    ACTIVITY_TYPE_ERROR = 3


def short_name(value: int) -> str:
    """``IDLE`` for ``ServiceState.SERVICE_STATE_IDLE``; the number for an unknown value."""
    if isinstance(value, enum.IntEnum):
        name = value.name
        prefix = {ServiceType: "SERVICE_TYPE_", ServiceLanguage: "SERVICE_LANGUAGE_", HealthState: "HEALTH_STATE_",
                  ServiceState: "SERVICE_STATE_", ConnectionState: "CONNECTION_STATE_", UpdateType: "UPDATE_TYPE_",
                  ActivityType: "ACTIVITY_TYPE_"}.get(type(value), "")
        return name[len(prefix):] if name.startswith(prefix) else name
    return str(int(value))


# ---------------------------------------------------------------------------------------------------
# Service description
# ---------------------------------------------------------------------------------------------------

@message("runtime.v1.ServiceMetadata")
@dataclass
class ServiceMetadata(Message):
    region: Optional[str] = pb(1, STRING, OPTIONAL)
    environment: Optional[str] = pb(2, STRING, OPTIONAL)
    team: Optional[str] = pb(3, STRING, OPTIONAL)
    version_hash: Optional[str] = pb(4, STRING, OPTIONAL)
    service_interface: Optional[str] = pb(5, STRING, OPTIONAL)
    service_role: Optional[str] = pb(6, STRING, OPTIONAL)
    program_name: Optional[str] = pb(7, STRING, OPTIONAL)


@message("runtime.v1.ServiceMetrics")
@dataclass
class ServiceMetrics(Message):
    cpu_percent: float = pb(1, DOUBLE)
    memory_bytes: int = pb(2, UINT64)


@message("runtime.v1.ApplicationHealth")
@dataclass
class ApplicationHealth(Message):
    state: HealthState = pb(1, ENUM, enum_type=HealthState)
    message: Optional[str] = pb(2, STRING, OPTIONAL)
    error_count: Optional[int] = pb(3, INT32, OPTIONAL)


# ---------------------------------------------------------------------------------------------------
# RegisterService, Heartbeat
# ---------------------------------------------------------------------------------------------------

@message("runtime.v1.RegisterServiceRequest")
@dataclass
class RegisterServiceRequest(Message):
    service_name: str = pb(1, STRING)
    service_type: ServiceType = pb(2, ENUM, enum_type=ServiceType)
    language: ServiceLanguage = pb(3, ENUM, enum_type=ServiceLanguage)
    version: Optional[str] = pb(4, STRING, OPTIONAL)
    address: Optional[str] = pb(5, STRING, OPTIONAL)
    host: Optional[str] = pb(6, STRING, OPTIONAL)
    metadata: Optional[ServiceMetadata] = pb(7, MESSAGE, OPTIONAL, message_type=ServiceMetadata)
    service_id: Optional[str] = pb(20, STRING, OPTIONAL)
    labels: Dict[str, str] = pb(21, STRING, MAP)


@message("runtime.v1.ServiceHandle")
@dataclass
class ServiceHandle(Message):
    service_id: str = pb(1, STRING)
    heartbeat_interval_ms: int = pb(2, INT32)
    timeout_multiplier: int = pb(3, INT32)
    server_epoch: str = pb(20, STRING)
    activity_flush_ms: int = pb(21, INT32)


@message("runtime.v1.RegisterServiceResponse")
@dataclass
class RegisterServiceResponse(Message):
    handle: Optional[ServiceHandle] = pb(1, MESSAGE, message_type=ServiceHandle)


@message("runtime.v1.HeartbeatRequest")
@dataclass
class HeartbeatRequest(Message):
    service_id: str = pb(1, STRING)
    sequence: int = pb(2, INT64)
    metrics: Optional[ServiceMetrics] = pb(3, MESSAGE, OPTIONAL, message_type=ServiceMetrics)
    health: Optional[ApplicationHealth] = pb(4, MESSAGE, OPTIONAL, message_type=ApplicationHealth)


@message("runtime.v1.HeartbeatResponse")
@dataclass
class HeartbeatResponse(Message):
    sequence: int = pb(1, INT64)
    acknowledged: bool = pb(2, BOOL)
    server_epoch: str = pb(20, STRING)


# ---------------------------------------------------------------------------------------------------
# ReportActivity, UnregisterService
# ---------------------------------------------------------------------------------------------------

@message("runtime.v1.LatencyHistogram")
@dataclass
class LatencyHistogram(Message):
    indexes: List[int] = pb(1, SINT32, REPEATED)
    counts: List[int] = pb(2, UINT64, REPEATED)
    zero_count: int = pb(3, UINT64)


@message("runtime.v1.ReportActivityRequest")
@dataclass
class ReportActivityRequest(Message):
    service_id: str = pb(1, STRING)
    target_service: str = pb(2, STRING)
    type: ActivityType = pb(3, ENUM, enum_type=ActivityType)
    timestamp_ms: Optional[int] = pb(4, INT64, OPTIONAL)
    latency_ms: Optional[int] = pb(5, INT32, OPTIONAL)
    method: Optional[str] = pb(6, STRING, OPTIONAL)
    success: Optional[bool] = pb(7, BOOL, OPTIONAL)
    batch_size: Optional[int] = pb(8, INT32, OPTIONAL)
    error_message: Optional[str] = pb(9, STRING, OPTIONAL)
    latency_histogram: Optional[LatencyHistogram] = pb(20, MESSAGE, OPTIONAL, message_type=LatencyHistogram)
    error_count: Optional[int] = pb(21, INT32, OPTIONAL)


@message("runtime.v1.ReportActivityResponse")
@dataclass
class ReportActivityResponse(Message):
    acknowledged: bool = pb(1, BOOL)
    accepted_events: int = pb(2, INT64)


@message("runtime.v1.UnregisterServiceRequest")
@dataclass
class UnregisterServiceRequest(Message):
    service_id: str = pb(1, STRING)


@message("runtime.v1.UnregisterServiceResponse")
@dataclass
class UnregisterServiceResponse(Message):
    removed: bool = pb(1, BOOL)


# ---------------------------------------------------------------------------------------------------
# GetTopology, WatchTopology
# ---------------------------------------------------------------------------------------------------

@message("runtime.v1.TopologyQuery")
@dataclass
class TopologyQuery(Message):
    service_names: List[str] = pb(1, STRING, REPEATED)
    include_idle: bool = pb(2, BOOL)
    include_stale: bool = pb(3, BOOL)
    states: List[ServiceState] = pb(20, ENUM, REPEATED, enum_type=ServiceState)
    environments: List[str] = pb(21, STRING, REPEATED)
    teams: List[str] = pb(22, STRING, REPEATED)
    regions: List[str] = pb(23, STRING, REPEATED)
    label_selectors: List[str] = pb(24, STRING, REPEATED)


@message("runtime.v1.GetTopologyRequest")
@dataclass
class GetTopologyRequest(Message):
    query: Optional[TopologyQuery] = pb(1, MESSAGE, message_type=TopologyQuery)


@message("runtime.v1.ServiceNode")
@dataclass
class ServiceNode(Message):
    service_id: str = pb(1, STRING)
    service_name: str = pb(2, STRING)
    service_type: ServiceType = pb(3, ENUM, enum_type=ServiceType)
    language: ServiceLanguage = pb(4, ENUM, enum_type=ServiceLanguage)
    version: Optional[str] = pb(5, STRING, OPTIONAL)
    address: Optional[str] = pb(6, STRING, OPTIONAL)
    host: Optional[str] = pb(7, STRING, OPTIONAL)
    metadata: Optional[ServiceMetadata] = pb(8, MESSAGE, OPTIONAL, message_type=ServiceMetadata)
    state: ServiceState = pb(9, ENUM, enum_type=ServiceState)
    last_heartbeat_ms: int = pb(10, INT64)
    last_activity_ms: int = pb(11, INT64)
    health: HealthState = pb(12, ENUM, enum_type=HealthState)
    metrics: Optional[ServiceMetrics] = pb(20, MESSAGE, OPTIONAL, message_type=ServiceMetrics)
    health_detail: Optional[ApplicationHealth] = pb(21, MESSAGE, OPTIONAL, message_type=ApplicationHealth)
    registered_ms: int = pb(22, INT64)
    labels: Dict[str, str] = pb(23, STRING, MAP)
    # Known only from OTLP spans, never registered.
    observed: bool = pb(24, BOOL)


@message("runtime.v1.ServiceEdge")
@dataclass
class ServiceEdge(Message):
    source_service_id: str = pb(1, STRING)
    target_service: str = pb(2, STRING)
    state: ConnectionState = pb(3, ENUM, enum_type=ConnectionState)
    last_activity_ms: int = pb(4, INT64)
    total_requests: int = pb(5, UINT64)
    total_errors: int = pb(6, UINT64)
    avg_latency_ms: float = pb(7, DOUBLE)
    rps: float = pb(8, DOUBLE)
    target_service_id: str = pb(20, STRING)
    error_rate: float = pb(21, DOUBLE)
    latency_p50_ms: float = pb(22, DOUBLE)
    latency_p95_ms: float = pb(23, DOUBLE)
    latency_p99_ms: float = pb(24, DOUBLE)

    @property
    def key(self) -> "tuple[str, str]":
        """What identifies an edge: (source service id, target service)."""
        return (self.source_service_id, self.target_service)


@message("runtime.v1.TopologySnapshot")
@dataclass
class TopologySnapshot(Message):
    nodes: List[ServiceNode] = pb(1, MESSAGE, REPEATED, message_type=ServiceNode)
    edges: List[ServiceEdge] = pb(2, MESSAGE, REPEATED, message_type=ServiceEdge)
    timestamp_ms: int = pb(3, INT64)
    revision: int = pb(20, UINT64)
    server_epoch: str = pb(21, STRING)


@message("runtime.v1.GetTopologyResponse")
@dataclass
class GetTopologyResponse(Message):
    snapshot: Optional[TopologySnapshot] = pb(1, MESSAGE, message_type=TopologySnapshot)


@message("runtime.v1.WatchTopologyRequest")
@dataclass
class WatchTopologyRequest(Message):
    query: Optional[TopologyQuery] = pb(1, MESSAGE, message_type=TopologyQuery)
    resume_after_revision: Optional[int] = pb(20, UINT64, OPTIONAL)
    resume_server_epoch: str = pb(21, STRING)


@message("runtime.v1.TopologyUpdate")
@dataclass
class TopologyUpdate(Message):
    type: UpdateType = pb(1, ENUM, enum_type=UpdateType)
    node: Optional[ServiceNode] = pb(2, MESSAGE, OPTIONAL, message_type=ServiceNode)
    edge: Optional[ServiceEdge] = pb(3, MESSAGE, OPTIONAL, message_type=ServiceEdge)
    snapshot: Optional[TopologySnapshot] = pb(4, MESSAGE, OPTIONAL, message_type=TopologySnapshot)
    revision: int = pb(20, UINT64)
    coalesced: bool = pb(21, BOOL)
    resync: bool = pb(22, BOOL)


@message("runtime.v1.WatchTopologyResponse")
@dataclass
class WatchTopologyResponse(Message):
    update: Optional[TopologyUpdate] = pb(1, MESSAGE, message_type=TopologyUpdate)


# ---------------------------------------------------------------------------------------------------
# Authenticate (a Topology addition: the handshake of a server run with --auth-token-file)
# ---------------------------------------------------------------------------------------------------

@message("runtime.v1.AuthenticateRequest")
@dataclass
class AuthenticateRequest(Message):
    token: str = pb(1, STRING)


@message("runtime.v1.AuthenticateResponse")
@dataclass
class AuthenticateResponse(Message):
    authenticated: bool = pb(1, BOOL)


# ---------------------------------------------------------------------------------------------------
# Transport
# ---------------------------------------------------------------------------------------------------

@message("runtime.v1.Status")
@dataclass
class Status(Message):
    code: int = pb(1, INT32)
    message: str = pb(2, STRING)


_ONEOF = "message"


@message("runtime.v1.Frame")
@dataclass
class Frame(Message):
    call_id: int = pb(1, UINT64)
    end_of_stream: bool = pb(2, BOOL)
    status: Optional[Status] = pb(3, MESSAGE, message_type=Status)
    register_service_request: Optional[RegisterServiceRequest] = pb(
        10, MESSAGE, message_type=RegisterServiceRequest, oneof=_ONEOF)
    register_service_response: Optional[RegisterServiceResponse] = pb(
        11, MESSAGE, message_type=RegisterServiceResponse, oneof=_ONEOF)
    heartbeat_request: Optional[HeartbeatRequest] = pb(12, MESSAGE, message_type=HeartbeatRequest, oneof=_ONEOF)
    heartbeat_response: Optional[HeartbeatResponse] = pb(13, MESSAGE, message_type=HeartbeatResponse, oneof=_ONEOF)
    report_activity_request: Optional[ReportActivityRequest] = pb(
        14, MESSAGE, message_type=ReportActivityRequest, oneof=_ONEOF)
    report_activity_response: Optional[ReportActivityResponse] = pb(
        15, MESSAGE, message_type=ReportActivityResponse, oneof=_ONEOF)
    unregister_service_request: Optional[UnregisterServiceRequest] = pb(
        16, MESSAGE, message_type=UnregisterServiceRequest, oneof=_ONEOF)
    unregister_service_response: Optional[UnregisterServiceResponse] = pb(
        17, MESSAGE, message_type=UnregisterServiceResponse, oneof=_ONEOF)
    get_topology_request: Optional[GetTopologyRequest] = pb(18, MESSAGE, message_type=GetTopologyRequest, oneof=_ONEOF)
    get_topology_response: Optional[GetTopologyResponse] = pb(
        19, MESSAGE, message_type=GetTopologyResponse, oneof=_ONEOF)
    watch_topology_request: Optional[WatchTopologyRequest] = pb(
        20, MESSAGE, message_type=WatchTopologyRequest, oneof=_ONEOF)
    watch_topology_response: Optional[WatchTopologyResponse] = pb(
        21, MESSAGE, message_type=WatchTopologyResponse, oneof=_ONEOF)
    authenticate_request: Optional[AuthenticateRequest] = pb(
        22, MESSAGE, message_type=AuthenticateRequest, oneof=_ONEOF)
    authenticate_response: Optional[AuthenticateResponse] = pb(
        23, MESSAGE, message_type=AuthenticateResponse, oneof=_ONEOF)


#: Every message class by its full protobuf name (``runtime.v1.Frame``).
MESSAGE_TYPES: Dict[str, Type[Message]] = {cls.FULL_NAME: cls for cls in (
    ServiceMetadata, ServiceMetrics, ApplicationHealth, RegisterServiceRequest, ServiceHandle,
    RegisterServiceResponse, HeartbeatRequest, HeartbeatResponse, LatencyHistogram, ReportActivityRequest,
    ReportActivityResponse, UnregisterServiceRequest, UnregisterServiceResponse, TopologyQuery,
    GetTopologyRequest, ServiceNode, ServiceEdge, TopologySnapshot, GetTopologyResponse, WatchTopologyRequest,
    TopologyUpdate, WatchTopologyResponse, AuthenticateRequest, AuthenticateResponse, Status, Frame)}
