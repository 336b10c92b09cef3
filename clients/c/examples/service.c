/* example_service - registers, heartbeats in the background, reports a few calls, and
 * unregisters on Ctrl-C.   usage: example_service [host:port] [service-name] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topology.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static bool health(void *userdata, topo_health *h)
{
    (void)userdata;
    h->state = TOPO_HEALTH_HEALTHY;
    return true;
}

static void on_state(void *userdata, topo_client_state s, const char *id)
{
    static const char *const names[] = {"disconnected", "connected", "registered", "recovering", "closed"};
    (void)userdata;
    fprintf(stderr, "state: %s (service id %s)\n", names[s], id ? id : "-");
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:50053";
    topo_options opts;
    topo_service_info info;
    topo_client *client;
    struct sigaction sa;
    char id[64], err[256];
    int rc, i = 0;

    topo_options_init(&opts);
    opts.addresses = &addr;
    opts.addresses_count = 1;
    opts.health_cb = health;
    opts.state_cb = on_state;
    opts.collect_process_metrics = true;
    if ((rc = topo_client_connect(&opts, &client)) != TOPO_OK) {
        fprintf(stderr, "connect %s: %s\n", addr, topo_strerror(rc));
        return 1;
    }
    memset(&info, 0, sizeof info);
    info.name = argc > 2 ? argv[2] : "example-c-service";
    info.type = TOPO_SERVICE_TYPE_HYBRID;
    info.language = TOPO_LANG_C;
    info.version = TOPO_VERSION;
    if ((rc = topo_register(client, &info)) != TOPO_OK) {
        topo_client_last_error(client, err, sizeof err);
        fprintf(stderr, "register: %s (%s)\n", topo_strerror(rc), err);
        topo_client_close(client);
        return 1;
    }
    topo_client_service_id(client, id, sizeof id);
    printf("registered as %s; Ctrl-C to stop\n", id);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop) {
        struct timespec ts = {0, 200 * 1000000L};
        /* pretend to call two dependencies; the library batches these locally */
        if (topo_report_call(client, "inventory", "GET /items", 5.0 + i % 20, i % 50 != 0) != TOPO_OK ||
            topo_report_call(client, "payments", "Charge", 40.0 + i % 7, true) != TOPO_OK)
            fprintf(stderr, "report_call failed (not registered right now?)\n");
        i++;
        nanosleep(&ts, NULL);
    }
    rc = topo_unregister(client);
    printf("unregistered: %s\n", topo_strerror(rc));
    topo_client_close(client);
    return rc == TOPO_OK ? 0 : 1;
}
