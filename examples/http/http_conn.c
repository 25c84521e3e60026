/* http_server's connections: an async_chat reading the request head line
 * by line ("\n", a trailing "\r" dropped), answering each request as its
 * head ends, responses queued in order (pipelining) - the body straight
 * from the file with sendfile(2) when no TLS layer sits on the socket. */
#include "http_conn.h"
#include "common.h"
#include "http_request.h"

#include "ac_config.h"

#include <asyncore/asynchat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if AC_HAVE_OPENAT2
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

/* Responses queued before the connection stops reading requests: a client
 * that pipelines without reading holds this much of the server, no more. */
#define PIPELINE 32
/* Bodies up to this size leave in the same send as their header. */
#define SMALL_BODY 16384

http_config http_cfg = {.root = -1};

/* What one request needs while its head is read and answered (8 KB and
 * more): made at its first line, freed once it is answered, so a
 * keep-alive connection holds none of it between requests. */
typedef struct {
    http_request req;
    int status;           /* the error found in this request's head */
    size_t head_bytes;
    char line[HTTP_MAX_LINE + 1]; /* the request line, for the log */
} pending;

typedef struct {
    ac_chat chat;
    ac_timer idle;
    ac_deferred resume;   /* reading again once the queue has room */
    pending *r;           /* the request being read, or NULL */
    enum { LINE, HEAD, BODY } state;
    bool head_timed;      /* --header-timeout runs: a head has begun */
    char *in;             /* the line being collected */
    size_t in_len, in_cap;
    int queued;           /* responses not yet sent whole */
    bool paused, closing;
    char *stash;          /* input that came while paused */
    size_t stash_len, stash_cap;
    char peer[AC_ADDRSTRLEN];
} conn;

#define CONN(d) AC_CONTAINER_OF(AC_CHAT_OF(d), conn, chat)

static bool append(char **buf, size_t *len, size_t *cap, const void *p,
                   size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        char *b;
        while (c < *len + n)
            c *= 2;
        if (!(b = realloc(*buf, c)))
            return false;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return true;
}

/* ---- the access log: common log format, one line per response ---- */

static void log_line(conn *c, int status, uint64_t bytes)
{
    static __thread time_t at;
    static __thread char stamp[32];
    time_t now = time(NULL);

    if (http_cfg.quiet)
        return;
    if (now != at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof(stamp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
        at = now;
    }
    if (bytes)
        printf("%s - - [%s] \"%s\" %d %llu\n", c->peer, stamp, c->r->line,
               status, (unsigned long long)bytes);
    else
        printf("%s - - [%s] \"%s\" %d -\n", c->peer, stamp, c->r->line, status);
}

/* ---- responses ---- */

static void resume_reading(ac_deferred *w);

/* Marks the end of a response in the output queue: reached, it is sent. */
static ssize_t response_sent(void *data, const void **chunk)
{
    conn *c = data;

    (void)chunk;
    if (--c->queued < PIPELINE && c->paused) /* read again, after this */
        ac_defer(ac_dispatcher_get_map(&c->chat.base), &c->resume,
                 resume_reading);
    return 0;
}

static int head(conn *c, char *buf, size_t size, int status, bool close,
                const char *extra)
{
    static __thread time_t at;
    static __thread char date[30];
    time_t now = time(NULL);

    if (now != at) {
        http_format_date((int64_t)now, date);
        at = now;
    }
    return snprintf(buf, size, "HTTP/1.1 %d %s\r\nDate: %s\r\n"
                    "Server: asyncore-http\r\n%s%s\r\n", status,
                    http_reason(status), date, extra,
                    close ? "Connection: close\r\n" : "");
}

/* Queue the end of a response; close after it when the client asked (or
 * HTTP/1.0, or an error that leaves the input unreadable). */
static void finish(conn *c, bool close)
{
    ac_producer end = {response_sent, NULL, c};

    c->queued++;
    ac_chat_push_with_producer(&c->chat, &end);
    if (close) {
        c->closing = true;
        ac_chat_close_when_done(&c->chat);
    }
}

/* An error page; `more` adds header fields. */
static void respond_error_with(conn *c, int status, bool close,
                               const char *more)
{
    char body[128], hdr[768], extra[256];
    int n = snprintf(body, sizeof(body),
                     "<html><body><h1>%d %s</h1></body></html>\n", status,
                     http_reason(status));
    int h;

    snprintf(extra, sizeof(extra),
             "Content-Type: text/html; charset=utf-8\r\n"
             "Content-Length: %d\r\n%s%s", n,
             status == 405 ? "Allow: GET, HEAD\r\n" : "", more);
    h = head(c, hdr, sizeof(hdr), status, close, extra);
    ac_chat_push(&c->chat, hdr, (size_t)h);
    if (c->r->req.method != HTTP_HEAD)
        ac_chat_push(&c->chat, body, (size_t)n);
    log_line(c, status, c->r->req.method != HTTP_HEAD ? (uint64_t)n : 0);
    finish(c, close);
}

static void respond_error(conn *c, int status, bool close)
{
    respond_error_with(c, status, close, "");
}

/* The status for what openat refused. */
static int open_status(int err)
{
    if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG)
        return -404;
    return err == EMFILE || err == ENFILE || err == ENOMEM ? -500 : -403;
}

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
#define WALK_MAX 4096  /* bytes of a path with its links' targets */
#define WALK_DEPTH 64  /* directories deep */
#define WALK_LINKS 40  /* symbolic links in one path (Linux's own limit) */

/* Without openat2 (macOS, the BSDs, the portable build, Linux before 5.6):
 * the path is walked one name at a time from the root's descriptor with
 * openat(O_NOFOLLOW). A symbolic link is read and its target walked in
 * its place, from the directory holding it; an absolute target, or ".."
 * at the root, is refused, as RESOLVE_BENEATH refuses them. The
 * directories walked are kept open, so ".." goes back one of them and
 * never up from the root. */
static int walk_beneath(const char *path)
{
    char bufs[2][WALK_MAX], link[WALK_MAX], *rest = bufs[0];
    int dirs[WALK_DEPTH], depth = 0, links = 0, fd = -1, cur = 0;
    struct stat st;

    dirs[0] = http_cfg.root;
    if (snprintf(rest, WALK_MAX, "%s", path) >= WALK_MAX)
        return -404;
    for (;;) {
        char *name = rest + strspn(rest, "/"), *end = name + strcspn(name, "/");
        bool more = *end == '/'; /* a directory is wanted: "a/..." or "a/" */
        ssize_t n;

        if (!*name) { /* the path ends at a directory */
            fd = openat(dirs[depth], ".", OPEN_FLAGS);
            fd = fd < 0 ? open_status(errno) : fd;
            break;
        }
        *end = '\0';
        rest = more ? end + 1 : end;
        if (!strcmp(name, "."))
            continue;
        if (!strcmp(name, "..")) {
            if (depth == 0) {
                fd = -403;
                break;
            }
            close(dirs[depth--]);
            continue;
        }
        fd = openat(dirs[depth], name,
                    OPEN_FLAGS | O_NOFOLLOW | (more ? O_DIRECTORY : 0));
        if (fd < 0 && fstatat(dirs[depth], name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) { /* ELOOP here, EMLINK on FreeBSD */
            n = readlinkat(dirs[depth], name, link, sizeof(link));
            if (++links > WALK_LINKS || n <= 0 || link[0] == '/' ||
                (size_t)n + 2 + strlen(rest) > WALK_MAX) {
                fd = -403;
                break;
            }
            /* the target, then what followed the link */
            cur = !cur;
            snprintf(bufs[cur], WALK_MAX, "%.*s%s%s", (int)n, link,
                     more ? "/" : "", rest);
            rest = bufs[cur];
            continue;
        }
        if (fd < 0) {
            fd = open_status(errno);
            break;
        }
        if (!more)
            break;
        if (depth + 1 == WALK_DEPTH) {
            close(fd);
            fd = -404;
            break;
        }
        dirs[++depth] = fd;
    }
    while (depth > 0)
        close(dirs[depth--]);
    return fd;
}

/* Open `path` under the root, never outside it (no "..", no symlink that
 * leads out, no magic link): a descriptor, or minus the status. */
static int open_beneath(const char *path)
{
#if AC_HAVE_OPENAT2
    struct open_how how = {.flags = OPEN_FLAGS,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, http_cfg.root, *path ? path : ".", &how,
                      sizeof(how));

    if (fd >= 0)
        return (int)fd;
    if (errno != ENOSYS) /* a kernel before 5.6 walks */
        return open_status(errno);
#endif
    return walk_beneath(path);
}

/* The regular file a path names (a directory: its index.html, and *index
 * says so), or minus the status; its size and time in *st. */
static int open_file(const char *path, bool dir, struct stat *st,
                     bool *index)
{
    char name[HTTP_MAX_LINE + 16];
    int fd = open_beneath(path);

    *index = false;
    if (fd >= 0 && fstat(fd, st) == 0 && S_ISDIR(st->st_mode)) {
        close(fd);
        snprintf(name, sizeof(name), "%s%sindex.html", path,
                 *path ? "/" : "");
        fd = open_beneath(name);
        *index = true;
        if (fd >= 0 && fstat(fd, st) < 0) {
            close(fd);
            return -500;
        }
    } else if (fd >= 0 && dir) { /* "file/" */
        close(fd);
        return -404;
    }
    if (fd >= 0 && !S_ISREG(st->st_mode)) { /* no FIFOs, no devices */
        close(fd);
        return -404;
    }
    return fd;
}

static void serve(conn *c, bool last)
{
    char hdr[1024 + SMALL_BODY], extra[512], when[30], *p;
    uint64_t start = 0, len;
    struct stat st;
    bool index;
    int fd = open_file(c->r->req.path, c->r->req.dir, &st, &index), status = 200;
    int n, r;

    if (fd < 0) {
        respond_error(c, -fd, last);
        return;
    }
    len = (uint64_t)st.st_size;
    http_format_date((int64_t)st.st_mtime, when);
    n = snprintf(extra, sizeof(extra), "Last-Modified: %s\r\n"
                 "Accept-Ranges: bytes\r\n", when);
    if (c->r->req.ims >= 0 && (int64_t)st.st_mtime <= c->r->req.ims) {
        status = 304;
        len = 0;
    } else if (c->r->req.range[0] &&
               (r = http_range(c->r->req.range, len, &start, &len)) != 0) {
        if (r < 0) {
            snprintf(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n",
                     (unsigned long long)st.st_size);
            close(fd);
            respond_error_with(c, 416, last, extra);
            return;
        }
        status = 206;
        n += snprintf(extra + n, sizeof(extra) - (size_t)n,
                      "Content-Range: bytes %llu-%llu/%llu\r\n",
                      (unsigned long long)start,
                      (unsigned long long)(start + len - 1),
                      (unsigned long long)st.st_size);
    }
    if (status != 304)
        snprintf(extra + n, sizeof(extra) - (size_t)n,
                 "Content-Type: %s\r\nContent-Length: %llu\r\n",
                 http_mime(index ? "index.html" : c->r->req.path),
                 (unsigned long long)len);
    n = head(c, hdr, 1024, status, last, extra);
    p = hdr + n;
    if (c->r->req.method == HTTP_HEAD || status == 304) {
        close(fd);
        ac_chat_push(&c->chat, hdr, (size_t)n);
    } else if (len <= SMALL_BODY) { /* one send for header and body */
        ssize_t got = pread(fd, p, (size_t)len, (off_t)start);
        close(fd);
        if (got != (ssize_t)len) {
            respond_error(c, 500, true);
            return;
        }
        ac_chat_push(&c->chat, hdr, (size_t)n + (size_t)len);
    } else {
        ac_producer body;
        ac_chat_push(&c->chat, hdr, (size_t)n);
        if (ac_fd_producer_range(&body, fd, start, len, 0, true) < 0) {
            close(fd);
            respond_error(c, 500, true);
            return;
        }
        ac_chat_push_with_producer(&c->chat, &body);
    }
    log_line(c, status, c->r->req.method == HTTP_HEAD ? 0 : len);
    finish(c, last);
}

/* ---- reading requests ---- */

static void pause_reading(conn *c)
{
    if (c->queued < PIPELINE || c->paused || c->state != LINE)
        return;
    c->paused = true;
    ac_chat_set_terminator(&c->chat, NULL, 0); /* the rest: to the stash */
    ac_pull_interest(&c->chat.base);           /* and no more reads */
}

static void resume_reading(ac_deferred *w)
{
    conn *c = AC_CONTAINER_OF(w, conn, resume);
    char *held = c->stash;
    size_t n = c->stash_len;

    if (!c->paused || c->queued >= PIPELINE || ac_closed(&c->chat.base))
        return;
    c->paused = false;
    c->stash = NULL;
    c->stash_len = c->stash_cap = 0;
    ac_chat_set_terminator(&c->chat, "\n", 1);
    ac_set_interest(&c->chat.base, AC_READ | AC_WRITE);
    if (n)
        ac_chat_feed(&c->chat, held, n); /* may pause again */
    free(held);
}

/* A request begins: its state, made now (NULL: no memory). */
static pending *begin(conn *c)
{
    if (!c->r && !(c->r = calloc(1, sizeof(*c->r))))
        ac_handle_error(&c->chat.base, ENOMEM, "request");
    return c->r;
}

/* The request is answered (its response queued): an idle connection
 * keeps nothing of it, nor of its lines. */
static void answered(conn *c)
{
    if (c->head_timed) {
        ac_set_deadline(&c->chat.base, 0);
        c->head_timed = false;
    }
    free(c->r);
    c->r = NULL;
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
}

/* The head is complete: answer, then read the body away if there is one. */
static void request(conn *c)
{
    int st = c->r->status ? c->r->status : http_headers_done(&c->r->req);
    bool last = !c->r->req.keep_alive;
    int64_t body = c->r->req.body;

    c->state = LINE;
    if (c->r->req.chunked || body > HTTP_MAX_BODY) { /* cannot skip */
        respond_error(c, c->r->req.chunked ? 501 : 413, true);
        answered(c);
        return;
    }
    if (st)
        respond_error(c, st, last || st == 400);
    else
        serve(c, last);
    answered(c);
    if (body > 0 && !c->closing) {
        c->state = BODY;
        ac_chat_set_terminator_count(&c->chat, body);
    }
}

static void found(ac_chat *ch)
{
    conn *c = AC_CONTAINER_OF(ch, conn, chat);
    size_t len = c->in_len;
    int st;

    c->in_len = 0;
    if (c->closing)
        return;
    if (c->state == BODY) {
        c->state = LINE;
        ac_chat_set_terminator(ch, "\n", 1);
    } else {
        if (len && c->in[len - 1] == '\r')
            len--;
        if (c->state == LINE) {
            if (!len) /* empty lines before a request are allowed */
                return;
            if (!begin(c))
                return;
            memcpy(c->r->line, c->in, len);
            c->r->line[len] = '\0';
            c->r->status = http_request_line(&c->r->req, c->in, len);
            c->r->head_bytes = 0;
            c->state = HEAD;
            ac_chat_set_max_line(ch, HTTP_MAX_HEADERS);
            if (c->r->status == 400 || c->r->status == 505) {
                respond_error(c, c->r->status, true); /* framing unknown */
                answered(c);
                return;
            }
        } else if (!len) {
            ac_chat_set_max_line(ch, HTTP_MAX_LINE);
            request(c);
        } else {
            c->r->head_bytes += len + 2;
            st = c->r->head_bytes > HTTP_MAX_HEADERS ? 431
                                                  : http_header(&c->r->req, c->in, len);
            if (st == 431) {
                respond_error(c, 431, true);
                answered(c);
                return;
            }
            if (st && (!c->r->status || c->r->status == 405))
                c->r->status = st;
        }
    }
    pause_reading(c);
}

static void collect(ac_chat *ch, const void *data, size_t len)
{
    conn *c = AC_CONTAINER_OF(ch, conn, chat);

    if (c->paused) {
        append(&c->stash, &c->stash_len, &c->stash_cap, data, len);
        return;
    }
    if (c->state != BODY && !c->closing && !c->head_timed &&
        http_cfg.header_ms) {
        /* the whole head within --header-timeout of its first byte */
        c->head_timed = true;
        ac_set_deadline(&ch->base, (uint64_t)http_cfg.header_ms);
    }
    if (c->state != BODY && !c->closing &&
        !append(&c->in, &c->in_len, &c->in_cap, data, len))
        ac_handle_error(&ch->base, ENOMEM, "collect");
}

static void too_long(ac_chat *ch)
{
    conn *c = AC_CONTAINER_OF(ch, conn, chat);

    c->in_len = 0;
    if (!c->closing && begin(c)) {
        if (c->state == LINE)
            snprintf(c->r->line, sizeof(c->r->line), "-");
        respond_error(c, c->state == LINE ? 414 : 431, true);
        answered(c);
    }
}

static void conn_read(ac_dispatcher *d)
{
    AC_CHAT_PARENT->handle_read(d);
    if (!ac_closed(d) && http_cfg.idle_ms)
        ac_timer_start(&CONN(d)->idle, (uint64_t)http_cfg.idle_ms, 0);
}

/* The deadlines: a head not complete in time gets 408 when nothing was
 * answered yet, then the connection closes; a response that made no
 * progress for --send-timeout is abandoned. */
static void conn_error(ac_dispatcher *d, int err, const char *where)
{
    conn *c = CONN(d);

    if (err == ETIMEDOUT && !strcmp(where, "deadline")) {
        c->head_timed = false;
        if (!c->queued && !c->closing && begin(c)) {
            if (!c->r->line[0]) /* the request line is not complete */
                snprintf(c->r->line, sizeof(c->r->line), "-");
            respond_error(c, 408, true);
            answered(c);
        } else {
            ac_close(d);
        }
    } else if (err == ETIMEDOUT && !strcmp(where, "write stall")) {
        ac_close(d);
    } else {
        AC_CHAT_PARENT->handle_error(d, err, where);
    }
}

static bool conn_readable(ac_dispatcher *d)
{
    return !CONN(d)->paused; /* (pulled only while paused) */
}

static void idle_over(ac_timer *t)
{
    conn *c = AC_CONTAINER_OF(t, conn, idle);

    if (c->queued) /* a response still flows: not idle */
        ac_timer_start(t, (uint64_t)http_cfg.idle_ms, 0);
    else
        ac_close(&c->chat.base);
}

static void conn_destroy(ac_dispatcher *d)
{
    conn *c = CONN(d);

    ac_timer_stop(&c->idle);
    ac_defer_cancel(ac_dispatcher_get_map(d), &c->resume);
    free(c->r);
    free(c->in);
    free(c->stash);
    free(c);
}

static const ac_chat_class conn_class = {
    .base = {.name = "http_conn", .parent = AC_CHAT_PARENT,
             .readable = conn_readable, .handle_read = conn_read,
             .handle_error = conn_error, .destroy = conn_destroy},
    .collect_incoming_data = collect,
    .found_terminator = found,
    .line_too_long = too_long,
};

/* ---- the listener ---- */

static void accepted(ac_dispatcher *d, int fd, const struct sockaddr *a,
                     socklen_t alen)
{
    conn *c = calloc(1, sizeof(*c));
    ac_map *map = ac_dispatcher_get_map(d);
    char addr[AC_ADDRSTRLEN];
    int r;

    if (!c) {
        close(fd);
        return;
    }
    ac_chat_init(&c->chat, &conn_class, map);
    ac_timer_init(&c->idle, map, idle_over, NULL);
    ac_addr_string(a, alen, addr, sizeof(addr));
    *strrchr(addr, ':') = '\0'; /* the host only, as logs show it */
    snprintf(c->peer, sizeof(c->peer), "%s",
             addr[0] == '[' ? addr + 1 : addr);
    if (c->peer[0] && c->peer[strlen(c->peer) - 1] == ']')
        c->peer[strlen(c->peer) - 1] = '\0';
    if ((r = ac_set_socket(&c->chat.base, fd)) < 0) {
        close(fd);
        ac_close(&c->chat.base);
        return;
    }
    ac_chat_set_terminator(&c->chat, "\n", 1);
    ac_chat_set_max_line(&c->chat, HTTP_MAX_LINE);
    if (http_cfg.idle_ms)
        ac_timer_start(&c->idle, (uint64_t)http_cfg.idle_ms, 0);
    if (http_cfg.send_ms &&
        ac_set_write_stall(&c->chat.base, (uint64_t)http_cfg.send_ms) < 0) {
        ac_close(&c->chat.base);
        return;
    }
    if (http_cfg.tls && (r = ex_tls_start(http_cfg.tls, &c->chat.base, NULL)) < 0)
        ac_close(&c->chat.base);
}

static const ac_dispatcher_class listener_class = {
    .name = "http_server", .handle_accepted = accepted,
};

void http_listen(ac_dispatcher *server, ac_map *map, const char *host,
                 long port, bool share_port)
{
    ex_listen_opts(server, &listener_class, map, host, port, share_port);
}
