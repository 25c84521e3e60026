#!/bin/sh
# CPU used by an idle, connected gtk_chat under Xvfb, per mode, over a
# fixed window: the GSource way should be near 0%, the idle-handler way
# (the seed documents' ac_poll_once from an idle callback) near 100%.
# Usage: bench/gtk_idle_cpu.sh BUILD_DIR [SECONDS]
set -eu
build=$1
secs=${2:-5}
hz=$(getconf CLK_TCK)
"$build/examples/chat_server" --port 0 > /tmp/ac-gtkcpu.$$ &
srv=$!
trap 'kill $srv 2>/dev/null; rm -f /tmp/ac-gtkcpu.$$' EXIT
sleep 0.3
port=$(sed -n 's/.*://p' /tmp/ac-gtkcpu.$$)
for mode in source idle; do
    GSK_RENDERER=cairo NO_AT_BRIDGE=1 xvfb-run -a "$build/examples/gtk/gtk_chat" \
        --port "$port" --nick idle-$mode --mode $mode \
        --quit-after $((secs + 3)) > /dev/null 2>&1 &
    gtk=$!
    sleep 2 # started and connected
    pid=$(pgrep -n -f "gtk_chat --port $port --nick idle-$mode")
    t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
    sleep "$secs"
    t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
    wait $gtk
    echo "gtk_chat --mode $mode idle: $(echo "$t0 $t1 $hz $secs" |
        awk '{printf "%.1f", 100 * ($2 - $1) / $3 / $4}')% of a core"
done
