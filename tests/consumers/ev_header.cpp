// asyncore/ev.h from C++17, warnings as errors (apart from all_headers.cpp:
// libev's ev.h and libevent's headers cannot meet in one file).
#include <asyncore/ev.h>

#include <cerrno>
#include <cstdio>

int main()
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ac_map *map = ac_map_new(AC_BACKEND_DEFAULT);
    ac_ev *a = ac_ev_attach(map, loop, AC_EV_AUTO);

    if (!a || ac_ev_get_mode(a) != AC_EV_PER_FD || ac_ev_map(a) != map)
        return 1;
    ev_run(loop, EVRUN_NOWAIT);
    if (ac_ev_detach(a) != 0 || ac_map_free(map) != 0)
        return 1;
    ev_loop_destroy(loop);
    std::printf("C++17: asyncore/ev.h ok\n");
    return 0;
}
