// The Qt adapter's own contract (C-100): teardown in every order (the
// adapter first, the QCoreApplication first; the map first is a host kit
// case, as are the other generic ones), no wake-ups while
// a thousand channels idle, a host swap mid-stream without losing a byte,
// a nested event loop inside a handler, and a map in a worker thread.
// Every core test also runs on this adapter (the "qt" and "qt-backend-fd"
// suites of the other files); meson runs this file on Qt's GLib-based
// dispatcher and again on its Unix one (QT_NO_GLIB=1).
#include "helpers.h"
#include "qt_host.h"

#include <asyncore/qt.h>

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include <atomic>
#include <vector>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unistd.h>

static const ac_qt_mode all_modes[] = {AC_QT_PER_FD, AC_QT_BACKEND_FD};
// on the map's descriptor only where the build has epoll
static const std::vector<ac_qt_mode> modes(all_modes, all_modes + T_HOST_MODES);

static long long ms_now()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
        .count();
}

static void run_for(int ms)
{
    tq_run_until(ms, [] { return false; });
}

// An epoll map attached in `mode`, one channel on a socketpair (the other
// end in sv[1]).
struct fixture {
    ac_map *map;
    ac_qt *q;
    tchan *t;
};

static fixture attached(ac_qt_mode mode, int sv[2])
{
    fixture f;

    tq_app();
    f.map = ac_map_new(T_FD_BACKEND);
    f.q = ac_qt_attach(f.map, mode);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.q);
    CU_ASSERT_EQUAL(ac_qt_get_mode(f.q), mode);
    f.t = tchan_new(f.map);
    t_socketpair(sv);
    CU_ASSERT_EQUAL(ac_set_socket(&f.t->d, sv[0]), 0);
    QCoreApplication::processEvents();
    return f;
}

// Detached with a channel open: the map's own backend takes over.
static void test_detach_with_open_channels()
{
    for (ac_qt_mode mode : modes) {
        int sv[2];
        fixture f = attached(mode, sv);

        CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
        CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
        run_for(50); // nothing of ours runs
        CU_ASSERT_EQUAL(f.t->n_read, 0);
        CU_ASSERT_EQUAL(ac_poll_once(f.map, 1000), 1);
        CU_ASSERT_EQUAL(f.t->n_read, 1);
        ac_close(&f.t->d);
        close(sv[1]);
        CU_ASSERT_EQUAL(ac_map_free(f.map), 0);
    }
}

// The QCoreApplication destroyed first: the map is detached as it goes and
// keeps its channel; a new application can take the map again.
static void test_application_destroyed_first()
{
    for (ac_qt_mode mode : modes) {
        int sv[2];
        fixture f = attached(mode, sv);

        CU_ASSERT_EQUAL(write(sv[1], "a", 1), 1);
        tq_run_until(2000, [&] { return f.t->n_read == 1; });
        CU_ASSERT_EQUAL(f.t->n_read, 1);
        tq_app_destroy();
        CU_ASSERT_PTR_NULL(ac_qt_map(f.q));
        CU_ASSERT_EQUAL(write(sv[1], "b", 1), 1);
        CU_ASSERT_EQUAL(ac_poll_once(f.map, 1000), 1);
        CU_ASSERT_EQUAL(f.t->n_read, 2);
        CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
        tq_app();
        f.q = ac_qt_attach(f.map, mode);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f.q);
        CU_ASSERT_EQUAL(write(sv[1], "c", 1), 1);
        tq_run_until(2000, [&] { return f.t->n_read == 3; });
        CU_ASSERT_EQUAL(f.t->n_read, 3);
        CU_ASSERT_EQUAL(memcmp(f.t->in, "abc", 3), 0);
        ac_close(&f.t->d);
        close(sv[1]);
        CU_ASSERT_EQUAL(ac_map_free(f.map), 0);
        CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
    }
}

// A thousand idle channels do not wake the loop; then each reads a byte
// and EOF, and the map empties.
static void test_thousand_idle_channels()
{
    for (ac_qt_mode mode : modes) {
        ac_map *map = ac_map_new(T_FD_BACKEND);
        ac_qt *q = ac_qt_attach(map, mode);
        int peers[1000], before = t_destroyed;
        unsigned long refreshes;
        long long t0;

        CU_ASSERT_PTR_NOT_NULL_FATAL(q);
        for (int &peer : peers) {
            int sv[2];
            tchan *t = tchan_new(map);
            t_socketpair(sv);
            CU_ASSERT_EQUAL_FATAL(ac_set_interest(&t->d, AC_READ), 0);
            CU_ASSERT_EQUAL_FATAL(ac_set_socket(&t->d, sv[0]), 0);
            peer = sv[1];
        }
        QCoreApplication::processEvents();
        refreshes = ac_qt_refreshes(q);
        run_for(300);
        // the guard timer's own pass may refresh once; nothing else wakes
        CU_ASSERT(ac_qt_refreshes(q) - refreshes <= 2);
        CU_ASSERT_EQUAL(ac_qt_events(q), 0);
        for (int peer : peers) {
            CU_ASSERT_EQUAL(write(peer, "x", 1), 1);
            close(peer);
        }
        t0 = ms_now();
        tq_run_until(5000, [&] { return ac_map_count(map) == 0; });
        CU_ASSERT(ms_now() - t0 < 5000);
        CU_ASSERT_EQUAL(ac_map_count(map), 0);
        CU_ASSERT_EQUAL(t_destroyed, before + 1000);
        CU_ASSERT_EQUAL(ac_qt_detach(q), 0);
        CU_ASSERT_EQUAL(ac_map_free(map), 0);
    }
}

// Mid-stream the map moves from Qt (per fd) to its own loop, to Qt on the
// epoll fd and back: every byte arrives once and in order.
static void test_host_swap_mid_stream()
{
    int sv[2];
    fixture f = attached(AC_QT_PER_FD, sv);
    static char sent[60000];
    size_t off = 0;

    for (size_t i = 0; i < sizeof(sent); i++)
        sent[i] = (char)('a' + (i * 7 + i / 251) % 26);
    for (int phase = 0; phase < 4; phase++) {
        size_t end = off + sizeof(sent) / 4;
        while (off < end) {
            ssize_t n = write(sv[1], sent + off, end - off);
            CU_ASSERT_FATAL(n > 0);
            off += (size_t)n;
        }
        if (phase == 1) {
            long long stop = ms_now() + 5000;
            while (f.t->in_len < off && ms_now() < stop)
                ac_poll_once(f.map, 10);
        } else {
            tq_run_until(5000, [&] { return f.t->in_len >= off; });
        }
        CU_ASSERT_EQUAL(f.t->in_len, off);
        if (phase == 0) {
            CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
            f.q = nullptr;
        } else if (phase == 1) {
            // on the map's descriptor where the build has epoll
            f.q = ac_qt_attach(f.map, modes.back());
            CU_ASSERT_PTR_NOT_NULL_FATAL(f.q);
        } else if (phase == 2) {
            CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
            f.q = ac_qt_attach(f.map, AC_QT_PER_FD);
            CU_ASSERT_PTR_NOT_NULL_FATAL(f.q);
        }
    }
    CU_ASSERT_EQUAL(memcmp(f.t->in, sent, sizeof(sent)), 0);
    ac_close(&f.t->d);
    close(sv[1]);
    CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
    CU_ASSERT_EQUAL(ac_map_free(f.map), 0);
}

// A handler runs a nested event loop (a modal dialog would): the map is
// not dispatched inside it, nothing spins, and what arrived meanwhile is
// delivered once the handler returns — unless, before it returns, the
// waiting channel closed or stopped wanting to read.
enum nested_after { KEEP, CLOSE, DROP };
static int nested_passes;
static ac_qt *nested_q;
static nested_after after;
static void run_nested(tchan *t)
{
    char c;
    QEventLoop inner;
    QTimer end;
    auto counter = QObject::connect(
        QAbstractEventDispatcher::instance(),
        &QAbstractEventDispatcher::awake, [] { nested_passes++; });

    CU_ASSERT_EQUAL(ac_recv(&t->d, &c, 1), 1);
    CU_ASSERT_EQUAL(write((int)(intptr_t)t->user, "y", 1), 1);
    end.setSingleShot(true);
    QObject::connect(&end, &QTimer::timeout, &inner, &QEventLoop::quit);
    end.start(200);
    inner.exec();
    QObject::disconnect(counter);
    CU_ASSERT_EQUAL(t->peer->n_read, 0); // held while nested
    CU_ASSERT_EQUAL(ac_qt_detach(nested_q), -EBUSY);
    if (after == CLOSE)
        ac_close(&t->peer->d);
    else if (after == DROP)
        ac_set_interest(&t->peer->d, 0);
}

// Qt's warnings (a notifier on a closed descriptor is one), counted.
static int qt_warnings;
static void count_warnings(QtMsgType type, const QMessageLogContext &,
                           const QString &msg)
{
    if (type != QtDebugMsg && type != QtInfoMsg) {
        qt_warnings++;
        std::fprintf(stderr, "qt: %s\n", msg.toUtf8().constData());
    }
}

static void test_nested_loop_in_handler()
{
    for (nested_after a : {KEEP, CLOSE, DROP})
        for (ac_qt_mode mode : modes) {
            int sv[2], sw[2];
            fixture f = attached(mode, sv);
            tchan *other = tchan_new(f.map);

            t_socketpair(sw);
            CU_ASSERT_EQUAL(ac_set_socket(&other->d, sw[0]), 0);
            CU_ASSERT_EQUAL(ac_set_interest(&other->d, AC_READ), 0);
            other->keep_memory = true; /* read after close */
            f.t->on_read = run_nested;
            f.t->user = (void *)(intptr_t)sw[1];
            f.t->peer = other;
            nested_q = f.q;
            nested_passes = 0;
            after = a;
            qt_warnings = 0;
            CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
            tq_run_until(a == KEEP ? 3000 : 300,
                         [&] { return other->n_read > 0; });
            CU_ASSERT_EQUAL(f.t->n_read, 1);
            if (a == KEEP) {
                CU_ASSERT_EQUAL(other->n_read, 1);
                CU_ASSERT_EQUAL(other->in[0], 'y');
            } else {
                CU_ASSERT_EQUAL(other->n_read, 0);
            }
            CU_ASSERT_EQUAL(qt_warnings, 0);
            // 200 ms nested: a spinning notifier makes thousands of passes
            CU_ASSERT(nested_passes < 50);
            // and afterwards, nothing is left on (a closed descriptor
            // polls as always ready)
            int passes = 0;
            auto counter = QObject::connect(
                QAbstractEventDispatcher::instance(),
                &QAbstractEventDispatcher::awake, [&] { passes++; });
            run_for(200);
            QObject::disconnect(counter);
            CU_ASSERT(passes < 50);
            ac_close_all(f.map, true);
            close(sv[1]);
            close(sw[1]);
            std::free(other);
            CU_ASSERT_EQUAL(ac_qt_detach(f.q), 0);
            CU_ASSERT_EQUAL(ac_map_free(f.map), 0);
        }
}

// A map in a worker thread with its own QEventLoop: attached there, told
// to stop from the main thread with ac_map_call.
static void quit_loop(void *data)
{
    static_cast<QEventLoop *>(data)->quit();
}

static void test_worker_thread()
{
    ac_map *map = ac_map_new(T_FD_BACKEND);
    QEventLoop *loop = nullptr;
    bool attached_there = false, ended = false;
    std::atomic<bool> ready{false};

    tq_app();

    std::thread worker([&] {
        QEventLoop l; // makes this thread's event dispatcher
        ac_qt *q = ac_qt_attach(map, AC_QT_AUTO);
        attached_there = q != nullptr;
        loop = &l;
        ready = true;
        if (q) {
            l.exec();
            ended = true;
            ac_qt_detach(q);
        }
    });
    while (!ready)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CU_ASSERT_TRUE(attached_there);
    if (attached_there)
        CU_ASSERT_EQUAL(ac_map_call(map, quit_loop, loop), 0);
    worker.join();
    CU_ASSERT_TRUE(ended);
    CU_ASSERT_EQUAL(ac_map_free(map), 0);
}

static void test_errors()
{
    ac_map *po = ac_map_new(AC_BACKEND_POLL), *ep = ac_map_new(T_FD_BACKEND);
    ac_qt *q;
    int no_dispatcher = 0;

    tq_app();
    CU_ASSERT_PTR_NULL(ac_qt_attach(nullptr, AC_QT_AUTO));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NULL(ac_qt_attach(po, (ac_qt_mode)7));
    CU_ASSERT_EQUAL(errno, EINVAL);
    CU_ASSERT_PTR_NULL(ac_qt_attach(po, AC_QT_BACKEND_FD));
    CU_ASSERT_EQUAL(errno, EOPNOTSUPP);
    q = ac_qt_attach(po, AC_QT_AUTO); // a poll map: per fd
    CU_ASSERT_EQUAL(ac_qt_get_mode(q), AC_QT_PER_FD);
    CU_ASSERT_PTR_NULL(ac_qt_attach(po, AC_QT_PER_FD));
    CU_ASSERT_EQUAL(errno, EBUSY); // one host at a time
    CU_ASSERT_EQUAL(ac_qt_detach(q), 0);
    q = ac_qt_attach(ep, AC_QT_AUTO);
    CU_ASSERT_EQUAL(ac_qt_get_mode(q), AC_HAVE_EPOLL ? AC_QT_BACKEND_FD : AC_QT_PER_FD);
    CU_ASSERT_EQUAL(ac_qt_detach(q), 0);
    CU_ASSERT_EQUAL(ac_qt_detach(nullptr), -EINVAL);
    CU_ASSERT_PTR_NULL(ac_qt_map(nullptr));
    // a thread without a Qt event dispatcher
    std::thread([&] {
        if (!ac_qt_attach(ep, AC_QT_AUTO))
            no_dispatcher = errno;
    }).join();
    CU_ASSERT_EQUAL(no_dispatcher, ESRCH);
    ac_map_free(po);
    ac_map_free(ep);
}

static CU_TestInfo tests[] = {
    {"detach_with_open_channels", test_detach_with_open_channels},
    {"application_destroyed_first", test_application_destroyed_first},
    {"thousand_idle_channels", test_thousand_idle_channels},
    {"host_swap_mid_stream", test_host_swap_mid_stream},
    {"nested_loop_in_handler", test_nested_loop_in_handler},
    {"worker_thread", test_worker_thread},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};

static void reg()
{
    t_register_modes("qt", tests, T_ONCE);
}

int main(int argc, char **argv)
{
    qInstallMessageHandler(count_warnings);
    return t_main(argc, argv, reg);
}
