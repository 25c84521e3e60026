/**
 * @file
 * qt.h - run a map's channels inside a Qt 6 event loop.
 *
 * Link with `pkg-config asyncore-qt` (the library is C++17 on QtCore; this
 * header is plain C and needs no Qt header, so C and C++ programs alike can
 * attach a map). Uses only the public hook contract of asyncore.h.
 *
 * The map is attached to the event dispatcher of the calling thread: the
 * main thread's exists once the QCoreApplication (or QApplication) does; a
 * QThread's once it runs; in any other thread, construct a QEventLoop
 * first. Every call below must come from that thread.
 *
 * How the map runs: the map's refresh (ac_map_refresh(): pulled
 * predicates and interest, nothing else) runs once per pass of the event
 * dispatcher, before its wait: on the aboutToBlock signal, or on awake for
 * a pass that does not wait (so a loop of non-blocking processEvents()
 * calls works too). Qt's Unix dispatcher (QT_NO_GLIB=1) delivers posted
 * events between the two signals, so there it refreshes at both. A precise
 * single-shot QTimer armed for ac_map_timeout() (the next timer, 0 while
 * readiness is pending) ends the wait, and its timeout runs what is due
 * (ac_map_run_due()) in that same pass: handlers, timers and calls all run
 * in the pass whose wait they ended, so
 * `while (!done) loop.processEvents(QEventLoop::WaitForMoreEvents);`
 * returns once any of them sets `done`. Readiness comes from a QSocketNotifier per
 * channel and direction (PER_FD; a notifier is created the first time its
 * direction is wanted, disabled when it no longer is, disabled before the
 * descriptor closes and deleted at the next refresh, never inside its own
 * signal) or from one notifier on the map's
 * epoll descriptor (BACKEND_FD, the default on epoll maps). A nested event
 * loop run from one of the map's handlers (a modal dialog) does not
 * dispatch the map: its notifiers are held until the handler returns.
 *
 * Lifetimes: freeing the map while attached is safe (ac_qt_map() becomes
 * NULL; ac_qt_detach() then only frees). So is destroying the
 * QCoreApplication first: the attachments of the application's thread are
 * detached as it goes (the map keeps its channels and its own backend
 * waits for them again), and ac_qt_map() becomes NULL. In other threads,
 * detach or free the map before the thread's event dispatcher goes.
 */
#ifndef ASYNCORE_QT_H
#define ASYNCORE_QT_H

#include <asyncore/asyncore.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A map's attachment to a Qt event dispatcher (opaque). */
typedef struct ac_qt ac_qt;

/** How the adapter waits for the map's channels. */
typedef enum {
    AC_QT_AUTO = 0,   /**< BACKEND_FD on epoll maps, else PER_FD */
    AC_QT_PER_FD,     /**< QSocketNotifiers per channel and direction */
    AC_QT_BACKEND_FD  /**< one QSocketNotifier on the map's epoll fd */
} ac_qt_mode;

/** Attach `map` to the calling thread's Qt event dispatcher (the map must
 * have no other host). NULL with errno: EINVAL (NULL map, bad mode), EBUSY
 * (the map has a host, or this is one of its handlers), EOPNOTSUPP
 * (BACKEND_FD off epoll), ESRCH (this thread has no Qt event dispatcher:
 * create the QCoreApplication, or a QEventLoop in this thread, first),
 * ENOMEM. */
AC_EXTERN ac_qt *ac_qt_attach(ac_map *map, ac_qt_mode mode);

/** Detach and free the attachment: the map's channels stay open (its own
 * backend waits for them again). Safe after the map was freed or the
 * application was destroyed. -EBUSY from a handler of the map, -EINVAL for
 * NULL. */
AC_EXTERN int ac_qt_detach(ac_qt *q);

/** Refresh now and re-arm the deadline (not needed in normal use: every
 * wait is preceded by a refresh). Does nothing inside the map's work. */
AC_EXTERN void ac_qt_refresh(ac_qt *q);

/** The attached map: NULL once it was freed or the application went. */
AC_EXTERN ac_map *ac_qt_map(const ac_qt *q);
/** The mode in use (never AUTO). */
AC_EXTERN ac_qt_mode ac_qt_get_mode(const ac_qt *q);
/** Refreshes made so far (a test counter). */
AC_EXTERN unsigned long ac_qt_refreshes(const ac_qt *q);
/** Readiness notifications delivered so far (a test counter). */
AC_EXTERN unsigned long ac_qt_events(const ac_qt *q);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCORE_QT_H */
