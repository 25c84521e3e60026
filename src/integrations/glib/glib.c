/* GLib adapter: a GSource per map, waiting per fd or on the map's epoll fd. */
#include <asyncore/glib.h>
#include <errno.h>

typedef struct {
    GSource source;
    ac_map *map;
    ac_glib_mode mode;
    gpointer backend_tag; /* BACKEND_FD: the epoll fd's tag */
    GArray *ready;        /* PER_FD: (fd, revents) collected in check */
    GPtrArray *watches;   /* PER_FD: every channel's watch record */
    unsigned long iterations, dispatches;
    gboolean nested; /* prepared inside one of the map's own handlers */
} ac_source;

typedef struct {
    gpointer tag; /* NULL while the channel waits for nothing */
    int fd;
    guint index;  /* in watches */
} watch;

typedef struct {
    int fd;
    unsigned revents;
} ready_fd;

static gboolean usable(const ac_source *s)
{
    return s->map && !g_source_is_destroyed((GSource *)&s->source);
}

/* ---- hooks (PER_FD) ---- */

static int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    ac_source *s = data;
    watch *w = ac_get_host_data(d);
    GIOCondition cond = (GIOCondition)(events & (AC_IN | AC_PRI | AC_OUT));

    if (!w) {
        w = g_new0(watch, 1);
        w->fd = fd;
        w->index = s->watches->len;
        g_ptr_array_add(s->watches, w);
        ac_set_host_data(d, w);
    }
    if (g_source_is_destroyed(&s->source))
        return 0;
    /* An fd with no interest is removed, not kept with 0: poll() reports
     * hang-ups regardless, and an uninterested channel must not wake. */
    if (!cond) {
        if (w->tag)
            g_source_remove_unix_fd(&s->source, w->tag);
        w->tag = NULL;
    } else if (w->tag) {
        g_source_modify_unix_fd(&s->source, w->tag, cond);
    } else {
        w->tag = g_source_add_unix_fd(&s->source, fd, cond);
    }
    return 0;
}

static void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    ac_source *s = data;
    watch *w = ac_get_host_data(d), *last;

    (void)fd;
    if (!w)
        return;
    ac_set_host_data(d, NULL);
    if (w->tag && !g_source_is_destroyed(&s->source))
        g_source_remove_unix_fd(&s->source, w->tag);
    /* swap-remove keeps the array dense */
    last = g_ptr_array_index(s->watches, s->watches->len - 1);
    last->index = w->index;
    g_ptr_array_remove_index_fast(s->watches, w->index);
    g_free(w);
}

static void on_detached(void *data)
{
    ac_source *s = data;
    s->map = NULL;
}

/* ---- GSourceFuncs ---- */

static gboolean src_prepare(GSource *source, gint *timeout)
{
    ac_source *s = (ac_source *)source;

    bool before;

    *timeout = -1;
    if (!usable(s))
        return FALSE;
    s->iterations++;
    before = ac_map_alive(s->map);
    /* interest only; -EBUSY inside a handler of the map (a nested main
     * loop): then this iteration leaves us alone */
    s->nested = ac_map_refresh(s->map) == -EBUSY;
    if (!usable(s) || s->nested)
        return FALSE;
    /* 0 when something is due already: the context then polls without
     * sleeping and check says so */
    *timeout = ac_map_timeout(s->map);
    /* A predicate that closed the last channel ends this iteration: there
     * is nothing of ours left to wait for. */
    return before && !ac_map_alive(s->map);
}

static gboolean src_check(GSource *source)
{
    ac_source *s = (ac_source *)source;
    gboolean due = FALSE;
    guint i;

    /* A descriptor, or what is due by time (a timer, pending readiness):
     * the wait that a deadline ended dispatches it in this iteration. */
    if (!usable(s) || s->nested)
        return FALSE;
    if (ac_map_timeout(s->map) == 0)
        due = TRUE;
    if (s->mode == AC_GLIB_BACKEND_FD)
        return due || g_source_query_unix_fd(source, s->backend_tag) != 0;
    g_array_set_size(s->ready, 0);
    for (i = 0; i < s->watches->len; i++) {
        watch *w = g_ptr_array_index(s->watches, i);
        GIOCondition c = w->tag ? g_source_query_unix_fd(source, w->tag) : 0;
        if (c) {
            ready_fd r = {w->fd, (unsigned)c};
            g_array_append_val(s->ready, r);
        }
    }
    return due || s->ready->len > 0;
}

static gboolean src_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    ac_source *s = (ac_source *)source;
    guint i;
    int n;

    (void)cb;
    (void)data;
    if (!usable(s))
        return G_SOURCE_CONTINUE;
    if (s->mode == AC_GLIB_BACKEND_FD) {
        /* prepare refreshed; this runs what is due as well */
        n = ac_map_dispatch_ready(s->map);
        if (n > 0)
            s->dispatches += (unsigned long)n;
        return G_SOURCE_CONTINUE;
    }
    /* Collected in check; handlers may close channels and open others on
     * the same numbers: ac_map_dispatch's epoch rule keeps that safe. */
    for (i = 0; i < s->ready->len && s->map; i++) {
        ready_fd *r = &g_array_index(s->ready, ready_fd, i);
        if (ac_map_dispatch(s->map, r->fd, r->revents) > 0)
            s->dispatches++;
    }
    g_array_set_size(s->ready, 0);
    if (s->map && (n = ac_map_run_due(s->map)) > 0)
        s->dispatches += (unsigned long)n;
    return G_SOURCE_CONTINUE;
}

/* g_source_destroy() (not only the last unref) hands the map back: GLib
 * drops a destroyed source's callback at once, and with it this notify. */
static void on_destroyed(gpointer data)
{
    ac_source *s = data;

    if (s->map)
        ac_map_set_hooks(s->map, NULL); /* unwatch all, then on_detached */
}

static void src_finalize(GSource *source)
{
    ac_source *s = (ac_source *)source;

    if (s->map)
        ac_map_set_hooks(s->map, NULL); /* unwatch all, then on_detached */
    g_array_free(s->ready, TRUE);
    g_ptr_array_free(s->watches, TRUE);
}

static GSourceFuncs funcs = {
    .prepare = src_prepare,
    .check = src_check,
    .dispatch = src_dispatch,
    .finalize = src_finalize,
};

GSource *ac_glib_source_new(ac_map *map, ac_glib_mode mode)
{
    ac_source *s;
    int efd;

    if (!map || (unsigned)mode > AC_GLIB_BACKEND_FD) {
        errno = EINVAL;
        return NULL;
    }
    efd = ac_map_backend_fd(map);
    if (mode == AC_GLIB_AUTO)
        mode = efd >= 0 ? AC_GLIB_BACKEND_FD : AC_GLIB_PER_FD;
    if (mode == AC_GLIB_BACKEND_FD && efd < 0) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    s = (ac_source *)g_source_new(&funcs, sizeof(ac_source));
    g_source_set_name(&s->source, "asyncore");
    /* GLib blocks a source while it dispatches by taking its fds out of
     * the poll set and putting them back, and each change wakes the
     * context: one spurious iteration per dispatch. Not blocking avoids
     * it; a nested iteration from one of our handlers is refused in
     * prepare (ac_map_refresh says -EBUSY) instead. */
    g_source_set_can_recurse(&s->source, TRUE);
    s->map = map;
    s->mode = mode;
    s->ready = g_array_new(FALSE, FALSE, sizeof(ready_fd));
    s->watches = g_ptr_array_new();
    {
        /* BACKEND_FD only needs to hear when the map goes away. */
        ac_hooks hooks = {.detached = on_detached, .data = s};
        int r;
        if (mode == AC_GLIB_PER_FD) {
            hooks.watch = on_watch;
            hooks.unwatch = on_unwatch;
        }
        r = ac_map_set_hooks(map, &hooks);
        if (r < 0) {
            s->map = NULL;
            g_source_unref(&s->source);
            errno = -r;
            return NULL;
        }
    }
    if (ac_map_get_budget(map) == 0) /* a GUI's frame: ac_map_set_budget */
        ac_map_set_budget(map, AC_BUDGET_GUI_MS);
    if (mode == AC_GLIB_BACKEND_FD)
        s->backend_tag = g_source_add_unix_fd(&s->source, efd, G_IO_IN);
    g_source_set_callback(&s->source, NULL, s, on_destroyed);
    return &s->source;
}

ac_glib_mode ac_glib_source_mode(GSource *source)
{
    return source ? ((ac_source *)source)->mode : AC_GLIB_AUTO;
}

ac_map *ac_glib_source_map(GSource *source)
{
    return source && usable((ac_source *)source) ? ((ac_source *)source)->map
                                                 : NULL;
}

unsigned long ac_glib_source_iterations(GSource *source)
{
    return source ? ((ac_source *)source)->iterations : 0;
}

unsigned long ac_glib_source_dispatches(GSource *source)
{
    return source ? ((ac_source *)source)->dispatches : 0;
}

/* ---- the idle way ---- */

static gboolean idle_step(gpointer data)
{
    ac_map *map = data;

    if (ac_map_count(map) == 0)
        return G_SOURCE_REMOVE;
    ac_poll_once(map, 0);
    return ac_map_count(map) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

guint ac_glib_add_idle(ac_map *map, GMainContext *context)
{
    GSource *s;
    guint id;

    if (!map)
        return 0;
    s = g_idle_source_new();
    g_source_set_callback(s, idle_step, map, NULL);
    g_source_set_name(s, "asyncore idle");
    id = g_source_attach(s, context);
    g_source_unref(s);
    return id;
}
