// Qt adapter: QSocketNotifiers per channel or one on the map's epoll fd,
// the refresh on the dispatcher's aboutToBlock/awake signals, a QTimer for
// the map's deadline (qt.h). No Q_OBJECT: functor connections need no moc.
#include <asyncore/qt.h>

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QObject>
#include <QSocketNotifier>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <new>
#include <vector>

namespace {

const QSocketNotifier::Type kinds[3] = {
    QSocketNotifier::Read, QSocketNotifier::Write, QSocketNotifier::Exception};
const unsigned bits[3] = {AC_IN, AC_OUT, AC_PRI};

struct watch {
    QSocketNotifier *n[3] = {};
};

} // namespace

struct ac_qt {
    ac_map *map = nullptr;
    ac_qt_mode mode = AC_QT_AUTO;
    QThread *thread = nullptr;
    QObject *ctx = nullptr;  // context of every connection; owns the timer
    QTimer *deadline = nullptr;
    qint64 armed_at = 0;  // when the deadline timer fires (ms, monotonic)
    QSocketNotifier *backend = nullptr;
    int depth = 0;         // inside the map's work (a refresh, a dispatch)
    bool glib = false;     // the dispatcher emits awake after its wait too
    bool blocked = false;  // the last signal was aboutToBlock
    bool due_held = false; // the deadline fired inside a nested loop
    // notifiers of closed channels, disabled, waiting for a refresh to be
    // deleted; notifiers that fired inside a nested loop, disabled, waiting
    // for the outer dispatch to return
    std::vector<QSocketNotifier *> graveyard, held;
    unsigned long refreshes = 0, events = 0;
};

namespace {

// The application thread's attachments, detached when the application goes
// (its post routine runs while the event dispatcher still exists).
std::mutex registry_lock;
std::vector<ac_qt *> registry;
bool routine_added;

// A held notifier leaves the list when its channel no longer wants it
// (or closes): the outer dispatch must not enable it again.
bool unhold(ac_qt *q, QSocketNotifier *n)
{
    auto it = std::find(q->held.begin(), q->held.end(), n);

    if (it == q->held.end())
        return false;
    q->held.erase(it);
    return true;
}

void bury(ac_qt *q, QSocketNotifier *n)
{
    n->setEnabled(false);  // the fd may close right after this
    unhold(q, n);
    if (q->depth)
        q->graveyard.push_back(n);
    else
        delete n;
}

// Restarting a QTimer re-registers it with the dispatcher: done only when
// the map's deadline moved, not at every refresh.
void arm(ac_qt *q)
{
    int due = ac_map_timeout(q->map);

    if (due < 0) {
        q->deadline->stop();
        return;
    }
    qint64 at = QDeadlineTimer::current(Qt::PreciseTimer).deadline() + due;
    if (q->deadline->isActive() && at == q->armed_at)
        return;
    q->armed_at = at;
    q->deadline->start(due);
}

// Notifiers of closed channels are deleted here, at a refresh, never
// inside a dispatch: one of them may be the notifier now emitting.
void bury_all(ac_qt *q)
{
    for (QSocketNotifier *n : q->graveyard)
        delete n;
    q->graveyard.clear();
}

// Readiness that came inside a nested loop can be taken now; a deadline
// that came then fires again at once.
void release_held(ac_qt *q)
{
    for (QSocketNotifier *n : q->held)
        n->setEnabled(true);
    q->held.clear();
    if (q->due_held && q->deadline) {
        q->due_held = false;
        q->armed_at = 0;
        q->deadline->start(0);
    }
}

// Run `f` as the map's work: a nested event loop started from a handler
// inside it finds depth > 0 and holds the notifiers that fire.
template <typename F> void guarded(ac_qt *q, F f)
{
    q->depth++;
    f();
    q->depth--;
    if (!q->depth)
        release_held(q);
}

void refresh(ac_qt *q)
{
    if (!q->map || q->depth)
        return;  // gone, or a nested loop inside one of the map's handlers
    bool alive = ac_map_alive(q->map);

    bury_all(q);
    guarded(q, [q] {
        if (ac_map_refresh(q->map) >= 0)
            q->refreshes++;
    });
    if (!q->map)  // a handler freed the map
        return;
    arm(q);
    // the refresh finished the map's work: the wait this came before must
    // not block, so the program's loop gets to see it (as the other hosts)
    if (alive && !ac_map_alive(q->map))
        if (QAbstractEventDispatcher *d = QAbstractEventDispatcher::instance())
            d->wakeUp();
}

template <typename F> void dispatching(ac_qt *q, QSocketNotifier *n, F run)
{
    if (!q->map)
        return;
    if (q->depth) {  // a nested event loop: hold the notifier, not spin
        n->setEnabled(false);
        q->held.emplace_back(n);
        return;
    }
    q->events++;
    guarded(q, run);
}

void on_activated(ac_qt *q, QSocketNotifier *n, int fd, unsigned bit)
{
    dispatching(q, n, [&] { ac_map_dispatch(q->map, fd, bit); });
}

void on_backend(ac_qt *q)
{
    dispatching(q, q->backend, [&] { ac_map_dispatch_ready(q->map); });
}

// The map's deadline ended the wait (or something was due at once): what
// is due runs here, in the pass it woke.
void on_deadline(ac_qt *q)
{
    if (!q->map)
        return;
    if (q->depth) {  // a nested event loop: fire again after the handler
        q->due_held = true;
        return;
    }
    guarded(q, [q] { ac_map_run_due(q->map); });
    // woken a hair early (the deadline moved by less than the ms the timer
    // counts in): wait for the rest in the next pass
    if (q->map && !q->deadline->isActive() && ac_map_timeout(q->map) > 0)
        arm(q);
}

int on_watch(void *data, ac_dispatcher *d, int fd, unsigned events)
{
    ac_qt *q = static_cast<ac_qt *>(data);
    watch *w = static_cast<watch *>(ac_get_host_data(d));

    if (!w) {
        if (!(w = new (std::nothrow) watch))
            return -ENOMEM;
        ac_set_host_data(d, w);
    }
    for (int i = 0; i < 3; i++) {
        bool want = (events & bits[i]) != 0;
        QSocketNotifier *n = w->n[i];

        if (!n && want) {
            n = w->n[i] = new (std::nothrow) QSocketNotifier(fd, kinds[i]);
            if (!n)
                return -ENOMEM;
            unsigned bit = bits[i];
            QObject::connect(n, &QSocketNotifier::activated, q->ctx,
                             [q, n, fd, bit] { on_activated(q, n, fd, bit); });
        } else if (n) {
            // a held notifier stays off until the outer dispatch returns,
            // and is not turned on then if its direction is no longer wanted
            bool held = want ? std::find(q->held.begin(), q->held.end(), n) !=
                                   q->held.end()
                             : unhold(q, n);
            if (!held && n->isEnabled() != want)
                n->setEnabled(want);
        }
    }
    return 0;
}

void on_unwatch(void *data, ac_dispatcher *d, int fd)
{
    ac_qt *q = static_cast<ac_qt *>(data);
    watch *w = static_cast<watch *>(ac_get_host_data(d));

    (void)fd;
    if (!w)
        return;
    ac_set_host_data(d, nullptr);
    for (QSocketNotifier *n : w->n)
        if (n)
            bury(q, n);
    delete w;
}

void on_detached(void *data)
{
    ac_qt *q = static_cast<ac_qt *>(data);

    q->map = nullptr;
    if (q->backend) {  // the map's epoll fd closes with the map
        q->backend->setEnabled(false);
        unhold(q, q->backend);
    }
}

// Drop everything that lives in the event dispatcher: notifiers, the timer,
// the connections. The map is unhooked first when it still exists.
void release(ac_qt *q)
{
    if (q->map)
        ac_map_set_hooks(q->map, nullptr);  // unwatch all, then detached
    q->map = nullptr;
    q->depth = 0;
    bury_all(q);
    q->held.clear();
    delete q->backend;
    q->backend = nullptr;
    delete q->ctx;  // the timer with it, and every connection
    q->ctx = nullptr;
}

void application_gone()
{
    std::lock_guard<std::mutex> g(registry_lock);
    routine_added = false;
    for (ac_qt *q : registry)
        if (q->ctx && q->thread == QThread::currentThread())
            release(q);
}

void enroll(ac_qt *q)
{
    std::lock_guard<std::mutex> g(registry_lock);
    registry.push_back(q);
    if (!routine_added && QCoreApplication::instance() &&
        QCoreApplication::instance()->thread() == q->thread) {
        qAddPostRoutine(application_gone);
        routine_added = true;
    }
}

void withdraw(ac_qt *q)
{
    std::lock_guard<std::mutex> g(registry_lock);
    registry.erase(std::remove(registry.begin(), registry.end(), q),
                   registry.end());
}

int setup(ac_qt *q, QAbstractEventDispatcher *disp, int efd)
{
    q->ctx = new QObject;
    q->deadline = new QTimer(q->ctx);
    q->deadline->setSingleShot(true);
    q->deadline->setTimerType(Qt::PreciseTimer);
    QObject::connect(q->deadline, &QTimer::timeout, q->ctx,
                     [q] { on_deadline(q); });
    // One refresh per pass of the dispatcher, before its wait: the GLib
    // dispatcher (Qt's default on Linux) emits aboutToBlock before a
    // waiting pass and awake at the start of a non-waiting one and after
    // the wait; the Unix one emits awake at the start of every pass and
    // aboutToBlock before the wait (events posted in between may change
    // what a channel wants, so it refreshes at both). A refresh only
    // computes interest and arms the deadline timer, whose timeout runs
    // what is due in the pass it ends.
    q->glib = disp->inherits("QEventDispatcherGlib");
    QObject::connect(disp, &QAbstractEventDispatcher::aboutToBlock, q->ctx,
                     [q] {
                         q->blocked = true;
                         refresh(q);
                     });
    QObject::connect(disp, &QAbstractEventDispatcher::awake, q->ctx, [q] {
        bool after_wait = q->glib && q->blocked;

        q->blocked = false;
        if (!after_wait)
            refresh(q);
    });
    if (q->mode == AC_QT_BACKEND_FD) {
        q->backend = new QSocketNotifier(efd, QSocketNotifier::Read);
        QObject::connect(q->backend, &QSocketNotifier::activated, q->ctx,
                         [q] { on_backend(q); });
    }
    ac_hooks hooks = {};
    hooks.data = q;
    hooks.detached = on_detached;
    if (q->mode == AC_QT_PER_FD) {
        hooks.watch = on_watch;
        hooks.unwatch = on_unwatch;
    }
    return ac_map_set_hooks(q->map, &hooks);
}

} // namespace

extern "C" {

ac_qt *ac_qt_attach(ac_map *map, ac_qt_mode mode)
{
    QAbstractEventDispatcher *disp;
    int efd = map ? ac_map_backend_fd(map) : -1, r;
    ac_qt *q;

    if (!map || (unsigned)mode > AC_QT_BACKEND_FD) {
        errno = EINVAL;
        return nullptr;
    }
    if (mode == AC_QT_AUTO)
        mode = efd >= 0 ? AC_QT_BACKEND_FD : AC_QT_PER_FD;
    if (mode == AC_QT_BACKEND_FD && efd < 0) {
        errno = EOPNOTSUPP;
        return nullptr;
    }
    if (!(disp = QAbstractEventDispatcher::instance())) {
        errno = ESRCH;
        return nullptr;
    }
    if (!(q = new (std::nothrow) ac_qt)) {
        errno = ENOMEM;
        return nullptr;
    }
    q->map = map;
    q->mode = mode;
    q->thread = QThread::currentThread();
    try {
        r = setup(q, disp, efd);
    } catch (const std::bad_alloc &) {
        r = -ENOMEM;
    }
    if (r < 0) {
        q->map = nullptr;  // the hooks were not installed
        release(q);
        delete q;
        errno = -r;
        return nullptr;
    }
    if (ac_map_get_budget(map) == 0)  // a GUI's frame: ac_map_set_budget
        ac_map_set_budget(map, AC_BUDGET_GUI_MS);
    enroll(q);
    return q;
}

int ac_qt_detach(ac_qt *q)
{
    if (!q)
        return -EINVAL;
    if (q->depth)
        return -EBUSY;
    if (q->map) {
        int r = ac_map_set_hooks(q->map, nullptr);
        if (r < 0)
            return r;  // from another handler of the map
    }
    withdraw(q);
    release(q);
    delete q;
    return 0;
}

void ac_qt_refresh(ac_qt *q)
{
    if (q)
        refresh(q);
}

ac_map *ac_qt_map(const ac_qt *q)
{
    return q ? q->map : nullptr;
}

ac_qt_mode ac_qt_get_mode(const ac_qt *q)
{
    return q ? q->mode : AC_QT_AUTO;
}

unsigned long ac_qt_refreshes(const ac_qt *q)
{
    return q ? q->refreshes : 0;
}

unsigned long ac_qt_events(const ac_qt *q)
{
    return q ? q->events : 0;
}

} // extern "C"
