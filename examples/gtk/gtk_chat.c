/* gtk_chat: a GTK 4 client for chat_server. The connection is an
 * async_chat channel living in GTK's own main loop.
 *
 *   gtk_chat --port P [--host H] --nick N [--mode source|idle]
 *            [--send TEXT] [--quit-after SECONDS] [--screenshot FILE.png]
 *            [--tls] [--ca FILE] [--budget MS]
 *
 * --mode source (default) runs the map through the GSource adapter: GLib
 * sleeps until the socket is ready. --mode idle is the seed documents' way:
 * ac_poll_once(map, 0) from an idle handler, which works but keeps a core
 * busy. Every received line is shown in the window and printed to stdout.
 * --send sends one line once connected; --quit-after quits by itself;
 * --screenshot saves the window as PNG just before quitting. --tls talks
 * TLS to chat_server --tls-cert, verifying it against --ca FILE (or the
 * system's CAs) for --host. --budget bounds the library's work per main-loop
 * iteration (ac_map_set_budget; default 8 ms, 0 turns it off), so a burst
 * of lines never holds the window past a frame. */
#include <asyncore/asynchat.h>
#include <asyncore/glib.h>
#include <errno.h>
#include <glib-unix.h>
#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tls_opts.h"

/* Keep the last ~1 MB of text in the view: a long session or a burst must
 * not make every redraw slower. */
#define VIEW_MAX_CHARS (1 << 20)

static struct {
    const char *host, *nick, *send, *mode, *screenshot;
    long port;
    long budget; /* ms; -1: the adapter's */
    double quit_after;

    GMainLoop *loop;
    gint64 last_beat, max_stall_us; /* main-loop stalls, GTK_CHAT_STATS=1 */
    GtkWidget *window, *view, *entry, *button, *status;
    GtkTextBuffer *buffer;
    GString *pending;   /* received text not yet in the view */
    size_t pending_off; /* how much of it the view already took */
    guint flush_id;

    ac_map *map;
    GSource *source;
    ac_chat *chat;      /* NULL when not connected */
    ex_tls tls;
    int exit_code;
} app;

static void usage(FILE *f)
{
    fprintf(f, "usage: gtk_chat --port P [--host H] --nick N "
               "[--mode source|idle]\n"
               "                [--send TEXT] [--quit-after SECONDS] "
               "[--screenshot FILE.png]\n"
               "                [--tls] [--ca FILE] [--budget MS]\n"
               "A GTK 4 window for chat_server; received lines are also "
               "printed to stdout.\n");
}

static void bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "gtk_chat: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    exit(2);
}

/* ---- the view ---- */

static void set_status(const char *text)
{
    if (app.status)
        gtk_label_set_text(GTK_LABEL(app.status), text);
}

/* The view takes received text in slices of whole lines, at most
 * FLUSH_FRAME bytes and FLUSH_SLICE_US per frame: the layout of a burst is
 * spread over frames instead of stopping one (a 4 MB burst inserted at
 * once held GTK for about 60 ms; GTK lays the text out after the insert,
 * so the bytes are bounded, not only the insert's time). Text that would
 * scroll out of the view's VIEW_MAX_CHARS before a frame shows it is
 * printed but never laid out. */
#define FLUSH_SLICE_US 4000
#define FLUSH_CHUNK 8192
#define FLUSH_FRAME 32768
#define FLUSH_EVERY_MS 16

/* The end of the last whole line within p[0, n), or n if there is none. */
static size_t line_cut(const char *p, size_t n)
{
    size_t i;

    for (i = n; i > 0; i--)
        if (p[i - 1] == '\n')
            return i;
    return n;
}

/* data non-NULL: everything now (a screenshot). */
static gboolean flush_pending(gpointer data)
{
    GtkTextIter end, start;
    gint64 t0 = g_get_monotonic_time();
    size_t taken = 0;
    int chars;

    if (!app.buffer || app.pending_off == app.pending->len) {
        app.flush_id = 0;
        return G_SOURCE_REMOVE;
    }
    if (app.pending->len - app.pending_off > VIEW_MAX_CHARS) {
        const char *tail = app.pending->str + app.pending->len - VIEW_MAX_CHARS;
        const char *nl = memchr(tail, '\n', VIEW_MAX_CHARS);
        app.pending_off = (size_t)((nl ? nl + 1 : tail) - app.pending->str);
    }
    while (app.pending_off < app.pending->len &&
           (data || taken < FLUSH_FRAME)) {
        const char *p = app.pending->str + app.pending_off;
        size_t n = app.pending->len - app.pending_off;

        if (!data && n > FLUSH_CHUNK)
            n = line_cut(p, FLUSH_CHUNK);
        gtk_text_buffer_get_end_iter(app.buffer, &end);
        gtk_text_buffer_insert(app.buffer, &end, p, (int)n);
        app.pending_off += n;
        taken += n;
        if (!data && g_get_monotonic_time() - t0 >= FLUSH_SLICE_US)
            break;
    }
    if (app.pending_off == app.pending->len) {
        g_string_truncate(app.pending, 0);
        app.pending_off = 0;
    } else if (app.pending_off > app.pending->len / 2) {
        g_string_erase(app.pending, 0, (gssize)app.pending_off);
        app.pending_off = 0;
    }
    chars = gtk_text_buffer_get_char_count(app.buffer);
    if (chars > VIEW_MAX_CHARS) { /* a little at a time: deleting costs too */
        gtk_text_buffer_get_start_iter(app.buffer, &start);
        gtk_text_buffer_get_iter_at_offset(
            app.buffer, &end, chars - VIEW_MAX_CHARS + VIEW_MAX_CHARS / 16);
        gtk_text_buffer_delete(app.buffer, &start, &end);
    }
    gtk_text_buffer_get_end_iter(app.buffer, &end);
    gtk_text_buffer_place_cursor(app.buffer, &end);
    gtk_text_view_scroll_mark_onscreen(
        GTK_TEXT_VIEW(app.view), gtk_text_buffer_get_insert(app.buffer));
    if (app.pending->len)
        return G_SOURCE_CONTINUE;
    app.flush_id = 0;
    return G_SOURCE_REMOVE;
}

/* Lines are batched into the view at most once a frame, so a burst of
 * thousands of lines costs a few redraws, not thousands. */
static void show(const char *text, size_t len)
{
    g_string_append_len(app.pending, text, (gssize)len);
    g_string_append_c(app.pending, '\n');
    if (!app.flush_id)
        app.flush_id = g_timeout_add(FLUSH_EVERY_MS, flush_pending, NULL);
}

/* ---- the channel ---- */

/* Send one line; the server does not echo it back, so show it here. */
static bool say(const char *text)
{
    char *mine;

    char *line;

    if (!app.chat || !ac_connected(&app.chat->base))
        return false;
    /* one push: outside a handler each push is sent at once */
    line = g_strconcat(text, "\n", NULL);
    ac_chat_push(app.chat, line, strlen(line));
    g_free(line);
    mine = g_strdup_printf("%s: %s", app.nick, text);
    show(mine, strlen(mine));
    g_free(mine);
    return true;
}

static void chat_connected(ac_dispatcher *d)
{
    ac_chat *c = AC_CHAT_OF(d);
    char text[256];

    snprintf(text, sizeof(text), "connected to %s:%ld as %s", app.host,
             app.port, app.nick);
    set_status(text);
    gtk_widget_set_sensitive(app.button, TRUE);
    ac_chat_push(c, app.nick, strlen(app.nick));
    ac_chat_push(c, "\n", 1);
    if (app.send)
        say(app.send);
}

static void chat_line(ac_chat *c)
{
    size_t len;
    const char *line = ac_chat_data(c, &len);

    if (!line)
        line = "";
    fwrite(line, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    show(line, len);
    ac_chat_clear_data(c);
}

static void chat_closed(ac_dispatcher *d)
{
    set_status("disconnected");
    if (app.button)
        gtk_widget_set_sensitive(app.button, FALSE);
    ac_close(d);
}

static void chat_error(ac_dispatcher *d, int err, const char *where)
{
    char text[1100], why[1024];

    snprintf(text, sizeof(text), "error: %s",
             ex_tls_describe(d, err, where, why, sizeof(why)));
    set_status(text);
    fprintf(stderr, "gtk_chat: %s\n", text);
    app.exit_code = 1;
    ac_close(d);
}

static void chat_destroy(ac_dispatcher *d)
{
    if (app.chat == AC_CHAT_OF(d))
        app.chat = NULL;
    g_free(AC_CHAT_OF(d));
}

static const ac_chat_class chat_class = {
    .base = {.name = "gtk_chat",
             .parent = AC_CHAT_PARENT,
             .handle_connect = chat_connected,
             .handle_close = chat_closed,
             .handle_error = chat_error,
             .destroy = chat_destroy},
    .found_terminator = chat_line,
};

/* By name, without blocking: the window keeps painting while the host is
 * looked up, and every address is tried. */
static void connect_chat(void)
{
    int r;

    app.chat = g_new0(ac_chat, 1);
    ac_chat_init(app.chat, &chat_class, app.map);
    ac_chat_set_terminator(app.chat, "\n", 1);
    set_status("connecting...");
    if ((r = ac_connect_host(&app.chat->base, app.host, (int)app.port, NULL)) < 0)
        chat_error(&app.chat->base, -r, "connect");
    else if ((r = ex_tls_start(&app.tls, &app.chat->base, app.host)) < 0)
        chat_error(&app.chat->base, -r, "tls");
}

/* ---- the window ---- */

static void on_send(GtkWidget *w, gpointer data)
{
    GtkEntryBuffer *b = gtk_entry_get_buffer(GTK_ENTRY(app.entry));

    (void)w;
    (void)data;
    if (*gtk_entry_buffer_get_text(b) && say(gtk_entry_buffer_get_text(b)))
        gtk_entry_buffer_set_text(b, "", 0);
}

static void save_screenshot(void)
{
    int w = gtk_widget_get_width(app.window);
    int h = gtk_widget_get_height(app.window);
    GdkPaintable *p = gtk_widget_paintable_new(app.window);
    GtkSnapshot *snap = gtk_snapshot_new();
    GskRenderNode *node;
    GdkTexture *tex;

    if (app.flush_id) {
        g_source_remove(app.flush_id);
        app.flush_id = 0;
    }
    flush_pending(&app); /* all of it */
    gdk_paintable_snapshot(p, GDK_SNAPSHOT(snap), w, h);
    node = gtk_snapshot_free_to_node(snap);
    if (node) {
        graphene_rect_t r = GRAPHENE_RECT_INIT(0, 0, (float)w, (float)h);
        tex = gsk_renderer_render_texture(
            gtk_native_get_renderer(GTK_NATIVE(app.window)), node, &r);
        if (!gdk_texture_save_to_png(tex, app.screenshot))
            fprintf(stderr, "gtk_chat: cannot write %s\n", app.screenshot);
        g_object_unref(tex);
        gsk_render_node_unref(node);
    }
    g_object_unref(p);
}

static gboolean quit_now(gpointer data)
{
    (void)data;
    if (app.screenshot && app.window)
        save_screenshot();
    g_main_loop_quit(app.loop);
    return G_SOURCE_REMOVE;
}

/* A 10 ms heartbeat: how late it runs is how long the loop was stuck. */
static gboolean heartbeat(gpointer data)
{
    gint64 now = g_get_monotonic_time(), late;

    (void)data;
    late = now - app.last_beat - 10000;
    if (app.last_beat && late > app.max_stall_us)
        app.max_stall_us = late;
    app.last_beat = now;
    return G_SOURCE_CONTINUE;
}

/* Closing the window ends the loop; the window is destroyed at the end of
 * main, after the channel, so no handler can touch a destroyed widget. */
static gboolean on_close_request(GtkWindow *w, gpointer data)
{
    (void)w;
    (void)data;
    g_main_loop_quit(app.loop);
    return TRUE;
}

static void build_window(void)
{
    GtkWidget *box, *row, *scroll;

    app.window = gtk_window_new();
    g_signal_connect(app.window, "close-request", G_CALLBACK(on_close_request),
                     NULL);
    gtk_window_set_title(GTK_WINDOW(app.window), "libasyncore chat");
    gtk_window_set_default_size(GTK_WINDOW(app.window), 520, 360);
    box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    gtk_widget_set_margin_start(box, 8);
    gtk_widget_set_margin_end(box, 8);
    gtk_widget_set_margin_top(box, 8);
    gtk_widget_set_margin_bottom(box, 8);
    app.status = gtk_label_new("");
    gtk_label_set_xalign(GTK_LABEL(app.status), 0);
    app.view = gtk_text_view_new();
    gtk_text_view_set_editable(GTK_TEXT_VIEW(app.view), FALSE);
    gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(app.view), FALSE);
    gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(app.view), GTK_WRAP_WORD_CHAR);
    app.buffer = gtk_text_view_get_buffer(GTK_TEXT_VIEW(app.view));
    scroll = gtk_scrolled_window_new();
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), app.view);
    gtk_widget_set_vexpand(scroll, TRUE);
    row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    app.entry = gtk_entry_new();
    gtk_widget_set_hexpand(app.entry, TRUE);
    app.button = gtk_button_new_with_label("Send");
    gtk_widget_set_sensitive(app.button, FALSE);
    g_signal_connect(app.button, "clicked", G_CALLBACK(on_send), NULL);
    g_signal_connect(app.entry, "activate", G_CALLBACK(on_send), NULL);
    gtk_box_append(GTK_BOX(row), app.entry);
    gtk_box_append(GTK_BOX(row), app.button);
    gtk_box_append(GTK_BOX(box), app.status);
    gtk_box_append(GTK_BOX(box), scroll);
    gtk_box_append(GTK_BOX(box), row);
    gtk_window_set_child(GTK_WINDOW(app.window), box);
    gtk_window_present(GTK_WINDOW(app.window));
}

static void start(void)
{
    /* The channel shares GTK's main loop: a GSource (or the idle way). */
    app.map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!strcmp(app.mode, "source")) {
        app.source = ac_glib_source_new(app.map, AC_GLIB_AUTO);
        g_source_attach(app.source, NULL);
    } else {
        ac_glib_add_idle(app.map, NULL);
    }
    /* the work of one iteration stops at the budget: the window paints */
    ac_map_set_budget(app.map, app.budget >= 0 ? (unsigned)app.budget
                                               : AC_BUDGET_GUI_MS);
    if (getenv("GTK_CHAT_STATS")) /* which part of a stall is the library's */
        ac_map_set_debug(app.map, ac_map_get_debug(app.map) | AC_DEBUG_STATS, 0);
    connect_chat();
    if (app.quit_after > 0)
        g_timeout_add((guint)(app.quit_after * 1000), quit_now, NULL);
}

static gboolean on_signal(gpointer data)
{
    (void)data;
    g_main_loop_quit(app.loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    int i;
    char *end;

    app.host = "127.0.0.1";
    app.mode = "source";
    app.port = -1;
    app.budget = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--tls")) {
            app.tls.client = true;
            continue;
        }
        if (i + 1 >= argc)
            bad_usage("unknown or incomplete argument '%s'", a);
        if (!strcmp(a, "--port")) {
            app.port = strtol(argv[++i], &end, 10);
            if (*end || app.port < 1 || app.port > 65535)
                bad_usage("--port: expected 1..65535, got '%s'", argv[i]);
        } else if (!strcmp(a, "--host")) {
            app.host = argv[++i];
        } else if (!strcmp(a, "--nick")) {
            app.nick = argv[++i];
        } else if (!strcmp(a, "--mode")) {
            app.mode = argv[++i];
            if (strcmp(app.mode, "source") && strcmp(app.mode, "idle"))
                bad_usage("--mode: expected source or idle, got '%s'",
                          app.mode);
        } else if (!strcmp(a, "--send")) {
            app.send = argv[++i];
        } else if (!strcmp(a, "--quit-after")) {
            app.quit_after = strtod(argv[++i], &end);
            if (*end || app.quit_after <= 0)
                bad_usage("--quit-after: expected seconds > 0, got '%s'",
                          argv[i]);
        } else if (!strcmp(a, "--budget")) {
            app.budget = strtol(argv[++i], &end, 10);
            if (*end || app.budget < 0 || app.budget > 60000)
                bad_usage("--budget: expected 0..60000 ms, got '%s'", argv[i]);
        } else if (!strcmp(a, "--screenshot")) {
            app.screenshot = argv[++i];
        } else if (!strcmp(a, "--ca")) {
            app.tls.ca = argv[++i];
        } else {
            bad_usage("unknown argument '%s'", a);
        }
    }
    if (app.port < 0)
        bad_usage("--port is required%s", "");
    if (!app.nick || !*app.nick || strchr(app.nick, '\n'))
        bad_usage("--nick is required (one line)%s", "");
    ex_prog = "gtk_chat";
    if (app.tls.client || app.tls.ca)
        ex_tls_setup(&app.tls, false);

    if (!gtk_init_check()) {
        fprintf(stderr, "gtk_chat: cannot open a display\n");
        return 1;
    }
    app.pending = g_string_new(NULL);
    app.loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, on_signal, NULL);
    g_unix_signal_add(SIGTERM, on_signal, NULL);
    if (getenv("GTK_CHAT_STATS"))
        g_timeout_add(10, heartbeat, NULL);
    build_window();
    start();
    g_main_loop_run(app.loop);

    if (getenv("GTK_CHAT_STATS")) {
        ac_map_stats st;
        fprintf(stderr, "gtk_chat: max main-loop stall %lld ms\n",
                (long long)(app.max_stall_us / 1000));
        if (ac_map_get_stats(app.map, &st) == 0)
            fprintf(stderr, "gtk_chat: library loop delay p99 %.1f ms, max "
                            "%.1f ms, %llu budget cuts\n",
                    st.delay_p99_ns / 1e6, st.delay_max_ns / 1e6,
                    (unsigned long long)st.budget_cuts);
    }
    if (app.source) {
        g_source_destroy(app.source);
        g_source_unref(app.source);
    }
    if (app.map)
        ac_map_free(app.map);
    if (app.window)
        gtk_window_destroy(GTK_WINDOW(app.window));
    g_main_loop_unref(app.loop);
    g_string_free(app.pending, TRUE);
    ex_tls_done(&app.tls);
    return app.exit_code;
}
