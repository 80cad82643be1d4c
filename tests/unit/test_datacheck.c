/*
 * test_datacheck.c - `skillopt data check` (data/check.h): every problem
 * kind on the fixtures of tests/fixtures/data/check (made by gen.py), the
 * benchmark guess, the cap per kind, the report text, the lenient reading
 * of splits the loader refuses, and allocation failures.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/check.h"
#include "data/split.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define FIX "tests/fixtures/data/check/"

static int check_paths(const char *full, const char *bench, const char *root,
                       const char *docs, size_t keep, struct sk_check_report *r,
                       struct sk_error *err)
{
    struct sk_check_opts o;
    memset(&o, 0, sizeof o);
    o.bench = bench;
    o.data_root = root;
    o.docs_dir = docs;
    o.keep_per_kind = keep;
    return sk_data_check_dir(full, &o, r, err);
}

/* Runs the check of fixture dir (relative to FIX unless absolute); root
 * and docs are relative to FIX. */
static int run_check(const char *dir, const char *bench, const char *root,
                     const char *docs, size_t keep, struct sk_check_report *r,
                     struct sk_error *err)
{
    char *d = tu_source_path(FIX);
    char *full = dir[0] == '/' ? sk_strdup(dir) : sk_fs_join(d, dir);
    char *root_p = root ? sk_fs_join(d, root) : NULL;
    char *docs_p = docs ? sk_fs_join(d, docs) : NULL;
    int rc = check_paths(full, bench, root_p, docs_p, keep, r, err);
    sk_free(full);
    sk_free(root_p);
    sk_free(docs_p);
    sk_free(d);
    return rc;
}

static char *format(const struct sk_check_report *r, size_t max)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_check_report_format(r, max, &b), SK_OK);
    return sk_buf_detach(&b, NULL);
}

/* ---- the fixtures, one row per case ------------------------------------- */

struct fixture_case {
    const char *dir;
    const char *bench; /* NULL: guess */
    const char *root;  /* data root, relative to the fixture dir */
    const char *docs;
    const char *want_bench;
    size_t kinds[SK_CHECK_KIND_COUNT]; /* unreadable, schema, dup, shared,
                                          missing, empty */
    const char *lines[4];              /* substrings the report must hold */
};

static const struct fixture_case fixture_cases[] = {
    {"searchqa_good",
     NULL,
     NULL,
     NULL,
     "searchqa",
     {0, 0, 0, 0, 0, 0},
     {"summary: 4 items in 3 splits, no problems\n"}},
    {"searchqa_bad",
     NULL,
     NULL,
     NULL,
     "searchqa",
     {0, 8, 1, 1, 0, 1},
     {"searchqa_bad/train/items.json: item 1 (id \"a\"): same id as item 0\n",
      "searchqa_bad/test/items.json: item 0 (id \"b\"): also item 2 of the "
      "train split (",
      "item 7 (id \"e\"): \"answers\"[1] is a number; expected a string\n",
      "searchqa_bad/val/items.json: the val split has no items\n"}},
    /* the same items against another benchmark's rules */
    {"searchqa_bad",
     "demo",
     NULL,
     NULL,
     "demo",
     {0, 7, 1, 1, 0, 1},
     {"benchmark: demo\n", "item 5 (id \"d\"): \"question\" is empty\n"}},
    {"docvqa",
     NULL,
     "docvqa_root",
     NULL,
     "docvqa",
     {0, 1, 0, 0, 1, 0},
     {"item 1 (id \"2\"): image ", "images/q2.png not found\n",
      "item 1 (id \"5\"): \"answers\" is null; expected a non-empty string "
      "or a non-empty list of strings\n"}},
    {"docvqa_csv",
     "docvqa",
     "docvqa_root",
     NULL,
     "docvqa",
     {0, 0, 0, 0, 1, 0},
     {"docvqa_csv/test/items.csv: item 1 (id \"4\"): image "}},
    {"spreadsheet",
     NULL,
     "spreadsheet_root",
     NULL,
     "spreadsheetbench",
     {0, 1, 0, 0, 3, 0},
     {"2_200_init.xlsx has no 2_200_golden.xlsx\n",
      "item 0 (id \"400\"): no test case in ", "spreadsheet/600 not found\n",
      "item 1 (id \"500\"): \"answer_position\" is empty\n"}},
    {"officeqa",
     NULL,
     NULL,
     "officeqa_docs",
     "officeqa",
     {0, 2, 0, 0, 1, 0},
     {"item 1 (id \"UID2\"): source file treasury_bulletin_2001_12.txt not "
      "found in ",
      "item 0 (id \"UID4\"): \"ground_truth\" is empty\n",
      "item 0 (id \"UID4\"): \"source_files\" is an empty list\n"}},
    {"officeqa",
     "officeqa",
     NULL,
     NULL,
     "officeqa",
     {0, 2, 0, 0, 0, 0},
     {"note: source documents not checked (give the corpus with --docs "
      "DIR)\n"}},
    {"livemath",
     NULL,
     NULL,
     NULL,
     "livemathematicianbench",
     {0, 3, 0, 0, 0, 0},
     {"item 1 (id \"m:2\"): correct_choice label \"E\" is not one of the "
      "choices (A, B)\n",
      "item 0 (id \"m:4\"): \"choices\" is an empty list\n",
      "item 1 (id \"m:5\"): correct_choice label \"C\" is not one of the "
      "choices (A, B)\n"}},
    {"livemath",
     "livemath",
     NULL,
     NULL,
     "livemathematicianbench",
     {0, 3, 0, 0, 0, 0},
     {"benchmark: livemathematicianbench\n"}},
    {"generic",
     NULL,
     NULL,
     NULL,
     "generic",
     {0, 0, 0, 0, 0, 0},
     {"(no benchmark's fields in train item 0: only ids are checked; choose "
      "with --bench)\n"}},
    {"generic",
     "searchqa",
     NULL,
     NULL,
     "searchqa",
     {0, 9, 0, 0, 0, 0},
     {"item 0 (id \"2.5\"): no \"question\" field\n"}},
};

static void test_datacheck__fixtures(void **state)
{
    size_t i, k, j;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(fixture_cases); i++) {
        const struct fixture_case *c = &fixture_cases[i];
        struct sk_check_report r;
        struct sk_error err;
        char *text;
        size_t total = 0;
        int rc = run_check(c->dir, c->bench, c->root, c->docs, 0, &r, &err);
        if (rc != SK_OK)
            fail_msg("case %zu (%s): %s", i, c->dir, err.msg);
        text = format(&r, 0);
        assert_string_equal(r.bench, c->want_bench);
        for (k = 0; k < SK_CHECK_KIND_COUNT; k++) {
            if (r.per_kind[k] != c->kinds[k])
                fail_msg("case %zu (%s): kind %zu: %zu problems, want %zu\n%s",
                         i, c->dir, k, r.per_kind[k], c->kinds[k], text);
            total += c->kinds[k];
        }
        assert_int_equal(sk_check_report_total(&r), total);
        assert_int_equal(r.n_problems, total); /* nothing capped */
        for (j = 0; j < SK_ARRAY_LEN(c->lines) && c->lines[j]; j++)
            if (!strstr(text, c->lines[j]))
                fail_msg("case %zu (%s): no \"%s\" in\n%s", i, c->dir,
                         c->lines[j], text);
        sk_free(text);
        sk_check_report_release(&r);
    }
}

/* The whole report of one case, byte for byte. */
static void test_datacheck__report_text(void **state)
{
    struct sk_check_report r;
    struct sk_error err;
    char *text, *want;
    const char *dir = FIX "docvqa";
    (void)state;
    assert_int_equal(
        run_check("docvqa", NULL, "docvqa_root", NULL, 0, &r, &err), SK_OK);
    text = format(&r, 0);
    /* paths in the report are as given: rebuild them the same way */
    {
        char *base = tu_source_path(dir);
        char *root = tu_source_path(FIX "docvqa_root");
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_buf_printf(
                &b,
                "benchmark: docvqa (guessed from the field \"image_path\" "
                "of train item 0; choose with --bench)\n"
                "splits:\n"
                "  train      2 items  %s/train/items.json\n"
                "  val        1 items  %s/val/items.json\n"
                "  test       2 items  %s/test/items.json\n"
                "problems:\n"
                "  schema (1):\n"
                "    %s/test/items.json: item 1 (id \"5\"): \"answers\" is "
                "null; expected a non-empty string or a non-empty list of "
                "strings\n"
                "  missing files (1):\n"
                "    %s/train/items.json: item 1 (id \"2\"): image "
                "%s/images/q2.png not found\n"
                "summary: 5 items in 3 splits, 2 problems (schema 1, "
                "missing file 1)\n",
                base, base, base, base, base, root),
            SK_OK);
        want = sk_buf_detach(&b, NULL);
        sk_free(base);
        sk_free(root);
    }
    assert_string_equal(text, want);
    sk_free(text);
    sk_free(want);
    sk_check_report_release(&r);
}

/* keep_per_kind stores only that many; the format caps the lines. */
static void test_datacheck__cap_per_kind(void **state)
{
    struct sk_check_report r;
    struct sk_error err;
    char *text;
    (void)state;
    assert_int_equal(run_check("searchqa_many", NULL, NULL, NULL, 5, &r, &err),
                     SK_OK);
    assert_int_equal(r.per_kind[SK_CHECK_SCHEMA], 30);
    assert_int_equal(r.n_problems, 5);
    text = format(&r, 3);
    assert_non_null(strstr(text, "  schema (30):\n"));
    assert_non_null(strstr(text, "item 2 (id \"m2\"): no \"answers\" field\n"
                                 "    ... and 27 more\n"));
    assert_null(strstr(text, "\"m3\""));
    assert_non_null(strstr(text, "30 problems (schema 30)\n"));
    sk_free(text);
    text = format(&r, 0); /* all stored lines, then the rest counted */
    assert_non_null(strstr(text, "(id \"m4\")"));
    assert_non_null(strstr(text, "    ... and 25 more\n"));
    sk_free(text);
    sk_check_report_release(&r);
}

/* ---- the benchmark guess ------------------------------------------------ */

static const struct {
    const char *train; /* train/items.json */
    const char *want;
    const char *why; /* substring of the reason */
} guess_cases[] = {
    {"[{\"id\":1,\"image_path\":\"x.png\"}]", "docvqa", "\"image_path\""},
    {"[{\"questionId\":\"1\"}]", "docvqa", "\"questionId\""},
    {"[{\"id\":1,\"choices\":[]}]", "livemathematicianbench", "\"choices\""},
    {"[{\"id\":1,\"mcq\":{}}]", "livemathematicianbench", "\"mcq\""},
    {"[{\"id\":1,\"answer_position\":\"A1\"}]", "spreadsheetbench",
     "\"answer_position\""},
    {"[{\"id\":1,\"instruction\":\"do\"}]", "spreadsheetbench",
     "\"instruction\""},
    {"[{\"id\":1,\"source_files\":\"a.txt\"}]", "officeqa", "\"source_files\""},
    {"[{\"id\":1,\"uid\":\"UID1\"}]", "officeqa", "\"uid\""},
    {"[{\"id\":1,\"context\":null}]", "searchqa", "\"context\""},
    {"[{\"id\":1,\"question\":\"q\",\"answers\":[\"a\"]}]", "demo",
     "\"question\" and \"answers\""},
    {"[{\"id\":1,\"question\":\"q\"}]", "generic", "only ids are checked"},
    /* a non-object is skipped; the next item decides */
    {"[7, {\"id\":1,\"context\":\"c\"}]", "searchqa", "train item 1"},
    {"[]", "generic", "no items to guess from"},
    /* a clue field wins over the order of the item's keys */
    {"[{\"id\":1,\"context\":\"c\",\"image_path\":\"x\"}]", "docvqa",
     "\"image_path\""},
};

static void test_datacheck__guess(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(guess_cases); i++) {
        char *dir = tu_mkdtemp();
        struct sk_check_report r;
        struct sk_error err;
        sk_free(tu_write(dir, "train/items.json", guess_cases[i].train));
        sk_free(tu_write(dir, "val/items.json", "[]"));
        sk_free(tu_write(dir, "test/items.json", "[]"));
        assert_int_equal(run_check(dir, NULL, NULL, NULL, 0, &r, &err), SK_OK);
        if (strcmp(r.bench, guess_cases[i].want) != 0 ||
            !strstr(r.guess, guess_cases[i].why))
            fail_msg("case %zu: got %s (%s), want %s (%s)", i, r.bench, r.guess,
                     guess_cases[i].want, guess_cases[i].why);
        sk_check_report_release(&r);
        tu_rmtree(dir);
        sk_free(dir);
    }
}

/* ---- splits the loader refuses ------------------------------------------ */

static void test_datacheck__unreadable_splits(void **state)
{
    char *dir = tu_mkdtemp();
    struct sk_check_report r;
    struct sk_error err;
    char *text;
    (void)state;
    sk_free(tu_write(dir, "train/b.json", "{\"id\": 1}"));
    sk_free(tu_write(dir, "train/a.json", "[{\"id\": 1}"));
    sk_free(tu_write(dir, "test/notes.txt", "x"));
    /* no val/ at all */
    assert_int_equal(run_check(dir, "generic", NULL, NULL, 0, &r, &err), SK_OK);
    text = format(&r, 0);
    assert_int_equal(r.per_kind[SK_CHECK_FILE], 3);
    assert_int_equal(sk_check_report_total(&r), 3);
    /* a.json comes first by name and is the one read */
    assert_non_null(strstr(text, "/train/a.json: invalid JSON at line 1"));
    assert_non_null(strstr(text, "/val: no val/ folder in "));
    assert_non_null(strstr(text, "/test: no .json (or .csv) file in the "
                                 "folder\n"));
    assert_non_null(strstr(text, "  train      -        "));
    assert_false(r.loaded[SK_SPLIT_TRAIN]);
    sk_free(text);
    sk_check_report_release(&r);
    tu_rmtree(dir);
    sk_free(dir);
}

/* When only the loader sees a problem, its own message is reported. */
static void test_datacheck__loader_message(void **state)
{
    char *dir = tu_mkdtemp();
    struct sk_check_report r;
    struct sk_error err;
    (void)state;
    /* DocVQA accepts questionId as the id; the loader needs "id" */
    sk_free(tu_write(dir, "train/items.json",
                     "[{\"questionId\": \"1\", \"question\": \"q\", "
                     "\"answers\": [\"a\"], \"image_path\": \"/\"}]"));
    sk_free(tu_write(dir, "val/items.json", "[{\"id\": \"2\"}]"));
    sk_free(tu_write(dir, "test/items.json", "[{\"id\": \"3\"}]"));
    assert_int_equal(run_check(dir, "generic", NULL, NULL, 0, &r, &err), SK_OK);
    /* generic: the lenient reading finds the missing id itself */
    assert_int_equal(r.per_kind[SK_CHECK_SCHEMA], 1);
    assert_int_equal(sk_check_report_total(&r), 1);
    sk_check_report_release(&r);
    {
        char *img = tu_write(dir, "img.png", "");
        char text[1024];
        snprintf(text, sizeof text,
                 "[{\"questionId\": \"1\", \"question\": \"q\", "
                 "\"answers\": [\"a\"], \"image_path\": \"%s\"}]",
                 img);
        sk_free(tu_write(dir, "train/items.json", text));
        snprintf(text, sizeof text,
                 "[{\"id\": \"2\", \"question\": \"q\", \"answer\": "
                 "\"a\", \"image_path\": \"%s\"}]",
                 img);
        sk_free(tu_write(dir, "val/items.json", text));
        text[9] = '3';
        sk_free(tu_write(dir, "test/items.json", text));
        sk_free(img);
    }
    assert_int_equal(run_check(dir, "docvqa", NULL, NULL, 0, &r, &err), SK_OK);
    assert_int_equal(sk_check_report_total(&r), 1);
    assert_int_equal(r.per_kind[SK_CHECK_FILE], 1);
    assert_null(r.problems[0].file);
    assert_non_null(strstr(r.problems[0].msg, "item 0 has no usable \"id\""));
    sk_check_report_release(&r);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_datacheck__errors(void **state)
{
    struct sk_check_report r;
    struct sk_error err;
    (void)state;
    assert_int_equal(run_check("nowhere", NULL, NULL, NULL, 0, &r, &err),
                     SK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nowhere: not a directory"));
    assert_int_equal(
        run_check("searchqa_good", "squad", NULL, NULL, 0, &r, &err),
        SK_EINVAL);
    assert_non_null(strstr(err.msg, "unknown benchmark \"squad\""));
    assert_string_equal(sk_check_bench_name("livemath"),
                        "livemathematicianbench");
    assert_string_equal(sk_check_bench_name("demo"), "demo");
    assert_null(sk_check_bench_name("alfworld"));
    assert_null(sk_check_bench_name(NULL));
}

/* sk_data_check_splits on splits a run loaded (the --config form). */
static void test_datacheck__loaded_splits(void **state)
{
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_check_opts o;
    struct sk_check_report r;
    struct sk_error err;
    char *dir = tu_source_path("data/demo");
    (void)state;
    sk_split_opts_init(&so);
    so.mode = "split_dir";
    so.split_dir = dir;
    assert_int_equal(sk_splits_load(&so, &s, &err), SK_OK);
    memset(&o, 0, sizeof o);
    o.bench = "demo";
    assert_int_equal(sk_data_check_splits(&s, &o, &r, &err), SK_OK);
    assert_int_equal(sk_check_report_total(&r), 0);
    assert_int_equal(r.counts[SK_SPLIT_TRAIN], 80);
    sk_check_report_release(&r);
    o.bench = "searchqa"; /* the demo items have no context */
    assert_int_equal(sk_data_check_splits(&s, &o, &r, &err), SK_OK);
    assert_int_equal(r.per_kind[SK_CHECK_SCHEMA], 160);
    sk_check_report_release(&r);
    sk_splits_release(&s);
    sk_free(dir);
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep_ctx {
    const char *dir, *bench, *root, *docs; /* relative to FIX */
    char *full, *root_p, *docs_p;          /* built before the sweep */
};

static int sweep_body(void *p)
{
    const struct sweep_ctx *c = p;
    struct sk_check_report r;
    struct sk_error err;
    struct sk_buf b;
    int rc = check_paths(c->full, c->bench, c->root_p, c->docs_p, 0, &r, &err);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (rc == SK_OK)
        rc = sk_check_report_format(&r, 2, &b);
    sk_buf_release(&b);
    sk_check_report_release(&r);
    return rc;
}

static void test_datacheck__alloc_failures(void **state)
{
    struct sweep_ctx cases[] = {
        {"searchqa_good", NULL, NULL, NULL, NULL, NULL, NULL},
        {"searchqa_bad", NULL, NULL, NULL, NULL, NULL, NULL},
        {"spreadsheet", NULL, "spreadsheet_root", NULL, NULL, NULL, NULL},
        {"officeqa", NULL, NULL, "officeqa_docs", NULL, NULL, NULL},
        {"livemath", NULL, NULL, NULL, NULL, NULL, NULL},
        {"docvqa_csv", NULL, "docvqa_root", NULL, NULL, NULL, NULL},
    };
    char *d = tu_source_path(FIX);
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sweep_ctx *c = &cases[i];
        c->full = sk_fs_join(d, c->dir);
        c->root_p = c->root ? sk_fs_join(d, c->root) : NULL;
        c->docs_p = c->docs ? sk_fs_join(d, c->docs) : NULL;
        assert_true(tu_alloc_sweep(sweep_body, c) > 10);
        sk_free(c->full);
        sk_free(c->root_p);
        sk_free(c->docs_p);
    }
    sk_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datacheck__fixtures),
        cmocka_unit_test(test_datacheck__report_text),
        cmocka_unit_test(test_datacheck__cap_per_kind),
        cmocka_unit_test(test_datacheck__guess),
        cmocka_unit_test(test_datacheck__unreadable_splits),
        cmocka_unit_test(test_datacheck__loader_message),
        cmocka_unit_test(test_datacheck__errors),
        cmocka_unit_test(test_datacheck__loaded_splits),
        cmocka_unit_test(test_datacheck__alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
