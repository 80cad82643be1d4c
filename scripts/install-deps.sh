#!/bin/sh
# Installs exactly the Debian 12 packages skillopt needs to build and test.
# Idempotent: when everything is present it prints nothing and exits 0.
set -eu

PKGS="build-essential cmake pkg-config clang clang-format libclang-rt-14-dev \
libcurl4-openssl-dev libssl-dev libjansson-dev libfyaml-dev libsqlite3-dev \
libmicrohttpd-dev libcmocka-dev libzip-dev libexpat1-dev valgrind \
poppler-utils chromium bubblewrap python3-openpyxl"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
