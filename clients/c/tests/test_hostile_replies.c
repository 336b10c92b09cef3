/* test_hostile_replies - the client against a fake server (fake_server.h) that answers its first
 * request with garbage, truncated frames, oversized lengths, wrong replies, HTTP, randomly damaged
 * snapshots, or nothing; and the API's refusal of bad arguments. Every call returns a specific
 * error in bounded time, nothing crashes, hangs or leaks (run under ASan+UBSan by `make test`). */
#include "fake_server.h"
#include "testutil.h"

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

int main(void)
{
    RUN(test_http_port_is_named);
    RUN(test_bad_arguments);
    RUN(test_hostile_replies);
    RUN(test_fuzzed_snapshots);
    return T_SUMMARY("test_hostile_replies");
}
