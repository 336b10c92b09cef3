/* client.c - the client's life cycle: options, connect (starts the reader and keeper threads),
 * close, and the getters. How the files of the client divide the work: client_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_internal.h"

#define DEFAULT_ADDRESS "127.0.0.1:50053"

void topo_options_init(topo_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

static char *dupstr(const char *s)
{
    char *d;
    if (!s) return NULL;
    d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

void client_set_state(topo_client *c, topo_client_state s)
{
    if (c->state == s || c->state == TOPO_CLIENT_CLOSED) return;
    c->state = s;
    pthread_cond_broadcast(&c->cv);
}

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
    rc = connection_open(c);
    pthread_mutex_unlock(&c->mu);
    if (rc != TOPO_OK && rc != TOPO_ECONNECT) { /* no server yet is no failure: see topology.h */
        client_free(c);
        return rc;
    }
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        if (c->fd >= 0) close(c->fd);
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
    connection_shutdown(c);
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
