/* test_integration_auth - a real server run with --auth-token-file (live_server.h). */
#include <sys/stat.h>

#include "live_server.h"
#include "testutil.h"

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

int main(void)
{
    if (live_begin("test_integration_auth", false) != 0) return 1;
    RUN(test_auth);
    live_end();
    return T_SUMMARY("test_integration_auth");
}
