/* client_internal.h - the client object shared by the files that implement it (see the map below).
 *
 * Files
 *   client.c        life cycle: options, connect, close, the getters
 *   connection.c    connecting (failover over the addresses), sending, unary calls, losing the
 *                   connection
 *   reader.c        the reader thread: reads frames and dispatches them by call_id
 *   keeper.c        the keeper thread: reconnects with backoff, re-registers, resubscribes, sends
 *                   heartbeats (and reads their answers), schedules activity flushes, drops a
 *                   silent connection
 *   registration.c  register and unregister
 *   activity.c      report_call, flushes (one call per report) and their answers
 *   query.c         get_topology and the query copy it shares with watches
 *   watch.c         watches: subscription, the update queue, the callback thread
 *   error.c         error names, the last-error message, server Statuses
 *
 * Threads and locks
 *   mu   guards every field of the client and its watches; cv (monotonic) is broadcast on any
 *        change that someone may wait for (reply arrived, connection up/down, update queued ...).
 *   wmu  serialises writes and guards the socket's lifetime: only the reader thread closes the
 *        fd, holding mu then wmu. Any thread that sees a write fail calls shutdown(), which wakes
 *        the reader, which then tears the connection down. Lock order: mu before wmu.
 *   reader  reads, decodes, dispatches frames by call_id (unary replies, heartbeat acks, watch
 *           updates); after any read or protocol error it drops the connection.
 *   keeper  connects with backoff and jitter, re-registers, re-subscribes watches, sends
 *           heartbeats and flushes activity.
 * Unless a comment says otherwise, every function declared here is called with mu held.
 */
#ifndef TOPO_CLIENT_INTERNAL_H
#define TOPO_CLIENT_INTERNAL_H

#include "internal.h"

#define GRPC_NOT_FOUND 5
#define GRPC_UNAUTHENTICATED 16

typedef struct pending {
    uint64_t call_id;
    bool done;
    int result;
    w_frame reply;
    struct pending *next;
} pending;

/* An activity report sent on its own call and not answered yet: how many calls it stands for. */
typedef struct act_call {
    uint64_t call_id;
    uint64_t calls;
} act_call;

typedef struct qnode {
    topo_update *u;
    size_t bytes;
    struct qnode *next;
} qnode;

struct topo_watch {
    topo_client *c;
    w_query query;
    uint64_t call_id;          /* current subscription, 0 = needs (re)subscribing */
    uint64_t cancel_call_id;   /* a subscription dropped locally: end it on the server */
    bool have_revision;
    uint64_t last_revision;
    char *epoch;               /* server epoch the revisions belong to */
    bool next_snapshot_resync; /* after a local overflow */
    int64_t last_rx;           /* when the current subscription was sent or last heard from */
    qnode *head, *tail;
    size_t qlen, qbytes;
    int failed;                /* why the watch ended: TOPO_ESTATUS/ENOTFOUND (refused), ETOOBIG */
    bool closing;
    topo_update_cb cb;
    void *userdata;
    pthread_t thread;
    bool has_thread;
    struct topo_watch *next;
};

struct topo_client {
    /* options */
    char **addresses;
    size_t addresses_count;
    int connect_timeout_ms, io_timeout_ms, reconnect_min_ms, reconnect_max_ms, watch_idle_ms;
    uint32_t max_frame;
    bool process_metrics;
    topo_health_cb health_cb;
    topo_metrics_cb metrics_cb;
    topo_state_cb state_cb;
    void *userdata;
    char *auth_token;    /* pb_strdup'd; NULL: the server requires none */

    pthread_mutex_t mu, wmu;
    pthread_cond_t cv;
    pthread_t reader, keeper;

    int fd;
    uint64_t gen;        /* incremented on each new connection */
    size_t addr_index;   /* the address that worked last: tried first */
    bool connecting;
    bool closing;
    topo_client_state state;
    topo_client_state notified_state; /* last state given to state_cb */
    uint64_t next_call_id;
    pending *pendings;

    /* the service */
    bool registered;     /* the application registered and did not unregister */
    bool need_register;  /* NOT_FOUND, new epoch or new connection: register again */
    w_register_req reg;  /* what to register (deep copy); reg.service_id unused */
    char *service_id;
    char *epoch;
    int32_t interval_ms, flush_ms, multiplier;
    int64_t last_hb_answer; /* when the heartbeat stream was last answered (or registered) */
    uint64_t registration_era; /* the aggregator's era of the last registration: calls recorded
                                * in an older one were kept while no server had the service */
    uint64_t hb_call_id;
    int64_t hb_seq;
    int64_t next_hb, next_flush, next_connect, next_register;
    int backoff_ms;
    uint64_t rng;
    double last_cpu_s;
    int64_t last_cpu_at;

    aggregator agg;
    act_call *acts;      /* reports awaiting their answer, oldest first, from acts_head */
    size_t acts_head, acts_len, acts_cap;
    topo_watch *watches;

    char last_error[400];  /* room for a server's sentence, e.g. an HTTP port naming the frames port */
    char drop_reason[400]; /* why the connection is being dropped, when we know better than EOF */
    int drop_err;          /* the error its pending calls get, when we know better than ECLOSED */
    int32_t last_status;
    topo_client_stats stats;
};

/* ---- error.c ------------------------------------------------------------------------------ */

/* Sets the last error. */
void client_set_error(topo_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records a server Status as the last status and error ("what: server status N: message");
 * returns TOPO_ENOTFOUND for NOT_FOUND, else TOPO_ESTATUS. */
int client_status_error(topo_client *c, const w_status *st, const char *what);

/* ---- client.c ----------------------------------------------------------------------------- */

/* The state callback is called later by the keeper thread, without the lock. */
void client_set_state(topo_client *c, topo_client_state s);

/* ---- connection.c ------------------------------------------------------------------------- */

/* Tries every address once, starting with the last one that worked (mu released meanwhile);
 * TOPO_OK at once when connected. */
int connection_open(topo_client *c);
/* Called by the reader when the connection of generation gen it read from is over: closes it and
 * fails the calls waiting on it with err (or drop_err), with why (or drop_reason) as last error. */
void connection_lost(topo_client *c, uint64_t gen, int err, const char *why);
/* Shuts the socket down, if any: the reader wakes and tears the connection down. */
void connection_shutdown(topo_client *c);
/* Encodes f, then sends it (mu released and re-taken) if the connection is still generation gen
 * (0: any). */
int connection_send_frame(topo_client *c, const w_frame *f, uint64_t gen);
/* Ends the stream on call_id (a frame with end_of_stream only); a failure to send needs no
 * handling: the connection, and the call with it, is being dropped. */
void connection_end_call(topo_client *c, uint64_t call_id);
/* A unary call (mu released while waiting). req->call_id is assigned here. On TOPO_OK *reply
 * holds the response frame (pb_free it). */
int connection_call(topo_client *c, w_frame *req, uint32_t expect, w_frame *reply, const char *what);

/* ---- reader.c / keeper.c: the two threads (arg: the client; called without mu) ------------ */

void *reader_main(void *arg);
void *keeper_main(void *arg);
/* The answer on the heartbeat stream (f->call_id == hb_call_id). Called by the reader. */
void heartbeat_answer(topo_client *c, const w_frame *f);

/* ---- registration.c ----------------------------------------------------------------------- */

/* Registers c->reg (keeping c->service_id if any). */
int registration_send(topo_client *c);

/* ---- activity.c --------------------------------------------------------------------------- */

/* Sends each aggregate (target, method) as a ReportActivity call of its own; what could not be
 * sent goes back to the aggregator. */
int activity_flush(topo_client *c);
/* The answer to a report, if f is one: a refusal counts its calls as dropped. */
void activity_answer(topo_client *c, const w_frame *f);

/* ---- query.c / watch.c -------------------------------------------------------------------- */

/* Deep copy of a public query into the wire form (pb_free it). Called without mu. */
int query_copy(w_query *d, const topo_query *q);
/* Sends the watch's subscription (ending a dropped one first). Returns what sending the request
 * gave (TOPO_ESTATE: nothing to send now). */
int watch_subscribe(topo_client *c, topo_watch *w);
/* A frame for a watch's subscription, if f is one (returns false otherwise): takes its update
 * (bytes: its size on the wire) and notes an ended stream. */
bool watch_answer(topo_client *c, w_frame *f, size_t bytes);
/* A frame over max_frame_bytes arrived for call_id (0: not known): the watches it was for end. */
void watches_too_big(topo_client *c, uint64_t call_id, const char *why);

#endif
