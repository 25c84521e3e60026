// The Qt echo server as Qt users write it: a QTcpServer and a QTcpSocket
// per connection, readyRead answered with write(readAll()).
//   qt_echo [--port P]   prints "listening on 127.0.0.1:PORT"
#include <QCoreApplication>
#include <QHostAddress>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/signalfd.h>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QTcpServer server;
    sigset_t set;

    server.setMaxPendingConnections(4096);
    if (!server.listen(QHostAddress::LocalHost,
                       argc > 2 ? (quint16)std::atoi(argv[2]) : 0))
        return 1;
    QObject::connect(&server, &QTcpServer::newConnection, [&] {
        while (QTcpSocket *s = server.nextPendingConnection()) {
            QObject::connect(s, &QTcpSocket::readyRead,
                             [s] { s->write(s->readAll()); });
            QObject::connect(s, &QTcpSocket::disconnected, s,
                             &QObject::deleteLater);
        }
    });
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    QSocketNotifier term(signalfd(-1, &set, SFD_CLOEXEC),
                         QSocketNotifier::Read);
    QObject::connect(&term, &QSocketNotifier::activated,
                     [] { QCoreApplication::quit(); });
    std::printf("listening on 127.0.0.1:%d\n", server.serverPort());
    std::fflush(stdout);
    return app.exec();
}
