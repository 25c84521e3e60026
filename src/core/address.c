/* Address helpers: name resolution and printable forms. */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

int ac_resolve(const char *host, int port, int family, bool passive,
               struct sockaddr_storage *addr, socklen_t *addrlen)
{
    struct addrinfo hints, *res = NULL;
    char service[16];
    int r;

    if (!addr || !addrlen || port < 0 || port > 65535)
        return -EINVAL;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof(service), "%d", port);
    if (host && !*host)
        host = NULL;
    r = getaddrinfo(host, service, &hints, &res);
    if (r != 0)
        return -ac__gai_error(r, errno);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const char *ac_addr_string(const struct sockaddr *addr, socklen_t addrlen,
                           char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN];

    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    if (!addr || addrlen < sizeof(sa_family_t))
        return buf;
    switch (addr->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const void *)addr;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const void *)addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const void *)addr;
        size_t n = addrlen - offsetof(struct sockaddr_un, sun_path);
        if (addrlen <= offsetof(struct sockaddr_un, sun_path))
            snprintf(buf, size, "unix:(unnamed)");
        else if (un->sun_path[0] == '\0')
            snprintf(buf, size, "unix:@%.*s", (int)(n - 1), un->sun_path + 1);
        else
            snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, n),
                     un->sun_path);
        break;
    }
    default:
        snprintf(buf, size, "family %d", addr->sa_family);
    }
    return buf;
}

int ac_addr_port(const struct sockaddr *addr)
{
    if (!addr)
        return -1;
    if (addr->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)addr)->sin_port);
    if (addr->sa_family == AF_INET6)
        return ntohs(
            ((const struct sockaddr_in6 *)(const void *)addr)->sin6_port);
    return -1;
}
