#!/bin/sh
# The release tarball and the Debian packages, as CI makes them:
#  1. meson dist: libasyncore-VERSION.tar.xz, whose own test suite meson
#     runs from the unpacked tarball (loopback only, no network);
#  2. the Debian packages from that tarball and packaging/debian/
#     (dpkg-buildpackage -us -uc -b), checked by lintian (errors fail);
#  3. with --install (root): the packages installed, the consumer programs
#     built against them alone (tests/consumers/installed.sh), removed.
# Everything lands in build-dist/.
set -eu
cd "$(dirname "$0")/.."
out=$PWD/build-dist
rm -rf "$out"
mkdir -p "$out"
meson setup "$out/meson" -Dtests=enabled >/dev/null
meson dist -C "$out/meson" --formats xztar
ver=$(meson introspect --projectinfo "$out/meson" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
tarball=$out/meson/meson-dist/libasyncore-$ver.tar.xz
deb=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ "${deb%-*}" != "$ver" ]; then
    echo "packaging/debian/changelog is at $deb, meson.build at $ver"
    exit 1
fi
cp "$tarball" "$out/libasyncore_$ver.orig.tar.xz"
tar -C "$out" -xf "$tarball"
cp -r packaging/debian "$out/libasyncore-$ver/"
(cd "$out/libasyncore-$ver" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) ||
    { tail -n 60 "$out/build.log"; exit 1; }
echo "== packages"
for f in "$out"/*.deb; do
    printf '%-48s %8s bytes installed-size %s KiB\n' "$(basename "$f")" \
        "$(stat -c %s "$f")" "$(dpkg-deb -f "$f" Installed-Size)"
done
echo "== lintian"
lintian --fail-on error --tag-display-limit 0 "$out"/*.changes
if [ "${1:-}" = --install ]; then
    pkgs=$(for f in "$out"/*.deb; do dpkg-deb -f "$f" Package; done)
    apt-get install -y -qq "$out"/*.deb >/dev/null
    # shellcheck disable=SC2086
    trap 'apt-get purge -y -qq $pkgs >/dev/null 2>&1 || true' EXIT
    sh tests/consumers/installed.sh
fi
