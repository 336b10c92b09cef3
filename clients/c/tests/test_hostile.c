/* test_hostile - the client against a fake server that sends garbage, truncated frames, oversized
 * lengths, wrong replies, or nothing: every call returns an error in bounded time, nothing
 * crashes, hangs or leaks (run under ASan+UBSan by `make test`). Also recovery logic that needs
 * a scripted server: failover, re-registration keeping the id after a dropped connection and after
 * a heartbeat NOT_FOUND. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "../include/topology.h"
#include "testutil.h"
#include "wire.h"

/* ---- a scripted fake server ------------------------------------------------------------- */

typedef struct fake fake;
typedef void (*scenario_fn)(fake *fk, int fd);

struct fake {
    int lfd, port, max_conns, conns;
    scenario_fn fn;
    pthread_t th;
    volatile int stop;
    /* what the scenarios recorded (fk_get/fk_set while the fake runs) */
    volatile int registers;
    char first_id[64];
    char reregister_id[64]; /* read after fake_stop */
    int heartbeats;
    int seen_not_found_reregister;
    volatile int resubscribed, resume_sent, cancel_seen;
    volatile int resume_ok;
    volatile int watch_requests, send_call_id;
    /* sc_activity_times: the last report to each of two targets: 0 none, 1 without a time, 2 with */
    volatile int kept_report, live_report;
    int64_t kept_timestamp_ms;
    const uint8_t *raw;
    size_t raw_len;
};

/* Flags shared between a fake server's thread and the test thread. */
static pthread_mutex_t fk_mu = PTHREAD_MUTEX_INITIALIZER;
static int fk_get(volatile int *p)
{
    int v;
    pthread_mutex_lock(&fk_mu);
    v = *p;
    pthread_mutex_unlock(&fk_mu);
    return v;
}
static void fk_set(volatile int *p, int v)
{
    pthread_mutex_lock(&fk_mu);
    *p = v;
    pthread_mutex_unlock(&fk_mu);
}

static int read_frame(int fd, frame_reader *r, w_frame *f, int timeout_ms)
{
    long long deadline = t_now_ms() + timeout_ms;
    for (;;) {
        uint8_t buf[4096];
        struct pollfd p;
        ssize_t n;
        int left;
        frame_err e;
        memset(f, 0, sizeof *f);
        e = frame_reader_next(r, f);
        if (e == FRAME_OK) return 0;
        if (e != FRAME_NEED_MORE) return -1;
        left = (int)(deadline - t_now_ms());
        if (left <= 0) return -1;
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, left) <= 0) return -1;
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return -1;
        if (frame_reader_feed(r, buf, (size_t)n) != FRAME_OK) return -1;
    }
}

static void send_raw(int fd, const void *p, size_t n)
{
    if (send(fd, p, n, MSG_NOSIGNAL) < 0) { /* the client may be gone: fine */
    }
}

static void send_frame(int fd, w_frame *f)
{
    size_t n;
    uint8_t *b = frame_encode(f, &n);
    if (b) send_raw(fd, b, n);
    free(b);
}

static void *fake_main(void *arg)
{
    fake *fk = arg;
    while (!fk_get(&fk->stop) && fk->conns < fk->max_conns) {
        struct pollfd p;
        int fd;
        p.fd = fk->lfd;
        p.events = POLLIN;
        if (poll(&p, 1, 100) <= 0) continue;
        fd = accept(fk->lfd, NULL, NULL);
        if (fd < 0) continue;
        fk->conns++;
        fk->fn(fk, fd);
        close(fd);
    }
    return NULL;
}

/* A fake on 127.0.0.1:port (0: any free port). */
static void fake_start_on(fake *fk, scenario_fn fn, int max_conns, int port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1;
    memset(fk, 0, sizeof *fk);
    fk->fn = fn;
    fk->max_conns = max_conns;
    fk->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fk->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    CHECK(bind(fk->lfd, (struct sockaddr *)&a, sizeof a) == 0);
    listen(fk->lfd, 16);
    getsockname(fk->lfd, (struct sockaddr *)&a, &al);
    fk->port = ntohs(a.sin_port);
    pthread_create(&fk->th, NULL, fake_main, fk);
}

static void fake_start(fake *fk, scenario_fn fn, int max_conns)
{
    fake_start_on(fk, fn, max_conns, 0);
}

static void fake_stop(fake *fk)
{
    fk_set(&fk->stop, 1);
    pthread_join(fk->th, NULL);
    close(fk->lfd);
}

static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static topo_client *connect_to(int port, int io_timeout_ms)
{
    topo_client *c = NULL;
    CHECK_RC(t_connect(port, io_timeout_ms, NULL, &c), TOPO_OK);
    return c;
}

static const topo_service_info svc = {"hostile-test", TOPO_SERVICE_TYPE_CLIENT, TOPO_LANG_C,
                                      "1.0", NULL, NULL, NULL, NULL, 0};

/* ---- scenarios: read the client's first frame, then misbehave ---------------------------- */

static uint64_t first_call(int fd)
{
    frame_reader r;
    w_frame f;
    uint64_t id = 0;
    frame_reader_init(&r, 1 << 20);
    if (read_frame(fd, &r, &f, 2000) == 0) id = f.call_id;
    pb_free(&w_frame_desc, &f);
    frame_reader_free(&r);
    return id;
}

static void sc_raw_then_close(fake *fk, int fd)
{
    first_call(fd);
    send_raw(fd, fk->raw, fk->raw_len);
    t_sleep_ms(50);
}

static void sc_raw_then_linger(fake *fk, int fd)
{
    first_call(fd);
    send_raw(fd, fk->raw, fk->raw_len);
    t_sleep_ms(700); /* keep the connection open: the client must decide by itself */
}

static void sc_silent(fake *fk, int fd)
{
    (void)fk;
    first_call(fd);
    t_sleep_ms(600);
}

static void sc_close_at_once(fake *fk, int fd)
{
    (void)fk;
    (void)fd;
}

static void sc_wrong_reply(fake *fk, int fd)
{
    w_frame f;
    (void)fk;
    memset(&f, 0, sizeof f);
    f.call_id = first_call(fd);
    f.which = W_HEARTBEAT_RESP;
    f.u.heartbeat_resp.acknowledged = true;
    send_frame(fd, &f);
    t_sleep_ms(300);
}

static void sc_status(fake *fk, int fd)
{
    w_frame f;
    (void)fk;
    memset(&f, 0, sizeof f);
    f.call_id = first_call(fd);
    f.end_of_stream = true;
    f.has_status = true;
    f.status.code = 3;
    f.status.message = pb_strdup("service_name: must not be empty");
    send_frame(fd, &f);
    pb_free(&w_frame_desc, &f);
    t_sleep_ms(300);
}

static void sc_conn_status(fake *fk, int fd)
{
    w_frame f;
    (void)fk;
    first_call(fd);
    memset(&f, 0, sizeof f);
    f.has_status = true;
    f.status.code = 8;
    f.status.message = pb_strdup("frame over the limit of 1048576 bytes");
    send_frame(fd, &f);
    pb_free(&w_frame_desc, &f);
}

/* a valid frame whose body is a register response with a field of invalid UTF-8 */
static void sc_bad_utf8(fake *fk, int fd)
{
    uint8_t b[] = {0x0a, 0x08, 0x01, 0x5a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28};
    (void)fk;
    b[2] = (uint8_t)first_call(fd);
    send_raw(fd, b, sizeof b);
    t_sleep_ms(300);
}

static void run_register_case(const char *name, scenario_fn fn, const void *raw, size_t raw_len,
                              int want1, int want2)
{
    fake fk;
    topo_client *c;
    long long t0;
    int rc;
    fake_start(&fk, fn, 1);
    fk.raw = raw;
    fk.raw_len = raw_len;
    c = connect_to(fk.port, 400);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    t0 = t_now_ms();
    rc = topo_register(c, &svc);
    t_checks++;
    if (rc != want1 && rc != want2) {
        t_failures++;
        fprintf(stderr, "  FAIL %s: register returned %s\n", name, topo_strerror(rc));
    }
    CHECK(t_now_ms() - t0 < 1500); /* bounded: io timeout is 400 ms */
    CHECK(topo_client_state_get(c) != TOPO_CLIENT_REGISTERED);
    {
        char msg[256];
        topo_client_last_error(c, msg, sizeof msg);
        CHECK(msg[0] != '\0');
        printf("     %-24s -> %d \"%s\"\n", name, rc, msg);
    }
    topo_client_close(c);
    fake_stop(&fk);
}

static void test_hostile_replies(void)
{
    static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    static const uint8_t garbage[] = {0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t oversized[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    static const uint8_t long_prefix[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    static const uint8_t truncated[] = {0x20, 0x08, 0x01, 0x5a};
    static const uint8_t nested_len[] = {0x05, 0x08, 0x01, 0x5a, 0x7f, 0x00}; /* sub-length > parent */
    static const uint8_t group[] = {0x03, 0x08, 0x01, 0x0b};
    run_register_case("http response", sc_raw_then_close, http, sizeof http - 1, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("garbage body", sc_raw_then_linger, garbage, sizeof garbage, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("oversized length", sc_raw_then_linger, oversized, sizeof oversized, TOPO_ETOOBIG, TOPO_ETOOBIG);
    run_register_case("6-byte length prefix", sc_raw_then_linger, long_prefix, sizeof long_prefix, TOPO_EPROTO, TOPO_ETOOBIG);
    run_register_case("truncated frame+close", sc_raw_then_close, truncated, sizeof truncated, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("truncated, no close", sc_raw_then_linger, truncated, sizeof truncated, TOPO_ETIMEDOUT, TOPO_ETIMEDOUT);
    run_register_case("nested length > parent", sc_raw_then_linger, nested_len, sizeof nested_len, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("group wire type", sc_raw_then_linger, group, sizeof group, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("invalid utf-8", sc_bad_utf8, NULL, 0, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("silent server", sc_silent, NULL, 0, TOPO_ETIMEDOUT, TOPO_ETIMEDOUT);
    /* ECLOSED, or (if the reader saw the close before register started) the client reconnects to
     * the listening socket, where nobody accepts any more: a timeout */
    run_register_case("close on accept", sc_close_at_once, NULL, 0, TOPO_ECLOSED, TOPO_ETIMEDOUT);
    run_register_case("wrong reply type", sc_wrong_reply, NULL, 0, TOPO_EPROTO, TOPO_EPROTO);
    run_register_case("status reply", sc_status, NULL, 0, TOPO_ESTATUS, TOPO_ESTATUS);
    run_register_case("call 0 status + close", sc_conn_status, NULL, 0, TOPO_ECLOSED, TOPO_ECLOSED);
}

/* Pointed at an HTTP port by mistake: the error says so and quotes what the server said (a
 * topology-server's HTTP port names its frames port), instead of an undecodable-frame error. */
static void test_http_port_is_named(void)
{
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 58\r\n"
                                 "Connection: close\r\n\r\nthis is the HTTP port: the frames port is 127.0.0.1:50053\n";
    fake fk;
    topo_client *c;
    char msg[400], expected[200];
    fake_start(&fk, sc_raw_then_close, 1);
    fk.raw = (const uint8_t *)answer;
    fk.raw_len = sizeof answer - 1;
    c = connect_to(fk.port, 1000);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_register(c, &svc), TOPO_EPROTO);
    topo_client_last_error(c, msg, sizeof msg);
    snprintf(expected, sizeof expected,
             "127.0.0.1:%d is an HTTP server, not a topology frames port (it answered \"HTTP/1.1 400 Bad Request\"): "
             "this is the HTTP port: the frames port is 127.0.0.1:50053", fk.port);
    CHECK(strcmp(msg, expected) == 0);
    if (strcmp(msg, expected) != 0) fprintf(stderr, "  got: %s\n", msg);
    topo_client_close(c);
    fake_stop(&fk);
}

/* A server answering every request with a randomly damaged but correctly framed reply. */
static uint64_t fz_rng = 88172645463325252ull;
static void sc_fuzz(fake *fk, int fd)
{
    frame_reader r;
    w_frame req;
    (void)fk;
    frame_reader_init(&r, 1 << 20);
    while (read_frame(fd, &r, &req, 500) == 0) {
        w_frame f;
        uint8_t *b;
        size_t n, hdr, i, flips;
        memset(&f, 0, sizeof f);
        f.call_id = req.call_id;
        pb_free(&w_frame_desc, &req);
        f.which = W_GET_RESP;
        f.u.get_resp.has_snapshot = true;
        f.u.get_resp.snapshot.revision = 9;
        f.u.get_resp.snapshot.server_epoch = pb_strdup("epoch");
        f.u.get_resp.snapshot.nodes = calloc(3, sizeof(topo_node));
        f.u.get_resp.snapshot.nodes_count = 3;
        for (i = 0; i < 3; i++) {
            topo_node *nd = &f.u.get_resp.snapshot.nodes[i];
            nd->service_id = pb_strdup("0f6e1e7c-2a7e-4a47-9a7b-3c1d2e3f4a5b");
            nd->service_name = pb_strdup("svc");
            nd->has_metadata = true;
            nd->metadata.team = pb_strdup("core");
            nd->state = TOPO_NODE_ACTIVE;
        }
        f.u.get_resp.snapshot.edges = calloc(1, sizeof(topo_edge));
        f.u.get_resp.snapshot.edges_count = 1;
        f.u.get_resp.snapshot.edges[0].source_service_id = pb_strdup("a");
        f.u.get_resp.snapshot.edges[0].target_service = pb_strdup("b");
        f.u.get_resp.snapshot.edges[0].latency_p99_ms = 12.5;
        b = frame_encode(&f, &n);
        pb_free(&w_frame_desc, &f);
        for (hdr = 0; b[hdr] & 0x80; hdr++) {
        }
        hdr += 1 + 2; /* length prefix, then the call_id field (< 128): never damaged */
        flips = 1 + (fz_rng % 6);
        for (i = 0; i < flips; i++) {
            fz_rng ^= fz_rng << 13;
            fz_rng ^= fz_rng >> 7;
            fz_rng ^= fz_rng << 17;
            b[hdr + fz_rng % (n - hdr)] ^= (uint8_t)(fz_rng >> 40);
        }
        send_raw(fd, b, n);
        free(b);
    }
    frame_reader_free(&r);
}

static void test_fuzzed_snapshots(void)
{
    fake fk;
    topo_client *c;
    int i, ok = 0, errors = 0;
    fake_start(&fk, sc_fuzz, 1000);
    c = connect_to(fk.port, 300);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    for (i = 0; i < 60; i++) {
        topo_snapshot *s = NULL;
        int rc = topo_get_topology(c, NULL, &s);
        if (rc == TOPO_OK) {
            size_t k;
            ok++;
            CHECK(s != NULL);
            for (k = 0; s && k < s->nodes_count; k++) (void)strlen(s->nodes[k].service_id ? s->nodes[k].service_id : "");
            topo_snapshot_free(s);
        } else {
            errors++;
            CHECK(s == NULL);
            CHECK(rc == TOPO_EPROTO || rc == TOPO_ETIMEDOUT || rc == TOPO_ECLOSED ||
                  rc == TOPO_ESTATUS || rc == TOPO_ENOTFOUND || rc == TOPO_ETOOBIG);
        }
    }
    printf("     60 damaged snapshots: %d decoded, %d rejected\n", ok, errors);
    CHECK(ok + errors == 60);
    topo_client_close(c);
    fake_stop(&fk);
}

/* ---- recovery against a scripted server --------------------------------------------------- */

/* Register answers with a fixed id and a 50 ms interval. On the first connection: answers one
 * heartbeat, answers the next with NOT_FOUND, expects a re-register carrying the id, then drops
 * the connection. On the second connection: expects a re-register with the same id. */
static void sc_recovery(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    long long deadline = t_now_ms() + 3000;
    frame_reader_init(&r, 1 << 20);
    while (t_now_ms() < deadline && read_frame(fd, &r, &f, 1000) == 0) {
        w_frame out;
        memset(&out, 0, sizeof out);
        out.call_id = f.call_id;
        if (f.which == W_REGISTER_REQ) {
            const char *given = f.u.register_req.service_id;
            fk_set(&fk->registers, fk->registers + 1);
            if (fk->registers == 1) {
                CHECK(given == NULL); /* a first registration carries no id */
            } else {
                snprintf(fk->reregister_id, sizeof fk->reregister_id, "%s", given ? given : "(none)");
                if (fk->heartbeats >= 2 && fk->registers == 2) fk->seen_not_found_reregister = 1;
            }
            snprintf(fk->first_id, sizeof fk->first_id, "%s", "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
            out.which = W_REGISTER_RESP;
            out.u.register_resp.has_handle = true;
            out.u.register_resp.handle.service_id = pb_strdup(fk->first_id);
            out.u.register_resp.handle.heartbeat_interval_ms = 50;
            out.u.register_resp.handle.timeout_multiplier = 3;
            out.u.register_resp.handle.server_epoch = pb_strdup("epoch-1");
            out.u.register_resp.handle.activity_flush_ms = 100;
            send_frame(fd, &out);
            pb_free(&w_frame_desc, &out);
            if (fk->registers == 2) { /* drop the connection: the client must reconnect */
                pb_free(&w_frame_desc, &f);
                break;
            }
            if (fk->registers == 3) {
                pb_free(&w_frame_desc, &f);
                t_sleep_ms(100);
                break;
            }
        } else if (f.which == W_HEARTBEAT_REQ) {
            fk->heartbeats++;
            out.which = W_HEARTBEAT_RESP;
            out.u.heartbeat_resp.sequence = f.u.heartbeat_req.sequence;
            if (fk->heartbeats == 2) {
                out.has_status = true;
                out.status.code = 5;
                out.status.message = pb_strdup("unknown service: register again");
            } else {
                out.u.heartbeat_resp.acknowledged = true;
                out.u.heartbeat_resp.server_epoch = pb_strdup("epoch-1");
            }
            send_frame(fd, &out);
            pb_free(&w_frame_desc, &out);
        }
        pb_free(&w_frame_desc, &f);
    }
    frame_reader_free(&r);
}

/* Registers and acknowledges heartbeats; notes whether the reports to "kept" and "live" carry a
 * timestamp_ms. */
static void sc_activity_times(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    long long deadline = t_now_ms() + 5000;
    frame_reader_init(&r, 1 << 20);
    while (t_now_ms() < deadline && !fk_get(&fk->stop)) {
        w_frame out;
        if (read_frame(fd, &r, &f, 50) != 0) continue;
        memset(&out, 0, sizeof out);
        out.call_id = f.call_id;
        if (f.which == W_REGISTER_REQ) {
            out.which = W_REGISTER_RESP;
            out.u.register_resp.has_handle = true;
            out.u.register_resp.handle.service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
            out.u.register_resp.handle.heartbeat_interval_ms = 1000;
            out.u.register_resp.handle.timeout_multiplier = 3;
            out.u.register_resp.handle.server_epoch = pb_strdup("epoch-1");
            out.u.register_resp.handle.activity_flush_ms = 50;
            send_frame(fd, &out);
        } else if (f.which == W_HEARTBEAT_REQ) {
            out.which = W_HEARTBEAT_RESP;
            out.u.heartbeat_resp.sequence = f.u.heartbeat_req.sequence;
            out.u.heartbeat_resp.acknowledged = true;
            out.u.heartbeat_resp.server_epoch = pb_strdup("epoch-1");
            send_frame(fd, &out);
        } else if (f.which == W_ACTIVITY_REQ && f.u.activity_req.target_service) {
            const w_activity_req *a = &f.u.activity_req;
            int seen = a->has_timestamp_ms ? 2 : 1;
            pthread_mutex_lock(&fk_mu);
            if (strcmp(a->target_service, "kept") == 0) {
                fk->kept_report = seen;
                fk->kept_timestamp_ms = a->timestamp_ms;
            } else if (strcmp(a->target_service, "live") == 0) {
                fk->live_report = seen;
            }
            pthread_mutex_unlock(&fk_mu);
        }
        pb_free(&w_frame_desc, &out);
        pb_free(&w_frame_desc, &f);
    }
    frame_reader_free(&r);
}

/* Floods a watch with 5000 updates that the application does not read. */
static void send_update(int fd, uint64_t call_id, int type, uint64_t rev)
{
    w_frame f;
    memset(&f, 0, sizeof f);
    f.call_id = call_id;
    f.which = W_WATCH_RESP;
    f.u.watch_resp.has_update = true;
    f.u.watch_resp.update.type = type;
    f.u.watch_resp.update.revision = rev;
    if (type == TOPO_UPDATE_SNAPSHOT) {
        f.u.watch_resp.update.has_snapshot = true;
        f.u.watch_resp.update.snapshot.revision = rev;
        f.u.watch_resp.update.snapshot.server_epoch = pb_strdup("epoch-flood");
    } else {
        f.u.watch_resp.update.has_node = true;
        f.u.watch_resp.update.node.service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
        f.u.watch_resp.update.node.state = TOPO_NODE_IDLE;
    }
    send_frame(fd, &f);
    pb_free(&w_frame_desc, &f);
}

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

/* A server that goes silent without closing. First connection: answers the registration (or the
 * watch, with a snapshot at revision 9), then reads on and answers nothing until the client drops
 * the connection; how long that took is recorded. Second connection: answers everything, so the
 * client's recovery (same id, resumed watch) can be seen. */
static void answer_register(int fd, uint64_t call_id)
{
    w_frame out;
    memset(&out, 0, sizeof out);
    out.call_id = call_id;
    out.which = W_REGISTER_RESP;
    out.u.register_resp.has_handle = true;
    out.u.register_resp.handle.service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    out.u.register_resp.handle.heartbeat_interval_ms = 50;
    out.u.register_resp.handle.timeout_multiplier = 3;
    out.u.register_resp.handle.server_epoch = pb_strdup("epoch-s");
    out.u.register_resp.handle.activity_flush_ms = 100;
    send_frame(fd, &out);
    pb_free(&w_frame_desc, &out);
}

static void sc_goes_silent(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    long long start = 0, deadline = t_now_ms() + 4000;
    frame_reader_init(&r, 1 << 20);
    while (t_now_ms() < deadline && read_frame(fd, &r, &f, 4000) == 0) {
        if (fk->conns == 1 && start == 0) {
            start = t_now_ms();
            if (f.which == W_REGISTER_REQ) answer_register(fd, f.call_id);
            if (f.which == W_WATCH_REQ) send_update(fd, f.call_id, TOPO_UPDATE_SNAPSHOT, 9);
        } else if (fk->conns == 2) {
            if (f.which == W_REGISTER_REQ) {
                snprintf(fk->reregister_id, sizeof fk->reregister_id, "%s",
                         f.u.register_req.service_id ? f.u.register_req.service_id : "(none)");
                answer_register(fd, f.call_id);
                fk_set(&fk->registers, fk->registers + 1);
            } else if (f.which == W_WATCH_REQ) {
                fk_set(&fk->resume_ok, f.u.watch_req.has_resume_after_revision &&
                                           f.u.watch_req.resume_after_revision == 9);
                fk_set(&fk->resubscribed, 1);
            }
        }
        pb_free(&w_frame_desc, &f);
    }
    if (fk->conns == 1) fk_set(&fk->send_call_id, (int)(t_now_ms() - start)); /* ms until dropped */
    frame_reader_free(&r);
}

static void test_silent_server_is_dropped_and_recovered(void)
{
    fake fk;
    topo_client *c = NULL;
    topo_watch *w = NULL;
    topo_options o;
    topo_client_stats st;
    char a[64], id[64];
    const char *addrs[1];
    long long deadline;
    int dropped_after;

    /* Heartbeats unanswered: dropped after interval x multiplier = 150 ms, at least io_timeout. */
    fake_start(&fk, sc_goes_silent, 2);
    c = connect_to(fk.port, 300);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_register(c, &svc), TOPO_OK);
    topo_client_service_id(c, id, sizeof id);
    deadline = t_now_ms() + 4000;
    while (t_now_ms() < deadline && fk_get(&fk.registers) < 1) t_sleep_ms(10);
    dropped_after = fk_get(&fk.send_call_id);
    topo_client_get_stats(c, &st);
    topo_client_close(c);
    fake_stop(&fk);
    CHECK_EQ_INT(fk.registers, 1);
    CHECK(strcmp(fk.reregister_id, id) == 0); /* back under the same id */
    CHECK(st.silent_drops >= 1);
    CHECK(dropped_after >= 300 && dropped_after < 2000);

    /* A watch-only client: its stream silent for watch_idle_timeout_ms. */
    fake_start(&fk, sc_goes_silent, 2);
    snprintf(a, sizeof a, "127.0.0.1:%d", fk.port);
    addrs[0] = a;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    o.watch_idle_timeout_ms = 300;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_watch_start(c, NULL, NULL, NULL, &w), TOPO_OK);
    deadline = t_now_ms() + 4000;
    while (t_now_ms() < deadline && !fk_get(&fk.resubscribed)) t_sleep_ms(10);
    dropped_after = fk_get(&fk.send_call_id);
    topo_client_get_stats(c, &st);
    CHECK(st.silent_drops >= 1);
    {
        char err[256];
        topo_client_last_error(c, err, sizeof err);
        CHECK(strstr(err, "watch stream silent") != NULL);
    }
    topo_watch_close(w);
    topo_client_close(c);
    fake_stop(&fk);
    CHECK(fk.resubscribed && fk.resume_ok); /* resumed after the snapshot it had */
    CHECK(dropped_after >= 300 && dropped_after < 2000);
}

static int states_seen[8];
static void on_state(void *ud, topo_client_state s, const char *id)
{
    (void)ud;
    (void)id;
    if ((int)s >= 0 && (int)s < 8) states_seen[s]++;
}

static void test_recovery_scripted(void)
{
    fake fk;
    topo_client *c = NULL;
    char a1[64], a2[64], id[64];
    const char *addrs[2];
    topo_options o;
    long long deadline;
    fake_start(&fk, sc_recovery, 2);
    snprintf(a1, sizeof a1, "127.0.0.1:%d", closed_port()); /* failover: first address is down */
    snprintf(a2, sizeof a2, "127.0.0.1:%d", fk.port);
    addrs[0] = a1;
    addrs[1] = a2;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 2;
    o.io_timeout_ms = 1000;
    o.state_cb = on_state;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    CHECK_RC(topo_register(c, &svc), TOPO_OK);
    CHECK_RC(topo_register(c, &svc), TOPO_ESTATE); /* one service per client */
    topo_client_service_id(c, id, sizeof id);
    CHECK(strcmp(id, "3f2504e0-4f89-41d3-9a0c-0305e82c3301") == 0);
    deadline = t_now_ms() + 3000;
    while (t_now_ms() < deadline && fk_get(&fk.registers) < 3) t_sleep_ms(10);
    deadline = t_now_ms() + 1000;
    while (t_now_ms() < deadline && topo_client_state_get(c) != TOPO_CLIENT_REGISTERED) t_sleep_ms(5);
    {
        topo_client_stats st;
        topo_client_get_stats(c, &st);
        CHECK(st.registrations >= 3);
        CHECK(st.reconnects >= 1);
        CHECK(st.heartbeats_sent >= 2);
    }
    t_sleep_ms(50);
    topo_client_close(c);
    fake_stop(&fk); /* joined: the fake's records are safe to read */
    CHECK_EQ_INT(fk.registers, 3);
    CHECK(fk.seen_not_found_reregister == 1);
    CHECK(strcmp(fk.reregister_id, id) == 0);
    CHECK(states_seen[TOPO_CLIENT_RECOVERING] >= 1);
    CHECK(states_seen[TOPO_CLIENT_REGISTERED] >= 1);
}

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

/* No server listens: the client starts anyway (DISCONNECTED, the last error says why), a query
 * says the server is unreachable, and a registration waits in the background. */
static void test_no_server(void)
{
    char a[64], err[256], id[64];
    const char *addrs[1];
    topo_options o;
    topo_client *c = (topo_client *)1;
    topo_snapshot *s = NULL;
    long long t0 = t_now_ms();
    snprintf(a, sizeof a, "127.0.0.1:%d", closed_port());
    addrs[0] = a;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    CHECK(t_now_ms() - t0 < 1000);
    if (c && c != (topo_client *)1) {
        CHECK(topo_client_state_get(c) == TOPO_CLIENT_DISCONNECTED);
        topo_client_last_error(c, err, sizeof err);
        CHECK(strstr(err, a) != NULL); /* names the address that refused */
        CHECK_RC(topo_get_topology(c, NULL, &s), TOPO_ECONNECT);
        CHECK(s == NULL);
        CHECK_RC(topo_register(c, &svc), TOPO_OK);
        CHECK(topo_client_state_get(c) == TOPO_CLIENT_RECOVERING);
        CHECK(topo_client_service_id(c, id, sizeof id) == 0);
        CHECK_RC(topo_report_call(c, "kept", NULL, 1.0, true), TOPO_OK);
        CHECK_RC(topo_flush(c), TOPO_ESTATE); /* nothing to send to: the calls are kept */
        CHECK_RC(topo_register(c, &svc), TOPO_ESTATE);
        CHECK_RC(topo_unregister(c), TOPO_OK); /* gives the waiting registration up */
        CHECK(topo_client_state_get(c) == TOPO_CLIENT_DISCONNECTED);
        CHECK_RC(topo_unregister(c), TOPO_ESTATE);
        topo_client_close(c);
    }
    addrs[0] = "not-an-address";
    CHECK_RC(topo_client_connect(&o, &c), TOPO_EINVAL);
    CHECK_RC(topo_client_connect(&o, NULL), TOPO_EINVAL);
}

/* The service starts before its server (a port chosen up front): it registers once the fake
 * listens, and the calls it kept carry the time they were made, the live ones none. */
static void test_start_before_server(void)
{
    fake fk;
    char a[64], id[64];
    const char *addrs[1];
    topo_options o;
    topo_client *c = NULL;
    int port = closed_port();
    long long before, deadline;
    snprintf(a, sizeof a, "127.0.0.1:%d", port);
    addrs[0] = a;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    o.reconnect_max_ms = 50;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    if (!c) return;
    CHECK_RC(topo_register(c, &svc), TOPO_OK);
    before = (long long)time(NULL) * 1000;
    CHECK_RC(topo_report_call(c, "kept", "Get", 3.0, true), TOPO_OK);
    fake_start_on(&fk, sc_activity_times, 4, port);
    deadline = t_now_ms() + 5000;
    while (t_now_ms() < deadline && topo_client_state_get(c) != TOPO_CLIENT_REGISTERED) t_sleep_ms(5);
    CHECK(topo_client_state_get(c) == TOPO_CLIENT_REGISTERED);
    CHECK(topo_client_service_id(c, id, sizeof id) == 36);
    CHECK_RC(topo_report_call(c, "live", "Get", 3.0, true), TOPO_OK);
    deadline = t_now_ms() + 5000;
    while (t_now_ms() < deadline && (fk_get(&fk.kept_report) == 0 || fk_get(&fk.live_report) == 0)) t_sleep_ms(5);
    CHECK_EQ_INT(fk_get(&fk.kept_report), 2);
    CHECK_EQ_INT(fk_get(&fk.live_report), 1);
    pthread_mutex_lock(&fk_mu);
    CHECK(fk.kept_timestamp_ms >= before - 1000 && fk.kept_timestamp_ms <= (long long)time(NULL) * 1000 + 1000);
    pthread_mutex_unlock(&fk_mu);
    topo_client_close(c);
    fake_stop(&fk);
}

static void test_bad_arguments(void)
{
    fake fk;
    topo_client *c;
    topo_service_info bad = svc;
    topo_snapshot *s;
    topo_watch *w;
    char longname[300];
    fake_start(&fk, sc_silent, 1);
    c = connect_to(fk.port, 300);
    if (!c) {
        fake_stop(&fk);
        return;
    }
    {
        /* each refusal says what is wrong with the name */
        char err[256];
        bad.name = "";
        CHECK_RC(topo_register(c, &bad), TOPO_EINVAL);
        topo_client_last_error(c, err, sizeof err);
        CHECK(strcmp(err, "register: the service name is empty") == 0);
        bad.name = " \t\n ";
        CHECK_RC(topo_register(c, &bad), TOPO_EINVAL);
        topo_client_last_error(c, err, sizeof err);
        CHECK(strcmp(err, "register: the service name is only whitespace") == 0);
        memset(longname, 'x', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        bad.name = longname;
        CHECK_RC(topo_register(c, &bad), TOPO_EINVAL);
        topo_client_last_error(c, err, sizeof err);
        CHECK(strcmp(err, "register: the service name is longer than 256 bytes") == 0);
        CHECK_RC(topo_register(c, NULL), TOPO_EINVAL);
        topo_client_last_error(c, err, sizeof err);
        CHECK(strcmp(err, "register: no service info (NULL)") == 0);
    }
    CHECK_RC(topo_unregister(c), TOPO_ESTATE);
    CHECK_RC(topo_report_call(c, "x", "m", 1.0, true), TOPO_ESTATE); /* not registered */
    CHECK_RC(topo_report_call(c, NULL, "m", 1.0, true), TOPO_EINVAL);
    CHECK_RC(topo_get_topology(c, NULL, NULL), TOPO_EINVAL);
    CHECK_RC(topo_watch_start(c, NULL, NULL, NULL, NULL), TOPO_EINVAL);
    CHECK_RC(topo_get_topology(NULL, NULL, &s), TOPO_EINVAL);
    CHECK_RC(topo_watch_next(NULL, 0, NULL), TOPO_EINVAL);
    {
        topo_query q;
        memset(&q, 0, sizeof q);
        q.service_names_count = 2; /* with a NULL array */
        CHECK_RC(topo_watch_start(c, &q, NULL, NULL, &w), TOPO_EINVAL);
    }
    topo_snapshot_free(NULL);
    topo_update_free(NULL);
    topo_watch_close(NULL);
    topo_client_close(c);
    topo_client_close(NULL);
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
    RUN(test_no_server);
    RUN(test_http_port_is_named);
    RUN(test_start_before_server);
    RUN(test_bad_arguments);
    RUN(test_hostile_replies);
    RUN(test_auth_handshake);
    RUN(test_fuzzed_snapshots);
    RUN(test_recovery_scripted);
    RUN(test_watch_overflow);
    RUN(test_watch_resume);
    RUN(test_silent_server_is_dropped_and_recovered);
    RUN(test_too_big_watch_ends);
    RUN(test_default_frame_limit);
    return T_SUMMARY("test_hostile");
}
