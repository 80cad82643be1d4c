#!/bin/sh
# Golden tests of `skillopt data check`: bad splits and skill files give one
# clear message naming the file, exit status 3, and write nothing.
# Regenerate after an intended change with: SKILLOPT_BLESS=1 sh data.sh
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
golden=$src/tests/cli/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=$tmp/tree res=$tmp/res
mkdir -p "$work" "$res"
cp -r "$src/tests/cli/data" "$work/data"
mkdir -p "$work/configs" && cp -r "$src/configs/." "$work/configs/"
fail=0 n=0

check() { # name, then the command line after "skillopt"
    name=$1; shift
    n=$((n + 1))
    before=$(cd "$work" && find . | sort | xargs -r md5sum 2>/dev/null)
    (cd "$work/data" && "$bin" "$@" >"$res/out" 2>"$res/err"; echo "exit $?" >"$res/code")
    after=$(cd "$work" && find . | sort | xargs -r md5sum 2>/dev/null)
    { cat "$res/code"; echo "--- stdout"; cat "$res/out"; echo "--- stderr"; cat "$res/err"; } >"$res/got"
    if [ "${SKILLOPT_BLESS:-0}" = 1 ]; then
        cp "$res/got" "$golden/$name"
    elif ! cmp -s "$res/got" "$golden/$name"; then
        echo "FAIL $name"; diff -u "$golden/$name" "$res/got" | head -40
        fail=$((fail + 1))
    fi
    if [ "$before" != "$after" ]; then
        echo "FAIL $name: the command changed files"; fail=$((fail + 1))
    fi
}

check data_good        data check --config data.yaml
check data_not_array   data check --config data.yaml --split_dir notarray
check data_no_id       data check --config data.yaml --split_dir noid
check data_leak        data check --config data.yaml --split_dir leak
check data_missing_dir data check --config data.yaml --split_dir nowhere
check data_binary_skill data check --config data.yaml --skill_init binary.md
check data_missing_skill data check --config data.yaml --skill_init nope.md
check data_train_size  data check --config data.yaml --train_size 5
check data_bad_split_mode data check --config data.yaml --split_mode thirds
check data_no_subcommand data

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
