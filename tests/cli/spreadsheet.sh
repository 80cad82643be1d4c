#!/bin/sh
# SpreadsheetBench end to end with the simulated target: `skillopt eval`
# and a short `skillopt train` on the fixture task (tests/fixtures/
# spreadsheet) write every file and give each item a reason; a machine
# without bubblewrap stops the run before any item with exit 3 and says
# what to do, and --unsafe-no-sandbox runs anyway; the real shared tasks
# (../shared/data/spreadsheetbench) run too when present.  The simulator
# echoes the prompt, so scripts fail and scores are 0; test_spreadsheet
# checks real scores with a scripted target.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
shared=${SKILLOPT_SHARED_DIR:-$src/../shared}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
if ! bwrap --ro-bind / / true 2>/dev/null || [ ! -x /usr/bin/python3 ]; then
    echo "skip: no working bubblewrap or /usr/bin/python3"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0

expect() { # name, wanted exit status, pattern in output, command...
    name=$1 want=$2 pat=$3
    shift 3
    n=$((n + 1))
    "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" != "$want" ] || ! grep -q -- "$pat" "$tmp/out"; then
        echo "FAIL $name: exit $got (want $want), output:"
        grep -v '^\[step' "$tmp/out" | head -20 | sed 's/^/  /'
        fail=$((fail + 1))
    fi
}

check() { # name, shell condition
    n=$((n + 1))
    if ! eval "$2"; then
        echo "FAIL $1: $2"
        fail=$((fail + 1))
    fi
}

# three splits over the fixture task, under distinct ids
split=$tmp/split
for s in train val test; do
    mkdir -p "$split/$s"
    cat >"$split/$s/items.json" <<JSON
[{"id": "$s-sum", "instruction": "Put the sum of column A in B1.",
  "instruction_type": "Cell-Level Manipulation",
  "answer_position": "Data!B1", "spreadsheet_path": "spreadsheet/sum"},
 {"id": "$s-gone", "instruction": "x", "answer_position": "A1",
  "spreadsheet_path": "spreadsheet/nonexistent"}]
JSON
done
sim="model.backend=sim model.optimizer_backend=sim model.target_backend=sim"
cfg=$src/configs/spreadsheetbench/default.yaml
skill=$src/skills/spreadsheetbench/initial.md
root=$src/tests/fixtures/spreadsheet/tasks
ev() { # out dir, extra args...
    o=$1
    shift
    # shellcheck disable=SC2086
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
        --out_root "$o" --cfg-options $sim env.split_dir="$split" \
        env.data_root="$root" env.code_timeout=30 "$@"
}

expect eval 0 "valid_seen (2 items): hard 0.0000" ev "$tmp/e"
check eval_rows '[ "$(wc -l <"$tmp/e/results.jsonl")" = 2 ]'
check eval_summary 'grep -q "\"item_failures\": 1" "$tmp/e/eval_summary.json" &&
    grep -q "\"cell_level\": {" "$tmp/e/eval_summary.json" &&
    grep -q "items failed for their own reason" "$tmp/out"'
check eval_reasons 'grep -q "\"fail_reason\": \"error: item val-gone: task directory" "$tmp/e/results.jsonl" &&
    grep -q "\"fail_reason\": \"exec-error: " "$tmp/e/results.jsonl"'
check eval_files '[ -s "$tmp/e/predictions/val-sum/conversation.json" ] &&
    [ -s "$tmp/e/predictions/val-sum/target_user_prompt.txt" ] &&
    grep -q "A1=1000 | B1= | C1=note" "$tmp/e/predictions/val-sum/target_user_prompt.txt"'

# no bubblewrap: stop before any item, outputs untouched
cp "$tmp/e/eval_summary.json" "$tmp/keep.json"
# shellcheck disable=SC2086
expect no_bwrap 3 "unsafe-no-sandbox" "$bin" eval \
    --config "$cfg" --skill "$skill" --split valid_seen --out_root "$tmp/e" \
    --cfg-options $sim env.split_dir="$split" env.data_root="$root" \
    env.sandbox_bwrap=/nonexistent/bwrap
check untouched 'cmp -s "$tmp/keep.json" "$tmp/e/eval_summary.json"'
# shellcheck disable=SC2086
expect unsafe 0 "valid_seen (2 items)" "$bin" eval \
    --config "$cfg" --skill "$skill" --split valid_seen --out_root "$tmp/u" \
    --unsafe-no-sandbox --cfg-options $sim env.split_dir="$split" \
    env.data_root="$root" env.sandbox_bwrap=/nonexistent/bwrap

# shellcheck disable=SC2086
expect train 0 "best skill:" \
    "$bin" train --config "$cfg" --out_root "$tmp/t" --cfg-options $sim \
    env.split_dir="$split" env.data_root="$root" env.skill_init="$skill" \
    train.train_size=0 train.batch_size=2 train.num_epochs=1 env.max_turns=2
check train_files '[ -s "$tmp/t/summary.json" ] && [ -s "$tmp/t/best_skill.md" ] &&
    [ -s "$tmp/t/history.json" ]'

data=$shared/data/spreadsheetbench
if [ -f "$data/val/items.json" ]; then
    # the shared data has train and val; test = val under other ids
    mkdir -p "$tmp/rs/test"
    ln -s "$data/train" "$tmp/rs/train"
    ln -s "$data/val" "$tmp/rs/val"
    sed 's/"id": "/"id": "t-/' "$data/val/items.json" >"$tmp/rs/test/items.json"
    # shellcheck disable=SC2086
    expect real 0 "valid_seen (5 items)" \
        "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
        --out_root "$tmp/r" --cfg-options $sim env.split_dir="$tmp/rs" \
        env.data_root="$data" evaluation.test_env_num=5 env.mode=single
    check real_rows '[ "$(grep -c "\"fail_reason\": \"exec-error\|empty-code" "$tmp/r/results.jsonl")" = 5 ]'
fi
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
