/*
 * topology.h - C client for the Topology service-topology server.
 *
 * C99 + POSIX + pthreads, no other dependency. Link with -ltopology -lpthread -lm.
 *
 * A client (topo_client) holds one TCP connection to a Topology server (tried in the order of the
 * addresses given, failing over to the next), at most one registered service, and any number of
 * watches. Two background threads belong to each client: a reader (decodes frames, matches replies
 * to calls) and a keeper (heartbeats, activity flushes, reconnection and re-registration).
 *
 * Conventions (libuv/hiredis style):
 *  - Every function that can fail returns an int: TOPO_OK (0) or a negative TOPO_E* code.
 *    topo_strerror() names a code; topo_client_last_error() copies the client's last error message
 *    (a human-readable sentence naming what failed, including a server Status message).
 *  - Strings passed in are copied; the caller keeps ownership of its own memory.
 *  - Objects the library returns (topo_snapshot *, topo_update *) belong to the caller and are
 *    released with their free function: topo_snapshot_free(), topo_update_free().
 *  - A function that returns an error never invokes a callback for that call.
 *
 * Thread safety: every topo_client_* / topo_watch_* function may be called from any thread at any
 * time, except where a function's comment says otherwise (mainly: the free and close functions must
 * be the last call on their object, and must not be called from inside that object's callbacks).
 * Callbacks run on library threads; they must not block for long and must not call
 * topo_client_close() or topo_watch_close() on their own object.
 */
#ifndef TOPOLOGY_H
#define TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TOPO_MUST_CHECK __attribute__((warn_unused_result))
#else
#define TOPO_MUST_CHECK
#endif

#define TOPO_VERSION "0.1.0"

/* The default of topo_options.max_frame_bytes: 128 MiB. A snapshot costs about 364 bytes per node
 * with every field set at realistic lengths (UUID id, 20-byte name, address, host, all seven
 * metadata strings, metrics, health with a message) and about 174 bytes per edge, so 200,000 nodes
 * need some 70 MiB, leaving room for about 350,000 edges. A larger topology (the server's default
 * --max-services is 1,000,000) needs a larger max_frame_bytes, or a query that selects less. */
#define TOPO_DEFAULT_MAX_FRAME_BYTES (128u * 1024 * 1024)

/* The longest target and method topo_report_call() accepts, in bytes: the server's default
 * --max-string-bytes. (A server run with a lower limit refuses longer ones: see calls_dropped.) */
#define TOPO_MAX_REPORT_STRING_BYTES 1024

/* ---------------------------------------------------------------------------------------------- */
/* Errors                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

enum {
    TOPO_OK = 0,
    TOPO_EINVAL = -1,     /* an argument is invalid (NULL, empty name, bad address syntax ...) */
    TOPO_ENOMEM = -2,     /* out of memory */
    TOPO_ECONNECT = -3,   /* no server address accepted a connection */
    TOPO_ETIMEDOUT = -4,  /* no reply within the I/O timeout */
    TOPO_ECLOSED = -5,    /* the connection was lost before the reply came */
    TOPO_EPROTO = -6,     /* the server sent bytes that violate the protocol; connection dropped */
    TOPO_ETOOBIG = -7,    /* a frame over the size limit; connection dropped */
    TOPO_ESTATUS = -8,    /* the server answered with an error Status (see topo_client_last_status) */
    TOPO_ENOTFOUND = -9,  /* the server answered NOT_FOUND */
    TOPO_ESTATE = -10,    /* not valid now: not registered, already registered, client closing */
    TOPO_ESYS = -11,      /* a system call failed (errno is in the last error message) */
    TOPO_ELIMIT = -12,    /* a local limit was reached (e.g. distinct activity keys) */
    TOPO_EAUTH = -13      /* the server refused the connection: UNAUTHENTICATED (no token, or a
                           * token that is not the one of its --auth-token-file) */
};

/* The name and meaning of an error code ("TOPO_ETIMEDOUT: timed out"). Static storage.
 * Thread-safe. */
const char *topo_strerror(int err);

/* ---------------------------------------------------------------------------------------------- */
/* Protocol enums (values as in Schema/topology.proto; unknown values are kept as numbers)           */
/* ---------------------------------------------------------------------------------------------- */

enum { TOPO_SERVICE_TYPE_UNSPECIFIED = 0, TOPO_SERVICE_TYPE_SERVER = 1, TOPO_SERVICE_TYPE_CLIENT = 2,
       TOPO_SERVICE_TYPE_HYBRID = 3 };
enum { TOPO_LANG_UNSPECIFIED = 0, TOPO_LANG_TYPESCRIPT = 1, TOPO_LANG_RUST = 2, TOPO_LANG_CPP = 3,
       TOPO_LANG_GO = 4, TOPO_LANG_PYTHON = 5, TOPO_LANG_JAVA = 6, TOPO_LANG_CSHARP = 7,
       TOPO_LANG_C = 8, TOPO_LANG_SWIFT = 9 };
enum { TOPO_HEALTH_UNKNOWN = 0, TOPO_HEALTH_STARTING = 1, TOPO_HEALTH_HEALTHY = 2,
       TOPO_HEALTH_DEGRADED = 3, TOPO_HEALTH_UNHEALTHY = 4 };
enum { TOPO_NODE_UNSPECIFIED = 0, TOPO_NODE_REGISTERED = 1, TOPO_NODE_IDLE = 2, TOPO_NODE_ACTIVE = 3,
       TOPO_NODE_STALE = 4, TOPO_NODE_DEAD = 5 };
enum { TOPO_EDGE_UNSPECIFIED = 0, TOPO_EDGE_IDLE = 1, TOPO_EDGE_ACTIVE = 2, TOPO_EDGE_FAILED = 3 };
enum { TOPO_UPDATE_UNSPECIFIED = 0, TOPO_UPDATE_SNAPSHOT = 1, TOPO_UPDATE_NODE_ADDED = 2,
       TOPO_UPDATE_NODE_UPDATED = 3, TOPO_UPDATE_NODE_REMOVED = 4, TOPO_UPDATE_EDGE_ADDED = 5,
       TOPO_UPDATE_EDGE_UPDATED = 6, TOPO_UPDATE_EDGE_REMOVED = 7, TOPO_UPDATE_PROGRESS = 8 };

/* Printable names ("SERVICE_STATE_IDLE"); "" for unknown values. Static storage. Thread-safe. */
const char *topo_node_state_name(int32_t state);
const char *topo_update_type_name(int32_t type);

/* ---------------------------------------------------------------------------------------------- */
/* Plain data: what the server sends. A NULL char * is an absent field; strings are NUL-terminated */
/* UTF-8 (validated). Every pointer inside is owned by the enclosing object and freed with it:     */
/* never free() or replace a member yourself. (A string holding a NUL byte is kept whole inside;   */
/* as a C string you see the part before it.)                                                      */
/* ---------------------------------------------------------------------------------------------- */

typedef struct topo_metadata {
    char *region, *environment, *team, *version_hash, *service_interface, *service_role,
        *program_name;
} topo_metadata;

/* A free-form label (Topology addition), as Consul, Eureka and Kubernetes have them: "team" =
 * "payments". In a topo_node, labels are sorted by key (bytewise) and keys are unique. */
typedef struct topo_label {
    const char *key;
    const char *value;
} topo_label;

typedef struct topo_metrics {
    double cpu_percent;
    uint64_t memory_bytes;
} topo_metrics;

typedef struct topo_health {
    int32_t state;              /* TOPO_HEALTH_* */
    char *message;              /* optional */
    bool has_error_count;
    int32_t error_count;
} topo_health;

typedef struct topo_node {
    char *service_id;
    char *service_name;
    int32_t service_type;       /* TOPO_SERVICE_TYPE_* */
    int32_t language;           /* TOPO_LANG_* */
    char *version, *address, *host; /* optional */
    bool has_metadata;
    topo_metadata metadata;
    int32_t state;              /* TOPO_NODE_* */
    int64_t last_heartbeat_ms;
    int64_t last_activity_ms;
    int32_t health;             /* TOPO_HEALTH_* */
    bool has_metrics;
    topo_metrics metrics;
    bool has_health_detail;
    topo_health health_detail;
    int64_t registered_ms;
    topo_label *labels;         /* labels_count of them, sorted by key; NULL when none */
    size_t labels_count;
    bool observed;              /* known only from OTLP spans, never registered */
} topo_node;

typedef struct topo_edge {
    char *source_service_id;
    char *target_service;
    int32_t state;              /* TOPO_EDGE_* */
    int64_t last_activity_ms;
    uint64_t total_requests;
    uint64_t total_errors;
    double avg_latency_ms;
    double rps;
    char *target_service_id;    /* resolved target node, NULL or "" while unresolved */
    double error_rate;
    double latency_p50_ms, latency_p95_ms, latency_p99_ms;
} topo_edge;

typedef struct topo_snapshot {
    topo_node *nodes;
    size_t nodes_count;
    topo_edge *edges;
    size_t edges_count;
    int64_t timestamp_ms;
    uint64_t revision;
    char *server_epoch;
} topo_snapshot;

typedef struct topo_update {
    int32_t type;               /* TOPO_UPDATE_* */
    bool has_node;
    topo_node node;
    bool has_edge;
    topo_edge edge;
    bool has_snapshot;
    topo_snapshot snapshot;
    uint64_t revision;
    bool coalesced;
    bool resync;
} topo_update;

/* Free a snapshot / update returned by this library, and everything inside it. NULL is allowed.
 * Thread-safe, but no other thread may still be reading that object. */
void topo_snapshot_free(topo_snapshot *snapshot);
void topo_update_free(topo_update *update);

/* A filter for get/watch. All-empty means everything. The library copies it; caller owns it. */
typedef struct topo_query {
    const char *const *service_names;
    size_t service_names_count;
    const int32_t *states;          /* TOPO_NODE_* */
    size_t states_count;
    const char *const *environments;
    size_t environments_count;
    const char *const *teams;
    size_t teams_count;
    const char *const *regions;
    size_t regions_count;
    /* "key=value" (that exact value) or "key" (any value): a node must match all of them. The
     * server refuses a selector without a key with TOPO_ESTATUS (INVALID_ARGUMENT). */
    const char *const *label_selectors;
    size_t label_selectors_count;
} topo_query;

/* ---------------------------------------------------------------------------------------------- */
/* Client                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

typedef struct topo_client topo_client;

/* What the client is doing; observable through topo_client_state() or the state callback. */
typedef enum topo_client_state {
    TOPO_CLIENT_DISCONNECTED = 0, /* no connection; the keeper retries with backoff if needed */
    TOPO_CLIENT_CONNECTED = 1,    /* connected, no service registered */
    TOPO_CLIENT_REGISTERED = 2,   /* connected and the service is registered (heartbeats flow) */
    TOPO_CLIENT_RECOVERING = 3,   /* registering in the background: no server reachable yet, or
                                   * registered before and now reconnecting / re-registering */
    TOPO_CLIENT_CLOSED = 4        /* topo_client_close() was called */
} topo_client_state;

/* Called (on a library thread) before each heartbeat: fill *health (state, and optionally message,
 * which must stay valid until the next call of this callback or until close). Return false to
 * send no health. */
typedef bool (*topo_health_cb)(void *userdata, topo_health *health);
/* Called before each heartbeat to sample metrics; return false to send none. */
typedef bool (*topo_metrics_cb)(void *userdata, topo_metrics *metrics);
/* Called on every state change, with the service id (or NULL) at that moment. */
typedef void (*topo_state_cb)(void *userdata, topo_client_state state, const char *service_id);

typedef struct topo_options {
    /* Server addresses "host:port" ("[::1]:50053" for IPv6), tried in order; NULL/0 means
     * {"127.0.0.1:50053"}. */
    const char *const *addresses;
    size_t addresses_count;
    int connect_timeout_ms;       /* per address; 0 = 2000 */
    int io_timeout_ms;            /* wait for a reply / a blocked send; 0 = 5000 */
    int reconnect_min_ms;         /* first backoff delay; 0 = 20 */
    int reconnect_max_ms;         /* backoff cap; 0 = half the heartbeat interval, 100 to 5000 */
    int watch_idle_timeout_ms;    /* a watch stream silent this long means a dead connection:
                                   * it is dropped and recovered; 0 = 30000. Keep it above the
                                   * server's --progress-interval-ms (5000) */
    uint32_t max_frame_bytes;     /* largest frame accepted from the server; 0 =
                                   * TOPO_DEFAULT_MAX_FRAME_BYTES (128 MiB). A larger frame drops the
                                   * connection (TOPO_ETOOBIG); a watch it was for ends (see
                                   * topo_watch_start) */
    bool collect_process_metrics; /* without a metrics_cb: send this process's CPU% and RSS */
    topo_health_cb health_cb;
    topo_metrics_cb metrics_cb;
    topo_state_cb state_cb;
    void *userdata;               /* passed to the three callbacks */
    /* The token of a server run with --auth-token-file (without the file's trailing newline), or
     * NULL. Sent first on every connection and reconnection, before anything else; copied. A
     * refused token fails topo_client_connect() with TOPO_EAUTH, and later reconnections keep
     * trying with backoff (last error and last status 16 say why). No TLS: see docs/security.md. */
    const char *auth_token;
} topo_options;

/* Fills *options with the defaults (all zero). Thread-safe (touches only *options). */
void topo_options_init(topo_options *options);

/* Creates a client and connects to the first address that accepts. On success *out is a client
 * that the caller must release with topo_client_close(). No server reachable is not a failure: the
 * client starts DISCONNECTED (the last error says why) and connects in the background once it has
 * work (a registration, a watch); topo_get_topology() tries again itself. On failure (TOPO_EINVAL
 * for a bad address, TOPO_EAUTH, TOPO_ENOMEM, TOPO_ESYS) *out is NULL and no thread was left
 * running. options may be NULL (defaults). Thread-safe. */
TOPO_MUST_CHECK int topo_client_connect(const topo_options *options, topo_client **out);

/* Stops the threads, closes the connection and frees the client (after closing every watch still
 * open on it). It does not unregister: call topo_unregister() first for a clean exit. Must be the
 * last call on this client; not from a callback. NULL is allowed. */
void topo_client_close(topo_client *client);

/* What the service registers as. Strings are copied. NULL fields are omitted. */
typedef struct topo_service_info {
    const char *name;             /* required, 1..256 bytes */
    int32_t type;                 /* TOPO_SERVICE_TYPE_* */
    int32_t language;             /* TOPO_LANG_*, e.g. TOPO_LANG_C */
    const char *version, *address, *host;
    const topo_metadata *metadata; /* optional; its strings are copied */
    /* Optional free-form labels, copied; a key given twice keeps its last value. TOPO_EINVAL for a
     * NULL key or value or one that is not UTF-8. The server refuses (TOPO_ESTATUS,
     * INVALID_ARGUMENT, topo_client_last_error says which) more than 64 labels, an empty key, a
     * key over 128 bytes or with '=' or a control character, a value over 256 bytes or with a
     * control character. */
    const topo_label *labels;
    size_t labels_count;
} topo_service_info;

/* Registers the service and starts background heartbeats at the interval the server returned.
 * When no server address accepts a connection it returns TOPO_OK at once: the state is
 * TOPO_CLIENT_RECOVERING, the service id "" and the keeper registers as soon as a server listens
 * (the backoff of a reconnection: within half the server's default interval, 2.5 s, or
 * reconnect_max_ms); topo_report_call() works meanwhile (calls are kept, see there). TOPO_EINVAL
 * with a message (topo_client_last_error) for a NULL, empty, all-whitespace or over-256-byte name;
 * TOPO_ESTATUS when the server refuses the registration. One service per client: TOPO_ESTATE if one
 * is registered (or waiting to be) already. Blocks up to io_timeout. Thread-safe. */
TOPO_MUST_CHECK int topo_register(topo_client *client, const topo_service_info *info);

/* Unregisters the service (the node is removed at once), stops heartbeats, and flushes pending
 * activity first. A registration still waiting for a server is given up (TOPO_OK, its kept calls
 * dropped). TOPO_ESTATE if none is registered. Blocks up to io_timeout. Thread-safe. */
TOPO_MUST_CHECK int topo_unregister(topo_client *client);

/* Records one call this service made to `target` (a service name, interface::role, or address)
 * with `method` (may be NULL), its latency in milliseconds and whether it succeeded. No I/O: calls
 * are aggregated in memory per (target, method) and flushed by the keeper thread every
 * activity-flush period (from the server's handle), each pair as one ReportActivity call with
 * batch_size, error_count and a LatencyHistogram (GAMMA 1.02 buckets, so percentiles survive the
 * batching). Costs a length and UTF-8 check, one mutex (no system call unless contended) and a
 * binary search: 140-390 ns on one thread in `make bench` on a busy 2-core machine.
 * Calls are kept while the connection is down (or before a server was first reached) and sent
 * after registration, those from before it with timestamp_ms = the time of the first of them (the
 * server counts them where they were made, not in the rate of the moment); they are lost only if a
 * connection dies after their report left (at most once, never counted twice), or if the server
 * refuses their report (counted in calls_dropped, see topo_client_stats).
 * TOPO_EINVAL for a NULL or empty target, or a target or method over TOPO_MAX_REPORT_STRING_BYTES
 * or not valid UTF-8 (the server would refuse it); TOPO_ESTATE if no service is registered;
 * TOPO_ELIMIT past 4096 distinct pending pairs or 2^31-1 calls in one pair. Thread-safe. */
TOPO_MUST_CHECK int topo_report_call(topo_client *client, const char *target, const char *method,
                                     double latency_ms, bool ok);

/* Sends every pending activity aggregate now (normally done every flush period). TOPO_ESTATE
 * while not registered or recovering (the aggregates are kept). Thread-safe. */
TOPO_MUST_CHECK int topo_flush(topo_client *client);

/* One snapshot of the topology (query may be NULL). On success *out is the caller's; release it
 * with topo_snapshot_free(). Blocks up to io_timeout. Thread-safe. */
TOPO_MUST_CHECK int topo_get_topology(topo_client *client, const topo_query *query,
                                      topo_snapshot **out);

/* Current state. Thread-safe. */
topo_client_state topo_client_state_get(topo_client *client);

/* Copies the registered service id ("" if none) into buf (NUL-terminated, truncated to len).
 * Returns the id's length. Thread-safe. */
size_t topo_client_service_id(topo_client *client, char *buf, size_t len);

/* Copies the client's last error message into buf (NUL-terminated, truncated). Thread-safe. */
void topo_client_last_error(topo_client *client, char *buf, size_t len);

/* The gRPC status code of the last error Status the server sent (0 if none). Thread-safe. */
int32_t topo_client_last_status(topo_client *client);

/* Counters, for tests and monitoring. Thread-safe snapshot. */
typedef struct topo_client_stats {
    uint64_t heartbeats_sent, heartbeats_acked;
    uint64_t reconnects;        /* successful connections after the first */
    uint64_t registrations;     /* successful registrations, re-registrations included */
    uint64_t activity_reports;  /* ReportActivityRequest frames sent */
    uint64_t calls_reported;    /* calls topo_report_call() took (returned TOPO_OK) */
    /* Calls lost and known to be lost: refused by topo_report_call() with TOPO_ELIMIT or
     * TOPO_ENOMEM; calls whose report the server answered with an error Status (e.g.
     * RESOURCE_EXHAUSTED past --max-edges-per-service, INVALID_ARGUMENT for a string over its
     * --max-string-bytes; the last error and last status say which); and calls a flush could not
     * send that found no room back among the 4096 pending pairs. Calls waiting while the
     * connection is down are not lost: they are sent after recovery. A report on the wire when
     * the connection died is in neither counter: its fate is unknown. */
    uint64_t calls_dropped;
    /* Connections dropped because the server went silent: no heartbeat answer for interval x
     * multiplier (at least io_timeout_ms), or a watch stream quiet for watch_idle_timeout_ms. */
    uint64_t silent_drops;
} topo_client_stats;
void topo_client_get_stats(topo_client *client, topo_client_stats *out);

/* ---------------------------------------------------------------------------------------------- */
/* Watch                                                                                           */
/* ---------------------------------------------------------------------------------------------- */

typedef struct topo_watch topo_watch;

/* Receives each update; ownership passes to the callback, which must topo_update_free() it. Runs
 * on the watch's own thread, one update at a time, in order. */
typedef void (*topo_update_cb)(void *userdata, topo_update *update);

/* Subscribes with query (NULL = everything). With cb, updates are delivered to cb on a thread of
 * the watch; without cb, the caller takes them with topo_watch_next(). The first update is a
 * SNAPSHOT. After a lost connection the watch re-subscribes by itself, resuming after the last
 * revision it received (the server replays, or sends a SNAPSHOT with resync set). Updates waiting
 * for delivery are bounded (4096 updates, 64 MiB of wire bytes); past that, the queue is dropped
 * and the watch resubscribes, and the next update delivered is a SNAPSHOT with resync set.
 * The watch ends (no more updates, no resubscribing; topo_watch_status() says why) when the
 * server refuses it with an error Status other than UNAVAILABLE or RESOURCE_EXHAUSTED
 * (TOPO_ESTATUS, TOPO_ENOTFOUND), or sends it a frame over max_frame_bytes (TOPO_ETOOBIG: the
 * connection is dropped and the client reconnects for its other work, but resubscribing would
 * only fetch the same too-big snapshot again; raise max_frame_bytes or narrow the query). A
 * too-big frame whose call id had not arrived with its length counts as the frame of every watch
 * subscribed on that connection. Returns once the request is sent. Thread-safe. */
TOPO_MUST_CHECK int topo_watch_start(topo_client *client, const topo_query *query,
                                     topo_update_cb cb, void *userdata, topo_watch **out);

/* The next update, waiting up to timeout_ms (-1 = forever). On TOPO_OK *out is the caller's.
 * TOPO_ETIMEDOUT when none came, TOPO_ESTATE for a callback watch or a closed client, and the
 * watch's error once it ended and every update queued before was taken (see topo_watch_status).
 * Thread-safe (one consumer at a time gets each update). */
TOPO_MUST_CHECK int topo_watch_next(topo_watch *watch, int timeout_ms, topo_update **out);

/* TOPO_OK while the watch is live, or the error that ended it: TOPO_ETOOBIG, TOPO_ESTATUS or
 * TOPO_ENOTFOUND (the last error of its client has the sentence). For a callback watch this is
 * the only way to learn it ended. Thread-safe. */
int topo_watch_status(topo_watch *watch);

/* Cancels the subscription (end_of_stream to the server), frees pending updates and the watch.
 * Must be the last call on the watch; not from its callback. NULL is allowed. */
void topo_watch_close(topo_watch *watch);

#ifdef __cplusplus
}
#endif
#endif /* TOPOLOGY_H */
