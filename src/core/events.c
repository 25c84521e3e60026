/* Python's event mapping (readwrite, handle_*_event) and the base class. */
#include "internal.h"

#include <errno.h>
#include <unistd.h>

bool ac__is_disconnect(int err)
{
    switch (err) {
    case ECONNRESET:
    case ENOTCONN:
    case ESHUTDOWN:
    case ECONNABORTED:
    case EPIPE:
    case EBADF:
        return true;
    default:
        return false;
    }
}

void ac_handle_close(ac_dispatcher *d)
{
    if (d && !AC__FLAG(d, AC__F_CLOSED))
        AC__METHOD(d, handle_close)(d);
}

void ac_handle_error(ac_dispatcher *d, int err, const char *where)
{
    if (d && !AC__FLAG(d, AC__F_CLOSED))
        AC__METHOD(d, handle_error)(d, err < 0 ? -err : err,
                                    where ? where : "?");
}

/* Python's readwrite() maps OSError this way (C-17). */
void ac__fail(ac_dispatcher *d, int err, const char *where)
{
    if (ac__is_disconnect(err))
        ac_handle_close(d);
    else
        ac_handle_error(d, err, where);
}

bool ac__readable(ac_dispatcher *d)
{
    return AC__METHOD(d, readable)(d);
}

bool ac__writable(ac_dispatcher *d)
{
    return AC__METHOD(d, writable)(d);
}

/* SO_ERROR; 0 for descriptors that are not sockets (file_dispatcher). */
static int so_error(const ac_dispatcher *d)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno == ENOTSOCK ? 0 : errno;
    return err;
}

/* The connect check that Python runs on the first read or write event of a
 * connecting channel (C-13). Returns false when the connect failed. The
 * state is updated before handle_connect so the handler sees a connected
 * channel and can send at once. */
bool ac__connect_event(ac_dispatcher *d)
{
    int err = so_error(d);

    if (err) {
        d->flags &= ~AC__F_CONNECTING;
        ac__fail(d, err, "connect");
        return false;
    }
    d->flags = (d->flags & ~AC__F_CONNECTING) | AC__F_CONNECTED;
    ac__update_interest(d);
    if (!AC__FLAG(d, AC__F_CLOSED))
        AC__METHOD(d, handle_connect)(d);
    return !AC__FLAG(d, AC__F_CLOSED);
}

static void read_event(ac_dispatcher *d)
{
    if (AC__FLAG(d, AC__F_ACCEPTING)) {
        AC__METHOD(d, handle_accept)(d);
        return;
    }
    if (AC__FLAG(d, AC__F_CONNECTING) && !ac__connect_event(d))
        return;
    AC__METHOD(d, handle_read)(d);
}

static void write_event(ac_dispatcher *d)
{
    /* Listening sockets are never waited on for writing; a host may still
     * report it: pretend it did not happen, as Python does. */
    if (AC__FLAG(d, AC__F_ACCEPTING))
        return;
    if (AC__FLAG(d, AC__F_CONNECTING) && !ac__connect_event(d))
        return;
    AC__METHOD(d, handle_write)(d);
}

static void expt_event(ac_dispatcher *d)
{
    int err = so_error(d);

    if (err)
        ac_handle_close(d);
    else
        AC__METHOD(d, handle_expt)(d);
}

static void hangup_event(ac_dispatcher *d)
{
    /* A refused connect must surface its errno, not a bare close. */
    if (AC__FLAG(d, AC__F_CONNECTING) && !ac__connect_event(d))
        return;
    ac_handle_close(d);
}

/* One event's handlers, timed in debug mode (the map's own call wake-up
 * is not: its calls are, one by one). True once the channel is closed. */
static bool event(ac_dispatcher *d, void (*ev)(ac_dispatcher *),
                  const char *name)
{
    ac_map *map = d->map;
    uint64_t t0 = 0;

    if (map->debug && !AC__FLAG(d, AC__F_INTERNAL))
        t0 = ac__debug_clock(map);
    ev(d);
    if (t0)
        ac__debug_after(map, t0, d, name, 0);
    return AC__FLAG(d, AC__F_CLOSED);
}

/* Python's readwrite(), plus two things Python lacks: once a handler
 * closed the channel, the remaining steps are skipped (D-03); once the
 * budget cut its input off (async_chat keeps records for its next turn),
 * so are they: a hang-up now would close it with those records unread
 * (it is reported again, after them). */
void ac__readwrite(ac_dispatcher *d, unsigned revents)
{
    if ((revents & AC_IN) &&
        (event(d, read_event,
               AC__FLAG(d, AC__F_ACCEPTING) ? "handle_accept" : "handle_read") ||
         AC__FLAG(d, AC__F_HELD)))
        return;
    if ((revents & AC_OUT) && event(d, write_event, "handle_write"))
        return;
    if ((revents & AC_PRI) && event(d, expt_event, "handle_expt"))
        return;
    if (revents & (AC_ERR | AC_HUP | AC_NVAL))
        event(d, hangup_event, "handle_close");
}

/* ---- the base class ---- */

static bool base_true(ac_dispatcher *d)
{
    (void)d;
    return true;
}

enum { W_READ, W_WRITE, W_EXPT, W_CONNECT, W_ACCEPTED, W_CLOSE };

/* Python logs an unhandled event every time; a channel that never reads
 * would flood the log once per iteration, so we log once per kind. */
static void unhandled(ac_dispatcher *d, unsigned kind, const char *what)
{
    unsigned bit = 1u << (AC__F_WARNED_SHIFT + kind);

    if (d->flags & bit)
        return;
    d->flags |= bit;
    ac_log_info(d, AC_LOG_WARNING, "%s: unhandled %s event (fd %d)",
                ac_class_name(d), what, d->fd);
}

static void base_handle_read(ac_dispatcher *d)
{
    unhandled(d, W_READ, "read");
}

static void base_handle_write(ac_dispatcher *d)
{
    unhandled(d, W_WRITE, "write");
}

static void base_handle_expt(ac_dispatcher *d)
{
    unhandled(d, W_EXPT, "incoming priority");
}

static void base_handle_connect(ac_dispatcher *d)
{
    unhandled(d, W_CONNECT, "connect");
}

/* Python accepts one connection per read event. Under a connection flood
 * that costs one whole loop iteration per connection (O(channels) each on
 * poll and select), so drain the queue in bounded batches instead: the
 * handler sees the same handle_accepted calls, sooner. */
#define ACCEPTS_PER_EVENT 64

static void base_handle_accept(ac_dispatcher *d)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = -EAGAIN, i;

    for (i = 0; i < ACCEPTS_PER_EVENT && !AC__FLAG(d, AC__F_CLOSED); i++) {
        len = sizeof(ss);
        fd = ac_accept(d, &ss, &len);
        if (fd < 0)
            break;
        AC__METHOD(d, handle_accepted)(d, fd, (struct sockaddr *)&ss, len);
    }
    if (fd >= 0 || fd == -EAGAIN || AC__FLAG(d, AC__F_CLOSED))
        return;
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
        /* Python closes the listener here or spins on it (D-01). Keep it,
         * pause it, and accept again once a descriptor is freed. */
        ac_log_info(d, AC_LOG_ERROR, "%s: accept: %s (fd %d); pausing",
                    ac_class_name(d), ac_strerror(fd), d->fd);
        ac__starve(d);
        return;
    }
    ac__fail(d, -fd, "accept");
}

static void base_handle_accepted(ac_dispatcher *d, int fd,
                                 const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    close(fd);
    unhandled(d, W_ACCEPTED, "accepted");
}

static void base_handle_close(ac_dispatcher *d)
{
    unhandled(d, W_CLOSE, "close");
    ac_close(d);
}

static void base_handle_error(ac_dispatcher *d, int err, const char *where)
{
    char repr[AC_ADDRSTRLEN + 96];

    ac_log_info(d, AC_LOG_ERROR, "%s fd %d: %s: %s; closing channel",
                ac_repr(d, repr, sizeof(repr)), d->fd, where, ac_strerror(err));
    ac_handle_close(d);
}

const ac_dispatcher_class ac_base_class = {
    .name = "dispatcher",
    .parent = NULL,
    .readable = base_true,
    .writable = base_true,
    .handle_read = base_handle_read,
    .handle_write = base_handle_write,
    .handle_expt = base_handle_expt,
    .handle_connect = base_handle_connect,
    .handle_accept = base_handle_accept,
    .handle_accepted = base_handle_accepted,
    .handle_close = base_handle_close,
    .handle_error = base_handle_error,
    .destroy = NULL,
};
