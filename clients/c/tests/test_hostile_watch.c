/* test_hostile_watch - watches and large frames against a fake server (fake_server.h): a flood the
 * application does not read, a resume after a lost connection, frames over max_frame_bytes, and a
 * snapshot over the old 16 MiB default. */
#include "fake_server.h"
#include "testutil.h"

/* ---- watches ------------------------------------------------------------------------------ */

/* Floods a watch with 5000 updates that the application does not read. */
static void sc_flood(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    uint64_t first, rev;
    frame_reader_init(&r, 1 << 20);
    if (read_frame(fd, &r, &f, 2000) != 0 || f.which != W_WATCH_REQ) {
        pb_free(&w_frame_desc, &f);
        frame_reader_free(&r);
        return;
    }
    first = f.call_id;
    pb_free(&w_frame_desc, &f);
    send_update(fd, first, TOPO_UPDATE_SNAPSHOT, 1);
    for (rev = 2; rev <= 5001; rev++) send_update(fd, first, TOPO_UPDATE_NODE_UPDATED, rev);
    while (read_frame(fd, &r, &f, 1500) == 0) {
        if (f.call_id == first && f.end_of_stream) fk_set(&fk->cancel_seen, 1);
        if (f.which == W_WATCH_REQ && f.call_id != first) {
            fk_set(&fk->resume_sent, f.u.watch_req.has_resume_after_revision);
            send_update(fd, f.call_id, TOPO_UPDATE_SNAPSHOT, 6000);
            fk_set(&fk->resubscribed, 1);
        }
        pb_free(&w_frame_desc, &f);
    }
    frame_reader_free(&r);
}

static void test_watch_overflow(void)
{
    fake fk;
    topo_client *c;
    topo_watch *w = NULL;
    topo_update *u = NULL;
    long long deadline;
    fake_start(&fk, sc_flood, 1);
    c = connect_to(fk.port, 1000);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_watch_start(c, NULL, NULL, NULL, &w), TOPO_OK);
    deadline = t_now_ms() + 5000;
    while (!fk_get(&fk.resubscribed) && t_now_ms() < deadline) t_sleep_ms(5);
    CHECK(fk_get(&fk.resubscribed));
    CHECK(fk_get(&fk.cancel_seen));
    CHECK(!fk_get(&fk.resume_sent)); /* dropped updates cannot be resumed from: a fresh snapshot */
    CHECK_RC(topo_watch_next(w, 2000, &u), TOPO_OK);
    CHECK(u && u->type == TOPO_UPDATE_SNAPSHOT && u->resync && u->revision == 6000);
    topo_update_free(u);
    CHECK_RC(topo_watch_next(w, 50, &u), TOPO_ETIMEDOUT);
    topo_watch_close(w);
    topo_client_close(c);
    fake_stop(&fk);
}

/* First connection: snapshot (rev 5, epoch "epoch-x"), one update (rev 6), then the connection
 * drops. Second connection: the watch must come back asking to resume after 6 in "epoch-x". */
static void sc_resume(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    frame_reader_init(&r, 1 << 20);
    if (read_frame(fd, &r, &f, 2000) == 0 && f.which == W_WATCH_REQ) {
        if (fk->conns == 1) {
            w_frame s;
            memset(&s, 0, sizeof s);
            s.call_id = f.call_id;
            s.which = W_WATCH_RESP;
            s.u.watch_resp.has_update = true;
            s.u.watch_resp.update.type = TOPO_UPDATE_SNAPSHOT;
            s.u.watch_resp.update.revision = 5;
            s.u.watch_resp.update.has_snapshot = true;
            s.u.watch_resp.update.snapshot.revision = 5;
            s.u.watch_resp.update.snapshot.server_epoch = pb_strdup("epoch-x");
            send_frame(fd, &s);
            pb_free(&w_frame_desc, &s);
            send_update(fd, f.call_id, TOPO_UPDATE_NODE_UPDATED, 6);
            t_sleep_ms(50);
        } else {
            const w_watch_req *q = &f.u.watch_req;
            fk_set(&fk->resume_ok, q->has_resume_after_revision && q->resume_after_revision == 6 &&
                                       q->resume_server_epoch &&
                                       strcmp(q->resume_server_epoch, "epoch-x") == 0);
            fk_set(&fk->resubscribed, 1);
            send_update(fd, f.call_id, TOPO_UPDATE_NODE_UPDATED, 7); /* the replay */
            t_sleep_ms(300);
        }
    }
    pb_free(&w_frame_desc, &f);
    frame_reader_free(&r);
}

static void test_watch_resume(void)
{
    fake fk;
    topo_client *c;
    topo_watch *w = NULL;
    topo_update *u = NULL;
    uint64_t revs[3] = {0, 0, 0};
    int i;
    fake_start(&fk, sc_resume, 2);
    c = connect_to(fk.port, 1000);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_watch_start(c, NULL, NULL, NULL, &w), TOPO_OK);
    for (i = 0; i < 3; i++) {
        CHECK_RC(topo_watch_next(w, 3000, &u), TOPO_OK);
        if (u) revs[i] = u->revision;
        topo_update_free(u);
        u = NULL;
    }
    CHECK(revs[0] == 5 && revs[1] == 6 && revs[2] == 7);
    CHECK(fk_get(&fk.resubscribed) && fk_get(&fk.resume_ok));
    topo_watch_close(w);
    topo_client_close(c);
    fake_stop(&fk);
}

/* ---- frames over max_frame_bytes ---------------------------------------------------------- */

/* Every watch request is answered with the start of a frame announced at 1 MiB (with or without
 * the call id after the length), then nothing: the client must drop the connection. Counts the
 * watch requests, so a client that resubscribes after the drop is seen. */
static void sc_too_big_watch(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    long long deadline = t_now_ms() + 1500;
    frame_reader_init(&r, 1 << 20);
    while (t_now_ms() < deadline && read_frame(fd, &r, &f, 1500) == 0) {
        if (f.which == W_WATCH_REQ) {
            uint8_t b[16];
            size_t n = 0;
            uint64_t id = f.call_id;
            b[n++] = 0x80; /* 1 MiB + 1: 0x80 0x80 0x40 is 2^20, then 1 more */
            b[n++] = 0x80;
            b[n++] = 0x40;
            b[0] |= 0x01;
            if (fk_get(&fk->send_call_id)) {
                b[n++] = 0x08; /* field 1 (call_id), varint */
                do {
                    b[n++] = (uint8_t)((id & 0x7F) | (id > 0x7F ? 0x80 : 0));
                    id >>= 7;
                } while (id);
            }
            fk_set(&fk->watch_requests, fk_get(&fk->watch_requests) + 1);
            send_raw(fd, b, n);
        }
        pb_free(&w_frame_desc, &f);
    }
    pb_free(&w_frame_desc, &f);
    frame_reader_free(&r);
}

/* A watch sent a frame over max_frame_bytes ends with TOPO_ETOOBIG instead of resubscribing for
 * ever (each resubscription would fetch the same frame and drop the shared connection again). */
static void run_too_big_watch(int send_call_id)
{
    fake fk;
    char addr[64], msg[256];
    const char *addrs[1];
    topo_options o;
    topo_client *c = NULL;
    topo_watch *w = NULL;
    topo_update *u = NULL;
    fake_start(&fk, sc_too_big_watch, 5);
    fk_set(&fk.send_call_id, send_call_id);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", fk.port);
    addrs[0] = addr;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    o.io_timeout_ms = 1000;
    o.max_frame_bytes = 64 * 1024;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_watch_start(c, NULL, NULL, NULL, &w), TOPO_OK);
    CHECK_RC(topo_watch_next(w, 3000, &u), TOPO_ETOOBIG);
    CHECK_RC(topo_watch_status(w), TOPO_ETOOBIG);
    topo_client_last_error(c, msg, sizeof msg);
    CHECK(strstr(msg, "watch ended") && strstr(msg, "1048577") && strstr(msg, "max_frame_bytes"));
    t_sleep_ms(300); /* a client that resubscribes does so within 20-40 ms */
    CHECK_EQ_INT(fk_get(&fk.watch_requests), 1);
    CHECK_RC(topo_watch_next(w, 0, &u), TOPO_ETOOBIG);
    topo_watch_close(w);
    topo_client_close(c);
    fake_stop(&fk);
}

static void test_too_big_watch_ends(void)
{
    run_too_big_watch(1); /* the frame names the watch's call */
    run_too_big_watch(0); /* only the length came: every subscribed watch counts as its owner */
}

/* The default max_frame_bytes takes a GetTopology answer over the old 16 MiB default. */
#define BIG_HOST_BYTES (6u * 1024 * 1024)
static void sc_big_snapshot(fake *fk, int fd)
{
    frame_reader r;
    w_frame f, s;
    char *host = malloc(BIG_HOST_BYTES + 1);
    size_t i;
    (void)fk;
    frame_reader_init(&r, 1 << 20);
    memset(&s, 0, sizeof s);
    if (host && read_frame(fd, &r, &f, 2000) == 0 && f.which == W_GET_REQ) {
        memset(host, 'h', BIG_HOST_BYTES);
        host[BIG_HOST_BYTES] = '\0';
        s.call_id = f.call_id;
        s.end_of_stream = true;
        s.which = W_GET_RESP;
        s.u.get_resp.has_snapshot = true;
        s.u.get_resp.snapshot.nodes = calloc(3, sizeof(topo_node));
        if (s.u.get_resp.snapshot.nodes) {
            s.u.get_resp.snapshot.nodes_count = 3;
            for (i = 0; i < 3; i++) {
                s.u.get_resp.snapshot.nodes[i].service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
                s.u.get_resp.snapshot.nodes[i].service_name = pb_strdup("big");
                s.u.get_resp.snapshot.nodes[i].host = pb_strdup(host);
            }
            send_frame(fd, &s);
        }
        t_sleep_ms(300);
    }
    pb_free(&w_frame_desc, &f);
    pb_free(&w_frame_desc, &s);
    frame_reader_free(&r);
    free(host);
}

static void test_default_frame_limit(void)
{
    fake fk;
    topo_client *c;
    topo_snapshot *s = NULL;
    fake_start(&fk, sc_big_snapshot, 1);
    c = connect_to(fk.port, 5000); /* max_frame_bytes left at its default */
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_get_topology(c, NULL, &s), TOPO_OK);
    CHECK(s && s->nodes_count == 3 && strlen(s->nodes[2].host) == BIG_HOST_BYTES);
    topo_snapshot_free(s);
    topo_client_close(c);
    fake_stop(&fk);
}

int main(void)
{
    RUN(test_watch_overflow);
    RUN(test_watch_resume);
    RUN(test_too_big_watch_ends);
    RUN(test_default_frame_limit);
    return T_SUMMARY("test_hostile_watch");
}
