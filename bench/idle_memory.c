/* Library memory per idle channel, measured in-process: heap the library
 * allocates (mallinfo2) while 10,000 idle channels join a map, plus the
 * channel struct the user embeds. Channels are dispatcher_with_send and
 * async_chat, with declared interest, on dup()s of one connected socket
 * (a channel's cost does not depend on what is behind its descriptor).
 *   idle_memory [COUNT]   default 10000 */
#include <asyncore/asynchat.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void measure(const char *what, int n, size_t each, int kind)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    char *mem = calloc((size_t)n, each); /* the user's memory, not counted */
    int sv[2], i;
    struct mallinfo2 a, b;
    long r0, r1;

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    a = mallinfo2();
    r0 = rss_kb();
    for (i = 0; i < n; i++) {
        ac_dispatcher *d;
        if (kind == 0) {
            ac_with_send_init((ac_dispatcher_with_send *)(mem + each * (size_t)i),
                              NULL, map);
            d = (ac_dispatcher *)(mem + each * (size_t)i);
        } else {
            ac_chat *c = (ac_chat *)(mem + each * (size_t)i);
            ac_chat_init(c, NULL, map);
            ac_chat_set_terminator(c, "\r\n", 2);
            d = &c->base;
        }
        if (ac_set_socket(d, dup(sv[0])) < 0) {
            fprintf(stderr, "idle_memory: channel %d: out of descriptors\n", i);
            exit(1);
        }
    }
    ac_poll_once(map, 0); /* one iteration, as a server would run */
    b = mallinfo2();
    r1 = rss_kb();
    printf("%s: %d idle channels: struct %zu B + library heap %.1f B = "
           "%.1f B per channel (process RSS +%.1f B per channel, incl. the "
           "structs)\n",
           what, n, each, (double)(b.uordblks - a.uordblks) / n,
           (double)each + (double)(b.uordblks - a.uordblks) / n,
           (double)(r1 - r0) * 1024 / n);
    ac_map_free(map);
    free(mem);
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    struct rlimit rl;

    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    measure("dispatcher_with_send", n, sizeof(ac_dispatcher_with_send), 0);
    measure("async_chat", n, sizeof(ac_chat), 1);
    return 0;
}
