/* test_integration_activity - reported calls against a real server (live_server.h): 10,000 calls
 * from 4 threads reach their edge, and calls whose report the server refuses are counted as
 * dropped, with the reason. */
#include <math.h>
#include <pthread.h>

#include "live_server.h"
#include "testutil.h"

/* ---- 10,000 calls from 4 threads ---------------------------------------------------------- */

typedef struct worker {
    topo_client *c;
    int index;
    int failures;
} worker;

#define CALLS_PER_THREAD 2500
#define ACTIVITY_TARGET "c-itest-target"

static void *report_worker(void *arg)
{
    worker *w = arg;
    int i;
    for (i = 0; i < CALLS_PER_THREAD; i++) {
        int k = w->index * CALLS_PER_THREAD + i;
        double latency = 1.0 + (double)(k % 100); /* uniform 1..100 ms, each exactly 100 times */
        bool ok = k % 20 != 0;                      /* 500 errors */
        if (topo_report_call(w->c, ACTIVITY_TARGET, "GET /items", latency, ok) != TOPO_OK) w->failures++;
    }
    return NULL;
}

static void test_activity_10k(void)
{
    topo_client *c = client();
    pthread_t th[4];
    worker w[4];
    char id[64];
    int i;
    long long deadline;
    const topo_edge *e = NULL;
    topo_snapshot *s = NULL;
    if (!c) return;
    register_c(c, "c-itest-caller", id, sizeof id);
    for (i = 0; i < 4; i++) {
        w[i].c = c;
        w[i].index = i;
        w[i].failures = 0;
        pthread_create(&th[i], NULL, report_worker, &w[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].failures, 0);
    }
    CHECK_RC(topo_flush(c), TOPO_OK); /* or wait for the background flush */
    deadline = t_now_ms() + 5000;
    while (t_now_ms() < deadline) {
        topo_snapshot_free(s);
        s = NULL;
        if (topo_get_topology(c, NULL, &s) != TOPO_OK) break;
        e = find_edge(s, id, ACTIVITY_TARGET);
        if (e && e->total_requests >= 10000) break;
        t_sleep_ms(50);
    }
    CHECK(e != NULL);
    if (e) {
        CHECK_EQ_INT(e->total_requests, 10000);
        CHECK_EQ_INT(e->total_errors, 500);
        printf("     edge: requests %llu errors %llu avg %.2f p50 %.2f p95 %.2f p99 %.2f error_rate %.4f\n",
               (unsigned long long)e->total_requests, (unsigned long long)e->total_errors,
               e->avg_latency_ms, e->latency_p50_ms, e->latency_p95_ms, e->latency_p99_ms, e->error_rate);
        CHECK(fabs(e->avg_latency_ms - 50.5) / 50.5 < 0.02);
        CHECK(fabs(e->latency_p50_ms - 50.0) / 50.0 < 0.04);
        CHECK(fabs(e->latency_p95_ms - 95.0) / 95.0 < 0.04);
        CHECK(fabs(e->latency_p99_ms - 99.0) / 99.0 < 0.04);
    }
    /* nothing counted twice: still exactly 10,000 after further flush periods */
    t_sleep_ms(300);
    topo_snapshot_free(s);
    s = NULL;
    CHECK_RC(topo_get_topology(c, NULL, &s), TOPO_OK);
    e = find_edge(s, id, ACTIVITY_TARGET);
    CHECK(e && e->total_requests == 10000);
    topo_snapshot_free(s);
    CHECK_RC(topo_unregister(c), TOPO_OK);
    topo_client_close(c);
}

/* ---- activity the server refuses ------------------------------------------------------------ */

/* Waits until calls_dropped reaches want; returns it. */
static uint64_t wait_dropped(topo_client *c, uint64_t want)
{
    topo_client_stats st;
    long long deadline = t_now_ms() + 5000;
    do {
        topo_client_get_stats(c, &st);
        if (st.calls_dropped >= want) break;
        t_sleep_ms(5);
    } while (t_now_ms() < deadline);
    return st.calls_dropped;
}

/* Calls whose report the server answers with an error Status are counted in calls_dropped, with
 * the last error and status saying why; the others reach their edges. */
static void test_refused_activity(void)
{
    static const char *const flags[] = {"--max-edges-per-service", "2", "--max-string-bytes", "24", NULL};
    static const char *const targets[] = {"c-refused-one", "c-refused-two", "c-refused-three"};
    const char *long_target = "c-refused-target-over-24-bytes"; /* 30 bytes: under the client's 1024 */
    server ls;
    topo_client *c = NULL;
    topo_snapshot *s = NULL;
    char id[64], msg[256];
    uint64_t dropped = 0, delivered = 0;
    long long deadline;
    int i, k;
    memset(&ls, 0, sizeof ls);
    ls.flags = flags;
    CHECK(server_start(&ls, 0) == 0);
    if (ls.pid <= 0) return;
    CHECK_RC(t_connect(ls.port, 3000, NULL, &c), TOPO_OK);
    if (!c) goto out;
    register_c(c, "c-itest-refused", id, sizeof id);

    /* INVALID_ARGUMENT: a target over the server's --max-string-bytes */
    for (k = 0; k < 8; k++) CHECK_RC(topo_report_call(c, long_target, NULL, 2.0, true), TOPO_OK);
    CHECK_RC(topo_flush(c), TOPO_OK);
    CHECK_EQ_INT(wait_dropped(c, 8), 8);
    CHECK_EQ_INT(topo_client_last_status(c), 3);
    topo_client_last_error(c, msg, sizeof msg);
    CHECK(strstr(msg, "report activity: server status 3") && strstr(msg, "target_service"));
    printf("     refused: \"%s\"\n", msg);

    /* RESOURCE_EXHAUSTED: a third target past --max-edges-per-service 2 (1, 2 and 4 calls, so the
     * dropped count says which one came third) */
    for (i = 0; i < 3; i++)
        for (k = 0; k < (1 << i); k++) CHECK_RC(topo_report_call(c, targets[i], "get", 2.0, true), TOPO_OK);
    CHECK_RC(topo_flush(c), TOPO_OK);
    dropped = wait_dropped(c, 9) - 8;
    CHECK(dropped == 1 || dropped == 2 || dropped == 4);
    CHECK_EQ_INT(topo_client_last_status(c), 8);
    topo_client_last_error(c, msg, sizeof msg);
    CHECK(strstr(msg, "report activity: server status 8") && strstr(msg, "limit reached"));
    printf("     refused: \"%s\"\n", msg);
    deadline = t_now_ms() + 5000; /* the other two reach their edges at the next activity flush */
    do {
        delivered = 0;
        topo_snapshot_free(s);
        s = NULL;
        if (topo_get_topology(c, NULL, &s) != TOPO_OK) break;
        for (i = 0; i < 3; i++) {
            const topo_edge *e = find_edge(s, id, targets[i]);
            if (e) delivered += e->total_requests;
        }
        if (delivered + dropped >= 7) break;
        t_sleep_ms(20);
    } while (t_now_ms() < deadline);
    CHECK_EQ_INT(delivered + dropped, 7);
    CHECK(find_edge(s, id, long_target) == NULL);
    topo_snapshot_free(s);
    CHECK_RC(topo_unregister(c), TOPO_OK);
out:
    topo_client_close(c);
    server_finish(&ls, SIGTERM);
}

int main(void)
{
    if (live_begin("test_integration_activity", true) != 0) return 1;
    RUN(test_activity_10k);
    RUN(test_refused_activity);
    live_end();
    return T_SUMMARY("test_integration_activity");
}
