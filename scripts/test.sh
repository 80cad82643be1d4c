#!/bin/sh
# The whole test suite (README command 2; .ci/run runs exactly this).
# Installs what is missing, builds twice - normally with gcc (unit tests
# also run under valgrind) and with ASan+UBSan (clang, which also builds the
# libFuzzer targets) - and runs the full ctest suite under both.  ctest's
# summary is the last thing printed.
# SKILLOPT_FUZZ_SECONDS (default 20) sets how long each fuzz target runs.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# the pinned Codex and Claude Code CLIs the agent tests drive (npm, into
# .tools/agent-clis/; says so and goes on when npm is unavailable)
scripts/install-agent-clis.sh
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_s=${SKILLOPT_FUZZ_SECONDS:-20}

echo "== normal build (gcc), unit tests also under valgrind"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSKILLOPT_VALGRIND=ON \
    >/dev/null
cmake --build build -j "$jobs" >/dev/null
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== sanitizer build (clang, ASan+UBSan, fuzz targets ${fuzz_s}s each)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DSKILLOPT_SANITIZE=ON -DSKILLOPT_FUZZ=ON \
    -DSKILLOPT_FUZZ_SECONDS="$fuzz_s" >/dev/null
cmake --build build-asan -j "$jobs" >/dev/null
ctest --test-dir build-asan --output-on-failure -j "$jobs"
