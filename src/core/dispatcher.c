/* Channel lifecycle and Python's socket methods. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int ac_dispatcher_init(ac_dispatcher *d, const ac_dispatcher_class *klass,
                       ac_map *map)
{
    if (!d)
        return -EINVAL;
    if (!map)
        map = ac_map_default();
    if (!map)
        return -ENOMEM;
    memset(d, 0, sizeof(*d));
    d->klass = klass ? klass : &ac_base_class;
    d->map = map;
    d->fd = -1;
    d->slot = -1;
    d->io = &ac_socket_io;
    return 0;
}

int ac_set_class(ac_dispatcher *d, const ac_dispatcher_class *klass)
{
    if (!d)
        return -EINVAL;
    d->klass = klass ? klass : &ac_base_class;
    return 0;
}

const ac_dispatcher_class *ac_get_class(const ac_dispatcher *d)
{
    return d ? d->klass : NULL;
}

int ac__check_open(const ac_dispatcher *d)
{
    if (!d || !d->map)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    if (AC__FLAG(d, AC__F_NAMED)) /* no socket until handle_connect */
        return -ENOTCONN;
    if (d->fd < 0)
        return -EBADF;
    return 0;
}

int ac__check_fresh(const ac_dispatcher *d)
{
    if (!d || !d->map)
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    if (d->fd >= 0 || AC__FLAG(d, AC__F_NAMED))
        return -EISCONN;
    return 0;
}

/* Join the map with `fd`; on failure the channel is as it was. */
int ac__adopt(ac_dispatcher *d, int fd, unsigned flags)
{
    int r;

    d->fd = fd;
    d->flags |= flags;
    r = ac__map_add(d->map, d);
    if (r < 0) {
        d->fd = -1;
        d->flags &= ~flags;
    }
    return r;
}

/* TCP channels start with Nagle off (ac_set_nodelay in asyncore.h). */
static void nodelay_for(int fd, int family)
{
    int one = 1;

    if (family == AF_INET || family == AF_INET6)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int ac_create_socket(ac_dispatcher *d, int family, int type)
{
    int fd, r;

    r = ac__check_fresh(d);
    if (r < 0)
        return r;
    fd = ac__socket(family, type);
    if (fd < 0)
        return fd;
    if ((type & 0xf) == SOCK_STREAM)
        nodelay_for(fd, family);
    r = ac__adopt(d, fd, 0);
    if (r < 0)
        close(fd);
    return r;
}

int ac_set_socket(ac_dispatcher *d, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    unsigned flags = 0;
    int r, listening = 0;
    socklen_t optlen = sizeof(listening);

    r = ac__check_fresh(d);
    if (r < 0)
        return r;
    if (fd < 0)
        return -EBADF;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0)
        return -errno;
    if (listening) {
        flags = AC__F_ACCEPTING;
    } else if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        flags = AC__F_CONNECTED | AC__F_HAS_ADDR;
    } else if (errno != ENOTCONN && errno != EINVAL) {
        return -errno;
    }
    r = ac__set_nonblock(fd);
    if (r < 0)
        return r;
    if (flags & AC__F_CONNECTED) /* (a datagram socket refuses it) */
        nodelay_for(fd, ss.ss_family);
    r = ac__adopt(d, fd, flags);
    if (r == 0 && (flags & AC__F_HAS_ADDR)) {
        memcpy(&d->addr, &ss, len);
        d->addrlen = len;
    }
    return r;
}

int ac_set_reuse_addr(ac_dispatcher *d)
{
    int one = 1, r = ac__check_open(d);

    if (r < 0)
        return r;
    if (setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return -errno;
    return 0;
}

int ac_set_nodelay(ac_dispatcher *d, bool on)
{
    int v = on, r = ac__check_open(d);

    if (r < 0)
        return r;
    if (setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) < 0)
        return -errno;
    return 0;
}

int ac_set_keepalive(ac_dispatcher *d, bool on, int idle_s)
{
    int v = on, r = ac__check_open(d);

    if (r < 0)
        return r;
    if (idle_s < 0)
        return -EINVAL;
    if (setsockopt(d->fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)) < 0)
        return -errno;
    return on && idle_s > 0 ? ac__keepalive_idle(d->fd, idle_s) : 0;
}

static int save_addr(ac_dispatcher *d, const struct sockaddr *addr,
                     socklen_t len)
{
    if (!addr || len == 0 || len > sizeof(d->addr))
        return -EINVAL;
    memcpy(&d->addr, addr, len);
    d->addrlen = len;
    d->flags |= AC__F_HAS_ADDR;
    return 0;
}

int ac_bind(ac_dispatcher *d, const struct sockaddr *addr, socklen_t addrlen)
{
    int r = ac__check_open(d);

    if (r < 0)
        return r;
    if (!addr || addrlen == 0 || addrlen > sizeof(d->addr))
        return -EINVAL;
    if (bind(d->fd, addr, addrlen) < 0)
        return -errno;
    /* Record the address actually bound, so port 0 shows the real port. */
    d->addrlen = sizeof(d->addr);
    if (getsockname(d->fd, (struct sockaddr *)&d->addr, &d->addrlen) == 0 &&
        d->addrlen <= sizeof(d->addr)) {
        d->flags |= AC__F_HAS_ADDR;
        return 0;
    }
    return save_addr(d, addr, addrlen);
}

int ac_listen(ac_dispatcher *d, int backlog)
{
    int r = ac__check_open(d);

    if (r < 0)
        return r;
    if (listen(d->fd, backlog) < 0)
        return -errno;
    d->flags |= AC__F_ACCEPTING;
    ac__update_interest(d);
    return 0;
}

int ac_connect(ac_dispatcher *d, const struct sockaddr *addr, socklen_t addrlen)
{
    int r = ac__check_open(d);
    ac_map *map;

    if (r < 0)
        return r;
    AC__THREAD_CHECK(d->map);
    if (!addr || addrlen == 0 || addrlen > sizeof(d->addr))
        return -EINVAL;
    /* connect(2) answers EISCONN on a listening socket, which Python then
     * takes for a completed connect; neither is a connect to start. */
    if (AC__FLAG(d, AC__F_ACCEPTING))
        return -EINVAL;
    if (AC__FLAG(d, AC__F_CONNECTED | AC__F_CONNECTING))
        return AC__FLAG(d, AC__F_CONNECTED) ? -EISCONN : -EALREADY;
    d->flags |= AC__F_CONNECTING;
    r = connect(d->fd, addr, addrlen) < 0 ? errno : 0;
    if (r == EINPROGRESS || r == EALREADY || r == EAGAIN) {
        save_addr(d, addr, addrlen);
        ac__update_interest(d);
        return 0;
    }
    if (r != 0 && r != EISCONN) {
        d->flags &= ~AC__F_CONNECTING;
        return -r;
    }
    /* Completed at once (AF_UNIX): handle_connect now, as Python does. The
     * handler may close the channel, so nothing touches it afterwards. */
    save_addr(d, addr, addrlen);
    map = d->map;
    ac__enter(map);
    ac__connect_event(d);
    ac__leave(map);
    return 0;
}

int ac_accept(ac_dispatcher *d, struct sockaddr_storage *addr,
              socklen_t *addrlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd, r = ac__check_open(d);

    if (r < 0)
        return r;
    fd = ac__accept(d->fd, (struct sockaddr *)&ss, &len);
    if (fd == -EWOULDBLOCK || fd == -ECONNABORTED || fd == -EINTR)
        return -EAGAIN;
    if (fd < 0)
        return fd;
    if (addr)
        memcpy(addr, &ss, len < sizeof(*addr) ? len : sizeof(*addr));
    if (addrlen)
        *addrlen = len;
    return fd;
}

int ac_close(ac_dispatcher *d)
{
    ac_map *map;
    int r = 0;

    if (!d || !d->map)
        return -EINVAL;
    AC__THREAD_CHECK(d->map);
    if (AC__FLAG(d, AC__F_CLOSED))
        return -EBADF;
    map = d->map;
    ac__enter(map);
    if (AC__FLAG(d, AC__F_NAMED))
        ac__connect_cancel(d); /* lookups and attempts in flight */
    if (AC__FLAG(d, AC__F_TIMED))
        ac__timed_drop(d);
    /* The host and the backend forget the fd before it is closed, so a new
     * descriptor with the same number starts clean. */
    ac__map_remove(map, d);
    if (d->io->close)
        d->io->close(d);
    if (d->release)
        d->release(d);
    if (d->fd >= 0 && close(d->fd) < 0 && errno != EINTR)
        r = -errno;
    d->fd = -1;
    d->flags = (d->flags & AC__F_HAS_ADDR) | AC__F_CLOSED;
    ac__zombie(map, d);
    ac__leave(map);
    return r;
}

int ac_fileno(const ac_dispatcher *d)
{
    return d ? d->fd : -1;
}

bool ac_connected(const ac_dispatcher *d)
{
    return d && AC__FLAG(d, AC__F_CONNECTED);
}

bool ac_accepting(const ac_dispatcher *d)
{
    return d && AC__FLAG(d, AC__F_ACCEPTING);
}

bool ac_connecting(const ac_dispatcher *d)
{
    return d && AC__FLAG(d, AC__F_CONNECTING);
}

bool ac_closed(const ac_dispatcher *d)
{
    return !d || AC__FLAG(d, AC__F_CLOSED);
}

ac_map *ac_dispatcher_get_map(const ac_dispatcher *d)
{
    return d ? d->map : NULL;
}

const char *ac_class_name(const ac_dispatcher *d)
{
    const ac_dispatcher_class *c;

    if (!d)
        return "(null)";
    for (c = d->klass; c; c = c->parent)
        if (c->name)
            return c->name;
    return ac_base_class.name;
}

int ac_get_addr(const ac_dispatcher *d, struct sockaddr_storage *addr,
                socklen_t *addrlen)
{
    if (!d || !addr || !addrlen)
        return -EINVAL;
    if (!AC__FLAG(d, AC__F_HAS_ADDR))
        return -ENOTCONN;
    memcpy(addr, &d->addr, d->addrlen);
    *addrlen = d->addrlen;
    return 0;
}

static int sockname(const ac_dispatcher *d, struct sockaddr_storage *addr,
                    socklen_t *addrlen, bool peer)
{
    int r = ac__check_open(d);

    if (r < 0)
        return r;
    if (!addr || !addrlen)
        return -EINVAL;
    *addrlen = sizeof(*addr);
    r = peer ? getpeername(d->fd, (struct sockaddr *)addr, addrlen)
             : getsockname(d->fd, (struct sockaddr *)addr, addrlen);
    return r < 0 ? -errno : 0;
}

int ac_getsockname(const ac_dispatcher *d, struct sockaddr_storage *addr,
                   socklen_t *addrlen)
{
    return sockname(d, addr, addrlen, false);
}

int ac_getpeername(const ac_dispatcher *d, struct sockaddr_storage *addr,
                   socklen_t *addrlen)
{
    return sockname(d, addr, addrlen, true);
}

const char *ac_repr(const ac_dispatcher *d, char *buf, size_t size)
{
    char addr[AC_ADDRSTRLEN];
    const char *state = "";

    if (!buf || size == 0)
        return buf;
    if (!d) {
        snprintf(buf, size, "<(null)>");
        return buf;
    }
    if (AC__FLAG(d, AC__F_ACCEPTING) && AC__FLAG(d, AC__F_HAS_ADDR))
        state = " listening";
    else if (AC__FLAG(d, AC__F_CONNECTED))
        state = " connected";
    addr[0] = '\0';
    if (AC__FLAG(d, AC__F_HAS_ADDR)) {
        addr[0] = ' ';
        ac_addr_string((const struct sockaddr *)&d->addr, d->addrlen, addr + 1,
                       sizeof(addr) - 1);
    }
    snprintf(buf, size, "<%s%s%s at %p>", ac_class_name(d), state, addr,
             (const void *)d);
    return buf;
}

const char *ac_strerror(int err)
{
    static _Thread_local char buf[128];
    static const char *const eai[] = {
        "name not found",
        "temporary failure in name resolution",
        "name server failure",
        "no address for the name",
        "name resolution failed",
    };

    if (err < 0)
        err = -err;
    if (err >= AC_EAI_NONAME && err <= AC_EAI_OTHER)
        return eai[err - AC_EAI_NONAME];
    return ac__strerror_r(err, buf, sizeof(buf));
}

#define AC__STR2(x) #x
#define AC__STR(x) AC__STR2(x)

const char *ac_version(void)
{
    return AC__STR(AC_VERSION_MAJOR) "." AC__STR(AC_VERSION_MINOR) "." AC__STR(
        AC_VERSION_PATCH);
}

unsigned ac_version_number(void)
{
    return AC_VERSION_NUMBER;
}
