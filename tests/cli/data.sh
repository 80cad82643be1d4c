#!/bin/sh
# Golden tests of `skillopt data check`: bad splits and skill files give one
# clear message naming the file, exit status 3, and write nothing.
# Regenerate after an intended change with: SKILLOPT_BLESS=1 sh data.sh
set -u
fixtures=data
. "${SKILLOPT_SOURCE_DIR:-.}/tests/cli/harness.inc"

check data_good        data check --config data.yaml
check data_not_array   data check --config data.yaml --split_dir notarray
check data_no_id       data check --config data.yaml --split_dir noid
check data_leak        data check --config data.yaml --split_dir leak
check data_schema      data check --config data.yaml --split_dir schema
check data_missing_dir data check --config data.yaml --split_dir nowhere
check data_binary_skill data check --config data.yaml --skill_init binary.md
check data_missing_skill data check --config data.yaml --skill_init nope.md
check data_train_size  data check --config data.yaml --train_size 5
check data_bad_split_mode data check --config data.yaml --split_mode thirds
check data_no_subcommand data

finish
