// The examples' Qt loop (run_loop.h): a QCoreApplication for the process,
// made by the main thread when --loop qt is chosen, and a QEventLoop per
// thread that runs until its map is done.
#include "run_loop.h"

#include <asyncore/qt.h>

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include <cerrno>

extern "C" {

void ex_qt_app(void)
{
    static int argc = 1;
    static char name[] = "asyncore-example";
    static char *argv[] = {name, nullptr};

    if (!QCoreApplication::instance())
        new QCoreApplication(argc, argv); // lives as long as the process
}

int ex_run_qt(ac_map *map)
{
    QEventLoop loop; // in a worker thread, this makes its event dispatcher
    ac_qt *q = ac_qt_attach(map, AC_QT_AUTO);

    if (!q)
        return -errno;
    // a Qt loop runs until quit(): after every pass, is the map done?
    QObject::connect(QAbstractEventDispatcher::instance(),
                     &QAbstractEventDispatcher::awake, &loop, [&] {
                         if (!ac_map_alive(map))
                             loop.quit();
                     });
    if (ac_map_alive(map))
        loop.exec();
    return ac_qt_detach(q);
}

void ex_qt_idle(bool (*step)(void))
{
    QEventLoop loop;
    QTimer idle; // 0 ms: Qt's idle callback, once per pass

    QObject::connect(&idle, &QTimer::timeout, &loop, [&] {
        if (!step())
            loop.quit();
    });
    idle.start(0);
    loop.exec();
}

} // extern "C"
