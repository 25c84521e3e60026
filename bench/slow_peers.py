"""bench/run's "slow_peers" section:

- what an idle keep-alive connection costs http_server, beside nginx
  (Debian's nginx-light, one worker), measured the same way for both: the
  server's RSS before N connections, then after each sent one 1 KB
  request, read its answer and went silent (the connections stay open);
- what deadlines cost while they do not fire (bench/deadline_cost: round
  trips with and without read idle + write stall on both channels);
- 5,000 connections trickling a request head one byte at a time, all shed
  by --header-timeout, while wrk on other connections keeps its pace
  (requests/s beside the same wrk run without them).

The clients run in other processes (each process may hold 20,000
descriptors here).

    run_slow_peers(build) -> dict for results.json
    slow_peers_report(d) -> lines of results.md
    slow_peers_targets(d, line)

`slow_peers.py client PORT N` is the idle client: it prints "ready" once
every connection has its answer, and closes them all when its stdin ends.
`slow_peers.py trickle PORT N SECS` is the trickling one: it prints a JSON
line when every connection was closed by the server, or SECS passed.
"""
import json
import os
import re
import resource
import selectors
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


def trickle(port, n, secs):
    """n connections, each sending a request head one byte a second (never
    finishing it), until the server closes them all or secs pass."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    head = b"GET /small.txt HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"x" * 4096
    sel = selectors.DefaultSelector()
    socks = []
    t0 = time.monotonic()
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    sent = [0] * n
    shed_at = {}
    next_round = time.monotonic()
    while len(shed_at) < n and time.monotonic() - t0 < secs:
        if time.monotonic() >= next_round:  # one byte each, once a second
            for i, s in enumerate(socks):
                if i not in shed_at:
                    try:
                        s.send(head[sent[i]:sent[i] + 1])
                        sent[i] += 1
                    except OSError:
                        pass
            next_round += 1.0
        for key, _ in sel.select(timeout=0.05):
            i = key.data
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data or b"408" in data:
                shed_at[i] = time.monotonic() - t0
                sel.unregister(key.fileobj)
                key.fileobj.close()
    print(json.dumps({"conns": n, "shed": len(shed_at),
                      "first_s": min(shed_at.values(), default=None),
                      "last_s": max(shed_at.values(), default=None),
                      "bytes_max": max(sent)}), flush=True)
    return 0


def wrk_rps(port, secs):
    wrk = shutil.which("wrk")
    out = subprocess.run(["taskset", "-c", "1", wrk, "-t1", "-c50",
                          "-d%ds" % secs, "http://127.0.0.1:%d/small.txt"
                          % port], capture_output=True, text=True,
                         timeout=secs + 60).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else None


def run_tricklers(build, root, n=5000, timeout_s=3):
    """wrk alone, then wrk beside n tricklers (started first), three rounds
    in turns; the server has --header-timeout timeout_s."""
    if not shutil.which("wrk"):
        return {}
    p = subprocess.Popen(["taskset", "-c", "0",
                          os.path.join(build, "examples", "http_server"),
                          "--root", root, "--port", "0", "--quiet",
                          "--header-timeout", str(timeout_s)],
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().rsplit(":", 1)[1])
    alone, beside, shed = [], [], []
    try:
        for _ in range(3):
            alone.append(wrk_rps(port, 3))
            t = subprocess.Popen(["taskset", "-c", "1", sys.executable,
                                  __file__, "trickle", str(port), str(n),
                                  str(timeout_s * 4)],
                                 stdout=subprocess.PIPE, text=True)
            time.sleep(1.5)  # all connected, trickling
            beside.append(wrk_rps(port, 3))
            shed.append(json.loads(t.stdout.readline()))
            t.wait(timeout=60)
    finally:
        p.terminate()
        p.wait(timeout=30)
    med = sorted(beside)[1] / sorted(alone)[1] if None not in alone + \
        beside else None
    return {"conns": n, "header_timeout_s": timeout_s,
            "wrk_alone_rps": alone, "wrk_beside_rps": beside,
            "ratio": med, "shed": shed}


def run_cost(build):
    out = subprocess.run([os.path.join(build, "bench", "deadline_cost"),
                          "100000", "7"], capture_output=True, text=True,
                         timeout=600).stdout.split()
    return {"off_ns": float(out[0]), "on_ns": float(out[1]),
            "ratio": float(out[2])} if len(out) == 3 else {}


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


def run_idle_http(build, top, root, conns=10000):
    out = {"conns": conns}
    servers = [("ours", lambda: start_ours(build, root))]
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx:
        servers.append(("nginx", lambda: start_nginx(nginx, top, root)))
    for name, start in servers:
        p, port = start()
        try:
            out[name] = measure(port, p.pid, conns)
        finally:
            p.terminate()
            p.wait(timeout=30)
    return out


def run_slow_peers(build, conns=10000):
    top = tempfile.mkdtemp(prefix="ac-slow-peers-")
    root = os.path.join(top, "www")
    os.makedirs(root)
    with open(os.path.join(root, "small.txt"), "wb") as f:
        f.write(b"x" * 100)
    try:
        return {"idle": run_idle_http(build, top, root, conns),
                "cost": run_cost(build),
                "tricklers": run_tricklers(build, root)}
    finally:
        shutil.rmtree(top, ignore_errors=True)


def slow_peers_report(d):
    L = []
    i = (d or {}).get("idle") or {}
    if i.get("ours") is not None:
        L += ["", "## Slow and silent peers", "",
              "**Idle keep-alive connections.** Server RSS growth per "
              "connection after %d connections each sent one 1 KB request, "
              "read the answer and went silent (clients in another process)."
              % i["conns"], "",
              "| server | bytes per idle connection |", "|---|---|",
              "| asyncore http_server | %.0f |" % i["ours"]]
        if i.get("nginx"):
            L += ["| nginx (one worker) | %.0f |" % i["nginx"], "",
                  "http_server / nginx: %.2f×" % (i["ours"] / i["nginx"])]
    c = (d or {}).get("cost") or {}
    if c:
        L += ["", "**What deadlines cost while they do not fire** "
              "(`bench/deadline_cost`: 64-byte round trips between two "
              "channels of one map, median of 7 in turns): %.0f ns without, "
              "%.0f ns with read idle + write stall on both channels: "
              "%.3f×." % (c["off_ns"], c["on_ns"], c["ratio"])]
    t = (d or {}).get("tricklers") or {}
    if t.get("ratio"):
        sh = t["shed"]
        L += ["", "**Tricklers.** %d connections sending a request head one "
              "byte a second, `--header-timeout %d`, while `wrk -c50` asks "
              "for a small file on other connections (server on CPU 0, the "
              "clients on CPU 1; three rounds in turns): wrk %s req/s alone, "
              "%s beside them; median ratio %.2f×. Shed: %s of %d, the last "
              "%s s after they started." % (
                  t["conns"], t["header_timeout_s"],
                  " / ".join("%.0f" % x for x in t["wrk_alone_rps"]),
                  " / ".join("%.0f" % x for x in t["wrk_beside_rps"]),
                  t["ratio"], " / ".join(str(x["shed"]) for x in sh),
                  t["conns"], " / ".join("%.1f" % (x["last_s"] or 0)
                                         for x in sh))]
    return L


def slow_peers_targets(d, line):
    i = (d or {}).get("idle") or {}
    if i.get("ours") is not None:
        line(i["ours"] <= 1024, "≤ 1 KB per idle keep-alive connection "
             "(http_server): %.0f B" % i["ours"])
    t = (d or {}).get("tricklers") or {}
    if t.get("ratio"):
        line(t["ratio"] >= 0.8, "wrk beside %d tricklers ≥ 0.8× alone: %.2f×"
             % (t["conns"], t["ratio"]))
        line(all(x["shed"] == t["conns"] for x in t["shed"]),
             "every trickler shed by --header-timeout")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        sys.exit(client(int(sys.argv[2]), int(sys.argv[3])))
    if len(sys.argv) == 5 and sys.argv[1] == "trickle":
        sys.exit(trickle(int(sys.argv[2]), int(sys.argv[3]),
                         float(sys.argv[4])))
    print(json.dumps(run_slow_peers(
        sys.argv[1] if len(sys.argv) > 1 else "build-bench",
        int(sys.argv[2]) if len(sys.argv) > 2 else 10000), indent=1))
