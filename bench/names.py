"""bench/run's "names" section: connecting by name (bench/connect_names and
bench/connect_stall, inside tests/dns/netns.py, which needs root).

    run_names(build) -> dict for results.json ({} when it could not run)
    names_report(d)  -> lines of results.md
    names_targets(d, line)
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NETNS = os.path.join(os.path.dirname(HERE), "tests", "dns", "netns.py")
HOSTS = ["native", "glib", "uv", "event", "sdevent", "ev"]
TIMER = {"native": "`ac_timer`", "glib": "`g_timeout_add`",
         "uv": "`uv_timer`", "event": "`event_new(EV_PERSIST)`",
         "sdevent": "time source, accuracy 1 µs", "ev": "`ev_timer`"}
WAYS = [("numeric", "numeric ac_connect 127.0.0.1"),
        ("literal", "ac_connect_host 127.0.0.1"),
        ("numeric6", "numeric ac_connect ::1"),
        ("localhost", "ac_connect_host localhost")]
BASE = {"numeric": "numeric", "literal": "numeric", "numeric6": "numeric6",
        "localhost": "numeric6"}


def _inside(build, *args):
    r = subprocess.run([sys.executable, NETNS,
                        os.path.join(build, "bench", args[0])] + list(args[1:]),
                       capture_output=True, text=True, timeout=300)
    if r.returncode == 77:
        return None  # no root: skipped
    return r.stdout


def run_names(build):
    out = {"connects": [], "stall": {}, "idle": {}}
    for _ in range(2):
        text = _inside(build, "connect_names", "connects", "1000")
        if text is None:
            return {}
        run = {}
        for key, label in WAYS:
            m = re.search(r"%s: ([\d.]+) ms .*?, ([\d.]+)x" % re.escape(label),
                          text)
            if m:
                run[key] = float(m.group(1))
                run[key + "_ratio"] = float(m.group(2))
        out["connects"].append(run)
    for mode, args in (("idle", ["--idle"]), ("stall", [])):
        text = _inside(build, "connect_stall", *args) or ""
        for line in text.splitlines():
            m = re.match(r"(\w+)\s+largest gap .*?: ([\d.]+) ms \(median", line)
            if m:
                out[mode][m.group(1)] = float(m.group(2))
    return out


def names_report(d):
    if not d or not d.get("connects"):
        return []
    runs = d["connects"]
    L = ["## Connecting by name (`bench/connect_names`, `bench/connect_stall`, "
         "inside `tests/dns/netns.py`)", "",
         "1,000 connects at once to a listener on 127.0.0.1 and ::1 (same "
         "port), the four ways in turns, 11 rounds (epoll, `ac_poll_once`), "
         "%d runs: the median time, and the median of each round's ratio to "
         "the numeric connect to the same address (`localhost` connects to "
         "::1, IPv6 first), so that the machine's drift between rounds "
         "cancels out:" % len(runs), "",
         "| how |" + " ms | ratio |" * len(runs),
         "|---|" + "---|---|" * len(runs)]
    labels = {"numeric": "`ac_create_socket` + `ac_connect` to 127.0.0.1",
              "literal": "`ac_connect_host(\"127.0.0.1\")` (literal: no lookup, "
                         "no thread)",
              "numeric6": "`ac_create_socket` + `ac_connect` to ::1",
              "localhost": "`ac_connect_host(\"localhost\")` (/etc/hosts, AAAA "
                           "and A on worker threads)"}
    for key, _ in WAYS:
        cells = []
        for r in runs:
            if key in r:
                cells.append("%.1f | %.2f×" % (r[key], r[key + "_ratio"]))
            else:
                cells.append("— | —")
        L.append("| %s | %s |" % (labels[key], " | ".join(cells)))
    L += ["",
          "A channel connecting by name holds no descriptor until it connects "
          "(it is on the map's list of connects by name), a literal's only "
          "attempt starts inside the call (its end still waits for the "
          "loop), and connects to one name while its lookup is in flight "
          "share that lookup (1,000 connects to `localhost`: 2 getaddrinfo "
          "calls). Syscalls per connect are those of a numeric connect "
          "(perf: 12,000 connect and 24,006 epoll_ctl for 12 × 1,000 both "
          "ways). What is left for `localhost` is the work of its answer: "
          "1,000 attempts started from one callback, each with its "
          "attempt-delay and deadline timers, and the socket handed to the "
          "channel (one lookup takes 0.1 ms: `NAMES_VERBOSE=1` with N = 1). "
          "The times themselves move by ±25% between rounds on this shared "
          "2-core VM: each run is printed.", "",
          "Largest gap between two runs of a 1 ms repeating timer **of the "
          "host's own loop** while one channel connects to `slow.test` "
          "(answered after 2 s, then refused), median of 5 runs, beside the "
          "same 2 s without a connect (the host's own precision):", "",
          "| host | timer | without a connect | during the connect |",
          "|---|---|---|---|"]
    for h in HOSTS:
        if h in d.get("stall", {}):
            idle = d.get("idle", {}).get(h)
            L.append("| %s | %s | %s | %.2f ms |" % (
                h, TIMER[h], "%.2f ms" % idle if idle is not None else "—",
                d["stall"][h]))
    L += ["",
          "Where the largest gaps fall (`STALL_VERBOSE=1`): in the middle of "
          "the lookup, when the map's thread has nothing of ours to run (the "
          "worker thread waits in `recvfrom`); without a connect the same "
          "hosts show gaps of the same size between some runs. libevent's "
          "1 ms persistent timer itself runs every 4 ms (about 500 runs in "
          "2 s), so a bound under 5 ms cannot be seen through it. Qt is not "
          "in this bench (its host needs a QCoreApplication): the suite's "
          "slow_lookup_never_blocks case asserts a 5 ms timer's largest gap "
          "under 20 ms on both Qt modes and every other mode.", ""]
    return L


def names_targets(d, line):
    if not d or not d.get("connects"):
        return
    ratios = [r["localhost_ratio"] for r in d["connects"]
              if "localhost_ratio" in r]
    if ratios:
        line(max(ratios) <= 1.2,
             "1,000 connects to `localhost` ≤ 1.2× 1,000 numeric connects: "
             + ", ".join("%.2f×" % x for x in ratios))
    for h in HOSTS:
        if h in d.get("stall", {}):
            line(d["stall"][h] < 5.0,
                 "%s: largest loop stall during a 2 s lookup < 5 ms: %.2f ms "
                 "(%s without a connect)" % (
                     h, d["stall"][h],
                     "%.2f ms" % d["idle"][h] if h in d.get("idle", {})
                     else "—"))
