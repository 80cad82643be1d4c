# lib.sh - shared harness of the CLI golden tests (sourced, not run).
#
# The caller sets `fixtures` (a directory under tests/cli/) before sourcing.
# It is copied to a scratch tree next to a copy of configs/; `check NAME
# ARGS...` runs `skillopt ARGS...` inside it and compares exit status,
# stdout and stderr with tests/cli/golden/NAME, and fails if the command
# changed any file.  SKILLOPT_BLESS=1 rewrites the golden files instead.
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
golden=$src/tests/cli/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=$tmp/tree res=$tmp/res
mkdir -p "$work" "$res"
cp -r "$src/tests/cli/$fixtures" "$work/$fixtures"
mkdir -p "$work/configs" && cp -r "$src/configs/." "$work/configs/"
fail=0 n=0

check() { # name, then the command line after "skillopt"
    name=$1
    shift
    n=$((n + 1))
    before=$(cd "$work" && find . | sort | xargs -r md5sum 2>/dev/null)
    (cd "$work/$fixtures" && "$bin" "$@" >"$res/out" 2>"$res/err"
     echo "exit $?" >"$res/code")
    after=$(cd "$work" && find . | sort | xargs -r md5sum 2>/dev/null)
    { cat "$res/code"; echo "--- stdout"; cat "$res/out"
      echo "--- stderr"; cat "$res/err"; } >"$res/got"
    if [ "${SKILLOPT_BLESS:-0}" = 1 ]; then
        cp "$res/got" "$golden/$name"
    elif ! cmp -s "$res/got" "$golden/$name"; then
        echo "FAIL $name"
        diff -u "$golden/$name" "$res/got" | head -40
        fail=$((fail + 1))
    fi
    # a command that only reads must write nothing
    if [ "$before" != "$after" ]; then
        echo "FAIL $name: the command changed files"
        fail=$((fail + 1))
    fi
}

finish() {
    echo "$((n - fail)) passed, $fail failed"
    [ "$fail" -eq 0 ]
}
