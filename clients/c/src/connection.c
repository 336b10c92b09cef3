/* connection.c - the connection: connecting with failover over the addresses (and the
 * authentication handshake), sending frames, unary calls, and losing the connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_internal.h"

int connection_open(topo_client *c)
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
        client_set_error(c, "%s", err);
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
    client_set_state(c, c->registered ? TOPO_CLIENT_RECOVERING : TOPO_CLIENT_CONNECTED);
    return TOPO_OK;
}

void connection_lost(topo_client *c, uint64_t gen, int err, const char *why)
{
    pending *p;
    topo_watch *w;
    if (gen != c->gen || c->fd < 0) return;
    pthread_mutex_lock(&c->wmu);
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&c->wmu);
    if (!c->closing) client_set_error(c, "%s", c->drop_reason[0] ? c->drop_reason : why);
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
    client_set_state(c, c->registered ? TOPO_CLIENT_RECOVERING : TOPO_CLIENT_DISCONNECTED);
}

void connection_shutdown(topo_client *c)
{
    pthread_mutex_lock(&c->wmu);
    if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->wmu);
}

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

int connection_send_frame(topo_client *c, const w_frame *f, uint64_t gen)
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

void connection_end_call(topo_client *c, uint64_t call_id)
{
    w_frame f;
    memset(&f, 0, sizeof f);
    f.call_id = call_id;
    f.end_of_stream = true;
    (void)connection_send_frame(c, &f, c->gen);
}

int connection_call(topo_client *c, w_frame *req, uint32_t expect, w_frame *reply, const char *what)
{
    pending p, **pp;
    int rc;
    int64_t deadline;
    if (c->closing) return TOPO_ESTATE;
    if (c->fd < 0) {
        client_set_error(c, "%s: not connected", what);
        return TOPO_ECLOSED;
    }
    memset(&p, 0, sizeof p);
    p.call_id = req->call_id = ++c->next_call_id;
    p.next = c->pendings;
    c->pendings = &p;
    rc = connection_send_frame(c, req, c->gen);
    deadline = mono_ms() + c->io_timeout_ms;
    while (rc == TOPO_OK && !p.done && !c->closing && mono_ms() < deadline)
        cond_wait_until(&c->cv, &c->mu, deadline);
    for (pp = &c->pendings; *pp; pp = &(*pp)->next)
        if (*pp == &p) {
            *pp = p.next;
            break;
        }
    if (rc != TOPO_OK) {
        client_set_error(c, "%s: sending failed: %s", what, topo_strerror(rc));
    } else if (!p.done) {
        rc = c->closing ? TOPO_ESTATE : TOPO_ETIMEDOUT;
        client_set_error(c, "%s: no reply within %d ms", what, c->io_timeout_ms);
    } else if (p.result != TOPO_OK) {
        rc = p.result; /* the reader set the message */
    } else if (p.reply.has_status && p.reply.status.code != 0) {
        rc = client_status_error(c, &p.reply.status, what);
    } else if (p.reply.which != expect) {
        rc = TOPO_EPROTO;
        client_set_error(c, "%s: unexpected reply (message %u, expected %u)", what, p.reply.which,
                         expect);
        snprintf(c->drop_reason, sizeof c->drop_reason, "%s", c->last_error);
        connection_shutdown(c); /* never reuse a connection after a protocol error */
    }
    if (rc == TOPO_OK) *reply = p.reply;
    else pb_free(&w_frame_desc, &p.reply);
    return rc;
}
