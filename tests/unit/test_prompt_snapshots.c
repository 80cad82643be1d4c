/*
 * test_prompt_snapshots.c - the prompts each benchmark sends for a fixed
 * item and skill, compared byte for byte with committed snapshots under
 * tests/fixtures/prompts/.  A deliberate prompt change is re-recorded
 * with SKILLOPT_BLESS=1 (the diff then shows in review).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"
#include "train/bench.h"
#include "util/alloc.h"
#include "util/fs.h"

static const char skill[] = "# Skill under test\n\n- Rule one.\n- Rule two.\n";

static void check(const char *name, const char *kind, const char *got)
{
    char rel[128], *path, *want;
    snprintf(rel, sizeof rel, "tests/fixtures/prompts/%s.%s.txt", name, kind);
    path = tu_source_path(rel);
    if (getenv("SKILLOPT_BLESS") && *getenv("SKILLOPT_BLESS") == '1') {
        assert_int_equal(sk_fs_write_atomic(path, got, strlen(got), NULL),
                         SK_OK);
        sk_free(path);
        return;
    }
    want = tu_read(path, NULL);
    if (!want)
        fail_msg("%s: missing snapshot (record with SKILLOPT_BLESS=1)", path);
    if (strcmp(want, got) != 0)
        fail_msg("%s differs from the rendered prompt:\n%s", path, got);
    sk_free(want);
    sk_free(path);
}

static void snapshot(const char *bench, const char *item_json)
{
    const struct sk_bench *b = sk_bench_find(bench);
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *item = json_loads(item_json, 0, NULL);
    char *sys = NULL, *user = NULL;

    assert_non_null(b);
    assert_non_null(item);
    memset(&ctx, 0, sizeof ctx);
    ctx.data = b->data;
    if (b->build(item, skill, &ctx, &sys, &user, &err) != SK_OK)
        fail_msg("%s: %s", bench, err.msg);
    check(bench, "system", sys);
    check(bench, "user", user);
    sk_free(sys);
    sk_free(user);
    json_decref(item);
}

static void test_prompt_snapshots__searchqa(void **state)
{
    (void)state;
    snapshot("searchqa",
             "{\"id\": \"sq-1\", \"question\": \"Which river flows through "
             "Vienna?\", \"answers\": [\"Danube\"], \"context\": \"[DOC] [TLE] "
             "Vienna [PAR] The Danube flows through Vienna. [DOC] [TLE] Rivers "
             "[PAR] Long rivers of Europe.\"}");
}

static void test_prompt_snapshots__demo(void **state)
{
    (void)state;
    snapshot("demo", "{\"id\": \"val-000\", \"family\": \"capitals\", "
                     "\"question\": \"What is the capital of Peru?\", "
                     "\"answers\": [\"lima\"]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_snapshots__searchqa),
        cmocka_unit_test(test_prompt_snapshots__demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
