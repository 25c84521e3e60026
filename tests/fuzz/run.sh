#!/bin/sh
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,
# undefined) and run each for SECONDS (default 60) from its seed corpus:
# async_chat's parser, HTTP responses, http_server's request parser, and a
# TLS server fed hostile handshake bytes.
# Any crash, sanitizer report or invariant failure fails the run; the input
# is left in build-fuzz/ and belongs in tests/fuzz/regress_* afterwards.
#   tests/fuzz/run.sh [SECONDS]
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
# ac_config.h (what this system has) and asyncore/version.h, as meson makes
# them: a configured build directory, nothing compiled in it
if [ ! -f "$out/cfg/ac_config.h" ]; then
    rm -rf "$out/cfg"
    CC=clang meson setup "$out/cfg" -Dtests=disabled -Dexamples=disabled \
        >/dev/null
fi
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
       -D_GNU_SOURCE -Iinclude -I$out/cfg/include -I$out/cfg"
core=$(ls src/core/*.c src/core/layers/*.c)
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz_chat" tests/fuzz/fuzz_chat.c $core
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz_http" tests/fuzz/fuzz_http.c examples/http/http_response.c
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz_httpd" tests/fuzz/fuzz_httpd.c examples/http/http_request.c
# shellcheck disable=SC2086
clang $flags -o "$out/fuzz_tls" tests/fuzz/fuzz_tls.c tests/tls/certs.c \
    src/tls/*.c $core -lssl -lcrypto -lpthread
for t in chat http httpd tls; do
    mkdir -p "$out/corpus_$t"
    cp tests/fuzz/corpus_$t/* "$out/corpus_$t/"
    [ -d tests/fuzz/regress_$t ] && cp tests/fuzz/regress_$t/* "$out/corpus_$t/"
    echo "== fuzz_$t for ${secs}s"
    (cd "$out" && ./fuzz_$t -max_total_time="$secs" -print_final_stats=1 \
        -rss_limit_mb=1024 corpus_$t 2>&1 | tail -n 12)
done
