/*
 * testutil.c - see testutil.h.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/skillopt-test-XXXXXX",
             base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(tmpl));
    return sk_strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_write(const char *dir, const char *name, const char *text)
{
    char *path = sk_fs_join(dir, name);
    char *parent;
    FILE *fp;
    assert_non_null(path);
    parent = sk_fs_dirname(path);
    assert_int_equal(sk_fs_mkdirs(parent, NULL), 0);
    sk_free(parent);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(text, 1, strlen(text), fp);
    fclose(fp);
    return path;
}

char *tu_read(const char *path, size_t *len)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_fs_read(path, SK_BUF_UNLIMITED, &b, NULL) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, len);
}

char *tu_source_path(const char *rel)
{
    const char *src = getenv("SKILLOPT_SOURCE_DIR");
    return sk_fs_join(src && *src ? src : ".", rel);
}

int tu_alloc_sweep(tu_sweep_fn body, void *ctx)
{
    long n;
    for (n = 1; n < 1000000; n++) {
        long live0 = sk_alloc_live();
        int rc, fired;
        sk_alloc_fail_at(n);
        rc = body(ctx);
        fired = sk_alloc_failed();
        sk_alloc_fail_at(0);
        if (sk_alloc_live() != live0)
            fail_msg("allocation sweep: run %ld leaked %ld block(s)", n,
                     sk_alloc_live() - live0);
        if (!fired) {
            if (rc != 0)
                fail_msg("allocation sweep: run %ld failed (%d) without an "
                         "injected failure",
                         n, rc);
            return (int)n;
        }
        if (rc == 0)
            continue; /* the failure was absorbed; acceptable */
        if (rc > 0)
            fail_msg("allocation sweep: run %ld returned %d", n, rc);
    }
    fail_msg("allocation sweep did not terminate");
    return -1;
}
