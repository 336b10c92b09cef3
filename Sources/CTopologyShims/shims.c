#define _GNU_SOURCE
#include "CTopologyShims.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

int topology_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int topology_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

int topology_epoll_event_size(void) { return (int)sizeof(struct epoll_event); }

int topology_epoll_wait(int epfd, void *scratch, uint64_t *data, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event *ready = scratch;
    int count = epoll_wait(epfd, ready, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        data[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

int topology_accept(int fd, void *address, uint32_t *address_length) {
    socklen_t length = *address_length;
    int result = accept4(fd, (struct sockaddr *)address, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    *address_length = length;
    return result;
}

long topology_getrandom(void *buffer, unsigned long length) { return (long)getrandom(buffer, length, 0); }

int topology_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static void termination_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

int topology_signalfd_create(void) {
    sigset_t set;
    termination_signals(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int topology_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return -1;
    if ((size_t)n < sizeof info) return 0;
    return (int)info.ssi_signo;
}

int topology_signals_unblock(void) {
    sigset_t set;
    termination_signals(&set);
    int rc = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

int topology_malloc_trim(void) { return malloc_trim(0); }

int topology_malloc_one_arena(void) { return mallopt(M_ARENA_MAX, 1); }

void topology_heap_bytes(size_t *in_use, size_t *free_kept) {
    struct mallinfo2 info = mallinfo2();
    *in_use = info.uordblks + info.hblkhd;
    *free_kept = info.fordblks;
}
