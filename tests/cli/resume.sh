#!/bin/sh
# Kill-and-resume of `skillopt train`: a run killed with SIGKILL at several
# points and rerun with the same command ends with the same history (but
# for timing and token fields), best skill, skills/ and summary scores as
# an uninterrupted run, and no model request that had completed is sent
# again (counted in llm_requests.jsonl: one line per finished request).  The simulator adds latency so that the run lasts a few seconds.
set -u
bin=${SKILLOPT_BIN:-build/skillopt}
src=${SKILLOPT_SOURCE_DIR:-.}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0 n=0
check="python3 $src/tests/cli/runcheck.py"
train() { # out_root; exec: a background job's pid is then skillopt's own
    exec "$bin" train --config "$src/configs/demo.yaml" --out_root "$1" \
        --quiet --cfg-options env.split_dir="$src/data/demo" \
        env.skill_init="$src/skills/demo/initial.md" llm.sim_latency_ms=25
}
now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }

unset OPENAI_COMPATIBLE_BASE_URL OPENAI_COMPATIBLE_API_KEY 2>/dev/null

t0=$(now_ms)
if ! (train "$tmp/d0") >"$tmp/out" 2>&1; then
    echo "FAIL reference run:"
    sed 's/^/  /' "$tmp/out"
    exit 1
fi
ms=$(($(now_ms) - t0))
sent0=$($check sent "$tmp/d0")
echo "reference run: $ms ms, $sent0 model requests"

# kill at 5%, 25% (twice: in the first attempt and in the first rerun),
# 50% and 75% of the reference run's wall time
for case in "5 1" "25 2" "50 1" "75 1"; do
    set -- $case
    pct=$1 kills=$2 d=$tmp/d$1
    delay=$(awk -v ms="$ms" -v p="$pct" 'BEGIN { printf "%.2f", ms * p / 100000 }')
    k=0 tries=0
    while [ "$k" -lt "$kills" ]; do
        (train "$d") >"$tmp/killed.out" 2>&1 &
        pid=$!
        sleep "$delay"
        if kill -9 "$pid" 2>/dev/null; then
            k=$((k + 1))
        else
            # the run ended before the kill (a faster machine than the
            # reference run's): start over with a shorter delay
            tries=$((tries + 1))
            if [ "$tries" -ge 3 ]; then
                n=$((n + 1))
                echo "FAIL kill_$pct: the run ended before each kill"
                fail=$((fail + 1))
                break
            fi
            rm -rf "$d"
            k=0
            delay=$(awk -v d="$delay" 'BEGIN { printf "%.2f", d * 0.6 }')
        fi
        wait "$pid" 2>/dev/null
    done
    n=$((n + 1))
    if ! (train "$d") >"$tmp/out" 2>&1; then
        echo "FAIL resume_$pct: the rerun after the kill at $delay s failed:"
        sed 's/^/  /' "$tmp/out"
        fail=$((fail + 1))
        continue
    fi
    n=$((n + 1))
    if ! $check same "$tmp/d0" "$d" >"$tmp/v" 2>&1; then
        echo "FAIL same_$pct: killed at $delay s ($kills x), outputs differ from the uninterrupted run:"
        sed 's/^/  /' "$tmp/v"
        fail=$((fail + 1))
    fi
    # No completed request is sent twice: over all attempts, at most as
    # many requests left for a provider as in the uninterrupted run.  Not
    # exactly as many: the client (src/llm/client.c, finish_one) stores a
    # reply in the cache before it logs the request, so a kill between the
    # two leaves a cached reply without its log line.  That window is
    # microseconds wide and at most the concurrent batches' callers
    # (analyst_workers, 8) are in it at once.
    n=$((n + 1))
    sent=$($check sent "$d")
    if [ "$sent" -gt "$sent0" ] || [ "$sent" -lt $((sent0 - 8 * kills)) ]; then
        echo "FAIL sent_$pct: killed at $delay s ($kills x): $sent model requests over all attempts, uninterrupted $sent0"
        fail=$((fail + 1))
    fi
done

echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
