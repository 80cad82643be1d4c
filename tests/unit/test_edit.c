/*
 * test_edit.c - edit lists, application, statuses, protection and the
 * apply report.  Parity vectors (tests/fixtures/edit/vectors.json) come
 * from the Python reference via tests/fixtures/edit/gen_vectors.py.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "skill/edit.h"
#include "skill/skill.h"
#include "testutil.h"
#include "util/alloc.h"

#define SU_S SK_SLOW_UPDATE_START
#define SU_E SK_SLOW_UPDATE_END
#define AP_S SK_APPENDIX_START
#define AP_E SK_APPENDIX_END

/* Applies edits given as a JSON text; returns the result, fills report. */
static char *apply_json(const char *skill, const char *edits_json,
                        struct sk_apply_report *report)
{
    json_error_t jerr;
    json_t *a = json_loads(edits_json, 0, &jerr);
    struct sk_edit_list l;
    char *out = NULL;
    size_t n = 0;
    if (!a)
        fail_msg("bad test JSON: %s", jerr.text);
    sk_edit_list_init(&l);
    assert_int_equal(sk_edit_list_from_json(&l, a, NULL), SK_OK);
    json_decref(a);
    assert_int_equal(
        sk_edit_apply(skill, strlen(skill), &l, &out, &n, report, NULL), SK_OK);
    assert_int_equal(n, strlen(out));
    sk_edit_list_release(&l);
    return out;
}

struct one_case {
    const char *name;
    const char *skill;
    const char *edits; /* JSON array */
    const char *status;
    const char *want; /* resulting text */
};

static void run_cases(const struct one_case *c, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        struct sk_apply_report r;
        char *out;
        sk_apply_report_init(&r);
        out = apply_json(c[i].skill, c[i].edits, &r);
        assert_int_equal(r.len, 1);
        if (strcmp(r.rows[0].status, c[i].status))
            fail_msg("%s: status %s, want %s", c[i].name, r.rows[0].status,
                     c[i].status);
        if (strcmp(out, c[i].want))
            fail_msg("%s: text\n[%s]\nwant\n[%s]", c[i].name, out, c[i].want);
        sk_free(out);
        sk_apply_report_release(&r);
    }
}

static void test_edit__every_status(void **state)
{
    static const struct one_case cases[] = {
        {"append", "a\n\n\n", "[{\"op\":\"append\",\"content\":\" x \"}]",
         "applied_append", "a\n\nx\n"},
        {"append before", "a\n\n" SU_S "\ng\n" SU_E "\n",
         "[{\"op\":\"append\",\"content\":\"x\"}]",
         "applied_append_before_protected_region",
         "a\n\nx\n\n" SU_S "\ng\n" SU_E "\n"},
        {"insert_after", "l1 foo bar\nl2\n",
         "[{\"op\":\"insert_after\",\"target\":\"foo\",\"content\":\"x\"}]",
         "applied_insert_after", "l1 foo bar\n\nx\nl2\n"},
        {"insert fallback", "a\n",
         "[{\"op\":\"insert_after\",\"target\":\"zz\",\"content\":\"x\"}]",
         "applied_insert_after_fallback_append", "a\n\nx\n"},
        {"insert fallback before", "a\n" AP_S "\n" AP_E,
         "[{\"op\":\"insert_after\",\"content\":\"x\"}]",
         "applied_insert_after_fallback_before_protected_region",
         "a\n\nx\n\n" AP_S "\n" AP_E},
        {"replace", "a b a",
         "[{\"op\":\"replace\",\"target\":\"a\","
         "\"content\":\"c\"}]",
         "applied_replace", "c b a"},
        {"delete", "a\nbb\nc", "[{\"op\":\"delete\",\"target\":\"bb\"}]",
         "applied_delete", "a\n\nc"},
        {"protected", "a " SU_S " x " SU_E,
         "[{\"op\":\"replace\",\"target\":\"x\",\"content\":\"y\"}]",
         "skipped_protected_region", "a " SU_S " x " SU_E},
        {"replace missing", "a", "[{\"op\":\"replace\",\"content\":\"y\"}]",
         "skipped_replace_missing_target", "a"},
        {"replace not found", "a",
         "[{\"op\":\"replace\",\"target\":\"A\",\"content\":\"y\"}]",
         "skipped_replace_target_not_found", "a"},
        {"delete missing", "a", "[{\"op\":\"delete\",\"target\":\"\"}]",
         "skipped_delete_missing_target", "a"},
        {"delete not found", "a", "[{\"op\":\"delete\",\"target\":\"b\"}]",
         "skipped_delete_target_not_found", "a"},
        {"unknown op", "a", "[{\"op\":\"Append\",\"content\":\"y\"}]",
         "skipped_unknown_op", "a"},
        {"error", "a", "[{\"op\":\"append\",\"content\":null}]", "error", "a"},
    };
    (void)state;
    run_cases(cases, SK_ARRAY_LEN(cases));
}

/* 11.13: the reference checks only where the target starts. */
static void test_edit__protection_overlap_fix(void **state)
{
    static const struct one_case cases[] = {
        /* Begins in the body, runs across the start marker: the reference
         * applies this and deletes the marker. */
        {"replace across start", "body tail\n" SU_S "\ng\n" SU_E "\n",
         "[{\"op\":\"replace\",\"target\":\"tail\\n<!-- SLOW\","
         "\"content\":\"x\"}]",
         "skipped_protected_region", "body tail\n" SU_S "\ng\n" SU_E "\n"},
        {"delete across start", "body\n" AP_S "\nn\n" AP_E,
         "[{\"op\":\"delete\",\"target\":\"body\\n<!--\"}]",
         "skipped_protected_region", "body\n" AP_S "\nn\n" AP_E},
        {"insert_after across", "body\n" AP_S "\nn\n" AP_E,
         "[{\"op\":\"insert_after\",\"target\":\"y\\n<\",\"content\":\"x\"}]",
         "skipped_protected_region", "body\n" AP_S "\nn\n" AP_E},
        /* Starts inside the region, ends in the body. */
        {"from inside", "a " SU_S " g " SU_E " b",
         "[{\"op\":\"delete\",\"target\":\"END --> b\"}]",
         "skipped_protected_region", "a " SU_S " g " SU_E " b"},
        /* The insertion point (end of the target's line) lies inside. */
        {"insert point inside", "intro " SU_S "\ng\n" SU_E "\n",
         "[{\"op\":\"insert_after\",\"target\":\"intro\","
         "\"content\":\"x\"}]",
         "skipped_protected_region", "intro " SU_S "\ng\n" SU_E "\n"},
        /* Right before the marker is fine. */
        {"adjacent", "intro\n" SU_S "\ng\n" SU_E "\n",
         "[{\"op\":\"replace\",\"target\":\"intro\\n\",\"content\":\"I\"}]",
         "applied_replace", "I" SU_S "\ng\n" SU_E "\n"},
        /* Every region pair counts, not only the first. */
        {"second pair", SU_S "\na\n" SU_E "\nbody\n" SU_S "\nsecret\n" SU_E,
         "[{\"op\":\"replace\",\"target\":\"secret\",\"content\":\"x\"}]",
         "skipped_protected_region",
         SU_S "\na\n" SU_E "\nbody\n" SU_S "\nsecret\n" SU_E},
        {"second appendix", "b\n" AP_S "\n" AP_E "\nmid\n" AP_S "\nz\n" AP_E,
         "[{\"op\":\"delete\",\"target\":\"z\"}]", "skipped_protected_region",
         "b\n" AP_S "\n" AP_E "\nmid\n" AP_S "\nz\n" AP_E},
        /* Body between two pairs stays editable. */
        {"between pairs", SU_S "\na\n" SU_E "\nbody\n" SU_S "\nb\n" SU_E,
         "[{\"op\":\"replace\",\"target\":\"body\",\"content\":\"B\"}]",
         "applied_replace", SU_S "\na\n" SU_E "\nB\n" SU_S "\nb\n" SU_E},
        /* An orphan start protects to the end of the document. */
        {"orphan", "head\n" SU_S "\ntail text",
         "[{\"op\":\"replace\",\"target\":\"tail\",\"content\":\"x\"}]",
         "skipped_protected_region", "head\n" SU_S "\ntail text"},
        {"orphan append", "head\n" SU_S "\ntail",
         "[{\"op\":\"append\",\"content\":\"x\"}]",
         "applied_append_before_protected_region",
         "head\n\nx\n\n" SU_S "\ntail"},
        /* A stray end marker protects nothing. */
        {"stray end", "a " SU_E " b",
         "[{\"op\":\"replace\",\"target\":\"b\",\"content\":\"c\"}]",
         "applied_replace", "a " SU_E " c"},
        /* First occurrence decides, even if a later one is outside. */
        {"first occurrence", SU_S " k " SU_E " k",
         "[{\"op\":\"replace\",\"target\":\"k\",\"content\":\"x\"}]",
         "skipped_protected_region", SU_S " k " SU_E " k"},
    };
    (void)state;
    run_cases(cases, SK_ARRAY_LEN(cases));
}

static void test_edit__content_cleaning(void **state)
{
    static const struct one_case cases[] = {
        /* strip first, then markers: inner spaces survive. */
        {"markers", "a",
         "[{\"op\":\"append\",\"content\":\"  " SU_S " x " AP_E "  \"}]",
         "applied_append", "a\n\n x \n"},
        {"all four", "a",
         "[{\"op\":\"append\",\"content\":\"" SU_S SU_E AP_S AP_E "y\"}]",
         "applied_append", "a\n\ny\n"},
        /* Deleting one marker must not let a new one form. */
        {"nested", "a",
         "[{\"op\":\"append\",\"content\":\"<!-- SLOW_UPDATE_" AP_E
         "START -->z\"}]",
         "applied_append", "a\n\nz\n"},
        {"unicode strip", "a",
         "[{\"op\":\"append\",\"content\":\"\\u3000\\u00a0q\\u2003\"}]",
         "applied_append", "a\n\nq\n"},
        /* Targets are verbatim: no stripping. */
        {"target verbatim", "a b",
         "[{\"op\":\"replace\",\"target\":\" b\",\"content\":\"c\"}]",
         "applied_replace", "ac"},
    };
    (void)state;
    run_cases(cases, SK_ARRAY_LEN(cases));
}

static void test_edit__reference_vectors(void **state)
{
    char *path = tu_source_path("tests/fixtures/edit/vectors.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *c;
    size_t i;
    (void)state;
    if (!root)
        fail_msg("%s: %s", path, jerr.text);
    assert_true(json_array_size(root) >= 20);
    json_array_foreach(root, i, c)
    {
        const char *skill = json_string_value(json_object_get(c, "skill"));
        struct sk_edit_list l;
        struct sk_apply_report r;
        char *out = NULL, *dump = NULL;
        size_t n = 0;
        sk_edit_list_init(&l);
        sk_apply_report_init(&r);
        assert_int_equal(
            sk_edit_list_from_json(&l, json_object_get(c, "edits"), NULL),
            SK_OK);
        assert_int_equal(
            sk_edit_apply(skill, strlen(skill), &l, &out, &n, &r, NULL), SK_OK);
        if (strcmp(out, json_string_value(json_object_get(c, "result"))))
            fail_msg("case %zu: text [%s]", i, out);
        assert_int_equal(sk_apply_report_dumps(&r, &dump, NULL), SK_OK);
        if (strcmp(dump, json_string_value(json_object_get(c, "report_text"))))
            fail_msg("case %zu: report\n%s\nwant\n%s", i, dump,
                     json_string_value(json_object_get(c, "report_text")));
        sk_free(dump);
        sk_free(out);
        sk_apply_report_release(&r);
        sk_edit_list_release(&l);
    }
    json_decref(root);
    sk_free(path);
}

static void test_edit__sequential_and_summary(void **state)
{
    struct sk_apply_report r;
    struct sk_apply_summary s;
    json_t *j;
    char *out;
    (void)state;
    sk_apply_report_init(&r);
    out = apply_json("# T\nstep one\n",
                     "[{\"op\":\"replace\",\"target\":\"one\",\"content\":"
                     "\"two\"},"
                     "{\"op\":\"replace\",\"target\":\"step two\","
                     "\"content\":\"step 2\"},"
                     "{\"op\":\"delete\",\"target\":\"one\"},"
                     "{\"op\":\"bogus\"},"
                     "{\"op\":\"append\",\"target\":5}]",
                     &r);
    /* The second edit sees the first one's result. */
    assert_string_equal(out, "# T\nstep 2\n");
    assert_int_equal(r.len, 5);
    assert_int_equal(r.rows[0].index, 1);
    assert_int_equal(r.rows[4].index, 5);
    assert_string_equal(r.rows[4].error, "'int' object is not subscriptable");
    sk_apply_report_summary(&r, &s);
    assert_int_equal(s.total, 5);
    assert_int_equal(s.applied, 2);
    assert_int_equal(s.skipped, 2);
    assert_int_equal(s.errors, 1);
    j = sk_apply_summary_to_json(&s);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "applied")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "skipped")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 5);
    json_decref(j);
    sk_free(out);
    sk_apply_report_release(&r);
}

static void test_edit__from_json_fields(void **state)
{
    json_t *a =
        json_loads("[{\"op\":\"append\",\"content\":\"c\",\"support_count\":3,"
                   "\"source_type\":\"failure\",\"merge_level\":2},"
                   "{\"op\":7,\"target\":\"t\"}, \"str\", null,"
                   "{\"content\":[1]}, {\"target\":{}}, {\"target\":[\"x\"]}]",
                   0, NULL);
    struct sk_edit_list l;
    (void)state;
    assert_non_null(a);
    sk_edit_list_init(&l);
    assert_int_equal(sk_edit_list_from_json(&l, a, NULL), SK_OK);
    assert_int_equal(l.len, 7);
    assert_true(l.items[0].has_support_count);
    assert_int_equal(l.items[0].support_count, 3);
    assert_string_equal(l.items[0].source_type, "failure");
    assert_int_equal(l.items[0].merge_level, 2);
    assert_null(l.items[0].error);
    assert_false(l.items[1].has_support_count);
    assert_null(l.items[1].source_type);
    assert_string_equal(l.items[1].op, "7");
    assert_string_equal(l.items[1].target, "t");
    assert_string_equal(l.items[2].error,
                        "'str' object has no attribute 'get'");
    assert_string_equal(l.items[3].error,
                        "'NoneType' object has no attribute 'get'");
    assert_string_equal(l.items[4].error,
                        "'list' object has no attribute 'strip'");
    assert_string_equal(l.items[5].error, "unhashable type: 'slice'");
    assert_string_equal(l.items[6].error, "must be str, not list");
    assert_string_equal(l.items[2].op, "");
    sk_edit_list_release(&l);
    sk_edit_list_init(&l);
    assert_int_equal(sk_edit_list_from_json(&l, json_object_get(a, "x"), NULL),
                     SK_EINVAL);
    json_decref(a);
    a = json_object();
    assert_int_equal(sk_edit_list_from_json(&l, a, NULL), SK_EINVAL);
    json_decref(a);
    /* Rows must become JSON, so non-UTF-8 edits are refused. */
    assert_int_equal(sk_edit_list_add(&l, "append", NULL, "\xff"), SK_EINVAL);
    assert_int_equal(l.len, 0);
    assert_int_equal(sk_edit_list_add(&l, "append", NULL, NULL), SK_OK);
    assert_string_equal(l.items[0].target, "");
    sk_edit_list_release(&l);
}

static void test_edit__preview_truncation(void **state)
{
    char content[1200], *p = content;
    struct sk_edit_list l;
    struct sk_apply_report r;
    char *out;
    int i;
    (void)state;
    /* 300 three-byte characters: the preview keeps exactly 200 of them. */
    for (i = 0; i < 300; i++) {
        memcpy(p, "\xe2\x82\xac", 3);
        p += 3;
    }
    *p = '\0';
    sk_edit_list_init(&l);
    sk_apply_report_init(&r);
    assert_int_equal(sk_edit_list_add(&l, "append", content, content), SK_OK);
    assert_int_equal(sk_edit_apply("x", 1, &l, &out, NULL, &r, NULL), SK_OK);
    assert_int_equal(strlen(r.rows[0].content_preview), 600);
    assert_int_equal(strlen(r.rows[0].target), 600);
    assert_int_equal(skill_prefix_chars("a\xe2\x82\xac", 4, 1), 1);
    assert_int_equal(skill_prefix_chars("a\xe2\x82\xac", 4, 2), 4);
    sk_free(out);
    sk_apply_report_release(&r);
    sk_edit_list_release(&l);
}

static void test_edit__empty_and_null_lists(void **state)
{
    struct sk_apply_report r;
    char *out = NULL, *dump = NULL;
    size_t n = 9;
    (void)state;
    sk_apply_report_init(&r);
    assert_int_equal(sk_edit_apply("", 0, NULL, &out, &n, &r, NULL), SK_OK);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
    assert_int_equal(sk_apply_report_dumps(&r, &dump, NULL), SK_OK);
    assert_string_equal(dump, "[]");
    sk_free(dump);
    sk_free(out);
    /* Deleting everything leaves an empty (but allocated) text. */
    out = apply_json("abc", "[{\"op\":\"delete\",\"target\":\"abc\"}]", &r);
    assert_string_equal(out, "");
    sk_free(out);
    sk_apply_report_release(&r);
}

struct sweep_ctx {
    const char *skill;
    struct sk_edit_list *edits;
    const char *want;
};

static int sweep_apply(void *p)
{
    struct sweep_ctx *c = p;
    struct sk_apply_report r;
    char *out = (char *)"untouched", *dump = NULL;
    int rc;
    sk_apply_report_init(&r);
    rc = sk_edit_apply(c->skill, strlen(c->skill), c->edits, &out, NULL, &r,
                       NULL);
    if (rc != SK_OK) {
        assert_int_equal(rc, SK_ENOMEM);
        assert_string_equal(out, "untouched");
        assert_int_equal(r.len, 0);
        sk_apply_report_release(&r);
        return rc;
    }
    assert_string_equal(out, c->want);
    assert_int_equal(r.len, c->edits->len);
    rc = sk_apply_report_dumps(&r, &dump, NULL);
    sk_free(dump);
    sk_free(out);
    sk_apply_report_release(&r);
    return rc;
}

static int sweep_from_json(void *p)
{
    json_t *a = p;
    struct sk_edit_list l;
    int rc;
    sk_edit_list_init(&l);
    rc = sk_edit_list_from_json(&l, a, NULL);
    if (rc == SK_OK)
        assert_int_equal(l.len, json_array_size(a));
    else
        assert_int_equal(l.len, 0);
    sk_edit_list_release(&l);
    return rc;
}

static void test_edit__alloc_failure_sweep(void **state)
{
    const char *skill = "# S\n\nalpha\nbeta\n\n" SU_S "\ng\n" SU_E "\n";
    json_t *a = json_loads(
        "[{\"op\":\"append\",\"content\":\"one\"},"
        "{\"op\":\"insert_after\",\"target\":\"alpha\",\"content\":\"two\"},"
        "{\"op\":\"replace\",\"target\":\"beta\",\"content\":\"gamma\"},"
        "{\"op\":\"delete\",\"target\":\"two\\n\"},"
        "{\"op\":\"replace\",\"target\":\"g\\n\",\"content\":\"x\"},"
        "{\"op\":\"zap\"},{\"content\":null},"
        "{\"op\":\"append\",\"content\":\"" SU_S "three\","
        "\"support_count\":2,\"source_type\":\"success\"}]",
        0, NULL);
    struct sk_edit_list l;
    struct sweep_ctx c;
    int runs;
    (void)state;
    assert_non_null(a);
    sk_edit_list_init(&l);
    assert_int_equal(sk_edit_list_from_json(&l, a, NULL), SK_OK);
    c.skill = skill;
    c.edits = &l;
    c.want = "# S\n\nalpha\n\ngamma\n\none\n\nthree\n\n" SU_S "\ng\n" SU_E "\n";
    runs = tu_alloc_sweep(sweep_apply, &c);
    assert_true(runs > 10);
    runs = tu_alloc_sweep(sweep_from_json, a);
    assert_true(runs > 10);
    sk_edit_list_release(&l);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit__every_status),
        cmocka_unit_test(test_edit__protection_overlap_fix),
        cmocka_unit_test(test_edit__content_cleaning),
        cmocka_unit_test(test_edit__reference_vectors),
        cmocka_unit_test(test_edit__sequential_and_summary),
        cmocka_unit_test(test_edit__from_json_fields),
        cmocka_unit_test(test_edit__preview_truncation),
        cmocka_unit_test(test_edit__empty_and_null_lists),
        cmocka_unit_test(test_edit__alloc_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
