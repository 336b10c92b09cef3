/* live_server.c - the real server of the test_integration_* programs (live_server.h). */
#include "live_server.h"

#include <fcntl.h>

#include "testutil.h"

const char *server_bin;
server srv;
static int extra_flags = 1; /* pass --activity-flush-ms (dropped if the server rejects it) */

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

int server_start(server *s, int port)
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

void server_stop(server *s, int sig)
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

void server_finish(server *s, int sig)
{
    server_stop(s, sig);
    if (t_failures) print_log(s);
    else unlink(s->log);
}

topo_client *client(void)
{
    topo_client *c = NULL;
    CHECK_RC(t_connect(srv.port, 3000, NULL, &c), TOPO_OK);
    return c;
}

/* Registers a C service called name (checked) and copies its id into id (if not NULL). */
void register_c(topo_client *c, const char *name, char *id, size_t id_len)
{
    topo_service_info info;
    memset(&info, 0, sizeof info);
    info.name = name;
    info.language = TOPO_LANG_C;
    CHECK_RC(topo_register(c, &info), TOPO_OK);
    if (id) topo_client_service_id(c, id, id_len);
}

const topo_node *find_node(const topo_snapshot *s, const char *id)
{
    size_t i;
    for (i = 0; s && i < s->nodes_count; i++)
        if (s->nodes[i].service_id && strcmp(s->nodes[i].service_id, id) == 0) return &s->nodes[i];
    return NULL;
}

const topo_edge *find_edge(const topo_snapshot *s, const char *src, const char *target)
{
    size_t i;
    for (i = 0; s && i < s->edges_count; i++)
        if (s->edges[i].source_service_id && strcmp(s->edges[i].source_service_id, src) == 0 &&
            s->edges[i].target_service && strcmp(s->edges[i].target_service, target) == 0)
            return &s->edges[i];
    return NULL;
}

int live_begin(const char *name, bool shared)
{
    signal(SIGPIPE, SIG_IGN);
    server_bin = find_server();
    if (!server_bin) {
        fprintf(stderr, "%s: no server binary: set TOPOLOGY_SERVER\n", name);
        return -1;
    }
    if (!shared) return 0;
    if (server_start(&srv, 0) != 0) {
        fprintf(stderr, "%s: %s did not start\n", name, server_bin);
        return -1;
    }
    printf("     server %s on port %d%s\n", server_bin, srv.port,
           extra_flags ? "" : " (without --activity-flush-ms)");
    return 0;
}

void live_end(void)
{
    if (srv.log[0]) server_finish(&srv, SIGTERM);
}
