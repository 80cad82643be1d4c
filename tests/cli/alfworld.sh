#!/bin/sh
# ALFWorld end to end on the test world (tests/fixtures/textenv: a small
# text house speaking the external environment protocol) with both roles
# on the simulator: `skillopt eval` plays every game to the step limit
# (the simulator echoes, so no reply holds an <action> tag and every game
# is lost with that reason) and writes rows, step records and stderr; an
# environment that crashes fails its item with the reason while the run
# goes on; a short `skillopt train` finishes with the analysts reading the
# step records; a command that cannot start stops the run with exit 3;
# the ALFWorld bridge refuses to start without the alfworld package or
# its data.  Scores with a scripted target are in test_alfworld.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if ! command -v "$py" >/dev/null 2>&1; then
    echo "skip: no python3"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0 n=0
fx=$src/tests/fixtures/textenv
sim="model.backend=sim model.optimizer_backend=sim model.target_backend=sim"
cfg=$src/configs/alfworld/default.yaml
skill=$src/skills/alfworld/initial.md
envcmd="env.env_command=$py,$fx/textenv.py"

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

# the split: the fixture's, plus one test game whose environment crashes
split=$tmp/split
mkdir -p "$split"
cp -r "$fx/train" "$fx/val" "$fx/test" "$split/"
"$py" - "$split/test/items.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))
crash = dict(items[0], id="test-crash", misbehave={"crash_at": 0})
json.dump(items + [crash], open(sys.argv[1], "w"), indent=1)
PY

# shellcheck disable=SC2086
expect eval 0 "valid_seen (3 items): hard 0.0000" \
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
    --out_root "$tmp/e" --cfg-options $sim env.split_dir="$split" \
    "$envcmd" env.max_steps=3

cat >"$tmp/check.py" <<'PY'
import json, os, sys
out, n_items, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
assert len(rows) == n_items, len(rows)
for r in rows:
    if r["id"] == "test-crash":
        assert r["hard"] == 0, r
        assert r["fail_reason"].startswith(
            "error: environment was killed by signal 6 (SIGABRT) during the "
            "reset"), r["fail_reason"]
        assert "crashing on purpose" in r["env_stderr"], r
        continue
    assert r["hard"] == 0 and r["soft"] == 0.0, r
    assert r["fail_reason"] == "not won after %d steps (step limit)" % steps, r
    assert r["n_turns"] == steps and r["steps"] == steps, r
    assert r["task_description"].startswith("put ") or \
        r["task_description"].startswith("examine "), r
    assert r["task_type"].startswith(("pick_", "look_")), r
    d = [x for x in os.listdir(os.path.join(out, "predictions"))
         if x.startswith(r["id"].replace(":", "_"))]
    assert len(d) == 1, d
    p = os.path.join(out, "predictions", d[0])
    conv = json.load(open(os.path.join(p, "conversation.json")))
    assert conv[0]["role"] == "environment", conv[0]
    assert "Your task is to: " in conv[0]["content"]
    recs = conv[1:-1]
    assert [s["step"] for s in recs] == list(range(1, steps + 1)), recs
    for s in recs:
        assert s["action"] is None, s
        assert "no action inside an <action></action> tag" in \
            s["env_feedback"], s
        assert s["model_response"].startswith("echo: ## Task"), s
    assert conv[-1]["role"] == "system"
    assert "Result: not won" in conv[-1]["content"], conv[-1]
    if r["env_stderr"]:
        assert open(os.path.join(p, "env_stderr.txt")).read() == \
            r["env_stderr"], r
print("ok")
PY
verdict eval_rows "$py" "$tmp/check.py" "$tmp/e" 3 3

# an environment crash fails that item only
# shellcheck disable=SC2086
expect crash_item 0 "valid_unseen (4 items): hard 0.0000" \
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_unseen \
    --out_root "$tmp/c" --cfg-options $sim env.split_dir="$split" \
    "$envcmd" env.max_steps=2
verdict crash_rows "$py" "$tmp/check.py" "$tmp/c" 4 2

# shellcheck disable=SC2086
expect train 0 "best skill:" \
    "$bin" train --config "$cfg" --out_root "$tmp/t" --cfg-options $sim \
    env.split_dir="$split" "$envcmd" env.max_steps=2 \
    env.skill_init="$skill" train.batch_size=3 train.num_epochs=1
n=$((n + 1))
if [ ! -s "$tmp/t/summary.json" ] || [ ! -s "$tmp/t/best_skill.md" ] ||
    ! grep -q '"stage":"analyst"' "$tmp/t/llm_requests.jsonl"; then
    echo "FAIL train_files: no summary, best skill or analyst call"
    fail=$((fail + 1))
fi

# shellcheck disable=SC2086
expect no_env 3 "env.env_command" \
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
    --out_root "$tmp/n" --cfg-options $sim env.split_dir="$split" \
    env.env_command="$tmp/no-such-env"
# shellcheck disable=SC2086
expect old_protocol 3 "speaks protocol version 2.0" \
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
    --out_root "$tmp/v" --cfg-options $sim env.split_dir="$split" \
    "$envcmd,--protocol,2.0"
# the bridge, without the alfworld package (or without its data)
# shellcheck disable=SC2086
expect bridge 3 "refused the hello: .*alfworld" \
    env -u ALFWORLD_DATA "$bin" eval --config "$cfg" --skill "$skill" \
    --split valid_seen --out_root "$tmp/b" --cfg-options $sim \
    env.split_dir="$split" \
    "env.env_command=$py,$src/integrations/alfworld_env.py"
# the generic benchmark on the same environment, with its own prompts
# shellcheck disable=SC2086
expect external 0 "valid_seen (3 items): hard 0.0000" \
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
    --out_root "$tmp/x" --cfg-options $sim env.split_dir="$split" \
    "$envcmd" env.max_steps=2 env.name=external
n=$((n + 1))
if ! grep -q "You act in an interactive environment" \
    "$tmp/x/predictions/val-0000/target_system_prompt.txt" 2>/dev/null; then
    echo "FAIL external_prompt: not the external benchmark's prompt"
    ls "$tmp/x/predictions" | head -3
    fail=$((fail + 1))
fi
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
