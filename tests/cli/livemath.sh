#!/bin/sh
# LiveMathematicianBench end to end on the made-up fixture split
# (tests/fixtures/livemath/split) with both roles on the simulator:
# `skillopt eval` writes a row and a predictions directory per item and
# shows every item's options in the order the reference's shuffle gives
# for the run's seed (or unshuffled, or with the theorem, when asked);
# a short `skillopt train` finishes, and its first train batch is
# shuffled with that batch's seed.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0 n=0
fx=$src/tests/fixtures/livemath
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
    if ! "$@" >"$tmp/verdict" 2>&1; then
        echo "FAIL $name:"
        sed 's/^/  /' "$tmp/verdict"
        fail=$((fail + 1))
    fi
}

# Checks the rows and prompts of a rollout directory: MODE is "ref SEED"
# (options in the reference's order for SEED, from vectors.json), "plain"
# (the items' own order) or "theorem" (plain, with the theorem shown).
cat >"$tmp/check.py" <<'PY'
import glob, json, os, sys
fx, out, mode = sys.argv[1], sys.argv[2], sys.argv[3:]
items = {}
for split in ("train", "val", "test"):
    with open(os.path.join(fx, "split", split, "items.json")) as f:
        for it in json.load(f):
            items[it["id"]] = it
with open(os.path.join(fx, "vectors.json")) as f:
    ref = {(r["id"], r["seed"]): r for r in json.load(f)["fixture_shuffle"]}
with open(os.path.join(out, "results.jsonl")) as f:
    rows = [json.loads(line) for line in f]
assert rows, "no rows"
dirs = glob.glob(os.path.join(out, "predictions", "*"))
assert len(dirs) == len(rows), "%d prediction dirs, %d rows" % (len(dirs), len(rows))
prompts = {}
for d in dirs:
    for name in ("target_system_prompt.txt", "target_user_prompt.txt",
                 "conversation.json"):
        assert os.path.isfile(os.path.join(d, name)), d + "/" + name
    with open(os.path.join(d, "target_user_prompt.txt")) as f:
        user = f.read()
    q = user.split("## Question\n\n", 1)[1].split("\n", 1)[0]
    prompts[q] = user
for r in rows:
    it = items[r["id"]]
    assert r["task_type"] == it["theorem_type"][0], r["task_type"]
    assert r["agent_ok"] is True and r["n_turns"] == 1, r
    assert r["hard"] in (0, 1) and r["soft"] == r["hard"] == r["em"], r
    assert r["gold_answers"] == [r["correct_label"]], r
    assert (r["fail_reason"] == "") == (r["hard"] == 1), r
    user = prompts[it["question"]]
    if mode[0] == "ref":
        want = ref[(r["id"], int(mode[1]))]
        choices, correct = want["choices"], want["correct_choice"]
    else:
        choices, correct = it["choices"], it["correct_choice"]
    lines = "\n".join("%s. %s" % (c["label"], c["text"]) for c in choices)
    assert "## Options\n\n" + lines + "\n\n" in user, (r["id"], user)
    assert r["correct_label"] == correct["label"], (r["id"], r["correct_label"])
    assert ("## The theorem behind the question\n\n" + it["theorem"] in user) \
        == (mode[0] == "theorem"), user
print(len(rows))
PY

ev() { # out_root, then more arguments
    d=$1
    shift
    "$bin" eval --config "$src/configs/livemathematicianbench/default.yaml" \
        --skill "$src/skills/livemathematicianbench/initial.md" \
        --out_root "$d" --cfg-options $sim env.split_dir="$fx/split" "$@"
}

expect eval 0 "on all (24 items): hard" ev "$tmp/ev_all"
verdict eval_files test -s "$tmp/ev_all/eval_summary.json"
verdict eval_rows_seed42 python3 "$tmp/check.py" "$fx" "$tmp/ev_all" ref 42
expect eval_val 0 "on valid_seen (6 items)" ev "$tmp/ev_val" --split valid_seen
verdict eval_val_rows python3 "$tmp/check.py" "$fx" "$tmp/ev_val" ref 42
expect eval_unshuffled 0 "(6 items)" ev "$tmp/ev_plain" env.shuffle_choices=false \
    --split valid_unseen
verdict eval_unshuffled_rows python3 "$tmp/check.py" "$fx" "$tmp/ev_plain" plain
expect eval_theorem 0 "(6 items)" ev "$tmp/ev_thm" env.shuffle_choices=false \
    env.use_theorem=true --split valid_unseen
verdict eval_theorem_rows python3 "$tmp/check.py" "$fx" "$tmp/ev_thm" theorem

# A short run: 12 train items in batches of 4, one epoch.
expect train 0 "best skill: $tmp/run/best_skill.md" \
    "$bin" train --config "$src/configs/livemathematicianbench/default.yaml" \
    --out_root "$tmp/run" --batch_size 4 --num_epochs 1 \
    --cfg-options $sim env.split_dir="$fx/split" \
    env.skill_init="$src/skills/livemathematicianbench/initial.md"
verdict train_layout python3 "$src/tests/cli/runcheck.py" layout "$tmp/run" \
    "$src/skills/livemathematicianbench/initial.md" 3
seed=$(python3 -c "import json; print(json.load(open('$tmp/run/steps/step_0001/step_record.json'))['accumulation_batches'][0]['batch_seed'])" 2>/dev/null)
verdict train_batch_seed test "$seed" = 1043
verdict train_batch_rows python3 "$tmp/check.py" "$fx" \
    "$tmp/run/steps/step_0001/rollout" ref 1043
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
