/* ac_map_call: the one thread-safe entry of a map. Callers append to a
 * queue under a mutex and, when it was empty, write an eventfd (a pipe
 * where there is none: macOS, the BSDs, the portable build); the map
 * watches it as an internal channel (so every host wakes the same way it
 * wakes for I/O), swaps the queue out and runs the batch. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_batch(ac_map *map, bool final)
{
    ac__call *batch;
    size_t n, i, cap;

    pthread_mutex_lock(&map->call_lock);
    if (final)
        map->dead = true;
    /* double buffering: callers get the emptied array of the last batch */
    batch = map->calls;
    n = map->ncalls;
    cap = map->calls_cap;
    map->calls = map->running;
    map->calls_cap = map->running_cap;
    map->ncalls = 0;
    __atomic_store_n(&map->calls_queued, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&map->call_lock);
    map->running = batch;
    map->running_cap = cap;
    if (!n)
        return;
    ac__enter(map);
    for (i = 0; i < n; i++) {
        uint64_t t0 = map->debug ? ac__debug_clock(map) : 0;
        batch[i].fn(batch[i].data);
        if (t0)
            ac__debug_after(map, t0, NULL, "call (ac_map_call)",
                            (uintptr_t)batch[i].fn);
    }
    ac__leave(map);
}

static void wake_read(ac_dispatcher *d)
{
    ac_map *map = d->map;
    uint64_t v;
    ssize_t n;

    /* cleared before the swap: a call queued after it writes again (a
     * pipe may hold several bytes: read them all) */
    do
        n = read(d->fd, &v, sizeof(v));
    while ((n < 0 && errno == EINTR) || (n == sizeof(v) && !AC_HAVE_EVENTFD));
    run_batch(map, false);
}

static void wake_error(ac_dispatcher *d, int err, const char *where)
{
    ac__log(d->map, AC_LOG_ERROR, "call wake-up: %s: %s", where,
            ac_strerror(err));
}

static void wake_close(ac_dispatcher *d)
{
    (void)d; /* nobody else holds the write end: no hang-up */
}

static const ac_dispatcher_class wake_class = {
    .name = "call wake-up",
    .handle_read = wake_read,
    .handle_error = wake_error,
    .handle_close = wake_close,
};

static void wake_close_fds(int rfd, int wfd)
{
    close(rfd);
    if (wfd != rfd)
        close(wfd);
}

int ac__calls_open(ac_map *map)
{
    int rfd = -1, wfd = -1, r;

    if (pthread_mutex_init(&map->call_lock, NULL) != 0)
        return -ENOMEM;
    r = ac__wake_open(&rfd, &wfd);
    if (r < 0) {
        pthread_mutex_destroy(&map->call_lock);
        return r;
    }
    map->wake_fd = wfd;
    ac_dispatcher_init(&map->wake, &wake_class, map);
    map->wake.flags |= AC__F_INTERNAL;
    ac_set_interest(&map->wake, AC_IN);
    r = ac__adopt(&map->wake, rfd, AC__F_CONNECTED);
    if (r < 0) {
        wake_close_fds(rfd, wfd);
        map->wake_fd = -1;
        pthread_mutex_destroy(&map->call_lock);
        return r;
    }
    return 0;
}

void ac__calls_close(ac_map *map)
{
    run_batch(map, true); /* the last batch: later calls are refused */
    if (map->wake_fd != map->wake.fd) /* a pipe's write end */
        close(map->wake_fd);
    ac_close(&map->wake); /* closes the read end (the eventfd) */
    map->wake_fd = -1;
    free(map->calls);
    free(map->running);
    map->calls = map->running = NULL;
}

int ac_map_call(ac_map *map, void (*fn)(void *data), void *data)
{
    bool was_empty;
    static const uint64_t one = 1;

    if (!map || !fn)
        return -EINVAL;
    pthread_mutex_lock(&map->call_lock);
    if (map->dead) {
        pthread_mutex_unlock(&map->call_lock);
        return -ESHUTDOWN;
    }
    if (map->ncalls == map->calls_cap) {
        size_t cap = map->calls_cap ? map->calls_cap * 2 : 64;
        ac__call *c = realloc(map->calls, cap * sizeof(*c));
        if (!c) {
            pthread_mutex_unlock(&map->call_lock);
            return -ENOMEM;
        }
        map->calls = c;
        map->calls_cap = cap;
    }
    map->calls[map->ncalls].fn = fn;
    map->calls[map->ncalls].data = data;
    was_empty = map->ncalls++ == 0;
    __atomic_store_n(&map->calls_queued, map->ncalls, __ATOMIC_RELEASE);
    /* written under the lock: ac_map_free cannot close the eventfd between
     * our queueing and this write */
    if (was_empty)
        while (write(map->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
    pthread_mutex_unlock(&map->call_lock);
    return 0;
}

ac_map *ac_map_ref(ac_map *map)
{
    if (map)
        __atomic_add_fetch(&map->refs, 1, __ATOMIC_RELAXED);
    return map;
}

void ac_map_unref(ac_map *map)
{
    if (map && __atomic_sub_fetch(&map->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        pthread_mutex_destroy(&map->call_lock);
        free(map);
    }
}
