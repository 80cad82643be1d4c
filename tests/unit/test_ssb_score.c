/*
 * test_ssb_score.c - SpreadsheetBench scoring: the transform/compare rules
 * against tables CPython computed (tests/fixtures/ssb/gen_tables.py), whole
 * comparisons of fixture workbooks against an openpyxl reading of them
 * (tests/fixtures/xlsx/scoring.json), case discovery, the verification
 * report, hostile positions and files, and the 120 real tasks checked
 * against tests/fixtures/ssb/openpyxl_score.py run at test time.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <zip.h>

#include "bench/score.h"
#include "bench/ssb_score.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "xlsx/pynum.h"
#include "xlsx/xlsx.h"

#define MAIN_NS "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define REL_NS                                                                 \
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define PYTHON "/usr/bin/python3"

/* ---- helpers ---- */

static json_t *load_fixture(const char *rel)
{
    char *path = tu_source_path(rel);
    json_error_t jerr;
    json_t *v = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

static char *fixture_path(const char *name)
{
    struct sk_buf b;
    char *p;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "tests/fixtures/xlsx/%s", name), SK_OK);
    p = tu_source_path(sk_buf_cstr(&b));
    sk_buf_release(&b);
    return p;
}

static double hexf(const json_t *v)
{
    return strtod(json_string_value(v), NULL);
}

/* A value described as in gen_tables.py. */
static void make_value(const json_t *d, struct sk_xlsx_value *v)
{
    const char *t = json_string_value(json_array_get(d, 0));
#define I(k) ((int)json_integer_value(json_array_get(d, k)))
    memset(v, 0, sizeof *v);
    if (strcmp(t, "none") == 0) {
        v->kind = SK_XLSX_NONE;
    } else if (strcmp(t, "bool") == 0) {
        v->kind = SK_XLSX_BOOL;
        v->b = json_is_true(json_array_get(d, 1));
    } else if (strcmp(t, "int") == 0) {
        v->kind = SK_XLSX_NUMBER;
        v->is_int = 1;
        v->str = json_string_value(json_array_get(d, 1));
        v->len = strlen(v->str);
        v->num = strtod(v->str, NULL);
    } else if (strcmp(t, "float") == 0) {
        v->kind = SK_XLSX_NUMBER;
        v->num = hexf(json_array_get(d, 1));
    } else if (strcmp(t, "str") == 0) {
        v->kind = SK_XLSX_STRING;
        v->str = json_string_value(json_array_get(d, 1));
        v->len = json_string_length(json_array_get(d, 1));
    } else if (strcmp(t, "datetime") == 0 || strcmp(t, "date") == 0) {
        v->kind = t[4] == 't' ? SK_XLSX_DATETIME : SK_XLSX_DATE;
        v->year = I(1);
        v->month = I(2);
        v->day = I(3);
        if (v->kind == SK_XLSX_DATETIME) {
            v->hour = I(4);
            v->minute = I(5);
            v->second = I(6);
            v->usec = I(7);
        }
    } else if (strcmp(t, "time") == 0) {
        v->kind = SK_XLSX_TIME;
        v->hour = I(1);
        v->minute = I(2);
        v->second = I(3);
        v->usec = I(4);
    } else if (strcmp(t, "timedelta") == 0) {
        v->kind = SK_XLSX_TIMEDELTA;
        v->td_days = I(1);
        v->td_seconds = I(2);
        v->td_usec = I(3);
    } else {
        fail_msg("unknown value type %s", t);
    }
#undef I
}

/* repr() of the transformed value, or "EXC" when Python raises. */
static char *transformed(const struct sk_xlsx_value *v)
{
    struct sk_ssb_tvalue t;
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_ssb_transform(v, &t) != SK_OK)
        assert_int_equal(sk_buf_puts(&b, "EXC"), SK_OK);
    else
        assert_int_equal(sk_ssb_tvalue_repr(&t, &b), SK_OK);
    return sk_buf_detach(&b, NULL);
}

/* valgrind sets LD_PRELOAD for its client */
static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && (strstr(p, "valgrind") || strstr(p, "vgpreload"));
}

static char *shared_data(void)
{
    const char *d = getenv("SKILLOPT_SHARED_DATA");
    const char *sh = getenv("SKILLOPT_SHARED_DIR");
    if (d && *d)
        return sk_strdup(d);
    if (sh && *sh)
        return sk_fs_join(sh, "data");
    return tu_source_path("../shared/data");
}

/* ---- the rules on single values ---- */

static void test_ssb_score__transform_compare_table(void **state)
{
    json_t *t = load_fixture("tests/fixtures/ssb/tables.json");
    const json_t *rows = json_object_get(t, "compare");
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) >= 60);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        struct sk_xlsx_value g, p;
        struct sk_ssb_tvalue gt, pt;
        char *gr, *pr;
        const json_t *eq = json_array_get(r, 4);
        make_value(json_array_get(r, 0), &g);
        make_value(json_array_get(r, 1), &p);
        gr = transformed(&g);
        pr = transformed(&p);
        if (strcmp(gr, json_string_value(json_array_get(r, 2))) ||
            strcmp(pr, json_string_value(json_array_get(r, 3))))
            fail_msg("row %zu: transform %s / %s, CPython %s / %s", i, gr, pr,
                     json_string_value(json_array_get(r, 2)),
                     json_string_value(json_array_get(r, 3)));
        if (json_is_string(eq)) {
            assert_true(sk_ssb_transform(&g, &gt) != SK_OK ||
                        sk_ssb_transform(&p, &pt) != SK_OK);
        } else {
            assert_int_equal(sk_ssb_transform(&g, &gt), SK_OK);
            assert_int_equal(sk_ssb_transform(&p, &pt), SK_OK);
            if (sk_ssb_equal(&gt, &pt) != json_is_true(eq))
                fail_msg("row %zu (%s vs %s): equal %d, CPython %d", i, gr, pr,
                         sk_ssb_equal(&gt, &pt), json_is_true(eq));
            /* the comparison is symmetric */
            assert_int_equal(sk_ssb_equal(&pt, &gt), json_is_true(eq));
        }
        sk_free(gr);
        sk_free(pr);
    }
    json_decref(t);
}

static void test_ssb_score__round_matches_cpython(void **state)
{
    json_t *t = load_fixture("tests/fixtures/ssb/tables.json");
    const json_t *rows = json_object_get(t, "round");
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) > 3000);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        double x = hexf(json_array_get(r, 0));
        double r2 = sk_pynum_round(x, 2), r0 = sk_pynum_round(x, 0);
        double w2 = hexf(json_array_get(r, 1)), w0 = hexf(json_array_get(r, 2));
        if (memcmp(&r2, &w2, sizeof r2) || memcmp(&r0, &w0, sizeof r0))
            fail_msg("round(%a): %a %a, CPython %a %a", x, r2, r0, w2, w0);
    }
    json_decref(t);
}

static void test_ssb_score__float_and_int_strings(void **state)
{
    json_t *t = load_fixture("tests/fixtures/ssb/tables.json");
    const json_t *fl = json_object_get(t, "float");
    const json_t *in = json_object_get(t, "int");
    char out[SK_PYNUM_MAX_INT_DIGITS + 2];
    size_t i;
    (void)state;
    for (i = 0; i < json_array_size(fl); i++) {
        const json_t *r = json_array_get(fl, i);
        const json_t *s = json_array_get(r, 0);
        double d = 0, want;
        int ok =
            sk_pynum_float(json_string_value(s), json_string_length(s), &d);
        if (ok != json_is_true(json_array_get(r, 1)))
            fail_msg("float(%s): accepted %d", json_string_value(s), ok);
        if (!ok)
            continue;
        want = hexf(json_array_get(r, 2));
        if (!(isnan(want) && isnan(d)) && memcmp(&d, &want, sizeof d))
            fail_msg("float(%s) = %a, CPython %a", json_string_value(s), d,
                     want);
    }
    for (i = 0; i < json_array_size(in); i++) {
        const json_t *r = json_array_get(in, i);
        const json_t *s = json_array_get(r, 0);
        const json_t *want = json_array_get(r, 1);
        int rc = sk_pynum_int(json_string_value(s), json_string_length(s), out,
                              sizeof out, NULL);
        if ((rc == SK_OK) != json_is_string(want))
            fail_msg("int(%.40s): %d", json_string_value(s), rc);
        if (rc == SK_OK)
            assert_string_equal(out, json_string_value(want));
    }
    assert_int_equal(sk_pynum_int("123", 3, out, 3, NULL), SK_ETOOBIG);
    json_decref(t);
}

/* ---- whole comparisons of fixture workbooks ---- */

/*
 * Checks a C result against one of openpyxl_score.py's: the verdict, the
 * kind of failure, the reference-style reason of a value mismatch, and
 * each cell it lists (the C result lists the same cells in the same order,
 * possibly more after a range's first mismatch).
 */
static void check_result(const char *what, const struct sk_ssb_case_result *r,
                         const json_t *want)
{
    const json_t *cells = json_object_get(want, "cells");
    const char *reason = json_string_value(json_object_get(want, "reason"));
    size_t i, k = 0;
    if (r->pass != json_is_true(json_object_get(want, "pass")))
        fail_msg("%s: pass %d, openpyxl %d (%s | %s)", what, r->pass,
                 json_is_true(json_object_get(want, "pass")), r->reason,
                 reason);
    if (json_is_true(json_object_get(want, "exception")))
        assert_int_equal(r->why, SK_SSB_EXCEPTION);
    else if (strncmp(reason, "value@", 6) == 0) {
        assert_int_equal(r->why, SK_SSB_VALUE);
        if (strcmp(r->reason, reason) != 0)
            fail_msg("%s: reason %s, openpyxl %s", what, r->reason, reason);
    } else if (strncmp(reason, "sheet missing", 13) == 0) {
        assert_int_equal(r->why, SK_SSB_NO_SHEET);
    } else if (strcmp(reason, "file not exist") == 0) {
        assert_int_equal(r->why, SK_SSB_NO_FILE);
        assert_string_equal(r->reason, "file not exist");
    } else {
        assert_int_equal(r->why, SK_SSB_PASS);
        assert_string_equal(r->reason, "");
    }
    for (i = 0; i < json_array_size(cells); i++) {
        const json_t *c = json_array_get(cells, i);
        const char *sheet = json_string_value(json_array_get(c, 0));
        const char *ref = json_string_value(json_array_get(c, 1));
        while (k < r->n_cells && (strcmp(r->cells[k].sheet, sheet) ||
                                  strcmp(r->cells[k].ref, ref)))
            k++;
        if (k == r->n_cells)
            fail_msg("%s: cell %s!%s missing from the C result", what, sheet,
                     ref);
        if (r->cells[k].pass != json_is_true(json_array_get(c, 2)) ||
            strcmp(r->cells[k].expected,
                   json_string_value(json_array_get(c, 3))) ||
            strcmp(r->cells[k].predicted,
                   json_string_value(json_array_get(c, 4))))
            fail_msg("%s: %s!%s: %d %s %s, openpyxl %d %s %s", what, sheet, ref,
                     r->cells[k].pass, r->cells[k].expected,
                     r->cells[k].predicted, json_is_true(json_array_get(c, 2)),
                     json_string_value(json_array_get(c, 3)),
                     json_string_value(json_array_get(c, 4)));
        k++;
    }
}

static void test_ssb_score__fixture_comparisons(void **state)
{
    json_t *rows = load_fixture("tests/fixtures/xlsx/scoring.json");
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) >= 30);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        char *gold =
            fixture_path(json_string_value(json_object_get(row, "gold")));
        char *pred =
            fixture_path(json_string_value(json_object_get(row, "pred")));
        const char *pos = json_string_value(json_object_get(row, "position"));
        const char *sheet =
            json_string_value(json_object_get(row, "answer_sheet"));
        struct sk_ssb_case_result r;
        struct sk_error err;
        char what[256];
        snprintf(what, sizeof what, "%s vs %s at \"%s\"",
                 json_string_value(json_object_get(row, "gold")),
                 json_string_value(json_object_get(row, "pred")), pos);
        if (sk_ssb_compare(gold, pred, pos, sheet, &r, &err) != SK_OK)
            fail_msg("%s: %s", what, err.msg);
        check_result(what, &r, row);
        sk_ssb_case_result_release(&r);
        sk_free(gold);
        sk_free(pred);
    }
    json_decref(rows);
}

static void test_ssb_score__formula_cells_are_flagged(void **state)
{
    char *gold = fixture_path("score_gold.xlsx");
    char *pred = fixture_path("pred_formulas.xlsx");
    struct sk_ssb_case_result r;
    struct sk_error err;
    struct sk_buf rep;
    (void)state;
    assert_int_equal(sk_ssb_compare(gold, pred, "Sheet1!A1:B2", NULL, &r, &err),
                     SK_OK);
    assert_false(r.pass);
    assert_int_equal(r.n_cells, 4);
    /* column-major: A1, A2, B1, B2 */
    assert_string_equal(r.cells[1].ref, "A2");
    assert_true(r.cells[1].formula_no_value);
    assert_string_equal(r.cells[1].formula, "=\"x\"");
    assert_true(r.cells[2].formula_no_value);
    assert_false(r.cells[3].formula_no_value); /* cached 42 */
    assert_string_equal(r.cells[3].formula, "=A1");
    assert_false(r.cells[0].formula_no_value);
    assert_null(r.cells[0].formula);
    sk_buf_init(&rep, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ssb_report(&r, 0, 0, &rep), SK_OK);
    assert_non_null(strstr(sk_buf_cstr(&rep), "2 answer cells hold a formula"));
    assert_non_null(strstr(sk_buf_cstr(&rep), "Sheet1!B1: =1+1.675"));
    sk_buf_release(&rep);
    sk_ssb_case_result_release(&r);
    sk_free(gold);
    sk_free(pred);
}

/* ---- case discovery ---- */

static void touch(const char *dir, const char *name)
{
    sk_free(tu_write(dir, name, "x"));
}

static void test_ssb_score__find_cases(void **state)
{
    char *dir = tu_mkdtemp(), *sub, *missing;
    struct sk_ssb_cases c;
    struct sk_error err;
    (void)state;
    touch(dir, "2_t_input.xlsx");
    touch(dir, "2_t_answer.xlsx");
    touch(dir, "10_t_input.xlsx");
    touch(dir, "10_t_answer.xlsx");
    touch(dir, "3_t_input.xlsx"); /* no answer: skipped */
    touch(dir, ".1_t_input.xlsx");
    touch(dir, ".1_t_answer.xlsx");
    touch(dir, "1_t_init.xlsx");
    touch(dir, "1_t_golden.xlsx");
    touch(dir, "initial.xlsx");
    touch(dir, "golden.xlsx");
    assert_int_equal(sk_ssb_find_cases(dir, &c, &err), SK_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].no, "10"); /* sorted as strings */
    assert_string_equal(c.v[1].no, "2");
    assert_string_equal(c.v[2].no, "1");
    assert_non_null(strstr(c.v[0].input, "/10_t_input.xlsx"));
    assert_non_null(strstr(c.v[0].answer, "/10_t_answer.xlsx"));
    assert_non_null(strstr(c.v[2].answer, "/1_t_golden.xlsx"));
    sk_ssb_cases_release(&c);
    assert_int_equal(c.n, 0);

    sub = sk_fs_join(dir, "bare");
    assert_int_equal(sk_fs_mkdirs(sub, &err), SK_OK);
    assert_int_equal(sk_ssb_find_cases(sub, &c, &err), SK_OK);
    assert_int_equal(c.n, 0);
    touch(sub, "initial.xlsx");
    assert_int_equal(sk_ssb_find_cases(sub, &c, &err), SK_OK);
    assert_int_equal(c.n, 0);
    touch(sub, "golden.xlsx");
    assert_int_equal(sk_ssb_find_cases(sub, &c, &err), SK_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.v[0].no, "1");
    assert_non_null(strstr(c.v[0].input, "/initial.xlsx"));
    sk_ssb_cases_release(&c);

    missing = sk_fs_join(dir, "nope");
    assert_int_equal(sk_ssb_find_cases(missing, &c, &err), SK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nope"));
    assert_int_equal(c.n, 0);
    sk_free(missing);
    sk_free(sub);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- the report ---- */

static void test_ssb_score__report_hides_expected_values(void **state)
{
    char *gold = fixture_path("score_gold.xlsx");
    char *pred = fixture_path("score_bad.xlsx");
    struct sk_ssb_case_result r;
    struct sk_error err;
    struct sk_buf a, b;
    (void)state;
    assert_int_equal(
        sk_ssb_compare(gold, pred, "Sheet1!A1:B4,Extra!A1", NULL, &r, &err),
        SK_OK);
    assert_false(r.pass);
    assert_string_equal(r.reason, "value@Sheet1!A1: gt=42 pred=41");
    sk_buf_init(&a, SK_BUF_UNLIMITED);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ssb_report(&r, 0, 0, &a), SK_OK);
    assert_int_equal(sk_ssb_report(&r, 1, 0, &b), SK_OK);
    /* the model's form shows what it wrote, never the gold */
    assert_non_null(strstr(sk_buf_cstr(&a), "Sheet1!A1: output 41 \u2717"));
    assert_null(strstr(sk_buf_cstr(&a), "expected"));
    assert_null(strstr(sk_buf_cstr(&a), " 42 \u2717"));
    assert_null(strstr(sk_buf_cstr(&a), "'x'"));
    assert_non_null(strstr(sk_buf_cstr(&a), "Sheet1!A2: output 'X' \u2717"));
    assert_non_null(strstr(sk_buf_cstr(&a), "Sheet 'Extra' is missing"));
    /* the analyst's form has them */
    assert_non_null(strstr(sk_buf_cstr(&b), "output 41 \u2717 expected 42"));
    assert_non_null(strstr(sk_buf_cstr(&b), "expected 'x'"));
    /* correct empty cells are counted, not listed (A4: None vs "") */
    assert_non_null(strstr(sk_buf_cstr(&a), "(+2 empty cells correct"));
    assert_null(strstr(sk_buf_cstr(&a), "Sheet1!A4"));
    /* a correct non-empty cell is listed with a tick */
    assert_non_null(strstr(sk_buf_cstr(&a), "Sheet1!B1: output 2.67 \u2713"));
    sk_buf_release(&a);
    sk_buf_release(&b);
    sk_ssb_case_result_release(&r);
    sk_free(gold);
    sk_free(pred);
}

/* A workbook with one sheet "S" holding n numbers in column A. */
static char *numbers_book(const char *dir, const char *name, size_t n,
                          int offset)
{
    static const char ct[] =
        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
        "content-types\"><Override PartName=\"/xl/workbook.xml\" "
        "ContentType=\"application/vnd.openxmlformats-officedocument."
        "spreadsheetml.sheet.main+xml\"/></Types>";
    static const char wb[] =
        "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
        "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
    static const char rels[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
        "2006/relationships\"><Relationship Id=\"rId1\" Type=\"" REL_NS
        "/worksheet\" Target=\"worksheets/s.xml\"/></Relationships>";
    struct sk_buf sheet;
    char *path = sk_fs_join(dir, name);
    int ze;
    size_t i;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    const char *names[4] = {"[Content_Types].xml", "xl/workbook.xml",
                            "xl/_rels/workbook.xml.rels",
                            "xl/worksheets/s.xml"};
    const char *bodies[4];
    assert_non_null(z);
    sk_buf_init(&sheet, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_buf_printf(&sheet, "<worksheet xmlns=\"%s\"><sheetData>", MAIN_NS),
        SK_OK);
    for (i = 1; i <= n; i++)
        assert_int_equal(sk_buf_printf(&sheet,
                                       "<row r=\"%zu\"><c r=\"A%zu\"><v>%zu"
                                       "</v></c></row>",
                                       i, i, i + (size_t)offset),
                         SK_OK);
    assert_int_equal(sk_buf_puts(&sheet, "</sheetData></worksheet>"), SK_OK);
    bodies[0] = ct;
    bodies[1] = wb;
    bodies[2] = rels;
    bodies[3] = sk_buf_cstr(&sheet);
    for (i = 0; i < 4; i++) {
        zip_source_t *s = zip_source_buffer(z, bodies[i], strlen(bodies[i]), 0);
        assert_true(zip_file_add(z, names[i], s, 0) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    sk_buf_release(&sheet);
    return path;
}

static void test_ssb_score__long_report_keeps_head_and_tail(void **state)
{
    char *dir = tu_mkdtemp();
    char *gold = numbers_book(dir, "g.xlsx", 3000, 0);
    char *pred = numbers_book(dir, "p.xlsx", 3000, 1);
    struct sk_ssb_case_result r;
    struct sk_error err;
    struct sk_buf rep;
    const char *s;
    (void)state;
    assert_int_equal(sk_ssb_compare(gold, pred, "A1:A3000", NULL, &r, &err),
                     SK_OK);
    assert_false(r.pass);
    assert_int_equal(r.n_cells, 3000);
    assert_string_equal(r.reason, "value@S!A1: gt=1 pred=2");
    sk_buf_init(&rep, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ssb_report(&r, 1, 12000, &rep), SK_OK);
    s = sk_buf_cstr(&rep);
    assert_true(sk_score_cp_count(s, rep.len) < 12000 + 100);
    assert_true(sk_score_cp_count(s, rep.len) > 12000);
    assert_non_null(strstr(s, "3000 of 3000 checked answer cells are wrong"));
    assert_non_null(strstr(s, "S!A1: output 2 \u2717 expected 1\n"));
    assert_non_null(strstr(s, "report cut"));
    assert_non_null(strstr(s, "S!A3000: output 3001 \u2717 expected 3000\n"));
    assert_null(strstr(s, "S!A1500:"));
    /* a smaller cap cuts more */
    sk_buf_reset(&rep);
    assert_int_equal(sk_ssb_report(&r, 0, 1000, &rep), SK_OK);
    assert_true(sk_buf_cstr(&rep)[0] == '3');
    assert_true(sk_score_cp_count(sk_buf_cstr(&rep), rep.len) < 1100);
    sk_buf_release(&rep);
    sk_ssb_case_result_release(&r);
    sk_free(gold);
    sk_free(pred);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- hostile positions and files ---- */

static void test_ssb_score__absurd_ranges_fail_fast(void **state)
{
    char *gold = fixture_path("score_gold.xlsx");
    char *pred = fixture_path("score_good.xlsx");
    struct sk_ssb_case_result r;
    struct sk_ssb_opts o;
    struct sk_error err;
    struct timespec t0, t1;
    static const char *const positions[] = {
        "Sheet1!A1:XFD1048576", "Sheet1!A1:ZZZZZZZZZZZZZZZZZZZZ1",
        "Sheet1!A1:A99999999999999999999999",
        "Sheet1!A1:B600000,Sheet1!C1:C600000"};
    size_t i;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < SK_ARRAY_LEN(positions); i++) {
        assert_int_equal(
            sk_ssb_compare(gold, pred, positions[i], NULL, &r, &err), SK_OK);
        assert_false(r.pass);
        if (r.why != SK_SSB_TOO_MANY)
            fail_msg("%s: %d %s", positions[i], r.why, r.reason);
        assert_non_null(strstr(r.reason, "too large"));
        sk_ssb_case_result_release(&r);
    }
    /* the cap is a knob */
    memset(&o, 0, sizeof o);
    o.max_cells = 5;
    assert_int_equal(
        sk_ssb_compare_opts(gold, pred, "Sheet1!A1:B3", NULL, &o, &r, &err),
        SK_OK);
    assert_int_equal(r.why, SK_SSB_TOO_MANY);
    sk_ssb_case_result_release(&r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 10);
    sk_free(gold);
    sk_free(pred);
}

static void test_ssb_score__bad_predictions_fail_the_case(void **state)
{
    char *dir = tu_mkdtemp();
    char *gold = fixture_path("score_gold.xlsx");
    char *text = tu_write(dir, "text.xlsx", "not a workbook");
    char *empty = tu_write(dir, "empty.xlsx", "");
    char *missing = sk_fs_join(dir, "absent.xlsx");
    char *big = numbers_book(dir, "big.xlsx", 5000, 0);
    struct sk_xlsx_limits lim;
    struct sk_ssb_opts o;
    struct sk_ssb_case_result r;
    struct sk_error err;
    struct sk_buf rep;
    (void)state;
    assert_int_equal(sk_ssb_compare(gold, text, "Sheet1!A1", NULL, &r, &err),
                     SK_OK);
    assert_false(r.pass);
    assert_int_equal(r.why, SK_SSB_LOAD);
    assert_non_null(strstr(r.reason, "load error"));
    assert_non_null(strstr(r.reason, "text.xlsx"));
    sk_buf_init(&rep, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ssb_report(&r, 0, 0, &rep), SK_OK);
    assert_non_null(strstr(sk_buf_cstr(&rep), "could not all be checked"));
    sk_buf_release(&rep);
    sk_ssb_case_result_release(&r);
    assert_int_equal(sk_ssb_compare(gold, empty, "Sheet1!A1", NULL, &r, &err),
                     SK_OK);
    assert_int_equal(r.why, SK_SSB_LOAD);
    sk_ssb_case_result_release(&r);
    assert_int_equal(sk_ssb_compare(gold, missing, "Sheet1!A1", NULL, &r, &err),
                     SK_OK);
    assert_int_equal(r.why, SK_SSB_NO_FILE);
    assert_string_equal(r.reason, "file not exist");
    sk_ssb_case_result_release(&r);
    /* a prediction past the reader's limits is a failed case as well */
    memset(&lim, 0, sizeof lim);
    lim.max_cells = 1000;
    memset(&o, 0, sizeof o);
    o.limits = &lim;
    {
        char *small = numbers_book(dir, "small.xlsx", 10, 0);
        assert_int_equal(
            sk_ssb_compare_opts(small, big, "S!A1", NULL, &o, &r, &err), SK_OK);
        assert_int_equal(r.why, SK_SSB_LOAD);
        assert_non_null(strstr(r.reason, "1000 cells"));
        sk_ssb_case_result_release(&r);
        /* the same limit on the gold side is the data's fault */
        assert_int_equal(
            sk_ssb_compare_opts(big, small, "S!A1", NULL, &o, &r, &err),
            SK_EDATA);
        assert_non_null(strstr(err.msg, "expected workbook"));
        assert_non_null(strstr(err.msg, "big.xlsx"));
        assert_null(r.cells);
        sk_free(small);
    }
    sk_free(gold);
    sk_free(text);
    sk_free(empty);
    sk_free(missing);
    sk_free(big);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_ssb_score__unreadable_gold_is_an_error(void **state)
{
    char *dir = tu_mkdtemp();
    char *text = tu_write(dir, "gold.xlsx", "garbage");
    char *missing = sk_fs_join(dir, "nogold.xlsx");
    char *pred = fixture_path("score_good.xlsx");
    struct sk_ssb_case_result r;
    struct sk_error err;
    (void)state;
    assert_int_equal(sk_ssb_compare(text, pred, "Sheet1!A1", NULL, &r, &err),
                     SK_EDATA);
    assert_non_null(strstr(err.msg, "gold.xlsx"));
    assert_null(r.cells);
    assert_null(r.reason);
    sk_ssb_case_result_release(&r);
    assert_int_equal(sk_ssb_compare(missing, pred, "Sheet1!A1", NULL, &r, &err),
                     SK_EDATA);
    assert_non_null(strstr(err.msg, "nogold.xlsx"));
    sk_free(text);
    sk_free(missing);
    sk_free(pred);
    tu_rmtree(dir);
    sk_free(dir);
}

struct sweep {
    const char *gold, *pred;
};

static int sweep_body(void *ctx)
{
    const struct sweep *s = ctx;
    struct sk_ssb_case_result r;
    struct sk_error err;
    struct sk_buf rep;
    int rc = sk_ssb_compare(s->gold, s->pred,
                            "Sheet1!A1:C4,'My Sheet'!A1:B2,Extra!A1", NULL, &r,
                            &err);
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&rep, SK_BUF_UNLIMITED);
    rc = sk_ssb_report(&r, 1, 0, &rep);
    sk_buf_release(&rep);
    sk_ssb_case_result_release(&r);
    return rc;
}

static void test_ssb_score__allocation_failures_do_not_leak(void **state)
{
    struct sweep s;
    (void)state;
    s.gold = fixture_path("score_gold.xlsx");
    s.pred = fixture_path("score_bad.xlsx");
    assert_true(tu_alloc_sweep(sweep_body, &s) > 50);
    sk_free((char *)s.gold);
    sk_free((char *)s.pred);
}

/* ---- the 120 real tasks ---- */

struct task {
    char *id, *position, *sheet, *dir, *input, *answer;
    struct sk_ssb_case_result res;
    int ok; /* compare returned SK_OK */
};

static void load_tasks(const char *root, struct task **out, size_t *n)
{
    static const char *const splits[] = {"train", "val"};
    size_t s, i, cap = 0;
    *out = NULL;
    *n = 0;
    for (s = 0; s < 2; s++) {
        struct sk_buf p;
        json_t *items;
        json_error_t jerr;
        sk_buf_init(&p, SK_BUF_UNLIMITED);
        assert_int_equal(sk_buf_printf(&p, "%s/%s/items.json", root, splits[s]),
                         SK_OK);
        items = json_load_file(sk_buf_cstr(&p), 0, &jerr);
        if (!items)
            fail_msg("%s: %s", sk_buf_cstr(&p), jerr.text);
        for (i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            const json_t *sh = json_object_get(it, "answer_sheet");
            struct task *t;
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                *out = sk_realloc(*out, cap * sizeof **out);
                assert_non_null(*out);
            }
            t = &(*out)[(*n)++];
            memset(t, 0, sizeof *t);
            t->id = sk_strdup(json_string_value(json_object_get(it, "id")));
            t->position = sk_strdup(
                json_string_value(json_object_get(it, "answer_position")));
            t->sheet =
                json_is_string(sh) ? sk_strdup(json_string_value(sh)) : NULL;
            t->dir = sk_fs_join(root, json_string_value(json_object_get(
                                          it, "spreadsheet_path")));
            t->input = sk_fs_join(
                root, json_string_value(json_object_get(it, "input_file")));
            t->answer = sk_fs_join(
                root, json_string_value(json_object_get(it, "answer_file")));
        }
        json_decref(items);
        sk_buf_release(&p);
    }
}

static void free_tasks(struct task *t, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        sk_free(t[i].id);
        sk_free(t[i].position);
        sk_free(t[i].sheet);
        sk_free(t[i].dir);
        sk_free(t[i].input);
        sk_free(t[i].answer);
        sk_ssb_case_result_release(&t[i].res);
    }
    sk_free(t);
}

static int python_has_openpyxl(void)
{
    FILE *p = popen(PYTHON " -c 'import openpyxl' 2>/dev/null", "r");
    int st;
    if (!p)
        return 0;
    st = pclose(p);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Checks the cells openpyxl listed against direct reads of both files:
 * repr() of the values and of their transforms. */
static void check_cells_direct(const struct task *t, const json_t *cells)
{
    struct sk_xlsx *g = NULL, *p = NULL;
    struct sk_error err;
    size_t i;
    assert_int_equal(sk_xlsx_open(t->answer, NULL, &g, &err), SK_OK);
    assert_int_equal(sk_xlsx_open(t->input, NULL, &p, &err), SK_OK);
    for (i = 0; i < json_array_size(cells); i++) {
        const json_t *c = json_array_get(cells, i);
        const char *sheet = json_string_value(json_array_get(c, 0));
        const char *ref = json_string_value(json_array_get(c, 1));
        struct sk_xlsx_value gv, pv;
        int64_t row, col;
        long gi = sk_xlsx_sheet_find(g, sheet),
             pi = sk_xlsx_sheet_find(p, sheet);
        char *gt, *pt;
        assert_true(gi >= 0 && pi >= 0);
        assert_int_equal(sk_xlsx_parse_cell(ref, strlen(ref), &row, &col),
                         SK_OK);
        assert_int_equal(sk_xlsx_cell(g, (size_t)gi, row, col, &gv, &err),
                         SK_OK);
        assert_int_equal(sk_xlsx_cell(p, (size_t)pi, row, col, &pv, &err),
                         SK_OK);
        gt = transformed(&gv);
        pt = transformed(&pv);
        if (strcmp(gt, json_string_value(json_array_get(c, 5))) ||
            strcmp(pt, json_string_value(json_array_get(c, 6))))
            fail_msg("task %s %s!%s: transformed %s / %s, openpyxl %s / %s",
                     t->id, sheet, ref, gt, pt,
                     json_string_value(json_array_get(c, 5)),
                     json_string_value(json_array_get(c, 6)));
        sk_free(gt);
        sk_free(pt);
    }
    sk_xlsx_free(g);
    sk_xlsx_free(p);
}

static void test_ssb_score__real_tasks(void **state)
{
    char *data = shared_data(), *root = sk_fs_join(data, "spreadsheetbench");
    char *script = tu_source_path("tests/fixtures/ssb/openpyxl_score.py");
    char *tmp = NULL, *out = NULL,
         *items = sk_fs_join(root, "train/items.json");
    struct task *tasks = NULL;
    size_t n = 0, i, npass = 0, ncells = 0, nexc = 0;
    /* under valgrind a quarter of the tasks is enough */
    size_t stride = under_valgrind() ? 4 : 1;
    FILE *py = NULL;
    (void)state;
    if (!sk_fs_exists(items)) {
        print_message("SKIP: %s is absent\n", items);
        sk_free(items);
        sk_free(script);
        sk_free(root);
        sk_free(data);
        skip();
    }
    load_tasks(root, &tasks, &n);
    assert_int_equal(n, 120);
    /* openpyxl reads the same cells meanwhile (2 processes) */
    if (python_has_openpyxl()) {
        struct sk_buf cmd;
        tmp = tu_mkdtemp();
        out = sk_fs_join(tmp, "openpyxl.jsonl");
        sk_buf_init(&cmd, SK_BUF_UNLIMITED);
        assert_int_equal(sk_buf_printf(&cmd, PYTHON " '%s' '%s' 2 > '%s'",
                                       script, root, out),
                         SK_OK);
        py = popen(sk_buf_cstr(&cmd), "w");
        assert_non_null(py);
        sk_buf_release(&cmd);
    } else {
        print_message("note: %s cannot import openpyxl; only the C side "
                      "runs\n",
                      PYTHON);
    }
    for (i = 0; i < n; i += stride) {
        struct task *t = &tasks[i];
        struct sk_ssb_cases cs;
        struct sk_ssb_case_result self;
        struct sk_error err;
        /* the task folder holds the item's case */
        assert_int_equal(sk_ssb_find_cases(t->dir, &cs, &err), SK_OK);
        assert_int_equal(cs.n, 1);
        assert_string_equal(cs.v[0].input, t->input);
        assert_string_equal(cs.v[0].answer, t->answer);
        sk_ssb_cases_release(&cs);
        /* (a) the answer against itself passes */
        if (sk_ssb_compare(t->answer, t->answer, t->position, t->sheet, &self,
                           &err) != SK_OK)
            fail_msg("task %s: %s", t->id, err.msg);
        if (!self.pass && self.why == SK_SSB_EXCEPTION) {
            /* a position the reference cannot read either (37456's
             * "G12\uff1aJ15" has a full-width colon) */
            print_message("task %s: %s\n", t->id, self.reason);
            nexc++;
        } else if (!self.pass) {
            fail_msg("task %s: answer vs itself fails: %s", t->id, self.reason);
        } else {
            assert_true(self.n_cells > 0);
        }
        sk_ssb_case_result_release(&self);
        /* (b) the input against the answer */
        if (sk_ssb_compare(t->answer, t->input, t->position, t->sheet, &t->res,
                           &err) != SK_OK)
            fail_msg("task %s: %s", t->id, err.msg);
        npass += t->res.pass;
    }
    assert_true(nexc <= 1);
    print_message("SpreadsheetBench: %zu of %zu answers pass against "
                  "themselves; %zu of %zu input files pass against their "
                  "answers\n",
                  (n + stride - 1) / stride - nexc, (n + stride - 1) / stride,
                  npass, (n + stride - 1) / stride);
    if (py) {
        FILE *fp;
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int st = pclose(py);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        fp = fopen(out, "r");
        assert_non_null(fp);
        for (i = 0; (len = getline(&line, &cap, fp)) > 0; i++) {
            json_error_t jerr;
            json_t *row = json_loadb(line, (size_t)len, 0, &jerr);
            const struct task *t = &tasks[i];
            char what[128];
            assert_non_null(row);
            assert_true(i < n);
            assert_string_equal(json_string_value(json_object_get(row, "id")),
                                t->id);
            snprintf(what, sizeof what, "task %s", t->id);
            if (i % stride == 0) {
                check_result(what, &t->res, row);
                check_cells_direct(t, json_object_get(row, "cells"));
                ncells += json_array_size(json_object_get(row, "cells"));
            }
            json_decref(row);
        }
        free(line); /* from getline: libc */
        fclose(fp);
        assert_int_equal(i, n);
        print_message("openpyxl agrees on the %zu tasks checked (%zu cells)\n",
                      (n + stride - 1) / stride, ncells);
        tu_rmtree(tmp);
    }
    free_tasks(tasks, n);
    sk_free(tmp);
    sk_free(out);
    sk_free(items);
    sk_free(script);
    sk_free(root);
    sk_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssb_score__transform_compare_table),
        cmocka_unit_test(test_ssb_score__round_matches_cpython),
        cmocka_unit_test(test_ssb_score__float_and_int_strings),
        cmocka_unit_test(test_ssb_score__fixture_comparisons),
        cmocka_unit_test(test_ssb_score__formula_cells_are_flagged),
        cmocka_unit_test(test_ssb_score__find_cases),
        cmocka_unit_test(test_ssb_score__report_hides_expected_values),
        cmocka_unit_test(test_ssb_score__long_report_keeps_head_and_tail),
        cmocka_unit_test(test_ssb_score__absurd_ranges_fail_fast),
        cmocka_unit_test(test_ssb_score__bad_predictions_fail_the_case),
        cmocka_unit_test(test_ssb_score__unreadable_gold_is_an_error),
        cmocka_unit_test(test_ssb_score__allocation_failures_do_not_leak),
        cmocka_unit_test(test_ssb_score__real_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
