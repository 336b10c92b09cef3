/* test_hostile_recovery - recovery logic that needs a scripted server (fake_server.h): failover,
 * re-registration keeping the id after a dropped connection and after a heartbeat NOT_FOUND, a
 * server that falls silent without closing, no server at all, and a service that starts before
 * its server. */
#include "fake_server.h"
#include "testutil.h"

/* ---- recovery against a scripted server --------------------------------------------------- */

#define SERVICE_ID "3f2504e0-4f89-41d3-9a0c-0305e82c3301"

/* Answers a registration on call_id with SERVICE_ID, multiplier 3, and the interval, epoch and
 * activity flush period given. */
static void answer_register(int fd, uint64_t call_id, int interval_ms, const char *epoch, int flush_ms)
{
    w_frame out;
    memset(&out, 0, sizeof out);
    out.call_id = call_id;
    out.which = W_REGISTER_RESP;
    out.u.register_resp.has_handle = true;
    out.u.register_resp.handle.service_id = pb_strdup(SERVICE_ID);
    out.u.register_resp.handle.heartbeat_interval_ms = interval_ms;
    out.u.register_resp.handle.timeout_multiplier = 3;
    out.u.register_resp.handle.server_epoch = pb_strdup(epoch);
    out.u.register_resp.handle.activity_flush_ms = flush_ms;
    send_frame(fd, &out);
    pb_free(&w_frame_desc, &out);
}

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
            snprintf(fk->first_id, sizeof fk->first_id, "%s", SERVICE_ID);
            answer_register(fd, f.call_id, 50, "epoch-1", 100);
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
            answer_register(fd, f.call_id, 1000, "epoch-1", 50);
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

/* A server that goes silent without closing. First connection: answers the registration (or the
 * watch, with a snapshot at revision 9), then reads on and answers nothing until the client drops
 * the connection; how long that took is recorded. Second connection: answers everything, so the
 * client's recovery (same id, resumed watch) can be seen. */
static void sc_goes_silent(fake *fk, int fd)
{
    frame_reader r;
    w_frame f;
    long long start = 0, deadline = t_now_ms() + 4000;
    frame_reader_init(&r, 1 << 20);
    while (t_now_ms() < deadline && read_frame(fd, &r, &f, 4000) == 0) {
        if (fk->conns == 1 && start == 0) {
            start = t_now_ms();
            if (f.which == W_REGISTER_REQ) answer_register(fd, f.call_id, 50, "epoch-s", 100);
            if (f.which == W_WATCH_REQ) send_update(fd, f.call_id, TOPO_UPDATE_SNAPSHOT, 9);
        } else if (fk->conns == 2) {
            if (f.which == W_REGISTER_REQ) {
                snprintf(fk->reregister_id, sizeof fk->reregister_id, "%s",
                         f.u.register_req.service_id ? f.u.register_req.service_id : "(none)");
                answer_register(fd, f.call_id, 50, "epoch-s", 100);
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
    snprintf(a1, sizeof a1, "127.0.0.1:%d", t_free_port()); /* failover: first address is down */
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
    snprintf(a, sizeof a, "127.0.0.1:%d", t_free_port());
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
    int port = t_free_port();
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

int main(void)
{
    RUN(test_no_server);
    RUN(test_start_before_server);
    RUN(test_recovery_scripted);
    RUN(test_silent_server_is_dropped_and_recovered);
    return T_SUMMARY("test_hostile_recovery");
}
