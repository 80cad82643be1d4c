/*
 * test_util.c - buf, alloc, log redaction, fs atomic write, sha256.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/utf8.h"

static void test_buf__append_and_cap(void **state)
{
    struct sk_buf b;
    (void)state;
    sk_buf_init(&b, 10);
    assert_string_equal(sk_buf_cstr(&b), "");
    assert_int_equal(sk_buf_puts(&b, "hello"), SK_OK);
    assert_int_equal(sk_buf_printf(&b, "%d", 1234), SK_OK);
    assert_string_equal(b.data, "hello1234");
    /* Going past max is refused and leaves the contents unchanged. */
    assert_int_equal(sk_buf_puts(&b, "xy"), SK_ETOOBIG);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(b.len, 9);
    assert_int_equal(sk_buf_putc(&b, '!'), SK_OK);
    assert_int_equal(b.len, 10);
    assert_int_equal(sk_buf_printf(&b, "%s", "z"), SK_ETOOBIG);
    sk_buf_truncate(&b, 5);
    assert_string_equal(b.data, "hello");
    sk_buf_release(&b);
}

static void test_buf__growth_many_appends(void **state)
{
    struct sk_buf b;
    int i;
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < 10000; i++)
        assert_int_equal(sk_buf_append(&b, "abc", 3), SK_OK);
    assert_int_equal(b.len, 30000);
    assert_memory_equal(b.data + 29997, "abc", 4);
    sk_buf_release(&b);
}

static void test_buf__enomem_leaves_buffer_intact(void **state)
{
    struct sk_buf b;
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(&b, "keep"), SK_OK);
    sk_alloc_fail_at(1);
    assert_int_equal(sk_buf_append(&b, "x", 200), SK_ENOMEM);
    sk_alloc_fail_at(0);
    assert_string_equal(b.data, "keep");
    sk_buf_release(&b);
}

static void test_buf__detach_empty(void **state)
{
    struct sk_buf b;
    size_t len = 99;
    char *s;
    (void)state;
    sk_buf_init(&b, 4);
    s = sk_buf_detach(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    sk_free(s);
}

static void test_alloc__fail_at_and_live(void **state)
{
    long live = sk_alloc_live();
    void *a, *b;
    (void)state;
    sk_alloc_fail_at(2);
    a = sk_malloc(8);
    b = sk_malloc(8);
    assert_non_null(a);
    assert_null(b);
    assert_true(sk_alloc_failed());
    sk_alloc_fail_at(0);
    assert_int_equal(sk_alloc_live(), live + 1);
    sk_free(a);
    assert_int_equal(sk_alloc_live(), live);
}

static void test_log__redacts_secrets(void **state)
{
    char line[64];
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp;
    struct sk_error err;
    (void)state;
    assert_int_equal(sk_log_add_secret("sk-TOPSECRET123"), SK_OK);
    snprintf(line, sizeof line, "key=sk-TOPSECRET123 again sk-TOPSECRET123");
    sk_log_redact(line, sizeof line);
    assert_string_equal(line, "key=[REDACTED] again [REDACTED]");

    sk_error_set(&err, SK_ECONFIG, "bad key %s", "sk-TOPSECRET123");
    assert_string_equal(err.msg, "bad key [REDACTED]");

    fp = open_memstream(&out, &outlen);
    sk_log_set_stream(fp);
    sk_warn("token %s", "sk-TOPSECRET123");
    sk_debug("not shown at the default level");
    fclose(fp);
    sk_log_set_stream(NULL);
    assert_string_equal(out, "skillopt: warning: token [REDACTED]\n");
    free(out); /* open_memstream's buffer comes from libc */
    sk_log_clear_secrets();
}

static void test_fs__atomic_write_replaces_whole_file(void **state)
{
    char *dir = tu_mkdtemp(), *path, *got;
    struct sk_error err;
    size_t len;
    (void)state;
    path = sk_fs_join(dir, "a/b/file.json");
    {
        char *parent = sk_fs_dirname(path);
        assert_int_equal(sk_fs_mkdirs(parent, &err), SK_OK);
        sk_free(parent);
    }
    assert_int_equal(sk_fs_write_atomic(path, "first", 5, &err), SK_OK);
    assert_int_equal(sk_fs_write_atomic(path, "second!", 7, &err), SK_OK);
    got = tu_read(path, &len);
    assert_int_equal(len, 7);
    assert_string_equal(got, "second!");
    sk_free(got);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_fs__atomic_write_failure_keeps_old_file(void **state)
{
    char *dir = tu_mkdtemp(), *path, *got;
    struct sk_error err;
    (void)state;
    path = sk_fs_join(dir, "keep.txt");
    assert_int_equal(sk_fs_write_atomic(path, "old", 3, &err), SK_OK);
    /* A read-only directory makes the temporary file impossible. */
    chmod(dir, 0555);
    if (geteuid() == 0) {
        /* root ignores permissions: use a path whose parent is a file */
        char *bad = sk_fs_join(path, "child");
        assert_int_equal(sk_fs_write_atomic(bad, "new", 3, &err), SK_EIO);
        assert_non_null(strstr(err.msg, "child"));
        sk_free(bad);
    } else {
        assert_int_equal(sk_fs_write_atomic(path, "new", 3, &err), SK_EIO);
    }
    chmod(dir, 0755);
    got = tu_read(path, NULL);
    assert_string_equal(got, "old");
    sk_free(got);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_fs__read_limits_and_missing(void **state)
{
    char *dir = tu_mkdtemp(), *path, *missing;
    struct sk_buf b;
    struct sk_error err;
    (void)state;
    path = tu_write(dir, "f.txt", "0123456789");
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_fs_read(path, 5, &b, &err), SK_ETOOBIG);
    assert_non_null(strstr(err.msg, "f.txt"));
    sk_buf_reset(&b);
    assert_int_equal(sk_fs_read(path, 10, &b, &err), SK_OK);
    assert_string_equal(sk_buf_cstr(&b), "0123456789");
    missing = sk_fs_join(dir, "nope");
    assert_int_equal(sk_fs_read(missing, 10, &b, &err), SK_ENOTFOUND);
    assert_int_equal(sk_fs_read(dir, 10, &b, &err), SK_EIO);
    sk_buf_release(&b);
    sk_free(missing);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_sha256__vectors(void **state)
{
    static const struct {
        const char *in;
        const char *hex;
    } cases[] = {
        {"",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    };
    size_t i;
    char hex[65], h16[17];
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        assert_int_equal(sk_sha256_hex(cases[i].in, strlen(cases[i].in), hex),
                         SK_OK);
        assert_string_equal(hex, cases[i].hex);
    }
    assert_int_equal(sk_text_hash16("abc", 3, h16), SK_OK);
    assert_string_equal(h16, "ba7816bf8f01cfea");
}

static void test_utf8__validation(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int ok;
        size_t bad;
    } cases[] = {
        {"plain ascii", 11, 1, 0},
        {"caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d \xf0\x9f\x98\x80", 18, 1, 0},
        {"a\xc3", 2, 0, 1},            /* truncated sequence */
        {"a\xc0\xaf", 3, 0, 1},        /* overlong '/' */
        {"\xed\xa0\x80", 3, 0, 0},     /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4, 0, 0}, /* above U+10FFFF */
        {"ab\xff", 3, 0, 2},
        {"a\0b", 3, 0, 1}, /* NUL is not text */
        {"\xe2\x82", 2, 0, 0},
    };
    size_t i, bad;
    int line, col;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        bad = 999;
        if (sk_utf8_valid(cases[i].s, cases[i].len, &bad) != cases[i].ok)
            fail_msg("case %zu: wrong verdict", i);
        if (!cases[i].ok && bad != cases[i].bad)
            fail_msg("case %zu: bad offset %zu, want %zu", i, bad,
                     cases[i].bad);
    }
    sk_text_line_col("ab\ncd\ne", 6, &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 1);
    sk_text_line_col("ab\ncd\ne", 4, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
}

static void test_fs__normalize(void **state)
{
    static const char *const cases[][2] = {
        {"a/b/../c", "a/c"},
        {"../configs/searchqa/../_base_/default.yaml",
         "../configs/_base_/default.yaml"},
        {"./x.yaml", "x.yaml"},
        {"a//b/./c/", "a/b/c"},
        {"/../a", "/a"},
        {"../../a", "../../a"},
        {"a/..", "."},
        {"/", "/"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *got = sk_fs_normalize(cases[i][0]);
        assert_non_null(got);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("%s: got %s, want %s", cases[i][0], got, cases[i][1]);
        sk_free(got);
    }
}

struct save_ctx {
    const char *path;
};

static int save_body(void *ctx)
{
    struct save_ctx *c = ctx;
    struct sk_error err;
    return sk_fs_write_atomic(c->path, "new contents", 12, &err);
}

/* Every allocation failure leaves the old file whole: a failure is never
 * reported after the new file took its place. */
static void test_fs__atomic_write_allocation_sweep(void **state)
{
    char *dir = tu_mkdtemp(), *path, *got;
    struct save_ctx c;
    long n;
    (void)state;
    path = sk_fs_join(dir, "f.json");
    c.path = path;
    for (n = 1; n < 50; n++) {
        int rc;
        assert_int_equal(sk_fs_write_atomic(path, "old", 3, NULL), SK_OK);
        sk_alloc_fail_at(n);
        rc = save_body(&c);
        sk_alloc_fail_at(0);
        got = tu_read(path, NULL);
        if (rc == SK_OK)
            assert_string_equal(got, "new contents");
        else
            assert_string_equal(got, "old");
        sk_free(got);
        if (rc == SK_OK)
            break;
    }
    assert_true(tu_alloc_sweep(save_body, &c) >= 2);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

/* Encoding then decoding gives the code point back, at every length's
 * boundaries, with the lengths RFC 3629 gives. */
static void test_util__utf8_encode_round_trip(void **state)
{
    static const struct {
        uint32_t c;
        size_t len;
    } cases[] = {{0x0, 1},    {0x41, 1},    {0x7F, 1},    {0x80, 2},
                 {0x3A3, 2},  {0x7FF, 2},   {0x800, 3},   {0xFFFD, 3},
                 {0xFFFF, 3}, {0x10000, 4}, {0x1F600, 4}, {0x10FFFF, 4}};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char u[4];
        uint32_t back = 0xFFFFFFFFu;
        size_t n = sk_utf8_encode(cases[i].c, u);
        assert_int_equal(n, cases[i].len);
        assert_int_equal(sk_utf8_decode((const unsigned char *)u, n, &back), n);
        assert_int_equal(back, cases[i].c);
    }
}

/* copy refuses a symlinked source; rmtree removes links, not targets */
static void test_fs__copy_and_rmtree_do_not_follow_links(void **state)
{
    char *dir = tu_mkdtemp(), *outside = tu_mkdtemp();
    char *secret = tu_write(outside, "secret.txt", "do not touch");
    char *src = tu_write(dir, "a.txt", "hello");
    char *dst = sk_fs_join(dir, "b.txt"), *link = sk_fs_join(dir, "l.txt");
    char *sub = sk_fs_join(dir, "sub"), *sublink = sk_fs_join(sub, "out");
    char *text;
    size_t len;
    struct sk_error err;
    (void)state;
    assert_int_equal(sk_fs_copy(src, dst, 100, &err), SK_OK);
    text = tu_read(dst, &len);
    assert_string_equal(text, "hello");
    sk_free(text);
    assert_int_equal(sk_fs_copy(src, dst, 3, &err), SK_ETOOBIG);
    assert_false(sk_fs_exists(dst)); /* removed on failure */
    assert_int_equal(symlink(secret, link), 0);
    assert_int_equal(sk_fs_copy(link, dst, 100, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(sk_fs_copy(dir, dst, 100, &err), SK_EIO);
    assert_int_equal(sk_fs_copy(sub, dst, 100, &err), SK_ENOTFOUND);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(symlink(outside, sublink), 0);
    assert_int_equal(sk_fs_rmtree(dir, &err), SK_OK);
    assert_false(sk_fs_exists(dir));
    assert_true(sk_fs_exists(secret)); /* the links' targets survive */
    assert_int_equal(sk_fs_rmtree(dir, &err), SK_OK); /* missing: fine */
    tu_rmtree(outside);
    sk_free(dir);
    sk_free(outside);
    sk_free(secret);
    sk_free(src);
    sk_free(dst);
    sk_free(link);
    sk_free(sub);
    sk_free(sublink);
}

/* A message may quote the error's own previous message. */
static void test_error__set_may_quote_its_own_message(void **state)
{
    struct sk_error e;
    (void)state;
    sk_error_set(&e, SK_EIO, "disk %s", "full");
    assert_int_equal(sk_error_set(&e, SK_EDATA, "item 7: %s (retry)", e.msg),
                     SK_EDATA);
    assert_string_equal(e.msg, "item 7: disk full (retry)");
    assert_int_equal(e.code, SK_EDATA);
}

/* The tail of a stream: only the last bytes stay, in order. */
static void test_buf__keep_tail(void **state)
{
    struct sk_buf b;
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    sk_buf_keep_tail(&b, "abc", 3, 5);
    sk_buf_keep_tail(&b, "defg", 4, 5);
    assert_string_equal(sk_buf_cstr(&b), "cdefg");
    sk_buf_keep_tail(&b, "0123456789", 10, 5);
    assert_string_equal(sk_buf_cstr(&b), "56789");
    sk_buf_keep_tail(&b, "x", 1, 5);
    assert_string_equal(sk_buf_cstr(&b), "6789x");
    sk_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util__utf8_encode_round_trip),
        cmocka_unit_test(test_buf__append_and_cap),
        cmocka_unit_test(test_buf__growth_many_appends),
        cmocka_unit_test(test_buf__enomem_leaves_buffer_intact),
        cmocka_unit_test(test_buf__detach_empty),
        cmocka_unit_test(test_alloc__fail_at_and_live),
        cmocka_unit_test(test_log__redacts_secrets),
        cmocka_unit_test(test_fs__atomic_write_replaces_whole_file),
        cmocka_unit_test(test_fs__atomic_write_failure_keeps_old_file),
        cmocka_unit_test(test_fs__read_limits_and_missing),
        cmocka_unit_test(test_sha256__vectors),
        cmocka_unit_test(test_utf8__validation),
        cmocka_unit_test(test_fs__normalize),
        cmocka_unit_test(test_fs__atomic_write_allocation_sweep),
        cmocka_unit_test(test_fs__copy_and_rmtree_do_not_follow_links),
        cmocka_unit_test(test_error__set_may_quote_its_own_message),
        cmocka_unit_test(test_buf__keep_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
