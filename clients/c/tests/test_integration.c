/* test_integration - the client against a real topology-server started by the test.
 *
 * The server binary comes from $TOPOLOGY_SERVER (else ../../.build-cclient/debug/topology-server
 * or ../../.build/debug/topology-server). Runs with a 100 ms heartbeat interval and multiplier 3. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <math.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../include/topology.h"
#include "testutil.h"

#define INTERVAL_MS 100

typedef struct server {
    pid_t pid;
    int port;
    char log[128];
    const char *token_file; /* --auth-token-file, or NULL */
    const char *const *flags; /* more flags, NULL-terminated, or NULL */
} server;

static const char *server_bin;
static server srv;
static int extra_flags = 1; /* pass --activity-flush-ms (dropped if the server rejects it) */

static void server_stop(server *s, int sig);

static const char *find_server(void)
{
    static const char *const candidates[] = {"../../.build-cclient/debug/topology-server",
                                             "../../.build/debug/topology-server"};
    const char *env = getenv("TOPOLOGY_SERVER");
    size_t i;
    if (env && *env) return env;
    for (i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (access(candidates[i], X_OK) == 0) return candidates[i];
    return NULL;
}

static void print_log(const server *s)
{
    char buf[2048];
    FILE *f = fopen(s->log, "r");
    size_t n;
    if (!f) return;
    fprintf(stderr, "---- server log %s (start)\n", s->log);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fprintf(stderr, "%s\n----\n", buf);
    fclose(f);
}

/* Starts the server on 127.0.0.1:port (0 = any) and waits for its "listening" log line.
 * Returns 0, or -1 (exited or no line within 20 s). */
static int server_start(server *s, int port)
{
    static int seq;
    char addr[64], flush[16], hb[16];
    long long deadline;
    snprintf(s->log, sizeof s->log, "/tmp/topo-c-test-%d-%d.log", (int)getpid(), seq++);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    snprintf(hb, sizeof hb, "%d", INTERVAL_MS);
    snprintf(flush, sizeof flush, "%d", 100);
    s->port = 0;
    s->pid = fork();
    if (s->pid == 0) {
        const char *argv[24];
        int argc = 0, k, fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDWR);
        dup2(fd, 2);
        dup2(nul, 1);
        dup2(nul, 0);
        argv[argc++] = server_bin;
        argv[argc++] = "--address";
        argv[argc++] = addr;
        argv[argc++] = "--heartbeat-interval-ms";
        argv[argc++] = hb;
        argv[argc++] = "--timeout-multiplier";
        argv[argc++] = "3";
        /* no HTTP (a flag below may ask for it: the last one counts): the default port may be
         * another server's, and a server whose HTTP port is taken does not start */
        argv[argc++] = "--http-address=";
        if (extra_flags) {
            argv[argc++] = "--activity-flush-ms";
            argv[argc++] = flush;
        }
        if (s->token_file) {
            argv[argc++] = "--auth-token-file";
            argv[argc++] = s->token_file;
        }
        for (k = 0; s->flags && s->flags[k] && argc < 23; k++) argv[argc++] = s->flags[k];
        argv[argc] = NULL;
        execv(server_bin, (char *const *)argv);
        _exit(127);
    }
    deadline = t_now_ms() + 20000;
    while (t_now_ms() < deadline) {
        char buf[8192];
        FILE *f;
        size_t n = 0;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            if (extra_flags && WIFEXITED(st) && WEXITSTATUS(st) == 2) {
                extra_flags = 0; /* the server does not know a flag: retry without */
                unlink(s->log);
                return server_start(s, port);
            }
            print_log(s);
            unlink(s->log);
            return -1;
        }
        f = fopen(s->log, "r");
        if (f) {
            n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
        }
        buf[n] = '\0';
        {
            const char *l = strstr(buf, "msg=\"listening\"");
            const char *a = l ? strstr(l, "address=") : NULL;
            const char *colon = a ? strchr(a, '\n') : NULL;
            if (a) {
                const char *p = a + 8, *last = NULL;
                for (; *p && *p != ' ' && *p != '\n' && (!colon || p < colon); p++)
                    if (*p == ':') last = p;
                if (last) {
                    s->port = atoi(last + 1);
                    if (s->port > 0) return 0;
                }
            }
        }
        t_sleep_ms(2);
    }
    print_log(s);
    server_stop(s, SIGKILL);
    unlink(s->log);
    return -1;
}

static void server_stop(server *s, int sig)
{
    long long deadline = t_now_ms() + 3000;
    int st;
    if (s->pid <= 0) return;
    kill(s->pid, sig);
    while (t_now_ms() < deadline) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        t_sleep_ms(5);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
}

/* Stops the server; its log is kept only if a check failed (and printed then). */
static void server_finish(server *s, int sig)
{
    server_stop(s, sig);
    if (t_failures) print_log(s);
    else unlink(s->log);
}

static topo_client *client(void)
{
    topo_client *c = NULL;
    CHECK_RC(t_connect(srv.port, 3000, NULL, &c), TOPO_OK);
    return c;
}

/* Registers a C service called name (checked) and copies its id into id (if not NULL). */
static void register_c(topo_client *c, const char *name, char *id, size_t id_len)
{
    topo_service_info info;
    memset(&info, 0, sizeof info);
    info.name = name;
    info.language = TOPO_LANG_C;
    CHECK_RC(topo_register(c, &info), TOPO_OK);
    if (id) topo_client_service_id(c, id, id_len);
}

static const topo_node *find_node(const topo_snapshot *s, const char *id)
{
    size_t i;
    for (i = 0; s && i < s->nodes_count; i++)
        if (s->nodes[i].service_id && strcmp(s->nodes[i].service_id, id) == 0) return &s->nodes[i];
    return NULL;
}

static const topo_edge *find_edge(const topo_snapshot *s, const char *src, const char *target)
{
    size_t i;
    for (i = 0; s && i < s->edges_count; i++)
        if (s->edges[i].source_service_id && strcmp(s->edges[i].source_service_id, src) == 0 &&
            s->edges[i].target_service && strcmp(s->edges[i].target_service, target) == 0)
            return &s->edges[i];
    return NULL;
}

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

/* ---- --auth-token-file ------------------------------------------------------------------ */

#define AUTH_TOKEN "c-itest-token-5d41402abc4b2a76b9719d911017c592"

static int write_token(const char *path, const char *token)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%s\n", token);
    fclose(f);
    return chmod(path, 0600);
}

/* Restarts s on the same port (which the old socket may hold a moment longer). */
static void auth_restart(server *s, int port)
{
    int tries;
    server_stop(s, SIGKILL);
    for (tries = 0; tries < 50; tries++) {
        if (server_start(s, port) == 0) break;
        t_sleep_ms(100);
    }
    CHECK(s->pid > 0);
}

static bool wait_state(topo_client *c, topo_client_state want, uint64_t registrations, int ms)
{
    long long deadline = t_now_ms() + ms;
    while (t_now_ms() < deadline) {
        topo_client_stats st;
        topo_client_get_stats(c, &st);
        if (topo_client_state_get(c) == want && st.registrations >= registrations) return true;
        t_sleep_ms(2);
    }
    return false;
}

static void test_auth(void)
{
    server as;
    char path[128], msg[256];
    topo_client *good = NULL, *bare = NULL, *bad = NULL;
    topo_snapshot *s = NULL;
    topo_watch *w = NULL;
    topo_update *u = NULL;
    long long t0, deadline;
    int got;
    memset(&as, 0, sizeof as);
    snprintf(path, sizeof path, "/tmp/topo-c-token-%d", (int)getpid());
    CHECK(write_token(path, AUTH_TOKEN) == 0);
    as.token_file = path;
    CHECK(server_start(&as, 0) == 0);
    if (as.pid <= 0) goto out;

    /* The right token: calls work, a watch starts. */
    CHECK_RC(t_connect(as.port, 3000, AUTH_TOKEN, &good), TOPO_OK);
    if (!good) goto out;
    register_c(good, "c-itest-authenticated", NULL, 0);
    CHECK_RC(topo_watch_start(good, NULL, NULL, NULL, &w), TOPO_OK);
    if (!w) goto out;
    CHECK_RC(topo_watch_next(w, 3000, &u), TOPO_OK);
    topo_update_free(u);
    u = NULL;

    /* A wrong token: refused at once, no client. */
    t0 = t_now_ms();
    CHECK_RC(t_connect(as.port, 3000, "c-itest-not-the-token-at-all", &bad), TOPO_EAUTH);
    CHECK(bad == NULL);
    CHECK(t_now_ms() - t0 < 1000);

    /* No token: the TCP connection opens; the first call is refused, quickly, saying why. */
    CHECK_RC(t_connect(as.port, 3000, NULL, &bare), TOPO_OK);
    if (bare) {
        t0 = t_now_ms();
        CHECK_RC(topo_get_topology(bare, NULL, &s), TOPO_EAUTH);
        CHECK(s == NULL);
        CHECK(t_now_ms() - t0 < 1000);
        CHECK_EQ_INT(topo_client_last_status(bare), 16);
        topo_client_last_error(bare, msg, sizeof msg);
        CHECK(strstr(msg, "requires authentication") != NULL);
        printf("     without a token: \"%s\"\n", msg);
    }

    /* A server restart (same port, same token): the client authenticates again before it
     * re-registers, and the watch resumes. */
    auth_restart(&as, as.port);
    CHECK(wait_state(good, TOPO_CLIENT_REGISTERED, 2, 5000));
    CHECK_RC(topo_get_topology(good, NULL, &s), TOPO_OK);
    CHECK(s && s->nodes_count == 1);
    topo_snapshot_free(s);
    s = NULL;
    got = 0;
    deadline = t_now_ms() + 3000;
    while (!got && t_now_ms() < deadline) {
        if (topo_watch_next(w, 200, &u) != TOPO_OK) continue;
        got = u->type == TOPO_UPDATE_SNAPSHOT || u->type == TOPO_UPDATE_NODE_ADDED;
        topo_update_free(u);
        u = NULL;
    }
    CHECK(got);

    /* Restarted with another token: the client keeps trying and says why; once the token matches
     * again it is back by itself. */
    CHECK(write_token(path, "c-itest-rotated-token-0123456789") == 0);
    auth_restart(&as, as.port);
    deadline = t_now_ms() + 3000;
    while (topo_client_last_status(good) != 16 && t_now_ms() < deadline) t_sleep_ms(2);
    CHECK_EQ_INT(topo_client_last_status(good), 16);
    CHECK(topo_client_state_get(good) == TOPO_CLIENT_RECOVERING);
    topo_client_last_error(good, msg, sizeof msg);
    CHECK(strstr(msg, "does not match") != NULL);
    printf("     token rotated on the server: \"%s\"\n", msg);
    CHECK(write_token(path, AUTH_TOKEN) == 0);
    auth_restart(&as, as.port);
    CHECK(wait_state(good, TOPO_CLIENT_REGISTERED, 3, 5000));
out:
    topo_watch_close(w);
    topo_client_close(bare);
    topo_client_close(good);
    server_finish(&as, SIGTERM);
    unlink(path);
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

/* ---- the service starts before its server ------------------------------------------------ */

/* A port nothing listens on now, for a server started later (the kernel's pick for port 0). */
static int free_port(void)
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
    int port = free_port(), i;
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
    signal(SIGPIPE, SIG_IGN);
    server_bin = find_server();
    if (!server_bin) {
        fprintf(stderr, "test_integration: no server binary: set TOPOLOGY_SERVER\n");
        return 1;
    }
    if (server_start(&srv, 0) != 0) {
        fprintf(stderr, "test_integration: %s did not start\n", server_bin);
        return 1;
    }
    printf("     server %s on port %d%s\n", server_bin, srv.port,
           extra_flags ? "" : " (without --activity-flush-ms)");
    RUN(test_register_heartbeat_unregister);
    RUN(test_labels);
    RUN(test_activity_10k);
    RUN(test_watch);
    RUN(test_restart_keeps_id);
    RUN(test_auth);
    RUN(test_refused_activity);
    RUN(test_start_before_server);
    server_finish(&srv, SIGTERM);
    return T_SUMMARY("test_integration");
}
