/* Built by meson with libasyncore as a subproject: core, GLib and libuv
 * adapters linked, one echo round trip. */
#include <asyncore/glib.h>
#include <asyncore/uv.h>
#include <stdio.h>

#include "roundtrip.h"

int main(void)
{
    uv_loop_t loop;
    ac_map *map = ac_map_new(AC_BACKEND_EPOLL);
    GSource *s = ac_glib_source_new(map, AC_GLIB_AUTO);

    if (!s)
        return 1;
    g_source_unref(s); /* never attached: finalized, hooks gone */
    uv_loop_init(&loop);
    ac_uv_detach(ac_uv_attach(map, &loop), NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    ac_map_free(map);
    if (roundtrip())
        return 1;
    printf("meson subproject: %s ok\n", ac_version());
    return 0;
}
