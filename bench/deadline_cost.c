/* What an option costs while it has nothing to do: round trips of 64 bytes
 * between two channels of one map over a socketpair, without it and with
 * it, taken in turns, the median of each. Prints one line: "off_ns on_ns
 * ratio" per round trip. WHAT is
 *   deadlines  read idle + write stall (60 s) on both channels (default)
 *   budget     an 8 ms budget per iteration (never reached here)
 *   stats      debug mode's statistics (AC_DEBUG_STATS)
 *   debug      all of debug mode (AC_DEBUG_ALL)
 *   deadline_cost [ROUND_TRIPS] [ROUNDS] [WHAT]   default 100000 5 deadlines */
#include <asyncore/asyncore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    ac_dispatcher d;
    long left; /* round trips still to start (the pinger) */
    bool pinger;
} end;

static void on_read(ac_dispatcher *d)
{
    end *e = AC_CONTAINER_OF(d, end, d);
    char buf[64];
    ssize_t n = ac_recv(d, buf, sizeof(buf));

    if (n <= 0)
        return;
    if (e->pinger && --e->left <= 0) {
        ac_loop_stop(ac_dispatcher_get_map(d));
        return;
    }
    ac_send(d, buf, (size_t)n);
}

static void on_close(ac_dispatcher *d)
{
    ac_close(d);
}

static const ac_dispatcher_class end_class = {
    .name = "bench_end", .handle_read = on_read, .handle_close = on_close,
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *what = "deadlines";

static void turn_on(ac_map *map, end *a, end *b)
{
    int i, r = 0;

    if (!strcmp(what, "budget"))
        r = ac_map_set_budget(map, 8);
    else if (!strcmp(what, "stats"))
        r = ac_map_set_debug(map, AC_DEBUG_STATS, 0);
    else if (!strcmp(what, "debug"))
        r = ac_map_set_debug(map, AC_DEBUG_ALL, 0);
    for (i = 0; !strcmp(what, "deadlines") && i < 2 && r == 0; i++) {
        ac_dispatcher *d = i ? &b->d : &a->d;
        if ((r = ac_set_read_idle(d, 60000)) == 0)
            r = ac_set_write_stall(d, 60000);
    }
    if (r < 0) {
        fprintf(stderr, "deadline_cost: cannot turn %s on: %s\n", what,
                ac_strerror(r));
        exit(1);
    }
}

/* Seconds for `n` round trips. */
static double run(long n, bool on)
{
    ac_map *map = ac_map_new(AC_BACKEND_DEFAULT);
    end a = {.left = n, .pinger = true}, b = {0};
    char msg[64];
    int sv[2];
    double t0;

    if (!map || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("deadline_cost");
        exit(1);
    }
    ac_dispatcher_init(&a.d, &end_class, map);
    ac_dispatcher_init(&b.d, &end_class, map);
    ac_set_socket(&a.d, sv[0]);
    ac_set_socket(&b.d, sv[1]);
    ac_set_interest(&a.d, AC_READ);
    ac_set_interest(&b.d, AC_READ);
    if (on)
        turn_on(map, &a, &b);
    memset(msg, 'x', sizeof(msg));
    t0 = now_s();
    ac_send(&a.d, msg, sizeof(msg));
    ac_loop(map, NULL);
    t0 = now_s() - t0;
    ac_close_all(map, true);
    ac_map_free(map);
    return t0;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5, r;
    double off[32], on[32];

    if (argc > 3)
        what = argv[3];
    if (n <= 0 || rounds <= 0 || rounds > 32 ||
        (strcmp(what, "deadlines") && strcmp(what, "budget") &&
         strcmp(what, "stats") && strcmp(what, "debug"))) {
        fprintf(stderr, "usage: deadline_cost [ROUND_TRIPS] [ROUNDS<=32] "
                        "[deadlines|budget|stats|debug]\n");
        return 2;
    }
    run(n / 10, true); /* warm-up */
    for (r = 0; r < rounds; r++) {
        off[r] = run(n, false);
        on[r] = run(n, true);
    }
    qsort(off, (size_t)rounds, sizeof(double), cmp);
    qsort(on, (size_t)rounds, sizeof(double), cmp);
    printf("%.1f %.1f %.3f\n", off[rounds / 2] / n * 1e9,
           on[rounds / 2] / n * 1e9, on[rounds / 2] / off[rounds / 2]);
    return 0;
}
