#!/bin/sh
# Installs the pinned agent CLIs that the tests drive against the simulator
# (tests/cli/agent_clis.sh): OpenAI Codex and Claude Code, with npm, into
# the project-local folder .tools/agent-clis/ (git-ignored; never a global
# install).  Override the folder with SKILLOPT_AGENT_CLIS_DIR.
#
# Idempotent: when both pinned versions are present it prints nothing and
# exits 0.  When npm or the registry is unavailable it says so and exits 0
# (the tests then skip); it exits 1 only when an install that npm reported
# as done left a CLI that does not run or has the wrong version.
set -u

CODEX_VERSION=0.169.0
CLAUDE_VERSION=2.1.328
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${SKILLOPT_AGENT_CLIS_DIR:-$src/.tools/agent-clis}
bin=$dir/node_modules/.bin

# 0 when both CLIs report the pinned versions.  Private HOME: --version
# must not read or write the user's configuration.
installed() {
    [ -x "$bin/codex" ] && [ -x "$bin/claude" ] || return 1
    vhome=$(mktemp -d "${TMPDIR:-/tmp}/agent-clis-home.XXXXXX") || return 1
    cv=$(HOME=$vhome CODEX_HOME=$vhome timeout 30 "$bin/codex" --version 2>/dev/null)
    av=$(HOME=$vhome timeout 30 "$bin/claude" --version 2>/dev/null)
    rm -rf "$vhome"
    [ "$cv" = "codex-cli $CODEX_VERSION" ] &&
        [ "$av" = "$CLAUDE_VERSION (Claude Code)" ]
}

installed && exit 0

if ! command -v npm >/dev/null 2>&1; then
    echo "install-agent-clis: npm not found; the agent CLI tests will skip" \
        "(install Node.js >= 22 and npm to run them)"
    exit 0
fi

mkdir -p "$dir" || exit 1
log=$dir/install.log
# flock: two builds' test runs may call this at the same time
(
    flock 9
    installed && exit 0
    echo "install-agent-clis: installing @openai/codex@$CODEX_VERSION and" \
        "@anthropic-ai/claude-code@$CLAUDE_VERSION into $dir" >&2
    timeout 900 npm install --no-audit --no-fund --no-save --loglevel=error \
        --prefix "$dir" "@openai/codex@$CODEX_VERSION" \
        "@anthropic-ai/claude-code@$CLAUDE_VERSION" >"$log" 2>&1 || exit 3
    installed || exit 4
) 9>"$dir/.lock"
case $? in
0) exit 0 ;;
3)
    echo "install-agent-clis: npm install failed (registry unreachable or" \
        "offline?); the agent CLI tests will skip.  Last lines of $log:"
    tail -n 5 "$log" | sed 's/^/  /'
    exit 0
    ;;
*)
    echo "install-agent-clis: npm installed the CLIs but they do not report" \
        "codex-cli $CODEX_VERSION and $CLAUDE_VERSION (Claude Code); see $log" >&2
    exit 1
    ;;
esac
