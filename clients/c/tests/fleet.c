/* fleet - many services through the C client, and one watcher, for the crash-restart test
 * (Tests/reliability). Each service is its own topo_client (the API registers one service per
 * client), so each recovers by itself, as separate processes would.
 *
 * usage: fleet HOST:PORT COUNT NAME_PREFIX
 *
 * Prints one line per fact, for the test to count (ids are the server's service ids):
 *   service ID                        a service registered (COUNT of these, then:)
 *   ready                             every service registered, the watch started
 *   snapshot EPOCH RESYNC ID ID ...   the watch got a SNAPSHOT (RESYNC 0 or 1) listing these nodes
 *   node ID                           NODE_ADDED or NODE_UPDATED
 *   removed ID                        NODE_REMOVED
 * Runs until its stdin closes, then closes every client (without unregistering) and exits 0.
 * Exit 1 if a registration or the watch fails at the start. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/topology.h"

static int connect_client(const char *address, topo_client **out)
{
    topo_options options;
    topo_options_init(&options);
    options.addresses = &address;
    options.addresses_count = 1;
    return topo_client_connect(&options, out);
}

static void print_update(const topo_update *u)
{
    size_t i;
    if (u->type == TOPO_UPDATE_SNAPSHOT) {
        printf("snapshot %s %d", u->snapshot.server_epoch ? u->snapshot.server_epoch : "-", u->resync ? 1 : 0);
        for (i = 0; i < u->snapshot.nodes_count; i++) printf(" %s", u->snapshot.nodes[i].service_id);
        printf("\n");
    } else if (u->has_node && (u->type == TOPO_UPDATE_NODE_ADDED || u->type == TOPO_UPDATE_NODE_UPDATED)) {
        printf("node %s\n", u->node.service_id);
    } else if (u->has_node && u->type == TOPO_UPDATE_NODE_REMOVED) {
        printf("removed %s\n", u->node.service_id);
    }
    fflush(stdout);
}

/* True once stdin is closed (or broken). */
static int stdin_closed(void)
{
    struct pollfd pfd;
    char byte;
    pfd.fd = 0;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, 0) <= 0) return 0;
    return read(0, &byte, 1) <= 0;
}

int main(int argc, char **argv)
{
    const char *address;
    int count, i, rc, status = 0;
    topo_client **services, *watcher = NULL;
    topo_watch *watch = NULL;

    if (argc != 4 || (count = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: fleet HOST:PORT COUNT NAME_PREFIX\n");
        return 2;
    }
    address = argv[1];
    services = calloc((size_t)count, sizeof *services);
    if (!services) return 1;
    for (i = 0; i < count; i++) {
        topo_service_info info;
        char name[128], id[64];
        memset(&info, 0, sizeof info);
        snprintf(name, sizeof name, "%s-%d", argv[3], i);
        info.name = name;
        info.language = TOPO_LANG_C;
        if ((rc = connect_client(address, &services[i])) != TOPO_OK || (rc = topo_register(services[i], &info)) != TOPO_OK) {
            fprintf(stderr, "fleet: service %d: %s\n", i, topo_strerror(rc));
            status = 1;
            goto out;
        }
        topo_client_service_id(services[i], id, sizeof id);
        printf("service %s\n", id);
    }
    if ((rc = connect_client(address, &watcher)) != TOPO_OK || (rc = topo_watch_start(watcher, NULL, NULL, NULL, &watch)) != TOPO_OK) {
        fprintf(stderr, "fleet: watch: %s\n", topo_strerror(rc));
        status = 1;
        goto out;
    }
    printf("ready\n");
    fflush(stdout);
    while (!stdin_closed()) {
        topo_update *u = NULL;
        if (topo_watch_next(watch, 50, &u) != TOPO_OK) continue;
        print_update(u);
        topo_update_free(u);
    }
out:
    topo_watch_close(watch);
    topo_client_close(watcher);
    for (i = 0; i < count; i++) topo_client_close(services[i]);
    free(services);
    return status;
}
