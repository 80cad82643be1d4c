#!/bin/sh
# DocVQA end to end on the simulator: `skillopt eval` and a short
# `skillopt train` on the fixture split (tests/fixtures/docvqa) in both its
# items.json and CSV forms.  The simulator's echo answers nothing right, so
# the scores are 0; what is checked is that every file is produced, that
# rows carry the DocVQA fields, that the page images were resolved (no
# item failed), and that a missing image fails only its item.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1 # paths are absolute: the cwd must not matter
fail=0 n=0
cfg=$src/configs/docvqa/default.yaml
init=$src/skills/docvqa/initial.md
sim="model.backend=sim model.optimizer_backend=sim model.target_backend=sim"
unset OPENAI_COMPATIBLE_BASE_URL OPENAI_COMPATIBLE_API_KEY 2>/dev/null

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

# rows_ok DIR COUNT: COUNT rows, all asked (agent_ok), DocVQA fields set
rows_ok() {
    python3 - "$1" "$2" <<'PY'
import json, os, sys
d, want = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(os.path.join(d, "results.jsonl"))]
assert len(rows) == want, "%d rows, want %d" % (len(rows), want)
for r in rows:
    for k in ("anls", "hard", "soft", "predicted_answer", "gold_answers"):
        assert k in r, "row %s lacks %s" % (r["id"], k)
    assert r["agent_ok"] is True, "row %s: %s" % (r["id"], r["fail_reason"])
    assert "document_path" not in r["question"], r["question"]
    for f in ("conversation.json", "target_system_prompt.txt",
              "target_user_prompt.txt"):
        p = os.path.join(d, "predictions", r["id"], f)
        assert os.path.isfile(p), "no " + p
PY
}

for form in json csv; do
    # shellcheck disable=SC2086
    expect "eval_$form" 0 "on valid_seen (3 items): hard 0.0000" \
        "$bin" eval --config "$cfg" --skill "$init" --split valid_seen \
        --out_root "$tmp/e_$form" --cfg-options $sim \
        env.split_dir="$src/tests/fixtures/docvqa/$form"
    verdict "eval_rows_$form" rows_ok "$tmp/e_$form" 3
    verdict "eval_summary_$form" test -s "$tmp/e_$form/eval_summary.json"
    # shellcheck disable=SC2086
    expect "train_$form" 0 "best skill:" \
        "$bin" train --config "$cfg" --out_root "$tmp/t_$form" \
        --cfg-options $sim env.split_dir="$src/tests/fixtures/docvqa/$form" \
        env.skill_init="$init" train.num_epochs=1 train.batch_size=2
    verdict "train_layout_$form" python3 "$src/tests/cli/runcheck.py" layout \
        "$tmp/t_$form" "$init" 2
done

# the same split elsewhere, one image gone: that item fails, the rest run
cp -r "$src/tests/fixtures/docvqa" "$tmp/copy"
rm "$tmp/copy/images/p3.jpg"
# shellcheck disable=SC2086
expect missing_image 0 "valid_seen (3 items)" \
    "$bin" eval --config "$cfg" --skill "$init" --split valid_seen \
    --out_root "$tmp/m" --cfg-options $sim env.split_dir="$tmp/copy/json"
verdict missing_image_row grep -q '"id": "dv-202".*"fail_reason": "error: image images/p3.jpg not found' "$tmp/m/results.jsonl"
# data_root overrides where relative image paths are looked up
# shellcheck disable=SC2086
expect data_root 0 "valid_seen (3 items)" \
    "$bin" eval --config "$cfg" --skill "$init" --split valid_seen \
    --out_root "$tmp/r" --cfg-options $sim env.split_dir="$tmp/copy/json" \
    env.data_root="$src/tests/fixtures/docvqa"
verdict data_root_rows rows_ok "$tmp/r" 3

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
