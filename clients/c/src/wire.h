/*
 * wire.h - internal: the runtime.v1 messages the client sends and receives, as plain structs
 * described for the codec in pb.h (see messages.c), plus framing (frame.c).
 */
#ifndef TOPO_WIRE_H
#define TOPO_WIRE_H

#include "../include/topology.h"
#include "pb.h"

typedef struct w_register_req {
    char *service_name;
    int32_t service_type;
    int32_t language;
    char *version, *address, *host;
    bool has_metadata;
    topo_metadata metadata;
    char *service_id; /* optional, field 20 */
    topo_label *labels; /* map, field 21 */
    size_t labels_count;
} w_register_req;

typedef struct w_handle {
    char *service_id;
    int32_t heartbeat_interval_ms;
    int32_t timeout_multiplier;
    char *server_epoch;
    int32_t activity_flush_ms;
} w_handle;

typedef struct w_register_resp {
    bool has_handle;
    w_handle handle;
} w_register_resp;

typedef struct w_heartbeat_req {
    char *service_id;
    int64_t sequence;
    bool has_metrics;
    topo_metrics metrics;
    bool has_health;
    topo_health health;
} w_heartbeat_req;

typedef struct w_heartbeat_resp {
    int64_t sequence;
    bool acknowledged;
    char *server_epoch;
} w_heartbeat_resp;

typedef struct w_histogram {
    int32_t *indexes;
    size_t indexes_count;
    uint64_t *counts;
    size_t counts_count;
    uint64_t zero_count;
} w_histogram;

typedef struct w_activity_req {
    char *service_id;
    char *target_service;
    int32_t type;
    bool has_timestamp_ms;
    int64_t timestamp_ms;
    bool has_latency_ms;
    int32_t latency_ms;
    char *method;
    bool has_success;
    bool success;
    bool has_batch_size;
    int32_t batch_size;
    char *error_message;
    bool has_latency_histogram;
    w_histogram latency_histogram;
    bool has_error_count;
    int32_t error_count;
} w_activity_req;

typedef struct w_activity_resp {
    bool acknowledged;
    int64_t accepted_events;
} w_activity_resp;

typedef struct w_unregister_req {
    char *service_id;
} w_unregister_req;

typedef struct w_unregister_resp {
    bool removed;
} w_unregister_resp;

typedef struct w_query {
    char **service_names;
    size_t service_names_count;
    bool include_idle;
    bool include_stale;
    int32_t *states;
    size_t states_count;
    char **environments;
    size_t environments_count;
    char **teams;
    size_t teams_count;
    char **regions;
    size_t regions_count;
    char **label_selectors;
    size_t label_selectors_count;
} w_query;

typedef struct w_get_req {
    bool has_query;
    w_query query;
} w_get_req;

typedef struct w_get_resp {
    bool has_snapshot;
    topo_snapshot snapshot;
} w_get_resp;

typedef struct w_watch_req {
    bool has_query;
    w_query query;
    bool has_resume_after_revision;
    uint64_t resume_after_revision;
    char *resume_server_epoch;
} w_watch_req;

typedef struct w_watch_resp {
    bool has_update;
    topo_update update;
} w_watch_resp;

/* The handshake of a server run with --auth-token-file (Topology addition). */
typedef struct w_auth_req {
    char *token;
} w_auth_req;

typedef struct w_auth_resp {
    bool authenticated;
} w_auth_resp;

typedef struct w_status {
    int32_t code;
    char *message;
} w_status;

/* Frame.message oneof cases (the field numbers). */
enum {
    W_NONE = 0,
    W_REGISTER_REQ = 10, W_REGISTER_RESP = 11, W_HEARTBEAT_REQ = 12, W_HEARTBEAT_RESP = 13,
    W_ACTIVITY_REQ = 14, W_ACTIVITY_RESP = 15, W_UNREGISTER_REQ = 16, W_UNREGISTER_RESP = 17,
    W_GET_REQ = 18, W_GET_RESP = 19, W_WATCH_REQ = 20, W_WATCH_RESP = 21, W_AUTH_REQ = 22,
    W_AUTH_RESP = 23
};

typedef struct w_frame {
    uint64_t call_id;
    bool end_of_stream;
    bool has_status;
    w_status status;
    uint32_t which; /* W_* */
    union {
        w_register_req register_req;
        w_register_resp register_resp;
        w_heartbeat_req heartbeat_req;
        w_heartbeat_resp heartbeat_resp;
        w_activity_req activity_req;
        w_activity_resp activity_resp;
        w_unregister_req unregister_req;
        w_unregister_resp unregister_resp;
        w_get_req get_req;
        w_get_resp get_resp;
        w_watch_req watch_req;
        w_watch_resp watch_resp;
        w_auth_req auth_req;
        w_auth_resp auth_resp;
    } u;
} w_frame;

extern const pb_msgdesc w_metadata_desc, w_metrics_desc, w_health_desc, w_register_req_desc,
    w_handle_desc, w_register_resp_desc, w_heartbeat_req_desc, w_heartbeat_resp_desc,
    w_histogram_desc, w_activity_req_desc, w_activity_resp_desc, w_unregister_req_desc,
    w_unregister_resp_desc, w_query_desc, w_get_req_desc, w_get_resp_desc, w_watch_req_desc,
    w_watch_resp_desc, w_snapshot_desc, w_node_desc, w_edge_desc, w_update_desc, w_auth_req_desc,
    w_auth_resp_desc, w_status_desc, w_frame_desc;

/* Every message of the schema (for tools that choose one at run time: tests, the fuzz target). */
extern const pb_msgdesc *const w_all_descs[];
extern const size_t w_all_descs_count;

/* The descriptor of a message by its full name ("runtime.v1.Frame"), NULL if unknown. */
const pb_msgdesc *w_desc_by_name(const char *name);

/* ------------------------------------------------------------------------------------------- */
/* Framing: varint length (at most 5 bytes) + Frame. The reader is I/O free: feed bytes, take  */
/* frames. After an error it stays failed (a stream that cannot be parsed is not resumed).      */
/* ------------------------------------------------------------------------------------------- */

typedef enum frame_err {
    FRAME_OK = 0,
    FRAME_NEED_MORE = 1,   /* not an error: no complete frame yet */
    FRAME_ERR_LENGTH = -1, /* length prefix longer than 5 bytes */
    FRAME_ERR_TOO_BIG = -2,
    FRAME_ERR_DECODE = -3, /* the body is not a valid Frame */
    FRAME_ERR_NOMEM = -4
} frame_err;

typedef struct frame_reader {
    uint8_t *buf;
    size_t len, cap, pos;
    uint32_t max_frame;
    frame_err failed;
    pb_status decode_status; /* detail of FRAME_ERR_DECODE */
    uint64_t announced;      /* detail of FRAME_ERR_TOO_BIG: the prefix up to the byte over the limit */
    uint64_t big_call_id;    /* FRAME_ERR_TOO_BIG: the frame's call_id when its whole prefix and first
                              * body bytes (field 1, which encoders write first) were already
                              * buffered; else 0 */
    size_t last_len;         /* body size of the frame frame_reader_next returned last */
} frame_reader;

/* max_frame 0 = TOPO_DEFAULT_MAX_FRAME_BYTES. */
void frame_reader_init(frame_reader *r, uint32_t max_frame);
void frame_reader_free(frame_reader *r);
/* Appends bytes read from the stream. */
frame_err frame_reader_feed(frame_reader *r, const void *data, size_t n)
    __attribute__((warn_unused_result));
/* On FRAME_OK, *out (zeroed by the caller or freed before) holds the next frame: pb_free it. */
frame_err frame_reader_next(frame_reader *r, w_frame *out) __attribute__((warn_unused_result));
/* A sentence describing the reader's error. */
void frame_reader_describe(const frame_reader *r, char *buf, size_t len);

/* Encodes length + frame into a malloc'd buffer; NULL on out of memory. */
uint8_t *frame_encode(const w_frame *f, size_t *len_out);

#endif
