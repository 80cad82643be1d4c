#!/bin/sh
# README command 1: install what is missing, build, and run the main job:
# `skillopt demo`, the whole training loop offline against the simulator.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
build/skillopt demo
