#!/bin/sh
# `skillopt train` on bad input: each case names the file or field at
# fault, exits non-zero, and leaves an existing run directory as it was.
# A provider that fails every call stops the run with exit 4 at once.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0 n=0
check="python3 $src/tests/cli/runcheck.py"
init=$src/skills/demo/initial.md
train() { # out_root, then more arguments
    d=$1
    shift
    "$bin" train --config "$src/configs/demo.yaml" --out_root "$d" \
        --cfg-options env.split_dir="$src/data/demo" env.skill_init="$init" \
        "$@"
}

unset OPENAI_COMPATIBLE_BASE_URL OPENAI_COMPATIBLE_API_KEY 2>/dev/null

# A finished run; every bad command below targets it and must leave its
# files byte-identical.
train "$tmp/run" >/dev/null 2>&1 || { echo "FAIL: the demo run failed"; exit 1; }
cp -r "$tmp/run" "$tmp/keep"

bad() { # name, wanted exit status ("nonzero": any), pattern, arguments
    name=$1 want=$2 pat=$3
    shift 3
    n=$((n + 1))
    train "$tmp/run" "$@" >"$tmp/out" 2>&1
    got=$?
    if { [ "$want" = nonzero ] && [ "$got" = 0 ]; } ||
        { [ "$want" != nonzero ] && [ "$got" != "$want" ]; } ||
        ! grep -q -- "$pat" "$tmp/out"; then
        echo "FAIL $name: exit $got (want $want, pattern '$pat'), output:"
        grep -v '^\[step' "$tmp/out" | head -10 | sed 's/^/  /'
        fail=$((fail + 1))
    fi
    if ! diff -r "$tmp/keep" "$tmp/run" >"$tmp/diff" 2>&1; then
        echo "FAIL $name: the run directory changed:"
        head -10 "$tmp/diff" | sed 's/^/  /'
        fail=$((fail + 1))
        rm -rf "$tmp/run" && cp -r "$tmp/keep" "$tmp/run"
    fi
}

dd=$tmp/data
mkdir -p "$dd"
cp -r "$src/data/demo" "$dd/noval" && rm -r "$dd/noval/val"
cp -r "$src/data/demo" "$dd/empty" && echo '[]' >"$dd/empty/train/items.json"
cp -r "$src/data/demo" "$dd/dup"
python3 - "$dd/dup" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1] + "/train/items.json"))
v = json.load(open(sys.argv[1] + "/val/items.json"))
v[3] = dict(v[3], id=t[5]["id"])
json.dump(v, open(sys.argv[1] + "/val/items.json", "w"))
EOF
dup_id=$(python3 -c "import json; print(json.load(open('$dd/dup/val/items.json'))[3]['id'])")

bad missing_split_dir 3 "$dd/nowhere/train" env.split_dir="$dd/nowhere"
bad missing_val 3 "$dd/noval/val" env.split_dir="$dd/noval"
bad empty_train 3 "$dd/empty/train/items.json: the train split is empty" \
    env.split_dir="$dd/empty"
bad shared_id 3 "$dd/dup/val/items.json: item 3 has id \"$dup_id\"" \
    env.split_dir="$dd/dup"
bad missing_skill 3 "env.skill_init: /nonexistent.md: no such file" \
    env.skill_init=/nonexistent.md
bad unknown_benchmark 3 "env.name: unknown benchmark 'nope'" env.name=nope
# The run was made with the simulated target: the same directory with
# another target model must not report the old scores as the new model's
# nor rewrite config.json and summary.json.
bad other_target nonzero "sim-target" model.target=other-target

# A target whose provider refuses every connection: exit 4 within
# seconds, naming the failure, no step recorded.
down="model.target_backend=openai_compatible llm.target_base_url=http://127.0.0.1:9/v1 model.target=x llm.retries=1"
n=$((n + 1))
start=$(date +%s)
# shellcheck disable=SC2086
train "$tmp/p" $down >"$tmp/out" 2>&1
got=$? took=$(($(date +%s) - start))
if [ "$got" != 4 ] || [ "$took" -gt 20 ] ||
    ! grep -q "skillopt: error: .*127.0.0.1 port 9" "$tmp/out" ||
    [ "$($check rows "$tmp/p")" != 0 ]; then
    echo "FAIL target_down: exit $got (want 4) after $took s, $($check rows "$tmp/p") history rows, output:"
    grep -v '^\[step' "$tmp/out" | head -10 | sed 's/^/  /'
    fail=$((fail + 1))
fi

# A run stopped halfway (budget) and resumed with another model for either
# role is refused (exit 3): it would mix two experiments.  Nothing is
# touched.
cap="env.max_completion_tokens=256"
train "$tmp/h" "$cap" --max_tokens 100000 >/dev/null 2>&1
rows=$($check rows "$tmp/h")
mv "$tmp/h" "$tmp/hkeep"
for who in target optimizer; do
    n=$((n + 1))
    rm -rf "$tmp/h" && cp -r "$tmp/hkeep" "$tmp/h"
    args="model.${who}_backend=openai_compatible llm.${who}_base_url=http://127.0.0.1:9/v1 model.$who=x llm.retries=1"
    # shellcheck disable=SC2086
    train "$tmp/h" "$cap" $args >"$tmp/out" 2>&1
    got=$?
    if [ "$rows" = 0 ] || [ "$got" != 3 ] ||
        ! grep -q "skillopt: error: .*other settings.*${who}_model" "$tmp/out" ||
        ! diff -r "$tmp/hkeep" "$tmp/h" >/dev/null; then
        echo "FAIL ${who}_changed_halfway: exit $got (want 3), output:"
        grep -v '^\[step' "$tmp/out" | head -10 | sed 's/^/  /'
        fail=$((fail + 1))
    fi
done

# The same run whose provider now fails every call (same settings, the
# simulator injecting faults on every request): exit 4, no history row
# added, the best skill kept.
n=$((n + 1))
rm -rf "$tmp/h" && cp -r "$tmp/hkeep" "$tmp/h"
train "$tmp/h" "$cap" llm.sim_fault_rate=1 llm.retries=1 >"$tmp/out" 2>&1
got=$?
if [ "$got" != 4 ] || ! grep -q "skillopt: error: .*\(provider\|every optimizer call failed\)" "$tmp/out" ||
    ! cmp -s "$tmp/hkeep/history.json" "$tmp/h/history.json" ||
    ! cmp -s "$tmp/hkeep/best_skill.md" "$tmp/h/best_skill.md"; then
    echo "FAIL provider_down_halfway: exit $got (want 4), rows before $rows, now $($check rows "$tmp/h"), output:"
    grep -v '^\[step' "$tmp/out" | head -10 | sed 's/^/  /'
    fail=$((fail + 1))
fi

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
