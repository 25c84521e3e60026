#!/usr/bin/env python3
"""Differential test: the same random byte streams, split at random points,
with the same terminator changes, through Python 3.11's asynchat and
through libasyncore's ac_chat must give the same collected data and
found_terminator calls. Seeded and bounded.
Usage: chat_diff.py HELPER [CASES] [SEED]"""
import random
import subprocess
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asynchat  # noqa: E402

ALPHABET = b"ab\r\n\x00q"


def rand_term(rng):
    k = rng.random()
    if k < 0.6:
        return ("b", bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))))
    if k < 0.9:
        return ("c", rng.randint(0, 12))
    return ("n", None)


def gen_case(rng):
    term = rand_term(rng)
    switches = [(rng.randint(1, 12), rand_term(rng))
                for _ in range(rng.randint(0, 6))]
    data = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400)))
    chunks, i = [], 0
    while i < len(data):
        n = rng.choice([1, 1, 2, 3, 5, 8, 13, 64, 500])
        chunks.append(data[i:i + n])
        i += n
    return term, switches, chunks


def python_trace(term, switches, chunks):
    out = []

    class Chat(asynchat.async_chat):
        def __init__(self):
            super().__init__()
            self.found = 0
            self.feed = []

        def recv(self, n):
            return self.feed.pop(0)

        def collect_incoming_data(self, data):
            out.append(("C", bytes(data)))

        def found_terminator(self):
            self.found += 1
            out.append(("F",))
            for at, t in switches:
                if at == self.found:
                    self.set_terminator(t[1])

    c = Chat()
    c.set_terminator(term[1])
    for ch in chunks:
        c.feed.append(ch)
        c.handle_read()
    return out


def encode(term, switches, chunks):
    def t(x):
        kind, v = x
        if kind == "b":
            return "b " + v.hex()
        if kind == "c":
            return "c %d" % v
        return "n"
    lines = ["T " + t(term)]
    lines += ["S %d %s" % (at, t(x)) for at, x in switches]
    lines += ["D " + ch.hex() for ch in chunks]
    lines.append("E")
    return "\n".join(lines) + "\n"


def merge(trace):
    """Collect boundaries may differ; the data between terminators may not."""
    merged = []
    for ev in trace:
        if ev[0] == "C" and merged and merged[-1][0] == "C":
            merged[-1] = ("C", merged[-1][1] + ev[1])
        elif ev[0] == "C" and not ev[1]:
            continue
        else:
            merged.append(ev)
    return merged


def main():
    helper = sys.argv[1]
    ncases = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261125
    rng = random.Random(seed)
    cases = [gen_case(rng) for _ in range(ncases)]
    stdin = "".join(encode(*c) for c in cases)
    res = subprocess.run([helper], input=stdin, capture_output=True,
                         text=True, timeout=120)
    if res.returncode != 0:
        print("helper failed:", res.stderr)
        return 1
    got, cur = [], []
    for line in res.stdout.splitlines():
        if line == "E":
            got.append(cur)
            cur = []
        elif line == "F":
            cur.append(("F",))
        else:
            cur.append(("C", bytes.fromhex(line[2:])))
    if len(got) != len(cases):
        print("helper returned %d cases, expected %d" % (len(got), len(cases)))
        return 1
    bad = 0
    for i, case in enumerate(cases):
        want = merge(python_trace(*case))
        have = merge(got[i])
        if want != have:
            bad += 1
            if bad <= 3:
                print("case %d differs (seed %d)\n term=%r switches=%r "
                      "chunks=%r\n python: %r\n ours:   %r"
                      % (i, seed, case[0], case[1], case[2], want, have))
    founds = sum(1 for g in got for e in g if e[0] == "F")
    print("%d cases, %d found_terminator calls compared, %d differ"
          % (len(cases), founds, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
