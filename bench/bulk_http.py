"""bench/run's bulk and http sections (imported by bench/run).

bulk: one connection echoing 64 KB and 1 MB messages, ten connections
echoing 1 MB, through bench/loadgen: MB/s (each direction) and the
server's CPU per MB, our echo_server on native epoll and every --loop
against the hand-written epoll server and each loop's native server.

http: http_server against nginx (Debian's nginx-light: one worker process,
sendfile on, access_log off), both pinned to CPU 0, wrk on CPU 1: a 1 KB
file over 100 keep-alive connections (requests/s and server CPU per
request) and a 100 MB file over one connection (MB/s); and a 1 GB file
fetched by curl from http_server and from a hand-written blocking sendfile
loop (bench/peers/sendfile_serve)."""
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

BULK = [(1, 65536), (1, 1 << 20), (10, 1 << 20)]
OURS = ["asyncore epoll", "asyncore glib", "asyncore uv", "asyncore event",
        "asyncore qt", "asyncore sdevent", "asyncore ev"]
LIMIT = "raw epoll (limit)"
NATIVE = {"asyncore glib": "GLib native", "asyncore uv": "libuv native",
          "asyncore event": "libevent native", "asyncore qt": "Qt native",
          "asyncore sdevent": "sd-event native", "asyncore ev": "libev native"}


def run_bulk(b):
    """b: bench/run's helpers (servers, start, stop, load, log, duration)."""
    results = {}
    for name, cmd in b.servers():
        if name.startswith("Python"):
            continue  # seconds per round trip at 1 MB: not a peer here
        for conns, size in BULK:
            r = bulk_once(b, cmd, conns, size)
            key = "%s|%d|%d" % (name, conns, size)
            if r is None:
                results[key] = {"failed": True}
                b.log("%-24s N=%-2d S=%-7d failed" % (name, conns, size))
                continue
            results[key] = r
            b.log("%-24s N=%-2d S=%-7d %8.0f MB/s  %7.1f us CPU/MB"
                  % (name, conns, size, r["MB_per_s"], r["cpu_us_per_MB"]))
    target_row_in_turns(b, results)
    return results


def bulk_once(b, cmd, conns, size):
    p, port = b.start(cmd)
    r = b.load(port, conns, size, p.pid, duration=max(b.DURATION, 2))
    crashed = p.poll() is not None
    b.stop(p)
    if r is None or crashed or r.get("errors", 0) > 0 or not r["round_trips"]:
        return None
    return {"MB_per_s": r["MB_per_s"] / 2,  # loadgen counts both directions
            "cpu_us_per_MB":
                r.get("server_cpu_us_per_rt", float("nan")) / (size / 1e6)}


def target_row_in_turns(b, results, rounds=3):
    """The row the targets read (1 × 1 MB), again for our servers, the
    raw epoll one and each loop's native server, round after round through
    all of them, the median of each: one run each, minutes apart, moved a
    server's CPU/MB ratio by a third between two full runs on this machine
    (0.89× and 1.23×)."""
    cmds = dict(b.servers())
    names = [n for n in OURS + [LIMIT] + list(NATIVE.values()) if n in cmds]
    runs = {n: [] for n in names}
    for _ in range(rounds):
        for n in names:
            r = bulk_once(b, cmds[n], 1, 1 << 20)
            if r:
                runs[n].append(r)
    for n, rs in runs.items():
        key = "%s|1|%d" % (n, 1 << 20)
        if len(rs) < rounds:
            results[key] = {"failed": True}
            continue
        med = {k: statistics.median_low(r[k] for r in rs)
               for k in ("MB_per_s", "cpu_us_per_MB")}
        med["runs"] = rs
        results[key] = med
        b.log("%-24s 1 x 1 MB in turns: median %8.0f MB/s  %7.1f us CPU/MB"
              % (n, med["MB_per_s"], med["cpu_us_per_MB"]))


def bulk_report(bulk, names):
    L = ["## Bulk echo: large messages", "",
         "MB/s of messages echoed (each direction), and the server's CPU "
         "time per MB echoed (µs), by `bench/loadgen` (pipeline depth 1, "
         "each message checked). TCP_NODELAY is on in every server: the "
         "library sets it on every TCP channel (README, Differences from "
         "Python). The 1 × 1 MB column and the ratios, for our servers, raw "
         "epoll and each loop's native server: the median of 3 runs taken "
         "round after round through those servers; the rest one run each.",
         "",
         "| server | 1 × 64 KB | 1 × 1 MB | 10 × 1 MB | µs CPU/MB (1 × 1 MB) | vs raw epoll (MB/s, CPU/MB) |",
         "|---|---|---|---|---|---|"]
    base = bulk.get("%s|1|%d" % (LIMIT, 1 << 20), {})
    for name in names:
        cells = []
        for conns, size in BULK:
            r = bulk.get("%s|%d|%d" % (name, conns, size))
            cells.append("—" if not r else "failed" if r.get("failed")
                         else "%.0f MB/s" % r["MB_per_s"])
        if all(c == "—" for c in cells):
            continue
        r = bulk.get("%s|1|%d" % (name, 1 << 20), {})
        cpu = "%.0f" % r["cpu_us_per_MB"] if "cpu_us_per_MB" in r else "—"
        vs = ("%.2f×, %.2f×" % (r["MB_per_s"] / base["MB_per_s"],
                                r["cpu_us_per_MB"] / base["cpu_us_per_MB"])
              if "MB_per_s" in r and "MB_per_s" in base else "—")
        L.append("| %s | %s | %s | %s |" % (name, " | ".join(cells), cpu, vs))
    return L + [""]


def bulk_targets(bulk, line):
    base = bulk.get("%s|1|%d" % (LIMIT, 1 << 20), {})
    if "MB_per_s" not in base:
        return
    for name in OURS:
        r = bulk.get("%s|1|%d" % (name, 1 << 20), {})
        if "MB_per_s" in r:
            line(r["MB_per_s"] >= 0.9 * base["MB_per_s"],
                 "%s bulk (1 × 1 MB) ≥ 0.9× raw epoll's MB/s: %.2f×"
                 % (name, r["MB_per_s"] / base["MB_per_s"]))
            nat = bulk.get("%s|1|%d" % (NATIVE.get(name), 1 << 20), {})
            line(r["cpu_us_per_MB"] <= 1.1 * base["cpu_us_per_MB"],
                 "%s bulk CPU/MB ≤ 1.1× raw epoll's: %.2f×%s"
                 % (name, r["cpu_us_per_MB"] / base["cpu_us_per_MB"],
                    " (%.2f× %s's)" % (r["cpu_us_per_MB"] /
                                      nat["cpu_us_per_MB"], NATIVE[name])
                    if "cpu_us_per_MB" in nat else ""))


# ---- http ----

def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wrk(b, url, conns, secs):
    cmd = b.pin(1, ["wrk", "-t1", "-c%d" % conns, "-d%ds" % secs, url])
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=secs + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    tr = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors", out)
    if not rps or errors:
        return None
    mult = {"B": 1e-6, "KB": 1e-3, "MB": 1, "GB": 1e3}[tr.group(2)]
    return {"rps": float(rps.group(1)), "MB_per_s": float(tr.group(1)) * mult}


NGINX_CONF = """worker_processes 1;
daemon off;
master_process off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log crit;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path %(dir)s; proxy_temp_path %(dir)s;
    fastcgi_temp_path %(dir)s; uwsgi_temp_path %(dir)s; scgi_temp_path %(dir)s;
    types { application/octet-stream bin; }
    server { listen 127.0.0.1:%(port)d; root %(root)s; }
}
"""


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def curl_mb_per_s(b, url):
    out = subprocess.run(b.pin(1, ["curl", "-s", "-o", "/dev/null", "-w",
                                   "%{speed_download} %{size_download}", url]),
                         capture_output=True, text=True, timeout=300).stdout
    speed, size = out.split()
    return float(speed) / 1e6 if int(size) == 1 << 30 else None


def fetch_gb(b, base, root):
    """MB/s of a 1 GB download from http_server and from the hand-written
    sendfile loop, both on CPU 0, curl on CPU 1: best of 5 each, the two
    taken in turn (single runs on this machine vary by a third)."""
    gb = os.path.join(root, "1g.bin")
    with open(gb, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(1024):
            f.write(block)
    p, port = b.start([os.path.join(b.BUILD, "bench", "sendfile_serve"), gb])
    ours = floor = 0
    for _ in range(5):
        ours = max(ours, curl_mb_per_s(b, base + "1g.bin") or 0)
        floor = max(floor, curl_mb_per_s(b, "http://127.0.0.1:%d/" % port)
                    or 0)
    b.stop(p)
    os.unlink(gb)
    b.log("1 GB: http_server %.0f MB/s, sendfile loop %.0f MB/s" % (ours, floor))
    return {"ours_MB_per_s": ours, "floor_MB_per_s": floor}


def start_server(b, loop, nginx, top, root):
    """http_server on `loop` (None: native), or nginx: (process, port)."""
    if loop != "nginx":
        cmd = [os.path.join(b.BUILD, "examples", "http_server"),
               "--root", root, "--port", "0", "--quiet"]
        return b.start(cmd + (["--loop", loop] if loop else []))
    port = free_port()
    conf = os.path.join(top, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF % {"dir": top, "port": port, "root": root})
    p = subprocess.Popen(b.pin(0, [nginx, "-c", conf, "-p", top]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    b.started.append(p)
    time.sleep(0.5)
    return p, port


def big_in_turns(b, results, nginx, top, root, secs, rounds=5):
    """The 100 MB row of http_server (native) and nginx again, both up at
    once and measured in turns, the median of `rounds` each: one run per
    server, minutes apart, moved the ratio between 0.87× and 0.99× on
    this machine while runs taken in turns agree within a few percent."""
    ours, ng = results.get("asyncore http_server"), results.get("nginx")
    if not ours or not ng:
        return
    servers = [start_server(b, None, nginx, top, root),
               start_server(b, "nginx", nginx, top, root)]
    runs = [[], []]
    for _ in range(rounds):
        for i, (_, port) in enumerate(servers):
            w = wrk(b, "http://127.0.0.1:%d/100m.bin" % port, 1, secs)
            if w:
                runs[i].append(w["MB_per_s"])
    for p, _ in servers:
        b.stop(p)
    for r, mbs in ((ours, runs[0]), (ng, runs[1])):
        if len(mbs) == rounds:
            r["big"] = {"MB_per_s": statistics.median_low(mbs), "runs": mbs}
    b.log("100 MB in turns: http_server %s, nginx %s MB/s"
          % (runs[0], runs[1]))


def run_http(b):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not shutil.which("wrk") or not os.path.exists(nginx):
        b.log("http: needs wrk and nginx (Debian: wrk, nginx-light)")
        return {}
    top = tempfile.mkdtemp(prefix="ac-bench-http-")
    root = os.path.join(top, "www")
    os.mkdir(root)
    with open(os.path.join(root, "1k.bin"), "wb") as f:
        f.write(os.urandom(1024))
    with open(os.path.join(root, "100m.bin"), "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    secs = 3 if b.DURATION < 1.5 else 5
    servers = [("asyncore http_server", None)] + [
        ("asyncore http_server --loop %s" % l, l)
        for l in ("glib", "uv", "event", "qt", "sdevent", "ev")] + [
        ("nginx", "nginx")]
    results = {}
    try:
        for name, loop in servers:
            p, port = start_server(b, loop, nginx, top, root)
            base = "http://127.0.0.1:%d/" % port
            r = {}
            for what, url, conns in (("small", "1k.bin", 100),
                                     ("big", "100m.bin", 1)):
                t0 = cpu_ticks(p.pid)
                w = wrk(b, base + url, conns, secs)
                ticks = cpu_ticks(p.pid) - t0
                if w is None:
                    r[what] = {"failed": True}
                    continue
                w["cpu_us_per_req"] = (ticks / os.sysconf("SC_CLK_TCK") * 1e6
                                       / max(w["rps"] * secs, 1))
                r[what] = w
            if loop is None:  # the 1 GB file, against the sendfile floor
                r["gb"] = fetch_gb(b, base, root)
            b.stop(p)
            results[name] = r
            b.log("%-36s 1 KB: %8.0f req/s %6.1f us CPU/req   100 MB: %6.0f MB/s"
                  % (name, r["small"].get("rps", 0),
                     r["small"].get("cpu_us_per_req", 0),
                     r["big"].get("MB_per_s", 0)))
        big_in_turns(b, results, nginx, top, root, secs)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return results


def http_report(http):
    if not http:
        return []
    ng = http.get("nginx", {})
    L = ["## Static files: http_server against nginx", "",
         "`wrk -t1` on CPU 1; each server alone on CPU 0: `http_server "
         "--quiet` (sendfile for bodies over 16 KB, smaller ones read into "
         "the header's send) and Debian's nginx-light (one worker process, "
         "`sendfile on`, `access_log off`). A 1 KB file over 100 keep-alive "
         "connections; a 100 MB file over one (for http_server on its "
         "native loop and nginx: the median of 5 runs taken in turns with "
         "both servers up; the other loops one run each).", "",
         "| server | 1 KB: requests/s | µs CPU / request | 100 MB: MB/s | vs nginx (req/s, MB/s) |",
         "|---|---|---|---|---|"]
    for name, r in http.items():
        s, b = r.get("small", {}), r.get("big", {})
        vs = "—"
        if "rps" in s and "rps" in ng.get("small", {}) and "MB_per_s" in b \
                and "MB_per_s" in ng.get("big", {}):
            vs = "%.2f×, %.2f×" % (s["rps"] / ng["small"]["rps"],
                                   b["MB_per_s"] / ng["big"]["MB_per_s"])
        L.append("| %s | %s | %s | %s | %s |" % (
            name, "%.0f" % s["rps"] if "rps" in s else "failed",
            "%.1f" % s["cpu_us_per_req"] if "rps" in s else "—",
            "%.0f" % b["MB_per_s"] if "MB_per_s" in b else "failed", vs))
    return L + [""] + http_gb_report(http)


def http_gb_report(http):
    g = http.get("asyncore http_server", {}).get("gb", {})
    if not g.get("floor_MB_per_s"):
        return []
    return ["A 1 GB file to one client (curl, best of 5): http_server %.0f "
            "MB/s, a hand-written blocking sendfile loop %.0f MB/s (%.2f×)."
            % (g["ours_MB_per_s"], g["floor_MB_per_s"],
               g["ours_MB_per_s"] / g["floor_MB_per_s"]), ""]


def http_targets(http, line):
    g = http.get("asyncore http_server", {}).get("gb", {})
    if g.get("floor_MB_per_s"):
        line(g["ours_MB_per_s"] >= 0.9 * g["floor_MB_per_s"],
             "1 GB file ≥ 0.9× a hand-written sendfile loop: %.2f×"
             % (g["ours_MB_per_s"] / g["floor_MB_per_s"]))
    ng, us = http.get("nginx", {}), http.get("asyncore http_server", {})
    if "rps" in ng.get("small", {}) and "rps" in us.get("small", {}):
        line(us["small"]["rps"] >= ng["small"]["rps"],
             "http_server ≥ 1.0× nginx's requests/s (1 KB, 100 connections): "
             "%.2f×" % (us["small"]["rps"] / ng["small"]["rps"]))
    if "MB_per_s" in ng.get("big", {}) and "MB_per_s" in us.get("big", {}):
        line(us["big"]["MB_per_s"] >= 0.9 * ng["big"]["MB_per_s"],
             "http_server ≥ 0.9× nginx's MB/s (100 MB, one connection): "
             "%.2f×" % (us["big"]["MB_per_s"] / ng["big"]["MB_per_s"]))
