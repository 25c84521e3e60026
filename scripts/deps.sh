#!/bin/sh
# Install the Debian packages the build and the tests need, if missing.
set -eu
pkgs="meson ninja-build pkg-config gcc g++ clang libc6-dev python3
      libcunit1-dev libglib2.0-dev libuv1-dev libgtk-4-dev xvfb xauth valgrind
      cmake libevent-dev qt6-base-dev libssl-dev openssl libsystemd-dev
      libev-dev curl iproute2 util-linux"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
