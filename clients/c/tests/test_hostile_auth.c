/* test_hostile_auth - the authenticate handshake against fake servers (fake_server.h) that answer
 * it wrongly, with garbage, half a frame, or nothing: each a specific error in bounded time. */
#include "fake_server.h"
#include "testutil.h"

/* ---- the authenticate handshake against misbehaving servers ------------------------------ */

#define HOSTILE_TOKEN "hostile-test-token-0123456789"

/* Answers the handshake (recording whether it was one, with the token) with the frame in fk->raw
 * (call id patched to the request's), or with a proper acceptance when raw is NULL; then serves a
 * GetTopology with an empty snapshot, to show the connection is in use. */
static void sc_auth(fake *fk, int fd)
{
    frame_reader r;
    w_frame f, reply;
    frame_reader_init(&r, 1 << 20);
    if (read_frame(fd, &r, &f, 2000) == 0) {
        if (f.which == W_AUTH_REQ && f.u.auth_req.token && strcmp(f.u.auth_req.token, HOSTILE_TOKEN) == 0)
            fk_set(&fk->registers, 1); /* "registers" counts good handshakes here */
        memset(&reply, 0, sizeof reply);
        reply.call_id = f.call_id;
        if (fk->raw) {
            send_raw(fd, fk->raw, fk->raw_len);
        } else {
            reply.end_of_stream = true;
            reply.has_status = true;
            reply.which = W_AUTH_RESP;
            reply.u.auth_resp.authenticated = true;
            send_frame(fd, &reply);
            pb_free(&w_frame_desc, &f);
            if (read_frame(fd, &r, &f, 2000) == 0 && f.which == W_GET_REQ) {
                memset(&reply, 0, sizeof reply);
                reply.call_id = f.call_id;
                reply.end_of_stream = true;
                reply.which = W_GET_RESP;
                send_frame(fd, &reply);
            }
        }
    }
    pb_free(&w_frame_desc, &f);
    frame_reader_free(&r);
    t_sleep_ms(600); /* keep the connection open: the client must decide by itself */
}

static void run_auth_case(const char *name, const void *raw, size_t raw_len, int want)
{
    fake fk;
    topo_client *c = NULL;
    long long t0;
    fake_start(&fk, sc_auth, 1);
    fk.raw = raw;
    fk.raw_len = raw_len;
    t0 = t_now_ms();
    CHECK_RC(t_connect(fk.port, 400, HOSTILE_TOKEN, &c), want);
    CHECK(t_now_ms() - t0 < 1500); /* bounded: io timeout is 400 ms */
    printf("     %-28s -> %s\n", name, topo_strerror(want));
    if (want == TOPO_OK && c) {
        topo_snapshot *s = NULL;
        CHECK_RC(topo_get_topology(c, NULL, &s), TOPO_OK);
        topo_snapshot_free(s);
    } else {
        CHECK(c == NULL);
    }
    topo_client_close(c);
    fake_stop(&fk);
    CHECK_EQ_INT(fk.registers, 1); /* the first frame was the handshake, with the token */
}

static void test_auth_handshake(void)
{
    /* call 0, end_of_stream, Status{16, "bad token"}: the golden vector frame__unauthenticated_on_call_0 */
    static const uint8_t refused[] = {0x11, 0x10, 0x01, 0x1a, 0x0d, 0x08, 0x10, 0x12, 0x09, 'b', 'a', 'd',
                                      ' ', 't', 'o', 'k', 'e', 'n'};
    /* call 1, authenticate_response{authenticated=false} */
    static const uint8_t not_authenticated[] = {0x05, 0x08, 0x01, 0xba, 0x01, 0x00};
    /* call 1, end_of_stream, Status{}, authenticate_response{true}, then a stray frame */
    static const uint8_t trailing[] = {0x0b, 0x08, 0x01, 0x10, 0x01, 0x1a, 0x00, 0xba, 0x01, 0x02, 0x08, 0x01,
                                       0x02, 0x08, 0x07};
    /* call 1, a register response instead */
    static const uint8_t wrong_message[] = {0x04, 0x08, 0x01, 0x5a, 0x00};
    static const uint8_t garbage[] = {0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t truncated[] = {0x20, 0x08, 0x01};
    run_auth_case("accepted", NULL, 0, TOPO_OK);
    run_auth_case("UNAUTHENTICATED on call 0", refused, sizeof refused, TOPO_EAUTH);
    run_auth_case("authenticated=false", not_authenticated, sizeof not_authenticated, TOPO_EPROTO);
    run_auth_case("bytes after the reply", trailing, sizeof trailing, TOPO_EPROTO);
    run_auth_case("another message", wrong_message, sizeof wrong_message, TOPO_EPROTO);
    run_auth_case("garbage", garbage, sizeof garbage, TOPO_EPROTO);
    run_auth_case("truncated, no close", truncated, sizeof truncated, TOPO_ETIMEDOUT);
    run_auth_case("silent", "", 0, TOPO_ETIMEDOUT);
}

int main(void)
{
    RUN(test_auth_handshake);
    return T_SUMMARY("test_hostile_auth");
}
