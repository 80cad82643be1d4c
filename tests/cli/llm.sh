#!/bin/sh
# `skillopt llm check` end to end: the simulator answers both roles; a
# missing key is a configuration error before anything is sent; a budget
# too small for the request is exit 5; an unreachable provider is exit 4.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
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
        sed 's/^/  /' "$tmp/out"
        fail=$((fail + 1))
    fi
}

unset OPENAI_API_KEY AZURE_OPENAI_ENDPOINT AZURE_OPENAI_API_KEY \
    OPENAI_COMPATIBLE_BASE_URL OPTIMIZER_AZURE_OPENAI_ENDPOINT \
    TARGET_AZURE_OPENAI_ENDPOINT 2>/dev/null

expect sim_both 0 "target: sim sim-target" \
    "$bin" llm check --config "$src/configs/demo.yaml"
expect sim_reply 0 "reply: echo: ping" \
    "$bin" llm check --config "$src/configs/demo.yaml" --role target --prompt ping
expect missing_key 3 "no OpenAI key for the optimizer" \
    "$bin" llm check --config "$src/configs/searchqa/default.yaml"
expect budget 5 "budget" \
    "$bin" llm check --config "$src/configs/demo.yaml" --cfg-options llm.max_tokens=20
expect unreachable 4 "HTTP\|connect\|Couldn't\|refused" \
    "$bin" llm check --config "$src/configs/demo.yaml" --role target \
    --cfg-options model.target_backend=openai_compatible \
    llm.target_base_url=http://127.0.0.1:9/v1 llm.retries=1
expect bad_role 2 "--role must be" \
    "$bin" llm check --config "$src/configs/demo.yaml" --role judge

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
