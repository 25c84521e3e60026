#!/bin/sh
# Consume libasyncore the three common ways, each built and run:
#  - installed, from CMake (pkg_check_modules IMPORTED_TARGET);
#  - installed, from C++17 with every public header (-Wall -Wextra -Werror);
#  - as a meson subproject (dependency() with fallback, override_dependency).
#   run.sh BUILD_DIR SOURCE_DIR
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here=$src/tests/consumers
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --quiet
pcdir=$(dirname "$(find "$root" -name asyncore.pc | head -n 1)")
# point the installed .pc files at where they were put (a sysroot would
# also move GLib's and libuv's include paths, which are not there)
sed -i "s|^prefix=|prefix=$root|" "$pcdir"/asyncore*.pc
export PKG_CONFIG_PATH="$pcdir"
libdir=$(pkg-config --variable=libdir asyncore)
export LD_LIBRARY_PATH="$libdir"

echo "== CMake"
cmake -S "$here/cmake" -B "$root/cmake" -DCMAKE_C_FLAGS="-Wall -Werror" \
    >/dev/null
cmake --build "$root/cmake" >/dev/null
"$root/cmake/consumer"

echo "== C++17, every public header"
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror -I"$here" \
    -o "$root/cxx" "$here/all_headers.cpp" \
    $(pkg-config --cflags --libs asyncore asyncore-glib asyncore-uv \
        asyncore-event asyncore-qt asyncore-tls asyncore-sdevent \
        asyncore-hostkit)
"$root/cxx"
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror -o "$root/cxx_ev" \
    "$here/ev_header.cpp" $(pkg-config --cflags --libs asyncore-ev)
"$root/cxx_ev"

echo "== meson subproject"
unset PKG_CONFIG_PATH LD_LIBRARY_PATH
mkdir -p "$root/proj/subprojects"
cp "$here/meson/meson.build" "$here/meson/main.c" "$here/roundtrip.h" \
    "$root/proj/"
sed -i "s|include_directories('..')|include_directories('.')|" \
    "$root/proj/meson.build"
ln -s "$src" "$root/proj/subprojects/libasyncore"
meson setup "$root/proj/build" "$root/proj" >/dev/null
meson compile -C "$root/proj/build" >/dev/null
meson test -C "$root/proj/build" --print-errorlogs >/dev/null
"$root/proj/build/consumer"
echo "consumers: cmake, c++17, meson subproject all ran"
