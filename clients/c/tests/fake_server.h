/* fake_server.h - a scripted fake Topology server for the test_hostile_* programs: it listens on
 * 127.0.0.1, accepts up to max_conns connections one after another and hands each to a scenario
 * that reads the client's frames and answers (or misbehaves) as it likes. */
#ifndef TOPO_FAKE_SERVER_H
#define TOPO_FAKE_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "../include/topology.h"
#include "wire.h"

typedef struct fake fake;
typedef void (*scenario_fn)(fake *fk, int fd);

struct fake {
    int lfd, port, max_conns, conns;
    scenario_fn fn;
    pthread_t th;
    volatile int stop;
    /* what the scenarios recorded (fk_get/fk_set while the fake runs) */
    volatile int registers;
    char first_id[64];
    char reregister_id[64]; /* read after fake_stop */
    int heartbeats;
    int seen_not_found_reregister;
    volatile int resubscribed, resume_sent, cancel_seen;
    volatile int resume_ok;
    volatile int watch_requests, send_call_id;
    /* sc_activity_times: the last report to each of two targets: 0 none, 1 without a time, 2 with */
    volatile int kept_report, live_report;
    int64_t kept_timestamp_ms;
    const uint8_t *raw;
    size_t raw_len;
};

/* Flags shared between a fake server's thread and the test thread: read and written under fk_mu
 * (fk_get/fk_set) while the fake runs. */
extern pthread_mutex_t fk_mu;
int fk_get(volatile int *p);
void fk_set(volatile int *p, int v);

/* Reads one frame within timeout_ms: 0, or -1 (timeout, close, or bytes that are not a frame). */
int read_frame(int fd, frame_reader *r, w_frame *f, int timeout_ms);
/* Sends bytes or a frame; a client already gone is fine. */
void send_raw(int fd, const void *p, size_t n);
void send_frame(int fd, w_frame *f);
/* A watch update on call_id at revision rev: a snapshot (epoch "epoch-flood") for
 * TOPO_UPDATE_SNAPSHOT, else a node. */
void send_update(int fd, uint64_t call_id, int type, uint64_t rev);

/* A fake on 127.0.0.1:port (0: any free port; fk->port says which). */
void fake_start_on(fake *fk, scenario_fn fn, int max_conns, int port);
void fake_start(fake *fk, scenario_fn fn, int max_conns);
/* Stops accepting, waits for the scenario running to end, closes the listening socket. */
void fake_stop(fake *fk);

/* A client of the fake on port (checked), or NULL. */
topo_client *connect_to(int port, int io_timeout_ms);

/* The service the tests register. */
extern const topo_service_info svc;

#endif
