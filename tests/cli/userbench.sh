#!/bin/sh
# A benchmark described in YAML (examples/yaml-bench), end to end on the
# simulator: `skillopt eval` and a short `skillopt train` with the numeric
# scorer and with the external scorer command, every file of a run
# produced; a YAML mistake reported as file:line:col with the config exit
# status; a failing scorer command stops the run instead of scoring 0.
# The simulator's target echoes the prompt, so the scores are 0 here
# (tests/unit/test_userbench.c checks non-zero scores).
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 1 # the example's config names paths from the root
fail=0 n=0
check="python3 $src/tests/cli/runcheck.py"
cfg=examples/yaml-bench/config.yaml
sim="model.backend=sim model.optimizer_backend=sim model.target_backend=sim"
init=examples/yaml-bench/initial.md

expect() { # name, wanted exit status, pattern in stdout+stderr, command...
    name=$1 want=$2 pat=$3
    shift 3
    n=$((n + 1))
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ] || ! cat "$tmp/out" "$tmp/err" | grep -q -- "$pat"; then
        echo "FAIL $name: exit $got (want $want, pattern '$pat'), output:"
        cat "$tmp/out" "$tmp/err" | grep -v '^\[step' | head -20 | sed 's/^/  /'
        fail=$((fail + 1))
    fi
}

verdict() { # name, then a command that must succeed
    name=$1
    shift
    n=$((n + 1))
    if ! "$@" >"$tmp/v" 2>&1; then
        echo "FAIL $name:"
        sed 's/^/  /' "$tmp/v"
        fail=$((fail + 1))
    fi
}

rows_ok() { # results.jsonl: every item, each row with the score fields
    python3 - "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == int(sys.argv[2]), "%d rows" % len(rows)
for r in rows:
    for k in ("id", "hard", "soft", "em", "f1", "predicted_answer",
              "gold_answers", "fail_reason", "question"):
        assert k in r, "row %s lacks %s" % (r.get("id"), k)
    assert r["hard"] == 0 and r["fail_reason"], r
PY
}

unset OPENAI_COMPATIBLE_BASE_URL OPENAI_COMPATIBLE_API_KEY 2>/dev/null

# eval: every split item gets a row, prompts and a conversation
# shellcheck disable=SC2086
expect eval 0 "on test (4 items): hard 0.0000" \
    "$bin" eval --config $cfg --skill $init --split test \
    --out_root "$tmp/e" --cfg-options $sim
verdict eval_rows rows_ok "$tmp/e/results.jsonl" 4
n=$((n + 1))
if ! grep -q '"benchmark": "unitconv"' "$tmp/e/rollout_meta.json" ||
    [ "$(find "$tmp/e/predictions" -name conversation.json | wc -l)" != 4 ] ||
    ! grep -q "## Skill" "$tmp/e/predictions"/*/target_system_prompt.txt; then
    echo "FAIL eval_files: rollout_meta.json, conversations or prompts"
    fail=$((fail + 1))
fi

# the same items through the external scorer (python3 score.py)
# shellcheck disable=SC2086
expect eval_command 0 "on test (4 items)" \
    "$bin" eval --config $cfg --skill $init --split test --out_root "$tmp/c" \
    --cfg-options $sim env.benchmark=examples/yaml-bench/bench-command.yaml \
    env.name=unitconv-cmd
verdict command_rows rows_ok "$tmp/c/results.jsonl" 4
n=$((n + 1))
if ! grep -q "scorer says: no number in the prediction" "$tmp/c/results.jsonl"; then
    echo "FAIL command_reason: the command's reason is not in the rows"
    fail=$((fail + 1))
fi

# train: a whole short run (1 epoch of 2 steps)
# shellcheck disable=SC2086
expect train 0 "best skill: $tmp/t/best_skill.md" \
    "$bin" train --config $cfg --out_root "$tmp/t" --cfg-options $sim
verdict train_layout $check layout "$tmp/t" "$init" 2
n=$((n + 1))
for d in selection_eval_baseline test_eval_baseline test_eval; do
    if [ ! -s "$tmp/t/$d/results.jsonl" ]; then
        echo "FAIL train_files: no $d/results.jsonl"
        fail=$((fail + 1))
        break
    fi
done
# shellcheck disable=SC2086
expect train_command 0 "best skill:" \
    "$bin" train --config $cfg --out_root "$tmp/tc" --cfg-options $sim \
    env.benchmark=examples/yaml-bench/bench-command.yaml env.name=unitconv-cmd
verdict train_command_layout $check layout "$tmp/tc" "$init" 2

# a mistake in the YAML: file:line:col, the field, exit status 3
sed 's/type: numeric /type: numerics/' examples/yaml-bench/bench.yaml \
    >"$tmp/bad.yaml"
# shellcheck disable=SC2086
expect yaml_error 3 "$tmp/bad.yaml:38:9: scorer.type: unknown value 'numerics'" \
    "$bin" eval --config $cfg --skill $init --out_root "$tmp/x" \
    --cfg-options $sim env.benchmark="$tmp/bad.yaml"
# shellcheck disable=SC2086
expect yaml_missing 3 "$tmp/none.yaml: benchmark file not found" \
    "$bin" train --config $cfg --out_root "$tmp/x" \
    --cfg-options $sim env.benchmark="$tmp/none.yaml"

# a scorer that fails stops the run loudly; it does not score 0
mkdir -p "$tmp/b"
cp examples/yaml-bench/initial.md "$tmp/b/"
cp -r examples/yaml-bench/prompts "$tmp/b/"
sed "s/command: \[python3, score.py\] /command: [python3, -c, 'import sys; sys.exit(\"scorer broke\")']/" \
    examples/yaml-bench/bench-command.yaml >"$tmp/b/broken.yaml"
# shellcheck disable=SC2086
expect scorer_stops 3 "scorer: python3 exited with status 1: scorer broke" \
    "$bin" eval --config $cfg --skill $init --split test --out_root "$tmp/s" \
    --cfg-options $sim env.benchmark="$tmp/b/broken.yaml" env.name=broken
n=$((n + 1))
if [ -e "$tmp/s/eval_summary.json" ] || [ -s "$tmp/s/results.jsonl" ]; then
    echo "FAIL scorer_stops_nothing: a summary or rows were written"
    fail=$((fail + 1))
fi
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
