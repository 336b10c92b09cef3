/* auth.c - the authenticate handshake of a server run with --auth-token-file (docs/protocol.md).
 *
 * Done on a fresh socket before the client publishes it (so before the reader thread reads it and
 * before anything else is sent): one authenticate_request, one reply read here. The server sends
 * nothing unasked, so the reply is the only frame on the wire; bytes after it are a protocol error
 * rather than something to hand to the reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define GRPC_UNAUTHENTICATED 16

/* Sends the request; reads one frame into *reply within deadline. */
static int exchange(int fd, const w_frame *req, w_frame *reply, uint32_t max_frame, int64_t deadline,
                    char *err, size_t err_len)
{
    frame_reader fr;
    size_t len;
    uint8_t *out = frame_encode(req, &len);
    int rc;
    if (!out) return TOPO_ENOMEM;
    rc = net_send_all(fd, out, len);
    free(out);
    if (rc != TOPO_OK) {
        snprintf(err, err_len, "authenticate: sending failed: %s", topo_strerror(rc));
        return rc;
    }
    frame_reader_init(&fr, max_frame);
    for (;;) {
        uint8_t chunk[1024];
        long n;
        int64_t left;
        frame_err fe = frame_reader_next(&fr, reply);
        if (fe == FRAME_OK) {
            rc = fr.len > fr.pos ? TOPO_EPROTO : TOPO_OK;
            if (rc != TOPO_OK) snprintf(err, err_len, "authenticate: the server sent more than its reply");
            break;
        }
        if (fe != FRAME_NEED_MORE) {
            char why[160];
            frame_reader_describe(&fr, why, sizeof why);
            snprintf(err, err_len, "authenticate: %s", why);
            rc = fe == FRAME_ERR_TOO_BIG ? TOPO_ETOOBIG : fe == FRAME_ERR_NOMEM ? TOPO_ENOMEM : TOPO_EPROTO;
            break;
        }
        left = deadline - mono_ms();
        if (left <= 0) {
            rc = TOPO_ETIMEDOUT;
            snprintf(err, err_len, "authenticate: no reply in time");
            break;
        }
        rc = net_wait_readable(fd, (int)left);
        if (rc == 0) continue;
        if (rc < 0) {
            snprintf(err, err_len, "authenticate: poll failed");
            break;
        }
        n = net_recv(fd, chunk, sizeof chunk);
        if (n <= 0) {
            rc = n == 0 ? TOPO_ECLOSED : (int)n;
            snprintf(err, err_len, "authenticate: the server closed the connection without a reply");
            break;
        }
        if (frame_reader_feed(&fr, chunk, (size_t)n) != FRAME_OK) {
            rc = TOPO_ENOMEM;
            snprintf(err, err_len, "authenticate: out of memory");
            break;
        }
    }
    frame_reader_free(&fr);
    return rc;
}

int auth_handshake(int fd, const char *token, uint64_t call_id, int io_timeout_ms, uint32_t max_frame,
                   int32_t *status, char *err, size_t err_len)
{
    w_frame req, reply;
    int rc;
    memset(&req, 0, sizeof req);
    memset(&reply, 0, sizeof reply);
    req.call_id = call_id;
    req.which = W_AUTH_REQ;
    req.u.auth_req.token = (char *)token; /* borrowed: req is not freed */
    rc = exchange(fd, &req, &reply, max_frame, mono_ms() + io_timeout_ms, err, err_len);
    if (rc == TOPO_OK) {
        if (reply.has_status && reply.status.code != 0) {
            *status = reply.status.code;
            rc = reply.status.code == GRPC_UNAUTHENTICATED ? TOPO_EAUTH : TOPO_ESTATUS;
            snprintf(err, err_len, "authenticate: server status %d: %s", (int)reply.status.code,
                     reply.status.message ? reply.status.message : "");
        } else if (reply.call_id != call_id || reply.which != W_AUTH_RESP ||
                   !reply.u.auth_resp.authenticated) {
            rc = TOPO_EPROTO;
            snprintf(err, err_len, "authenticate: unexpected reply (call %llu, message %u)",
                     (unsigned long long)reply.call_id, reply.which);
        }
    }
    pb_free(&w_frame_desc, &reply);
    return rc;
}
