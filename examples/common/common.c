/* The examples' shared options and listeners. SO_REUSEPORT (several
 * listeners on one port, --threads) and NI_MAXHOST are BSD names outside
 * POSIX: the strict portable build shows them with _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE 1

#include "common.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

const char *ex_prog = "example";
static ac_map *stop_map;
static volatile sig_atomic_t got_signal;

static void vreport(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", ex_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ex_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    exit(2);
}

void ex_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    exit(1);
}

long ex_int(const char *opt, const char *val, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max)
        ex_usage_error("%s: expected a number from %ld to %ld, got '%s'", opt,
                       min, max, val);
    return v;
}

const char *ex_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        ex_usage_error("%s needs a value (try --help)", argv[*i]);
    return argv[++*i];
}

bool ex_server_option(int argc, char **argv, int *i, const char **host,
                      long *port, void (*usage)(void))
{
    if (!strcmp(argv[*i], "--help") || !strcmp(argv[*i], "-h")) {
        usage();
        exit(0);
    }
    if (!strcmp(argv[*i], "--host")) {
        *host = ex_value(argc, argv, i);
        return true;
    }
    if (!strcmp(argv[*i], "--port")) {
        *port = ex_int("--port", ex_value(argc, argv, i), 0, 65535);
        return true;
    }
    if (!strcmp(argv[*i], "--stats")) {
        ex_stats = true;
        return true;
    }
    return false;
}

bool ex_stats;

void ex_stats_start(ac_map *map)
{
    int r;

    if (ex_stats && (r = ac_map_set_debug(map, ac_map_get_debug(map) |
                                                   AC_DEBUG_STATS, 0)) < 0)
        ex_fail("--stats: %s", ac_strerror(r));
}

void ex_stats_print(ac_map *map, long i)
{
    ac_map_stats st;

    if (!ex_stats || ac_map_get_stats(map, &st) < 0)
        return;
    fprintf(stderr,
            "%s: stats (map %ld): %llu iterations in %.3f s: busy %.3f s, "
            "waiting %.3f s; loop delay p50 %.3f ms, p99 %.3f ms, max "
            "%.3f ms; %llu slow handlers, %llu budget cuts\n",
            ex_prog, i, (unsigned long long)st.iterations,
            st.elapsed_ns / 1e9, st.busy_ns / 1e9, st.wait_ns / 1e9,
            st.delay_p50_ns / 1e6, st.delay_p99_ns / 1e6,
            st.delay_max_ns / 1e6, (unsigned long long)st.slow,
            (unsigned long long)st.budget_cuts);
}

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
    if (stop_map)
        ac_loop_stop(stop_map);
}

double ex_seconds(const char *opt, const char *val)
{
    char *end;
    double v = strtod(val, &end);

    if (end == val || *end || !(v > 0) || v > 86400)
        ex_usage_error("%s: expected seconds (0 < S <= 86400), got '%s'", opt,
                       val);
    return v;
}

void ex_stop_on_signals(ac_map *map)
{
    struct sigaction sa;

    stop_map = map;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool ex_raise_nofile(long need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return false;
    if ((long)rl.rlim_cur >= need)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < need) {
        fprintf(stderr,
                "%s: need %ld descriptors but the hard limit is %ld "
                "(raise it with ulimit -Hn as root)\n",
                ex_prog, need, (long)rl.rlim_max);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        return false;
    }
    rl.rlim_cur = (rlim_t)need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "%s: cannot raise the open-files limit to %ld: %s\n",
                ex_prog, need, strerror(errno));
        return false;
    }
    return true;
}

bool ex_interrupted(void)
{
    return got_signal != 0;
}

ac_backend ex_backend(const char *name)
{
    if (!strcmp(name, "select"))
        return AC_BACKEND_SELECT;
    if (!strcmp(name, "poll"))
        return AC_BACKEND_POLL;
    if (!strcmp(name, "epoll"))
        return AC_BACKEND_EPOLL;
    ex_usage_error("--backend: expected select, poll or epoll, got '%s'", name);
    return AC_BACKEND_DEFAULT;
}

void ex_print_listening(const char *what, ac_dispatcher *d)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char host[NI_MAXHOST];

    if (ac_getsockname(d, &ss, &len) < 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0,
                    NI_NUMERICHOST) != 0)
        ex_fail("cannot read the bound address");
    printf("%s on %s:%d\n", what, host, ac_addr_port((struct sockaddr *)&ss));
    fflush(stdout);
}

void ex_listen(ac_dispatcher *server, const ac_dispatcher_class *klass,
               ac_map *map, const char *host, long port)
{
    ex_listen_opts(server, klass, map, host, port, false);
}

void ex_listen_opts(ac_dispatcher *server, const ac_dispatcher_class *klass,
                    ac_map *map, const char *host, long port, bool share_port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1, r = ac_resolve(host, (int)port, AF_UNSPEC, true, &ss, &len);

    if (r < 0)
        ex_fail("cannot resolve '%s': %s", host, ac_strerror(r));
    ac_dispatcher_init(server, klass, map);
    if ((r = ac_create_socket(server, ss.ss_family, SOCK_STREAM)) < 0 ||
        (r = ac_set_reuse_addr(server)) < 0 ||
        (share_port && (r = setsockopt(ac_fileno(server), SOL_SOCKET,
                                       SO_REUSEPORT, &one, sizeof(one)) < 0
                                ? -errno
                                : 0) < 0) ||
        (r = ac_bind(server, (struct sockaddr *)&ss, len)) < 0 ||
        (r = ac_listen(server, 4096)) < 0)
        ex_fail("cannot listen on %s:%ld: %s", host, port, ac_strerror(r));
}
