/* Leaks one map on purpose: under ASan, LeakSanitizer must report it with
 * a libasyncore frame even when tests/lsan.supp is in force. If it does
 * not, a suppression hides the library's own leaks. */
#include <asyncore/asyncore.h>
#include <stdio.h>

int main(void)
{
    static ac_map *volatile kept;

    kept = ac_map_new(AC_BACKEND_POLL);
    if (!kept)
        return 2;
    kept = NULL; /* the only reference is dropped: a definite leak */
    printf("leaked a map\n");
    return 0;
}
