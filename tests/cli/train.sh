#!/bin/sh
# `skillopt train` end to end on the demo benchmark with both roles on the
# simulator: the run directory's files, both flag spellings, --dry-run,
# the budget caps (stop with exit 5, resume to the uninterrupted result),
# a rerun of a finished run (no model request) and --quiet.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1 # the paths below are absolute: the cwd must not matter
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

nothing_sent() { # name, run directory, lines of llm_requests.jsonl before
    n=$((n + 1))
    sent=$($check sent "$2" "$3")
    if [ "$sent" != 0 ]; then
        echo "FAIL $1: $sent model requests sent (llm_requests.jsonl lines with status 0 and cache_hit false after line $3)"
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

unset OPENAI_COMPATIBLE_BASE_URL OPENAI_COMPATIBLE_API_KEY 2>/dev/null

# A whole run: demo.yaml has 2 epochs, batch 8 and 80 train items.
expect run 0 "best skill: $tmp/a/best_skill.md" train "$tmp/a"
verdict layout $check layout "$tmp/a" "$init" 20

# Every key is a flag in both spellings; a batch of 16 halves the steps.
for spell in "--batch_size 16 --num_epochs 1" "--batch-size 16 --num-epochs 1" \
    "--batch-size=16 --num_epochs=1"; do
    # shellcheck disable=SC2086
    expect "flags $spell" 0 "1 epochs x 5 steps" train "$tmp/x" $spell --dry-run
done
expect flag_run 0 "of 5 steps" train "$tmp/f" --batch-size 16 --num_epochs 1
verdict flag_rows $check layout "$tmp/f" "$init" 5
expect unknown_flag 2 "unknown option '--bogus_key'" train "$tmp/x" --bogus_key 1

# --dry-run prints the plan and writes nothing.
expect dry_run 0 "2 epochs x 10 steps = 20 steps" train "$tmp/x" --dry-run
n=$((n + 1))
if ! grep -q "estimated model calls" "$tmp/out" || ! grep -q "^  rollout " "$tmp/out" ||
    ! grep -q "^  analyst " "$tmp/out" || [ -e "$tmp/x" ]; then
    echo "FAIL dry_run_plan: no estimate table, or $tmp/x was created"
    fail=$((fail + 1))
fi

# --max_tokens: the budget reserves each request's completion cap
# (16384 tokens unless set), so 40 selection rollouts in flight would need
# more than the whole run uses; a cap of 256 lets a small budget stop mid-run.
cap="env.max_completion_tokens=256"
train "$tmp/r" "$cap" >/dev/null 2>&1 # the uninterrupted reference
expect max_tokens 5 "rerun" train "$tmp/m" "$cap" --max_tokens 100000
rows=$($check rows "$tmp/m")
verdict max_tokens_saved python3 -c "
import json, sys
json.load(open('$tmp/m/runtime_state.json'))
assert 0 < len(json.load(open('$tmp/m/history.json'))) < 20, 'rows: $rows'"
# the caps bound the whole run, not one process (docs/providers.md): the
# same cap again stops again, and all attempts together stay under it
expect max_tokens_again 5 "budget" train "$tmp/m" "$cap" --max_tokens 100000
verdict max_tokens_whole_run test "$($check spent "$tmp/m")" -le 100000
expect max_tokens_resume 0 "best skill:" train "$tmp/m" "$cap"
verdict max_tokens_same $check same "$tmp/r" "$tmp/m"

# --max_cost: the simulator's models are free, so a cap does not stop them;
# a model without a price is refused before anything is sent, by name.
expect max_cost_free 0 "best skill:" train "$tmp/c" --max_cost 0.01
expect max_cost_unpriced 5 "no price for model unpriced-target" \
    train "$tmp/u" model.target=unpriced-target --max_cost 1
nothing_sent max_cost_unpriced_sends_nothing "$tmp/u" 0

# The finished run's command again: nothing sent, the same outputs.
cp -r "$tmp/a" "$tmp/a0"
lines=$(wc -l <"$tmp/a/llm_requests.jsonl")
expect rerun 0 "best skill: $tmp/a/best_skill.md" train "$tmp/a"
nothing_sent rerun_sends_nothing "$tmp/a" "$lines"
verdict rerun_same $check same "$tmp/a0" "$tmp/a"

# --quiet: stderr keeps only the final status line; stdout the summary.
expect quiet 0 "best selection score:" train "$tmp/q" --quiet
n=$((n + 1))
if grep -q "^\[step" "$tmp/err" || [ "$(wc -l <"$tmp/err")" -gt 1 ] ||
    ! grep -q "best skill: $tmp/q/best_skill.md" "$tmp/out"; then
    echo "FAIL quiet_output: stderr:"
    sed 's/^/  /' "$tmp/err"
    fail=$((fail + 1))
fi

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
