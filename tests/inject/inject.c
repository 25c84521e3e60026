/* The library's allocations and system calls, with faults on demand
 * (inject.h, control.h). Compiled without inject.h: these call the real
 * functions. */
#define AC_INJ_NO_MACROS
#include "control.h"
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t inj_allocs, inj_fail_at, inj_failed, inj_seed, inj_faults;
bool inj_sticky, inj_hard;
unsigned inj_one_in = 4;

void inj_reset(void)
{
    inj_allocs = inj_fail_at = inj_failed = inj_seed = inj_faults = 0;
    inj_sticky = inj_hard = false;
    inj_one_in = 4;
}

/* The distinct call sites (return addresses) whose allocation failed. */
static void *sites[512];
static size_t nsites;

size_t inj_sites(void)
{
    return nsites;
}

void *inj_site(size_t i)
{
    return i < nsites ? sites[i] : NULL;
}

static void record(void *site)
{
    size_t i;

    for (i = 0; i < nsites; i++)
        if (sites[i] == site)
            return;
    if (nsites < sizeof(sites) / sizeof(sites[0]))
        sites[nsites++] = site;
}

static bool alloc_fails(void *site)
{
    inj_allocs++;
    if (inj_fail_at && (inj_allocs == inj_fail_at ||
                        (inj_sticky && inj_allocs > inj_fail_at))) {
        inj_failed++;
        record(site);
        errno = ENOMEM;
        return true;
    }
    return false;
}

#define SITE __builtin_return_address(0)

void *ac_inj_malloc(size_t n)
{
    return alloc_fails(SITE) ? NULL : malloc(n);
}

void *ac_inj_calloc(size_t n, size_t size)
{
    return alloc_fails(SITE) ? NULL : calloc(n, size);
}

void *ac_inj_realloc(void *p, size_t n)
{
    return alloc_fails(SITE) ? NULL : realloc(p, n);
}

char *ac_inj_strdup(const char *s)
{
    return alloc_fails(SITE) ? NULL : strdup(s);
}

/* xorshift64*: the schedule is the seed's, run after run */
static uint64_t next(void)
{
    inj_seed ^= inj_seed >> 12;
    inj_seed ^= inj_seed << 25;
    inj_seed ^= inj_seed >> 27;
    return inj_seed * 0x2545F4914F6CDD1Dull;
}

/* 0: no fault; else a fault kind in 1..kinds */
static unsigned fault(unsigned kinds)
{
    uint64_t r;

    if (!inj_seed)
        return 0;
    r = next();
    if (r % inj_one_in)
        return 0;
    inj_faults++;
    return 1 + (unsigned)((r >> 32) % kinds);
}

/* The first `kinds` of: a short count, EINTR, EAGAIN, `hard`. */
static ssize_t io_fault(size_t *len, unsigned kinds, int hard)
{
    switch (fault(kinds)) {
    case 1:
        if (*len > 1)
            *len = 1 + (size_t)(next() % (*len - 1)); /* short */
        return 0;
    case 2:
        errno = EINTR;
        return -1;
    case 3:
        errno = EAGAIN;
        return -1;
    case 4:
        errno = hard;
        return -1;
    default:
        return 0;
    }
}

ssize_t ac_inj_send(int fd, const void *buf, size_t len, int flags)
{
    if (io_fault(&len, inj_hard ? 4 : 3, ENOBUFS) < 0)
        return -1;
    return send(fd, buf, len, flags);
}

ssize_t ac_inj_recv(int fd, void *buf, size_t len, int flags)
{
    if (io_fault(&len, 3, 0) < 0)
        return -1;
    return recv(fd, buf, len, flags);
}

/* read/write are faulted on pipes only (file_dispatcher): the eventfd of
 * cross-thread calls has no short counts to give */
static bool is_pipe(int fd)
{
    struct stat st;
    return inj_seed && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Short counts and EINTR: a blocking pipe (the fd producer's) never says
 * EAGAIN, a non-blocking one (file_dispatcher) may at any time. */
static ssize_t pipe_fault(int fd, size_t *len)
{
    int fl;

    if (!is_pipe(fd))
        return 0;
    fl = fcntl(fd, F_GETFL);
    return io_fault(len, fl >= 0 && (fl & O_NONBLOCK) ? 3 : 2, 0);
}

ssize_t ac_inj_read(int fd, void *buf, size_t len)
{
    if (pipe_fault(fd, &len) < 0)
        return -1;
    return read(fd, buf, len);
}

ssize_t ac_inj_write(int fd, const void *buf, size_t len)
{
    if (pipe_fault(fd, &len) < 0)
        return -1;
    return write(fd, buf, len);
}

int ac_inj_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    static const int hard[] = {ECONNABORTED, EMFILE, ENOMEM};

    switch (fault(inj_hard ? 5 : 2)) {
    case 1:
        errno = EINTR;
        return -1;
    case 2:
        errno = EAGAIN;
        return -1;
    case 3:
    case 4:
    case 5:
        errno = hard[next() % 3];
        return -1;
    default:
        return accept4(fd, addr, len, flags);
    }
}

int ac_inj_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (inj_hard && op != EPOLL_CTL_DEL && fault(1)) {
        errno = next() % 2 ? ENOMEM : ENOSPC;
        return -1;
    }
    return epoll_ctl(epfd, op, fd, ev);
}
