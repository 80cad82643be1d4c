#!/bin/sh
# Golden tests of `skillopt data check SPLIT_DIR`, `data materialize` and
# `data officeqa-corpus` on tests/fixtures/data (made by gen.py): exit
# status, stdout and stderr are compared with tests/cli/golden/datacmd_*,
# and materialized items byte for byte with the reference's (expected_*).
# Regenerate after an intended change with: SKILLOPT_BLESS=1 sh datacmd.sh
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
    echo "FAIL: no skillopt binary at $bin"
    exit 1
fi
src=${SKILLOPT_SOURCE_DIR:-.}
golden=$src/tests/cli/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/tests/fixtures/data" "$tmp/data"
work=$tmp/data
fail=0 n=0

# check NAME ARGS...: runs `skillopt ARGS` in the fixture copy and compares
# exit status, stdout and stderr with golden/datacmd_NAME.
check() {
    name=datacmd_$1
    shift
    n=$((n + 1))
    (cd "$work" && "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
     echo "exit $?" >"$tmp/code")
    { cat "$tmp/code"; echo "--- stdout"; cat "$tmp/out"
      echo "--- stderr"; cat "$tmp/err"; } >"$tmp/got"
    if [ "${SKILLOPT_BLESS:-0}" = 1 ]; then
        cp "$tmp/got" "$golden/$name"
    elif ! cmp -s "$tmp/got" "$golden/$name"; then
        echo "FAIL $name"
        diff -u "$golden/$name" "$tmp/got" | head -40
        fail=$((fail + 1))
    fi
}

# expect WHAT CONDITION...: one more assertion on the fixture copy.
expect() {
    what=$1
    shift
    n=$((n + 1))
    if ! (cd "$work" && "$@"); then
        echo "FAIL $what"
        fail=$((fail + 1))
    fi
}

same_items() { # out_dir expected_dir
    for s in train val test; do
        cmp -s "$1/$s/items.json" "$2/$s/items.json" || return 1
    done
}

check help help data
check no_subcommand data
check check_no_dir data check
check check_good data check check/searchqa_good
check check_bad data check check/searchqa_bad
check check_docvqa data check check/docvqa --data-root check/docvqa_root
check check_csv data check check/docvqa_csv --bench docvqa \
    --data-root=check/docvqa_root
check check_spreadsheet data check check/spreadsheet \
    --data-root check/spreadsheet_root
check check_officeqa data check check/officeqa --docs check/officeqa_docs
check check_officeqa_nodocs data check check/officeqa
check check_livemath data check check/livemath --bench livemath
check check_cap data check check/searchqa_many --max-lines 2
check check_unreadable data check manifest_searchqa/..
check check_unknown_bench data check check/generic --bench squad
check check_bad_max data check check/generic --max-lines -1
check check_missing data check check/nowhere
check check_unknown_flag data check check/generic --verbose

check mat_searchqa data materialize searchqa --manifest manifest_searchqa \
    --source searchqa_rows.jsonl --out out/searchqa
expect "searchqa items = reference" same_items out/searchqa expected_searchqa
check mat_check data check out/searchqa
check mat_exists data materialize searchqa --manifest manifest_searchqa \
    --source searchqa_rows.jsonl --out out/searchqa
check mat_force data materialize searchqa --manifest manifest_searchqa \
    --source searchqa_dir --out out/searchqa/ --force
expect "searchqa from a directory = reference" \
    same_items out/searchqa expected_searchqa
check mat_officeqa data materialize officeqa --manifest manifest_officeqa \
    --source officeqa_full.csv --out out/officeqa
expect "officeqa items = reference" same_items out/officeqa expected_officeqa
check mat_livemath data materialize livemath --manifest manifest_livemath \
    --source livemath_src --out out/livemath
expect "livemath items = reference" same_items out/livemath expected_livemath
check mat_missing data materialize searchqa --manifest manifest_searchqa \
    --source searchqa_partial.jsonl --out out/partial
expect "no partial output" test ! -e out/partial
check mat_bad_sha data materialize searchqa --manifest manifest_searchqa \
    --source searchqa_rows.jsonl --out out/sha \
    --sha256 0000000000000000000000000000000000000000000000000000000000000000
expect "no output after a checksum mismatch" test ! -e out/sha
check mat_usage data materialize searchqa --manifest manifest_searchqa \
    --source searchqa_rows.jsonl
check mat_unknown_bench data materialize squad --manifest manifest_searchqa \
    --source searchqa_rows.jsonl --out out/squad
check mat_token_unset data materialize searchqa --manifest manifest_searchqa \
    --source https://127.0.0.1:1/x.jsonl --out out/t \
    --token-env SKILLOPT_TEST_NO_SUCH_VARIABLE
check mat_no_source data materialize searchqa --manifest manifest_searchqa \
    --source nothing.jsonl --out out/none
expect "only the successful outputs exist" \
    test "$(ls "$work/out" | tr '\n' ' ')" = "livemath officeqa searchqa "

check corpus_usage data officeqa-corpus --pdfs somewhere
# a missing PDF folder (or a missing pdftotext) is a data problem: exit 3
n=$((n + 1))
(cd "$work" && "$bin" data officeqa-corpus --pdfs no-pdfs --out corpus \
    >/dev/null 2>&1)
code=$?
if [ "$code" != 3 ] || [ -e "$work/corpus/x" ]; then
    echo "FAIL corpus_missing: exit $code"
    fail=$((fail + 1))
fi

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
