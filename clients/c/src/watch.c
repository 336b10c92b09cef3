/* watch.c - watches: subscribing and resubscribing, the queue of updates (bounded: past it,
 * a resync from a snapshot), the callback thread, topo_watch_next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define WATCH_QUEUE_MAX 4096
#define WATCH_QUEUE_MAX_BYTES (64u * 1024 * 1024) /* wire bytes of the queued updates */

void topo_update_free(topo_update *u)
{
    if (!u) return;
    pb_free(&w_update_desc, u);
    free(u);
}

/* Takes the oldest queued update; the queue is not empty. */
static topo_update *queue_pop(topo_watch *w)
{
    qnode *q = w->head;
    topo_update *u = q->u;
    w->head = q->next;
    if (!w->head) w->tail = NULL;
    w->qlen--;
    w->qbytes -= q->bytes;
    free(q);
    return u;
}

static void queue_clear(topo_watch *w)
{
    while (w->head) topo_update_free(queue_pop(w));
}

static void watch_push(topo_client *c, topo_watch *w, topo_update *u, size_t bytes)
{
    qnode *q;
    if (u->type == TOPO_UPDATE_SNAPSHOT && w->next_snapshot_resync) {
        u->resync = true;
        w->next_snapshot_resync = false;
    }
    if (w->qlen >= WATCH_QUEUE_MAX || (w->qlen > 0 && w->qbytes + bytes > WATCH_QUEUE_MAX_BYTES)) {
        /* the application is not keeping up: drop everything, start again from a snapshot */
        queue_clear(w);
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

bool watch_answer(topo_client *c, w_frame *f, size_t bytes)
{
    topo_watch *w;
    for (w = c->watches; w; w = w->next)
        if (w->call_id == f->call_id && !w->closing) break;
    if (!w) return false;
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
            w->failed = client_status_error(c, &f->status, "watch");
        }
        pthread_cond_broadcast(&c->cv);
    } else if (f->end_of_stream) {
        w->call_id = 0;
        pthread_cond_broadcast(&c->cv);
    }
    return true;
}

/* mu held. A frame over max_frame_bytes arrived: the watch it was for ends, since resubscribing
 * would fetch the same frame again and drop the connection the heartbeats share, forever. call_id
 * 0 (not known): every watch subscribed on the connection counts as its owner. */
void watches_too_big(topo_client *c, uint64_t call_id, const char *why)
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

/* mu held. Returns what sending the request gave (TOPO_ESTATE: nothing to send now). */
int watch_subscribe(topo_client *c, topo_watch *w)
{
    w_frame f;
    int rc;
    if (w->cancel_call_id) {
        uint64_t call_id = w->cancel_call_id;
        w->cancel_call_id = 0;
        connection_end_call(c, call_id);
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
    rc = connection_send_frame(c, &f, c->gen);
    if (rc != TOPO_OK && w->call_id == f.call_id) w->call_id = 0;
    return rc;
}

static void *watch_thread(void *arg)
{
    topo_watch *w = arg;
    topo_client *c = w->c;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        topo_update *u;
        while (!w->head && !w->closing && !c->closing) cond_wait_until(&c->cv, &c->mu, -1);
        if (w->closing || c->closing) break;
        u = queue_pop(w);
        pthread_mutex_unlock(&c->mu);
        w->cb(w->userdata, u);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void watch_unlink(topo_client *c, topo_watch *w)
{
    topo_watch **pp;
    for (pp = &c->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
}

static void watch_destroy(topo_watch *w)
{
    queue_clear(w);
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
    rc = connection_open(c);
    if (rc == TOPO_OK && cb) {
        if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) rc = TOPO_ESYS;
        else w->has_thread = true;
    }
    if (rc == TOPO_OK) {
        w->next = c->watches;
        c->watches = w;
        /* sent: the watch is on (the connection may drop at once; then it resubscribes, or has
         * ended, which topo_watch_next reports) */
        if (watch_subscribe(c, w) != TOPO_OK) rc = TOPO_ECLOSED;
    }
    if (rc != TOPO_OK) {
        watch_unlink(c, w);
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
        *out = queue_pop(w);
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
    uint64_t call_id;
    if (!w) return;
    c = w->c;
    pthread_mutex_lock(&c->mu);
    watch_unlink(c, w);
    w->closing = true;
    call_id = w->call_id;
    w->call_id = 0;
    pthread_cond_broadcast(&c->cv);
    if (call_id && c->fd >= 0) connection_end_call(c, call_id);
    pthread_mutex_unlock(&c->mu);
    if (w->has_thread) pthread_join(w->thread, NULL);
    watch_destroy(w);
}
