/* codec_bench - what the C client's hot paths cost on this machine: encoding and decoding a
 * heartbeat Frame, and topo_report_call's string checks and aggregation on one thread and from 4
 * threads sharing one client. `make bench` builds it with
 * the library's -O2 flags and runs it; it prints figures and checks nothing about them (timings
 * are not assertions: see the tests for behaviour). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "wire.h"

#define ITERATIONS 1000000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_heartbeat_frame(void)
{
    w_frame f, g;
    uint8_t buf[256];
    size_t n = 0;
    int i;
    pb_error err = PB_OK;
    double t0, t1, t2;
    memset(&f, 0, sizeof f);
    f.call_id = 3;
    f.which = W_HEARTBEAT_REQ;
    f.u.heartbeat_req.service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    f.u.heartbeat_req.sequence = 12345;
    f.u.heartbeat_req.has_metrics = true;
    f.u.heartbeat_req.metrics.cpu_percent = 12.5;
    f.u.heartbeat_req.metrics.memory_bytes = 123456789;
    f.u.heartbeat_req.has_health = true;
    f.u.heartbeat_req.health.state = TOPO_HEALTH_HEALTHY;
    t0 = now_ns();
    for (i = 0; i < ITERATIONS && err == PB_OK; i++) n = pb_encode(&w_frame_desc, &f, buf, sizeof buf, &err);
    t1 = now_ns();
    for (i = 0; i < ITERATIONS && err == PB_OK; i++) {
        memset(&g, 0, sizeof g);
        if (!pb_decode(&w_frame_desc, &g, buf, n, NULL)) err = PB_ERR_TRUNCATED;
        pb_free(&w_frame_desc, &g);
    }
    t2 = now_ns();
    pb_free(&w_frame_desc, &f);
    if (err != PB_OK) {
        fprintf(stderr, "codec_bench: heartbeat frame failed: %s\n", pb_error_name(err));
        return 1;
    }
    printf("heartbeat Frame (%zu bytes): encode %.0f ns, decode %.0f ns\n", n, (t1 - t0) / ITERATIONS,
           (t2 - t1) / ITERATIONS);
    return 0;
}

static int bench_report_call(void)
{
    aggregator a;
    int i, rc = TOPO_OK;
    double t0, t1;
    if (agg_init(&a) != TOPO_OK) return 1;
    agg_set_accepting(&a, true);
    t0 = now_ns();
    for (i = 0; i < ITERATIONS && rc == TOPO_OK; i++)
        rc = agg_add(&a, "inventory", "GET /items", 1.0 + (i % 500) * 0.37, i % 10 != 0);
    t1 = now_ns();
    agg_destroy(&a);
    if (rc != TOPO_OK) {
        fprintf(stderr, "codec_bench: aggregation failed: %s\n", topo_strerror(rc));
        return 1;
    }
    printf("report_call (string checks and aggregation), one thread: %.0f ns per call\n", (t1 - t0) / ITERATIONS);
    return 0;
}

#define THREADS 4

typedef struct worker {
    aggregator *a;
    int failures;
    double ns;
} worker;

static void *report_worker(void *arg)
{
    worker *w = arg;
    int i;
    double t0 = now_ns();
    for (i = 0; i < ITERATIONS / THREADS; i++)
        if (agg_add(w->a, "inventory", "GET /items", 1.0 + (i % 500) * 0.37, i % 10 != 0) != TOPO_OK)
            w->failures++;
    w->ns = now_ns() - t0;
    return NULL;
}

static int bench_report_call_threads(void)
{
    aggregator a;
    pthread_t th[THREADS];
    worker w[THREADS];
    int i, failures = 0;
    double ns = 0;
    if (agg_init(&a) != TOPO_OK) return 1;
    agg_set_accepting(&a, true);
    for (i = 0; i < THREADS; i++) {
        w[i].a = &a;
        w[i].failures = 0;
        pthread_create(&th[i], NULL, report_worker, &w[i]);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
        ns += w[i].ns;
    }
    agg_destroy(&a);
    if (failures) {
        fprintf(stderr, "codec_bench: %d calls refused\n", failures);
        return 1;
    }
    printf("report_call, %d threads on one client: %.0f ns per call (average per thread)\n", THREADS,
           ns / ITERATIONS);
    return 0;
}

int main(void)
{
    return bench_heartbeat_frame() | bench_report_call() | bench_report_call_threads();
}
