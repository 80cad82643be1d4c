#!/bin/sh
# `skillopt eval` end to end on the demo benchmark with the simulated
# target: a skill with the families' rules scores higher than the initial
# one; a rerun costs no model call; bad input is reported with the right
# exit status and leaves the output directory alone.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src" || exit 1
fail=0 n=0

expect() { # name, wanted exit status, pattern in output, command...
    name=$1 want=$2 pat=$3
    shift 3
    n=$((n + 1))
    "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" != "$want" ] || ! grep -q -- "$pat" "$tmp/out"; then
        echo "FAIL $name: exit $got (want $want), output:"
        sed 's/^/  /' "$tmp/out"
        fail=$((fail + 1))
    fi
}

cat >"$tmp/good.md" <<'MD'
# Answering short questions
Put the final answer between <answer> and </answer>.
- Always state the unit of measurement after a number, e.g. `12 km`.
- Write dates in ISO 8601 form: YYYY-MM-DD.
- Give amounts of money as a plain number with two decimal places.
- Write place names in lowercase.
- To count letters, spell the word out one letter at a time.
MD
cfg=configs/demo.yaml
expect initial 0 "valid_seen (40 items): hard" \
    "$bin" eval --config $cfg --skill skills/demo/initial.md \
    --split valid_seen --out_root "$tmp/a"
base=$(sed -n 's/.*"hard": \(.*\),/\1/p' "$tmp/a/eval_summary.json")
expect good 0 "valid_seen (40 items)" \
    "$bin" eval --config $cfg --skill "$tmp/good.md" --split valid_seen \
    --out_root "$tmp/b"
good=$(sed -n 's/.*"hard": \(.*\),/\1/p' "$tmp/b/eval_summary.json")
n=$((n + 1))
if ! awk -v a="$base" -v b="$good" 'BEGIN { exit !(b > a + 0.3) }'; then
    echo "FAIL rules_help: initial $base, with rules $good"
    fail=$((fail + 1))
fi
# the same evaluation again: answered from the cache, nothing sent
lines=$(wc -l <"$tmp/b/llm_requests.jsonl")
expect rerun 0 "valid_seen (40 items)" \
    "$bin" eval --config $cfg --skill "$tmp/good.md" --split valid_seen \
    --out_root "$tmp/b"
n=$((n + 1))
if grep -q '"cache_hit":false' "$tmp/b/llm_requests.jsonl" &&
    [ "$(tail -n +$((lines + 1)) "$tmp/b/llm_requests.jsonl" | grep -c '"cache_hit":false')" != 0 ]; then
    echo "FAIL rerun_cached: the rerun sent requests"
    fail=$((fail + 1))
fi
cp "$tmp/b/eval_summary.json" "$tmp/keep.json"
expect bad_split 2 "unknown split 'dev'" \
    "$bin" eval --config $cfg --skill "$tmp/good.md" --split dev --out_root "$tmp/b"
expect missing_skill 3 "no such file" \
    "$bin" eval --config $cfg --skill "$tmp/nope.md" --out_root "$tmp/b"
expect no_skill 2 "--skill FILE is required" "$bin" eval --config $cfg
expect unknown_bench 3 "unknown benchmark 'nosuchbench'" \
    "$bin" eval --config $cfg --skill "$tmp/good.md" --env nosuchbench --out_root "$tmp/b"
n=$((n + 1))
if ! cmp -s "$tmp/keep.json" "$tmp/b/eval_summary.json"; then
    echo "FAIL untouched: a failed eval changed the previous summary"
    fail=$((fail + 1))
fi
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
