/*
 * test_cache.c - the SQLite response cache: keys, modes, round trips,
 * sharing one file between handles and threads, damaged files.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "llm/cache.h"
#include "util/alloc.h"
#include "util/fs.h"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmpdir);
    sk_free(tmpdir);
    return 0;
}

static char *db_path(const char *name)
{
    char *p = sk_fs_join(tmpdir, name);
    assert_non_null(p);
    return p;
}

static struct sk_cache *open_ok(const char *path, enum sk_cache_mode mode)
{
    struct sk_cache *c = NULL;
    struct sk_error err;
    sk_error_clear(&err);
    assert_int_equal(sk_cache_open(path, mode, &c, &err), SK_OK);
    assert_non_null(c);
    return c;
}

static void make_reply(struct sk_llm_result *r, const char *text)
{
    sk_llm_result_init(r);
    r->status = SK_OK;
    r->text = sk_strdup(text);
    r->reasoning = sk_strdup("thought about it");
    r->finish_reason = sk_strdup("stop");
    r->usage.prompt_tokens = 1234;
    r->usage.completion_tokens = 56;
    r->usage.cached_tokens = 1000;
    r->usage.reasoning_tokens = 20;
    r->usage.usage_known = 1;
    assert_non_null(r->text);
}

static void key_of(const char *model, int sample, char key[65])
{
    assert_int_equal(sk_cache_key("openai_chat", "https://api.example/v1",
                                  model, "{\"m\":1}", sample, key),
                     SK_OK);
}

static void test_cache__mode_parse(void **state)
{
    enum sk_cache_mode m = SK_CACHE_OFF;
    (void)state;
    assert_int_equal(sk_cache_mode_parse("replay", &m), SK_OK);
    assert_int_equal(m, SK_CACHE_REPLAY);
    assert_int_equal(sk_cache_mode_parse("read_write", &m), SK_OK);
    assert_int_equal(m, SK_CACHE_READ_WRITE);
    assert_int_equal(sk_cache_mode_parse("off", &m), SK_OK);
    assert_int_equal(m, SK_CACHE_OFF);
    assert_int_equal(sk_cache_mode_parse("readwrite", &m), SK_EINVAL);
    assert_int_equal(sk_cache_mode_parse("", &m), SK_EINVAL);
}

static void test_cache__key_vector_and_separation(void **state)
{
    /* python3: sha256(b"skillopt-cache-v1\n" + b"".join(
     *   b"%d:%s" % (len(f), f) for f in fields)) */
    static const char expect[] =
        "e0a5f6a78faf4de2956a879083fc3e25cebd12e76c2d7d3290b99e21d41d5ea3";
    static const struct {
        const char *p, *u, *m, *c;
        int i;
    } cases[] = {
        {"openai_chat", "https://api.openai.com/v1", "gpt-4o",
         "{\"messages\":[]}", 3},
        {"openai_chat", "https://api.openai.com/v1", "gpt-4o",
         "{\"messages\":[]}", 4},
        {"openai_chat", "https://api.openai.com/v1", "gpt-4o-mini",
         "{\"messages\":[]}", 3},
        {"anthropic", "https://api.openai.com/v1", "gpt-4o",
         "{\"messages\":[]}", 3},
        {"openai_chat", "https://other/v1", "gpt-4o", "{\"messages\":[]}", 3},
        {"openai_chat", "https://api.openai.com/v1", "gpt-4o",
         "{\"messages\":[1]}", 3},
        /* moving a boundary between fields must change the key */
        {"ab", "c", "", "", 0},
        {"a", "bc", "", "", 0},
        {"", "", "ab", "c", 0},
        {"", "", "a", "bc", 0},
        {"", "", "", "1", 1},
        {"", "", "", "11", 0},
    };
    char keys[SK_ARRAY_LEN(cases)][65];
    size_t i, j;
    (void)state;

    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        assert_int_equal(sk_cache_key(cases[i].p, cases[i].u, cases[i].m,
                                      cases[i].c, cases[i].i, keys[i]),
                         SK_OK);
        assert_int_equal(strlen(keys[i]), 64);
        assert_int_equal(strspn(keys[i], "0123456789abcdef"), 64);
    }
    assert_string_equal(keys[0], expect);
    for (i = 0; i < SK_ARRAY_LEN(cases); i++)
        for (j = i + 1; j < SK_ARRAY_LEN(cases); j++)
            if (strcmp(keys[i], keys[j]) == 0)
                fail_msg("cases %zu and %zu share a key", i, j);
    /* deterministic */
    assert_int_equal(sk_cache_key(cases[0].p, cases[0].u, cases[0].m,
                                  cases[0].c, cases[0].i, keys[1]),
                     SK_OK);
    assert_string_equal(keys[1], expect);
}

static void test_cache__round_trip_and_miss(void **state)
{
    char *path = db_path("rt.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_llm_result in, out;
    struct sk_error err;
    char key[65], other[65];
    (void)state;

    key_of("gpt-4o", 0, key);
    key_of("gpt-4o", 1, other);
    assert_int_equal(sk_cache_mode(c), SK_CACHE_READ_WRITE);
    make_reply(&in, "Grüße, мир — 日本語 ✓");
    sk_error_clear(&err);
    assert_int_equal(sk_cache_put(c, key, "rollout", "gpt-4o", &in, &err),
                     SK_OK);

    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(c, key, &out, &err), SK_OK);
    assert_int_equal(out.status, SK_OK);
    assert_int_equal(out.cache_hit, 1);
    assert_string_equal(out.text, in.text);
    assert_string_equal(out.reasoning, "thought about it");
    assert_string_equal(out.finish_reason, "stop");
    assert_int_equal(out.usage.prompt_tokens, 1234);
    assert_int_equal(out.usage.completion_tokens, 56);
    assert_int_equal(out.usage.cached_tokens, 1000);
    assert_int_equal(out.usage.reasoning_tokens, 20);
    assert_int_equal(out.usage.usage_known, 1);
    sk_llm_result_release(&out);

    /* a different sample index is a miss, and the miss leaves res alone */
    sk_llm_result_init(&out);
    out.status = 77;
    assert_int_equal(sk_cache_get(c, other, &out, &err), SK_ENOTFOUND);
    assert_int_equal(out.status, 77);
    assert_null(out.text);

    /* replacing a stored reply; NULL reasoning/finish stay NULL */
    sk_llm_result_release(&in);
    sk_llm_result_init(&in);
    in.status = SK_OK;
    in.text = sk_strdup("second");
    assert_int_equal(sk_cache_put(c, key, "rollout", "gpt-4o", &in, &err),
                     SK_OK);
    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(c, key, &out, &err), SK_OK);
    assert_string_equal(out.text, "second");
    assert_null(out.reasoning);
    assert_null(out.finish_reason);
    assert_int_equal(out.usage.usage_known, 0);
    assert_int_equal(out.usage.prompt_tokens, 0);
    sk_llm_result_release(&out);
    sk_llm_result_release(&in);
    sk_cache_close(c);
    sk_free(path);
}

static void test_cache__errors_and_empty_not_stored(void **state)
{
    char *path = db_path("err.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_llm_result in, out;
    struct sk_error err;
    char k1[65], k2[65], k3[65];
    (void)state;

    key_of("m", 1, k1);
    key_of("m", 2, k2);
    key_of("m", 3, k3);
    make_reply(&in, "an answer that came with an error status");
    in.status = SK_LLM_EPROVIDER;
    assert_int_equal(sk_cache_put(c, k1, "s", "m", &in, &err), SK_OK);
    sk_llm_result_release(&in);
    make_reply(&in, "");
    assert_int_equal(sk_cache_put(c, k2, "s", "m", &in, &err), SK_OK);
    sk_llm_result_release(&in);
    make_reply(&in, "x");
    sk_free(in.text);
    in.text = NULL;
    assert_int_equal(sk_cache_put(c, k3, "s", "m", &in, &err), SK_OK);
    sk_llm_result_release(&in);

    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(c, k1, &out, &err), SK_ENOTFOUND);
    assert_int_equal(sk_cache_get(c, k2, &out, &err), SK_ENOTFOUND);
    assert_int_equal(sk_cache_get(c, k3, &out, &err), SK_ENOTFOUND);
    assert_null(out.text);
    sk_cache_close(c);
    sk_free(path);
}

static void test_cache__replay_miss_is_an_error(void **state)
{
    char *path = db_path("replay.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_llm_result in, out;
    struct sk_error err;
    char hit[65], miss[65];
    (void)state;

    key_of("gpt-4o", 0, hit);
    key_of("gpt-4o", 9, miss);
    make_reply(&in, "recorded");
    assert_int_equal(sk_cache_put(c, hit, "analyst", "gpt-4o", &in, &err),
                     SK_OK);
    sk_cache_close(c);

    c = open_ok(path, SK_CACHE_REPLAY);
    assert_int_equal(sk_cache_mode(c), SK_CACHE_REPLAY);
    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(c, hit, &out, &err), SK_OK);
    assert_string_equal(out.text, "recorded");
    sk_llm_result_release(&out);

    sk_error_clear(&err);
    assert_int_equal(sk_cache_get(c, miss, &out, &err), SK_LLM_EREPLAY);
    assert_int_equal(err.code, SK_LLM_EREPLAY);
    assert_non_null(strstr(err.msg, "replay: no recorded reply for key"));
    {
        char prefix[13];
        memcpy(prefix, miss, 12);
        prefix[12] = '\0';
        assert_non_null(strstr(err.msg, prefix));
    }
    assert_null(out.text);

    /* replay records nothing */
    assert_int_equal(sk_cache_put(c, miss, "analyst", "gpt-4o", &in, &err),
                     SK_OK);
    assert_int_equal(sk_cache_get(c, miss, &out, &err), SK_LLM_EREPLAY);
    sk_cache_close(c);
    sk_llm_result_release(&in);
    sk_free(path);
}

static void test_cache__replay_needs_an_existing_file(void **state)
{
    char *path = db_path("absent.sqlite");
    struct sk_cache *c = NULL;
    struct sk_error err;
    (void)state;
    sk_error_clear(&err);
    assert_int_equal(sk_cache_open(path, SK_CACHE_REPLAY, &c, &err), SK_EIO);
    assert_null(c);
    assert_non_null(strstr(err.msg, path));
    sk_free(path);
}

static void test_cache__off_mode(void **state)
{
    char *path = db_path("off.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_OFF);
    struct sk_llm_result in, out;
    struct sk_error err;
    char key[65];
    char *text;
    (void)state;

    key_of("m", 0, key);
    make_reply(&in, "never kept");
    assert_int_equal(sk_cache_mode(c), SK_CACHE_OFF);
    assert_int_equal(sk_cache_put(c, key, "s", "m", &in, &err), SK_OK);
    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(c, key, &out, &err), SK_ENOTFOUND);
    assert_null(out.text);
    sk_cache_close(c);
    /* off opens nothing, so no file appears */
    text = tu_read(path, NULL);
    assert_null(text);
    /* and needs no path */
    c = open_ok("", SK_CACHE_OFF);
    assert_int_equal(sk_cache_get(c, key, &out, &err), SK_ENOTFOUND);
    sk_cache_close(c);
    /* a NULL cache behaves as off */
    assert_int_equal(sk_cache_get(NULL, key, &out, &err), SK_ENOTFOUND);
    sk_cache_close(NULL);
    sk_llm_result_release(&in);
    sk_free(path);
}

static void test_cache__two_handles_share_a_file(void **state)
{
    char *path = db_path("shared.sqlite");
    struct sk_cache *a = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_cache *b = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_llm_result in, out;
    struct sk_error err;
    char k1[65], k2[65];
    (void)state;

    key_of("m", 1, k1);
    key_of("m", 2, k2);
    make_reply(&in, "from a");
    assert_int_equal(sk_cache_put(a, k1, "s", "m", &in, &err), SK_OK);
    sk_llm_result_release(&in);
    make_reply(&in, "from b");
    assert_int_equal(sk_cache_put(b, k2, "s", "m", &in, &err), SK_OK);
    sk_llm_result_release(&in);

    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(b, k1, &out, &err), SK_OK);
    assert_string_equal(out.text, "from a");
    sk_llm_result_release(&out);
    assert_int_equal(sk_cache_get(a, k2, &out, &err), SK_OK);
    assert_string_equal(out.text, "from b");
    sk_llm_result_release(&out);
    sk_cache_close(a);
    sk_cache_close(b);
    sk_free(path);
}

static void test_cache__reopen_persists(void **state)
{
    char *path = db_path("persist.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_llm_result in, out;
    struct sk_error err;
    char key[65];
    (void)state;

    key_of("m", 5, key);
    make_reply(&in, "kept across opens");
    assert_int_equal(sk_cache_put(c, key, "s", "m", &in, &err), SK_OK);
    sk_cache_close(c);
    c = open_ok(path, SK_CACHE_READ_WRITE);
    sk_llm_result_init(&out);
    assert_int_equal(sk_cache_get(c, key, &out, &err), SK_OK);
    assert_string_equal(out.text, "kept across opens");
    assert_int_equal(out.usage.cached_tokens, 1000);
    sk_llm_result_release(&out);
    sk_cache_close(c);
    sk_llm_result_release(&in);
    sk_free(path);
}

static void test_cache__corrupt_file(void **state)
{
    static const char *const garbage[] = {
        "this is not a database, just some text that is long enough to "
        "look like a header and more and more and more and more bytes\n",
        /* a truncated header (SQLite itself takes a file shorter than
         * that, e.g. one byte, for an empty database) */
        "SQLite format 3",
        "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0"
        "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0",
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(garbage); i++) {
        char name[32];
        char *path;
        struct sk_cache *c = NULL;
        struct sk_error err;
        snprintf(name, sizeof name, "bad%zu.sqlite", i);
        path = tu_write(tmpdir, name, garbage[i]);
        sk_error_clear(&err);
        assert_int_equal(sk_cache_open(path, SK_CACHE_READ_WRITE, &c, &err),
                         SK_EIO);
        assert_null(c);
        assert_int_equal(err.code, SK_EIO);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "not a database"));
        sk_free(path);
    }
}

static void test_cache__wrong_format_version(void **state)
{
    char *path = db_path("v.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_error err;
    sqlite3 *db = NULL;
    (void)state;

    sk_cache_close(c);
    c = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE meta SET format_version = 99",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sk_error_clear(&err);
    assert_int_equal(sk_cache_open(path, SK_CACHE_READ_WRITE, &c, &err),
                     SK_EIO);
    assert_null(c);
    assert_non_null(strstr(err.msg, "format version 99"));
    assert_non_null(strstr(err.msg, path));
    sk_free(path);
}

struct worker {
    struct sk_cache *c;
    int id;
    int failures;
};

#define WORK_ITEMS 40

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int i;
    for (i = 0; i < WORK_ITEMS; i++) {
        struct sk_llm_result in, out;
        struct sk_error err;
        char key[65], text[64];
        snprintf(text, sizeof text, "thread %d item %d", w->id, i);
        if (sk_cache_key("p", "u", "m", text, i, key) != SK_OK) {
            w->failures++;
            continue;
        }
        sk_llm_result_init(&in);
        in.status = SK_OK;
        in.text = sk_strdup(text);
        in.usage.prompt_tokens = (uint64_t)(w->id * 1000 + i);
        in.usage.usage_known = 1;
        if (sk_cache_put(w->c, key, "s", "m", &in, &err) != SK_OK)
            w->failures++;
        sk_llm_result_init(&out);
        if (sk_cache_get(w->c, key, &out, &err) != SK_OK ||
            strcmp(out.text, text) != 0 ||
            out.usage.prompt_tokens != in.usage.prompt_tokens)
            w->failures++;
        sk_llm_result_release(&out);
        sk_llm_result_release(&in);
    }
    return NULL;
}

static void test_cache__concurrent_threads(void **state)
{
    char *path = db_path("threads.sqlite");
    struct sk_cache *c = open_ok(path, SK_CACHE_READ_WRITE);
    struct sk_cache *c2 = open_ok(path, SK_CACHE_READ_WRITE);
    pthread_t th[4];
    struct worker w[4];
    int i, j;
    (void)state;

    for (i = 0; i < 4; i++) {
        /* two threads per handle: the mutex and WAL locking both matter */
        w[i].c = i % 2 ? c2 : c;
        w[i].id = i;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    /* every row is there afterwards, seen through either handle */
    for (i = 0; i < 4; i++)
        for (j = 0; j < WORK_ITEMS; j++) {
            struct sk_llm_result out;
            struct sk_error err;
            char key[65], text[64];
            snprintf(text, sizeof text, "thread %d item %d", i, j);
            assert_int_equal(sk_cache_key("p", "u", "m", text, j, key), SK_OK);
            sk_llm_result_init(&out);
            assert_int_equal(sk_cache_get(j % 2 ? c : c2, key, &out, &err),
                             SK_OK);
            assert_string_equal(out.text, text);
            sk_llm_result_release(&out);
        }
    sk_cache_close(c);
    sk_cache_close(c2);
    sk_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache__mode_parse),
        cmocka_unit_test(test_cache__key_vector_and_separation),
        cmocka_unit_test(test_cache__round_trip_and_miss),
        cmocka_unit_test(test_cache__errors_and_empty_not_stored),
        cmocka_unit_test(test_cache__replay_miss_is_an_error),
        cmocka_unit_test(test_cache__replay_needs_an_existing_file),
        cmocka_unit_test(test_cache__off_mode),
        cmocka_unit_test(test_cache__two_handles_share_a_file),
        cmocka_unit_test(test_cache__reopen_persists),
        cmocka_unit_test(test_cache__corrupt_file),
        cmocka_unit_test(test_cache__wrong_format_version),
        cmocka_unit_test(test_cache__concurrent_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
