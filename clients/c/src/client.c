/* client.c - the client: connection, calls, heartbeats, activity flushes, watches, recovery.
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
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_ADDRESS "127.0.0.1:50053"
#define WATCH_QUEUE_MAX 4096
#define WATCH_QUEUE_MAX_BYTES (64u * 1024 * 1024) /* wire bytes of the queued updates */
#define GRPC_NOT_FOUND 5
#define ACT_CALLS_MAX (4 * AGG_MAX_KEYS) /* unanswered activity reports remembered per connection */
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

    char last_error[256];
    char drop_reason[256]; /* why the connection is being dropped, when we know better than EOF */
    int drop_err;          /* the error its pending calls get, when we know better than ECLOSED */
    int32_t last_status;
    topo_client_stats stats;
};

/* ------------------------------------------------------------------------------------------- */

const char *topo_strerror(int err)
{
    switch (err) {
    case TOPO_OK: return "TOPO_OK: success";
    case TOPO_EINVAL: return "TOPO_EINVAL: invalid argument";
    case TOPO_ENOMEM: return "TOPO_ENOMEM: out of memory";
    case TOPO_ECONNECT: return "TOPO_ECONNECT: no server address accepted a connection";
    case TOPO_ETIMEDOUT: return "TOPO_ETIMEDOUT: timed out";
    case TOPO_ECLOSED: return "TOPO_ECLOSED: connection lost";
    case TOPO_EPROTO: return "TOPO_EPROTO: protocol violation by the server";
    case TOPO_ETOOBIG: return "TOPO_ETOOBIG: frame over the size limit";
    case TOPO_ESTATUS: return "TOPO_ESTATUS: the server returned an error status";
    case TOPO_ENOTFOUND: return "TOPO_ENOTFOUND: not found";
    case TOPO_ESTATE: return "TOPO_ESTATE: not valid in this state";
    case TOPO_ESYS: return "TOPO_ESYS: system call failed";
    case TOPO_ELIMIT: return "TOPO_ELIMIT: local limit reached";
    case TOPO_EAUTH: return "TOPO_EAUTH: the server refused the connection (missing or wrong auth_token)";
    }
    return "unknown topology error";
}

void topo_options_init(topo_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

void topo_snapshot_free(topo_snapshot *s)
{
    if (!s) return;
    pb_free(&w_snapshot_desc, s);
    free(s);
}

void topo_update_free(topo_update *u)
{
    if (!u) return;
    pb_free(&w_update_desc, u);
    free(u);
}

static char *dupstr(const char *s)
{
    char *d;
    if (!s) return NULL;
    d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

/* Sets the last error (mu held). */
static void set_error(topo_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
}

static uint32_t rnd(topo_client *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng >> 32);
}

/* mu held. The state callback is called later by the keeper thread, without the lock. */
static void set_state(topo_client *c, topo_client_state s)
{
    if (c->state == s || c->state == TOPO_CLIENT_CLOSED) return;
    c->state = s;
    pthread_cond_broadcast(&c->cv);
}

/* ------------------------------------------------------------------------------------------- */
/* Sending                                                                                     */
/* ------------------------------------------------------------------------------------------- */

/* Sends encoded bytes on the current connection if it is still generation gen (0: any). */
static int send_bytes(topo_client *c, const uint8_t *buf, size_t len, uint64_t gen)
{
    int rc;
    pthread_mutex_lock(&c->wmu);
    if (c->fd < 0 || (gen && gen != c->gen)) {
        pthread_mutex_unlock(&c->wmu);
        return TOPO_ECLOSED;
    }
    rc = net_send_all(c->fd, buf, len);
    if (rc != TOPO_OK) shutdown(c->fd, SHUT_RDWR); /* the reader tears it down */
    pthread_mutex_unlock(&c->wmu);
    return rc;
}

/* Encodes (mu held) then sends (mu released and re-taken). */
static int send_frame_locked(topo_client *c, const w_frame *f, uint64_t gen)
{
    size_t len;
    uint8_t *buf = frame_encode(f, &len);
    int rc;
    if (!buf) return TOPO_ENOMEM;
    pthread_mutex_unlock(&c->mu);
    rc = send_bytes(c, buf, len, gen);
    pthread_mutex_lock(&c->mu);
    free(buf);
    return rc;
}

static int status_to_error(topo_client *c, const w_status *st, const char *what)
{
    c->last_status = st->code;
    set_error(c, "%s: server status %d: %s", what, (int)st->code, st->message ? st->message : "");
    return st->code == GRPC_NOT_FOUND ? TOPO_ENOTFOUND : TOPO_ESTATUS;
}

/* A unary call (mu held, released while waiting). req->call_id is assigned here. On TOPO_OK
 * *reply holds the response frame (pb_free it). */
static int call_unary(topo_client *c, w_frame *req, uint32_t expect, w_frame *reply, const char *what)
{
    pending p, **pp;
    int rc;
    int64_t deadline;
    if (c->closing) return TOPO_ESTATE;
    if (c->fd < 0) {
        set_error(c, "%s: not connected", what);
        return TOPO_ECLOSED;
    }
    memset(&p, 0, sizeof p);
    p.call_id = req->call_id = ++c->next_call_id;
    p.next = c->pendings;
    c->pendings = &p;
    rc = send_frame_locked(c, req, c->gen);
    deadline = mono_ms() + c->io_timeout_ms;
    while (rc == TOPO_OK && !p.done && !c->closing && mono_ms() < deadline)
        cond_wait_until(&c->cv, &c->mu, deadline);
    for (pp = &c->pendings; *pp; pp = &(*pp)->next)
        if (*pp == &p) {
            *pp = p.next;
            break;
        }
    if (rc != TOPO_OK) {
        set_error(c, "%s: sending failed: %s", what, topo_strerror(rc));
    } else if (!p.done) {
        rc = c->closing ? TOPO_ESTATE : TOPO_ETIMEDOUT;
        set_error(c, "%s: no reply within %d ms", what, c->io_timeout_ms);
    } else if (p.result != TOPO_OK) {
        rc = p.result; /* the reader set the message */
    } else if (p.reply.has_status && p.reply.status.code != 0) {
        rc = status_to_error(c, &p.reply.status, what);
    } else if (p.reply.which != expect) {
        rc = TOPO_EPROTO;
        set_error(c, "%s: unexpected reply (message %u, expected %u)", what, p.reply.which, expect);
        snprintf(c->drop_reason, sizeof c->drop_reason, "%s", c->last_error);
        pthread_mutex_lock(&c->wmu); /* never reuse a connection after a protocol error */
        if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
        pthread_mutex_unlock(&c->wmu);
    }
    if (rc == TOPO_OK) *reply = p.reply;
    else pb_free(&w_frame_desc, &p.reply);
    return rc;
}

/* ------------------------------------------------------------------------------------------- */
/* Connecting                                                                                  */
/* ------------------------------------------------------------------------------------------- */

/* mu held. Tries every address once, starting with the last one that worked. */
static int connect_once(topo_client *c)
{
    size_t i, n = c->addresses_count, start;
    int fd = TOPO_ECONNECT;
    char err[200] = "";
    while (c->connecting && !c->closing) cond_wait_until(&c->cv, &c->mu, -1);
    if (c->closing) return TOPO_ESTATE;
    if (c->fd >= 0) return TOPO_OK;
    c->connecting = true;
    start = c->addr_index;
    for (i = 0; i < n; i++) {
        size_t k = (start + i) % n;
        char *addr = c->addresses[k];
        int timeout = c->connect_timeout_ms, io = c->io_timeout_ms;
        uint64_t auth_call = c->auth_token ? ++c->next_call_id : 0;
        int32_t status = 0;
        pthread_mutex_unlock(&c->mu);
        fd = net_connect(addr, timeout, io, err, sizeof err);
        if (fd >= 0 && c->auth_token) { /* before the connection is published: nothing else is sent */
            int rc = auth_handshake(fd, c->auth_token, auth_call, io, c->max_frame, &status, err, sizeof err);
            if (rc != TOPO_OK) {
                close(fd);
                fd = rc;
            }
        }
        pthread_mutex_lock(&c->mu);
        if (status) c->last_status = status;
        if (fd >= 0) {
            c->addr_index = k;
            break;
        }
        if (fd == TOPO_EAUTH) break; /* the token, not the address: the next one would refuse it too */
    }
    c->connecting = false;
    pthread_cond_broadcast(&c->cv);
    if (fd < 0) {
        set_error(c, "%s", err);
        return fd;
    }
    if (c->closing) {
        close(fd);
        return TOPO_ESTATE;
    }
    pthread_mutex_lock(&c->wmu);
    c->fd = fd;
    c->gen++;
    pthread_mutex_unlock(&c->wmu);
    if (c->gen > 1) c->stats.reconnects++;
    c->backoff_ms = c->reconnect_min_ms;
    c->hb_call_id = 0;
    if (c->registered) c->need_register = true;
    {
        topo_watch *w;
        for (w = c->watches; w; w = w->next) w->call_id = 0;
    }
    pthread_cond_broadcast(&c->cv);
    set_state(c, c->registered ? TOPO_CLIENT_RECOVERING : TOPO_CLIENT_CONNECTED);
    return TOPO_OK;
}

/* mu held: called by the reader when the connection it read from is over. */
static void connection_lost(topo_client *c, uint64_t gen, int err, const char *why)
{
    pending *p;
    topo_watch *w;
    if (gen != c->gen || c->fd < 0) return;
    pthread_mutex_lock(&c->wmu);
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&c->wmu);
    if (!c->closing) set_error(c, "%s", c->drop_reason[0] ? c->drop_reason : why);
    c->drop_reason[0] = '\0';
    if (c->drop_err) err = c->drop_err;
    c->drop_err = 0;
    for (p = c->pendings; p; p = p->next)
        if (!p->done) {
            p->done = true;
            p->result = err;
        }
    c->hb_call_id = 0;
    c->acts_head = c->acts_len = 0; /* reports on the wire: at most once, their fate unknown */
    for (w = c->watches; w; w = w->next) w->call_id = w->cancel_call_id = 0;
    c->next_connect = mono_ms(); /* first retry at once, then backoff */
    pthread_cond_broadcast(&c->cv);
    set_state(c, c->registered ? TOPO_CLIENT_RECOVERING : TOPO_CLIENT_DISCONNECTED);
}

/* ------------------------------------------------------------------------------------------- */
/* Activity answers: each report is its own call, so a refusal names the calls it stands for    */
/* ------------------------------------------------------------------------------------------- */

/* mu held. Remembers a report about to be sent. Past ACT_CALLS_MAX unanswered reports (a server
 * that does not answer) the oldest is forgotten: its fate stays unknown, as after a lost
 * connection. Out of memory: not remembered, same outcome. */
static void act_track(topo_client *c, uint64_t call_id, uint64_t calls)
{
    if (c->acts_len == c->acts_cap && c->acts_head > 0) {
        memmove(c->acts, c->acts + c->acts_head, (c->acts_len - c->acts_head) * sizeof *c->acts);
        c->acts_len -= c->acts_head;
        c->acts_head = 0;
    }
    if (c->acts_len == c->acts_cap) {
        size_t cap = c->acts_cap ? c->acts_cap * 2 : 64;
        act_call *n = cap <= ACT_CALLS_MAX ? realloc(c->acts, cap * sizeof *n) : NULL;
        if (n) {
            c->acts = n;
            c->acts_cap = cap;
        } else if (c->acts_len > 0) {
            memmove(c->acts, c->acts + 1, (c->acts_len - 1) * sizeof *c->acts);
            c->acts_len--;
        } else {
            return;
        }
    }
    c->acts[c->acts_len].call_id = call_id;
    c->acts[c->acts_len].calls = calls;
    c->acts_len++;
}

/* mu held. Forgets the report on call_id (one that could not be sent). */
static void act_untrack(topo_client *c, uint64_t call_id)
{
    size_t i;
    for (i = c->acts_head; i < c->acts_len; i++)
        if (c->acts[i].call_id == call_id) {
            memmove(c->acts + i, c->acts + i + 1, (c->acts_len - i - 1) * sizeof *c->acts);
            c->acts_len--;
            break;
        }
    if (c->acts_head == c->acts_len) c->acts_head = c->acts_len = 0;
}

/* mu held. The answer to a report, if f is one: a refusal counts its calls as dropped. The server
 * answers in order, so the match is nearly always the oldest entry. */
static void activity_answer(topo_client *c, const w_frame *f)
{
    size_t i;
    for (i = c->acts_head; i < c->acts_len; i++) {
        if (c->acts[i].call_id != f->call_id) continue;
        if (f->has_status && f->status.code != 0) {
            agg_note_dropped(&c->agg, c->acts[i].calls);
            (void)status_to_error(c, &f->status, "report activity");
        }
        if (i == c->acts_head) c->acts_head++;
        else act_untrack(c, f->call_id);
        if (c->acts_head == c->acts_len) c->acts_head = c->acts_len = 0;
        return;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Reader                                                                                      */
/* ------------------------------------------------------------------------------------------- */

static void watch_push(topo_client *c, topo_watch *w, topo_update *u, size_t bytes)
{
    qnode *q;
    if (u->type == TOPO_UPDATE_SNAPSHOT && w->next_snapshot_resync) {
        u->resync = true;
        w->next_snapshot_resync = false;
    }
    if (w->qlen >= WATCH_QUEUE_MAX || (w->qlen > 0 && w->qbytes + bytes > WATCH_QUEUE_MAX_BYTES)) {
        /* the application is not keeping up: drop everything, start again from a snapshot */
        qnode *n = w->head;
        while (n) {
            qnode *next = n->next;
            topo_update_free(n->u);
            free(n);
            n = next;
        }
        w->head = w->tail = NULL;
        w->qlen = w->qbytes = 0;
        w->have_revision = false;
        w->next_snapshot_resync = true;
        w->cancel_call_id = w->call_id;
        w->call_id = 0; /* keeper resubscribes; frames on the old call are ignored */
        topo_update_free(u);
        pthread_cond_broadcast(&c->cv);
        return;
    }
    q = malloc(sizeof *q);
    if (!q) {
        topo_update_free(u);
        w->call_id = 0;
        w->have_revision = false;
        w->next_snapshot_resync = true;
        return;
    }
    q->u = u;
    q->bytes = bytes;
    q->next = NULL;
    if (w->tail) w->tail->next = q;
    else w->head = q;
    w->tail = q;
    w->qlen++;
    w->qbytes += bytes;
    pthread_cond_broadcast(&c->cv);
}

/* mu held. Takes ownership of f's contents; bytes is its size on the wire. */
static void dispatch(topo_client *c, w_frame *f, size_t bytes)
{
    pending *p;
    topo_watch *w;
    if (f->call_id == 0) {
        if (f->has_status) {
            c->last_status = f->status.code;
            set_error(c, "server closed the connection: status %d: %s", (int)f->status.code,
                      f->status.message ? f->status.message : "");
            snprintf(c->drop_reason, sizeof c->drop_reason, "%s", c->last_error);
            if (f->status.code == GRPC_UNAUTHENTICATED) c->drop_err = TOPO_EAUTH;
        }
        pb_free(&w_frame_desc, f);
        return;
    }
    for (p = c->pendings; p; p = p->next)
        if (p->call_id == f->call_id && !p->done) {
            p->reply = *f;
            memset(f, 0, sizeof *f);
            p->done = true;
            p->result = TOPO_OK;
            pthread_cond_broadcast(&c->cv);
            return;
        }
    if (f->call_id == c->hb_call_id) {
        c->last_hb_answer = mono_ms();
        if (f->has_status && f->status.code == GRPC_NOT_FOUND) {
            c->need_register = c->registered;
            c->hb_call_id = 0;
        } else if (f->which == W_HEARTBEAT_RESP) {
            const w_heartbeat_resp *r = &f->u.heartbeat_resp;
            if (!r->acknowledged) {
                c->need_register = c->registered;
            } else if (r->server_epoch && r->server_epoch[0] && c->epoch &&
                       strcmp(r->server_epoch, c->epoch) != 0) {
                c->need_register = c->registered;
            } else {
                c->stats.heartbeats_acked++;
            }
        } else if (f->has_status || f->end_of_stream) {
            c->hb_call_id = 0; /* the server ended the stream: open a new one */
        }
        if (c->need_register) {
            c->next_register = mono_ms();
            set_state(c, TOPO_CLIENT_RECOVERING);
        }
        pthread_cond_broadcast(&c->cv);
        pb_free(&w_frame_desc, f);
        return;
    }
    for (w = c->watches; w; w = w->next) {
        if (w->call_id != f->call_id || w->closing) continue;
        w->last_rx = mono_ms();
        if (f->which == W_WATCH_RESP && f->u.watch_resp.has_update) {
            topo_update *u = malloc(sizeof *u);
            if (u) {
                *u = f->u.watch_resp.update;
                memset(&f->u.watch_resp.update, 0, sizeof f->u.watch_resp.update);
                if (u->revision > 0) {
                    w->have_revision = true;
                    w->last_revision = u->revision;
                }
                if (u->has_snapshot && u->snapshot.server_epoch && u->snapshot.server_epoch[0]) {
                    pb_str_free(w->epoch);
                    w->epoch = pb_strdup(u->snapshot.server_epoch);
                }
                watch_push(c, w, u, bytes);
            } else {
                w->call_id = 0;
                w->have_revision = false;
            }
        }
        if (f->has_status && f->status.code != 0) {
            w->call_id = 0;
            if (f->status.code != 14 && f->status.code != 8) { /* not UNAVAILABLE/EXHAUSTED */
                w->failed = status_to_error(c, &f->status, "watch");
            }
            pthread_cond_broadcast(&c->cv);
        } else if (f->end_of_stream) {
            w->call_id = 0;
            pthread_cond_broadcast(&c->cv);
        }
        break;
    }
    if (!w) activity_answer(c, f);
    /* anything else (late replies) is dropped */
    pb_free(&w_frame_desc, f);
}

/* mu held. A frame over max_frame_bytes arrived: the watch it was for ends, since resubscribing
 * would fetch the same frame again and drop the connection the heartbeats share, forever. call_id
 * 0 (not known): every watch subscribed on the connection counts as its owner. */
static void watches_too_big(topo_client *c, uint64_t call_id, const char *why)
{
    topo_watch *w;
    bool any = false;
    for (w = c->watches; w; w = w->next) {
        if (w->closing || w->call_id == 0 || (call_id && w->call_id != call_id)) continue;
        w->failed = TOPO_ETOOBIG;
        any = true;
    }
    if (any)
        snprintf(c->drop_reason, sizeof c->drop_reason,
                 "watch ended: %.150s (max_frame_bytes); raise max_frame_bytes or narrow the query", why);
}

static void *reader_main(void *arg)
{
    topo_client *c = arg;
    uint8_t *buf = malloc(65536);
    pthread_mutex_lock(&c->mu);
    while (!c->closing && buf) {
        int fd;
        uint64_t gen;
        frame_reader fr;
        int err = TOPO_ECLOSED;
        char why[200] = "connection closed by the server";
        if (c->fd < 0) {
            cond_wait_until(&c->cv, &c->mu, -1);
            continue;
        }
        fd = c->fd;
        gen = c->gen;
        frame_reader_init(&fr, c->max_frame);
        pthread_mutex_unlock(&c->mu);
        for (;;) {
            long n;
            int rc = net_wait_readable(fd, 200);
            frame_err fe;
            bool stop = false;
            if (rc == 0) {
                pthread_mutex_lock(&c->mu);
                stop = c->closing;
                pthread_mutex_unlock(&c->mu);
                if (stop) break;
                continue;
            }
            if (rc < 0) {
                snprintf(why, sizeof why, "poll failed: %s", strerror(errno));
                break;
            }
            n = net_recv(fd, buf, 65536);
            if (n <= 0) {
                if (n < 0) snprintf(why, sizeof why, "connection lost: %s", topo_strerror((int)n));
                if (fr.len > fr.pos) {
                    err = TOPO_EPROTO;
                    snprintf(why, sizeof why, "connection closed inside a frame (%zu bytes buffered)",
                             fr.len - fr.pos);
                }
                break;
            }
            fe = frame_reader_feed(&fr, buf, (size_t)n);
            pthread_mutex_lock(&c->mu);
            while (fe == FRAME_OK) {
                w_frame f;
                memset(&f, 0, sizeof f);
                fe = frame_reader_next(&fr, &f);
                if (fe == FRAME_OK) dispatch(c, &f, fr.last_len);
            }
            pthread_mutex_unlock(&c->mu);
            if (fe != FRAME_NEED_MORE) {
                err = fe == FRAME_ERR_TOO_BIG ? TOPO_ETOOBIG : fe == FRAME_ERR_NOMEM ? TOPO_ENOMEM
                                                                                    : TOPO_EPROTO;
                frame_reader_describe(&fr, why, sizeof why);
                break;
            }
        }
        frame_reader_free(&fr);
        pthread_mutex_lock(&c->mu);
        if (err != TOPO_ECLOSED) c->drop_reason[0] = '\0'; /* a protocol error says it best */
        if (err == TOPO_ETOOBIG && gen == c->gen) watches_too_big(c, fr.big_call_id, why);
        connection_lost(c, gen, err, why);
    }
    pthread_mutex_unlock(&c->mu);
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------------------------------- */
/* Registration                                                                                */
/* ------------------------------------------------------------------------------------------- */

/* mu held. Registers c->reg (keeping c->service_id if any). */
static int do_register(topo_client *c)
{
    w_frame req, reply;
    int rc;
    const w_handle *h;
    memset(&req, 0, sizeof req);
    req.which = W_REGISTER_REQ;
    req.u.register_req = c->reg; /* shallow: not freed */
    req.u.register_req.service_id = c->service_id;
    rc = call_unary(c, &req, W_REGISTER_RESP, &reply, "register");
    if (rc != TOPO_OK) return rc;
    h = &reply.u.register_resp.handle;
    if (!reply.u.register_resp.has_handle || !h->service_id || !h->service_id[0]) {
        pb_free(&w_frame_desc, &reply);
        set_error(c, "register: the reply has no service id");
        return TOPO_EPROTO;
    }
    pb_str_free(c->service_id);
    c->service_id = reply.u.register_resp.handle.service_id;
    reply.u.register_resp.handle.service_id = NULL;
    pb_str_free(c->epoch);
    c->epoch = reply.u.register_resp.handle.server_epoch;
    reply.u.register_resp.handle.server_epoch = NULL;
    c->interval_ms = h->heartbeat_interval_ms > 0 ? h->heartbeat_interval_ms : 5000;
    c->multiplier = h->timeout_multiplier > 0 ? h->timeout_multiplier : 3;
    c->last_hb_answer = mono_ms();
    c->flush_ms = h->activity_flush_ms > 0 ? h->activity_flush_ms : 1000;
    pb_free(&w_frame_desc, &reply);
    c->stats.registrations++;
    c->need_register = false;
    c->hb_call_id = 0;
    c->next_hb = mono_ms(); /* heartbeat at once: the server learns we are alive */
    c->next_flush = mono_ms() + c->flush_ms;
    pthread_cond_broadcast(&c->cv);
    return TOPO_OK;
}

static int copy_metadata(topo_metadata *d, const topo_metadata *s)
{
    memset(d, 0, sizeof *d);
#define CP(f) if (s->f && !(d->f = pb_strdup(s->f))) return TOPO_ENOMEM
    CP(region); CP(environment); CP(team); CP(version_hash); CP(service_interface);
    CP(service_role); CP(program_name);
#undef CP
    return TOPO_OK;
}

int topo_register(topo_client *c, const topo_service_info *info)
{
    int rc;
    if (!c || !info || !info->name || !info->name[0] || strlen(info->name) > 256) return TOPO_EINVAL;
    pthread_mutex_lock(&c->mu);
    if (c->registered || c->reg.service_name || c->closing) {
        pthread_mutex_unlock(&c->mu);
        return TOPO_ESTATE;
    }
    pb_free(&w_register_req_desc, &c->reg);
    rc = TOPO_ENOMEM;
    c->reg.service_type = info->type;
    c->reg.language = info->language;
    if (!(c->reg.service_name = pb_strdup(info->name))) goto out;
    if (info->version && !(c->reg.version = pb_strdup(info->version))) goto out;
    if (info->address && !(c->reg.address = pb_strdup(info->address))) goto out;
    if (info->host && !(c->reg.host = pb_strdup(info->host))) goto out;
    if (info->metadata) {
        c->reg.has_metadata = true;
        if (copy_metadata(&c->reg.metadata, info->metadata) != TOPO_OK) goto out;
    }
    rc = connect_once(c);
    if (rc == TOPO_OK) rc = do_register(c);
    if (rc == TOPO_OK) {
        c->registered = true;
        agg_set_accepting(&c->agg, true);
        c->hb_seq = 0;
        set_state(c, TOPO_CLIENT_REGISTERED);
    }
out:
    if (rc != TOPO_OK) pb_free(&w_register_req_desc, &c->reg);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ------------------------------------------------------------------------------------------- */
/* Activity                                                                                    */
/* ------------------------------------------------------------------------------------------- */

int topo_report_call(topo_client *c, const char *target, const char *method, double latency_ms,
                     bool ok)
{
    if (!c || !target) return TOPO_EINVAL;
    return agg_add(&c->agg, target, method, latency_ms, ok);
}

/* mu held. Sends each aggregate as its own ReportActivity call (request and end_of_stream in one
 * frame), so that the answer to each names the calls it stands for: activity_answer() counts a
 * refused one as dropped. What could not be sent goes back to the aggregator. */
static int flush_locked(topo_client *c)
{
    agg_entry *list, *e;
    uint64_t gen = c->gen;
    int rc = TOPO_OK;
    w_frame f;
    int64_t now = wall_ms();
    if (!c->registered || !c->service_id || c->need_register || c->fd < 0) return TOPO_ESTATE;
    list = agg_take(&c->agg);
    for (e = list; e; e = e->next) {
        w_activity_req *r;
        if (!c->service_id || gen != c->gen) { /* unregistered or reconnected while mu was free */
            rc = TOPO_ECLOSED;
            break;
        }
        memset(&f, 0, sizeof f);
        f.call_id = ++c->next_call_id;
        f.end_of_stream = true;
        f.which = W_ACTIVITY_REQ;
        r = &f.u.activity_req;
        r->service_id = c->service_id;
        r->target_service = e->target;
        r->type = 1; /* ACTIVITY_TYPE_REQUEST_SENT */
        r->has_timestamp_ms = true;
        r->timestamp_ms = now;
        if (e->calls > e->zero_count) {
            double avg = e->latency_sum / (double)e->calls;
            r->has_latency_ms = true;
            r->latency_ms = avg > 2e9 ? 2000000000 : (int32_t)llround(avg);
        }
        r->method = e->method;
        r->has_success = true;
        r->success = e->errors == 0;
        r->has_batch_size = true;
        r->batch_size = (int32_t)e->calls; /* the aggregator keeps calls <= INT32_MAX per entry */
        r->has_error_count = true;
        r->error_count = (int32_t)e->errors;
        r->has_latency_histogram = true;
        r->latency_histogram.indexes = e->idx;
        r->latency_histogram.indexes_count = e->n;
        r->latency_histogram.counts = e->cnt;
        r->latency_histogram.counts_count = e->n;
        r->latency_histogram.zero_count = e->zero_count;
        act_track(c, f.call_id, e->calls); /* before sending: the answer may come before we return */
        rc = send_frame_locked(c, &f, gen);
        if (rc != TOPO_OK) {
            act_untrack(c, f.call_id);
            break;
        }
        c->stats.activity_reports++;
    }
    {
        /* e and what follows were not sent: keep them for the next flush (a report may be lost if
         * the connection died after its bytes left; never counted twice) */
        agg_entry *rest = list, *prev = NULL;
        while (rest && rest != e) {
            prev = rest;
            rest = rest->next;
        }
        if (prev) prev->next = NULL;
        if (rest == list) list = NULL;
        agg_free_list(list);
        agg_put_back(&c->agg, rest);
    }
    return rc;
}

int topo_flush(topo_client *c)
{
    int rc;
    if (!c) return TOPO_EINVAL;
    pthread_mutex_lock(&c->mu);
    rc = flush_locked(c);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int topo_unregister(topo_client *c)
{
    w_frame req, reply;
    int rc;
    if (!c) return TOPO_EINVAL;
    pthread_mutex_lock(&c->mu);
    if (!c->registered || !c->service_id) {
        pthread_mutex_unlock(&c->mu);
        return TOPO_ESTATE;
    }
    agg_set_accepting(&c->agg, false);
    (void)flush_locked(c);
    c->registered = false;
    c->need_register = false;
    if (c->hb_call_id) {
        memset(&req, 0, sizeof req);
        req.call_id = c->hb_call_id;
        req.end_of_stream = true;
        c->hb_call_id = 0;
        (void)send_frame_locked(c, &req, c->gen);
    }
    memset(&req, 0, sizeof req);
    req.which = W_UNREGISTER_REQ;
    req.u.unregister_req.service_id = c->service_id;
    rc = call_unary(c, &req, W_UNREGISTER_RESP, &reply, "unregister");
    if (rc == TOPO_OK) pb_free(&w_frame_desc, &reply);
    pb_str_free(c->service_id);
    c->service_id = NULL;
    pb_free(&w_register_req_desc, &c->reg);
    agg_free_list(agg_take(&c->agg));
    set_state(c, c->fd >= 0 ? TOPO_CLIENT_CONNECTED : TOPO_CLIENT_DISCONNECTED);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ------------------------------------------------------------------------------------------- */
/* Keeper                                                                                      */
/* ------------------------------------------------------------------------------------------- */

static bool sample_process(topo_client *c, topo_metrics *m)
{
    struct rusage ru;
    FILE *f;
    double cpu;
    int64_t now = mono_ms();
    long pages = 0, rss = 0;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return false;
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    m->cpu_percent = 0;
    if (c->last_cpu_at > 0 && now > c->last_cpu_at)
        m->cpu_percent = 100.0 * (cpu - c->last_cpu_s) / ((double)(now - c->last_cpu_at) / 1000.0);
    c->last_cpu_s = cpu;
    c->last_cpu_at = now;
    m->memory_bytes = 0;
    f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) == 2 && rss > 0)
            m->memory_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    return true;
}

/* mu held. */
static void send_heartbeat(topo_client *c)
{
    w_frame f;
    topo_health health;
    topo_metrics metrics;
    bool has_h = false, has_m = false;
    topo_health_cb hcb = c->health_cb;
    topo_metrics_cb mcb = c->metrics_cb;
    uint64_t gen = c->gen;
    memset(&health, 0, sizeof health);
    memset(&metrics, 0, sizeof metrics);
    bool sample = !mcb && c->process_metrics;
    pthread_mutex_unlock(&c->mu); /* user callbacks and /proc reads run without the lock */
    if (hcb) has_h = hcb(c->userdata, &health);
    if (mcb) has_m = mcb(c->userdata, &metrics);
    if (sample) has_m = sample_process(c, &metrics); /* its fields are the keeper's alone */
    pthread_mutex_lock(&c->mu);
    if (!c->registered || !c->service_id || c->need_register || c->fd < 0 || gen != c->gen) return;
    if (c->hb_call_id == 0) c->hb_call_id = ++c->next_call_id;
    memset(&f, 0, sizeof f);
    f.call_id = c->hb_call_id;
    f.which = W_HEARTBEAT_REQ;
    f.u.heartbeat_req.service_id = c->service_id;
    f.u.heartbeat_req.sequence = ++c->hb_seq;
    f.u.heartbeat_req.has_health = has_h;
    f.u.heartbeat_req.health = health;
    f.u.heartbeat_req.health.message = has_h ? pb_strdup(health.message) : NULL;
    f.u.heartbeat_req.has_metrics = has_m;
    f.u.heartbeat_req.metrics = metrics;
    if (send_frame_locked(c, &f, gen) == TOPO_OK) c->stats.heartbeats_sent++;
    pb_str_free(f.u.heartbeat_req.health.message);
}

/* mu held. Returns what sending the request gave (TOPO_ESTATE: nothing to send now). */
static int subscribe(topo_client *c, topo_watch *w)
{
    w_frame f;
    int rc;
    if (w->cancel_call_id) {
        memset(&f, 0, sizeof f);
        f.call_id = w->cancel_call_id;
        f.end_of_stream = true;
        w->cancel_call_id = 0;
        (void)send_frame_locked(c, &f, c->gen);
        if (w->closing || c->fd < 0) return TOPO_ESTATE;
    }
    memset(&f, 0, sizeof f);
    w->call_id = ++c->next_call_id;
    w->last_rx = mono_ms();
    f.call_id = w->call_id;
    f.which = W_WATCH_REQ;
    f.u.watch_req.has_query = true;
    f.u.watch_req.query = w->query; /* shallow */
    if (w->have_revision) {
        f.u.watch_req.has_resume_after_revision = true;
        f.u.watch_req.resume_after_revision = w->last_revision;
        f.u.watch_req.resume_server_epoch = w->epoch;
    }
    rc = send_frame_locked(c, &f, c->gen);
    if (rc != TOPO_OK && w->call_id == f.call_id) w->call_id = 0;
    return rc;
}

static bool wants_connection(topo_client *c)
{
    topo_watch *w;
    if (c->registered) return true;
    for (w = c->watches; w; w = w->next)
        if (!w->closing && !w->failed) return true;
    return false;
}

static int max_backoff(topo_client *c)
{
    if (c->reconnect_max_ms > 0) return c->reconnect_max_ms;
    if (c->interval_ms > 0) return c->interval_ms < 5000 ? c->interval_ms : 5000;
    return 5000;
}

/* mu held. A server that stops answering without closing the connection (its host gone, a
 * partition, a hung process) is as good as gone: no answer to heartbeats for as long as the server
 * itself waits before declaring the service DEAD (interval x multiplier, at least io_timeout), or
 * a watch stream silent for watch_idle_ms (the server sends PROGRESS on quiet streams), drops the
 * connection; the usual recovery follows (reconnect, failover, re-register, resume). Returns true
 * when it dropped it; otherwise lowers *wake to the next moment worth checking. */
static bool check_silence(topo_client *c, int64_t *wake)
{
    int64_t now = mono_ms(), due;
    topo_watch *w;
    char why[200] = "";
    if (c->fd < 0 || c->drop_err) return false; /* none, or already being torn down */
    if (c->registered && !c->need_register && c->hb_call_id) {
        int64_t limit = (int64_t)c->interval_ms * c->multiplier;
        if (limit < c->io_timeout_ms) limit = c->io_timeout_ms;
        due = c->last_hb_answer + limit;
        if (now > due)
            snprintf(why, sizeof why, "no heartbeat answer for %lld ms", (long long)(now - c->last_hb_answer));
        else if (due + 1 < *wake)
            *wake = due + 1;
    }
    for (w = c->watches; w && !why[0]; w = w->next) {
        if (w->call_id == 0 || w->closing) continue;
        due = w->last_rx + c->watch_idle_ms;
        if (now > due)
            snprintf(why, sizeof why, "watch stream silent for %lld ms", (long long)(now - w->last_rx));
        else if (due + 1 < *wake)
            *wake = due + 1;
    }
    if (!why[0]) return false;
    snprintf(c->drop_reason, sizeof c->drop_reason, "%s; reconnecting", why);
    c->drop_err = TOPO_ETIMEDOUT;
    c->stats.silent_drops++;
    pthread_mutex_lock(&c->wmu);
    shutdown(c->fd, SHUT_RDWR); /* the reader tears it down */
    pthread_mutex_unlock(&c->wmu);
    return true;
}

static void *keeper_main(void *arg)
{
    topo_client *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->closing) {
        int64_t now = mono_ms(), wake = now + 1000;
        topo_watch *w;
        if (c->state_cb && c->notified_state != c->state) {
            topo_client_state s = c->state;
            char id[64];
            snprintf(id, sizeof id, "%s", c->service_id ? c->service_id : "");
            c->notified_state = s;
            pthread_mutex_unlock(&c->mu);
            c->state_cb(c->userdata, s, id[0] ? id : NULL);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        if (c->fd < 0) {
            if (!wants_connection(c)) {
                cond_wait_until(&c->cv, &c->mu, wake);
                continue;
            }
            if (now < c->next_connect) {
                cond_wait_until(&c->cv, &c->mu, c->next_connect);
                continue;
            }
            if (connect_once(c) != TOPO_OK) {
                int b = c->backoff_ms, cap = max_backoff(c);
                int delay = b / 2 + (int)(rnd(c) % (uint32_t)(b / 2 + 1)); /* jitter: [b/2, b] */
                c->next_connect = mono_ms() + delay;
                c->backoff_ms = b * 2 > cap ? cap : b * 2;
            }
            continue;
        }
        if (c->registered && c->need_register) {
            if (now >= c->next_register) {
                int rc = do_register(c);
                if (rc == TOPO_OK) {
                    set_state(c, TOPO_CLIENT_REGISTERED);
                } else if (rc != TOPO_ECLOSED && !c->closing) {
                    c->next_register = mono_ms() + max_backoff(c); /* refused: try again later */
                }
                continue;
            }
            if (c->next_register < wake) wake = c->next_register;
        }
        for (w = c->watches; w; w = w->next)
            if (w->call_id == 0 && !w->closing && !w->failed) break;
        if (w) {
            /* subscribe() releases mu while it sends: a watch may be closed and freed meanwhile,
             * so the list is walked again from its head, never on from w */
            (void)subscribe(c, w);
            continue;
        }
        if (c->registered && !c->need_register && c->service_id) {
            now = mono_ms();
            if (now >= c->next_hb) {
                c->next_hb += c->interval_ms;
                if (c->next_hb <= now) c->next_hb = now + c->interval_ms;
                send_heartbeat(c);
                continue;
            }
            if (now >= c->next_flush) {
                c->next_flush = now + c->flush_ms;
                (void)flush_locked(c);
                continue;
            }
            if (c->next_hb < wake) wake = c->next_hb;
            if (c->next_flush < wake) wake = c->next_flush;
        }
        if (check_silence(c, &wake)) continue;
        cond_wait_until(&c->cv, &c->mu, wake);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ------------------------------------------------------------------------------------------- */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------- */

static void client_free(topo_client *c)
{
    size_t i;
    for (i = 0; i < c->addresses_count; i++) free(c->addresses[i]);
    free(c->addresses);
    pb_free(&w_register_req_desc, &c->reg);
    pb_str_free(c->service_id);
    pb_str_free(c->epoch);
    if (c->auth_token) { /* a secret: not left behind in freed memory */
        volatile char *p = c->auth_token;
        while (*p) *p++ = '\0';
        pb_str_free(c->auth_token);
    }
    agg_destroy(&c->agg);
    free(c->acts);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->wmu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

int topo_client_connect(const topo_options *o, topo_client **out)
{
    topo_options def;
    topo_client *c;
    size_t i, n;
    int rc;
    if (!out) return TOPO_EINVAL;
    *out = NULL;
    if (!o) {
        topo_options_init(&def);
        o = &def;
    }
    c = calloc(1, sizeof *c);
    if (!c) return TOPO_ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return TOPO_ESYS;
    }
    pthread_mutex_init(&c->wmu, NULL);
    cond_init_monotonic(&c->cv);
    if (agg_init(&c->agg) != TOPO_OK) {
        pthread_mutex_destroy(&c->mu);
        pthread_mutex_destroy(&c->wmu);
        pthread_cond_destroy(&c->cv);
        free(c);
        return TOPO_ESYS;
    }
    c->fd = -1;
    n = o->addresses && o->addresses_count ? o->addresses_count : 1;
    c->addresses = calloc(n, sizeof *c->addresses);
    if (!c->addresses) {
        client_free(c);
        return TOPO_ENOMEM;
    }
    c->addresses_count = n;
    for (i = 0; i < n; i++) {
        const char *a = o->addresses && o->addresses_count ? o->addresses[i] : DEFAULT_ADDRESS;
        char h[256], p[16];
        if (!a || net_split_address(a, h, sizeof h, p, sizeof p) != TOPO_OK) {
            client_free(c);
            return TOPO_EINVAL;
        }
        if (!(c->addresses[i] = dupstr(a))) {
            client_free(c);
            return TOPO_ENOMEM;
        }
    }
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
    c->io_timeout_ms = o->io_timeout_ms > 0 ? o->io_timeout_ms : 5000;
    c->watch_idle_ms = o->watch_idle_timeout_ms > 0 ? o->watch_idle_timeout_ms : 30000;
    c->reconnect_min_ms = o->reconnect_min_ms > 0 ? o->reconnect_min_ms : 20;
    c->reconnect_max_ms = o->reconnect_max_ms > 0 ? o->reconnect_max_ms : 0;
    c->backoff_ms = c->reconnect_min_ms;
    c->max_frame = o->max_frame_bytes ? o->max_frame_bytes : TOPO_DEFAULT_MAX_FRAME_BYTES;
    c->process_metrics = o->collect_process_metrics;
    c->health_cb = o->health_cb;
    c->metrics_cb = o->metrics_cb;
    c->state_cb = o->state_cb;
    c->userdata = o->userdata;
    if (o->auth_token && !(c->auth_token = pb_strdup(o->auth_token))) {
        client_free(c);
        return TOPO_ENOMEM;
    }
    c->rng = ((uint64_t)mono_ms() << 20) ^ (uint64_t)(uintptr_t)c ^ (uint64_t)getpid() ^ 0x9E3779B97F4A7C15ull;
    pthread_mutex_lock(&c->mu);
    rc = connect_once(c);
    pthread_mutex_unlock(&c->mu);
    if (rc != TOPO_OK) {
        client_free(c);
        return rc;
    }
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        close(c->fd);
        client_free(c);
        return TOPO_ESYS;
    }
    if (pthread_create(&c->keeper, NULL, keeper_main, c) != 0) {
        pthread_mutex_lock(&c->mu);
        c->closing = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->reader, NULL);
        if (c->fd >= 0) close(c->fd);
        client_free(c);
        return TOPO_ESYS;
    }
    *out = c;
    return TOPO_OK;
}

static void watch_destroy(topo_watch *w);

void topo_client_close(topo_client *c)
{
    if (!c) return;
    while (1) {
        topo_watch *w;
        pthread_mutex_lock(&c->mu);
        w = c->watches;
        pthread_mutex_unlock(&c->mu);
        if (!w) break;
        topo_watch_close(w);
    }
    pthread_mutex_lock(&c->mu);
    c->closing = true;
    c->state = TOPO_CLIENT_CLOSED;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_lock(&c->wmu);
    if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->wmu);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->keeper, NULL);
    pthread_join(c->reader, NULL);
    if (c->fd >= 0) close(c->fd);
    client_free(c);
}

topo_client_state topo_client_state_get(topo_client *c)
{
    topo_client_state s;
    pthread_mutex_lock(&c->mu);
    s = c->state;
    pthread_mutex_unlock(&c->mu);
    return s;
}

size_t topo_client_service_id(topo_client *c, char *buf, size_t len)
{
    size_t n;
    pthread_mutex_lock(&c->mu);
    n = c->service_id ? strlen(c->service_id) : 0;
    if (buf && len) snprintf(buf, len, "%s", c->service_id ? c->service_id : "");
    pthread_mutex_unlock(&c->mu);
    return n;
}

void topo_client_last_error(topo_client *c, char *buf, size_t len)
{
    if (!buf || !len) return;
    pthread_mutex_lock(&c->mu);
    snprintf(buf, len, "%s", c->last_error);
    pthread_mutex_unlock(&c->mu);
}

int32_t topo_client_last_status(topo_client *c)
{
    int32_t s;
    pthread_mutex_lock(&c->mu);
    s = c->last_status;
    pthread_mutex_unlock(&c->mu);
    return s;
}

void topo_client_get_stats(topo_client *c, topo_client_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->agg.mu);
    out->calls_reported = c->agg.calls_total;
    out->calls_dropped = c->agg.dropped;
    pthread_mutex_unlock(&c->agg.mu);
}

/* ------------------------------------------------------------------------------------------- */
/* Queries and watches                                                                         */
/* ------------------------------------------------------------------------------------------- */

static int copy_strs(char ***dst, size_t *dn, const char *const *src, size_t n)
{
    size_t i;
    *dst = NULL;
    *dn = 0;
    if (!n) return TOPO_OK;
    if (!src) return TOPO_EINVAL;
    *dst = calloc(n, sizeof **dst);
    if (!*dst) return TOPO_ENOMEM;
    *dn = n;
    for (i = 0; i < n; i++) {
        if (!src[i]) return TOPO_EINVAL;
        if (!((*dst)[i] = pb_strdup(src[i]))) return TOPO_ENOMEM;
    }
    return TOPO_OK;
}

/* Deep copy of a public query into the wire form (pb_free it). */
static int query_copy(w_query *d, const topo_query *q)
{
    int rc;
    memset(d, 0, sizeof *d);
    if (!q) return TOPO_OK;
    if ((rc = copy_strs(&d->service_names, &d->service_names_count, q->service_names,
                        q->service_names_count)) != TOPO_OK ||
        (rc = copy_strs(&d->environments, &d->environments_count, q->environments,
                        q->environments_count)) != TOPO_OK ||
        (rc = copy_strs(&d->teams, &d->teams_count, q->teams, q->teams_count)) != TOPO_OK ||
        (rc = copy_strs(&d->regions, &d->regions_count, q->regions, q->regions_count)) != TOPO_OK)
        return rc;
    if (q->states_count) {
        if (!q->states) return TOPO_EINVAL;
        d->states = malloc(q->states_count * sizeof *d->states);
        if (!d->states) return TOPO_ENOMEM;
        memcpy(d->states, q->states, q->states_count * sizeof *d->states);
        d->states_count = q->states_count;
    }
    return TOPO_OK;
}

int topo_get_topology(topo_client *c, const topo_query *query, topo_snapshot **out)
{
    w_frame req, reply;
    int rc;
    topo_snapshot *s;
    if (!c || !out) return TOPO_EINVAL;
    *out = NULL;
    memset(&req, 0, sizeof req);
    req.which = W_GET_REQ;
    req.u.get_req.has_query = true;
    rc = query_copy(&req.u.get_req.query, query);
    if (rc != TOPO_OK) {
        pb_free(&w_frame_desc, &req);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    rc = connect_once(c);
    if (rc == TOPO_OK) rc = call_unary(c, &req, W_GET_RESP, &reply, "get topology");
    pthread_mutex_unlock(&c->mu);
    pb_free(&w_frame_desc, &req);
    if (rc != TOPO_OK) return rc;
    s = malloc(sizeof *s);
    if (!s) {
        pb_free(&w_frame_desc, &reply);
        return TOPO_ENOMEM;
    }
    *s = reply.u.get_resp.snapshot; /* absent snapshot: all zero = empty */
    memset(&reply.u.get_resp.snapshot, 0, sizeof reply.u.get_resp.snapshot);
    pb_free(&w_frame_desc, &reply);
    *out = s;
    return TOPO_OK;
}

static void *watch_thread(void *arg)
{
    topo_watch *w = arg;
    topo_client *c = w->c;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        qnode *q;
        while (!w->head && !w->closing && !c->closing) cond_wait_until(&c->cv, &c->mu, -1);
        if (w->closing || c->closing) break;
        q = w->head;
        w->head = q->next;
        if (!w->head) w->tail = NULL;
        w->qlen--;
        w->qbytes -= q->bytes;
        pthread_mutex_unlock(&c->mu);
        w->cb(w->userdata, q->u);
        free(q);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void watch_destroy(topo_watch *w)
{
    qnode *q = w->head;
    while (q) {
        qnode *next = q->next;
        topo_update_free(q->u);
        free(q);
        q = next;
    }
    pb_free(&w_query_desc, &w->query);
    pb_str_free(w->epoch);
    free(w);
}

int topo_watch_start(topo_client *c, const topo_query *query, topo_update_cb cb, void *userdata,
                     topo_watch **out)
{
    topo_watch *w;
    int rc;
    if (!c || !out) return TOPO_EINVAL;
    *out = NULL;
    w = calloc(1, sizeof *w);
    if (!w) return TOPO_ENOMEM;
    w->c = c;
    w->cb = cb;
    w->userdata = userdata;
    rc = query_copy(&w->query, query);
    if (rc != TOPO_OK) {
        watch_destroy(w);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    rc = connect_once(c);
    if (rc == TOPO_OK && cb) {
        if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) rc = TOPO_ESYS;
        else w->has_thread = true;
    }
    if (rc == TOPO_OK) {
        w->next = c->watches;
        c->watches = w;
        /* sent: the watch is on (the connection may drop at once; then it resubscribes, or has
         * ended, which topo_watch_next reports) */
        if (subscribe(c, w) != TOPO_OK) rc = TOPO_ECLOSED;
    }
    if (rc != TOPO_OK) {
        topo_watch **pp;
        for (pp = &c->watches; *pp; pp = &(*pp)->next)
            if (*pp == w) {
                *pp = w->next;
                break;
            }
        w->closing = true;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    if (rc != TOPO_OK) {
        if (w->has_thread) pthread_join(w->thread, NULL);
        watch_destroy(w);
        return rc;
    }
    *out = w;
    return TOPO_OK;
}

int topo_watch_next(topo_watch *w, int timeout_ms, topo_update **out)
{
    topo_client *c;
    int64_t deadline;
    int rc = TOPO_OK;
    if (!w || !out) return TOPO_EINVAL;
    *out = NULL;
    if (w->cb) return TOPO_ESTATE;
    c = w->c;
    deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
    pthread_mutex_lock(&c->mu);
    while (!w->head && !c->closing && !w->failed && (deadline < 0 || mono_ms() < deadline))
        cond_wait_until(&c->cv, &c->mu, deadline);
    if (w->head) {
        qnode *q = w->head;
        w->head = q->next;
        if (!w->head) w->tail = NULL;
        w->qlen--;
        w->qbytes -= q->bytes;
        *out = q->u;
        free(q);
    } else if (c->closing) {
        rc = TOPO_ESTATE;
    } else if (w->failed) {
        rc = w->failed;
    } else {
        rc = TOPO_ETIMEDOUT;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int topo_watch_status(topo_watch *w)
{
    int rc;
    if (!w) return TOPO_EINVAL;
    pthread_mutex_lock(&w->c->mu);
    rc = w->failed;
    pthread_mutex_unlock(&w->c->mu);
    return rc;
}

void topo_watch_close(topo_watch *w)
{
    topo_client *c;
    topo_watch **pp;
    uint64_t call_id;
    if (!w) return;
    c = w->c;
    pthread_mutex_lock(&c->mu);
    for (pp = &c->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    w->closing = true;
    call_id = w->call_id;
    w->call_id = 0;
    pthread_cond_broadcast(&c->cv);
    if (call_id && c->fd >= 0) {
        w_frame f;
        memset(&f, 0, sizeof f);
        f.call_id = call_id;
        f.end_of_stream = true;
        (void)send_frame_locked(c, &f, c->gen);
    }
    pthread_mutex_unlock(&c->mu);
    if (w->has_thread) pthread_join(w->thread, NULL);
    watch_destroy(w);
}
