#!/bin/sh
# The ABI gate. For each shared library of a build, its dump for its soname
# must be under abi/ (abi/SONAME.abi), and the library must have no change
# that abidiff calls incompatible against it. An incompatible change thus
# needs a new soname (abi_version in meson.build) and its new dump,
# committed together; compatible additions pass.
#   abi/check.sh BUILD_DIR            check
#   abi/check.sh BUILD_DIR --update   write the dumps of the current sonames
# Needs debug info (-g; meson's default debugoptimized) and Debian's
# abigail-tools.
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
headers=$here/../include/asyncore
status=0
for lib in "$build"/libasyncore*.so; do
    real=$(readlink -f "$lib")
    soname=$(readelf -d "$real" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    dump=$here/$soname.abi
    if [ "${2:-}" = --update ]; then
        abidw --headers-dir "$headers" --drop-private-types --no-corpus-path \
            --no-comp-dir-path --short-locs --out-file "$dump" "$real"
        echo "wrote abi/$soname.abi"
        continue
    fi
    if [ ! -f "$dump" ]; then
        echo "abi: no abi/$soname.abi: a new soname needs its dump" \
             "(abi/check.sh BUILD --update) committed with it"
        status=1
        continue
    fi
    set +e
    report=$(abidiff --hd2 "$headers" --drop-private-types "$dump" "$real")
    rc=$?
    set -e
    # abidiff's exit status is a bit field: 1 error, 2 usage, 4 an ABI
    # change, 8 an incompatible one. Only additions are compatible for us:
    # a changed function or variable (a struct that grew, a parameter that
    # changed type) breaks programs built against the old headers, although
    # abidiff only calls it "a change".
    changed=$(echo "$report" | sed -n \
        's/^\(Functions\|Variables\) changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\2 \3/p' |
        awk '{n += $1 + $2} END {print n + 0}')
    if [ $((rc & 11)) -ne 0 ] || [ "$changed" -ne 0 ]; then
        echo "abi: $soname changed incompatibly (abidiff exit $rc):"
        echo "$report"
        status=1
    elif [ $((rc & 4)) -ne 0 ]; then
        echo "abi: $soname: compatible changes (additions), fine:"
        echo "$report" | head -n 5
    else
        echo "abi: $soname unchanged"
    fi
done
exit $status
