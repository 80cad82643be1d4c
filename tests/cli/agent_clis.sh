#!/bin/sh
# agent_clis.sh - the real Claude Code and Codex CLIs against the simulator
# (issue 8): pinned versions installed by scripts/install-agent-clis.sh into
# .tools/agent-clis/, the simulator served by the hidden `skillopt llm sim`
# with its scripted agent (src/llm/sim_agent.h), each CLI run in a fresh
# workspace with a private HOME (and CODEX_HOME) and a fake key.  Checks:
# exit status, the answer file written by the CLI's own tool call, the
# final answer carrying the key of the skill file where it was placed, the
# JSON event stream, and that the simulator saw only model requests; then
# an auth failure (401) and a rate limit (429) for each CLI.
#
# Skips (exit 0) when the CLIs cannot be installed (no npm, no registry).
# Runs in a network namespace of its own with only loopback when
# `unshare -rn` works, so the CLIs cannot reach anything but the simulator.
# SKILLOPT_BLESS=1 copies the event streams to tests/fixtures/agent/ (for
# the parser tests of src/agent/).
set -u
src=${SKILLOPT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SKILLOPT_BIN:-$src/build/skillopt}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
clis=${SKILLOPT_AGENT_CLIS_DIR:-$src/.tools/agent-clis}/node_modules/.bin
fixtures=$src/tests/fixtures/agent

if [ -z "${AGENT_CLIS_INNER:-}" ]; then
    [ -x "$bin" ] || { echo "FAIL agent_clis: no skillopt binary at $bin"; exit 1; }
    command -v python3 >/dev/null 2>&1 ||
        { echo "FAIL agent_clis: python3 not found"; exit 1; }
    sh "$src/scripts/install-agent-clis.sh" ||
        { echo "FAIL agent_clis: scripts/install-agent-clis.sh failed"; exit 1; }
    vhome=$(mktemp -d "${TMPDIR:-/tmp}/skillopt-agent-v.XXXXXX") || exit 1
    cv=$(HOME=$vhome CODEX_HOME=$vhome "$clis/codex" --version 2>/dev/null)
    av=$(HOME=$vhome "$clis/claude" --version 2>/dev/null)
    rm -rf "$vhome"
    if [ "$cv" != "codex-cli 0.169.0" ] ||
        [ "$av" != "2.1.328 (Claude Code)" ]; then
        echo "SKIP agent_clis: the pinned agent CLIs are not installed" \
            "(see above)"
        exit 0
    fi
    PATH=$PATH:/usr/sbin:/sbin
    export PATH
    if unshare -rn sh -c 'ip link set lo up' >/dev/null 2>&1; then
        AGENT_CLIS_INNER=netns
        export AGENT_CLIS_INNER
        exec unshare -rn sh "$0"
    fi
    echo "note: unshare -rn unavailable; running without a network namespace"
    AGENT_CLIS_INNER=host
fi
if [ "$AGENT_CLIS_INNER" = netns ]; then
    ip link set lo up || { echo "FAIL agent_clis: lo not up"; exit 1; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skillopt-agent.XXXXXX") || exit 1
sim_pid=
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0 n=0
PROMPT="Read task.md and the skill, write the answer file, then answer."

bad() {
    echo "FAIL $name: $*"
    case_bad=1
}

# begin NAME / end: one case; a case with any bad check counts once.
begin() {
    name=$1
    case_bad=0
    n=$((n + 1))
}

end() {
    if [ "$case_bad" -ne 0 ]; then
        fail=$((fail + 1))
    elif [ -n "$1" ]; then
        bless "$name" "$1"
    fi
}

# start_sim ARGS...: serves the scripted agent; sets url and sim_pid.
start_sim() {
    : >"$tmp/sim.log"
    : >"$tmp/url"
    "$bin" llm sim --timeout 120 --log "$tmp/sim.log" "$@" >"$tmp/url" &
    sim_pid=$!
    i=0
    while [ ! -s "$tmp/url" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    url=$(cat "$tmp/url")
    [ -n "$url" ] || { echo "FAIL agent_clis: the simulator did not start"; exit 1; }
}

stop_sim() {
    kill "$sim_pid" 2>/dev/null
    wait "$sim_pid" 2>/dev/null
    sim_pid=
}

# workspace NAME SKILL_PATH KEY: a fresh workspace with task.md and the
# skill at SKILL_PATH; sets ws.
workspace() {
    ws=$tmp/$1/work
    mkdir -p "$ws/$(dirname "$2")" "$tmp/$1/home"
    printf 'TASK-ID: t-%s\nUse the skill to find the answer key.\n' "$1" \
        >"$ws/task.md"
    printf -- '---\nname: demo\ndescription: Demo skill of the agent CLI tests.\n---\n# Demo\nWrite the key below into answer.txt and give it as the answer.\nSKILL-KEY: %s\n' \
        "$3" >"$ws/$2"
}

# run_claude NAME: Claude Code in the workspace; sets rc.
run_claude() {
    (cd "$ws" && printf '%s\n' "$PROMPT" |
        env -i PATH="$PATH" HOME="$tmp/$1/home" LANG=C.UTF-8 \
            ANTHROPIC_BASE_URL="$url" ANTHROPIC_API_KEY=sk-test-0000 \
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 \
            DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
            CLAUDE_CODE_MAX_RETRIES=0 \
            timeout 60 "$clis/claude" -p --output-format stream-json \
            --verbose --model claude-sonnet-4-5 \
            --allowedTools Bash,Read,Write \
            >"$tmp/$1/stream.jsonl" 2>"$tmp/$1/stderr")
    rc=$?
}

# run_codex NAME: codex exec in the workspace with a private CODEX_HOME
# (outside TMPDIR: codex refuses to set up its sandbox helper under the
# temporary directory); sets rc.
run_codex() {
    ch=$tmp/$1/codex-home
    mkdir -p "$ch" "$tmp/$1/tmpdir"
    cat >"$ch/config.toml" <<EOF
model = "gpt-5.5"
model_provider = "sim"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
apps = false

[model_providers.sim]
name = "skillopt simulator"
base_url = "$url/v1"
wire_api = "responses"
env_key = "SKILLOPT_SIM_KEY"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
EOF
    (cd "$ws" && printf '%s\n' "$PROMPT" |
        env -i PATH="$PATH" HOME="$tmp/$1/home" LANG=C.UTF-8 \
            TMPDIR="$tmp/$1/tmpdir" CODEX_HOME="$ch" \
            SKILLOPT_SIM_KEY=sk-test-0000 \
            timeout 60 "$clis/codex" exec --json --skip-git-repo-check \
            >"$tmp/$1/stream.jsonl" 2>"$tmp/$1/stderr")
    rc=$?
}

# check_stream NAME KIND EXPECT...: the stream's structure (python3).
check_stream() {
    python3 - "$tmp/$1/stream.jsonl" "$2" "$3" "$4" <<'EOF' || return 1
import json, sys
path, kind, a, b = sys.argv[1:5]
ev = []
for i, line in enumerate(open(path, encoding="utf-8"), 1):
    try:
        ev.append(json.loads(line))
    except ValueError as e:
        sys.exit(f"line {i} is not JSON: {e}")
if not ev:
    sys.exit("empty stream")
def need(cond, what):
    if not cond:
        sys.exit(what)
if kind == "claude":
    key, ctx = a, b
    need(ev[0].get("type") == "system" and ev[0].get("subtype") == "init",
         "first event is not system/init")
    uses = [c for e in ev if e.get("type") == "assistant"
            for c in e["message"]["content"] if c.get("type") == "tool_use"]
    results = [c for e in ev if e.get("type") == "user"
               for c in e["message"]["content"]
               if isinstance(c, dict) and c.get("type") == "tool_result"]
    need([u["name"] for u in uses] == ["Bash", "Write"],
         f"tool calls {[u['name'] for u in uses]}, want Bash, Write")
    need(sorted(r["tool_use_id"] for r in results) ==
         sorted(u["id"] for u in uses), "tool results do not match the calls")
    need(not any(r.get("is_error") for r in results), "a tool call failed")
    last = ev[-1]
    need(last.get("type") == "result" and not last.get("is_error"),
         "last event is not a successful result")
    need(f"<answer>{key}</answer>" in last.get("result", ""),
         f"result lacks <answer>{key}</answer>: {last.get('result')!r}")
    need(f"skill-in-context: {ctx}" in last["result"],
         f"want skill-in-context: {ctx}")
    need(last["usage"]["input_tokens"] > 0, "no usage")
elif kind == "codex":
    key, ctx = a, b
    types = [e.get("type") for e in ev]
    need(types[0] == "thread.started" and "turn.started" in types and
         types[-1] == "turn.completed", f"event order {types}")
    done = [e["item"] for e in ev if e.get("type") == "item.completed"]
    cmds = [i for i in done if i.get("type") == "command_execution"]
    need(cmds and cmds[0].get("exit_code") == 0 and
         f"SKILL-KEY: {key}" in cmds[0].get("aggregated_output", ""),
         "no successful command_execution that read the skill")
    need(any(i.get("type") == "file_change" and i.get("status") == "completed"
             for i in done), "no completed file_change")
    msgs = [i["text"] for i in done if i.get("type") == "agent_message"]
    need(msgs and f"<answer>{key}</answer>" in msgs[-1],
         f"last agent_message lacks <answer>{key}</answer>")
    need(f"skill-in-context: {ctx}" in msgs[-1], f"want skill-in-context: {ctx}")
    need(ev[-1]["usage"]["input_tokens"] > 0, "no usage")
elif kind == "claude-fail":
    status = int(a)
    last = ev[-1]
    need(last.get("type") == "result" and last.get("is_error") is True,
         "last event is not an error result")
    need(last.get("api_error_status") == status,
         f"api_error_status {last.get('api_error_status')}, want {status}")
elif kind == "codex-fail":
    need(ev[-1].get("type") == "turn.failed", "last event is not turn.failed")
    need(a in ev[-1]["error"]["message"], f"turn.failed does not name {a}")
EOF
}

# Only model requests, each answered with STATUS.
check_log() {
    if grep -v -E "^POST /v1/$1(\?beta=true)? $2\$" "$tmp/sim.log" |
        grep -q .; then
        bad "unexpected requests: $(grep -v -E "^POST /v1/$1" "$tmp/sim.log" |
            head -3)"
    fi
    grep -q . "$tmp/sim.log" || bad "the simulator saw no request"
}

bless() {
    if [ "${SKILLOPT_BLESS:-0}" = 1 ]; then
        mkdir -p "$fixtures"
        cp "$tmp/$1/stream.jsonl" "$fixtures/$2"
    fi
}

# success NAME CLI SKILL_PATH KEY CONTEXT [FIXTURE]
success() {
    begin "$1"
    workspace "$1" "$3" "$4"
    start_sim --skill "$3"
    if [ "$2" = claude ]; then
        run_claude "$1"
        wire=messages
    else
        run_codex "$1"
        wire=responses
    fi
    stop_sim
    [ "$rc" -eq 0 ] || bad "exit $rc: $(tail -n 3 "$tmp/$1/stderr")"
    [ "$(cat "$ws/answer.txt" 2>/dev/null)" = "$4" ] ||
        bad "answer.txt is not '$4' (the tool call did not write it)"
    err=$(check_stream "$1" "$2" "$4" "$5" 2>&1) || bad "$err"
    check_log "$wire" 200
    end "${6:-}"
}

# failure NAME CLI STATUS FIXTURE
failure() {
    begin "$1"
    workspace "$1" .agents/skills/demo/SKILL.md unused
    start_sim --fail-status "$3"
    if [ "$2" = claude ]; then
        run_claude "$1"
        wire=messages
    else
        run_codex "$1"
        wire=responses
    fi
    stop_sim
    [ "$rc" -ne 0 ] || bad "exit 0 on a $3"
    [ ! -e "$ws/answer.txt" ] || bad "answer.txt written despite a $3"
    err=$(check_stream "$1" "$2-fail" "$3" - 2>&1) || bad "$err"
    check_log "$wire" "$3"
    end "$4"
}

success claude_skills claude .agents/skills/demo/SKILL.md heron-42 no \
    claude_stream.jsonl
success claude_claude_md claude CLAUDE.md osprey-7 yes
success claude_dot_claude claude .claude/skills/demo/SKILL.md ibis-3 no
success codex_skills codex .agents/skills/demo/SKILL.md heron-42 no \
    codex_exec.jsonl
success codex_agents_md codex AGENTS.md osprey-7 yes
failure claude_401 claude 401 claude_auth_401.jsonl
failure claude_429 claude 429 claude_rate_limit_429.jsonl
failure codex_401 codex 401 codex_auth_401.jsonl
failure codex_429 codex 429 codex_rate_limit_429.jsonl

# skillopt train end to end with each real CLI as the target (through
# skillopt's own agent runner: workspace, skill file, stdin prompt, event
# stream) and the in-process simulator as the optimizer, on a small YAML
# benchmark whose gold answer is the key the skill holds.
tb=$tmp/tb
mkdir -p "$tb/data/train" "$tb/data/val" "$tb/data/test"
for s in train val test; do
    printf '[{"id": "%s-1", "question": "Find the key.", "answer": "heron-42"},\n {"id": "%s-2", "question": "Find the key again.", "answer": "heron-42"}]\n' \
        "$s" "$s" >"$tb/data/$s/items.json"
done
cat >"$tb/bench.yaml" <<'EOF2'
name: keybench
fields:
  question: question
  answers: answer
prompts:
  system: |
    You find answer keys.

    {{skill_section}}Give the key between <answer> and </answer>.
  user: "TASK-ID: {{id}} {{question}}"
extract:
  mode: tag
  tag: answer
scorer:
  type: em
EOF2
printf '# Keys\nWrite the key below into answer.txt and give it as the answer.\nSKILL-KEY: heron-42\n' \
    >"$tb/initial.md"

# train_with NAME BACKEND CFG...: one training run of skillopt whose
# target is the CLI (its settings in the environment set by the caller).
train_with() {
    begin "$1"
    out=$tmp/$1/out
    tname=$1 tb_backend=$2
    shift 2
    "$bin" train --config "$src/configs/_base_/default.yaml" \
        --out_root "$out" --quiet --cfg-options \
        env.benchmark="$tb/bench.yaml" env.name=keybench \
        env.split_mode=split_dir env.split_dir="$tb/data" \
        env.skill_init="$tb/initial.md" model.optimizer_backend=sim \
        model.target_backend="$tb_backend" train.train_size=0 \
        train.batch_size=2 train.num_epochs=1 env.workers=2 \
        model.agent_timeout=120 "$@" >"$tmp/$tname.out" 2>&1
    rc=$?
    stop_sim
    [ "$rc" -eq 0 ] || bad "train exit $rc: $(tail -n 5 "$tmp/$tname.out")"
    [ -s "$out/best_skill.md" ] || bad "no best_skill.md"
    grep -rq '"hard": 1' "$out" --include=results.jsonl ||
        bad "no item answered with the skill's key"
    conv=$(find "$out" -name conversation.json | head -n 1)
    grep -q '"tool_call"' "$conv" 2>/dev/null ||
        bad "no tool call of the CLI in ${conv:-any conversation.json}"
    ls "$out/agent_runs/"*_events.jsonl >/dev/null 2>&1 ||
        bad "no event stream kept under agent_runs/"
    end ""
}

start_sim --skill .agents/skills/skillopt-target/SKILL.md
mkdir -p "$tmp/train_claude/home"
HOME=$tmp/train_claude/home ANTHROPIC_BASE_URL=$url \
    ANTHROPIC_API_KEY=sk-test-0000 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
    CLAUDE_CODE_MAX_RETRIES=0 \
    train_with train_claude claude_code_exec \
    "model.agent_env=[CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC,DISABLE_AUTOUPDATER,DISABLE_TELEMETRY,DISABLE_ERROR_REPORTING,CLAUDE_CODE_MAX_RETRIES]" \
    model.claude_code_exec_path="$clis/claude"

start_sim --skill .agents/skills/skillopt-target/SKILL.md
ch=$tmp/train_codex/codex-home
mkdir -p "$ch" "$tmp/train_codex/home" "$tmp/train_codex/tmpdir"
cat >"$ch/config.toml" <<EOF3
model = "gpt-5.5"
model_provider = "sim"
approval_policy = "never"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
apps = false

[model_providers.sim]
name = "skillopt simulator"
base_url = "$url/v1"
wire_api = "responses"
env_key = "SKILLOPT_SIM_KEY"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
EOF3
HOME=$tmp/train_codex/home TMPDIR=$tmp/train_codex/tmpdir CODEX_HOME=$ch \
    SKILLOPT_SIM_KEY=sk-test-0000 \
    train_with train_codex codex_exec "model.agent_env=[SKILLOPT_SIM_KEY]" \
    model.codex_exec_path="$clis/codex"

echo "agent_clis ($AGENT_CLIS_INNER): $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
