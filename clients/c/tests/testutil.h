/* testutil.h - tiny test harness shared by the C client tests (the counters and t_free_port are
 * in testutil.c, so that the support files' checks count with the test's). */
#ifndef TOPO_TESTUTIL_H
#define TOPO_TESTUTIL_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/topology.h"

extern int t_checks, t_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        t_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            t_failures++;                                                                          \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        t_checks++;                                                                                \
        if (va_ != vb_) {                                                                          \
            t_failures++;                                                                          \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, \
                    va_, vb_);                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        t_checks++;                                                                                \
        if (rc_ != (want)) {                                                                       \
            t_failures++;                                                                          \
            fprintf(stderr, "  FAIL %s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__,     \
                    #expr, topo_strerror(rc_), topo_strerror(want));                               \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = t_failures;                                                                  \
        long long t0_ = t_now_ms();                                                                \
        fn();                                                                                      \
        printf("%s %s (%lld ms)\n", t_failures == before_ ? "ok  " : "FAIL", #fn,                  \
               t_now_ms() - t0_);                                                                  \
        fflush(stdout);                                                                            \
    } while (0)

#define T_SUMMARY(name)                                                                            \
    (printf("%s: %d checks, %d failures\n", name, t_checks, t_failures), t_failures ? 1 : 0)

static inline long long t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void t_sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* topo_client_connect to 127.0.0.1:port, with auth_token = token (may be NULL). The connect
 * timeout is short: a loopback connect succeeds or is refused at once. */
static inline int t_connect(int port, int io_timeout_ms, const char *token, topo_client **c)
{
    char addr[64];
    const char *addrs[1];
    topo_options o;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    addrs[0] = addr;
    topo_options_init(&o);
    o.addresses = addrs;
    o.addresses_count = 1;
    o.io_timeout_ms = io_timeout_ms;
    o.connect_timeout_ms = 1000;
    o.auth_token = token;
    return topo_client_connect(&o, c);
}

/* A port on 127.0.0.1 that nothing listens on now (the kernel's pick for port 0, released): for a
 * client that must find no server, or a server started later on a port chosen up front. */
int t_free_port(void);

#endif
