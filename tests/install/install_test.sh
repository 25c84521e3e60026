#!/bin/sh
# Install the build into a scratch root and build a separate program with
# nothing but `pkg-config asyncore`, shared and static.
set -eu
build=$1
src=$(dirname "$0")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --quiet
pcdir=$(dirname "$(find "$root" -name asyncore.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root"
cc=${CC:-cc}
# shared
$cc -o "$root/consumer" "$src/consumer.c" $(pkg-config --cflags --libs asyncore)
libdir=$(pkg-config --variable=libdir asyncore)
out=$(LD_LIBRARY_PATH="$libdir" "$root/consumer")
[ "$out" = installed ] || { echo "shared consumer printed '$out'"; exit 1; }
# static
$cc -o "$root/consumer_static" "$src/consumer.c" \
    $(pkg-config --cflags asyncore) "$libdir/libasyncore.a" \
    $(pkg-config --libs-only-other --static asyncore) -lpthread
out=$("$root/consumer_static")
[ "$out" = installed ] || { echo "static consumer printed '$out'"; exit 1; }
# Every module built has its headers and .pc installed.
for m in asyncore asyncore-glib asyncore-uv asyncore-event asyncore-qt \
         asyncore-tls asyncore-sdevent asyncore-ev; do
    lib=$(find "$build" -maxdepth 1 -name "lib$m.so" | head -n 1)
    [ -n "$lib" ] || continue
    [ -f "$pcdir/$m.pc" ] || { echo "missing $m.pc"; exit 1; }
    h=${m#asyncore-}
    [ "$h" = asyncore ] && h=asyncore
    find "$root" -path "*/include/asyncore/$h.h" | grep -q . ||
        { echo "missing asyncore/$h.h"; exit 1; }
done
find "$root" -path "*/include/asyncore/asynchat.h" | grep -q . ||
    { echo "missing asyncore/asynchat.h"; exit 1; }
# The host kit: header, static library and .pc; a kit run built from them
# against the installed library alone (the README's poll() adapter).
find "$root" -path "*/include/asyncore/hostkit.h" | grep -q . ||
    { echo "missing asyncore/hostkit.h"; exit 1; }
[ -f "$pcdir/asyncore-hostkit.pc" ] || { echo "missing asyncore-hostkit.pc"; exit 1; }
ex=$src/../../examples/adapter
$cc -o "$root/kit" -I"$ex" "$ex/poll_host.c" "$ex/poll_host_kit.c" \
    $(pkg-config --cflags --libs --static asyncore-hostkit)
LD_LIBRARY_PATH="$libdir" "$root/kit" step/until-timer >/dev/null ||
    { echo "the installed host kit failed against the poll() adapter"; exit 1; }
# The examples are installed (option install_examples, default true).
if [ -x "$build/examples/echo_server" ]; then
    for ex in echo_server echo_client http_client chat_server http_server; do
        find "$root" -path "*/bin/$ex" | grep -q . ||
            { echo "example $ex not installed"; exit 1; }
        find "$root" -path "*/man1/$ex.1" | grep -q . ||
            { echo "example $ex has no man page"; exit 1; }
    done
fi
# Nothing unprefixed leaks from the shared libraries (STYLE.md).
for lib in "$libdir"/libasyncore*.so; do
    leaked=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^ac_' || true)
    [ -z "$leaked" ] || { echo "$lib exports: $leaked"; exit 1; }
done
echo "installed copy works through pkg-config (shared and static);" \
     "only ac_ symbols exported"
