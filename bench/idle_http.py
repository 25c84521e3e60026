"""bench/run's "idle_http" section: what an idle keep-alive connection costs
http_server, beside nginx (Debian's nginx-light, one worker), measured the
same way for both: the server's RSS before N connections, then after each
sent one 1 KB request, read its answer and went silent (the connections
stay open). The clients run in another process (each process may hold
20,000 descriptors here).

    run_idle_http(build, conns=10000) -> dict for results.json
    idle_http_report(d) -> lines of results.md
    idle_http_targets(d, line)

Run as `idle_http.py client PORT N` it is that client: it prints "ready"
once every connection has its answer, and closes them all when its stdin
ends.
"""
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bulk_http  # noqa: E402  (its nginx configuration)

NGINX_IDLE_CONF = bulk_http.NGINX_CONF.replace(
    "events { worker_connections 4096; }",
    "worker_rlimit_nofile 20000;\nevents { worker_connections 20000; }")


def request_bytes():
    head = "GET /small.txt HTTP/1.1\r\nHost: bench\r\nX-Pad: "
    tail = "\r\n\r\n"
    return (head + "p" * (1024 - len(head) - len(tail)) + tail).encode()


def client(port, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    req = request_bytes()
    socks = []
    deadline = time.monotonic() + 120
    for _ in range(n):
        if time.monotonic() > deadline:
            print("timeout after %d connections" % len(socks), flush=True)
            return 1
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                print("closed before the answer", flush=True)
                return 1
            got += chunk
        head, body = got.split(b"\r\n\r\n", 1)
        length = int([h.split(b":")[1] for h in head.split(b"\r\n")
                      if h.lower().startswith(b"content-length:")][0])
        while len(body) < length:
            body += s.recv(4096)
        socks.append(s)
    print("ready", flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()
    return 0


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure(port, pid, conns):
    """Server RSS growth per connection, in bytes."""
    time.sleep(0.3)
    before = rss_kb(pid)
    c = subprocess.Popen([sys.executable, __file__, "client", str(port),
                          str(conns)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    line = c.stdout.readline().strip()
    time.sleep(0.5)
    after = rss_kb(pid)
    c.stdin.close()
    c.wait(timeout=60)
    if line != "ready":
        return None
    return (after - before) * 1024.0 / conns


def start_ours(build, root):
    p = subprocess.Popen([os.path.join(build, "examples", "http_server"),
                          "--root", root, "--port", "0", "--quiet"],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, int(line.rsplit(":", 1)[1])


def start_nginx(nginx, top, root):
    port = bulk_http.free_port()
    conf = os.path.join(top, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_IDLE_CONF % {"dir": top, "port": port, "root": root})
    p = subprocess.Popen([nginx, "-c", conf, "-p", top],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return p, port


def run_idle_http(build, conns=10000):
    out = {"conns": conns}
    top = tempfile.mkdtemp(prefix="ac-idle-http-")
    root = os.path.join(top, "www")
    os.makedirs(root)
    with open(os.path.join(root, "small.txt"), "wb") as f:
        f.write(b"x" * 100)
    servers = [("ours", lambda: start_ours(build, root))]
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx:
        servers.append(("nginx", lambda: start_nginx(nginx, top, root)))
    try:
        for name, start in servers:
            p, port = start()
            try:
                out[name] = measure(port, p.pid, conns)
            finally:
                p.terminate()
                p.wait(timeout=30)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return out


def idle_http_report(d):
    if not d or d.get("ours") is None:
        return []
    L = ["", "## Idle keep-alive connections", "",
         "Server RSS growth per connection after %d connections each sent "
         "one 1 KB request, read the answer and went silent (clients in "
         "another process; `bench/run --only idle_http`)." % d["conns"], "",
         "| server | bytes per idle connection |", "|---|---|",
         "| asyncore http_server | %.0f |" % d["ours"]]
    if d.get("nginx"):
        L.append("| nginx (one worker) | %.0f |" % d["nginx"])
        L += ["", "http_server / nginx: %.2f×" % (d["ours"] / d["nginx"])]
    return L


def idle_http_targets(d, line):
    if d and d.get("ours") is not None:
        line(d["ours"] <= 1024, "≤ 1 KB per idle keep-alive connection "
             "(http_server): %.0f B" % d["ours"])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        sys.exit(client(int(sys.argv[2]), int(sys.argv[3])))
    print(run_idle_http(sys.argv[1] if len(sys.argv) > 1 else "build-bench",
                        int(sys.argv[2]) if len(sys.argv) > 2 else 10000))
