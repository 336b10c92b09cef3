/* reader.c - the reader thread: reads frames off the connection and dispatches them by call_id
 * (unary replies, heartbeat answers, watch updates, activity answers); after any read or protocol
 * error it drops the connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

/* The sentence for a peer whose first bytes are an HTTP response: an HTTP port (the dashboard's)
 * given instead of the frames port. Quotes the status line and the first line of the body, where
 * a topology-server names its frames port. */
static void describe_http_answer(const char *address, const uint8_t *buf, size_t n, char *why, size_t len)
{
    const char *text = (const char *)buf, *end = text + n, *eol, *body, *body_end;
    eol = memchr(text, '\r', n);
    if (!eol) eol = end;
    body = NULL;
    for (body_end = text; body_end + 3 < end; body_end++)
        if (memcmp(body_end, "\r\n\r\n", 4) == 0) {
            body = body_end + 4;
            break;
        }
    body_end = body ? memchr(body, '\n', (size_t)(end - body)) : NULL;
    if (body && !body_end) body_end = end;
    snprintf(why, len, "%s is an HTTP server, not a topology frames port (it answered \"%.*s\")%s%.*s", address,
             (int)(eol - text > 60 ? 60 : eol - text), text, body && body_end > body ? ": " : "",
             body ? (int)(body_end - body > 240 ? 240 : body_end - body) : 0, body ? body : "");
}

/* mu held. Takes ownership of f's contents; bytes is its size on the wire. */
static void dispatch(topo_client *c, w_frame *f, size_t bytes)
{
    pending *p;
    if (f->call_id == 0) {
        if (f->has_status) {
            c->last_status = f->status.code;
            client_set_error(c, "server closed the connection: status %d: %s", (int)f->status.code,
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
    if (f->call_id == c->hb_call_id) heartbeat_answer(c, f);
    else if (!watch_answer(c, f, bytes)) activity_answer(c, f);
    /* anything else (late replies) is dropped */
    pb_free(&w_frame_desc, f);
}

void *reader_main(void *arg)
{
    topo_client *c = arg;
    uint8_t *buf = malloc(65536);
    pthread_mutex_lock(&c->mu);
    while (!c->closing && buf) {
        int fd;
        uint64_t gen;
        frame_reader fr;
        int err = TOPO_ECLOSED;
        bool first = true;
        const char *address;
        char why[400] = "connection closed by the server";
        if (c->fd < 0) {
            cond_wait_until(&c->cv, &c->mu, -1);
            continue;
        }
        fd = c->fd;
        gen = c->gen;
        address = c->addresses[c->addr_index]; /* read under mu: connection_open sets it */
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
            if (first && n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
                /* as a Frame: length 'H' (72), then 'T', a group: an undecodable-frame error */
                err = TOPO_EPROTO;
                describe_http_answer(address, buf, (size_t)n, why, sizeof why);
                break;
            }
            first = false;
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
