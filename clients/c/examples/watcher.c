/* example_watcher - prints the live topology: the snapshot, then every change. Ctrl-C stops.
 * usage: example_watcher [host:port] */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "topology.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void print_node(const char *what, const topo_node *n)
{
    printf("%-13s %s %-24s %s\n", what, n->service_id ? n->service_id : "?",
           n->service_name ? n->service_name : "?", topo_node_state_name(n->state));
}

static void print_edge(const char *what, const topo_edge *e)
{
    printf("%-13s %s -> %s  requests %llu errors %llu  avg %.1f ms  p99 %.1f ms  %.1f rps\n", what,
           e->source_service_id ? e->source_service_id : "?", e->target_service ? e->target_service : "?",
           (unsigned long long)e->total_requests, (unsigned long long)e->total_errors, e->avg_latency_ms,
           e->latency_p99_ms, e->rps);
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:50053";
    topo_options opts;
    topo_client *client;
    topo_watch *watch;
    struct sigaction sa;
    int rc;

    topo_options_init(&opts);
    opts.addresses = &addr;
    opts.addresses_count = 1;
    if ((rc = topo_client_connect(&opts, &client)) != TOPO_OK) {
        fprintf(stderr, "connect %s: %s\n", addr, topo_strerror(rc));
        return 1;
    }
    if ((rc = topo_watch_start(client, NULL, NULL, NULL, &watch)) != TOPO_OK) {
        fprintf(stderr, "watch: %s\n", topo_strerror(rc));
        topo_client_close(client);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop) {
        topo_update *u;
        size_t i;
        rc = topo_watch_next(watch, 500, &u);
        if (rc == TOPO_ETIMEDOUT) continue;
        if (rc != TOPO_OK) {
            fprintf(stderr, "watch: %s\n", topo_strerror(rc));
            break;
        }
        switch (u->type) {
        case TOPO_UPDATE_SNAPSHOT:
            printf("== snapshot at revision %llu%s: %zu services, %zu edges\n",
                   (unsigned long long)u->revision, u->resync ? " (resync)" : "",
                   u->snapshot.nodes_count, u->snapshot.edges_count);
            for (i = 0; i < u->snapshot.nodes_count; i++) print_node("  node", &u->snapshot.nodes[i]);
            for (i = 0; i < u->snapshot.edges_count; i++) print_edge("  edge", &u->snapshot.edges[i]);
            break;
        case TOPO_UPDATE_PROGRESS:
            break; /* a quiet stream is still alive */
        default:
            if (u->has_node) print_node(topo_update_type_name(u->type) + 12, &u->node);
            if (u->has_edge) print_edge(topo_update_type_name(u->type) + 12, &u->edge);
        }
        fflush(stdout);
        topo_update_free(u);
    }
    topo_watch_close(watch);
    topo_client_close(client);
    return 0;
}
