#!/bin/sh
# CPU used by an idle, connected chat window, per program and mode, over a
# fixed window: gtk_chat under Xvfb, qt_chat on Qt's offscreen platform.
# The adapter ways (GSource, Qt notifiers) should be near 0%, the
# idle-callback ways (the seed documents' ac_poll_once from an idle
# callback) near 100%.
# Usage: bench/gui_idle_cpu.sh BUILD_DIR [SECONDS]
set -eu
build=$1
secs=${2:-5}
hz=$(getconf CLK_TCK)
out=/tmp/ac-guicpu.$$
"$build/examples/chat_server" --port 0 > $out &
srv=$!
trap 'kill $srv 2>/dev/null; rm -f $out' EXIT
sleep 0.3
port=$(sed -n 's/.*://p' $out)
measure() { # PROGRAM MODE COMMAND...
    prog=$1 mode=$2
    shift 2
    "$@" --port "$port" --nick "idle-$mode" --mode "$mode" \
        --quit-after $((secs + 3)) > /dev/null 2>&1 &
    job=$!
    sleep 2 # started and connected
    pid=$(pgrep -n -f "$prog --port $port --nick idle-$mode")
    t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
    sleep "$secs"
    t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
    wait $job
    echo "$prog --mode $mode idle: $(echo "$t0 $t1 $hz $secs" |
        awk '{printf "%.1f", 100 * ($2 - $1) / $3 / $4}')% of a core"
}
if [ -x "$build/examples/gtk/gtk_chat" ] && command -v xvfb-run >/dev/null; then
    for mode in source idle; do
        measure gtk_chat $mode env GSK_RENDERER=cairo NO_AT_BRIDGE=1 \
            xvfb-run -a "$build/examples/gtk/gtk_chat"
    done
fi
if [ -x "$build/examples/qt/qt_chat" ]; then
    for mode in notifier idle; do
        measure qt_chat $mode env QT_QPA_PLATFORM=offscreen \
            XDG_RUNTIME_DIR=/tmp "$build/examples/qt/qt_chat"
    done
fi
