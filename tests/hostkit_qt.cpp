// The Qt hosts of test_hostkit: the application's event dispatcher (GLib
// or, with QT_NO_GLIB=1, Qt's own), stepped as a Qt program steps it.
#include "hostkit_qt.h"

#include <asyncore/qt.h>

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>
#include <cerrno>

namespace {

QCoreApplication *app;
const ac_qt_mode modes[2] = {AC_QT_PER_FD, AC_QT_BACKEND_FD};

struct qt_host {
    ac_qt *q = nullptr;
    QObject ctx;
    unsigned long waits = 0; // passes that were going to wait
};

int attach(void *data, ac_map *map, void **host)
{
    static int argc = 1;
    static char name[] = "test_hostkit";
    static char *argv[] = {name, nullptr};

    if (!app)
        app = new QCoreApplication(argc, argv);
    qt_host *h = new qt_host;
    h->q = ac_qt_attach(map, *static_cast<const ac_qt_mode *>(data));
    if (!h->q) {
        int err = errno;
        delete h;
        return -err;
    }
    // an iteration is a pass of the dispatcher that waits: aboutToBlock
    // comes once per such pass on both of Qt's dispatchers
    QObject::connect(QAbstractEventDispatcher::instance(),
                     &QAbstractEventDispatcher::aboutToBlock, &h->ctx,
                     [h] { h->waits++; });
    *host = h;
    return 0;
}

int step(void *host, int timeout_ms)
{
    QEventLoop loop;
    QTimer guard;

    (void)host;
    if (timeout_ms == 0) {
        loop.processEvents(QEventLoop::AllEvents);
        return 0;
    }
    if (timeout_ms > 0) {
        guard.setSingleShot(true);
        guard.setTimerType(Qt::PreciseTimer);
        guard.start(timeout_ms);
    }
    loop.processEvents(QEventLoop::WaitForMoreEvents);
    return 0;
}

int detach(void *host)
{
    qt_host *h = static_cast<qt_host *>(host);
    int r = ac_qt_detach(h->q);

    h->q = nullptr;
    return r;
}

void teardown(void *host)
{
    qt_host *h = static_cast<qt_host *>(host);

    if (h->q)
        ac_qt_detach(h->q);
    delete h;
}

unsigned long iterations(void *host)
{
    return static_cast<qt_host *>(host)->waits;
}

} // namespace

extern "C" ac_hostkit_host hk_qt_host(bool backend_fd)
{
    ac_hostkit_host h = {};

    h.name = backend_fd ? "qt-backend-fd" : "qt";
    h.backend = backend_fd ? AC_BACKEND_EPOLL : AC_BACKEND_DEFAULT;
    h.nested = true;
    h.data = const_cast<ac_qt_mode *>(&modes[backend_fd ? 1 : 0]);
    h.attach = attach;
    h.step = step;
    h.detach = detach;
    h.teardown = teardown;
    h.iterations = iterations;
    return h;
}
