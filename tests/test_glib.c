/* The GLib adapter: channels next to GLib sources on a real GMainContext,
 * both waiting modes, destroying the source, another thread's context,
 * callbacks in dispatch. Every core test also runs on this adapter (the
 * "glib" and "glib-backend-fd" suites of the other files), and so does the
 * host kit (idle channels, the map freed while attached, ...). */
#include "helpers.h"

#include <asyncore/glib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static const ac_glib_mode modes[] = {AC_GLIB_PER_FD, AC_GLIB_BACKEND_FD};

static GSource *attach(ac_map *map, GMainContext *ctx, ac_glib_mode mode)
{
    GSource *s = ac_glib_source_new(map, mode);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    g_source_attach(s, ctx);
    return s;
}

/* The common set-up: a fresh context, an epoll map, and the map's source
 * attached in `mode`. Tests whose teardown order is the point tear down by
 * hand; the others use done(), source first. */
typedef struct {
    GMainContext *ctx;
    ac_map *map;
    GSource *s;
} fixture;

static fixture setup(ac_glib_mode mode)
{
    fixture f;

    f.ctx = g_main_context_new();
    f.map = ac_map_new(T_FD_BACKEND);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.map);
    f.s = attach(f.map, f.ctx, mode);
    return f;
}

static void done(fixture *f)
{
    g_source_destroy(f->s);
    g_source_unref(f->s);
    CU_ASSERT_EQUAL(ac_map_free(f->map), 0);
    g_main_context_unref(f->ctx);
}

/* A channel on one end of a socketpair; the other end in sv[1]. */
static tchan *paired(ac_map *map, int sv[2])
{
    tchan *t = tchan_new(map);

    t_socketpair(sv);
    CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
    return t;
}

static gboolean remove_me(gpointer data)
{
    (void)data;
    return G_SOURCE_REMOVE;
}

/* Iterate `ctx` for `ms`, blocking: only real events (or the end) wake it.
 * Returns the number of iterations. */
static int run_for(GMainContext *ctx, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    int n = 0;

    while (g_get_monotonic_time() < end) {
        guint left = (guint)((end - g_get_monotonic_time()) / 1000 + 1);
        GSource *t = g_timeout_source_new(left);
        g_source_set_callback(t, remove_me, NULL, NULL);
        g_source_attach(t, ctx);
        g_main_context_iteration(ctx, TRUE);
        g_source_destroy(t);
        g_source_unref(t);
        n++;
    }
    return n;
}

/* ---- channels next to a g_timeout; data both ways ---- */

static int ticks;
static gboolean tick(gpointer data)
{
    (void)data;
    return ++ticks < 5 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void test_alongside_timeouts(void)
{
    size_t m;

    for (m = 0; m < T_HOST_MODES; m++) {
        fixture f = setup(modes[m]);
        GMainContext *ctx = f.ctx;
        ac_map *map = f.map;
        GSource *s = f.s, *t;
        tchan *c = tchan_new(map);
        int sv[2];
        gint64 end;

        t_socketpair(sv);
        CU_ASSERT_EQUAL(ac_set_socket(&c->d, sv[0]), 0);
        ticks = 0;
        t = g_timeout_source_new(5);
        g_source_set_callback(t, tick, NULL, NULL);
        g_source_attach(t, ctx);
        g_source_unref(t);
        CU_ASSERT_EQUAL(write(sv[1], "glib", 4), 4);
        end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
        while ((ticks < 5 || c->in_len < 4) && g_get_monotonic_time() < end)
            g_main_context_iteration(ctx, TRUE);
        CU_ASSERT_EQUAL(ticks, 5);
        CU_ASSERT_EQUAL(c->in_len, 4);
        CU_ASSERT_EQUAL(memcmp(c->in, "glib", 4), 0);
        CU_ASSERT_EQUAL(ac_glib_source_mode(s), modes[m]);
        ac_close(&c->d);
        close(sv[1]);
        done(&f);
    }
}

/* ---- 1000 channels, each reads a byte then EOF ---- */

static void test_thousand_channels(void)
{
    size_t m;

    for (m = 0; m < T_HOST_MODES; m++) {
        fixture f = setup(modes[m]);
        GMainContext *ctx = f.ctx;
        ac_map *map = f.map;
        int i, before = t_destroyed;
        gint64 end;

        for (i = 0; i < 1000; i++) {
            int sv[2];
            tchan *t = tchan_new(map);
            t_socketpair(sv);
            CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
            CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
            close(sv[1]);
        }
        end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        while (ac_map_count(map) && g_get_monotonic_time() < end)
            g_main_context_iteration(ctx, TRUE);
        CU_ASSERT_EQUAL(ac_map_count(map), 0);
        CU_ASSERT_EQUAL(t_destroyed, before + 1000);
        done(&f);
    }
}

/* ---- the source destroyed with channels open; closing them later ---- */

static void test_destroy_source_with_open_channels(void)
{
    size_t m;

    for (m = 0; m < T_HOST_MODES; m++) {
        fixture f = setup(modes[m]);
        GMainContext *ctx = f.ctx;
        ac_map *map = f.map;
        GSource *s = f.s;
        int sv[2];
        tchan *t = paired(map, sv);

        g_main_context_iteration(ctx, FALSE);
        g_source_destroy(s);
        g_source_unref(s); /* finalized: hooks removed */
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        g_main_context_iteration(ctx, FALSE); /* nothing of ours runs */
        CU_ASSERT_EQUAL(t->n_read, 0);
        CU_ASSERT_EQUAL(ac_poll_once(map, 1000), 1); /* the map's own loop */
        CU_ASSERT_EQUAL(t->n_read, 1);
        ac_close(&t->d);
        close(sv[1]);
        /* a new source can take the map again */
        s = attach(map, ctx, modes[m]);
        g_source_destroy(s);
        g_source_unref(s);
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
        g_main_context_unref(ctx);
    }
}

/* ---- the map freed while the source is attached ---- */

/* ---- an idle map does not wake the context ---- */

/* ---- a thread-default context in another thread ---- */

static gpointer thread_main(gpointer data)
{
    int *result = data;
    GMainContext *ctx = g_main_context_new();
    ac_map *map;
    GSource *s;
    tchan *t;
    int sv[2];
    gint64 end;

    g_main_context_push_thread_default(ctx);
    map = ac_map_new(AC_BACKEND_POLL); /* AUTO: per fd */
    s = ac_glib_source_new(map, AC_GLIB_AUTO);
    g_source_attach(s, g_main_context_get_thread_default());
    t = tchan_new(map);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    ac_set_socket(&t->d, sv[0]);
    if (write(sv[1], "thread", 6) != 6)
        *result = -1;
    end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    while (t->in_len < 6 && g_get_monotonic_time() < end)
        g_main_context_iteration(ctx, TRUE);
    *result = t->in_len == 6 && ac_glib_source_mode(s) == AC_GLIB_PER_FD;
    ac_close(&t->d);
    close(sv[1]);
    g_source_destroy(s);
    g_source_unref(s);
    ac_map_free(map);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return NULL;
}

static void test_other_thread_context(void)
{
    int result = 0;
    GThread *th = g_thread_new("ac-glib", thread_main, &result);

    g_thread_join(th);
    CU_ASSERT_EQUAL(result, 1);
}

/* ---- the idle helper (the seed's way) ---- */

static void test_idle_helper(void)
{
    GMainContext *ctx = g_main_context_new();
    ac_map *map = ac_map_new(AC_BACKEND_SELECT); /* any backend */
    tchan *t = tchan_new(map);
    int sv[2];
    guint id;
    gint64 end;

    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&t->d, sv[0]), 0);
    id = ac_glib_add_idle(map, ctx);
    CU_ASSERT(id > 0);
    CU_ASSERT_EQUAL(write(sv[1], "idle", 4), 4);
    close(sv[1]); /* then EOF: the channel closes, the idle source ends */
    end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    while (g_main_context_find_source_by_id(ctx, id) &&
           g_get_monotonic_time() < end)
        g_main_context_iteration(ctx, FALSE);
    CU_ASSERT_PTR_NULL(g_main_context_find_source_by_id(ctx, id));
    CU_ASSERT_EQUAL(ac_map_count(map), 0);
    ac_map_free(map);
    g_main_context_unref(ctx);
}

/* ---- argument checks ---- */

static void test_errors(void)
{
    ac_map *ep = ac_map_new(T_FD_BACKEND), *po = ac_map_new(AC_BACKEND_POLL);
    GSource *s;

    CU_ASSERT_PTR_NULL(ac_glib_source_new(NULL, AC_GLIB_AUTO));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NULL(ac_glib_source_new(po, AC_GLIB_BACKEND_FD));
    CU_ASSERT_EQUAL(errno, EOPNOTSUPP);
    s = ac_glib_source_new(ep, AC_GLIB_AUTO);
    CU_ASSERT_EQUAL(ac_glib_source_mode(s), AC_HAVE_EPOLL ? AC_GLIB_BACKEND_FD
                                                       : AC_GLIB_PER_FD);
    CU_ASSERT_PTR_NULL(ac_glib_source_new(ep, AC_GLIB_PER_FD)); /* one host */
    CU_ASSERT_EQUAL(errno, EBUSY);
    g_source_unref(s); /* never attached: finalized at once */
    s = ac_glib_source_new(ep, AC_GLIB_PER_FD); /* free again */
    CU_ASSERT_PTR_NOT_NULL(s);
    g_source_unref(s);
    CU_ASSERT_EQUAL(ac_glib_add_idle(NULL, NULL), 0);
    ac_map_free(ep);
    ac_map_free(po);
}

/* ---- C-89: the map's callbacks run in the source's dispatch ---- */

/* GLib names the source being dispatched; in prepare and check there is
 * none. Each callback notes whether it runs inside our dispatch. */
static GSource *dispatching;
static int in_dispatch, elsewhere;

static void note_where(void)
{
    if (g_main_current_source() == dispatching)
        in_dispatch++;
    else
        elsewhere++;
}

static void where_timer(ac_timer *t)
{
    (void)t;
    note_where();
}

static void where_call(void *data)
{
    (void)data;
    note_where();
}

static void where_read(tchan *t)
{
    char c;
    (void)ac_recv(&t->d, &c, 1);
    note_where();
}

static void test_callbacks_in_dispatch(void)
{
    int m;

    for (m = 0; m < T_HOST_MODES; m++) {
        fixture f = setup(modes[m]);
        int sv[2], i;
        tchan *t = paired(f.map, sv);
        ac_timer timer;

        dispatching = f.s;
        in_dispatch = elsewhere = 0;
        t->on_read = where_read;
        ac_timer_init(&timer, f.map, where_timer, NULL);
        ac_timer_start(&timer, 10, 0);
        CU_ASSERT_EQUAL(ac_map_call(f.map, where_call, NULL), 0);
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        for (i = 0; i < 50 && in_dispatch + elsewhere < 3; i++)
            run_for(f.ctx, 5);
        CU_ASSERT_EQUAL(in_dispatch, 3);
        CU_ASSERT_EQUAL(elsewhere, 0);
        ac_close(&t->d);
        close(sv[1]);
        done(&f);
    }
}

static CU_TestInfo tests[] = {
    {"callbacks_in_dispatch", test_callbacks_in_dispatch},
    {"alongside_timeouts", test_alongside_timeouts},
    {"thousand_channels", test_thousand_channels},
    {"destroy_source_with_open_channels",
     test_destroy_source_with_open_channels},
    {"other_thread_context", test_other_thread_context},
    {"idle_helper", test_idle_helper},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};

static void reg(void)
{
    t_register_modes("glib", tests, T_ONCE);
}

int main(int argc, char **argv)
{
    return t_main(argc, argv, reg);
}
