/* AC_VERSION_* in the header, ac_version() in the library and meson's
 * project version (MESON_VERSION, from tests/meson.build) agree. */
#include <asyncore/asyncore.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    char header[32];

    snprintf(header, sizeof(header), "%d.%d.%d", AC_VERSION_MAJOR,
             AC_VERSION_MINOR, AC_VERSION_PATCH);
    if (strcmp(header, MESON_VERSION) || strcmp(ac_version(), MESON_VERSION) ||
        ac_version_number() != AC_VERSION_NUMBER) {
        fprintf(stderr, "meson %s, header %s, library %s (%u vs %u)\n",
                MESON_VERSION, header, ac_version(), ac_version_number(),
                AC_VERSION_NUMBER);
        return 1;
    }
    printf("version %s everywhere\n", MESON_VERSION);
    return 0;
}
