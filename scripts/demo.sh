#!/bin/sh
# Build everything, then run the demo: echo_server on a free port and
# echo_client verifying 1000 connections against it.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build ] || meson setup build
meson compile -C build
build/examples/echo_server --port 0 > build/demo-server.out &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    grep -q listening build/demo-server.out 2>/dev/null && break
    sleep 0.1
done
line=$(head -n 1 build/demo-server.out)
echo "echo_server: $line"
port=${line##*:}
build/examples/echo_client --port "$port" --conns 1000 --size 4096 --count 20
