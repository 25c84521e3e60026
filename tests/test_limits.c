/* Resource limits and interruptions: EMFILE at accept (D-01), select and
 * FD_SETSIZE (D-02), EINTR during the wait (issue: "EINTR is retried"). */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* D-01: with descriptors exhausted, the listener is not closed, does not
 * spin, and accepts again once a descriptor is freed. */
static void test_emfile_at_accept(void)
{
    ac_map *map = t_map_new();
    struct sockaddr_storage a;
    socklen_t l;
    tchan *s = tchan_server(map, AF_INET, &a, &l);
    struct rlimit old, low;
    int clients[4], i, errors;
    long long t0;

    for (i = 0; i < 4; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CU_ASSERT_FATAL(clients[i] >= 0);
    }
    /* the first client is accepted normally */
    CU_ASSERT_EQUAL(connect(clients[0], (struct sockaddr *)&a, l), 0);
    while (!s->peer && t_step(map, 50) >= 0)
        ;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->peer);

    /* no descriptor left: the next accepts hit EMFILE */
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = (rlim_t)t_open_fds() + 3; /* +3: a margin the test uses */
    {
        int pad[3], k;
        CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
        for (k = 0; k < 3; k++)
            pad[k] = dup(0);
        {
            /* Valgrind virtualises the limit without enforcing it: then
             * EMFILE cannot be produced here, and this test says so. */
            int probe = dup(0);
            if (probe >= 0) {
                close(probe);
                for (k = 0; k < 3; k++)
                    close(pad[k]);
                setrlimit(RLIMIT_NOFILE, &old);
                fprintf(stderr, "emfile_at_accept: RLIMIT_NOFILE is not "
                                "enforced here (valgrind?); not checked\n");
                ac_close_all(map, false);
                for (i = 0; i < 4; i++)
                    close(clients[i]);
                t_map_done(map);
                return;
            }
        }
        for (k = 1; k < 4; k++)
            CU_ASSERT_EQUAL(connect(clients[k], (struct sockaddr *)&a, l), 0);
        t_log_clear();
        t0 = ms_now();
        while (ms_now() - t0 < 400)
            CU_ASSERT(t_step(map, 20) >= 0);
        errors = t_log_count();
        CU_ASSERT_TRUE(t_log_contains("pausing"));
        /* paused between tries: a handful of attempts, not thousands */
        CU_ASSERT(errors >= 1 && errors <= 8);
        CU_ASSERT_FALSE(ac_closed(&s->d));
        CU_ASSERT_TRUE(ac_accepting(&s->d));
        for (k = 0; k < 3; k++)
            close(pad[k]);
    }
    /* a channel closing frees a descriptor: accepting resumes */
    {
        tchan *first = s->peer;
        s->peer = NULL;
        ac_close(&first->d);
    }
    CU_ASSERT_EQUAL(setrlimit(RLIMIT_NOFILE, &old), 0);
    t0 = ms_now();
    while (s->n_accepted < 4 && ms_now() - t0 < 2000)
        t_step(map, 20);
    CU_ASSERT_EQUAL(s->n_accepted, 4);
    ac_close_all(map, false);
    for (i = 0; i < 4; i++)
        close(clients[i]);
    t_map_done(map);
}

/* D-02: select cannot hold fd >= FD_SETSIZE: a clear -ERANGE, the caller
 * keeps the fd; the other waiting modes take it. */
static void test_fd_setsize(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    struct rlimit rl;
    int sv[2], big = FD_SETSIZE + 100, r;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)big + 1) {
        rl.rlim_cur = (rlim_t)big + 1;
        CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(dup2(sv[0], big), big);
    close(sv[0]);
    r = ac_set_socket(&t->d, big);
    if (t_current == T_SELECT) {
        CU_ASSERT_EQUAL(r, -ERANGE);
        CU_ASSERT_TRUE(t_fd_open(big));
        CU_ASSERT_EQUAL(ac_map_count(map), 0);
        close(big);
        ac_close(&t->d);
    } else {
        CU_ASSERT_EQUAL(r, 0);
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        CU_ASSERT(t_step(map, 1000) >= 1);
        CU_ASSERT_EQUAL(t->n_read, 1);
        if (t_current != T_HOST)
            CU_ASSERT_EQUAL(ac_map_set_backend(map, AC_BACKEND_SELECT), -ERANGE);
        ac_close(&t->d);
    }
    close(sv[1]);
    t_map_done(map);
}

/* EINTR: a signal during the wait does not end it early, unless
 * ac_loop_stop() was called, which ends it at once. */
static ac_map *alarm_map;
static volatile sig_atomic_t alarms, stop_on_alarm;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
    if (stop_on_alarm)
        ac_loop_stop(alarm_map);
}

static void test_eintr(void)
{
    ac_map *map = t_map_new();
    tchan *t = tchan_new(map);
    struct sigaction sa, old;
    struct itimerval it = {{0, 0}, {0, 50000}};
    int sv[2];
    long long t0, took;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: waits see EINTR */
    sigaction(SIGALRM, &sa, &old);
    alarm_map = map;
    alarms = 0;
    stop_on_alarm = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = ms_now();
    CU_ASSERT_EQUAL(ac_poll_once(map, 300), 0);
    took = ms_now() - t0;
    CU_ASSERT_EQUAL(alarms, 1);
    CU_ASSERT(took >= 250); /* kept waiting after the signal */

    stop_on_alarm = 1;
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = ms_now();
    CU_ASSERT_EQUAL(ac_loop(map, &(ac_loop_opts){.timeout_ms = 5000}), 0);
    took = ms_now() - t0;
    CU_ASSERT(took < 2000); /* ended by the stop, not the timeout */
    CU_ASSERT_EQUAL(ac_map_count(map), 1);
    sigaction(SIGALRM, &old, NULL);
    ac_close(&t->d);
    close(sv[1]);
    t_map_done(map);
}

static CU_TestInfo tests[] = {
    {"emfile_at_accept", test_emfile_at_accept},
    {"fd_setsize", test_fd_setsize},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo native[] = {
    {"eintr", test_eintr},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register("limits", tests);
    t_register_modes("limits", native, T_NATIVE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
