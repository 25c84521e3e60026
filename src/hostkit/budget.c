/* Host kit cases about the budget of an iteration (ac_map_set_budget):
 * what a host must do for work the map kept for its next iteration. */
#include "kit.h"

#include <asyncore/asynchat.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The budget (ac_map_set_budget): records a chat read at once but the
 * budget cut off wait in the library, not in the socket; the host comes
 * back for them because ac_map_timeout() says 0, and every record arrives
 * once, in order. A host that waits for the descriptor instead hangs. */
typedef struct {
    ac_chat chat;
    unsigned next, bad;
    bool done;
} counter;

enum { BUDGET_RECORDS = 1000 };

static void counter_found(ac_chat *c)
{
    counter *r = AC_CONTAINER_OF(c, counter, chat);
    size_t len;
    const char *p = ac_chat_data(c, &len);
    char want[16];
    double t0 = kit_now_ms();

    snprintf(want, sizeof(want), "%08u", r->next);
    if (len != 8 || memcmp(p, want, 8) != 0)
        r->bad++;
    ac_chat_clear_data(c);
    if (++r->next == BUDGET_RECORDS)
        r->done = true;
    while (kit_now_ms() - t0 < 0.02) /* a record costs something */
        ;
}

static const ac_chat_class counter_class = {
    .base = {.name = "kit_counter", .parent = AC_CHAT_PARENT},
    .found_terminator = counter_found,
};

static void budget_resumes(kit *k)
{
    static counter r;
    char data[BUDGET_RECORDS * 9 + 1];
    ac_map_stats st;
    int sv[2], steps;
    unsigned i;

    memset(&r, 0, sizeof(r));
    for (i = 0; i < BUDGET_RECORDS; i++)
        snprintf(data + i * 9, 10, "%08u\n", i);
    KIT_CHECK(k, socketpair(AF_UNIX, SOCK_STREAM | KIT_CLOEXEC, 0, sv) == 0,
              "socketpair: %s", ac_strerror(errno));
    ac_chat_init(&r.chat, &counter_class, k->map);
    ac_chat_set_terminator(&r.chat, "\n", 1);
    if (ac_set_socket(&r.chat.base, sv[0]) < 0) {
        close(sv[0]);
        close(sv[1]);
        KIT_CHECK(k, false, "could not adopt a socketpair");
    }
    ac_map_set_budget(k->map, 1);
    ac_map_get_stats(k->map, &st);
    i = (unsigned)st.budget_cuts;
    /* one read's worth: the socket is empty once the chat has read it */
    if (kit_send(sv[1], data, BUDGET_RECORDS * 9) != BUDGET_RECORDS * 9) {
        ac_close(&r.chat.base);
        close(sv[1]);
        ac_map_set_budget(k->map, 0);
        KIT_CHECK(k, false, "write failed");
    }
    steps = kit_until(k, &r.done, 10000);
    ac_map_get_stats(k->map, &st);
    ac_close(&r.chat.base);
    close(sv[1]);
    ac_map_set_budget(k->map, 0);
    if (steps < 0)
        return;
    KIT_CHECK(k, r.bad == 0, "%u records out of order or damaged", r.bad);
    KIT_CHECK(k, st.budget_cuts > i, "the 1 ms budget never cut an "
              "iteration (20 ms of records)");
    kit_note(k, "%d steps, %llu cuts", steps,
             (unsigned long long)(st.budget_cuts - i));
}

const kit_case kit_budget_cases[] = {
    {"step/budget-resumes", budget_resumes, 0},
    {NULL, NULL, 0},
};
