/* net.c - the only file with socket system calls. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t at;
    int rc;
    if (pthread_condattr_init(&at) != 0) return -1;
    pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cv, &at);
    pthread_condattr_destroy(&at);
    return rc == 0 ? 0 : -1;
}

void cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms)
{
    struct timespec ts;
    if (deadline_ms < 0) {
        pthread_cond_wait(cv, mu);
        return;
    }
    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    pthread_cond_timedwait(cv, mu, &ts);
}

int net_split_address(const char *address, char *host, size_t host_len, char *port, size_t port_len)
{
    const char *colon, *hs, *he;
    size_t hl, pl;
    if (!address || !*address) return TOPO_EINVAL;
    if (address[0] == '[') {
        he = strchr(address, ']');
        if (!he || he[1] != ':') return TOPO_EINVAL;
        hs = address + 1;
        colon = he + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon) return TOPO_EINVAL;
        hs = address;
        he = colon;
    }
    hl = (size_t)(he - hs);
    pl = strlen(colon + 1);
    if (hl == 0 || hl >= host_len || pl == 0 || pl >= port_len) return TOPO_EINVAL;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, pl + 1);
    return TOPO_OK;
}

int net_connect(const char *address, int timeout_ms, int io_timeout_ms, char *err, size_t err_len)
{
    char host[256], port[16];
    struct addrinfo hints, *res = NULL, *ai;
    int rc, fd = -1, result = TOPO_ECONNECT;
    if (net_split_address(address, host, sizeof host, port, sizeof port) != TOPO_OK) {
        snprintf(err, err_len, "invalid address \"%s\": expected host:port or [v6]:port", address);
        return TOPO_EINVAL;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, err_len, "cannot resolve %s: %s", address, gai_strerror(rc));
        return TOPO_ECONNECT;
    }
    snprintf(err, err_len, "cannot connect to %s", address);
    for (ai = res; ai; ai = ai->ai_next) {
        int flags, so_err = 0;
        socklen_t sl = sizeof so_err;
        struct pollfd pfd;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) continue;
        flags = fcntl(fd, F_GETFL, 0);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            int64_t deadline = mono_ms() + timeout_ms;
            for (;;) {
                int left = (int)(deadline - mono_ms());
                if (left < 0) left = 0;
                pfd.fd = fd;
                pfd.events = POLLOUT;
                pfd.revents = 0;
                rc = poll(&pfd, 1, left);
                if (rc < 0 && errno == EINTR) continue;
                break;
            }
            if (rc == 0) {
                snprintf(err, err_len, "connect to %s timed out after %d ms", address, timeout_ms);
                result = TOPO_ECONNECT;
                close(fd);
                fd = -1;
                continue;
            }
            if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &sl) != 0 || so_err != 0) {
                snprintf(err, err_len, "connect to %s: %s", address, strerror(so_err ? so_err : errno));
                close(fd);
                fd = -1;
                continue;
            }
        } else if (rc != 0) {
            snprintf(err, err_len, "connect to %s: %s", address, strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        {
            int one = 1;
            struct timeval tv;
            tv.tv_sec = io_timeout_ms / 1000;
            tv.tv_usec = (io_timeout_ms % 1000) * 1000;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        }
        break;
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : result;
}

int net_send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return TOPO_ETIMEDOUT;
            if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) return TOPO_ECLOSED;
            return TOPO_ESYS;
        }
        p += k;
        n -= (size_t)k;
    }
    return TOPO_OK;
}

int net_wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd;
    int rc;
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : TOPO_ESYS;
    return rc > 0 ? 1 : 0;
}

long net_recv(int fd, uint8_t *buf, size_t cap)
{
    for (;;) {
        ssize_t k = recv(fd, buf, cap, 0);
        if (k >= 0) return (long)k;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return TOPO_ETIMEDOUT;
        return TOPO_ECLOSED;
    }
}
