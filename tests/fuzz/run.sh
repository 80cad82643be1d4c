#!/bin/sh
# Runs one libFuzzer target for N seconds from its seed corpus
# (tests/fuzz/corpus/<name>/), working in a scratch copy so the source tree
# is never written.  Usage: run.sh BINARY NAME SECONDS
set -eu
bin=$1 name=$2 secs=$3
src=${SKILLOPT_SOURCE_DIR:-.}/tests/fuzz/corpus/$name
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$src" ] && cp -r "$src"/. "$work/corpus/" 2>/dev/null || true
cd "$work"
exec "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 corpus
