#!/bin/sh
# `skillopt ui` end to end: a demo run served from a runs directory on a
# free port (--port 0 prints the real one), the run list and the page over
# HTTP, SIGTERM stops it cleanly, a busy port and bad arguments are
# refused; `skillopt demo` and `skillopt train --ui` print the live view's
# URL (or say why it could not start) and `demo --no-ui` does not.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
fail=0 n=0
http() { curl -q -s --noproxy '*' --max-time 10 "$@"; }

failed() { # name, message
    echo "FAIL $1: $2"
    fail=$((fail + 1))
}

expect() { # name, wanted exit status, pattern in stdout+stderr, command...
    name=$1 want=$2 pat=$3
    shift 3
    n=$((n + 1))
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ] || ! cat "$tmp/out" "$tmp/err" | grep -q -- "$pat"; then
        failed "$name" "exit $got (want $want, pattern '$pat'): $(cat "$tmp/out" "$tmp/err" | head -5)"
    fi
}

# starts `skillopt ui ARGS` in the background; sets pid and url
start_ui() {
    "$bin" ui "$@" >"$tmp/ui.out" 2>"$tmp/ui.err" &
    pid=$!
    pids="$pids $pid"
    url=""
    i=0
    while [ $i -lt 50 ] && [ -z "$url" ]; do
        url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$tmp/ui.out" 2>/dev/null | head -1)
        [ -n "$url" ] || sleep 0.1
        i=$((i + 1))
    done
}

mkdir -p runs
expect demo_no_ui 0 "best skill:" "$bin" demo --no-ui --quiet --out_root "$tmp/runs/demo1"
n=$((n + 1))
if grep -q "dashboard" "$tmp/out" "$tmp/err"; then
    failed demo_no_ui_silent "--no-ui still mentions the dashboard"
fi

# serve the runs directory on any free port
n=$((n + 1))
start_ui --runs "$tmp/runs" --port 0
if [ -z "$url" ]; then
    failed start "no URL printed: $(cat "$tmp/ui.out" "$tmp/ui.err")"
else
    n=$((n + 1))
    body=$(http "${url}api/runs")
    case $body in
    *'"id": "demo1"'*'"status": "finished"'*) ;;
    *) failed api_runs "unexpected /api/runs: $body" ;;
    esac
    n=$((n + 1))
    code=$(http -o "$tmp/page" -w '%{http_code}' "$url")
    if [ "$code" != 200 ] || ! grep -qi "<html" "$tmp/page"; then
        failed page "GET / gave $code"
    fi
    n=$((n + 1))
    code=$(http -o /dev/null -w '%{http_code}' "${url}api/file?run=demo1&path=..%2F..%2Fetc%2Fpasswd")
    [ "$code" = 400 ] || failed traversal "got $code"
    # the same port again: refused with a clear message
    port=${url#http://127.0.0.1:}
    port=${port%/}
    expect busy 1 "port $port on 127.0.0.1 is in use" "$bin" ui --runs "$tmp/runs" --port "$port"
fi
n=$((n + 1))
kill -TERM "$pid" 2>/dev/null
wait "$pid"
st=$?
[ "$st" = 0 ] || failed sigterm "exit $st after SIGTERM"

expect no_runs 2 "--runs DIR is required" "$bin" ui
expect bad_port 2 "--port wants a number" "$bin" ui --runs "$tmp/runs" --port 80x
expect not_dir 2 "is not a directory" "$bin" ui --runs "$tmp/nope"
expect extra_arg 2 "unexpected argument" "$bin" ui --runs "$tmp/runs" stray
expect help 0 "usage: skillopt ui" "$bin" help ui

# the live view of a training: a URL, or why there is none (ports taken)
expect demo_ui 0 "dashboard" "$bin" demo --quiet --out_root "$tmp/runs/demo2"
n=$((n + 1))
if ! grep -q "^dashboard: http://127.0.0.1:78[6-8][0-9]/ " "$tmp/out" &&
    ! grep -q "dashboard not started: ui: ports 7860-7880" "$tmp/err"; then
    failed demo_ui_url "$(cat "$tmp/out" "$tmp/err" | head -3)"
fi
expect train_ui 0 "dashboard" "$bin" train --config "$src/configs/demo.yaml" \
    --out_root "$tmp/runs/t1" --num_epochs 1 --quiet --ui \
    --cfg-options env.split_dir="$src/data/demo" \
    env.skill_init="$src/skills/demo/initial.md"

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
