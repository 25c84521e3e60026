/* Built by CMake against the installed library (pkg-config's asyncore and
 * asyncore-glib): one echo round trip, and a GLib source made and freed. */
#include <asyncore/glib.h>
#include <stdio.h>

#include "roundtrip.h"

int main(void)
{
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    GSource *s = map ? ac_glib_source_new(map, AC_GLIB_AUTO) : NULL;

    if (!s)
        return 1;
    g_source_unref(s);
    ac_map_free(map);
    if (roundtrip())
        return 1;
    printf("cmake: %s ok\n", ac_version());
    return 0;
}
