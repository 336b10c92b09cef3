/* test_integration_recovery - a real server (live_server.h) killed and restarted on the same
 * port: the service comes back with the same id; and a service that starts before its server. */
#include "live_server.h"
#include "testutil.h"

/* ---- kill -9 and restart on the same port ------------------------------------------------- */

static void test_restart_keeps_id(void)
{
    topo_client *c = client(), *wc = client();
    topo_watch *w = NULL;
    topo_update *u = NULL;
    char id[64], id2[64];
    int port = srv.port, tries;
    long long t_listen, t_back = -1, deadline;
    topo_snapshot *s = NULL;
    if (!c || !wc) goto out;
    register_c(c, "c-itest-survivor", id, sizeof id);
    CHECK_RC(topo_watch_start(wc, NULL, NULL, NULL, &w), TOPO_OK);
    if (!w) goto out;
    CHECK_RC(topo_watch_next(w, 3000, &u), TOPO_OK);
    topo_update_free(u);
    u = NULL;
    t_sleep_ms(2 * INTERVAL_MS);

    server_finish(&srv, SIGKILL);
    deadline = t_now_ms() + 2000;
    while (topo_client_state_get(c) != TOPO_CLIENT_RECOVERING && t_now_ms() < deadline) t_sleep_ms(1);
    CHECK(topo_client_state_get(c) == TOPO_CLIENT_RECOVERING);
    /* calls made while the server is away are kept and sent after recovery */
    for (tries = 0; tries < 50; tries++)
        CHECK_RC(topo_report_call(c, "c-itest-during-outage", NULL, 2.0, tries % 5 != 0), TOPO_OK);
    t_sleep_ms(150); /* the client retries with backoff meanwhile */
    for (tries = 0; tries < 50; tries++) {
        if (server_start(&srv, port) == 0) break;
        t_sleep_ms(100); /* port still held: try again */
    }
    CHECK(srv.pid > 0);
    if (srv.pid <= 0) goto out;
    t_listen = t_now_ms();
    deadline = t_listen + 5000;
    while (t_now_ms() < deadline) {
        topo_client_stats st;
        topo_client_get_stats(c, &st);
        if (topo_client_state_get(c) == TOPO_CLIENT_REGISTERED && st.registrations >= 2) {
            t_back = t_now_ms();
            break;
        }
        t_sleep_ms(1);
    }
    CHECK(t_back >= 0);
    topo_client_service_id(c, id2, sizeof id2);
    CHECK(strcmp(id, id2) == 0);
    printf("     back registered %lld ms after the new server logged \"listening\" (limit %d ms)\n",
           t_back - t_listen, 2 * INTERVAL_MS);
    CHECK(t_back - t_listen <= 2 * INTERVAL_MS);
    CHECK_RC(topo_get_topology(c, NULL, &s), TOPO_OK);
    CHECK(find_node(s, id) != NULL);
    topo_snapshot_free(s);
    s = NULL;
    {
        const topo_edge *e = NULL;
        deadline = t_now_ms() + 3000;
        while (t_now_ms() < deadline) {
            topo_snapshot_free(s);
            s = NULL;
            if (topo_get_topology(c, NULL, &s) != TOPO_OK) break;
            e = find_edge(s, id, "c-itest-during-outage");
            if (e && e->total_requests >= 50) break;
            t_sleep_ms(20);
        }
        CHECK(e && e->total_requests == 50 && e->total_errors == 10);
        topo_snapshot_free(s);
        s = NULL;
    }
    /* the watch resumed by itself: a SNAPSHOT from the new server holding the service, or its
     * NODE_ADDED after one */
    {
        int got = 0;
        deadline = t_now_ms() + 3000;
        while (!got && t_now_ms() < deadline) {
            if (topo_watch_next(w, 200, &u) != TOPO_OK) continue;
            if (u->type == TOPO_UPDATE_SNAPSHOT && u->has_snapshot && find_node(&u->snapshot, id)) got = 1;
            if (u->type == TOPO_UPDATE_NODE_ADDED && u->has_node && strcmp(u->node.service_id, id) == 0) got = 1;
            topo_update_free(u);
            u = NULL;
        }
        CHECK(got);
    }
    CHECK_RC(topo_unregister(c), TOPO_OK);
out:
    topo_watch_close(w);
    topo_client_close(wc);
    topo_client_close(c);
}

/* ---- the service starts before its server ------------------------------------------------ */

/* Boot order must not decide whether a service starts: with no server, connect and register
 * succeed, calls are kept; the server starts later on the port chosen up front, and the service
 * appears with its calls. reconnect_max_ms is what the client derives from a known interval (half
 * of it): before the first registration it cannot know the server's. */
static void test_start_before_server(void)
{
    static const char *const no_http[] = {"--http-address=", NULL};
    server later;
    char addr[64], id[64] = "";
    const char *addrs[1];
    topo_options o;
    topo_client *c = NULL;
    topo_snapshot *s = NULL;
    const topo_edge *e = NULL;
    int port = t_free_port(), i;
    long long t_listen, t_back = -1, deadline;
    memset(&later, 0, sizeof later);
    later.flags = no_http;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    addrs[0] = addr;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    o.reconnect_max_ms = INTERVAL_MS / 2;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    if (!c) return;
    register_c(c, "c-itest-early-bird", NULL, 0);
    CHECK(topo_client_state_get(c) == TOPO_CLIENT_RECOVERING);
    for (i = 0; i < 30; i++) CHECK_RC(topo_report_call(c, "c-itest-backend", "Get", 2.0, i % 3 != 0), TOPO_OK);
    CHECK(server_start(&later, port) == 0);
    if (later.pid <= 0) goto out;
    t_listen = t_now_ms();
    deadline = t_listen + 5000;
    while (t_now_ms() < deadline) {
        if (topo_client_state_get(c) == TOPO_CLIENT_REGISTERED) {
            t_back = t_now_ms();
            break;
        }
        t_sleep_ms(1);
    }
    CHECK(t_back >= 0);
    printf("     registered %lld ms after the server logged \"listening\" (limit %d ms)\n",
           t_back - t_listen, 2 * INTERVAL_MS);
    CHECK(t_back - t_listen <= 2 * INTERVAL_MS);
    CHECK(topo_client_service_id(c, id, sizeof id) == 36);
    deadline = t_now_ms() + 3000;
    while (t_now_ms() < deadline) {
        topo_snapshot_free(s);
        s = NULL;
        if (topo_get_topology(c, NULL, &s) != TOPO_OK) break;
        e = find_edge(s, id, "c-itest-backend");
        if (e && e->total_requests >= 30) break;
        t_sleep_ms(20);
    }
    CHECK(find_node(s, id) != NULL);
    CHECK(e && e->total_requests == 30 && e->total_errors == 10);
    topo_snapshot_free(s);
    CHECK_RC(topo_unregister(c), TOPO_OK);
out:
    topo_client_close(c);
    server_finish(&later, SIGTERM);
}

int main(void)
{
    if (live_begin("test_integration_recovery", true) != 0) return 1;
    RUN(test_restart_keeps_id);
    RUN(test_start_before_server);
    live_end();
    return T_SUMMARY("test_integration_recovery");
}
