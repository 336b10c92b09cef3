/* registration.c - registering and unregistering the service. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

int registration_send(topo_client *c)
{
    w_frame req, reply;
    int rc;
    const w_handle *h;
    memset(&req, 0, sizeof req);
    req.which = W_REGISTER_REQ;
    req.u.register_req = c->reg; /* shallow: not freed */
    req.u.register_req.service_id = c->service_id;
    rc = connection_call(c, &req, W_REGISTER_RESP, &reply, "register");
    if (rc != TOPO_OK) return rc;
    h = &reply.u.register_resp.handle;
    if (!reply.u.register_resp.has_handle || !h->service_id || !h->service_id[0]) {
        pb_free(&w_frame_desc, &reply);
        client_set_error(c, "register: the reply has no service id");
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
    c->registration_era = agg_new_era(&c->agg);
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

/* The name's own check, with a message: the server would refuse these names (INVALID_ARGUMENT), and
 * a registration waiting for a server would retry a refused one for ever. */
static const char *name_problem(const char *name)
{
    size_t n = strlen(name), i;
    if (n == 0) return "the service name is empty";
    if (n > 256) return "the service name is longer than 256 bytes";
    for (i = 0; i < n; i++)
        if (!strchr(" \t\n\v\f\r", name[i])) return NULL;
    return "the service name is only whitespace";
}

/* The labels of info, copied and sorted (a key given twice keeps its last value). */
static int copy_labels(w_register_req *d, const topo_service_info *info)
{
    size_t i;
    if (info->labels_count == 0) return TOPO_OK;
    if (!info->labels || info->labels_count > SIZE_MAX / sizeof *d->labels) return TOPO_EINVAL;
    for (i = 0; i < info->labels_count; i++) {
        const topo_label *l = &info->labels[i];
        if (!l->key || !l->value || !pb_utf8_valid((const uint8_t *)l->key, strlen(l->key)) ||
            !pb_utf8_valid((const uint8_t *)l->value, strlen(l->value)))
            return TOPO_EINVAL;
    }
    d->labels = calloc(info->labels_count, sizeof *d->labels);
    if (!d->labels) return TOPO_ENOMEM;
    for (i = 0; i < info->labels_count; i++) {
        topo_label *l = &d->labels[d->labels_count];
        if (!(l->key = pb_strdup(info->labels[i].key))) return TOPO_ENOMEM;
        d->labels_count++;
        if (!(l->value = pb_strdup(info->labels[i].value))) return TOPO_ENOMEM;
    }
    return pb_map_finish(d->labels, &d->labels_count) ? TOPO_OK : TOPO_ENOMEM;
}

int topo_register(topo_client *c, const topo_service_info *info)
{
    int rc;
    const char *problem;
    if (!c) return TOPO_EINVAL;
    problem = !info ? "no service info (NULL)" : !info->name ? "no service name (NULL)" : name_problem(info->name);
    pthread_mutex_lock(&c->mu);
    if (problem) {
        client_set_error(c, "register: %s", problem);
        pthread_mutex_unlock(&c->mu);
        return TOPO_EINVAL;
    }
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
    if ((rc = copy_labels(&c->reg, info)) != TOPO_OK) goto out;
    rc = connection_open(c);
    if (rc == TOPO_OK) rc = registration_send(c);
    if (rc == TOPO_OK || rc == TOPO_ECONNECT) {
        /* No server listens (yet): the keeper connects with backoff and registers as soon as one
         * does; calls are kept meanwhile. A server's refusal is the caller's error. */
        c->registered = true;
        c->need_register = rc == TOPO_ECONNECT;
        agg_set_accepting(&c->agg, true);
        c->hb_seq = 0;
        client_set_state(c, rc == TOPO_OK ? TOPO_CLIENT_REGISTERED : TOPO_CLIENT_RECOVERING);
        if (rc == TOPO_ECONNECT) {
            rc = TOPO_OK;
            pthread_cond_broadcast(&c->cv); /* the keeper now wants a connection */
        }
    }
out:
    if (rc != TOPO_OK) pb_free(&w_register_req_desc, &c->reg);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int topo_unregister(topo_client *c)
{
    w_frame req, reply;
    int rc;
    if (!c) return TOPO_EINVAL;
    pthread_mutex_lock(&c->mu);
    if (!c->registered) {
        pthread_mutex_unlock(&c->mu);
        return TOPO_ESTATE;
    }
    if (!c->service_id) { /* still waiting for a server: nothing to remove there, give it up */
        agg_set_accepting(&c->agg, false);
        c->registered = false;
        c->need_register = false;
        pb_free(&w_register_req_desc, &c->reg);
        agg_free_list(agg_take(&c->agg));
        client_set_state(c, c->fd >= 0 ? TOPO_CLIENT_CONNECTED : TOPO_CLIENT_DISCONNECTED);
        pthread_mutex_unlock(&c->mu);
        return TOPO_OK;
    }
    agg_set_accepting(&c->agg, false);
    (void)activity_flush(c);
    c->registered = false;
    c->need_register = false;
    if (c->hb_call_id) {
        uint64_t call_id = c->hb_call_id;
        c->hb_call_id = 0;
        connection_end_call(c, call_id);
    }
    memset(&req, 0, sizeof req);
    req.which = W_UNREGISTER_REQ;
    req.u.unregister_req.service_id = c->service_id;
    rc = connection_call(c, &req, W_UNREGISTER_RESP, &reply, "unregister");
    if (rc == TOPO_OK) pb_free(&w_frame_desc, &reply);
    pb_str_free(c->service_id);
    c->service_id = NULL;
    pb_free(&w_register_req_desc, &c->reg);
    agg_free_list(agg_take(&c->agg));
    client_set_state(c, c->fd >= 0 ? TOPO_CLIENT_CONNECTED : TOPO_CLIENT_DISCONNECTED);
    pthread_mutex_unlock(&c->mu);
    return rc;
}
