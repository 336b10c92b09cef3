/*
 * floor: the baseline of scripts/bench.sh. A minimal epoll server that reads length-prefixed
 * frames (a protobuf varint length, then that many bytes) and answers each one with the same fixed
 * frame, nothing else: no decoding, no state, no allocation after start. Whatever topology-server
 * spends per heartbeat beyond this is the cost of being a topology server rather than an echo.
 *
 * It does the same I/O the server does per wake-up: level-triggered epoll, TCP_NODELAY, read until
 * the kernel has nothing more (at most 256 KiB per connection per wake-up), one write of all the
 * replies a read produced, EPOLLOUT only while a reply is left unwritten.
 *
 *   floor --address 127.0.0.1:0 --response-hex 0a...   (the reply frame, length prefix included)
 *
 * Prints `msg="listening" address=127.0.0.1:PORT` on stderr (the server's startup line format),
 * serves until SIGINT or SIGTERM, exits 0. Loopback IPv4 only; single-threaded.
 * Build: cc -O2 -o floor floor.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

enum { READ_CHUNK = 64 * 1024, READ_BUDGET = 256 * 1024, MAX_FRAME = 1 << 20, MAX_EVENTS = 256 };

/* One connection: bytes of an incomplete frame carried over between reads, and replies not yet
 * taken by the kernel. Both buffers grow on demand and are freed with the connection. */
typedef struct floor_conn {
    int fd;
    unsigned char *in;
    size_t in_len, in_cap;
    unsigned char *out;
    size_t out_len, out_off, out_cap;
    int want_out;
} floor_conn;

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static unsigned char *response;
static size_t response_len;
static unsigned long long frames_answered;

static int reserve(unsigned char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need) n *= 2;
    unsigned char *p = realloc(*buf, n);
    if (!p) return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static void conn_free(int epfd, floor_conn *c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

/* Writes what the kernel takes; -1 when the connection failed. */
static int conn_flush(int epfd, floor_conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    int want = c->out_len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0), .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
    return 0;
}

/* Answers every complete frame in `data`; returns the bytes consumed, or -1 on a bad prefix. */
static long answer_frames(floor_conn *c, const unsigned char *data, size_t len) {
    size_t pos = 0;
    for (;;) {
        uint64_t body = 0;
        size_t i = pos;
        int shift = 0, complete = 0;
        while (i < len) {
            unsigned char b = data[i++];
            body |= (uint64_t)(b & 0x7f) << shift;
            if (b < 0x80) { complete = 1; break; }
            shift += 7;
            if (shift >= 35) return -1;
        }
        if (!complete) return (long)pos;
        if (body > MAX_FRAME) return -1;
        if (len - i < body) return (long)pos;
        pos = i + (size_t)body;
        if (reserve(&c->out, &c->out_cap, c->out_len + response_len) != 0) return -1;
        memcpy(c->out + c->out_len, response, response_len);
        c->out_len += response_len;
        frames_answered++;
    }
}

/* Reads what is there (up to the budget) and answers it; -1 when the connection is done. */
static int conn_read(floor_conn *c, unsigned char *chunk) {
    size_t budget = READ_BUDGET;
    while (budget > 0) {
        ssize_t n = recv(c->fd, chunk, READ_CHUNK, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        if (n == 0) return -1;
        budget -= (size_t)n < budget ? (size_t)n : budget;
        if (c->in_len == 0) {
            /* Common case: whole frames in the chunk, answered straight from it. */
            long used = answer_frames(c, chunk, (size_t)n);
            if (used < 0) return -1;
            size_t rest = (size_t)n - (size_t)used;
            if (rest) {
                if (reserve(&c->in, &c->in_cap, rest) != 0) return -1;
                memcpy(c->in, chunk + used, rest);
                c->in_len = rest;
            }
        } else {
            if (reserve(&c->in, &c->in_cap, c->in_len + (size_t)n) != 0) return -1;
            memcpy(c->in + c->in_len, chunk, (size_t)n);
            c->in_len += (size_t)n;
            long used = answer_frames(c, c->in, c->in_len);
            if (used < 0) return -1;
            memmove(c->in, c->in + used, c->in_len - (size_t)used);
            c->in_len -= (size_t)used;
        }
        if ((size_t)n < READ_CHUNK) break;
    }
    return 0;
}

static int parse_hex(const char *hex) {
    size_t n = strlen(hex);
    if (n == 0 || n % 2) return -1;
    response_len = n / 2;
    response = malloc(response_len);
    if (!response) return -1;
    for (size_t i = 0; i < response_len; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
        response[i] = (unsigned char)byte;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *address = "127.0.0.1:0", *hex = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--address") == 0) address = argv[i + 1];
        else if (strcmp(argv[i], "--response-hex") == 0) hex = argv[i + 1];
        else { fprintf(stderr, "floor: unknown flag %s\n", argv[i]); return 2; }
    }
    if (!hex || parse_hex(hex) != 0) {
        fprintf(stderr, "floor: --response-hex HEX (the reply frame, length prefix included) is required\n");
        return 2;
    }
    char host[64];
    const char *colon = strrchr(address, ':');
    if (!colon || (size_t)(colon - address) >= sizeof host) { fprintf(stderr, "floor: bad --address\n"); return 2; }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = 0;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        listen(lfd, 4096) != 0) {
        perror("floor: bind/listen");
        return 1;
    }
    socklen_t slen = sizeof sin;
    getsockname(lfd, (struct sockaddr *)&sin, &slen);
    fprintf(stderr, "level=info msg=\"listening\" address=%s:%d response_bytes=%zu\n", host, ntohs(sin.sin_port),
            response_len);

    int epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event ready[MAX_EVENTS];
    unsigned char *chunk = malloc(READ_CHUNK);
    unsigned long open_conns = 0;
    while (!stopping) {
        int n = epoll_wait(epfd, ready, MAX_EVENTS, 200);
        for (int i = 0; i < n; i++) {
            floor_conn *c = ready[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    floor_conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
                    open_conns++;
                }
                continue;
            }
            uint32_t e = ready[i].events;
            int failed = 0;
            if (e & EPOLLOUT) failed = conn_flush(epfd, c) != 0;
            if (!failed && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                failed = conn_read(c, chunk) != 0;
                if (conn_flush(epfd, c) != 0) failed = 1;
            }
            if (failed) {
                conn_free(epfd, c);
                open_conns--;
            }
        }
    }
    fprintf(stderr, "level=info msg=\"stopped\" frames_answered=%llu open_connections=%lu\n", frames_answered, open_conns);
    free(chunk);
    free(response);
    return 0;
}
