#define _POSIX_C_SOURCE 200809L /* nanosleep, struct timespec: POSIX, not C99 */
#include <time.h>
#include <topology.h>

int main(void) {
    const char *addrs[] = {"127.0.0.1:50053", "topology-2.internal:50053"}; /* in order */
    topo_options o;
    topo_client *c;
    topo_service_info svc = {"billing", TOPO_SERVICE_TYPE_SERVER, TOPO_LANG_C, "1.4.2", NULL, NULL, NULL, NULL, 0};
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 2;
    o.collect_process_metrics = true;         /* CPU% and RSS ride on every heartbeat */
    if (topo_client_connect(&o, &c) != TOPO_OK) return 1;
    if (topo_register(c, &svc) != TOPO_OK) { topo_client_close(c); return 1; }
    for (int i = 0; i < 100; i++) {           /* your work; heartbeats run on their own thread */
        struct timespec pause = {0, 100000000};
        if (topo_report_call(c, "payments", "Charge", 12.5, true) != TOPO_OK) break;
        nanosleep(&pause, NULL);
    }
    int rc = topo_unregister(c);              /* flushes pending activity first */
    topo_client_close(c);
    return rc == TOPO_OK ? 0 : 1;
}
