#!/usr/bin/env python3
"""Soak: 10,000 concurrent connections exchanging pseudo-random data
through echo_server on epoll, poll, --loop glib and --loop uv. echo_client
(a separate process: each side needs 10,000 descriptors) checks every
byte; zero bytes may be lost or corrupted. Server RSS is reported before,
at the end of the load, and after the clients left. Loopback only,
bounded in time. Usage: soak.py BUILD_EXAMPLES_DIR [CONNS]"""
import re
import resource
import signal
import subprocess
import sys

EX = sys.argv[1]
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
MODES = [("epoll", ["--backend", "epoll"]), ("poll", ["--backend", "poll"]),
         ("glib", ["--loop", "glib"]), ("uv", ["--loop", "uv"])]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < CONNS + 100:
        print("soak: the open-files hard limit is %d; %d connections need "
              "%d per process. Raise it (ulimit -Hn as root) to run the soak."
              % (hard, CONNS, CONNS + 100))
        return 77  # skipped, and said why
    failed = 0
    for name, args in MODES:
        srv = subprocess.Popen([EX + "/echo_server", "--port", "0"] + args,
                               stdout=subprocess.PIPE, text=True)
        port = int(srv.stdout.readline().rsplit(":", 1)[1])
        before = peak = rss_kb(srv.pid)
        cli = subprocess.Popen(
            [EX + "/echo_client", "--port", str(port), "--conns", str(CONNS),
             "--size", "4096", "--count", "10", "--timeout", "240"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            while cli.poll() is None:  # the server's peak, during the load
                peak = max(peak, rss_kb(srv.pid))
                try:
                    cli.wait(0.05)
                except subprocess.TimeoutExpired:
                    pass
            out, err = cli.communicate(timeout=300)
            r = subprocess.CompletedProcess(cli.args, cli.returncode, out, err)
        except subprocess.TimeoutExpired:
            cli.kill()
            cli.communicate()
            r = None
        after = rss_kb(srv.pid)
        srv.send_signal(signal.SIGTERM)
        srv.communicate(timeout=30)
        ok = (r is not None and r.returncode == 0 and
              "ok=%d failed=0" % CONNS in r.stdout and
              "mismatched=0" in r.stdout and srv.returncode == 0)
        failed += not ok
        print("%-6s %s  server RSS: %d kB before, peak %d kB with %d "
              "clients (+%.0f B each), %d kB after they left\n       %s" % (
                  name, "ok  " if ok else "FAIL", before, peak, CONNS,
                  (peak - before) * 1024.0 / CONNS, after,
                  (r.stdout.strip() if r else "timed out")), flush=True)
        if r is not None and not ok:
            print(r.stderr[-2000:])
    print("%d passed, %d failed" % (len(MODES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
