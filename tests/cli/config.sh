#!/bin/sh
# Golden tests of `skillopt config`: each case runs a command line and
# compares exit status, stdout and stderr with tests/cli/golden/<case>.
# Regenerate after an intended change with: SKILLOPT_BLESS=1 sh config.sh
set -u
fixtures=config
. "${SKILLOPT_SOURCE_DIR:-.}/tests/cli/harness.inc"

check unknown_key      config --config unknown_key.yaml
check malformed        config --config malformed.yaml
check wrong_type       config --config wrong_type.yaml
check out_of_range     config --config out_of_range.yaml
check cycle            config --config cycle_a.yaml
check bad_enum         config --config bad_enum.yaml
check missing_file     config --config does_not_exist.yaml
check binary           config --config binary.yaml
check warnings         config --config warnings.yaml
check flat_legacy      config --config flat_legacy.yaml --print --show-origin
check searchqa_print   config --config ../configs/searchqa/default.yaml --print
check searchqa_json    config --config ../configs/searchqa/default.yaml --json
check overrides        config --config ../configs/searchqa/default.yaml --cfg-options train.batch_size=8 env.workers=3 --cfg-options seed=7 --batch-size 4 --print --show-origin
check bad_override     config --config ../configs/searchqa/default.yaml --cfg-options train.batch_size
check unknown_flag     config --config ../configs/searchqa/default.yaml --bach_size 3
check no_config        config --print
check secret_flag      config --config ../configs/searchqa/default.yaml --azure_openai_api_key sk-live-abcdefghijklmnop --print
check help_config      help config
check unknown_command  frobnicate
check version          --version

# docs/config-keys.txt is the output of `skillopt config --keys`
n=$((n + 1))
if [ "${SKILLOPT_BLESS:-0}" = 1 ]; then
    "$bin" config --keys >"$src/docs/config-keys.txt"
elif ! "$bin" config --keys | cmp -s - "$src/docs/config-keys.txt"; then
    echo "FAIL keys: docs/config-keys.txt is stale; regenerate it with"
    echo "     build/skillopt config --keys > docs/config-keys.txt"
    fail=$((fail + 1))
fi

finish
