/* internal.h - sockets, clock, the auth handshake and the activity aggregator (used by the client:
 * client_internal.h). */
#ifndef TOPO_INTERNAL_H
#define TOPO_INTERNAL_H

#include <pthread.h>

#include "wire.h"

/* ---- net.c: every system call goes through here ------------------------------------------ */

/* Monotonic milliseconds (for timeouts) and wall-clock milliseconds (for timestamps only). */
int64_t mono_ms(void);
int64_t wall_ms(void);

/* Splits "host:port" / "[v6]:port". TOPO_EINVAL if malformed. */
int net_split_address(const char *address, char *host, size_t host_len, char *port, size_t port_len);

/* Connects with a timeout; returns a blocking socket fd (TCP_NODELAY, send timeout io_timeout_ms)
 * or a negative TOPO_E* code with a sentence in err. */
int net_connect(const char *address, int timeout_ms, int io_timeout_ms, char *err, size_t err_len);

/* Sends all n bytes (EINTR retried, no SIGPIPE). TOPO_ETIMEDOUT / TOPO_ECLOSED / TOPO_ESYS. */
int net_send_all(int fd, const uint8_t *p, size_t n);

/* Waits up to timeout_ms for fd to be readable: 1 readable, 0 timeout, negative error. */
int net_wait_readable(int fd, int timeout_ms);

/* Reads what is there: >0 bytes, 0 end of stream, negative TOPO_E* code. */
long net_recv(int fd, uint8_t *buf, size_t cap);

/* Initialises a condition variable on the monotonic clock. */
int cond_init_monotonic(pthread_cond_t *cv);
/* Waits on cv until deadline_ms (monotonic; <0 = forever). */
void cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

/* ---- auth.c: the handshake of a server run with --auth-token-file ------------------------ */

/* Authenticates the fresh connection fd with token (a pb_strdup string) on call_id, within
 * io_timeout_ms. TOPO_OK, or TOPO_EAUTH (refused: *status = 16), TOPO_ESTATUS (another error
 * Status: *status set), or a transport error; err gets a sentence (never the token). */
int auth_handshake(int fd, const char *token, uint64_t call_id, int io_timeout_ms, uint32_t max_frame,
                   int32_t *status, char *err, size_t err_len);

/* ---- hist.c: per (target, method) aggregation of reported calls -------------------------- */

#define HIST_GAMMA 1.02
#define AGG_MAX_KEYS 4096

/* Bucket index of a latency > 0: GAMMA^(i-1) < L <= GAMMA^i. */
int32_t hist_index(double latency_ms);

typedef struct agg_entry {
    char *target;
    char *method;            /* NULL if none */
    uint64_t calls, errors, zero_count;
    double latency_sum;
    int64_t first_ms;        /* wall_ms() of the entry's first call: reports of calls kept through
                              * an outage say when they were made */
    uint64_t era;            /* the aggregator's era when the first call was recorded */
    int32_t *idx;            /* sorted bucket indexes */
    uint64_t *cnt;           /* parallel counts */
    size_t n, cap;
    struct agg_entry *next;  /* hash chain / detached list */
} agg_entry;

#define AGG_BUCKETS 256
typedef struct aggregator {
    pthread_mutex_t mu;
    agg_entry *table[AGG_BUCKETS];
    size_t keys;
    bool accepting; /* a service is registered: calls are taken */
    uint64_t era;   /* counts registrations: an entry of an older era was kept through an outage */
    uint64_t calls_total, dropped;
} aggregator;

int agg_init(aggregator *a);
void agg_destroy(aggregator *a);
void agg_set_accepting(aggregator *a, bool on);
/* TOPO_EINVAL for an empty target, or a target or method over TOPO_MAX_REPORT_STRING_BYTES or not
 * valid UTF-8 (not counted as dropped: never taken); TOPO_ESTATE when not accepting; TOPO_ELIMIT
 * over AGG_MAX_KEYS keys or INT32_MAX calls in the pair's entry. */
int agg_add(aggregator *a, const char *target, const char *method, double latency_ms, bool ok);
/* Detaches every entry (a list linked by next) and empties the aggregator. */
agg_entry *agg_take(aggregator *a);
/* Puts entries back, e.g. when they could not be sent: merged into the pair's entry while the
 * sum stays <= INT32_MAX calls (batch_size is an int32), keeping the earlier first_ms and era, else kept
 * as an entry of its own; counted as dropped only past AGG_MAX_KEYS entries. Every entry keeps
 * calls <= INT32_MAX. */
void agg_put_back(aggregator *a, agg_entry *list);
/* Starts a new era (a registration succeeded) and returns it. */
uint64_t agg_new_era(aggregator *a);
/* Counts calls lost after they left the aggregator (their report was refused). */
void agg_note_dropped(aggregator *a, uint64_t calls);
void agg_free_list(agg_entry *list);

#endif
