/* http_client: the asyncore documentation's HTTP/1.0 client, fetching all
 * URLs at once in one loop.
 *
 *   http_client [--loop native|glib|uv|event|qt|sdevent|ev] [--ca FILE]
 *               [--timeout S] [--connect-timeout S] [-v] [-o DIR] URL...
 *
 * Each host is connected to by name with ac_connect_host(): lookups never
 * block the loop, and every address is tried (Happy Eyeballs), so a slow
 * name does not hold up the other URLs and a dual-stack name whose IPv6
 * address refuses still connects over IPv4. -v prints one line per URL on
 * stderr as it ends: "URL: STATUS, N bytes, M ms" or "URL: error: WHY".
 *
 * Bodies go to stdout in argument order (or into DIR, one file per URL,
 * named after the last path component). Failures are reported on stderr
 * and make the exit status 1. Like the Python original, each channel uses
 * pulled interest: writable() is true while the request is unsent.
 * --timeout S (default 60) bounds the whole run: a fetch that has not
 * finished by then (a connect or a response that never comes) fails with
 * "timed out after S s". https:// URLs go over TLS: the server's
 * certificate is verified against --ca FILE (or the system's CAs) for the
 * URL's host; a failure says why ("tls: certificate verify failed: ..."). */
#include "common.h"
#include "http_response.h"
#include "run_loop.h"
#include "tls_opts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct fetch {
    ac_dispatcher d;
    const char *url;
    char request[2048];
    size_t req_len, req_sent;
    char *resp;
    size_t len, cap;
    const char *error; /* set on failure */
    char errbuf[1024];
    bool done, told;
    long long t0;
} fetch;

static bool verbose;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -v: one line per URL, when it ends */
static void ended(fetch *f)
{
    http_response r;
    const char *why = f->error;

    if (!verbose || f->told)
        return;
    f->told = true;
    if (!why && http_parse_response(f->resp, f->len, &r, &why) == 0)
        fprintf(stderr, "%s: %d, %zu bytes, %lld ms\n", f->url, r.status,
                r.body_len, now_ms() - f->t0);
    else
        fprintf(stderr, "%s: error: %s\n", f->url, why);
}

static fetch *F(ac_dispatcher *d)
{
    return AC_CONTAINER_OF(d, fetch, d);
}

static bool fetch_writable(ac_dispatcher *d)
{
    return F(d)->req_sent < F(d)->req_len;
}

static void fetch_connect(ac_dispatcher *d)
{
    (void)d; /* nothing to do: the request goes out on the write event */
}

static void fetch_write(ac_dispatcher *d)
{
    fetch *f = F(d);
    ssize_t n = ac_send(d, f->request + f->req_sent, f->req_len - f->req_sent);
    if (n > 0)
        f->req_sent += (size_t)n;
}

static void fetch_read(ac_dispatcher *d)
{
    fetch *f = F(d);
    ssize_t n;

    if (f->cap - f->len < 65536) {
        size_t cap = f->cap ? f->cap * 2 : 131072;
        char *p = realloc(f->resp, cap);
        if (!p) {
            f->error = "out of memory";
            ac_close(d);
            return;
        }
        f->resp = p;
        f->cap = cap;
    }
    n = ac_recv(d, f->resp + f->len, f->cap - f->len);
    if (n > 0)
        f->len += (size_t)n;
}

/* HTTP/1.0: the server closing the connection ends the response. */
static void fetch_close(ac_dispatcher *d)
{
    F(d)->done = true;
    ac_close(d);
    ended(F(d));
}

/* `where` says what was tried when connecting by name failed: "resolve
 * HOST" or "connect HOST:PORT (tried ...)" */
static void fetch_error(ac_dispatcher *d, int err, const char *where)
{
    fetch *f = F(d);
    ex_tls_describe(d, err, where, f->errbuf, sizeof(f->errbuf));
    f->error = f->errbuf;
    ac_close(d);
    ended(f);
}

static const ac_dispatcher_class fetch_class = {
    .name = "http_client",
    .writable = fetch_writable,
    .handle_connect = fetch_connect,
    .handle_write = fetch_write,
    .handle_read = fetch_read,
    .handle_close = fetch_close,
    .handle_error = fetch_error,
    /* no destroy: the fetches live in an array owned by main() */
};

static ex_tls tls;
static ac_connect_opts connect_opts;

static int start(fetch *f, ac_map *map)
{
    char host[256];
    const char *path, *why;
    int port, r;
    bool https;

    f->t0 = now_ms();
    ac_dispatcher_init(&f->d, &fetch_class, map);
    if (http_parse_url(f->url, host, sizeof(host), &port, &path, &https,
                       &why) < 0) {
        f->error = why;
        return -1;
    }
    r = snprintf(f->request, sizeof(f->request),
                 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: libasyncore\r\n"
                 "\r\n",
                 path, host);
    if (r < 0 || (size_t)r >= sizeof(f->request)) {
        f->error = "URL too long";
        return -1;
    }
    f->req_len = (size_t)r;
    if ((r = ac_connect_host(&f->d, host, port, &connect_opts)) < 0 ||
        (https && (r = ex_tls_start(&tls, &f->d, host)) < 0)) {
        snprintf(f->errbuf, sizeof(f->errbuf), "%s", ac_strerror(r));
        f->error = f->errbuf;
        ac_close(&f->d);
        ended(f);
        return -1;
    }
    return 0;
}

/* DIR/NAME from the URL's last path component; later duplicates get .1,
 * .2, ... as wget does. */
static int save(const char *dir, const fetch *f, const http_response *r)
{
    const char *p = strrchr(strstr(f->url, "://") + 3, '/');
    char name[256], path[4096];
    size_t n;
    int fd = -1, k;

    p = p ? p + 1 : "";
    n = strcspn(p, "?#");
    if (n == 0 || n >= sizeof(name))
        snprintf(name, sizeof(name), "index.html");
    else
        snprintf(name, sizeof(name), "%.*s", (int)n, p);
    for (k = 0; k < 1000 && fd < 0; k++) {
        if (k == 0)
            snprintf(path, sizeof(path), "%s/%s", dir, name);
        else
            snprintf(path, sizeof(path), "%s/%s.%d", dir, name, k);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0 || write(fd, r->body, r->body_len) != (ssize_t)r->body_len) {
        fprintf(stderr, "%s: %s: cannot write %s: %s\n", ex_prog, f->url, path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static fetch *fetches;
static int nfetches;
static double timeout_s = 60;

static void time_is_up(ac_timer *t)
{
    int i;

    (void)t;
    for (i = 0; i < nfetches; i++)
        if (!ac_closed(&fetches[i].d)) {
            snprintf(fetches[i].errbuf, sizeof(fetches[i].errbuf),
                     "timed out after %g s", timeout_s);
            fetches[i].error = fetches[i].errbuf;
            ac_close(&fetches[i].d);
            ended(&fetches[i]);
        }
}

static void usage(void)
{
    printf("usage: %s [--loop " EX_LOOPS "] [--ca FILE]\n"
           "       [--timeout S] [--connect-timeout S] [-v] [-o DIR] URL...\n"
           "Fetch every http:// and https:// URL concurrently (HTTP/1.0) and\n"
           "write the bodies to stdout in argument order, or into DIR with\n"
           "-o. A fetch unfinished after S seconds (default 60) fails.\n"
           "Hosts are looked up without blocking and every address is tried\n"
           "(IPv6 and IPv4 interleaved, the next one 250 ms after the last);\n"
           "--connect-timeout S (default 30) bounds lookup and connect.\n"
           "-v: one line per URL on stderr when it ends, \"URL: STATUS, N\n"
           "bytes, M ms\" or \"URL: error: MESSAGE\". --loop: who runs the\n"
           "map (default native).\n"
           "https: the server's certificate is verified against --ca FILE\n"
           "(default: the system's CAs) for the URL's host.\n",
           ex_prog);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *bad;
    ex_loop_kind kind = EX_NATIVE;
    fetch *f;
    ac_map *map;
    ac_timer deadline;
    int i, n = 0, failed = 0, rc;
    bool interrupted = false;

    ex_prog = "http_client";
    f = calloc((size_t)argc, sizeof(*f));
    if (!f)
        ex_fail("out of memory");
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            free(f);
            return 0;
        } else if (!strcmp(argv[i], "-o")) {
            dir = ex_value(argc, argv, &i);
        } else if (!strcmp(argv[i], "--timeout")) {
            timeout_s = ex_seconds("--timeout", ex_value(argc, argv, &i));
        } else if (!strcmp(argv[i], "--connect-timeout")) {
            double s = ex_seconds("--connect-timeout", ex_value(argc, argv, &i));
            connect_opts.timeout_ms = s * 1000 >= 1 ? (int)(s * 1000) : 1;
        } else if (!strcmp(argv[i], "-v")) {
            verbose = true;
        } else if (!strcmp(argv[i], "--loop")) {
            const char *name = ex_value(argc, argv, &i);
            if (ex_loop_kind_of(name, &kind, &bad) < 0)
                ex_usage_error("--loop %s: %s", name, bad);
        } else if (!strcmp(argv[i], "--ca")) {
            tls.ca = ex_value(argc, argv, &i);
        } else if (argv[i][0] == '-') {
            ex_usage_error("unknown argument '%s' (try --help)", argv[i]);
        } else {
            f[n].url = argv[i];
            if (!strncmp(argv[i], "https://", 8))
                tls.client = true; /* a context for the https URLs */
            n++;
        }
    }
    if (n == 0)
        ex_usage_error("no URL given (try --help)");
    if (dir) {
        struct stat st;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
            ex_usage_error("-o %s: not a directory", dir);
    }

    if (tls.client)
        ex_tls_setup(&tls, false);
    map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!map)
        ex_fail("cannot create the map: %s", strerror(errno));
    /* every failure is reported once, per URL, below: the library's own
     * account of it (the TLS layer logs OpenSSL's reason) would repeat it */
    ac_map_set_log_level(map, (ac_log_level)(AC_LOG_ERROR + 1));
    for (i = 0; i < n; i++)
        start(&f[i], map);
    fetches = f;
    nfetches = n;
    /* unreferenced: the fetches are what keeps the loop going */
    ac_timer_init(&deadline, map, time_is_up, NULL);
    ac_timer_start(&deadline, (uint64_t)(timeout_s * 1000), 0);
    ac_timer_set_ref(&deadline, false);
    ex_close_maps_on_signals(&map, 1);
    rc = ex_run_map(map, kind, 30000);
    if (rc < 0)
        ex_fail("--loop: %s", ac_strerror(rc));
    ac_map_free(map);
    ex_tls_done(&tls);

    for (i = 0; i < n; i++) {
        http_response r;
        const char *why = f[i].error;

        if (!why && !f[i].done) {
            why = "interrupted"; /* closed by SIGINT/SIGTERM */
            interrupted = true;
        }
        if (!why && http_parse_response(f[i].resp, f[i].len, &r, &why) == 0 &&
            (r.status < 200 || r.status > 299)) {
            snprintf(f[i].errbuf, sizeof(f[i].errbuf), "HTTP status %d",
                     r.status);
            why = f[i].errbuf;
        }
        if (why) {
            fprintf(stderr, "%s: %s: %s\n", ex_prog, f[i].url, why);
            failed++;
        } else if (dir) {
            failed += save(dir, &f[i], &r) < 0;
        } else if (fwrite(r.body, 1, r.body_len, stdout) != r.body_len) {
            ex_fail("cannot write to stdout");
        }
        free(f[i].resp);
    }
    free(f);
    if (fflush(stdout) != 0)
        ex_fail("cannot write to stdout");
    return failed && !interrupted ? 1 : 0;
}
