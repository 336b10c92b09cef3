/* test_integration_register - registration against a real server (live_server.h): register,
 * heartbeats with health, unregister; labels stored, sorted and filtered. */
#include "live_server.h"
#include "testutil.h"

/* ---- register, heartbeats, unregister --------------------------------------------------- */

static bool degraded(void *ud, topo_health *h)
{
    (void)ud;
    h->state = TOPO_HEALTH_DEGRADED;
    h->message = "cache cold";
    return true;
}

static void test_register_heartbeat_unregister(void)
{
    char addr[64], id[64];
    const char *addrs[1];
    topo_options o;
    topo_client *c = NULL, *obs = client();
    topo_snapshot *s = NULL;
    topo_metadata md;
    topo_service_info info;
    const topo_node *n;
    topo_client_stats st;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", srv.port);
    addrs[0] = addr;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    o.health_cb = degraded;
    o.collect_process_metrics = true;
    CHECK_RC(topo_client_connect(&o, &c), TOPO_OK);
    if (!c || !obs) goto out;
    memset(&md, 0, sizeof md);
    md.team = "core";
    md.environment = "test";
    memset(&info, 0, sizeof info);
    info.name = "c-itest-alive";
    info.type = TOPO_SERVICE_TYPE_SERVER;
    info.language = TOPO_LANG_C;
    info.version = "1.2.3";
    info.address = "127.0.0.1:9999";
    info.host = "localhost";
    info.metadata = &md;
    CHECK_RC(topo_register(c, &info), TOPO_OK);
    CHECK(topo_client_service_id(c, id, sizeof id) == 36);
    CHECK(topo_client_state_get(c) == TOPO_CLIENT_REGISTERED);
    /* six intervals: without heartbeats it would be DEAD after three */
    t_sleep_ms(6 * INTERVAL_MS);
    CHECK_RC(topo_get_topology(obs, NULL, &s), TOPO_OK);
    n = find_node(s, id);
    CHECK(n != NULL);
    if (n) {
        CHECK_EQ_INT(n->state, TOPO_NODE_IDLE);
        CHECK(strcmp(n->service_name, "c-itest-alive") == 0);
        CHECK_EQ_INT(n->language, TOPO_LANG_C);
        CHECK(n->version && strcmp(n->version, "1.2.3") == 0);
        CHECK(n->has_metadata && n->metadata.team && strcmp(n->metadata.team, "core") == 0);
        CHECK_EQ_INT(n->health, TOPO_HEALTH_DEGRADED);
        CHECK(n->has_health_detail && n->health_detail.message &&
              strcmp(n->health_detail.message, "cache cold") == 0);
        CHECK(n->has_metrics && n->metrics.memory_bytes > 0);
    }
    topo_snapshot_free(s);
    s = NULL;
    topo_client_get_stats(c, &st);
    CHECK(st.heartbeats_acked >= 4);
    printf("     heartbeats sent %llu, acked %llu in %d ms\n", (unsigned long long)st.heartbeats_sent,
           (unsigned long long)st.heartbeats_acked, 6 * INTERVAL_MS);
    CHECK_RC(topo_unregister(c), TOPO_OK);
    CHECK(topo_client_state_get(c) == TOPO_CLIENT_CONNECTED);
    CHECK_RC(topo_get_topology(obs, NULL, &s), TOPO_OK);
    CHECK(find_node(s, id) == NULL);
    topo_snapshot_free(s);
    /* unregistered: no more heartbeats, and the id is forgotten */
    CHECK(topo_client_service_id(c, id, sizeof id) == 0);
out:
    topo_client_close(c);
    topo_client_close(obs);
}

/* Labels: copied (a key given twice keeps its last value), sorted on the node, filtered by a
 * label selector; a NULL value is refused here, a key with '=' by the server with its reason. */
static void test_labels(void)
{
    char id[64], message[256];
    topo_client *c = client(), *obs = client();
    topo_snapshot *s = NULL;
    topo_service_info info;
    const topo_node *n;
    const topo_label labels[] = {{"tier", "web"}, {"team", "core"}, {"team", "payments"}};
    const topo_label bad_key[] = {{"a=b", "c"}};
    const topo_label null_value[] = {{"team", NULL}};
    const char *selectors[] = {"team=payments", "tier"};
    const char *no_key[] = {"=payments"};
    topo_query q;
    if (!c || !obs) goto out;
    memset(&info, 0, sizeof info);
    info.name = "c-itest-labels";
    info.type = TOPO_SERVICE_TYPE_SERVER;
    info.language = TOPO_LANG_C;
    info.labels = null_value;
    info.labels_count = 1;
    CHECK_RC(topo_register(c, &info), TOPO_EINVAL);
    info.labels = bad_key;
    CHECK_RC(topo_register(c, &info), TOPO_ESTATUS);
    CHECK_EQ_INT(topo_client_last_status(c), 3);
    topo_client_last_error(c, message, sizeof message);
    CHECK(strstr(message, "key 'a=b' contains '='") != NULL);
    info.labels = labels;
    info.labels_count = 3;
    CHECK_RC(topo_register(c, &info), TOPO_OK);
    CHECK(topo_client_service_id(c, id, sizeof id) == 36);
    memset(&q, 0, sizeof q);
    q.label_selectors = selectors;
    q.label_selectors_count = 2;
    CHECK_RC(topo_get_topology(obs, &q, &s), TOPO_OK);
    CHECK(s && s->nodes_count == 1);
    n = s ? find_node(s, id) : NULL;
    CHECK(n != NULL && n->labels_count == 2);
    if (n && n->labels_count == 2) {
        CHECK(strcmp(n->labels[0].key, "team") == 0 && strcmp(n->labels[0].value, "payments") == 0);
        CHECK(strcmp(n->labels[1].key, "tier") == 0 && strcmp(n->labels[1].value, "web") == 0);
    }
    topo_snapshot_free(s);
    s = NULL;
    q.label_selectors = no_key;
    q.label_selectors_count = 1;
    CHECK_RC(topo_get_topology(obs, &q, &s), TOPO_ESTATUS);
    topo_client_last_error(obs, message, sizeof message);
    CHECK(strstr(message, "has no key") != NULL);
    CHECK_RC(topo_unregister(c), TOPO_OK);
out:
    topo_client_close(c);
    topo_client_close(obs);
}

int main(void)
{
    if (live_begin("test_integration_register", true) != 0) return 1;
    RUN(test_register_heartbeat_unregister);
    RUN(test_labels);
    live_end();
    return T_SUMMARY("test_integration_register");
}
