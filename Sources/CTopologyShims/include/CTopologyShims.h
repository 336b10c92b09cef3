// The Linux system interfaces the server needs that Glibc does not expose to Swift in a usable form
// (epoll's packed struct, signalfd's sigset macros). Thin pass-throughs: each returns what the
// system call returns (-1 with errno set on failure); the Swift side wraps every call in its one
// syscall wrapper. As in SwiftNIO's CNIOLinux, nothing here keeps state.
#pragma once

#include <stddef.h>
#include <stdint.h>

/// epoll_create1(EPOLL_CLOEXEC).
int topology_epoll_create(void);

/// epoll_ctl with the event's data set to `data`. `op`: 1 add, 2 delete, 3 modify (EPOLL_CTL_*).
int topology_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);

/// The size of one `struct epoll_event` (packed on x86_64), for `topology_epoll_wait`'s scratch.
int topology_epoll_event_size(void);

/// epoll_wait of up to `capacity` events into `scratch` (room for `capacity` events of
/// `topology_epoll_event_size()` bytes), unpacked into two parallel caller-owned arrays of
/// `capacity` entries: the data of each ready descriptor and its event bits. Returns the count, or
/// -1 with errno. Every ready descriptor up to `capacity` is reported: the loop's input horizon
/// counts on a wait that returned fewer than `capacity` having reported all of them.
int topology_epoll_wait(int epfd, void *scratch, uint64_t *data, uint32_t *events, int capacity, int timeout_ms);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (a GNU extension Glibc's module does not export).
int topology_accept(int fd, void *address, uint32_t *address_length);

/// getrandom(2): fills `buffer` with `length` random bytes; the count, or -1 with errno.
long topology_getrandom(void *buffer, unsigned long length);

/// An eventfd (non-blocking, close-on-exec) used to wake the loop from another thread.
int topology_eventfd_create(void);

/// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later) and returns a
/// non-blocking signalfd that reports them; -1 with errno on failure.
int topology_signalfd_create(void);

/// Reads one signal from a signalfd: the signal number, 0 if none was pending, -1 with errno.
int topology_signalfd_read(int fd);

/// Unblocks SIGINT and SIGTERM in the calling thread again.
int topology_signals_unblock(void);

/// malloc_trim(0): gives free heap memory of every arena back to the system. 1 if some was.
int topology_malloc_trim(void);

/// mallopt(M_ARENA_MAX, 1): threads that have no arena yet allocate from the main one. 1 if set.
int topology_malloc_one_arena(void);

/// The C allocator's bytes over all arenas (mallinfo2): in use by the program (heap and mmapped
/// chunks), and free but kept by the allocator.
void topology_heap_bytes(size_t *in_use, size_t *free_kept);

enum {
    TOPOLOGY_EPOLLIN = 0x001,
    TOPOLOGY_EPOLLOUT = 0x004,
    TOPOLOGY_EPOLLERR = 0x008,
    TOPOLOGY_EPOLLHUP = 0x010,
    TOPOLOGY_EPOLLRDHUP = 0x2000,
};
