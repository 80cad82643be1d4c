#!/bin/sh
# House rules that a compiler does not check (STYLE.md): banned functions,
# bare malloc/free outside the allocation gateway, and clang-format.
# Usage: scripts/checksrc.sh   (run from anywhere; exits 1 on a violation)
set -u
cd "$(dirname "$0")/.."
fail=0
files=$(find src tests bench -name '*.c' -o -name '*.h' | sort)
banned=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|strtok|system)[[:space:]]*\(' $files |
    grep -vE '\b(snprintf|vsnprintf)\b' | grep -v '^\S*:[0-9]*:\s*\*' || true)
if [ -n "$banned" ]; then
    echo "banned functions (use snprintf, sk_buf, strtol):"; echo "$banned"; fail=1
fi
bare=$(grep -nE '(^|[^_[:alnum:]])(malloc|calloc|realloc|free|strdup|strndup)[[:space:]]*\(' $(echo "$files" | grep '^src/' | grep -v 'src/util/alloc.c') |
    grep -v '^\S*:[0-9]*:\s*/\?\*' | grep -v 'free() \*/\|freed with free()\|/\* from \|libc-allocated' || true)
if [ -n "$bare" ]; then
    # realpath() and open_memstream() buffers come from libc and must go
    # back with free(); such lines carry a comment saying so.
    bare=$(echo "$bare" | grep -v 'free(rp)\|free(real)\|/\* libc' || true)
fi
if [ -n "$bare" ]; then
    echo "bare allocation outside src/util/alloc.c (use sk_malloc/sk_free):"; echo "$bare"; fail=1
fi
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run -Werror $files >/dev/null 2>&1; then
        echo "not clang-formatted (run: clang-format -i FILE):"
        for f in $files; do
            clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "  $f"
        done
        fail=1
    fi
else
    echo "clang-format not installed"; fail=1
fi
[ "$fail" -eq 0 ] && echo "checksrc: 1 passed, 0 failed"
exit "$fail"
