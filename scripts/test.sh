#!/bin/sh
# Build with warnings as errors and run the whole test suite.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build-test ] || meson setup build-test -Dwerror=true -Dtests=enabled
meson compile -C build-test
meson test -C build-test --print-errorlogs "$@"
