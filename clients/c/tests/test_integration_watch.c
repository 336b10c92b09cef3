/* test_integration_watch - watches against a real server (live_server.h): the snapshot first, a
 * filtered watch and a callback watch seeing a node added, its edge and its removal. */
#include <pthread.h>

#include "live_server.h"
#include "testutil.h"

/* ---- watch ---------------------------------------------------------------------------------- */

typedef struct cb_state {
    pthread_mutex_t mu;
    int count;
    int first_type;
    int removed_seen;
    char watch_id[64];
} cb_state;

static void on_update(void *ud, topo_update *u)
{
    cb_state *st = ud;
    pthread_mutex_lock(&st->mu);
    if (st->count++ == 0) st->first_type = u->type;
    if (u->type == TOPO_UPDATE_NODE_REMOVED && u->has_node && u->node.service_id &&
        strcmp(u->node.service_id, st->watch_id) == 0)
        st->removed_seen = 1;
    pthread_mutex_unlock(&st->mu);
    topo_update_free(u);
}

/* Takes updates until one matches; returns 1 if found within timeout. */
static int wait_for(topo_watch *w, int type, const char *id, bool edge, int timeout_ms)
{
    long long deadline = t_now_ms() + timeout_ms;
    while (t_now_ms() < deadline) {
        topo_update *u = NULL;
        int rc = topo_watch_next(w, (int)(deadline - t_now_ms()) + 1, &u);
        int hit = 0;
        if (rc != TOPO_OK) return 0;
        if (edge) {
            hit = (u->type == TOPO_UPDATE_EDGE_ADDED || u->type == TOPO_UPDATE_EDGE_UPDATED) &&
                  u->has_edge && u->edge.source_service_id && strcmp(u->edge.source_service_id, id) == 0;
        } else if (u->type == type) {
            hit = !id || (u->has_node && u->node.service_id && strcmp(u->node.service_id, id) == 0);
        }
        topo_update_free(u);
        if (hit) return 1;
    }
    return 0;
}

static void test_watch(void)
{
    topo_client *wc = client(), *b = client();
    topo_watch *w = NULL, *wcb = NULL, *filtered = NULL;
    topo_update *u = NULL;
    cb_state st;
    char id[64];
    const char *names[1] = {"c-itest-watched"};
    topo_query q;
    if (!wc || !b) goto out;
    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.mu, NULL);
    /* A change first, so that the snapshot's revision has something to count (a server nothing
     * has happened to is at revision 0); it leaves no node behind. */
    register_c(b, "c-itest-watch-seed", NULL, 0);
    CHECK_RC(topo_unregister(b), TOPO_OK);
    CHECK_RC(topo_watch_start(wc, NULL, NULL, NULL, &w), TOPO_OK);
    CHECK_RC(topo_watch_start(wc, NULL, on_update, &st, &wcb), TOPO_OK);
    memset(&q, 0, sizeof q);
    q.service_names = names;
    q.service_names_count = 1;
    CHECK_RC(topo_watch_start(wc, &q, NULL, NULL, &filtered), TOPO_OK);
    if (!w || !wcb || !filtered) goto out;
    CHECK_RC(topo_watch_next(w, 3000, &u), TOPO_OK);
    CHECK(u && u->type == TOPO_UPDATE_SNAPSHOT && u->has_snapshot);
    CHECK(u && u->revision > 0);
    topo_update_free(u);
    u = NULL;
    CHECK_RC(topo_watch_next(filtered, 3000, &u), TOPO_OK);
    CHECK(u && u->type == TOPO_UPDATE_SNAPSHOT && u->snapshot.nodes_count == 0);
    topo_update_free(u);
    u = NULL;
    CHECK_RC(topo_watch_start(wc, NULL, on_update, &st, NULL), TOPO_EINVAL);
    CHECK_RC(topo_watch_next(wcb, 10, &u), TOPO_ESTATE); /* a callback watch */

    register_c(b, "c-itest-watched", id, sizeof id);
    snprintf(st.watch_id, sizeof st.watch_id, "%s", id);
    CHECK(wait_for(w, TOPO_UPDATE_NODE_ADDED, id, false, 3000));
    CHECK(wait_for(filtered, TOPO_UPDATE_NODE_ADDED, id, false, 3000));
    {
        topo_snapshot *s = NULL;
        CHECK_RC(topo_get_topology(wc, &q, &s), TOPO_OK); /* the same filter, one snapshot */
        CHECK(s && s->nodes_count == 1 && strcmp(s->nodes[0].service_id, id) == 0);
        topo_snapshot_free(s);
    }
    CHECK_RC(topo_report_call(b, "c-itest-downstream", "Ping", 3.0, true), TOPO_OK);
    CHECK(wait_for(w, 0, id, true, 3000)); /* EDGE_ADDED or EDGE_UPDATED from b */
    CHECK_RC(topo_unregister(b), TOPO_OK);
    CHECK(wait_for(w, TOPO_UPDATE_NODE_REMOVED, id, false, 3000));
    CHECK(wait_for(filtered, TOPO_UPDATE_NODE_REMOVED, id, false, 3000));
    {
        long long deadline = t_now_ms() + 2000;
        int done = 0;
        while (!done && t_now_ms() < deadline) {
            pthread_mutex_lock(&st.mu);
            done = st.removed_seen;
            pthread_mutex_unlock(&st.mu);
            if (!done) t_sleep_ms(10);
        }
        pthread_mutex_lock(&st.mu);
        CHECK(st.count >= 3);
        CHECK_EQ_INT(st.first_type, TOPO_UPDATE_SNAPSHOT);
        CHECK(st.removed_seen);
        pthread_mutex_unlock(&st.mu);
    }
out:
    topo_watch_close(w);
    topo_watch_close(wcb);
    /* `filtered` is left open on purpose: topo_client_close closes it */
    topo_client_close(wc);
    topo_client_close(b);
    pthread_mutex_destroy(&st.mu);
}

int main(void)
{
    if (live_begin("test_integration_watch", true) != 0) return 1;
    RUN(test_watch);
    live_end();
    return T_SUMMARY("test_integration_watch");
}
