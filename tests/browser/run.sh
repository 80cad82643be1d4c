#!/bin/sh
# Browser tests of the dashboard (issue 6): demo runs (one carrying
# hostile HTML in its skills and trajectories) served by `skillopt ui`,
# checked in headless Chromium driven by playwright-core
# (dashboard.test.mjs).  Chromium and Node.js come from
# scripts/install-deps.sh; playwright-core is installed here by `npm ci`
# from package-lock.json into tests/browser/node_modules (git-ignored).
# A missing browser or node is a failure, not a skip.
# Screenshots: $SKILLOPT_ARTIFACTS (default <build dir>/tests/browser/artifacts).
set -u
src=${SKILLOPT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$src/tests/browser
bin=${SKILLOPT_BIN:-$src/build/skillopt}
chromium=${CHROMIUM:-/usr/bin/chromium}
artifacts=${SKILLOPT_ARTIFACTS:-$(dirname "$bin")/tests/browser/artifacts}

fail() {
    echo "FAIL browser: $*"
    exit 1
}
command -v node >/dev/null 2>&1 || fail "node not found (run scripts/install-deps.sh)"
command -v npm >/dev/null 2>&1 || fail "npm not found (run scripts/install-deps.sh)"
[ -x "$chromium" ] || fail "$chromium not found (run scripts/install-deps.sh)"
[ -x "$bin" ] || fail "skillopt binary $bin not found"

# npm ci only when the lock file changed since the last install; flock
# keeps two builds' test runs from installing at the same time
(
    cd "$here" || exit 1
    flock 9
    if ! cmp -s package-lock.json node_modules/.skillopt-lock 2>/dev/null; then
        npm ci --no-audit --no-fund --loglevel=error >/dev/null || exit 1
        cp package-lock.json node_modules/.skillopt-lock
    fi
) 9<"$here/package.json" || fail "npm ci in $here failed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skillopt-browser.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/runs" "$artifacts"
"$bin" demo --no-ui --quiet --out_root "$tmp/runs/demo" >"$tmp/demo.out" 2>&1 ||
    { cat "$tmp/demo.out"; fail "skillopt demo failed"; }

node "$here/dashboard.test.mjs" "$tmp/runs" "$artifacts"
