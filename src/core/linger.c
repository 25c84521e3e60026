/* Lingering close and the map's own deadlines. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t ac__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ac_close_lingering(ac_dispatcher *d, int timeout_ms, size_t max_bytes)
{
    ac__linger *l;
    int fd;

    if (!d || !d->map)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED) || d->fd < 0 || !AC__FLAG(d, AC__F_IN_MAP))
        return -EBADF;
    if (AC__FLAG(d, AC__F_LINGER))
        return 0;
    fd = d->fd;
    /* Nothing to wait for unless the write side could be shut: a listener,
     * a file or an unconnected socket just closes. */
    if (AC__FLAG(d, AC__F_FILE) || !AC__FLAG(d, AC__F_CONNECTED) ||
        shutdown(fd, SHUT_WR) < 0) {
        ac_close(d);
        return 0;
    }
    l = malloc(sizeof(*l));
    if (!l) {
        ac_close(d);
        return -ENOMEM;
    }
    l->d = d;
    l->deadline = ac__now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    l->left = max_bytes;
    l->next = d->map->lingering;
    d->map->lingering = l;
    d->flags |= AC__F_LINGER;
    ac_set_interest(d, AC_IN);
    return 0;
}

static ac__linger **find(ac_dispatcher *d)
{
    ac__linger **p;

    for (p = &d->map->lingering; *p; p = &(*p)->next)
        if ((*p)->d == d)
            return p;
    return NULL;
}

void ac__linger_forget(ac_dispatcher *d)
{
    ac__linger **p = find(d);

    if (p) {
        ac__linger *l = *p;
        *p = l->next;
        free(l);
    }
    d->flags &= ~AC__F_LINGER;
}

/* Discard what arrives; EOF, an error or the byte budget ends it. */
void ac__linger_event(ac_dispatcher *d, unsigned revents)
{
    ac__linger **p = find(d);
    char buf[4096];
    ssize_t n;

    (void)revents;
    if (!p) {
        ac_close(d);
        return;
    }
    for (;;) {
        size_t want = (*p)->left < sizeof(buf) ? (*p)->left : sizeof(buf);
        if (want == 0) {
            ac_close(d);
            return;
        }
        n = recv(d->fd, buf, want, 0);
        if (n > 0) {
            (*p)->left -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        ac_close(d);
        return;
    }
}

void ac__linger_expire(ac_map *map)
{
    uint64_t now = ac__now_ms();
    ac__linger *l = map->lingering;

    while (l) {
        ac__linger *next = l->next;
        if (l->deadline <= now)
            ac_close(l->d); /* unlinks and frees l */
        l = next;
    }
}

int ac_map_timeout(const ac_map *map)
{
    uint64_t now, due = UINT64_MAX;
    const ac__linger *l;

    if (!map)
        return -1;
    for (l = map->lingering; l; l = l->next)
        if (l->deadline < due)
            due = l->deadline;
    if (map->starved) {
        int t = ac__starve_timeout((ac_map *)map, -1);
        now = ac__now_ms();
        if (now + (uint64_t)t < due)
            due = now + (uint64_t)t;
    }
    if (due == UINT64_MAX)
        return -1;
    now = ac__now_ms();
    return due <= now ? 0 : (int)(due - now > 0x7fffffff ? 0x7fffffff : due - now);
}

char *ac__scratch_get(ac_map *map, size_t size)
{
    if (map->scratch_busy)
        return malloc(size);
    if (map->scratch_cap < size) {
        char *p = realloc(map->scratch, size);
        if (!p)
            return NULL;
        map->scratch = p;
        map->scratch_cap = size;
    }
    map->scratch_busy = true;
    return map->scratch;
}

void ac__scratch_put(ac_map *map, char *buf)
{
    if (buf == map->scratch)
        map->scratch_busy = false;
    else
        free(buf);
}
