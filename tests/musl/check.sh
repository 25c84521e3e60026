#!/bin/sh
# The core library and the native-loop examples built with musl-gcc
# (Debian's musl-tools), then run on musl: an echo check (100 connections,
# every byte compared) and a download from http_server (a 3 MB file byte
# for byte, a symbolic link out of the root refused). README "Platforms".
# Usage: tests/musl/check.sh [BUILD_DIR]   (default build-musl)
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build-musl}
if [ ! -d "$build" ]; then
    CC=musl-gcc meson setup "$build" -Dwerror=true -Dtests=disabled \
        -Dglib=disabled -Duv=disabled -Devent=disabled -Dqt=disabled \
        -Dsdevent=disabled -Dev=disabled -Dtls=disabled \
        -Dinstall_examples=false >/dev/null
fi
meson compile -C "$build" >/dev/null
ex=$build/examples
export LD_LIBRARY_PATH=$PWD/$build
tmp=$(mktemp -d)
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# every program runs on musl's libc, not glibc's
for p in echo_server echo_client http_server; do
    if ! grep -q "ld-musl" "$ex/$p" 2>/dev/null &&
       ! readelf -l "$ex/$p" | grep -q "ld-musl"; then
        echo "musl: $p is not linked against musl" >&2
        exit 1
    fi
done

start() { # PROGRAM ARGS... -> sets $port once it listens
    out=$tmp/$1.out
    "$ex/$@" >"$out" 2>"$tmp/$1.err" &
    pids="$pids $!"
    i=0
    until grep -q "^listening on" "$out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then
            echo "musl: $1 did not start: $(cat "$tmp/$1.err")" >&2
            exit 1
        fi
        sleep 0.05
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out" | head -n 1)
}

start echo_server --port 0 --backend epoll
timeout -s KILL 60 "$ex/echo_client" --port "$port" --conns 100 \
    --size 4096 --count 5 | tee "$tmp/echo.txt"
grep -q "conns=100 ok=100 failed=0" "$tmp/echo.txt"
grep -q "mismatched=0" "$tmp/echo.txt"

mkdir -p "$tmp/www"
head -c 3145745 /dev/urandom >"$tmp/www/data.bin"
echo secret >"$tmp/secret.txt"
ln -s ../secret.txt "$tmp/www/out"
start http_server --root "$tmp/www" --port 0 --quiet
timeout -s KILL 60 curl -sf -o "$tmp/got.bin" "http://127.0.0.1:$port/data.bin"
cmp "$tmp/www/data.bin" "$tmp/got.bin"
code=$(timeout -s KILL 20 curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$port/out")
case $code in
    403|404) ;;
    *) echo "musl: a link out of the root answered $code" >&2; exit 1 ;;
esac
echo "musl: echo and download checks passed"
