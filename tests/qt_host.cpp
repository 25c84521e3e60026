// The harness's Qt host (helpers.c is C): one QCoreApplication for the
// process, the map attached to its event dispatcher, and the steps the
// other hosts have, made of QAbstractEventDispatcher::processEvents().
#include "qt_host.h"

#include <asyncore/qt.h>

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QTimer>

static QCoreApplication *app;
static ac_qt *att;

// A Qt loop runs until quit(): "until done" is checked after every pass,
// as a GUI program would from its own code.
void tq_run_until(int ms, const std::function<bool()> &done)
{
    QEventLoop loop;
    QTimer guard;

    guard.setSingleShot(true);
    QObject::connect(&guard, &QTimer::timeout, &loop, &QEventLoop::quit);
    guard.start(ms);
    QObject::connect(QAbstractEventDispatcher::instance(),
                     &QAbstractEventDispatcher::awake, &loop, [&] {
                         if (done())
                             loop.quit();
                     });
    if (!done())
        loop.exec();
}

extern "C" {

void tq_app(void)
{
    static int argc = 1;
    static char name[] = "asyncore-test";
    static char *argv[] = {name, nullptr};

    if (!app)
        app = new QCoreApplication(argc, argv);
}

void tq_app_destroy(void)
{
    delete app;
    app = nullptr;
}

ac_qt *tq_attach(ac_map *map, bool backend_fd)
{
    tq_app();
    att = ac_qt_attach(map, backend_fd ? AC_QT_BACKEND_FD : AC_QT_PER_FD);
    return att;
}

ac_qt *tq_current(void)
{
    return att;
}

int tq_done(void)
{
    int r = ac_qt_detach(att);
    att = nullptr;
    return r;
}

/* One pass: processEvents() waiting (bounded by a timer of `ms`) or not. */
static void pass(int ms)
{
    QAbstractEventDispatcher *d = QAbstractEventDispatcher::instance();

    if (ms == 0) {
        d->processEvents(QEventLoop::AllEvents);
        return;
    }
    QTimer guard;
    if (ms > 0) {
        guard.setSingleShot(true);
        guard.setTimerType(Qt::PreciseTimer);
        guard.start(ms);
    }
    d->processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents);
}

int tq_step(int ms)
{
    unsigned long before = ac_qt_events(att);

    pass(ms);
    return (int)(ac_qt_events(att) - before);
}

void tq_run(ac_map *map, int ms)
{
    tq_run_until(ms, [map] { return !ac_map_alive(map); });
}

} // extern "C"
