/*
 * test_stepbuf.c - the per-epoch step buffer (algorithm.md 6.4).  Fixtures
 * in tests/fixtures/stepbuf/ come from gen.py there: grouping cases
 * computed with the reference's rules, and a saved buffer with the context
 * text the reference's layout gives for it (golden.txt).
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "train/stepbuf.h"
#include "util/alloc.h"
#include "util/buf.h"

static json_t *load_fixture(const char *name)
{
    char rel[128];
    char *path;
    json_error_t jerr;
    json_t *v;

    snprintf(rel, sizeof(rel), "tests/fixtures/stepbuf/%s", name);
    path = tu_source_path(rel);
    v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

static void test_stepbuf__pattern_grouping(void **state)
{
    json_t *v = load_fixture("patterns.json");
    size_t ci;
    (void)state;
    assert_true(json_array_size(v) >= 5);
    for (ci = 0; ci < json_array_size(v); ci++) {
        const json_t *c = json_array_get(v, ci);
        const json_t *jd = json_object_get(c, "descs");
        const json_t *want = json_object_get(c, "want");
        const char *descs[8];
        size_t nd = json_array_size(jd), i;
        struct sk_step_entry e;
        json_t *got, *gp;

        assert_true(nd <= SK_ARRAY_LEN(descs));
        for (i = 0; i < nd; i++)
            descs[i] = json_string_value(json_array_get(jd, i));
        sk_step_entry_init(&e, 3, "reject");
        assert_int_equal(sk_step_entry_set_results_json(
                             &e, json_object_get(c, "results"), descs, nd),
                         SK_OK);
        assert_int_equal(e.n_total,
                         json_integer_value(json_object_get(want, "n_total")));
        assert_int_equal(e.n_fail,
                         json_integer_value(json_object_get(want, "n_fail")));
        assert_int_equal(sk_step_entry_to_json(&e, &got), SK_OK);
        gp = json_object_get(got, "failure_patterns");
        if (!json_equal(gp, json_object_get(want, "failure_patterns"))) {
            char *s = json_dumps(gp, JSON_COMPACT);
            fail_msg("case %zu: got %s", ci, s);
        }
        json_decref(got);
        sk_step_entry_release(&e);
    }
    json_decref(v);
}

static void test_stepbuf__outcomes_struct(void **state)
{
    const struct sk_task_outcome r[] = {
        {"t1", 0.0, "EM=0: x"},
        {"t2", 1.0, "EM=0: y"},
        {NULL, 0.0, NULL},
        {"t4", 0.0, " EM=0 : z"},
    };
    struct sk_step_entry e;
    (void)state;
    sk_step_entry_init(&e, 1, "accept");
    assert_int_equal(sk_step_entry_set_outcomes(&e, r, 4, NULL, 0), SK_OK);
    assert_int_equal(e.n_total, 4);
    assert_int_equal(e.n_fail, 3);
    assert_int_equal(e.n_patterns, 2);
    assert_string_equal(e.patterns[0].pattern, "EM=0");
    assert_int_equal(e.patterns[0].count, 2);
    assert_string_equal(e.patterns[0].task_ids[1], "t4");
    assert_string_equal(e.patterns[1].pattern, "unknown");
    assert_string_equal(e.patterns[1].task_ids[0], "?");
    /* No results: n_total 1, no patterns. */
    assert_int_equal(sk_step_entry_set_outcomes(&e, r, 0, NULL, 0), SK_OK);
    assert_int_equal(e.n_total, 1);
    assert_int_equal(e.n_fail, 0);
    assert_int_equal(e.n_patterns, 0);
    sk_step_entry_release(&e);
}

static void test_stepbuf__render_golden(void **state)
{
    json_t *v = load_fixture("buffer.json");
    char *path = tu_source_path("tests/fixtures/stepbuf/golden.txt");
    size_t glen = 0;
    char *golden = tu_read(path, &glen);
    struct sk_stepbuf b;
    struct sk_buf out;
    (void)state;
    assert_non_null(golden);
    sk_stepbuf_init(&b);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_stepbuf_render(&b, &out), SK_OK);
    assert_int_equal(out.len, 0); /* empty buffer renders nothing */
    assert_int_equal(sk_stepbuf_from_json(v, &b, NULL), SK_OK);
    assert_int_equal(b.epoch, 2);
    assert_int_equal(b.len, 5);
    assert_int_equal(sk_stepbuf_render(&b, &out), SK_OK);
    if (out.len != glen || memcmp(out.data, golden, glen) != 0)
        fail_msg("render differs:\n%s\n--- want ---\n%s", sk_buf_cstr(&out),
                 golden);
    sk_buf_release(&out);
    sk_stepbuf_release(&b);
    sk_free(golden);
    sk_free(path);
    json_decref(v);
}

static void test_stepbuf__json_round_trip(void **state)
{
    json_t *v = load_fixture("buffer.json");
    json_t *back = NULL;
    struct sk_stepbuf b;
    (void)state;
    sk_stepbuf_init(&b);
    assert_int_equal(sk_stepbuf_from_json(v, &b, NULL), SK_OK);
    assert_int_equal(b.entries[2].n_rejected, 2);
    assert_int_equal(b.entries[2].rejected[1].kind, SK_REJECTED_REWRITE);
    assert_int_equal(b.entries[2].rejected[1].n_change_summary, 2);
    assert_int_equal(b.entries[2].rejected[0].kind, SK_REJECTED_SUGGESTION);
    assert_int_equal(b.entries[3].has_reject, 1);
    assert_int_equal(b.entries[4].has_reject, 0);
    {
        /* Appending to a restored entry's exact-size list. */
        json_t *it = json_pack("{s:s,s:s}", "op", "add", "content", "c");
        assert_int_equal(
            sk_step_entry_add_rejected_json(&b.entries[1], it, SK_UPDATE_PATCH),
            SK_OK);
        assert_int_equal(b.entries[1].n_rejected, 3);
        assert_string_equal(b.entries[1].rejected[2].content, "c");
        assert_string_equal(b.entries[1].rejected[0].op, "replace");
        json_decref(it);
        sk_step_entry_release(&b.entries[1]);
        sk_step_entry_init(&b.entries[1], 6, "reject");
    }
    sk_stepbuf_release(&b);
    assert_int_equal(sk_stepbuf_from_json(v, &b, NULL), SK_OK);
    assert_int_equal(sk_stepbuf_to_json(&b, &back), SK_OK);
    if (!json_equal(v, back)) {
        char *s = json_dumps(back, JSON_INDENT(1));
        fail_msg("round trip differs:\n%s", s);
    }
    json_decref(back);
    sk_stepbuf_reset(&b, 3);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.epoch, 3);
    sk_stepbuf_release(&b);
    json_decref(v);
}

static void test_stepbuf__malformed_json(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"epoch\": 1}",
        "{\"epoch\": \"1\", \"entries\": []}",
        "{\"epoch\": 1, \"entries\": [7]}",
        "{\"epoch\": 1, \"entries\": [{\"step\": 1, \"action\": \"reject\","
        " \"n_total\": -1, \"n_fail\": 0}]}",
        "{\"epoch\": 1, \"entries\": [{\"step\": 1, \"action\": \"reject\","
        " \"n_total\": 1, \"n_fail\": 0, \"failure_patterns\": [{\"pattern\":"
        " \"p\", \"count\": 2, \"task_ids\": [\"a\"]}]}]}",
        "{\"epoch\": 1, \"entries\": [{\"step\": 1, \"action\": \"reject\","
        " \"n_total\": 1, \"n_fail\": 0, \"rejected_edits\": []}]}",
        "{\"epoch\": 1, \"entries\": [{\"step\": 1, \"action\": \"reject\","
        " \"n_total\": 1, \"n_fail\": 0, \"score_before\": 1, "
        "\"score_after\": 0, \"rejected_edits\": [{\"op\": 3}]}]}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        struct sk_stepbuf b;
        struct sk_error err;
        assert_non_null(j);
        sk_stepbuf_init(&b);
        if (sk_stepbuf_from_json(j, &b, &err) != SK_EPARSE)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(b.len, 0);
        sk_stepbuf_release(&b);
        json_decref(j);
    }
}

static void test_stepbuf__rejected_summaries(void **state)
{
    json_t *edit = json_loads("{\"op\":\"add\",\"content\":5,\"target\":null,"
                              "\"support_count\":2}",
                              0, NULL);
    json_t *sugg =
        json_loads("{\"title\":\"T\",\"instruction\":true}", 0, NULL);
    json_t *rw = json_loads("{\"title\":\"R\",\"change_summary\":[\"x\",1],"
                            "\"source_type\":\"s\"}",
                            0, NULL);
    json_t *num = json_integer(4);
    struct sk_step_entry e;
    struct sk_stepbuf b;
    struct sk_buf out;
    (void)state;
    sk_step_entry_init(&e, 2, "reject");
    sk_step_entry_set_reject(&e, 0.5, 0.25);
    assert_int_equal(sk_step_entry_add_rejected_json(&e, edit, SK_UPDATE_PATCH),
                     SK_OK);
    assert_int_equal(sk_step_entry_add_rejected_json(
                         &e, sugg, SK_UPDATE_REWRITE_FROM_SUGGESTIONS),
                     SK_OK);
    assert_int_equal(sk_step_entry_add_rejected_json(
                         &e, rw, SK_UPDATE_FULL_REWRITE_MINIBATCH),
                     SK_OK);
    assert_int_equal(sk_step_entry_add_rejected_json(&e, num, SK_UPDATE_PATCH),
                     SK_OK);
    assert_int_equal(e.n_rejected, 3);
    assert_string_equal(e.rejected[0].content, "5");
    assert_string_equal(e.rejected[0].target, "");
    assert_string_equal(e.rejected[1].type, "?");
    assert_string_equal(e.rejected[1].instruction, "True");
    assert_string_equal(e.rejected[2].change_summary[1], "1");
    sk_stepbuf_init(&b);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_stepbuf_add_take(&b, &e), SK_OK);
    assert_null(e.rejected);
    assert_int_equal(sk_stepbuf_render(&b, &out), SK_OK);
    assert_non_null(strstr(sk_buf_cstr(&out),
                           "### Step 2 \xE2\x80\x94 REJECT (0/1 failed)\n"
                           "  Rejected edits (score 0.5 \xE2\x86\x92 0.25):\n"
                           "    1. [add] \"5\"\n"
                           "    2. [?] \"T\" \xE2\x86\x92 \"True\"\n"
                           "    3. [?] \"R\" \xE2\x86\x92 \"\""));
    sk_buf_release(&out);
    sk_stepbuf_release(&b);
    json_decref(edit);
    json_decref(sugg);
    json_decref(rw);
    json_decref(num);
}

static void test_stepbuf__float_repr(void **state)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.1 + 0.2, "0.30000000000000004"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {-2.5, "-2.5"},
        {-0.0, "-0.0"},
        {123456.75, "123456.75"},
        {1.5e-300, "1.5e-300"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_step_entry e;
        struct sk_stepbuf b;
        struct sk_buf out;
        char want[96];
        sk_step_entry_init(&e, 1, "reject");
        sk_step_entry_set_reject(&e, cases[i].v, 0.0);
        assert_int_equal(
            sk_step_entry_add_rejected_json(&e, NULL, SK_UPDATE_PATCH), SK_OK);
        {
            json_t *it = json_pack("{s:s}", "op", "add");
            assert_int_equal(
                sk_step_entry_add_rejected_json(&e, it, SK_UPDATE_PATCH),
                SK_OK);
            json_decref(it);
        }
        sk_stepbuf_init(&b);
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        assert_int_equal(sk_stepbuf_add_take(&b, &e), SK_OK);
        assert_int_equal(sk_stepbuf_render(&b, &out), SK_OK);
        snprintf(want, sizeof(want), "(score %s \xE2\x86\x92 0.0)",
                 cases[i].want);
        if (!strstr(sk_buf_cstr(&out), want))
            fail_msg("%s not in %s", want, sk_buf_cstr(&out));
        sk_buf_release(&out);
        sk_stepbuf_release(&b);
    }
}

static int sweep_body(void *ctx)
{
    const json_t *v = ctx;
    struct sk_stepbuf b;
    struct sk_buf out;
    json_t *back = NULL;
    int rc;

    sk_stepbuf_init(&b);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    rc = sk_stepbuf_from_json(v, &b, NULL);
    if (rc == SK_OK)
        rc = sk_stepbuf_render(&b, &out);
    if (rc == SK_OK)
        rc = sk_stepbuf_to_json(&b, &back);
    if (rc == SK_OK) {
        struct sk_step_entry e;
        sk_step_entry_init(&e, 9, "reject");
        rc = sk_step_entry_set_results_json(
            &e,
            json_object_get(json_array_get(json_object_get(back, "entries"), 0),
                            "failure_patterns"),
            NULL, 0);
        sk_step_entry_release(&e);
    }
    json_decref(back);
    sk_buf_release(&out);
    sk_stepbuf_release(&b);
    return rc;
}

static void test_stepbuf__alloc_failures(void **state)
{
    json_t *v = load_fixture("buffer.json");
    (void)state;
    assert_true(tu_alloc_sweep(sweep_body, v) >= 10);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stepbuf__pattern_grouping),
        cmocka_unit_test(test_stepbuf__outcomes_struct),
        cmocka_unit_test(test_stepbuf__render_golden),
        cmocka_unit_test(test_stepbuf__json_round_trip),
        cmocka_unit_test(test_stepbuf__malformed_json),
        cmocka_unit_test(test_stepbuf__rejected_summaries),
        cmocka_unit_test(test_stepbuf__float_repr),
        cmocka_unit_test(test_stepbuf__alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
