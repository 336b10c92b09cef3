/* activity.c - reported calls: aggregated (hist.c), flushed as one ReportActivity call per
 * (target, method), each answer matched to the calls it stands for. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define ACT_CALLS_MAX (4 * AGG_MAX_KEYS) /* unanswered activity reports remembered per connection */

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
void activity_answer(topo_client *c, const w_frame *f)
{
    size_t i;
    for (i = c->acts_head; i < c->acts_len; i++) {
        if (c->acts[i].call_id != f->call_id) continue;
        if (f->has_status && f->status.code != 0) {
            agg_note_dropped(&c->agg, c->acts[i].calls);
            (void)client_status_error(c, &f->status, "report activity");
        }
        if (i == c->acts_head) c->acts_head++;
        else act_untrack(c, f->call_id);
        if (c->acts_head == c->acts_len) c->acts_head = c->acts_len = 0;
        return;
    }
}

int topo_report_call(topo_client *c, const char *target, const char *method, double latency_ms,
                     bool ok)
{
    if (!c || !target) return TOPO_EINVAL;
    return agg_add(&c->agg, target, method, latency_ms, ok);
}

/* mu held. Sends each aggregate as its own ReportActivity call (request and end_of_stream in one
 * frame), so that the answer to each names the calls it stands for: activity_answer() counts a
 * refused one as dropped. What could not be sent goes back to the aggregator. */
int activity_flush(topo_client *c)
{
    agg_entry *list, *e;
    uint64_t gen = c->gen;
    int rc = TOPO_OK;
    w_frame f;
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
        /* Calls recorded before this registration were kept while no server had the service: their
         * report says when the first was made, so the server counts them there and not as calls of
         * the moment. Live calls carry no time: counted on arrival, whatever the clocks say. */
        r->has_timestamp_ms = e->era < c->registration_era;
        r->timestamp_ms = e->first_ms;
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
        rc = connection_send_frame(c, &f, gen);
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
    rc = activity_flush(c);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
