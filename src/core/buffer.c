/* The growable byte queue behind with_send and async_chat output, and
 * async_chat's collected input. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Append `n` bytes to buf[*off, *off + *len): slide the live bytes to the
 * front before growing, and grow by doubling, so each byte is copied a
 * bounded number of times. Nothing changes on -ENOMEM. */
int ac__buf_append(char **buf, size_t *off, size_t *len, size_t *cap,
                   const void *data, size_t n)
{
    if (*off + *len + n > *cap) {
        if (*off) {
            memmove(*buf, *buf + *off, *len);
            *off = 0;
        }
        if (*len + n > *cap) {
            size_t c = *cap ? *cap : 256;
            char *p;
            while (c < *len + n)
                c *= 2;
            p = realloc(*buf, c);
            if (!p)
                return -ENOMEM;
            *buf = p;
            *cap = c;
        }
    }
    memcpy(*buf + *off + *len, data, n);
    *len += n;
    return 0;
}
