/* A host loop for asyncore on poll(): the whole hooks contract. */
#include "poll_host.h"
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX 4096 /* channels; a real host would grow its tables */
struct poll_host {
    ac_map *map;             /* NULL once the map is gone */
    struct pollfd fds[MAX];  /* a slot per channel; fd -1: wants nothing */
    ac_dispatcher *chans[MAX];
    int n;
};

/* A channel joined, or its interest changed; host data = its slot + 1. */
static int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    poll_host *h = data;
    intptr_t i = (intptr_t)ac_get_host_data(d) - 1;
    if (i < 0 && h->n == MAX)
        return -ENOSPC;
    if (i < 0) { /* a new slot */
        i = h->n++;
        ac_set_host_data(h->chans[i] = d, (void *)(i + 1));
    }
    h->fds[i] = (struct pollfd){events ? fd : -1, (short)events, 0};
    return 0;
}

/* It leaves, its fd still open: the last slot moves into its place. */
static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    poll_host *h = data;
    intptr_t i = (intptr_t)ac_get_host_data(d) - 1;
    h->fds[i] = h->fds[--h->n];
    ac_set_host_data(h->chans[i] = h->chans[h->n], (void *)(i + 1));
    ac_set_host_data(d, NULL);
}

static void on_detached(void *data) { ((poll_host *)data)->map = NULL; }

poll_host *poll_host_attach(ac_map *map)
{
    poll_host *h = calloc(1, sizeof(*h));
    ac_hooks hooks = {on_watch, on_unwatch, h, on_detached, NULL};
    int r = h ? ac_map_set_hooks(map, &hooks) : -ENOMEM;
    if (r < 0) {
        free(h);
        errno = -r;
        return NULL;
    }
    return h->map = map, h;
}

int poll_host_step(poll_host *h, int timeout_ms)
{
    int r = 0, i, done = 0, due;
    if (!h->map || (r = ac_map_refresh(h->map)) < 0) /* 1. interest only */
        return h->map ? r : -EINVAL;
    due = ac_map_timeout(h->map); /* 2. sleep until the map's deadline */
    if (due >= 0 && (timeout_ms < 0 || due < timeout_ms))
        timeout_ms = due;
    if ((r = poll(h->fds, (nfds_t)h->n, timeout_ms)) < 0 && errno != EINTR)
        return -errno;
    for (i = 0; i < h->n && r > 0 && h->map; i++) /* 3. what is ready, */
        if (h->fds[i].revents)
            done += ac_map_dispatch(h->map, h->fds[i].fd, (unsigned)h->fds[i].revents) > 0;
    if (h->map && (r = ac_map_run_due(h->map)) > 0) /* 4. then what came due */
        done += r;
    return done;
}

void poll_host_free(poll_host *h)
{
    if (h->map)
        ac_map_set_hooks(h->map, NULL); /* unwatch all, then on_detached */
    free(h);
}
