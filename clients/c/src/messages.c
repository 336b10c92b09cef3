/* messages.c - codec descriptors of the runtime.v1 messages (Schema/topology.proto). */
#include <stddef.h>
#include <string.h>

#include "wire.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IMP(S, n, t, m, js) {n, t, PB_IMPLICIT, offsetof(S, m), 0, NULL, NULL, js}
#define IMPE(S, n, m, E, js) {n, PB_ENUM, PB_IMPLICIT, offsetof(S, m), 0, NULL, &E, js}
#define OPTS(S, n, m, js) {n, PB_STRING, PB_OPTIONAL, offsetof(S, m), 0, NULL, NULL, js}
#define OPT(S, n, t, m, js) {n, t, PB_OPTIONAL, offsetof(S, m), offsetof(S, has_##m), NULL, NULL, js}
#define MSG(S, n, m, D, js) {n, PB_MESSAGE, PB_OPTIONAL, offsetof(S, m), offsetof(S, has_##m), &D, NULL, js}
#define REP(S, n, t, m, js) {n, t, PB_REPEATED, offsetof(S, m), offsetof(S, m##_count), NULL, NULL, js}
#define REPE(S, n, m, E, js) {n, PB_ENUM, PB_REPEATED, offsetof(S, m), offsetof(S, m##_count), NULL, &E, js}
#define REPM(S, n, m, D, js) {n, PB_MESSAGE, PB_REPEATED, offsetof(S, m), offsetof(S, m##_count), &D, NULL, js}
#define MAPF(S, n, m, js) {n, PB_MESSAGE, PB_MAP, offsetof(S, m), offsetof(S, m##_count), &w_label_desc, NULL, js}
#define ONE(n, m, D, js) {n, PB_MESSAGE, PB_ONEOF, offsetof(w_frame, u.m), offsetof(w_frame, which), &D, NULL, js}
#define DESC(var, name, S, fields) const pb_msgdesc var = {name, sizeof(S), fields, N(fields)}

static const char *const service_type_names[] = {"SERVICE_TYPE_UNSPECIFIED", "SERVICE_TYPE_SERVER",
    "SERVICE_TYPE_CLIENT", "SERVICE_TYPE_HYBRID"};
static const char *const language_names[] = {"SERVICE_LANGUAGE_UNSPECIFIED",
    "SERVICE_LANGUAGE_TYPESCRIPT", "SERVICE_LANGUAGE_RUST", "SERVICE_LANGUAGE_CPP",
    "SERVICE_LANGUAGE_GO", "SERVICE_LANGUAGE_PYTHON", "SERVICE_LANGUAGE_JAVA",
    "SERVICE_LANGUAGE_CSHARP", "SERVICE_LANGUAGE_C", "SERVICE_LANGUAGE_SWIFT"};
static const char *const health_names[] = {"HEALTH_STATE_UNKNOWN", "HEALTH_STATE_STARTING",
    "HEALTH_STATE_HEALTHY", "HEALTH_STATE_DEGRADED", "HEALTH_STATE_UNHEALTHY"};
static const char *const service_state_names[] = {"SERVICE_STATE_UNSPECIFIED",
    "SERVICE_STATE_REGISTERED", "SERVICE_STATE_IDLE", "SERVICE_STATE_ACTIVE", "SERVICE_STATE_STALE",
    "SERVICE_STATE_DEAD"};
static const char *const connection_state_names[] = {"CONNECTION_STATE_UNSPECIFIED",
    "CONNECTION_STATE_IDLE", "CONNECTION_STATE_ACTIVE", "CONNECTION_STATE_FAILED"};
static const char *const update_type_names[] = {"UPDATE_TYPE_UNSPECIFIED", "UPDATE_TYPE_SNAPSHOT",
    "UPDATE_TYPE_NODE_ADDED", "UPDATE_TYPE_NODE_UPDATED", "UPDATE_TYPE_NODE_REMOVED",
    "UPDATE_TYPE_EDGE_ADDED", "UPDATE_TYPE_EDGE_UPDATED", "UPDATE_TYPE_EDGE_REMOVED",
    "UPDATE_TYPE_PROGRESS"};
static const char *const activity_type_names[] = {"ACTIVITY_TYPE_UNSPECIFIED",
    "ACTIVITY_TYPE_REQUEST_SENT", "ACTIVITY_TYPE_RESPONSE_RECEIVED", "ACTIVITY_TYPE_ERROR"};

#define ENUMDESC(var, names) static const pb_enumdesc var = {names, (int32_t)N(names)}
ENUMDESC(e_service_type, service_type_names);
ENUMDESC(e_language, language_names);
ENUMDESC(e_health, health_names);
ENUMDESC(e_service_state, service_state_names);
ENUMDESC(e_connection_state, connection_state_names);
ENUMDESC(e_update_type, update_type_names);
ENUMDESC(e_activity_type, activity_type_names);

const char *topo_node_state_name(int32_t s)
{
    return s >= 0 && s < e_service_state.count ? service_state_names[s] : "";
}

const char *topo_update_type_name(int32_t t)
{
    return t >= 0 && t < e_update_type.count ? update_type_names[t] : "";
}

/* A map<string, string> entry: both fields optional strings, so "" is written too (pb_decode
 * turns a missing one into ""). */
static const pb_field label_f[] = {
    OPTS(topo_label, 1, key, "key"),
    OPTS(topo_label, 2, value, "value"),
};
static DESC(w_label_desc, "map<string, string> entry", topo_label, label_f);

static const pb_field metadata_f[] = {
    OPTS(topo_metadata, 1, region, "region"),
    OPTS(topo_metadata, 2, environment, "environment"),
    OPTS(topo_metadata, 3, team, "team"),
    OPTS(topo_metadata, 4, version_hash, "versionHash"),
    OPTS(topo_metadata, 5, service_interface, "serviceInterface"),
    OPTS(topo_metadata, 6, service_role, "serviceRole"),
    OPTS(topo_metadata, 7, program_name, "programName"),
};
DESC(w_metadata_desc, "runtime.v1.ServiceMetadata", topo_metadata, metadata_f);

static const pb_field metrics_f[] = {
    IMP(topo_metrics, 1, PB_DOUBLE, cpu_percent, "cpuPercent"),
    IMP(topo_metrics, 2, PB_UINT64, memory_bytes, "memoryBytes"),
};
DESC(w_metrics_desc, "runtime.v1.ServiceMetrics", topo_metrics, metrics_f);

static const pb_field health_f[] = {
    IMPE(topo_health, 1, state, e_health, "state"),
    OPTS(topo_health, 2, message, "message"),
    OPT(topo_health, 3, PB_INT32, error_count, "errorCount"),
};
DESC(w_health_desc, "runtime.v1.ApplicationHealth", topo_health, health_f);

static const pb_field register_req_f[] = {
    IMP(w_register_req, 1, PB_STRING, service_name, "serviceName"),
    IMPE(w_register_req, 2, service_type, e_service_type, "serviceType"),
    IMPE(w_register_req, 3, language, e_language, "language"),
    OPTS(w_register_req, 4, version, "version"),
    OPTS(w_register_req, 5, address, "address"),
    OPTS(w_register_req, 6, host, "host"),
    MSG(w_register_req, 7, metadata, w_metadata_desc, "metadata"),
    OPTS(w_register_req, 20, service_id, "serviceId"),
    MAPF(w_register_req, 21, labels, "labels"),
};
DESC(w_register_req_desc, "runtime.v1.RegisterServiceRequest", w_register_req, register_req_f);

static const pb_field handle_f[] = {
    IMP(w_handle, 1, PB_STRING, service_id, "serviceId"),
    IMP(w_handle, 2, PB_INT32, heartbeat_interval_ms, "heartbeatIntervalMs"),
    IMP(w_handle, 3, PB_INT32, timeout_multiplier, "timeoutMultiplier"),
    IMP(w_handle, 20, PB_STRING, server_epoch, "serverEpoch"),
    IMP(w_handle, 21, PB_INT32, activity_flush_ms, "activityFlushMs"),
};
DESC(w_handle_desc, "runtime.v1.ServiceHandle", w_handle, handle_f);

static const pb_field register_resp_f[] = {
    MSG(w_register_resp, 1, handle, w_handle_desc, "handle"),
};
DESC(w_register_resp_desc, "runtime.v1.RegisterServiceResponse", w_register_resp, register_resp_f);

static const pb_field heartbeat_req_f[] = {
    IMP(w_heartbeat_req, 1, PB_STRING, service_id, "serviceId"),
    IMP(w_heartbeat_req, 2, PB_INT64, sequence, "sequence"),
    MSG(w_heartbeat_req, 3, metrics, w_metrics_desc, "metrics"),
    MSG(w_heartbeat_req, 4, health, w_health_desc, "health"),
};
DESC(w_heartbeat_req_desc, "runtime.v1.HeartbeatRequest", w_heartbeat_req, heartbeat_req_f);

static const pb_field heartbeat_resp_f[] = {
    IMP(w_heartbeat_resp, 1, PB_INT64, sequence, "sequence"),
    IMP(w_heartbeat_resp, 2, PB_BOOL, acknowledged, "acknowledged"),
    IMP(w_heartbeat_resp, 20, PB_STRING, server_epoch, "serverEpoch"),
};
DESC(w_heartbeat_resp_desc, "runtime.v1.HeartbeatResponse", w_heartbeat_resp, heartbeat_resp_f);

static const pb_field histogram_f[] = {
    REP(w_histogram, 1, PB_SINT32, indexes, "indexes"),
    REP(w_histogram, 2, PB_UINT64, counts, "counts"),
    IMP(w_histogram, 3, PB_UINT64, zero_count, "zeroCount"),
};
DESC(w_histogram_desc, "runtime.v1.LatencyHistogram", w_histogram, histogram_f);

static const pb_field activity_req_f[] = {
    IMP(w_activity_req, 1, PB_STRING, service_id, "serviceId"),
    IMP(w_activity_req, 2, PB_STRING, target_service, "targetService"),
    IMPE(w_activity_req, 3, type, e_activity_type, "type"),
    OPT(w_activity_req, 4, PB_INT64, timestamp_ms, "timestampMs"),
    OPT(w_activity_req, 5, PB_INT32, latency_ms, "latencyMs"),
    OPTS(w_activity_req, 6, method, "method"),
    OPT(w_activity_req, 7, PB_BOOL, success, "success"),
    OPT(w_activity_req, 8, PB_INT32, batch_size, "batchSize"),
    OPTS(w_activity_req, 9, error_message, "errorMessage"),
    MSG(w_activity_req, 20, latency_histogram, w_histogram_desc, "latencyHistogram"),
    OPT(w_activity_req, 21, PB_INT32, error_count, "errorCount"),
};
DESC(w_activity_req_desc, "runtime.v1.ReportActivityRequest", w_activity_req, activity_req_f);

static const pb_field activity_resp_f[] = {
    IMP(w_activity_resp, 1, PB_BOOL, acknowledged, "acknowledged"),
    IMP(w_activity_resp, 2, PB_INT64, accepted_events, "acceptedEvents"),
};
DESC(w_activity_resp_desc, "runtime.v1.ReportActivityResponse", w_activity_resp, activity_resp_f);

static const pb_field unregister_req_f[] = {
    IMP(w_unregister_req, 1, PB_STRING, service_id, "serviceId"),
};
DESC(w_unregister_req_desc, "runtime.v1.UnregisterServiceRequest", w_unregister_req, unregister_req_f);

static const pb_field unregister_resp_f[] = {
    IMP(w_unregister_resp, 1, PB_BOOL, removed, "removed"),
};
DESC(w_unregister_resp_desc, "runtime.v1.UnregisterServiceResponse", w_unregister_resp,
     unregister_resp_f);

static const pb_field query_f[] = {
    REP(w_query, 1, PB_STRING, service_names, "serviceNames"),
    IMP(w_query, 2, PB_BOOL, include_idle, "includeIdle"),
    IMP(w_query, 3, PB_BOOL, include_stale, "includeStale"),
    REPE(w_query, 20, states, e_service_state, "states"),
    REP(w_query, 21, PB_STRING, environments, "environments"),
    REP(w_query, 22, PB_STRING, teams, "teams"),
    REP(w_query, 23, PB_STRING, regions, "regions"),
    REP(w_query, 24, PB_STRING, label_selectors, "labelSelectors"),
};
DESC(w_query_desc, "runtime.v1.TopologyQuery", w_query, query_f);

static const pb_field get_req_f[] = {
    MSG(w_get_req, 1, query, w_query_desc, "query"),
};
DESC(w_get_req_desc, "runtime.v1.GetTopologyRequest", w_get_req, get_req_f);

static const pb_field node_f[] = {
    IMP(topo_node, 1, PB_STRING, service_id, "serviceId"),
    IMP(topo_node, 2, PB_STRING, service_name, "serviceName"),
    IMPE(topo_node, 3, service_type, e_service_type, "serviceType"),
    IMPE(topo_node, 4, language, e_language, "language"),
    OPTS(topo_node, 5, version, "version"),
    OPTS(topo_node, 6, address, "address"),
    OPTS(topo_node, 7, host, "host"),
    MSG(topo_node, 8, metadata, w_metadata_desc, "metadata"),
    IMPE(topo_node, 9, state, e_service_state, "state"),
    IMP(topo_node, 10, PB_INT64, last_heartbeat_ms, "lastHeartbeatMs"),
    IMP(topo_node, 11, PB_INT64, last_activity_ms, "lastActivityMs"),
    IMPE(topo_node, 12, health, e_health, "health"),
    MSG(topo_node, 20, metrics, w_metrics_desc, "metrics"),
    MSG(topo_node, 21, health_detail, w_health_desc, "healthDetail"),
    IMP(topo_node, 22, PB_INT64, registered_ms, "registeredMs"),
    MAPF(topo_node, 23, labels, "labels"),
    IMP(topo_node, 24, PB_BOOL, observed, "observed"),
};
DESC(w_node_desc, "runtime.v1.ServiceNode", topo_node, node_f);

static const pb_field edge_f[] = {
    IMP(topo_edge, 1, PB_STRING, source_service_id, "sourceServiceId"),
    IMP(topo_edge, 2, PB_STRING, target_service, "targetService"),
    IMPE(topo_edge, 3, state, e_connection_state, "state"),
    IMP(topo_edge, 4, PB_INT64, last_activity_ms, "lastActivityMs"),
    IMP(topo_edge, 5, PB_UINT64, total_requests, "totalRequests"),
    IMP(topo_edge, 6, PB_UINT64, total_errors, "totalErrors"),
    IMP(topo_edge, 7, PB_DOUBLE, avg_latency_ms, "avgLatencyMs"),
    IMP(topo_edge, 8, PB_DOUBLE, rps, "rps"),
    IMP(topo_edge, 20, PB_STRING, target_service_id, "targetServiceId"),
    IMP(topo_edge, 21, PB_DOUBLE, error_rate, "errorRate"),
    IMP(topo_edge, 22, PB_DOUBLE, latency_p50_ms, "latencyP50Ms"),
    IMP(topo_edge, 23, PB_DOUBLE, latency_p95_ms, "latencyP95Ms"),
    IMP(topo_edge, 24, PB_DOUBLE, latency_p99_ms, "latencyP99Ms"),
};
DESC(w_edge_desc, "runtime.v1.ServiceEdge", topo_edge, edge_f);

static const pb_field snapshot_f[] = {
    REPM(topo_snapshot, 1, nodes, w_node_desc, "nodes"),
    REPM(topo_snapshot, 2, edges, w_edge_desc, "edges"),
    IMP(topo_snapshot, 3, PB_INT64, timestamp_ms, "timestampMs"),
    IMP(topo_snapshot, 20, PB_UINT64, revision, "revision"),
    IMP(topo_snapshot, 21, PB_STRING, server_epoch, "serverEpoch"),
};
DESC(w_snapshot_desc, "runtime.v1.TopologySnapshot", topo_snapshot, snapshot_f);

static const pb_field get_resp_f[] = {
    MSG(w_get_resp, 1, snapshot, w_snapshot_desc, "snapshot"),
};
DESC(w_get_resp_desc, "runtime.v1.GetTopologyResponse", w_get_resp, get_resp_f);

static const pb_field update_f[] = {
    IMPE(topo_update, 1, type, e_update_type, "type"),
    MSG(topo_update, 2, node, w_node_desc, "node"),
    MSG(topo_update, 3, edge, w_edge_desc, "edge"),
    MSG(topo_update, 4, snapshot, w_snapshot_desc, "snapshot"),
    IMP(topo_update, 20, PB_UINT64, revision, "revision"),
    IMP(topo_update, 21, PB_BOOL, coalesced, "coalesced"),
    IMP(topo_update, 22, PB_BOOL, resync, "resync"),
};
DESC(w_update_desc, "runtime.v1.TopologyUpdate", topo_update, update_f);

static const pb_field watch_req_f[] = {
    MSG(w_watch_req, 1, query, w_query_desc, "query"),
    OPT(w_watch_req, 20, PB_UINT64, resume_after_revision, "resumeAfterRevision"),
    IMP(w_watch_req, 21, PB_STRING, resume_server_epoch, "resumeServerEpoch"),
};
DESC(w_watch_req_desc, "runtime.v1.WatchTopologyRequest", w_watch_req, watch_req_f);

static const pb_field watch_resp_f[] = {
    MSG(w_watch_resp, 1, update, w_update_desc, "update"),
};
DESC(w_watch_resp_desc, "runtime.v1.WatchTopologyResponse", w_watch_resp, watch_resp_f);

static const pb_field auth_req_f[] = {
    IMP(w_auth_req, 1, PB_STRING, token, "token"),
};
DESC(w_auth_req_desc, "runtime.v1.AuthenticateRequest", w_auth_req, auth_req_f);

static const pb_field auth_resp_f[] = {
    IMP(w_auth_resp, 1, PB_BOOL, authenticated, "authenticated"),
};
DESC(w_auth_resp_desc, "runtime.v1.AuthenticateResponse", w_auth_resp, auth_resp_f);

static const pb_field status_f[] = {
    IMP(w_status, 1, PB_INT32, code, "code"),
    IMP(w_status, 2, PB_STRING, message, "message"),
};
DESC(w_status_desc, "runtime.v1.Status", w_status, status_f);

static const pb_field frame_f[] = {
    IMP(w_frame, 1, PB_UINT64, call_id, "callId"),
    IMP(w_frame, 2, PB_BOOL, end_of_stream, "endOfStream"),
    MSG(w_frame, 3, status, w_status_desc, "status"),
    ONE(10, register_req, w_register_req_desc, "registerServiceRequest"),
    ONE(11, register_resp, w_register_resp_desc, "registerServiceResponse"),
    ONE(12, heartbeat_req, w_heartbeat_req_desc, "heartbeatRequest"),
    ONE(13, heartbeat_resp, w_heartbeat_resp_desc, "heartbeatResponse"),
    ONE(14, activity_req, w_activity_req_desc, "reportActivityRequest"),
    ONE(15, activity_resp, w_activity_resp_desc, "reportActivityResponse"),
    ONE(16, unregister_req, w_unregister_req_desc, "unregisterServiceRequest"),
    ONE(17, unregister_resp, w_unregister_resp_desc, "unregisterServiceResponse"),
    ONE(18, get_req, w_get_req_desc, "getTopologyRequest"),
    ONE(19, get_resp, w_get_resp_desc, "getTopologyResponse"),
    ONE(20, watch_req, w_watch_req_desc, "watchTopologyRequest"),
    ONE(21, watch_resp, w_watch_resp_desc, "watchTopologyResponse"),
    ONE(22, auth_req, w_auth_req_desc, "authenticateRequest"),
    ONE(23, auth_resp, w_auth_resp_desc, "authenticateResponse"),
};
DESC(w_frame_desc, "runtime.v1.Frame", w_frame, frame_f);

const pb_msgdesc *const w_all_descs[] = {&w_metadata_desc, &w_metrics_desc, &w_health_desc,
    &w_register_req_desc, &w_handle_desc, &w_register_resp_desc, &w_heartbeat_req_desc,
    &w_heartbeat_resp_desc, &w_histogram_desc, &w_activity_req_desc, &w_activity_resp_desc,
    &w_unregister_req_desc, &w_unregister_resp_desc, &w_query_desc, &w_get_req_desc,
    &w_get_resp_desc, &w_watch_req_desc, &w_watch_resp_desc, &w_snapshot_desc, &w_node_desc,
    &w_edge_desc, &w_update_desc, &w_auth_req_desc, &w_auth_resp_desc, &w_status_desc, &w_frame_desc};
const size_t w_all_descs_count = N(w_all_descs);

const pb_msgdesc *w_desc_by_name(const char *name)
{
    size_t i;
    for (i = 0; i < w_all_descs_count; i++)
        if (strcmp(w_all_descs[i]->name, name) == 0) return w_all_descs[i];
    return NULL;
}
