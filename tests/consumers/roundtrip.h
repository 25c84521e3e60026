/* One echo round trip over a socketpair on a map of `backend`: the
 * consumers' proof that what they linked works. Returns 0 on success. */
#ifndef AC_CONSUMER_ROUNDTRIP_H
#define AC_CONSUMER_ROUNDTRIP_H

#include <asyncore/asyncore.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void roundtrip_echo(ac_dispatcher *d)
{
    char buf[64];
    ssize_t n = ac_recv(d, buf, sizeof(buf));
    if (n > 0)
        ac_with_send((ac_dispatcher_with_send *)(void *)d, buf, (size_t)n);
}

static int roundtrip(void)
{
    static ac_dispatcher_class echo; /* zeroed: the base's behaviour */
    ac_dispatcher_with_send w;
    ac_map *map = ac_map_new(AC_BACKEND_DEFAULT);
    char got[8] = {0};
    int sv[2], i, ok;

    echo.name = "echo";
    echo.parent = &ac_with_send_class;
    echo.handle_read = roundtrip_echo;
    if (!map || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 1;
    ac_with_send_init(&w, &echo, map);
    if (ac_set_socket(&w.base, sv[0]) < 0 || write(sv[1], "ping", 4) != 4)
        return 1;
    for (i = 0; i < 100 && !ac_with_send_pending(&w); i++)
        if (ac_poll_once(map, 100) > 0)
            break;
    ok = read(sv[1], got, 4) == 4 && !strcmp(got, "ping");
    close(sv[1]);
    ac_map_free(map);
    return ok ? 0 : 1;
}

#endif
