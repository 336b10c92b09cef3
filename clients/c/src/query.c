/* query.c - get_topology, and the copy of a query it shares with watches. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

void topo_snapshot_free(topo_snapshot *s)
{
    if (!s) return;
    pb_free(&w_snapshot_desc, s);
    free(s);
}

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

int query_copy(w_query *d, const topo_query *q)
{
    int rc;
    memset(d, 0, sizeof *d);
    if (!q) return TOPO_OK;
    if ((rc = copy_strs(&d->service_names, &d->service_names_count, q->service_names,
                        q->service_names_count)) != TOPO_OK ||
        (rc = copy_strs(&d->environments, &d->environments_count, q->environments,
                        q->environments_count)) != TOPO_OK ||
        (rc = copy_strs(&d->teams, &d->teams_count, q->teams, q->teams_count)) != TOPO_OK ||
        (rc = copy_strs(&d->regions, &d->regions_count, q->regions, q->regions_count)) != TOPO_OK ||
        (rc = copy_strs(&d->label_selectors, &d->label_selectors_count, q->label_selectors,
                        q->label_selectors_count)) != TOPO_OK)
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
    rc = connection_open(c);
    if (rc == TOPO_OK) rc = connection_call(c, &req, W_GET_RESP, &reply, "get topology");
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
