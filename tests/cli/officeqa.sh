#!/bin/sh
# OfficeQA end to end with the simulated target on the real shared items
# (../shared/data/officeqa) and their pdftotext corpus: `skillopt eval`
# and a short `skillopt train` write every file; a run without a document
# directory stops with exit 3 and says how to build one; single-shot mode
# (env.use_local_tools=false) needs none.  The simulator echoes, so the
# scores are 0; test_officeqa checks real scores with a scripted target.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
shared=${SKILLOPT_SHARED_DIR:-$src/../shared}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
data=$shared/data/officeqa
if [ ! -f "$data/train/items.json" ]; then
    echo "skip: no $data"
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

have() { # name, file...
    name=$1
    shift
    n=$((n + 1))
    for f in "$@"; do
        if [ ! -s "$f" ]; then
            echo "FAIL $name: missing or empty $f"
            fail=$((fail + 1))
            return
        fi
    done
}

# train and val as shared; test = val under other ids (ids must not repeat)
split=$tmp/split
mkdir -p "$split/train" "$split/val" "$split/test"
cp "$data/train/items.json" "$split/train/"
cp "$data/val/items.json" "$split/val/"
sed 's/"\(u\{0,1\}id\)": "UID/"\1": "T-UID/g' "$data/val/items.json" \
    >"$split/test/items.json"
sim="model.backend=sim model.optimizer_backend=sim model.target_backend=sim"
cfg=$src/configs/officeqa/default.yaml
skill=$src/skills/officeqa/initial.md

# shellcheck disable=SC2086
expect eval 0 "valid_seen (24 items): hard 0.0000" \
    "$bin" eval --config "$cfg" --skill "$skill" --split valid_seen \
    --out_root "$tmp/e" --cfg-options $sim env.split_dir="$split" \
    env.data_dirs="$data/pdf_text"
have eval_files "$tmp/e/eval_summary.json" "$tmp/e/results.jsonl" \
    "$tmp/e/predictions/UID0159/conversation.json" \
    "$tmp/e/predictions/UID0159/target_system_prompt.txt" \
    "$tmp/e/predictions/UID0159/target_user_prompt.txt"
n=$((n + 1))
if [ "$(wc -l <"$tmp/e/results.jsonl")" != 24 ] ||
    ! grep -q '"task_type": "hard"' "$tmp/e/results.jsonl" ||
    ! grep -q '^- treasury_bulletin_2000_09.pdftotext.txt$' \
        "$tmp/e/predictions/UID0159/target_user_prompt.txt"; then
    echo "FAIL eval_rows: results or prompts are not as expected"
    fail=$((fail + 1))
fi

# shellcheck disable=SC2086
expect train 0 "best skill:" \
    "$bin" train --config "$cfg" --out_root "$tmp/t" --cfg-options $sim \
    env.split_dir="$split" env.data_dirs="$data/pdf_text" \
    env.skill_init="$skill" train.batch_size=4 train.num_epochs=1 \
    env.limit=6
have train_files "$tmp/t/summary.json" "$tmp/t/best_skill.md" \
    "$tmp/t/history.json"

# shellcheck disable=SC2086
expect no_corpus 3 "officeqa-corpus --pdfs DIR --out DIR" \
    env -u OFFICEQA_DOCS_DIR "$bin" eval --config "$cfg" --skill "$skill" \
    --split valid_seen --out_root "$tmp/n" --cfg-options $sim \
    env.split_dir="$split" env.data_dirs="$tmp/nonexistent"
# shellcheck disable=SC2086
expect single_shot 0 "valid_seen (24 items)" \
    env -u OFFICEQA_DOCS_DIR "$bin" eval --config "$cfg" --skill "$skill" \
    --split valid_seen --out_root "$tmp/s" --cfg-options $sim \
    env.split_dir="$split" env.data_dirs="$tmp/nonexistent" \
    env.use_local_tools=false
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
