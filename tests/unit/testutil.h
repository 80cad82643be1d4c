/*
 * testutil.h - helpers shared by the cmocka unit tests.
 *
 * Include after <cmocka.h>'s prerequisites (stdarg, stddef, setjmp, stdint).
 * Temporary directories live under $TMPDIR and are removed by
 * tu_rmtree; paths returned are owned by the caller (free with sk_free).
 */
#ifndef SK_TESTUTIL_H
#define SK_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh temporary directory; aborts the test on failure. */
char *tu_mkdtemp(void);
/* rm -rf path (best effort). */
void tu_rmtree(const char *path);
/* Writes text to dir/name (creating parent dirs); returns the full path. */
char *tu_write(const char *dir, const char *name, const char *text);
/* Reads a whole file into a new NUL-terminated string, or NULL. */
char *tu_read(const char *path, size_t *len);
/* $SKILLOPT_SOURCE_DIR/rel (or ./rel), new string. */
char *tu_source_path(const char *rel);

/*
 * Allocation-failure sweep: runs body once per allocation it makes, failing
 * the 1st, 2nd, ... call, until a run completes without an injected
 * failure.  body returns 0 on success or a negative status; it must then
 * have freed everything, which the sweep checks with sk_alloc_live().
 * Returns the number of runs.  A run that fails without an injected
 * failure, or succeeds although one fired, or leaks, fails the test.
 */
typedef int (*tu_sweep_fn)(void *ctx);
int tu_alloc_sweep(tu_sweep_fn body, void *ctx);

#endif
