/* Differential-test helper: replays cases from stdin through ac_chat_feed
 * and prints what the chat saw. Input lines:
 *   T b HEX | T c N | T n       the initial terminator
 *   S K b HEX | S K c N | S K n at the K-th found_terminator, switch
 *   D HEX                       a chunk, fed as one read
 *   E                           end of case
 * Output: "C HEX" per collect, "F" per found_terminator, "E" per case. */
#include <asyncore/asynchat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SWITCH 64

typedef struct {
    int at;
    char kind;
    long long n;
    char bytes[64];
    size_t len;
} change;

static change sw[MAX_SWITCH];
static int nsw, found_count;

static size_t unhex(const char *h, char *out, size_t cap)
{
    size_t n = 0;
    unsigned v;

    while (h[0] && h[1] && h[0] != '\n' && n < cap && sscanf(h, "%2x", &v) == 1) {
        out[n++] = (char)v;
        h += 2;
    }
    return n;
}

static void apply(ac_chat *c, char kind, long long n, const char *b, size_t len)
{
    if (kind == 'b')
        ac_chat_set_terminator(c, b, len);
    else if (kind == 'c')
        ac_chat_set_terminator_count(c, n);
    else
        ac_chat_set_terminator(c, NULL, 0);
}

static void on_collect(ac_chat *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i;

    (void)c;
    fputs("C ", stdout);
    for (i = 0; i < len; i++)
        printf("%02x", p[i]);
    fputc('\n', stdout);
}

static void on_found(ac_chat *c)
{
    int i;

    found_count++;
    puts("F");
    for (i = 0; i < nsw; i++)
        if (sw[i].at == found_count)
            apply(c, sw[i].kind, sw[i].n, sw[i].bytes, sw[i].len);
}

static const ac_chat_class diff_class = {
    .base = {.name = "diff", .parent = AC_CHAT_PARENT},
    .collect_incoming_data = on_collect,
    .found_terminator = on_found,
};

int main(void)
{
    static char line[1 << 20], buf[1 << 19];
    ac_map *map = ac_map_new(AC_BACKEND_DEFAULT);
    ac_chat c;
    bool open = false;

    if (!map)
        return 2;
    while (fgets(line, sizeof(line), stdin)) {
        if (!open) {
            ac_chat_init(&c, &diff_class, map);
            nsw = found_count = 0;
            open = true;
        }
        if (line[0] == 'T') {
            size_t n = line[2] == 'b' ? unhex(line + 4, buf, sizeof(buf)) : 0;
            apply(&c, line[2], line[2] == 'c' ? atoll(line + 4) : 0, buf, n);
        } else if (line[0] == 'S' && nsw < MAX_SWITCH) {
            change *s = &sw[nsw++];
            char *p;
            s->at = (int)strtol(line + 2, &p, 10);
            s->kind = p[1];
            s->n = s->kind == 'c' ? atoll(p + 3) : 0;
            s->len = s->kind == 'b' ? unhex(p + 3, s->bytes, sizeof(s->bytes)) : 0;
        } else if (line[0] == 'D') {
            size_t n = unhex(line + 2, buf, sizeof(buf));
            if (n)
                ac_chat_feed(&c, buf, n);
        } else if (line[0] == 'E') {
            ac_close(&c.base);
            open = false;
            puts("E");
        }
    }
    ac_map_free(map);
    return 0;
}
