/* The Qt hosts of test_hostkit (hostkit_qt.cpp): a QEventLoop's
 * processEvents(WaitForMoreEvents) as the step. */
#ifndef AC_TEST_HOSTKIT_QT_H
#define AC_TEST_HOSTKIT_QT_H

#include <asyncore/hostkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PER_FD, or BACKEND_FD; the QCoreApplication is made on first use. */
ac_hostkit_host hk_qt_host(bool backend_fd);

#ifdef __cplusplus
}
#endif

#endif
