/* The growable byte queue behind with_send and async_chat output, and
 * the map's shared read buffer. */
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

char *ac__scratch_get(ac_map *map, size_t size)
{
    if (map->scratch_busy)
        return malloc(size);
    if (map->scratch_cap < size) {
        char *p = realloc(map->scratch, size);
        if (!p)
            return NULL;
        map->scratch = p;
        map->scratch_cap = size;
    }
    map->scratch_busy = true;
    return map->scratch;
}

void ac__scratch_put(ac_map *map, char *buf)
{
    if (buf == map->scratch)
        map->scratch_busy = false;
    else
        free(buf);
}
