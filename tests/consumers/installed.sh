#!/bin/sh
# Consume libasyncore from the installed Debian packages only (CI installs
# them first): plain C, C++17 with every public header, CMake and meson,
# each through the system's pkg-config, with no build tree on any path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset PKG_CONFIG_PATH LD_LIBRARY_PATH CPATH LIBRARY_PATH
cd "$work"
cp "$here/meson/main.c" "$here/roundtrip.h" "$here/../install/consumer.c" .

echo "== C"
cc -std=gnu11 -Wall -Werror -o c_consumer consumer.c \
    $(pkg-config --cflags --libs asyncore)
./c_consumer

echo "== C++17, every public header"
c++ -std=c++17 -Wall -Wextra -Werror -I. -o cxx "$here/all_headers.cpp" \
    $(pkg-config --cflags --libs asyncore asyncore-glib asyncore-uv \
        asyncore-event asyncore-qt asyncore-tls asyncore-sdevent \
        asyncore-hostkit)
./cxx
c++ -std=c++17 -Wall -Wextra -Werror -o cxx_ev "$here/ev_header.cpp" \
    $(pkg-config --cflags --libs asyncore-ev)
./cxx_ev

echo "== CMake"
mkdir cmake && cp "$here/cmake/CMakeLists.txt" "$here/cmake/main.c" roundtrip.h cmake/
sed -i 's|${CMAKE_CURRENT_SOURCE_DIR}/..|${CMAKE_CURRENT_SOURCE_DIR}|' \
    cmake/CMakeLists.txt
cmake -S cmake -B cmake/build -DCMAKE_C_FLAGS="-Wall -Werror" >/dev/null
cmake --build cmake/build >/dev/null
./cmake/build/consumer

echo "== meson, dependency() from the system"
mkdir proj && cp main.c roundtrip.h proj/
cat > proj/meson.build <<'MESON'
project('consumer', 'c', default_options : ['c_std=gnu11'])
deps = [dependency('asyncore'), dependency('asyncore-glib'),
        dependency('asyncore-uv')]
executable('consumer', 'main.c', dependencies : deps)
MESON
meson setup proj/build proj >/dev/null
meson compile -C proj/build >/dev/null
./proj/build/consumer

echo "== the examples package"
echo_server --help | head -n 1
http_server --help | head -n 1
# every program has its man page (made from its --help), with a SYNOPSIS
for prog in echo_server echo_client chat_server http_server http_client; do
    page=$(find /usr/share/man/man1 -name "$prog.1*" | head -n 1)
    [ -n "$page" ] || { echo "no man page for $prog"; exit 1; }
    zcat -f "$page" | grep -q '^\.SH SYNOPSIS' ||
        { echo "$page: no SYNOPSIS"; exit 1; }
done
echo "man pages: installed"
echo "installed packages: C, C++17, CMake and meson consumers all ran"
