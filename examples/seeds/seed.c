/* The seed ports' loop, options and logging (seed.h). */
#include "seed.h"

#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ac_backend backend = AC_BACKEND_EPOLL;

seed_loop seed_init(int *argc, char **argv, const char *usage)
{
    seed_loop loop = SEED_NATIVE;
    int i, out = 1;

    ex_prog = argv[0];

    for (i = 1; i < *argc; i++) {
        const char *a = argv[i], *v = i + 1 < *argc ? argv[i + 1] : "";
        if (!strcmp(a, "--help")) {
            printf("%s\n", usage);
            exit(0);
        } else if (!strcmp(a, "--backend")) {
            i++;
            backend = ex_backend(v);
        } else if (!strcmp(a, "--loop")) {
            const char *why;
            i++;
            if (ex_loop_kind_of(v, &loop, &why) < 0) {
                fprintf(stderr, "--loop %s: %s\n", v, why);
                exit(2);
            }
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    if (!ac_map_default() || ac_map_set_backend(ac_map_default(), backend) < 0)
        ex_fail("cannot create the map");
    return loop;
}

/* Python's create_socket(AF_INET) + connect((host, port)), except that
 * the name is looked up without blocking the loop. */
int seed_connect(ac_dispatcher *d, const char *host, int port)
{
    ac_connect_opts opts = {.family = AF_INET};

    return ac_connect_host(d, host, port, &opts);
}

ac_map *seed_map_new(void)
{
    ac_map *map = ac_map_new(backend);

    if (!map)
        ex_fail("cannot create the map");
    return map;
}

void seed_run(seed_loop loop)
{
    seed_run_map(loop, ac_map_default(), 30000);
}

void seed_run_map(seed_loop loop, ac_map *map, int timeout_ms)
{
    int r;

    ex_close_maps_on_signals(&map, 1);
    if ((r = ex_run_map(map, loop, timeout_ms)) < 0)
        fprintf(stderr, "loop: %s\n", ac_strerror(r));
}

void seed_log(const char *name, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
