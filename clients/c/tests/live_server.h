/* live_server.h - a real topology-server for the test_integration_* programs, started by the test.
 *
 * The server binary comes from $TOPOLOGY_SERVER (else ../../.build-cclient/debug/topology-server
 * or ../../.build/debug/topology-server). Runs with a 100 ms heartbeat interval and multiplier 3. */
#ifndef TOPO_LIVE_SERVER_H
#define TOPO_LIVE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../include/topology.h"

#define INTERVAL_MS 100

typedef struct server {
    pid_t pid;
    int port;
    char log[128];
    const char *token_file; /* --auth-token-file, or NULL */
    const char *const *flags; /* more flags, NULL-terminated, or NULL */
} server;

extern const char *server_bin;
/* The server most tests share (live_begin starts it, live_end stops it). */
extern server srv;

/* Finds the server binary and, if shared, starts srv; prints why not and returns -1 if either
 * fails. name: the test program, for the messages. */
int live_begin(const char *name, bool shared);
/* Stops srv, if live_begin started it. */
void live_end(void);

/* Starts the server on 127.0.0.1:port (0 = any) and waits for its "listening" log line.
 * Returns 0, or -1 (exited or no line within 20 s). */
int server_start(server *s, int port);
/* Sends sig, waits up to 3 s, then SIGKILL. */
void server_stop(server *s, int sig);
/* Stops the server; its log is kept only if a check failed (and printed then). */
void server_finish(server *s, int sig);

/* A client of srv (checked), or NULL. */
topo_client *client(void);
/* Registers a C service called name (checked) and copies its id into id (if not NULL). */
void register_c(topo_client *c, const char *name, char *id, size_t id_len);
const topo_node *find_node(const topo_snapshot *s, const char *id);
const topo_edge *find_edge(const topo_snapshot *s, const char *src, const char *target);

#endif
