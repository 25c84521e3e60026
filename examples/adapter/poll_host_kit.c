/* Run the host kit (asyncore/hostkit.h) against the poll() adapter of
 * poll_host.c: what an adapter author does with their own host.
 *
 *   poll_host_kit [FILTER]     exit 0 if every case passed */
#include <asyncore/hostkit.h>
#include <errno.h>

#include "poll_host.h"

static int attach(void *data, ac_map *map, void **host)
{
    (void)data;
    *host = poll_host_attach(map);
    return *host ? 0 : -errno;
}

static int step(void *host, int timeout_ms)
{
    return poll_host_step(host, timeout_ms);
}

static void teardown(void *host)
{
    poll_host_free(host);
}

int main(int argc, char **argv)
{
    static const ac_hostkit_host host = {
        .name = "poll() adapter",
        .nested = true, /* a nested step gets -EBUSY from ac_map_refresh */
        .attach = attach,
        .step = step,
        .teardown = teardown,
    };
    ac_hostkit_opts opts = {.filter = argc > 1 ? argv[1] : NULL};

    return ac_hostkit_run(&host, &opts) == 0 ? 0 : 1;
}
