// Every public header from C++17, warnings as errors, then an echo round
// trip: the library is usable from C++ as it is. (ev.h has a file of its
// own: libev's ev.h and libevent's headers cannot meet in one.)
#include <asyncore/asynchat.h>
#include <asyncore/asyncore.h>
#include <asyncore/event.h>
#include <asyncore/glib.h>
#include <asyncore/hostkit.h>
#include <asyncore/qt.h>
#include <asyncore/sdevent.h>
#include <asyncore/tls.h>
#include <asyncore/uv.h>

#include <cerrno>
#include <cstdio>

#include "roundtrip.h"

int main()
{
    ac_chat chat;
    ac_timer timer;

    if (ac_chat_init(&chat, nullptr, ac_map_default()) != 0 ||
        ac_timer_init(&timer, ac_map_default(), nullptr, nullptr) != -EINVAL)
        return 1;
    ac_close(&chat.base);
    if (ac_sdevent_attach(nullptr, nullptr, AC_SDEVENT_AUTO) != nullptr ||
        errno != EINVAL || ac_hostkit_run(nullptr, nullptr) != -EINVAL)
        return 1;
    // no QCoreApplication: this thread has no Qt event dispatcher
    if (ac_qt_attach(ac_map_default(), AC_QT_AUTO) != nullptr || errno != ESRCH)
        return 1;
    // a context needs OpenSSL; a server one needs a certificate
    char err[128];
    ac_tls_opts opts = {};
    if (ac_tls_ctx_new(AC_TLS_SERVER, &opts, err, sizeof(err)) != nullptr ||
        errno != EINVAL)
        return 1;
    if (roundtrip() != 0)
        return 1;
    std::printf("C++17: %s, every header, round trip ok\n", ac_version());
    return 0;
}
