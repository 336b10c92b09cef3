/* hist.c - local aggregation of reported calls into log-bucketed latency histograms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HIST_MIN_MS 1e-6
#define HIST_MAX_MS 1e9

int32_t hist_index(double latency_ms)
{
    double l = latency_ms, lg = log(HIST_GAMMA);
    int32_t i;
    if (l < HIST_MIN_MS) l = HIST_MIN_MS;
    if (l > HIST_MAX_MS) l = HIST_MAX_MS;
    i = (int32_t)ceil(log(l) / lg);
    /* fix floating-point error at the bucket edges: GAMMA^(i-1) < l <= GAMMA^i */
    while (pow(HIST_GAMMA, (double)i) < l) i++;
    while (pow(HIST_GAMMA, (double)(i - 1)) >= l) i--;
    return i;
}

int agg_init(aggregator *a)
{
    memset(a, 0, sizeof *a);
    return pthread_mutex_init(&a->mu, NULL) == 0 ? TOPO_OK : TOPO_ESYS;
}

void agg_free_list(agg_entry *e)
{
    while (e) {
        agg_entry *next = e->next;
        pb_str_free(e->target);
        pb_str_free(e->method);
        free(e->idx);
        free(e->cnt);
        free(e);
        e = next;
    }
}

void agg_destroy(aggregator *a)
{
    agg_free_list(agg_take(a));
    pthread_mutex_destroy(&a->mu);
}

static uint32_t hash_key(const char *t, const char *m)
{
    uint32_t h = 2166136261u;
    for (; *t; t++) h = (h ^ (uint8_t)*t) * 16777619u;
    h = (h ^ 0xFFu) * 16777619u;
    if (m)
        for (; *m; m++) h = (h ^ (uint8_t)*m) * 16777619u;
    return h;
}

static bool same_method(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static int bucket_add(agg_entry *e, int32_t idx, uint64_t count)
{
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->idx[mid] < idx) lo = mid + 1;
        else hi = mid;
    }
    if (lo < e->n && e->idx[lo] == idx) {
        e->cnt[lo] += count;
        return TOPO_OK;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        int32_t *ni = realloc(e->idx, cap * sizeof *ni);
        uint64_t *nc;
        if (!ni) return TOPO_ENOMEM;
        e->idx = ni;
        nc = realloc(e->cnt, cap * sizeof *nc);
        if (!nc) return TOPO_ENOMEM;
        e->cnt = nc;
        e->cap = cap;
    }
    memmove(e->idx + lo + 1, e->idx + lo, (e->n - lo) * sizeof *e->idx);
    memmove(e->cnt + lo + 1, e->cnt + lo, (e->n - lo) * sizeof *e->cnt);
    e->idx[lo] = idx;
    e->cnt[lo] = count;
    e->n++;
    return TOPO_OK;
}

static agg_entry *find_entry(aggregator *a, const char *target, const char *method)
{
    agg_entry *e;
    for (e = a->table[hash_key(target, method) % AGG_BUCKETS]; e; e = e->next)
        if (strcmp(e->target, target) == 0 && same_method(e->method, method)) return e;
    return NULL;
}

static agg_entry *find_or_add(aggregator *a, const char *target, const char *method, int *rc)
{
    uint32_t b = hash_key(target, method) % AGG_BUCKETS;
    agg_entry *e = find_entry(a, target, method);
    if (e) return e;
    if (a->keys >= AGG_MAX_KEYS) {
        *rc = TOPO_ELIMIT;
        return NULL;
    }
    e = calloc(1, sizeof *e);
    if (!e) goto oom;
    e->target = pb_strdup(target);
    if (!e->target) goto oom;
    if (method) {
        e->method = pb_strdup(method);
        if (!e->method) goto oom;
    }
    e->first_ms = wall_ms();
    e->era = a->era;
    e->next = a->table[b];
    a->table[b] = e;
    a->keys++;
    return e;
oom:
    if (e) {
        pb_str_free(e->target);
        free(e);
    }
    *rc = TOPO_ENOMEM;
    return NULL;
}

/* A target or method the server takes with its default --max-string-bytes. */
static bool report_string_ok(const char *s)
{
    size_t n = strnlen(s, TOPO_MAX_REPORT_STRING_BYTES + 1);
    return n <= TOPO_MAX_REPORT_STRING_BYTES && pb_utf8_valid((const uint8_t *)s, n);
}

int agg_add(aggregator *a, const char *target, const char *method, double latency_ms, bool ok)
{
    int rc = TOPO_OK;
    agg_entry *e;
    if (!*target || !report_string_ok(target) || (method && !report_string_ok(method))) return TOPO_EINVAL;
    pthread_mutex_lock(&a->mu);
    if (!a->accepting) {
        pthread_mutex_unlock(&a->mu);
        return TOPO_ESTATE;
    }
    e = find_or_add(a, target, method, &rc);
    if (e && e->calls >= (uint64_t)INT32_MAX) rc = TOPO_ELIMIT; /* batch_size is an int32 */
    if (e && rc == TOPO_OK) {
        if (!(latency_ms > 0)) { /* also NaN */
            e->zero_count++;
        } else {
            rc = bucket_add(e, hist_index(latency_ms), 1);
            if (rc == TOPO_OK) e->latency_sum += latency_ms > HIST_MAX_MS ? HIST_MAX_MS : latency_ms;
        }
        if (rc == TOPO_OK) {
            e->calls++;
            if (!ok) e->errors++;
            a->calls_total++;
        }
    }
    if (rc != TOPO_OK) a->dropped++;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void agg_set_accepting(aggregator *a, bool on)
{
    pthread_mutex_lock(&a->mu);
    a->accepting = on;
    pthread_mutex_unlock(&a->mu);
}

agg_entry *agg_take(aggregator *a)
{
    agg_entry *list = NULL;
    size_t i;
    pthread_mutex_lock(&a->mu);
    for (i = 0; i < AGG_BUCKETS; i++) {
        agg_entry *e = a->table[i];
        while (e) {
            agg_entry *next = e->next;
            e->next = list;
            list = e;
            e = next;
        }
        a->table[i] = NULL;
    }
    a->keys = 0;
    pthread_mutex_unlock(&a->mu);
    return list;
}

void agg_put_back(aggregator *a, agg_entry *list)
{
    pthread_mutex_lock(&a->mu);
    while (list) {
        agg_entry *src = list, *dst;
        int rc = TOPO_OK;
        size_t k;
        list = list->next;
        src->next = NULL;
        dst = find_entry(a, src->target, src->method);
        if (dst && dst->calls + src->calls <= (uint64_t)INT32_MAX) {
            for (k = 0; k < src->n && rc == TOPO_OK; k++) rc = bucket_add(dst, src->idx[k], src->cnt[k]);
            dst->calls += src->calls;
            dst->errors += src->errors;
            dst->zero_count += src->zero_count;
            dst->latency_sum += src->latency_sum;
            if (src->first_ms < dst->first_ms) dst->first_ms = src->first_ms;
            if (src->era < dst->era) dst->era = src->era;
            agg_free_list(src);
        } else if (a->keys < AGG_MAX_KEYS) {
            /* Kept whole as an entry of its own: batch_size is an int32, so two entries of one pair
             * whose sum would pass INT32_MAX are sent as two reports. Behind dst, so new calls
             * keep going to dst. */
            agg_entry **at = dst ? &dst->next : &a->table[hash_key(src->target, src->method) % AGG_BUCKETS];
            src->next = *at;
            *at = src;
            a->keys++;
        } else {
            a->dropped += src->calls;
            agg_free_list(src);
        }
    }
    pthread_mutex_unlock(&a->mu);
}

uint64_t agg_new_era(aggregator *a)
{
    uint64_t era;
    pthread_mutex_lock(&a->mu);
    era = ++a->era;
    pthread_mutex_unlock(&a->mu);
    return era;
}

void agg_note_dropped(aggregator *a, uint64_t calls)
{
    pthread_mutex_lock(&a->mu);
    a->dropped += calls;
    pthread_mutex_unlock(&a->mu);
}
