/* libFuzzer target: async_chat input handling with terminator changes.
 *
 * The input is a program of (op, length, bytes) records: feed bytes, set a
 * byte terminator, a count or none, change the line cap, discard buffers.
 * found_terminator also switches terminators, driven by the input. Besides
 * memory errors (ASan/UBSan), it checks that every byte is accounted for:
 * collected + terminators + the kept tail == fed, whenever no cap or
 * discard interfered, and that the tail kept after each read is a
 * proper prefix of the terminator. */
#include <asyncore/asynchat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t collected, term_bytes;
static const uint8_t *switches;
static size_t nswitches, next_switch;

static void on_collect(ac_chat *c, const void *data, size_t len)
{
    (void)data;
    collected += len;
    ac_chat_base_class.collect_incoming_data(c, data, len);
    if (c->inc_len > 1 << 20)
        ac_chat_clear_data(c);
}

static void on_found(ac_chat *c)
{
    size_t len;
    const void *t;

    if (ac_chat_get_terminator(c, &t, &len, NULL) == AC_TERM_BYTES)
        term_bytes += len;
    ac_chat_clear_data(c);
    if (next_switch < nswitches) {
        uint8_t s = switches[next_switch++];
        if (s < 64)
            ac_chat_set_terminator(c, "\r\n\0ab", 1 + s % 5);
        else if (s < 128)
            ac_chat_set_terminator_count(c, s - 64);
        else if (s < 140)
            ac_chat_set_terminator(c, NULL, 0);
    }
}

static const ac_chat_class cls = {
    .base = {.name = "fuzz", .parent = AC_CHAT_PARENT},
    .collect_incoming_data = on_collect,
    .found_terminator = on_found,
};

static void quiet(ac_map *m, ac_log_level l, const char *msg, void *data)
{
    (void)m;
    (void)l;
    (void)msg;
    (void)data; /* the cap closing a channel is expected here */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ac_map *map;
    ac_chat c;
    uint64_t fed = 0;
    int interfered = 0;
    size_t i = 0;

    if (!map) {
        map = ac_map_new(AC_BACKEND_POLL);
        ac_map_set_log(map, quiet, NULL);
    }
    if (size < 2)
        return 0;
    /* the first byte says how many trailing bytes drive found_terminator */
    nswitches = data[0] < size - 1 ? data[0] : 0;
    switches = data + size - nswitches;
    size -= nswitches;
    next_switch = 0;
    collected = term_bytes = 0;
    ac_chat_init(&c, &cls, map);
    for (i = 1; i + 2 <= size;) {
        uint8_t op = data[i], len = data[i + 1];
        const uint8_t *arg = data + i + 2;
        if (i + 2 + len > size)
            len = (uint8_t)(size - i - 2);
        i += 2 + (size_t)len;
        switch (op % 8) {
        case 0: case 1: case 2:
            ac_chat_feed(&c, arg, len);
            fed += len;
            /* right after a read, the kept tail is a proper prefix of the
             * terminator in force (a later change may leave it longer, to
             * be reprocessed by the next read, as in Python) */
            if (c.term_kind == AC_TERM_BYTES ? c.kept_len >= c.term_len
                                             : c.kept_len != 0)
                abort();
            break;
        case 3:
            ac_chat_set_terminator(&c, arg, len);
            break;
        case 4:
            ac_chat_set_terminator_count(&c, len ? arg[0] : 0);
            break;
        case 5:
            ac_chat_set_terminator(&c, NULL, 0);
            break;
        case 6:
            ac_chat_set_max_line(&c, len ? arg[0] : 0);
            interfered |= len && arg[0];
            break;
        case 7:
            ac_chat_discard_buffers(&c);
            interfered = 1;
            break;
        }
    }
    if (!interfered && collected + term_bytes + c.kept_len != fed)
        abort(); /* a byte was lost or invented */
    ac_close(&c.base);
    return 0;
}
