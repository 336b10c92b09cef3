/* fake_server.c - the scripted fake server of the test_hostile_* programs (fake_server.h). */
#include "fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "testutil.h"

pthread_mutex_t fk_mu = PTHREAD_MUTEX_INITIALIZER;
int fk_get(volatile int *p)
{
    int v;
    pthread_mutex_lock(&fk_mu);
    v = *p;
    pthread_mutex_unlock(&fk_mu);
    return v;
}
void fk_set(volatile int *p, int v)
{
    pthread_mutex_lock(&fk_mu);
    *p = v;
    pthread_mutex_unlock(&fk_mu);
}

int read_frame(int fd, frame_reader *r, w_frame *f, int timeout_ms)
{
    long long deadline = t_now_ms() + timeout_ms;
    for (;;) {
        uint8_t buf[4096];
        struct pollfd p;
        ssize_t n;
        int left;
        frame_err e;
        memset(f, 0, sizeof *f);
        e = frame_reader_next(r, f);
        if (e == FRAME_OK) return 0;
        if (e != FRAME_NEED_MORE) return -1;
        left = (int)(deadline - t_now_ms());
        if (left <= 0) return -1;
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, left) <= 0) return -1;
        n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return -1;
        if (frame_reader_feed(r, buf, (size_t)n) != FRAME_OK) return -1;
    }
}

void send_raw(int fd, const void *p, size_t n)
{
    if (send(fd, p, n, MSG_NOSIGNAL) < 0) { /* the client may be gone: fine */
    }
}

void send_frame(int fd, w_frame *f)
{
    size_t n;
    uint8_t *b = frame_encode(f, &n);
    if (b) send_raw(fd, b, n);
    free(b);
}

static void *fake_main(void *arg)
{
    fake *fk = arg;
    while (!fk_get(&fk->stop) && fk->conns < fk->max_conns) {
        struct pollfd p;
        int fd;
        p.fd = fk->lfd;
        p.events = POLLIN;
        if (poll(&p, 1, 100) <= 0) continue;
        fd = accept(fk->lfd, NULL, NULL);
        if (fd < 0) continue;
        fk->conns++;
        fk->fn(fk, fd);
        close(fd);
    }
    return NULL;
}


void fake_start_on(fake *fk, scenario_fn fn, int max_conns, int port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1;
    memset(fk, 0, sizeof *fk);
    fk->fn = fn;
    fk->max_conns = max_conns;
    fk->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fk->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    CHECK(bind(fk->lfd, (struct sockaddr *)&a, sizeof a) == 0);
    listen(fk->lfd, 16);
    getsockname(fk->lfd, (struct sockaddr *)&a, &al);
    fk->port = ntohs(a.sin_port);
    pthread_create(&fk->th, NULL, fake_main, fk);
}

void fake_start(fake *fk, scenario_fn fn, int max_conns)
{
    fake_start_on(fk, fn, max_conns, 0);
}

void fake_stop(fake *fk)
{
    fk_set(&fk->stop, 1);
    pthread_join(fk->th, NULL);
    close(fk->lfd);
}

topo_client *connect_to(int port, int io_timeout_ms)
{
    topo_client *c = NULL;
    CHECK_RC(t_connect(port, io_timeout_ms, NULL, &c), TOPO_OK);
    return c;
}

const topo_service_info svc = {"hostile-test", TOPO_SERVICE_TYPE_CLIENT, TOPO_LANG_C,
                                      "1.0", NULL, NULL, NULL, NULL, 0};

void send_update(int fd, uint64_t call_id, int type, uint64_t rev)
{
    w_frame f;
    memset(&f, 0, sizeof f);
    f.call_id = call_id;
    f.which = W_WATCH_RESP;
    f.u.watch_resp.has_update = true;
    f.u.watch_resp.update.type = type;
    f.u.watch_resp.update.revision = rev;
    if (type == TOPO_UPDATE_SNAPSHOT) {
        f.u.watch_resp.update.has_snapshot = true;
        f.u.watch_resp.update.snapshot.revision = rev;
        f.u.watch_resp.update.snapshot.server_epoch = pb_strdup("epoch-flood");
    } else {
        f.u.watch_resp.update.has_node = true;
        f.u.watch_resp.update.node.service_id = pb_strdup("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
        f.u.watch_resp.update.node.state = TOPO_NODE_IDLE;
    }
    send_frame(fd, &f);
    pb_free(&w_frame_desc, &f);
}
