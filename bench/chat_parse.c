/* Parser-only async_chat benchmark: lines per second through ac_chat_feed,
 * fed in 64 KiB reads, for comparison with chat_parse.py (Python's
 * asynchat on the same input).
 *   chat_parse [LINE_BYTES] [MEGABYTES]        default 20 and 200
 *   chat_parse --long MEGABYTES READ_BYTES     one line, no terminator yet */
#include <asyncore/asynchat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long lines, bytes;

static void found(ac_chat *c)
{
    size_t len;
    ac_chat_data(c, &len);
    bytes += len;
    lines++;
    ac_chat_clear_data(c);
}

static const ac_chat_class cls = {
    .base = {.name = "bench", .parent = AC_CHAT_PARENT},
    .found_terminator = found,
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    ac_map *map = ac_map_new(AC_BACKEND_DEFAULT);
    ac_chat c;
    size_t line = 20, total, read_size = 65536, off, i;
    char *buf;
    double t0, t;
    int longmode = argc > 1 && !strcmp(argv[1], "--long");

    if (longmode) {
        total = (size_t)atol(argc > 2 ? argv[2] : "10") << 20;
        read_size = (size_t)atol(argc > 3 ? argv[3] : "1024");
    } else {
        line = argc > 1 ? (size_t)atol(argv[1]) : 20;
        total = (size_t)atol(argc > 2 ? argv[2] : "200") << 20;
    }
    buf = malloc(total + 2);
    if (!map || !buf || line < 2)
        return 2;
    memset(buf, 'a', total);
    if (longmode) {
        memcpy(buf + total, "\r\n", 2);
        total += 2;
    } else {
        for (i = line - 1; i < total; i += line)
            buf[i] = '\n';
    }
    ac_chat_init(&c, &cls, map);
    ac_chat_set_terminator(&c, longmode ? "\r\n" : "\n", longmode ? 2 : 1);
    t0 = now();
    for (off = 0; off < total; off += read_size)
        ac_chat_feed(&c, buf + off, off + read_size <= total ? read_size
                                                             : total - off);
    t = now() - t0;
    if (longmode)
        printf("long_line bytes=%zu read=%zu lines=%llu seconds=%.4f "
               "MB_per_s=%.0f\n", total, read_size, lines, t,
               (double)total / t / 1e6);
    else
        printf("lines=%llu line_bytes=%zu seconds=%.4f lines_per_s=%.0f\n",
               lines, line, t, (double)lines / t);
    ac_close(&c.base);
    ac_map_free(map);
    free(buf);
    return 0;
}
