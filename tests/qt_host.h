/* The harness's Qt host, callable from C (qt_host.cpp). */
#ifndef AC_TEST_QT_HOST_H
#define AC_TEST_QT_HOST_H

#include <asyncore/qt.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

void tq_app(void);          /* the process's QCoreApplication, made once */
void tq_app_destroy(void);  /* destroy it (the next tq_app makes another) */
ac_qt *tq_attach(ac_map *map, bool backend_fd);
ac_qt *tq_current(void);
int tq_done(void);          /* detach the current attachment */
int tq_step(int ms);        /* one processEvents pass; events delivered */
void tq_run(ac_map *map, int ms); /* a QEventLoop until the map is done */

#ifdef __cplusplus
}

#include <functional>
/* The thread's event loop for `ms`, or until `done` says so. */
void tq_run_until(int ms, const std::function<bool()> &done);
#endif

#endif
