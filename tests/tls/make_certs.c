/* make_certs: the TLS tests' certificates for the scripts (blackbox tests,
 * benchmarks): prints the directory it made. Remove it when done. */
#include "certs.h"

#include <stdio.h>

int main(void)
{
    tc_certs c;

    if (tc_certs_make(&c) < 0)
        return 1;
    printf("%s\n", c.dir);
    return 0;
}
