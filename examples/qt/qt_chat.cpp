// qt_chat: a Qt Widgets client for chat_server. The connection is an
// async_chat channel living in Qt's own event loop.
//
//   qt_chat --port P [--host H] --nick N [--mode notifier|idle]
//           [--send TEXT] [--quit-after SECONDS] [--screenshot FILE.png]
//           [--tls] [--ca FILE] [--budget MS]
//
// --mode notifier (default) attaches the map with the Qt adapter: Qt sleeps
// until the socket is ready. --mode idle is the seed documents' way:
// ac_poll_once(map, 0) from a 0 ms QTimer, which works but keeps a core
// busy. Every received line is shown in the window and printed to stdout.
// --send sends one line once connected; --quit-after quits by itself;
// --screenshot saves the window as PNG just before quitting. --tls talks
// TLS to chat_server --tls-cert, verifying it against --ca FILE (or the
// system's CAs) for --host. --budget bounds the library's work per event
// loop iteration (ac_map_set_budget; default 8 ms, 0 turns it off), so a
// burst of lines never holds the window past a frame.
#include <asyncore/asynchat.h>
#include <asyncore/qt.h>

#include "common.h"
#include "tls_opts.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSocketNotifier>
#include <QTimer>
#include <QVBoxLayout>
#include <QWidget>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/signalfd.h>
#include <unistd.h>

// Keep the last 20,000 lines in the view: a long session or a burst must
// not make every redraw slower.
static const int VIEW_MAX_LINES = 20000;

static struct {
    const char *host = "127.0.0.1", *nick = nullptr, *send = nullptr,
               *mode = "notifier", *screenshot = nullptr;
    long port = -1;
    long budget = -1; // ms; -1: the adapter's
    double quit_after = 0;

    QWidget *window = nullptr;
    QPlainTextEdit *view = nullptr;
    QLineEdit *entry = nullptr;
    QPushButton *button = nullptr;
    QLabel *status = nullptr;
    QString pending;  // received text not yet in the view
    qsizetype pending_off = 0; // how much of it the view already took
    QTimer *flush = nullptr;
    qint64 max_stall_ms = 0;  // event-loop stalls, QT_CHAT_STATS=1

    ac_map *map = nullptr;
    ac_qt *host_qt = nullptr;
    ac_chat *chat = nullptr;  // NULL when not connected
    int exit_code = 0;
    ex_tls tls;
} app;

static void usage(FILE *f)
{
    std::fprintf(f,
                 "usage: qt_chat --port P [--host H] --nick N "
                 "[--mode notifier|idle]\n"
                 "               [--send TEXT] [--quit-after SECONDS] "
                 "[--screenshot FILE.png]\n"
                 "               [--tls] [--ca FILE] [--budget MS]\n"
                 "A Qt window for chat_server; received lines are also "
                 "printed to stdout.\n");
}

[[noreturn]] static void bad_usage(const char *fmt, const char *arg)
{
    std::fprintf(stderr, "qt_chat: ");
    std::fprintf(stderr, fmt, arg);
    std::fprintf(stderr, " (try --help)\n");
    std::exit(2);
}

// ---- the view ----

static void set_status(const QString &text)
{
    if (app.status)
        app.status->setText(text);
}

// The view takes received lines in slices, for at most kFlushSliceMs per
// frame: the layout of a burst is spread over frames instead of stopping
// one (a 4 MB burst of short lines appended at once held Qt for a second).
static const int kFlushSliceMs = 4;
static const qsizetype kFlushChunk = 4096; // characters per append
static const int kFlushEveryMs = 16;

// all: everything now (a screenshot).
static void flush_pending(bool all = false)
{
    QElapsedTimer t;

    if (!app.view)
        return;
    t.start();
    while (app.pending_off < app.pending.size()) {
        qsizetype n = app.pending.size() - app.pending_off;
        if (!all && n > kFlushChunk) {
            qsizetype nl = app.pending.lastIndexOf(
                '\n', app.pending_off + kFlushChunk - 1);
            n = nl >= app.pending_off ? nl + 1 - app.pending_off : kFlushChunk;
        }
        // appendPlainText adds the line break before, not after
        QStringView slice(app.pending.constData() + app.pending_off, n);
        if (slice.endsWith('\n'))
            slice.chop(1);
        app.view->appendPlainText(slice.toString());
        app.pending_off += n;
        if (!all && t.elapsed() >= kFlushSliceMs)
            break;
    }
    if (app.pending_off == app.pending.size()) {
        app.pending.clear();
        app.pending_off = 0;
    } else {
        if (app.pending_off > app.pending.size() / 2) {
            app.pending.remove(0, app.pending_off);
            app.pending_off = 0;
        }
        app.flush->start(kFlushEveryMs);
    }
}

// Lines are batched into the view at most once a frame, so a burst of
// thousands of lines costs a few redraws, not thousands.
static void show(const char *text, size_t len)
{
    app.pending += QString::fromUtf8(text, (qsizetype)len);
    app.pending += '\n';
    if (app.flush && !app.flush->isActive())
        app.flush->start(kFlushEveryMs);
}

// ---- the channel ----

// Send one line; the server does not echo it back, so show it here.
static bool say(const QString &text)
{
    if (!app.chat || !ac_connected(&app.chat->base))
        return false;
    std::string line = text.toStdString() + "\n";
    ac_chat_push(app.chat, line.data(), line.size()); // one push, sent at once
    std::string mine = std::string(app.nick) + ": " + text.toStdString();
    show(mine.data(), mine.size());
    return true;
}

static void chat_connected(ac_dispatcher *d)
{
    ac_chat *c = AC_CHAT_OF(d);

    set_status(QString("connected to %1:%2 as %3")
                   .arg(app.host)
                   .arg(app.port)
                   .arg(app.nick));
    app.button->setEnabled(true);
    ac_chat_push(c, app.nick, std::strlen(app.nick));
    ac_chat_push(c, "\n", 1);
    if (app.send)
        say(app.send);
}

static void chat_line(ac_chat *c)
{
    size_t len;
    const char *line = static_cast<const char *>(ac_chat_data(c, &len));

    if (!line)
        line = "";
    std::fwrite(line, 1, len, stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    show(line, len);
    ac_chat_clear_data(c);
}

static void chat_closed(ac_dispatcher *d)
{
    set_status("disconnected");
    if (app.button)
        app.button->setEnabled(false);
    ac_close(d);
}

static void chat_error(ac_dispatcher *d, int err, const char *where)
{
    char why[1024];
    QString text =
        QString("error: %1").arg(ex_tls_describe(d, err, where, why, sizeof(why)));

    set_status(text);
    std::fprintf(stderr, "qt_chat: %s\n", text.toUtf8().constData());
    app.exit_code = 1;
    ac_close(d);
}

static void chat_destroy(ac_dispatcher *d)
{
    if (app.chat == AC_CHAT_OF(d))
        app.chat = nullptr;
    std::free(AC_CHAT_OF(d));
}

static ac_chat_class make_class()
{
    ac_chat_class k = {};
    k.base.name = "qt_chat";
    k.base.parent = AC_CHAT_PARENT;
    k.base.handle_connect = chat_connected;
    k.base.handle_close = chat_closed;
    k.base.handle_error = chat_error;
    k.base.destroy = chat_destroy;
    k.found_terminator = chat_line;
    return k;
}
static const ac_chat_class chat_class = make_class();

// By name, without blocking: the window keeps painting while the host is
// looked up, and every address is tried.
static void connect_chat()
{
    int r;

    app.chat = static_cast<ac_chat *>(std::calloc(1, sizeof(ac_chat)));
    if (!app.chat || ac_chat_init(app.chat, &chat_class, app.map) < 0) {
        std::fprintf(stderr, "qt_chat: out of memory\n");
        std::free(app.chat);
        app.chat = nullptr;
        app.exit_code = 1;
        return;
    }
    ac_chat_set_terminator(app.chat, "\n", 1);
    set_status("connecting...");
    if ((r = ac_connect_host(&app.chat->base, app.host, (int)app.port,
                             nullptr)) < 0)
        chat_error(&app.chat->base, -r, "connect");
    else if ((r = ex_tls_start(&app.tls, &app.chat->base, app.host)) < 0)
        chat_error(&app.chat->base, -r, "tls");
}

// ---- the window ----

static void on_send()
{
    if (!app.entry->text().isEmpty() && say(app.entry->text()))
        app.entry->clear();
}

static void quit_now()
{
    if (app.screenshot && app.window) {
        flush_pending(true);
        if (!app.window->grab().save(app.screenshot))
            std::fprintf(stderr, "qt_chat: cannot write %s\n", app.screenshot);
    }
    QApplication::quit();
}

static void build_window()
{
    app.window = new QWidget;
    app.window->setWindowTitle("libasyncore chat");
    app.window->resize(520, 360);
    auto *box = new QVBoxLayout(app.window);
    app.status = new QLabel;
    app.view = new QPlainTextEdit;
    app.view->setReadOnly(true);
    app.view->setMaximumBlockCount(VIEW_MAX_LINES);
    auto *row = new QHBoxLayout;
    app.entry = new QLineEdit;
    app.button = new QPushButton("Send");
    app.button->setEnabled(false);
    QObject::connect(app.button, &QPushButton::clicked, on_send);
    QObject::connect(app.entry, &QLineEdit::returnPressed, on_send);
    row->addWidget(app.entry);
    row->addWidget(app.button);
    box->addWidget(app.status);
    box->addWidget(app.view, 1);
    box->addLayout(row);
    app.flush = new QTimer(app.window);
    app.flush->setSingleShot(true);
    QObject::connect(app.flush, &QTimer::timeout, [] { flush_pending(); });
    app.window->show();
}

// SIGINT and SIGTERM end the loop: a signalfd the event loop watches.
static void quit_on_signals()
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        return;
    auto *n = new QSocketNotifier(fd, QSocketNotifier::Read, app.window);
    QObject::connect(n, &QSocketNotifier::activated, [] {
        QApplication::quit();
    });
}

static void parse(int argc, char **argv)
{
    char *end;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
            usage(stdout);
            std::exit(0);
        }
        if (!strcmp(a, "--tls")) {
            app.tls.client = true;
            continue;
        }
        if (i + 1 >= argc)
            bad_usage("unknown or incomplete argument '%s'", a);
        if (!std::strcmp(a, "--port")) {
            app.port = std::strtol(argv[++i], &end, 10);
            if (*end || app.port < 1 || app.port > 65535)
                bad_usage("--port: expected 1..65535, got '%s'", argv[i]);
        } else if (!std::strcmp(a, "--host")) {
            app.host = argv[++i];
        } else if (!std::strcmp(a, "--nick")) {
            app.nick = argv[++i];
        } else if (!std::strcmp(a, "--mode")) {
            app.mode = argv[++i];
            if (std::strcmp(app.mode, "notifier") && std::strcmp(app.mode, "idle"))
                bad_usage("--mode: expected notifier or idle, got '%s'",
                          app.mode);
        } else if (!std::strcmp(a, "--send")) {
            app.send = argv[++i];
        } else if (!std::strcmp(a, "--quit-after")) {
            app.quit_after = std::strtod(argv[++i], &end);
            if (*end || app.quit_after <= 0)
                bad_usage("--quit-after: expected seconds > 0, got '%s'",
                          argv[i]);
        } else if (!std::strcmp(a, "--budget")) {
            app.budget = std::strtol(argv[++i], &end, 10);
            if (*end || app.budget < 0 || app.budget > 60000)
                bad_usage("--budget: expected 0..60000 ms, got '%s'", argv[i]);
        } else if (!std::strcmp(a, "--screenshot")) {
            app.screenshot = argv[++i];
        } else if (!strcmp(a, "--ca")) {
            app.tls.ca = argv[++i];
        } else {
            bad_usage("unknown argument '%s'", a);
        }
    }
    if (app.port < 0)
        bad_usage("--port is required%s", "");
    if (!app.nick || !*app.nick || std::strchr(app.nick, '\n'))
        bad_usage("--nick is required (one line)%s", "");
    ex_prog = "qt_chat";
    if (app.tls.client || app.tls.ca)
        ex_tls_setup(&app.tls, false);
}

int main(int argc, char **argv)
{
    parse(argc, argv); // before QApplication, which takes Qt's own options
    QApplication qapp(argc, argv);
    QTimer idle, beat;
    QElapsedTimer since_beat;

    build_window();
    quit_on_signals();
    // The channel shares Qt's event loop: the adapter (or the idle way).
    app.map = ac_map_new(AC_BACKEND_DEFAULT);
    if (!std::strcmp(app.mode, "notifier")) {
        if (!(app.host_qt = ac_qt_attach(app.map, AC_QT_AUTO))) {
            std::fprintf(stderr, "qt_chat: cannot attach the map: %s\n",
                         ac_strerror(-errno));
            return 1;
        }
    } else {
        QObject::connect(&idle, &QTimer::timeout,
                         [] { ac_poll_once(app.map, 0); });
        idle.start(0);
    }
    // the work of one iteration stops at the budget: the window paints
    ac_map_set_budget(app.map, app.budget >= 0 ? (unsigned)app.budget
                                               : AC_BUDGET_GUI_MS);
    if (std::getenv("QT_CHAT_STATS")) // which part of a stall is the library's
        ac_map_set_debug(app.map, ac_map_get_debug(app.map) | AC_DEBUG_STATS, 0);
    connect_chat();
    if (app.quit_after > 0)
        QTimer::singleShot((int)(app.quit_after * 1000), quit_now);
    if (std::getenv("QT_CHAT_STATS")) {
        // a 10 ms heartbeat: how late it runs is how long the loop was stuck
        QObject::connect(&beat, &QTimer::timeout, [&] {
            qint64 late = since_beat.restart() - 10;
            if (late > app.max_stall_ms)
                app.max_stall_ms = late;
        });
        since_beat.start();
        beat.start(10);
    }
    qapp.exec();

    if (std::getenv("QT_CHAT_STATS")) {
        ac_map_stats st;
        std::fprintf(stderr, "qt_chat: max main-loop stall %lld ms\n",
                     (long long)app.max_stall_ms);
        if (ac_map_get_stats(app.map, &st) == 0)
            std::fprintf(stderr, "qt_chat: library loop delay p99 %.1f ms, "
                                 "max %.1f ms, %llu budget cuts\n",
                         st.delay_p99_ns / 1e6, st.delay_max_ns / 1e6,
                         (unsigned long long)st.budget_cuts);
    }
    idle.stop();
    ac_map_free(app.map); // closes the channel while the widgets exist
    ac_qt_detach(app.host_qt);
    delete app.window;
    ex_tls_done(&app.tls);
    return app.exit_code;
}
