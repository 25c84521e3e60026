/* Small helpers shared by the examples: argument parsing that fails with a
 * one-line message, signal handling that stops the loop, fd limits. */
#ifndef AC_EXAMPLES_COMMON_H
#define AC_EXAMPLES_COMMON_H

#include <asyncore/asyncore.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const char *ex_prog;

/* Print "PROG: message" on stderr and exit(2): bad usage. */
void ex_usage_error(const char *fmt, ...) AC_PRINTF(1, 2);
/* Print "PROG: message" on stderr and exit(1): runtime failure. */
void ex_fail(const char *fmt, ...) AC_PRINTF(1, 2);
/* Parse an integer option value in [min, max] or ex_usage_error. */
long ex_int(const char *opt, const char *val, long min, long max);
/* A positive number of seconds (fractions allowed, at most a day) or
 * ex_usage_error. */
double ex_seconds(const char *opt, const char *val);
/* The value after option argv[*i], advancing *i, or ex_usage_error. */
const char *ex_value(int argc, char **argv, int *i);
/* The options every server shares: --help (prints `usage`, exits 0),
 * --host H, --port P, --stats. True if argv[*i] was one of them (*i
 * advanced past its value). */
bool ex_server_option(int argc, char **argv, int *i, const char **host,
                      long *port, void (*usage)(void));
/* --stats was given: the servers keep their maps' statistics and print
 * them at exit (ex_stats_start, ex_stats_print). */
extern bool ex_stats;
void ex_stats_start(ac_map *map);
/* One line on stderr for map number `i`. */
void ex_stats_print(ac_map *map, long i);
/* SIGINT/SIGTERM stop ac_loop(map) cleanly; SIGPIPE stays default. */
void ex_stop_on_signals(ac_map *map);
/* True once SIGINT/SIGTERM arrived: the examples then exit 0 (DESIGN). */
bool ex_interrupted(void);
/* Raise RLIMIT_NOFILE's soft limit to at least `need` (up to the hard
 * limit). Returns false, with a message, if it cannot. */
bool ex_raise_nofile(long need);
/* "select" | "poll" | "epoll" or ex_usage_error. */
ac_backend ex_backend(const char *name);
/* Initialise `server` with `klass` in `map`, bind it to host:port with
 * SO_REUSEADDR and listen; exits with a one-line message on failure. */
void ex_listen(ac_dispatcher *server, const ac_dispatcher_class *klass,
               ac_map *map, const char *host, long port);
/* The same, with SO_REUSEPORT if `share_port` (several listeners, one per
 * map, on one port). */
void ex_listen_opts(ac_dispatcher *server, const ac_dispatcher_class *klass,
                    ac_map *map, const char *host, long port, bool share_port);
/* Print "listening on HOST:PORT" for a bound channel, flushed. */
void ex_print_listening(const char *what, ac_dispatcher *d);

#ifdef __cplusplus
}
#endif

#endif
