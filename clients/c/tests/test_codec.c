/* test_codec - the codec, framing and aggregation, without sockets. */
#include <math.h>

#include "internal.h"
#include "pb_json.h"
#include "testutil.h"
#include "wire.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rnd32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static size_t enc(const pb_msgdesc *d, const void *m, uint8_t *buf, size_t cap)
{
    pb_error err;
    size_t n = pb_encode(d, m, buf, cap, &err);
    CHECK(err == PB_OK);
    return n;
}

/* Exact bytes, as in the protobuf encoding guide. */
static void test_exact_bytes(void)
{
    uint8_t buf[64];
    size_t n;
    w_heartbeat_req hb;
    w_status st;
    memset(&hb, 0, sizeof hb);
    hb.service_id = pb_strdup("ab");
    hb.sequence = 150;
    n = enc(&w_heartbeat_req_desc, &hb, buf, sizeof buf);
    CHECK_EQ_INT(n, 7);
    CHECK(memcmp(buf, "\x0a\x02" "ab" "\x10\x96\x01", 7) == 0);
    pb_free(&w_heartbeat_req_desc, &hb);

    memset(&st, 0, sizeof st);
    st.code = -1; /* negative int32: 10-byte varint */
    n = enc(&w_status_desc, &st, buf, sizeof buf);
    CHECK_EQ_INT(n, 11);
    CHECK(buf[0] == 0x08 && buf[10] == 0x01 && buf[9] == 0xff);
    /* an output buffer one byte short is an error, never an overflow */
    {
        pb_error err;
        size_t k = pb_encode(&w_status_desc, &st, buf, 10, &err);
        CHECK_EQ_INT(k, 0);
        CHECK(err == PB_ERR_OVERFLOW);
    }
}

static void test_packed_and_unpacked(void)
{
    /* LatencyHistogram indexes [1,-2] packed and unpacked decode the same */
    const uint8_t packed[] = {0x0a, 0x02, 0x02, 0x03, 0x12, 0x01, 0x07};
    const uint8_t unpacked[] = {0x08, 0x02, 0x08, 0x03, 0x10, 0x07};
    w_histogram a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK(pb_decode(&w_histogram_desc, &a, packed, sizeof packed, NULL));
    CHECK(pb_decode(&w_histogram_desc, &b, unpacked, sizeof unpacked, NULL));
    CHECK_EQ_INT(a.indexes_count, 2);
    CHECK_EQ_INT(b.indexes_count, 2);
    if (a.indexes_count == 2 && b.indexes_count == 2) {
        CHECK_EQ_INT(a.indexes[0], 1);
        CHECK_EQ_INT(a.indexes[1], -2);
        CHECK_EQ_INT(b.indexes[1], -2);
    }
    CHECK_EQ_INT(a.counts_count, 1);
    pb_free(&w_histogram_desc, &a);
    pb_free(&w_histogram_desc, &b);
}

static void test_oneof_and_merge(void)
{
    /* Frame with register_service_response then heartbeat_response: the last oneof wins, the
     * first is freed (ASan checks the leak). Then a message field twice merges. */
    const uint8_t two[] = {0x5a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'x', 0x6a, 0x02, 0x08, 0x09};
    const uint8_t merge[] = {0x12, 0x02, 0x08, 0x05, 0x12, 0x02, 0x10, 0x01};
    w_frame f;
    w_get_resp g;
    const uint8_t snap_twice[] = {0x0a, 0x02, 0x18, 0x07, 0x0a, 0x02, 0xa0, 0x01};
    memset(&f, 0, sizeof f);
    CHECK(pb_decode(&w_frame_desc, &f, two, sizeof two, NULL));
    CHECK_EQ_INT(f.which, W_HEARTBEAT_RESP);
    CHECK_EQ_INT(f.u.heartbeat_resp.sequence, 9);
    pb_free(&w_frame_desc, &f);
    (void)merge;
    memset(&g, 0, sizeof g);
    /* snapshot {timestamp_ms: 7} then snapshot {revision: 1...}: field 20 varint (0xa0 0x01 = tag) */
    CHECK(!pb_decode(&w_get_resp_desc, &g, snap_twice, sizeof snap_twice, NULL)); /* 2nd truncated */
    pb_free(&w_get_resp_desc, &g);
    {
        const uint8_t ok[] = {0x0a, 0x02, 0x18, 0x07, 0x0a, 0x03, 0xa0, 0x01, 0x05};
        memset(&g, 0, sizeof g);
        CHECK(pb_decode(&w_get_resp_desc, &g, ok, sizeof ok, NULL));
        CHECK_EQ_INT(g.snapshot.timestamp_ms, 7);
        CHECK_EQ_INT(g.snapshot.revision, 5);
        pb_free(&w_get_resp_desc, &g);
    }
}

/* Builds a stream of n frames of assorted kinds; returns the bytes. */
static uint8_t *make_stream(int n, size_t *len)
{
    uint8_t *out = NULL;
    size_t total = 0;
    int i;
    for (i = 0; i < n; i++) {
        w_frame f;
        size_t k;
        uint8_t *b;
        memset(&f, 0, sizeof f);
        f.call_id = (uint64_t)i + 1;
        if (i % 3 == 0) {
            f.which = W_HEARTBEAT_RESP;
            f.u.heartbeat_resp.sequence = i;
            f.u.heartbeat_resp.acknowledged = true;
            f.u.heartbeat_resp.server_epoch = pb_strdup("epoch-é");
        } else if (i % 3 == 1) {
            f.which = W_WATCH_RESP;
            f.u.watch_resp.has_update = true;
            f.u.watch_resp.update.type = TOPO_UPDATE_NODE_ADDED;
            f.u.watch_resp.update.revision = (uint64_t)i;
            f.u.watch_resp.update.has_node = true;
            f.u.watch_resp.update.node.service_id = pb_strdup("id");
            f.u.watch_resp.update.node.service_name = pb_strdup("name");
        } else {
            f.has_status = true;
            f.status.code = 5;
            f.status.message = pb_strdup("not found");
            f.end_of_stream = true;
        }
        b = frame_encode(&f, &k);
        CHECK(b != NULL);
        out = realloc(out, total + k);
        memcpy(out + total, b, k);
        total += k;
        free(b);
        pb_free(&w_frame_desc, &f);
    }
    *len = total;
    return out;
}

/* Feeds the stream in chunks of the given size (0 = random sizes); checks every frame. */
static void feed_and_check(const uint8_t *s, size_t len, int n, size_t chunk)
{
    frame_reader r;
    size_t pos = 0;
    int got = 0;
    frame_reader_init(&r, 1024);
    while (pos < len) {
        size_t k = chunk ? chunk : 1 + rnd32() % 40;
        frame_err e;
        if (k > len - pos) k = len - pos;
        CHECK(frame_reader_feed(&r, s + pos, k) == FRAME_OK);
        pos += k;
        for (;;) {
            w_frame f;
            memset(&f, 0, sizeof f);
            e = frame_reader_next(&r, &f);
            if (e != FRAME_OK) break;
            CHECK_EQ_INT(f.call_id, (uint64_t)got + 1);
            if (got % 3 == 0) CHECK(f.which == W_HEARTBEAT_RESP && f.u.heartbeat_resp.sequence == got);
            if (got % 3 == 1) CHECK(f.which == W_WATCH_RESP && f.u.watch_resp.update.revision == (uint64_t)got);
            if (got % 3 == 2) CHECK(f.has_status && f.status.code == 5 && f.end_of_stream);
            got++;
            pb_free(&w_frame_desc, &f);
        }
        CHECK(e == FRAME_NEED_MORE);
    }
    CHECK_EQ_INT(got, n);
    CHECK(r.len == r.pos);
    frame_reader_free(&r);
}

static void test_framing_three_ways(void)
{
    size_t len;
    uint8_t *s = make_stream(60, &len);
    feed_and_check(s, len, 60, len); /* all at once */
    feed_and_check(s, len, 60, 1);   /* byte by byte */
    feed_and_check(s, len, 60, 0);   /* random chunks */
    free(s);
}

static frame_err feed_one(const uint8_t *b, size_t n, uint32_t limit)
{
    frame_reader r;
    w_frame f;
    frame_err e;
    frame_reader_init(&r, limit);
    memset(&f, 0, sizeof f);
    e = frame_reader_feed(&r, b, n);
    if (e == FRAME_OK) e = frame_reader_next(&r, &f);
    pb_free(&w_frame_desc, &f);
    /* a failed reader stays failed */
    if (e < 0) {
        CHECK(frame_reader_next(&r, &f) == e);
        CHECK(frame_reader_feed(&r, "\x00", 1) == e);
    }
    frame_reader_free(&r);
    return e;
}

/* Feeds b to a reader with a 1 MiB limit that must fail with FRAME_ERR_TOO_BIG; its big_call_id. */
static uint64_t too_big_call_id(const uint8_t *b, size_t n)
{
    frame_reader r;
    w_frame f;
    uint64_t id;
    frame_reader_init(&r, 1 << 20);
    memset(&f, 0, sizeof f);
    CHECK_EQ_INT(frame_reader_feed(&r, b, n), FRAME_OK);
    CHECK_EQ_INT(frame_reader_next(&r, &f), FRAME_ERR_TOO_BIG);
    id = r.big_call_id;
    frame_reader_free(&r);
    return id;
}

static void test_framing_errors(void)
{
    const uint8_t big[] = {0xff, 0xff, 0xff, 0x7f};           /* 268 MB announced */
    const uint8_t big_partial[] = {0xff, 0xff, 0xff, 0xff};   /* incomplete, already over */
    const uint8_t long_prefix[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    const uint8_t bad_body[] = {0x02, 0x0f, 0x00};            /* wire type 7 */
    const uint8_t group[] = {0x02, 0x0b, 0x0c};
    const uint8_t trunc_nested[] = {0x03, 0x6a, 0x05, 0x08};
    const uint8_t bad_utf8[] = {0x05, 0x1a, 0x03, 0x12, 0x01, 0xff};
    const uint8_t empty[] = {0x00};
    CHECK_EQ_INT(feed_one(big, sizeof big, 1 << 20), FRAME_ERR_TOO_BIG);
    CHECK_EQ_INT(feed_one(big_partial, sizeof big_partial, 1 << 20), FRAME_ERR_TOO_BIG);
    CHECK_EQ_INT(feed_one(long_prefix, sizeof long_prefix, 1 << 20), FRAME_ERR_LENGTH);
    CHECK_EQ_INT(feed_one(bad_body, sizeof bad_body, 1 << 20), FRAME_ERR_DECODE);
    CHECK_EQ_INT(feed_one(group, sizeof group, 1 << 20), FRAME_ERR_DECODE);
    CHECK_EQ_INT(feed_one(trunc_nested, sizeof trunc_nested, 1 << 20), FRAME_ERR_DECODE);
    CHECK_EQ_INT(feed_one(bad_utf8, sizeof bad_utf8, 1 << 20), FRAME_ERR_DECODE);
    CHECK_EQ_INT(feed_one(empty, sizeof empty, 1 << 20), FRAME_OK); /* an empty Frame is valid */
    CHECK_EQ_INT(feed_one(big, 2, 1 << 20), FRAME_NEED_MORE);       /* 0xff 0xff: 16383, fine */
    /* the call id of a too-big frame, when its first body bytes came with the length */
    {
        const uint8_t with_id[] = {0xff, 0xff, 0xff, 0x7f, 0x08, 0x96, 0x01, 0xaa};
        const uint8_t cut_id[] = {0xff, 0xff, 0xff, 0x7f, 0x08, 0x96};
        const uint8_t other_field[] = {0xff, 0xff, 0xff, 0x7f, 0x10, 0x01};
        CHECK_EQ_INT(too_big_call_id(with_id, sizeof with_id), 150);
        CHECK_EQ_INT(too_big_call_id(cut_id, sizeof cut_id), 0);
        CHECK_EQ_INT(too_big_call_id(other_field, sizeof other_field), 0);
        CHECK_EQ_INT(too_big_call_id(big, sizeof big), 0);
    }
}

/* Random mutations of valid frames: the decoder must return, never crash or leak (ASan). */
static void test_fuzz_decoder(void)
{
    size_t len;
    uint8_t *s = make_stream(9, &len);
    int iter, ok = 0, bad = 0;
    uint8_t *buf = malloc(len + 64);
    for (iter = 0; iter < 30000; iter++) {
        size_t n = len, k, flips = 1 + rnd32() % 8;
        frame_reader r;
        frame_err e;
        memcpy(buf, s, len);
        for (k = 0; k < flips; k++) {
            uint32_t op = rnd32() % 4, at = rnd32() % (uint32_t)n;
            if (op == 0) buf[at] ^= (uint8_t)(1u << (rnd32() % 8));
            else if (op == 1) buf[at] = (uint8_t)rnd32();
            else if (op == 2) n = at + 1; /* truncate */
            else buf[at] = 0xff;
        }
        frame_reader_init(&r, 4096);
        e = frame_reader_feed(&r, buf, n);
        while (e == FRAME_OK) {
            w_frame f;
            memset(&f, 0, sizeof f);
            e = frame_reader_next(&r, &f);
            if (e == FRAME_OK) {
                char *j = pb_to_json(&w_frame_desc, &f); /* walk everything decoded */
                free(j);
                pb_free(&w_frame_desc, &f);
                ok++;
            }
        }
        if (e < 0) bad++;
        frame_reader_free(&r);
    }
    CHECK(ok > 0 && bad > 0);
    free(buf);
    free(s);
}

/* Inputs on which the libFuzzer target `c-client` (Tests/Fuzz) once failed, with the property it
 * checked; Tests/Fuzz/regressions/c-client holds them as the target reads them. */

/* A length prefix still incomplete but already over the limit (0x69 | 0x69 << 7 = 13545 > 1024
 * after two bytes): read all at once, the reader reported the value of all three bytes; read byte
 * by byte, 13545. The verdict must not depend on the reads. */
static const uint8_t prefix_over_the_limit_before_its_last_byte[] = {0xe9, 0xe9, 0xe9};

static void test_fuzz_regressions(void)
{
    const uint8_t *s = prefix_over_the_limit_before_its_last_byte;
    size_t n = sizeof prefix_over_the_limit_before_its_last_byte, step;
    for (step = 1; step <= n; step++) {
        frame_reader r;
        frame_err e = FRAME_NEED_MORE;
        size_t i;
        frame_reader_init(&r, 1024);
        for (i = 0; i < n && e == FRAME_NEED_MORE; i += step) {
            w_frame f;
            memset(&f, 0, sizeof f);
            e = frame_reader_feed(&r, s + i, i + step <= n ? step : n - i);
            if (e == FRAME_OK) e = frame_reader_next(&r, &f);
            pb_free(&w_frame_desc, &f);
        }
        CHECK_EQ_INT(e, FRAME_ERR_TOO_BIG);
        CHECK_EQ_INT(r.announced, 13545);
        frame_reader_free(&r);
    }
}

static void test_hist_index(void)
{
    int i, wrong = 0;
    for (i = -300; i <= 700; i++) {
        double edge = pow(HIST_GAMMA, i);
        if (hist_index(edge) != i) wrong++;                /* upper edge is inclusive */
        if (hist_index(edge * 1.0000001) != i + 1) wrong++; /* just above: next bucket */
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(hist_index(1.0), 0);
    CHECK_EQ_INT(hist_index(1.02), 1);
    CHECK_EQ_INT(hist_index(1.01), 1);
    /* representative value 2*G^i/(G+1) within 1% of every latency in the bucket */
    for (i = 1; i <= 2000; i++) {
        double l = i * 0.37;
        int32_t b = hist_index(l);
        double rep = 2 * pow(HIST_GAMMA, b) / (HIST_GAMMA + 1);
        if (fabs(rep - l) / l > 0.01) wrong++;
    }
    CHECK_EQ_INT(wrong, 0);
}

static void test_aggregator(void)
{
    aggregator a;
    agg_entry *list, *e;
    int i;
    uint64_t total = 0;
    CHECK(agg_init(&a) == TOPO_OK);
    CHECK_RC(agg_add(&a, "svc-b", NULL, 1.0, true), TOPO_ESTATE); /* nothing registered */
    agg_set_accepting(&a, true);
    for (i = 0; i < 1000; i++) {
        CHECK_RC(agg_add(&a, "svc-b", i % 2 ? "get" : NULL, (double)(i % 100), i % 10 != 0), TOPO_OK);
    }
    CHECK_RC(agg_add(&a, "svc-c", "put", 5.0, false), TOPO_OK);
    list = agg_take(&a);
    for (e = list; e; e = e->next) {
        size_t k;
        uint64_t sum = e->zero_count;
        for (k = 0; k < e->n; k++) sum += e->cnt[k];
        for (k = 1; k < e->n; k++) CHECK(e->idx[k - 1] < e->idx[k]);
        CHECK_EQ_INT(sum, e->calls);
        total += e->calls;
        if (strcmp(e->target, "svc-b") == 0 && !e->method) {
            CHECK_EQ_INT(e->calls, 500);
            CHECK_EQ_INT(e->errors, 100); /* even i with i%10 == 0 */
            CHECK_EQ_INT(e->zero_count, 10); /* i%100 == 0 */
        }
    }
    CHECK_EQ_INT(total, 1001);
    agg_put_back(&a, list); /* merged back */
    list = agg_take(&a);
    total = 0;
    for (e = list; e; e = e->next) total += e->calls;
    CHECK_EQ_INT(total, 1001);
    agg_free_list(list);
    CHECK(agg_take(&a) == NULL);
    /* strings the server would refuse (its default --max-string-bytes) are refused here */
    {
        char longest[TOPO_MAX_REPORT_STRING_BYTES + 2];
        uint64_t dropped = a.dropped;
        memset(longest, 'x', sizeof longest - 1);
        longest[sizeof longest - 1] = '\0'; /* one byte over */
        CHECK_RC(agg_add(&a, longest, NULL, 1.0, true), TOPO_EINVAL);
        CHECK_RC(agg_add(&a, "svc-d", longest, 1.0, true), TOPO_EINVAL);
        CHECK_RC(agg_add(&a, "", NULL, 1.0, true), TOPO_EINVAL);
        CHECK_RC(agg_add(&a, "svc-\xff", NULL, 1.0, true), TOPO_EINVAL);
        CHECK_RC(agg_add(&a, "svc-d", "get \xc3", 1.0, true), TOPO_EINVAL);
        CHECK_EQ_INT(a.dropped, dropped); /* never taken, so not dropped: the caller got the error */
        longest[TOPO_MAX_REPORT_STRING_BYTES] = '\0'; /* exactly the limit */
        CHECK_RC(agg_add(&a, longest, longest, 1.0, true), TOPO_OK);
        CHECK_RC(agg_add(&a, "svc-\xc3\xa9", NULL, 1.0, true), TOPO_OK); /* é */
        agg_free_list(agg_take(&a));
    }
    /* the key limit */
    {
        char name[32];
        int rc = TOPO_OK;
        for (i = 0; i <= AGG_MAX_KEYS && rc == TOPO_OK; i++) {
            snprintf(name, sizeof name, "t%d", i);
            rc = agg_add(&a, name, NULL, 1.0, true);
        }
        CHECK_RC(rc, TOPO_ELIMIT);
        CHECK_EQ_INT(i, AGG_MAX_KEYS + 1);
    }
    agg_destroy(&a);
}

static void test_addresses(void)
{
    char h[64], p[16];
    CHECK_RC(net_split_address("127.0.0.1:50053", h, sizeof h, p, sizeof p), TOPO_OK);
    CHECK(strcmp(h, "127.0.0.1") == 0 && strcmp(p, "50053") == 0);
    CHECK_RC(net_split_address("[::1]:7", h, sizeof h, p, sizeof p), TOPO_OK);
    CHECK(strcmp(h, "::1") == 0 && strcmp(p, "7") == 0);
    CHECK_RC(net_split_address("nohost", h, sizeof h, p, sizeof p), TOPO_EINVAL);
    CHECK_RC(net_split_address(":80", h, sizeof h, p, sizeof p), TOPO_EINVAL);
    CHECK_RC(net_split_address("[::1]80", h, sizeof h, p, sizeof p), TOPO_EINVAL);
    CHECK_RC(net_split_address("h:", h, sizeof h, p, sizeof p), TOPO_EINVAL);
}

static void test_strerror(void)
{
    int e;
    for (e = 0; e >= -12; e--) CHECK(strncmp(topo_strerror(e), "TOPO_", 5) == 0);
    CHECK(strcmp(topo_strerror(-999), "unknown topology error") == 0);
    CHECK(strcmp(topo_node_state_name(TOPO_NODE_STALE), "SERVICE_STATE_STALE") == 0);
    CHECK(strcmp(topo_update_type_name(99), "") == 0);
}

/* Not a check: how long encoding and decoding a heartbeat frame takes (printed for the report). */
/* agg_put_back never makes an entry of more than INT32_MAX calls (batch_size is an int32): a
 * returned entry that would push its pair past it stays an entry of its own, and nothing is lost. */
static void test_put_back_keeps_int32(void)
{
    aggregator a;
    agg_entry *list, *e;
    uint64_t total = 0;
    int entries = 0;
    CHECK(agg_init(&a) == TOPO_OK);
    agg_set_accepting(&a, true);
    CHECK_RC(agg_add(&a, "svc", "get", 3.0, true), TOPO_OK);
    list = agg_take(&a); /* as a flush takes it; pretend it holds INT32_MAX - 1 calls */
    CHECK(list && !list->next);
    if (!list) return;
    list->zero_count += (uint64_t)INT32_MAX - 1 - list->calls;
    list->calls = (uint64_t)INT32_MAX - 1;
    CHECK_RC(agg_add(&a, "svc", "get", 4.0, false), TOPO_OK); /* reported meanwhile */
    CHECK_RC(agg_add(&a, "svc", "get", 5.0, true), TOPO_OK);
    agg_put_back(&a, list); /* the send failed: INT32_MAX - 1 + 2 would not fit */
    CHECK_RC(agg_add(&a, "svc", "get", 6.0, true), TOPO_OK); /* still taken */
    list = agg_take(&a);
    for (e = list; e; e = e->next) {
        CHECK(e->calls <= (uint64_t)INT32_MAX);
        CHECK(strcmp(e->target, "svc") == 0 && e->method && strcmp(e->method, "get") == 0);
        total += e->calls;
        entries++;
    }
    CHECK_EQ_INT(entries, 2);
    CHECK_EQ_INT(total, (uint64_t)INT32_MAX - 1 + 3);
    CHECK_EQ_INT(a.dropped, 0);
    /* two entries that fit together are merged again */
    for (e = list; e; e = e->next)
        if (e->calls > 3) {
            e->zero_count -= (uint64_t)INT32_MAX - 10;
            e->calls -= (uint64_t)INT32_MAX - 10;
        }
    agg_put_back(&a, list);
    list = agg_take(&a);
    CHECK(list && !list->next);
    if (list) CHECK_EQ_INT(list->calls, 9 + 3);
    agg_free_list(list);
    agg_destroy(&a);
}

/* TOPO_DEFAULT_MAX_FRAME_BYTES holds the GetTopology answer for 200,000 nodes (the server's
 * default --max-services before issue 18) with every field set at realistic lengths, plus
 * 350,000 edges (the figures topology.h gives). Sizes add up: each repeated element costs
 * tag + length + body. */
static void test_default_frame_fits_max_services(void)
{
    topo_node n;
    topo_edge e;
    uint64_t node, edge, snapshot, response, frame;
    memset(&n, 0, sizeof n);
    memset(&e, 0, sizeof e);
    n.service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    n.service_name = pb_strdup("payments-api-000123");
    n.service_type = TOPO_SERVICE_TYPE_SERVER;
    n.language = TOPO_LANG_C;
    n.version = pb_strdup("1.42.7+build.1234");
    n.address = pb_strdup("10.123.45.67:8443");
    n.host = pb_strdup("ip-10-123-45-67.eu-west-1.compute.internal");
    n.has_metadata = true;
    n.metadata.region = pb_strdup("eu-west-1");
    n.metadata.environment = pb_strdup("production");
    n.metadata.team = pb_strdup("payments-platform");
    n.metadata.version_hash = pb_strdup("0123456789abcdef0123456789abcdef01234567");
    n.metadata.service_interface = pb_strdup("payments.v1.PaymentService");
    n.metadata.service_role = pb_strdup("server");
    n.metadata.program_name = pb_strdup("payments-api");
    n.state = TOPO_NODE_ACTIVE;
    n.last_heartbeat_ms = n.last_activity_ms = n.registered_ms = 1733040000123LL;
    n.health = TOPO_HEALTH_HEALTHY;
    n.has_metrics = true;
    n.metrics.cpu_percent = 12.345;
    n.metrics.memory_bytes = 1234567890;
    n.has_health_detail = true;
    n.health_detail.state = TOPO_HEALTH_HEALTHY;
    n.health_detail.message = pb_strdup("all dependencies reachable");
    n.health_detail.has_error_count = true;
    n.health_detail.error_count = 3;
    e.source_service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    e.target_service = pb_strdup("ledger-api-000456");
    e.target_service_id = pb_strdup("9a8b7c6d-4f89-41d3-9a0c-0305e82c3301");
    e.state = TOPO_EDGE_ACTIVE;
    e.last_activity_ms = 1733040000456LL;
    e.total_requests = 123456789;
    e.total_errors = 1234;
    e.avg_latency_ms = e.rps = e.error_rate = e.latency_p50_ms = e.latency_p95_ms = e.latency_p99_ms = 1.5;
    node = pb_encoded_size(&w_node_desc, &n);
    edge = pb_encoded_size(&w_edge_desc, &e);
    CHECK(node > 340 && node < 380); /* the figures the header gives: ~364 and ~174 bytes */
    CHECK(edge > 160 && edge < 190);
    snapshot = 200000 * (1 + pb_varint_size(node) + node) + 350000 * (1 + pb_varint_size(edge) + edge) +
               64 /* timestamp, revision, epoch */;
    response = 1 + pb_varint_size(snapshot) + snapshot;
    frame = 2 + pb_varint_size(response) + response + 16 /* call id, end_of_stream, status */;
    CHECK(frame <= TOPO_DEFAULT_MAX_FRAME_BYTES);
    CHECK(200000 * node > 16u * 1024 * 1024); /* the old 16 MiB default held ~46,000 such nodes */
    pb_free(&w_node_desc, &n);
    pb_free(&w_edge_desc, &e);
}

/* map<string, string>: entries sorted by key bytes, last value of a key wins, a missing field is
 * "", the encoding is the official one, and many keys in reverse order decode in n log n. */
static void test_labels_map(void)
{
    static const uint8_t in[] = {
        0xba, 0x01, 0x0b, 0x0a, 0x04, 't', 'e', 'a', 'm', 0x12, 0x03, 'o', 'l', 'd', /* team=old */
        0xba, 0x01, 0x06, 0x0a, 0x02, 'a', 'b', 0x12, 0x00,                         /* ab= */
        0xba, 0x01, 0x03, 0x0a, 0x01, 'a',                                          /* a, no value */
        0xba, 0x01, 0x0b, 0x12, 0x03, 'p', 'a', 'y', 0x0a, 0x04, 't', 'e', 'a', 'm', /* team=pay */
    };
    static const uint8_t canonical[] = {
        0xba, 0x01, 0x05, 0x0a, 0x01, 'a', 0x12, 0x00,
        0xba, 0x01, 0x06, 0x0a, 0x02, 'a', 'b', 0x12, 0x00,
        0xba, 0x01, 0x0b, 0x0a, 0x04, 't', 'e', 'a', 'm', 0x12, 0x03, 'p', 'a', 'y',
    };
    topo_node n;
    uint8_t buf[64];
    char *json;
    memset(&n, 0, sizeof n);
    CHECK(pb_decode(&w_node_desc, &n, in, sizeof in, NULL));
    CHECK_EQ_INT(n.labels_count, 3);
    if (n.labels_count == 3) {
        CHECK(strcmp(n.labels[0].key, "a") == 0 && strcmp(n.labels[0].value, "") == 0);
        CHECK(strcmp(n.labels[1].key, "ab") == 0);
        CHECK(strcmp(n.labels[2].key, "team") == 0 && strcmp(n.labels[2].value, "pay") == 0);
    }
    CHECK(enc(&w_node_desc, &n, buf, sizeof buf) == sizeof canonical);
    CHECK(memcmp(buf, canonical, sizeof canonical) == 0);
    json = pb_to_json(&w_node_desc, &n);
    CHECK(json && strcmp(json, "{\"labels\":{\"a\":\"\",\"ab\":\"\",\"team\":\"pay\"}}") == 0);
    free(json);
    pb_free(&w_node_desc, &n);
    {
        /* 20,000 distinct keys, last first: sorted in n log n (an insertion per entry would shift
         * 2*10^8 entries), then freed without a leak (ASan checks). */
        size_t count = 20000, k, len = 0;
        uint8_t *many = malloc(count * 11);
        CHECK(many != NULL);
        if (!many) return;
        for (k = count; k-- > 0;) {
            char key[8];
            int kl = snprintf(key, sizeof key, "%05u", (unsigned)k);
            many[len++] = 0xba;
            many[len++] = 0x01;
            many[len++] = (uint8_t)(2 + kl);
            many[len++] = 0x0a;
            many[len++] = (uint8_t)kl;
            memcpy(many + len, key, (size_t)kl);
            len += (size_t)kl;
        }
        memset(&n, 0, sizeof n);
        CHECK(pb_decode(&w_node_desc, &n, many, len, NULL));
        CHECK_EQ_INT(n.labels_count, count);
        if (n.labels_count == count)
            CHECK(strcmp(n.labels[0].key, "00000") == 0 && strcmp(n.labels[count - 1].key, "19999") == 0);
        pb_free(&w_node_desc, &n);
        free(many);
    }
}

int main(void)
{
    RUN(test_exact_bytes);
    RUN(test_packed_and_unpacked);
    RUN(test_oneof_and_merge);
    RUN(test_framing_three_ways);
    RUN(test_framing_errors);
    RUN(test_fuzz_decoder);
    RUN(test_fuzz_regressions);
    RUN(test_hist_index);
    RUN(test_aggregator);
    RUN(test_addresses);
    RUN(test_strerror);
    RUN(test_put_back_keeps_int32);
    RUN(test_default_frame_fits_max_services);
    RUN(test_labels_map);
    return T_SUMMARY("test_codec");
}
