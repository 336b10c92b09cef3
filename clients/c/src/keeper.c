/* keeper.c - the keeper thread: connects with backoff and jitter, re-registers, resubscribes
 * watches, sends heartbeats (and reads their answers, on the reader thread), schedules activity
 * flushes, and drops a connection the server went silent on. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "client_internal.h"

static uint32_t rnd(topo_client *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng >> 32);
}

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
    if (connection_send_frame(c, &f, gen) == TOPO_OK) c->stats.heartbeats_sent++;
    pb_str_free(f.u.heartbeat_req.health.message);
}

/* The server answers each heartbeat on the stream: an unknown service (NOT_FOUND), a refusal or a
 * new server epoch means registering again; an ended stream, opening a new one. */
void heartbeat_answer(topo_client *c, const w_frame *f)
{
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
        client_set_state(c, TOPO_CLIENT_RECOVERING);
    }
    pthread_cond_broadcast(&c->cv);
}

static bool wants_connection(topo_client *c)
{
    topo_watch *w;
    if (c->registered) return true;
    for (w = c->watches; w; w = w->next)
        if (!w->closing && !w->failed) return true;
    return false;
}

/* The backoff cap: reconnect_max_ms if set; else half the heartbeat interval (the server's default,
 * 5 s, until a server gave one), at least 100 ms (at most 20 attempts a second) and at most 5 s. A
 * restarted (or first) server hears from every client within half an interval of listening, and a
 * fleet's attempts spread over [cap/2, cap]. */
static int max_backoff(topo_client *c)
{
    int half = (c->interval_ms > 0 ? c->interval_ms : 5000) / 2;
    if (c->reconnect_max_ms > 0) return c->reconnect_max_ms;
    return half < 100 ? 100 : half > 5000 ? 5000 : half;
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
    connection_shutdown(c); /* the reader tears it down */
    return true;
}

void *keeper_main(void *arg)
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
            if (connection_open(c) != TOPO_OK) {
                int b = c->backoff_ms, cap = max_backoff(c);
                int delay = b / 2 + (int)(rnd(c) % (uint32_t)(b / 2 + 1)); /* jitter: [b/2, b] */
                c->next_connect = mono_ms() + delay;
                c->backoff_ms = b * 2 > cap ? cap : b * 2;
            }
            continue;
        }
        if (c->registered && c->need_register) {
            if (now >= c->next_register) {
                int rc = registration_send(c);
                if (rc == TOPO_OK) {
                    client_set_state(c, TOPO_CLIENT_REGISTERED);
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
            /* watch_subscribe() releases mu while it sends: a watch may be closed and freed
             * meanwhile, so the list is walked again from its head, never on from w */
            (void)watch_subscribe(c, w);
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
                (void)activity_flush(c);
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
