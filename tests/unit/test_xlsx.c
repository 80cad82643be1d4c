/*
 * test_xlsx.c - the xlsx reader against what openpyxl 3.0.9 reads from the
 * same files (tests/fixtures/xlsx/make_fixtures.py made both), openpyxl's
 * date and number-format rules, A1 references, and hostile archives: zip
 * bombs, huge sheets, broken XML, DTDs, not-a-zip, missing parts.
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
#include <time.h>
#include <zip.h>

#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "xlsx/xlsx.h"

#define MAIN_NS "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define REL_NS                                                                 \
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

/* ---- helpers ---- */

static json_t *load_fixture(const char *rel)
{
    char *path = tu_source_path(rel);
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

static struct sk_xlsx *open_fixture(const char *name)
{
    struct sk_buf p;
    struct sk_xlsx *x = NULL;
    struct sk_error err;
    char *path;
    int rc;
    sk_buf_init(&p, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&p, "tests/fixtures/xlsx/%s", name), SK_OK);
    path = tu_source_path(sk_buf_cstr(&p));
    rc = sk_xlsx_open(path, NULL, &x, &err);
    if (rc != SK_OK)
        fail_msg("%s: %s", path, err.msg);
    sk_free(path);
    sk_buf_release(&p);
    return x;
}

static char *repr_of(const struct sk_xlsx_value *v)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_xlsx_value_repr(v, &b), SK_OK);
    if (!b.data)
        assert_int_equal(sk_buf_puts(&b, ""), SK_OK);
    return sk_buf_detach(&b, NULL);
}

/* valgrind sets LD_PRELOAD for its client; some checks are too slow there */
static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && (strstr(p, "valgrind") || strstr(p, "vgpreload"));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One archive member for make_zip. */
struct member {
    const char *name;
    const char *data;
    size_t len; /* 0: strlen(data) */
};

/* Writes a zip of the members to dir/name (deflated); returns the path. */
static char *make_zip(const char *dir, const char *name, const struct member *m,
                      size_t n)
{
    char *path = sk_fs_join(dir, name);
    int ze = 0;
    size_t i;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    assert_non_null(z);
    for (i = 0; i < n; i++) {
        size_t len = m[i].len ? m[i].len : strlen(m[i].data);
        zip_source_t *src = zip_source_buffer(z, m[i].data, len, 0);
        assert_non_null(src);
        assert_true(zip_file_add(z, m[i].name, src, ZIP_FL_OVERWRITE) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    return path;
}

static const char ct_xml[] =
    "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/"
    "package/2006/content-types\"><Default Extension=\"xml\" "
    "ContentType=\"application/xml\"/><Override PartName=\"/xl/workbook.xml\" "
    "ContentType=\"application/vnd.openxmlformats-officedocument."
    "spreadsheetml.sheet.main+xml\"/></Types>";

static const char wb_xml[] =
    "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
    "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";

static const char wb_rels[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
    "relationships\"><Relationship Id=\"rId1\" Type=\"" REL_NS
    "/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";

/* A one-sheet workbook whose sheet XML is sheet (and optional extras). */
static char *one_sheet_book(const char *dir, const char *name,
                            const char *sheet)
{
    struct member m[] = {{"[Content_Types].xml", ct_xml, 0},
                         {"xl/workbook.xml", wb_xml, 0},
                         {"xl/_rels/workbook.xml.rels", wb_rels, 0},
                         {"xl/worksheets/sheet1.xml", sheet, 0}};
    return make_zip(dir, name, m, SK_ARRAY_LEN(m));
}

/* Opens path and reads every cell of every sheet; returns the first
 * failure code (err gets its message). */
static int read_all(const char *path, const struct sk_xlsx_limits *lim,
                    struct sk_error *err)
{
    struct sk_xlsx *x = NULL;
    size_t i, k;
    int rc = sk_xlsx_open(path, lim, &x, err);
    for (i = 0; rc == SK_OK && i < sk_xlsx_sheet_count(x); i++) {
        rc = sk_xlsx_sheet_load(x, i, err);
        for (k = 0; rc == SK_OK && k < sk_xlsx_cell_count(x, i); k++) {
            struct sk_xlsx_value v;
            int64_t r, c;
            assert_int_equal(sk_xlsx_cell_at(x, i, k, &r, &c, &v), SK_OK);
        }
    }
    sk_xlsx_free(x);
    return rc;
}

/* ---- the fixtures read as openpyxl reads them ---- */

static void check_book(const json_t *book)
{
    const char *file = json_string_value(json_object_get(book, "file"));
    const json_t *names = json_object_get(book, "sheetnames");
    const json_t *sheets = json_object_get(book, "sheets");
    struct sk_xlsx *x = open_fixture(file);
    size_t i, k;

    assert_int_equal(sk_xlsx_sheet_count(x), json_array_size(names));
    for (i = 0; i < json_array_size(names); i++)
        assert_string_equal(sk_xlsx_sheet_name(x, i),
                            json_string_value(json_array_get(names, i)));
    assert_int_equal(sk_xlsx_date1904(x),
                     json_is_true(json_object_get(book, "date1904")));
    for (i = 0; i < json_array_size(sheets); i++) {
        const json_t *sh = json_array_get(sheets, i);
        const json_t *cells = json_object_get(sh, "cells");
        const json_t *formulas = json_object_get(sh, "formulas");
        const json_t *deps = json_object_get(sh, "shared_dependents");
        const char *name = json_string_value(json_object_get(sh, "name"));
        long si = sk_xlsx_sheet_find(x, name);
        struct sk_xlsx_dims d;
        struct sk_error err;
        size_t nf = 0;

        assert_true(si >= 0);
        if (sk_xlsx_dims(x, (size_t)si, &d, &err) != SK_OK)
            fail_msg("%s/%s: %s", file, name, err.msg);
        if (strcmp(d.text, json_string_value(json_object_get(sh, "dims"))))
            fail_msg("%s/%s: dims %s, openpyxl %s", file, name, d.text,
                     json_string_value(json_object_get(sh, "dims")));
        assert_int_equal(d.min_row,
                         json_integer_value(json_object_get(sh, "min_row")));
        assert_int_equal(d.max_row,
                         json_integer_value(json_object_get(sh, "max_row")));
        assert_int_equal(d.min_col,
                         json_integer_value(json_object_get(sh, "min_col")));
        assert_int_equal(d.max_col,
                         json_integer_value(json_object_get(sh, "max_col")));
        if (sk_xlsx_cell_count(x, (size_t)si) != json_array_size(cells))
            fail_msg("%s/%s: %zu cells, openpyxl %zu", file, name,
                     sk_xlsx_cell_count(x, (size_t)si), json_array_size(cells));
        for (k = 0; k < json_array_size(cells); k++) {
            const json_t *c = json_array_get(cells, k);
            int64_t row = json_integer_value(json_array_get(c, 0));
            int64_t col = json_integer_value(json_array_get(c, 1));
            const char *want = json_string_value(json_array_get(c, 2));
            struct sk_xlsx_value v;
            char *got;
            assert_int_equal(sk_xlsx_cell(x, (size_t)si, row, col, &v, &err),
                             SK_OK);
            got = repr_of(&v);
            if (strcmp(got, want) != 0)
                fail_msg("%s/%s R%lldC%lld: %s, openpyxl %s", file, name,
                         (long long)row, (long long)col, got, want);
            sk_free(got);
        }
        for (k = 0; k < sk_xlsx_cell_count(x, (size_t)si); k++) {
            struct sk_xlsx_value v;
            int64_t r, c;
            assert_int_equal(sk_xlsx_cell_at(x, (size_t)si, k, &r, &c, &v),
                             SK_OK);
            nf += v.has_formula != 0;
        }
        assert_int_equal(nf, json_array_size(formulas));
        for (k = 0; k < json_array_size(formulas); k++) {
            const json_t *f = json_array_get(formulas, k);
            int64_t row = json_integer_value(json_array_get(f, 0));
            int64_t col = json_integer_value(json_array_get(f, 1));
            const char *want = json_string_value(json_array_get(f, 2));
            const char *got = sk_xlsx_cell_formula(x, (size_t)si, row, col);
            size_t j;
            int dep = 0;
            for (j = 0; j < json_array_size(deps); j++) {
                const json_t *p = json_array_get(deps, j);
                dep |= json_integer_value(json_array_get(p, 0)) == row &&
                       json_integer_value(json_array_get(p, 1)) == col;
            }
            assert_non_null(got);
            if (!dep && strcmp(got, want) != 0)
                fail_msg("%s/%s R%lldC%lld formula %s, openpyxl %s", file, name,
                         (long long)row, (long long)col, got, want);
        }
    }
    sk_xlsx_free(x);
}

static void test_xlsx__fixtures_read_as_openpyxl(void **state)
{
    json_t *books = load_fixture("tests/fixtures/xlsx/expected.json");
    size_t i;
    (void)state;
    assert_true(json_array_size(books) >= 8);
    for (i = 0; i < json_array_size(books); i++)
        check_book(json_array_get(books, i));
    json_decref(books);
}

static void test_xlsx__shared_formula_shows_master(void **state)
{
    struct sk_xlsx *x = open_fixture("handmade.xlsx");
    const char *f;
    (void)state;
    f = sk_xlsx_cell_formula(x, 0, 9, 1);
    assert_string_equal(f, "=B1*2");
    f = sk_xlsx_cell_formula(x, 0, 9, 3);
    assert_string_equal(f, "=B1*2"); /* openpyxl would show =D1*2 */
    assert_null(sk_xlsx_cell_formula(x, 0, 1, 1));
    sk_xlsx_free(x);
}

static void test_xlsx__open_from_memory(void **state)
{
    char *path = tu_source_path("tests/fixtures/xlsx/handmade.xlsx");
    size_t len;
    char *data = tu_read(path, &len);
    struct sk_xlsx *x = NULL;
    struct sk_xlsx_value v;
    struct sk_error err;
    (void)state;
    assert_non_null(data);
    assert_int_equal(sk_xlsx_open_mem(data, len, "mem.xlsx", NULL, &x, &err),
                     SK_OK);
    sk_free(data); /* the reader keeps its own copy */
    assert_int_equal(sk_xlsx_sheet_count(x), 4);
    assert_int_equal(sk_xlsx_cell(x, 0, 1, 1, &v, &err), SK_OK);
    assert_int_equal(v.kind, SK_XLSX_STRING);
    assert_int_equal(v.len, 5);
    assert_memory_equal(v.str, "Hello", 5);
    /* a cell nobody wrote is None; the sheet index is checked */
    assert_int_equal(sk_xlsx_cell(x, 0, 500, 500, &v, &err), SK_OK);
    assert_int_equal(v.kind, SK_XLSX_NONE);
    assert_int_equal(sk_xlsx_cell(x, 9, 1, 1, &v, &err), SK_EINVAL);
    sk_xlsx_free(x);
    sk_free(path);
}

/* ---- openpyxl's date and number-format rules ---- */

static void test_xlsx__from_excel_matches_openpyxl(void **state)
{
    json_t *t = load_fixture("tests/fixtures/xlsx/tables.json");
    const json_t *rows = json_object_get(t, "from_excel");
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) > 100);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        double x = strtod(json_string_value(json_array_get(r, 0)), NULL);
        int is_int = json_is_true(json_array_get(r, 1));
        int d1904 = json_is_true(json_array_get(r, 2));
        int td = json_is_true(json_array_get(r, 3));
        const char *want = json_string_value(json_array_get(r, 4));
        struct sk_xlsx_value v;
        char *got;
        sk_xlsx_from_excel(x, is_int, d1904, td, &v);
        got = repr_of(&v);
        if (strcmp(got, want) != 0)
            fail_msg("from_excel(%.17g, int=%d, 1904=%d, td=%d) = %s, "
                     "openpyxl %s",
                     x, is_int, d1904, td, got, want);
        sk_free(got);
    }
    json_decref(t);
}

static void test_xlsx__number_formats_match_openpyxl(void **state)
{
    json_t *t = load_fixture("tests/fixtures/xlsx/tables.json");
    const json_t *rows = json_object_get(t, "numfmt");
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) > 40);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        const char *fmt = json_string_value(json_array_get(r, 0));
        if (sk_xlsx_is_date_format(fmt) != json_is_true(json_array_get(r, 1)))
            fail_msg("is_date_format(%s)", fmt);
        if (sk_xlsx_is_timedelta_format(fmt) !=
            json_is_true(json_array_get(r, 2)))
            fail_msg("is_timedelta_format(%s)", fmt);
    }
    assert_false(sk_xlsx_is_date_format(NULL));
    json_decref(t);
}

/* ---- references ---- */

static void test_xlsx__references(void **state)
{
    static const struct {
        const char *text;
        int ok;
        int64_t row, col;
    } cells[] = {
        {"A1", 1, 1, 1},       {"$B$7", 1, 7, 2},
        {"b7", 1, 7, 2},       {"XFD1048576", 1, 1048576, 16384},
        {"ZZZ1", 1, 1, 18278}, {"A0", 1, 0, 1},
        {"AAAA1", 0, 0, 0},    {"A", 0, 0, 0},
        {"1", 0, 0, 0},        {"A1 ", 0, 0, 0},
        {"$$A1", 0, 0, 0},     {"A$", 0, 0, 0},
        {"", 0, 0, 0},         {"A1:B2", 0, 0, 0},
    };
    char name[8];
    int64_t r1, c1, r2, c2, col;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cells); i++) {
        int64_t row = -1, c = -1;
        int rc =
            sk_xlsx_parse_cell(cells[i].text, strlen(cells[i].text), &row, &c);
        if ((rc == SK_OK) != cells[i].ok)
            fail_msg("parse_cell(%s) = %d", cells[i].text, rc);
        if (cells[i].ok) {
            assert_int_equal(row, cells[i].row);
            assert_int_equal(c, cells[i].col);
        }
    }
    for (col = 1; col <= 18278; col++) {
        size_t n = sk_xlsx_col_name(col, name);
        assert_true(n >= 1 && n <= 3);
        assert_int_equal(sk_xlsx_col_number(name, n), col);
    }
    assert_int_equal(sk_xlsx_col_name(0, name), 0);
    assert_int_equal(sk_xlsx_col_name(18279, name), 0);
    assert_int_equal(sk_xlsx_col_number("xfd", 3), 16384);
    assert_int_equal(sk_xlsx_col_number("A1", 2), 0);
    assert_int_equal(sk_xlsx_parse_range("$A$1:c3", 7, &r1, &c1, &r2, &c2),
                     SK_OK);
    assert_true(r1 == 1 && c1 == 1 && r2 == 3 && c2 == 3);
    assert_int_equal(sk_xlsx_parse_range("B2", 2, &r1, &c1, &r2, &c2), SK_OK);
    assert_true(r1 == 2 && c1 == 2 && r2 == 2 && c2 == 2);
    assert_int_equal(sk_xlsx_parse_range("A1:B", 4, &r1, &c1, &r2, &c2),
                     SK_EPARSE);
    assert_int_equal(sk_xlsx_parse_range("A1:B2:C3", 8, &r1, &c1, &r2, &c2),
                     SK_EPARSE);
}

/* ---- laziness, remembered failures, allocation failures ---- */

static void test_xlsx__sheets_parse_lazily(void **state)
{
    char *dir = tu_mkdtemp();
    static const char wb2[] =
        "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
        "<sheet name=\"Good\" sheetId=\"1\" r:id=\"rId1\"/>"
        "<sheet name=\"Bad\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";
    static const char rels2[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
        "relationships\"><Relationship Id=\"rId1\" Type=\"" REL_NS
        "/worksheet\" Target=\"worksheets/a.xml\"/><Relationship Id=\"rId2\" "
        "Type=\"" REL_NS "/worksheet\" Target=\"worksheets/b.xml\"/>"
        "</Relationships>";
    struct member m[] = {
        {"[Content_Types].xml", ct_xml, 0},
        {"xl/workbook.xml", wb2, 0},
        {"xl/_rels/workbook.xml.rels", rels2, 0},
        {"xl/worksheets/a.xml",
         "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\"><c r=\"A1\">"
         "<v>5</v></c></row></sheetData></worksheet>",
         0},
        {"xl/worksheets/b.xml", "<worksheet><sheetData><row>", 0}};
    char *path = make_zip(dir, "lazy.xlsx", m, SK_ARRAY_LEN(m));
    struct sk_xlsx *x = NULL;
    struct sk_xlsx_value v;
    struct sk_error err, err2;
    (void)state;
    assert_int_equal(sk_xlsx_open(path, NULL, &x, &err), SK_OK);
    assert_int_equal(sk_xlsx_cell(x, 0, 1, 1, &v, &err), SK_OK);
    assert_int_equal(v.kind, SK_XLSX_NUMBER);
    assert_int_equal(sk_xlsx_cell_count(x, 1), 0); /* not parsed yet */
    assert_int_equal(sk_xlsx_cell(x, 1, 1, 1, &v, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "xl/worksheets/b.xml"));
    assert_non_null(strstr(err.msg, "lazy.xlsx"));
    assert_int_equal(sk_xlsx_sheet_load(x, 1, &err2), SK_EDATA);
    assert_string_equal(err.msg, err2.msg);
    assert_null(sk_xlsx_cell_formula(x, 1, 1, 1));
    sk_xlsx_free(x);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

static int sweep_body(void *ctx)
{
    const char *path = ctx;
    struct sk_error err;
    return read_all(path, NULL, &err);
}

static void test_xlsx__allocation_failures_do_not_leak(void **state)
{
    char *path = tu_source_path("tests/fixtures/xlsx/handmade.xlsx");
    (void)state;
    assert_true(tu_alloc_sweep(sweep_body, path) > 50);
    sk_free(path);
}

/* ---- hostile and broken archives ---- */

/* A bit writer for a hand-made deflate stream (RFC 1951, LSB first). */
struct bits {
    unsigned char *p;
    size_t n, cap;
    unsigned acc, nacc;
};

static void put_bits(struct bits *b, unsigned v, unsigned n)
{
    b->acc |= v << b->nacc;
    b->nacc += n;
    while (b->nacc >= 8) {
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 4096;
            b->p = sk_realloc(b->p, b->cap);
            assert_non_null(b->p);
        }
        b->p[b->n++] = (unsigned char)(b->acc & 0xFF);
        b->acc >>= 8;
        b->nacc -= 8;
    }
}

/* A fixed-Huffman code of n bits, sent most significant bit first. */
static void put_code(struct bits *b, unsigned code, unsigned n)
{
    unsigned r = 0, i;
    for (i = 0; i < n; i++)
        r |= ((code >> i) & 1u) << (n - 1 - i);
    put_bits(b, r, n);
}

static void put_literal(struct bits *b, unsigned char c)
{
    if (c < 144)
        put_code(b, 0x30u + c, 8);
    else
        put_code(b, 0x190u + (c - 144u), 9);
}

/*
 * Deflates prefix followed by `spaces` blanks (a multiple of 258 after the
 * first): length-258 copies at distance 1 compress 1 GiB to ~6.5 MB.
 */
static struct bits bomb_stream(const char *prefix, uint64_t spaces)
{
    struct bits b;
    uint64_t k;
    memset(&b, 0, sizeof b);
    put_bits(&b, 1, 1); /* BFINAL */
    put_bits(&b, 1, 2); /* fixed Huffman */
    for (; *prefix; prefix++)
        put_literal(&b, (unsigned char)*prefix);
    put_literal(&b, ' ');
    for (k = 0; k < spaces / 258; k++) {
        put_code(&b, 0xC5, 8); /* length 258: symbol 285 */
        put_code(&b, 0, 5);    /* distance 1 */
    }
    put_code(&b, 0, 7); /* end of block */
    put_bits(&b, 0, 7); /* flush */
    return b;
}

static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
    le16(p, v & 0xFFFF);
    le16(p + 2, v >> 16);
}

/*
 * Writes a zip whose members are the stored small parts plus one deflated
 * member `big` holding data (the deflate stream) that claims usize bytes.
 */
static char *bomb_zip(const char *dir, const char *name, const char *big,
                      const struct bits *data, uint32_t usize)
{
    struct member small[] = {{"[Content_Types].xml", ct_xml, 0},
                             {"xl/workbook.xml", wb_xml, 0},
                             {"xl/_rels/workbook.xml.rels", wb_rels, 0}};
    char *path = sk_fs_join(dir, name);
    FILE *fp = fopen(path, "wb");
    unsigned char hdr[64], cd[4096];
    size_t cdn = 0, i, off = 0;
    assert_non_null(fp);
    for (i = 0; i <= SK_ARRAY_LEN(small); i++) {
        const char *nm = i < SK_ARRAY_LEN(small) ? small[i].name : big;
        const unsigned char *body = i < SK_ARRAY_LEN(small)
                                        ? (const unsigned char *)small[i].data
                                        : data->p;
        size_t blen = i < SK_ARRAY_LEN(small) ? strlen(small[i].data) : data->n;
        uint32_t crc = i < SK_ARRAY_LEN(small) ? crc32_ieee(body, blen) : 0;
        unsigned method = i < SK_ARRAY_LEN(small) ? 0 : 8;
        uint32_t us = i < SK_ARRAY_LEN(small) ? (uint32_t)blen : usize;
        size_t nl = strlen(nm);
        memset(hdr, 0, 30);
        le32(hdr, 0x04034b50);
        le16(hdr + 4, 20);
        le16(hdr + 8, method);
        le32(hdr + 14, crc);
        le32(hdr + 18, (uint32_t)blen);
        le32(hdr + 22, us);
        le16(hdr + 26, (unsigned)nl);
        assert_int_equal(fwrite(hdr, 1, 30, fp), 30);
        assert_int_equal(fwrite(nm, 1, nl, fp), nl);
        assert_int_equal(fwrite(body, 1, blen, fp), blen);
        memset(cd + cdn, 0, 46);
        le32(cd + cdn, 0x02014b50);
        le16(cd + cdn + 4, 20);
        le16(cd + cdn + 6, 20);
        le16(cd + cdn + 10, method);
        le32(cd + cdn + 16, crc);
        le32(cd + cdn + 20, (uint32_t)blen);
        le32(cd + cdn + 24, us);
        le16(cd + cdn + 28, (unsigned)nl);
        le32(cd + cdn + 42, (uint32_t)off);
        memcpy(cd + cdn + 46, nm, nl);
        cdn += 46 + nl;
        off += 30 + nl + blen;
    }
    memset(hdr, 0, 22);
    le32(hdr, 0x06054b50);
    le16(hdr + 8, (unsigned)SK_ARRAY_LEN(small) + 1);
    le16(hdr + 10, (unsigned)SK_ARRAY_LEN(small) + 1);
    le32(hdr + 12, (uint32_t)cdn);
    le32(hdr + 16, (uint32_t)off);
    assert_int_equal(fwrite(cd, 1, cdn, fp), cdn);
    assert_int_equal(fwrite(hdr, 1, 22, fp), 22);
    assert_int_equal(fclose(fp), 0);
    return path;
}

#define SHEET_PART "xl/worksheets/sheet1.xml"
#define SHEET_HEAD "<worksheet xmlns=\"" MAIN_NS "\"><sheetData>"

/* The bomb: ~1 GiB of blanks in the sheet; both an honest header and one
 * that claims 1 KiB must stop at the byte limit, in bounded time. */
static void test_xlsx__zip_bomb_is_refused(void **state)
{
    char *dir = tu_mkdtemp();
    struct bits b = bomb_stream(SHEET_HEAD, (uint64_t)1 << 30);
    struct sk_xlsx_limits lim;
    struct sk_error err;
    const uint32_t sizes[2] = {(1u << 30) + 1000u, 1024u};
    size_t k;
    (void)state;
    assert_true(b.n < 8u << 20); /* a few MB on disk */
    memset(&lim, 0, sizeof lim);
    lim.max_part_bytes = 16u << 20;
    for (k = 0; k < 2; k++) {
        char *path = bomb_zip(dir, k ? "liar.xlsx" : "bomb.xlsx", SHEET_PART,
                              &b, sizes[k]);
        double t0 = now_s();
        int rc = read_all(path, &lim, &err);
        assert_true(rc == SK_ETOOBIG || rc == SK_EDATA);
        if (k == 0) {
            assert_int_equal(rc, SK_ETOOBIG);
            assert_non_null(strstr(err.msg, SHEET_PART));
            assert_non_null(strstr(err.msg, "bomb.xlsx"));
        }
        assert_true(now_s() - t0 < 30.0);
        sk_free(path);
    }
    if (!under_valgrind()) {
        /* the default limits stop it too (256 MiB per workbook) */
        char *path = bomb_zip(dir, "bomb2.xlsx", SHEET_PART, &b, sizes[0]);
        double t0 = now_s();
        assert_int_equal(read_all(path, NULL, &err), SK_ETOOBIG);
        assert_true(now_s() - t0 < 20.0);
        sk_free(path);
    }
    sk_free(b.p);
    tu_rmtree(dir);
    sk_free(dir);
}

static char *repeat(const char *head, const char *unit, size_t n,
                    const char *tail)
{
    struct sk_buf b;
    size_t i;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(&b, head), SK_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(sk_buf_puts(&b, unit), SK_OK);
    assert_int_equal(sk_buf_puts(&b, tail), SK_OK);
    return sk_buf_detach(&b, NULL);
}

static void test_xlsx__huge_sheet_is_refused(void **state)
{
    char *dir = tu_mkdtemp();
    char *sheet = repeat(SHEET_HEAD "<row>", "<c><v>1</v></c>", 20000,
                         "</row></sheetData></worksheet>");
    char *path = one_sheet_book(dir, "huge.xlsx", sheet);
    struct sk_xlsx_limits lim;
    struct sk_error err;
    (void)state;
    memset(&lim, 0, sizeof lim);
    lim.max_cells = 10000;
    assert_int_equal(read_all(path, &lim, &err), SK_ETOOBIG);
    assert_non_null(strstr(err.msg, "10000 cells"));
    lim.max_cells = 20000;
    assert_int_equal(read_all(path, &lim, &err), SK_OK);
    sk_free(path);
    sk_free(sheet);
    /* a merged range may not blow up either */
    sheet = (char *)SHEET_HEAD "</sheetData><mergeCells><mergeCell "
                               "ref=\"A1:XFD1048576\"/></mergeCells>"
                               "</worksheet>";
    path = one_sheet_book(dir, "merge.xlsx", sheet);
    assert_int_equal(read_all(path, NULL, &err), SK_ETOOBIG);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_xlsx__broken_sheets_are_refused(void **state)
{
    static const struct {
        const char *sheet;
        int rc;
        const char *msg;
    } cases[] = {
        {SHEET_HEAD "<row><c><v>1</v></row>", SK_EDATA, "broken XML"},
        {"", SK_EDATA, "broken XML"},
        {"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
         "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
         "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
         "<worksheet><sheetData><row><c t=\"str\"><v>&lol3;</v></c></row>"
         "</sheetData></worksheet>",
         SK_EDATA, "DTD"},
        {SHEET_HEAD "<row><c r=\"1A\"><v>1</v></c></row></sheetData>"
                    "</worksheet>",
         SK_EDATA, "bad cell reference"},
        {SHEET_HEAD "<row><c t=\"s\"><v>0</v></c></row></sheetData>"
                    "</worksheet>",
         SK_EDATA, "shared string 0"},
        {SHEET_HEAD "<row><c s=\"3\"><v>1</v></c></row></sheetData>"
                    "</worksheet>",
         SK_EDATA, "style"},
        {SHEET_HEAD "<row><c><v>1x</v></c></row></sheetData></worksheet>",
         SK_EDATA, "not valid"},
        {SHEET_HEAD "<row><c t=\"d\"><v>yesterday</v></c></row></sheetData>"
                    "</worksheet>",
         SK_EDATA, "not valid"},
        {SHEET_HEAD "<row><c t=\"b\"><v>true</v></c></row></sheetData>"
                    "</worksheet>",
         SK_EDATA, "not valid"},
        {SHEET_HEAD "<row r=\"x\"/></sheetData></worksheet>", SK_EDATA,
         "bad row"},
        {SHEET_HEAD "</sheetData><mergeCells><mergeCell ref=\"B2:A1\"/>"
                    "</mergeCells></worksheet>",
         SK_EDATA, "merged range"},
    };
    char *dir = tu_mkdtemp();
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *path = one_sheet_book(dir, "b.xlsx", cases[i].sheet);
        struct sk_error err;
        int rc = read_all(path, NULL, &err);
        if (rc != cases[i].rc || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: %d %s", i, rc, err.msg);
        sk_free(path);
    }
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_xlsx__deep_and_long_inputs_are_refused(void **state)
{
    char *dir = tu_mkdtemp();
    char *deep = repeat(SHEET_HEAD, "<x>", 100000, "");
    char *longs = repeat(SHEET_HEAD "<row><c t=\"str\"><v>", "0123456789",
                         20000, "</v></c></row></sheetData></worksheet>");
    char *path;
    struct sk_xlsx_limits lim;
    struct sk_error err;
    (void)state;
    path = one_sheet_book(dir, "deep.xlsx", deep);
    assert_int_equal(read_all(path, NULL, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "nested"));
    sk_free(path);
    path = one_sheet_book(dir, "long.xlsx", longs);
    memset(&lim, 0, sizeof lim);
    lim.max_string_bytes = 100000;
    assert_int_equal(read_all(path, &lim, &err), SK_ETOOBIG);
    assert_int_equal(read_all(path, NULL, &err), SK_OK);
    sk_free(path);
    sk_free(deep);
    sk_free(longs);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_xlsx__broken_packages_are_refused(void **state)
{
    static const char bad_rels[] =
        "<Relationships xmlns=\"x\"><Relationship Id=\"rId1\" Type=\"t\" "
        "Target=\"../../../etc/passwd\"/></Relationships>";
    static const char dtd_wb[] =
        "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY a \"aaaa\">]>"
        "<workbook xmlns=\"" MAIN_NS "\"><sheets/></workbook>";
    static const char wb_noid[] =
        "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
        "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId9\"/></sheets></workbook>";
    static const char wb_badname[] =
        "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
        "<sheet name=\"a/b\" sheetId=\"1\" r:id=\"rId1\"/></sheets>"
        "</workbook>";
    const char *sheet = SHEET_HEAD "</sheetData></worksheet>";
    struct member no_ct[] = {{"xl/workbook.xml", wb_xml, 0}};
    struct member no_wb[] = {{"[Content_Types].xml", ct_xml, 0}};
    struct member outside[] = {{"[Content_Types].xml", ct_xml, 0},
                               {"xl/workbook.xml", wb_xml, 0},
                               {"xl/_rels/workbook.xml.rels", bad_rels, 0}};
    struct member dtd[] = {{"[Content_Types].xml", ct_xml, 0},
                           {"xl/workbook.xml", dtd_wb, 0}};
    struct member no_rels[] = {{"[Content_Types].xml", ct_xml, 0},
                               {"xl/workbook.xml", wb_xml, 0}};
    struct member unknown_id[] = {{"[Content_Types].xml", ct_xml, 0},
                                  {"xl/workbook.xml", wb_noid, 0},
                                  {"xl/_rels/workbook.xml.rels", wb_rels, 0},
                                  {SHEET_PART, sheet, 0}};
    struct member bad_name[] = {{"[Content_Types].xml", ct_xml, 0},
                                {"xl/workbook.xml", wb_badname, 0},
                                {"xl/_rels/workbook.xml.rels", wb_rels, 0},
                                {SHEET_PART, sheet, 0}};
    struct member gone[] = {{"[Content_Types].xml", ct_xml, 0},
                            {"xl/workbook.xml", wb_xml, 0},
                            {"xl/_rels/workbook.xml.rels", wb_rels, 0}};
    const struct {
        const char *name;
        struct member *m;
        size_t n;
        const char *msg;
    } cases[] = {
        {"noct.xlsx", no_ct, SK_ARRAY_LEN(no_ct), "[Content_Types].xml"},
        {"nowb.xlsx", no_wb, SK_ARRAY_LEN(no_wb), "xl/workbook.xml"},
        {"outside.xlsx", outside, SK_ARRAY_LEN(outside), "outside"},
        {"dtd.xlsx", dtd, SK_ARRAY_LEN(dtd), "DTD"},
        {"norels.xlsx", no_rels, SK_ARRAY_LEN(no_rels), "rels"},
        {"unknown.xlsx", unknown_id, SK_ARRAY_LEN(unknown_id), "rId9"},
        {"badname.xlsx", bad_name, SK_ARRAY_LEN(bad_name), "sheet name"},
    };
    char *dir = tu_mkdtemp();
    struct sk_xlsx *x = NULL;
    struct sk_error err;
    char *path;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        path = make_zip(dir, cases[i].name, cases[i].m, cases[i].n);
        if (sk_xlsx_open(path, NULL, &x, &err) != SK_EDATA ||
            !strstr(err.msg, cases[i].msg) || !strstr(err.msg, cases[i].name))
            fail_msg("%s: %s", cases[i].name, err.msg);
        assert_null(x);
        sk_free(path);
    }
    /* a sheet whose part is missing is dropped, as openpyxl does */
    path = make_zip(dir, "gone.xlsx", gone, SK_ARRAY_LEN(gone));
    assert_int_equal(sk_xlsx_open(path, NULL, &x, &err), SK_OK);
    assert_int_equal(sk_xlsx_sheet_count(x), 0);
    sk_xlsx_free(x);
    sk_free(path);
    /* not a zip, an empty file, a missing file */
    path = tu_write(dir, "text.xlsx", "hello, this is not a zip archive\n");
    assert_int_equal(sk_xlsx_open(path, NULL, &x, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "text.xlsx"));
    sk_free(path);
    path = tu_write(dir, "empty.xlsx", "");
    assert_int_equal(sk_xlsx_open(path, NULL, &x, &err), SK_EDATA);
    sk_free(path);
    path = sk_fs_join(dir, "absent.xlsx");
    assert_int_equal(sk_xlsx_open(path, NULL, &x, &err), SK_ENOTFOUND);
    sk_free(path);
    assert_int_equal(sk_xlsx_open_mem("PK\3\4", 4, NULL, NULL, &x, &err),
                     SK_EDATA);
    assert_int_equal(sk_xlsx_open_mem("", 0, NULL, NULL, &x, &err), SK_EDATA);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_xlsx__odd_members_are_refused(void **state)
{
    char *dir = tu_mkdtemp();
    char *path = one_sheet_book(dir, "method.xlsx",
                                SHEET_HEAD "</sheetData></worksheet>");
    size_t len, i;
    unsigned char *data = (unsigned char *)tu_read(path, &len);
    struct sk_xlsx *x = NULL;
    struct sk_error err;
    int patched = 0;
    (void)state;
    /* set the compression method of the sheet (headers of both kinds) to
     * 99 and flag it encrypted in the central directory */
    for (i = 0; i + 46 < len; i++) {
        if (data[i] == 'P' && data[i + 1] == 'K' && data[i + 2] == 1 &&
            data[i + 3] == 2 && memcmp(data + i + 46, SHEET_PART, 24) == 0) {
            data[i + 10] = 99;
            patched++;
        }
    }
    assert_int_equal(patched, 1);
    /* refused when the archive is opened or when the sheet is read */
    if (sk_xlsx_open_mem(data, len, "m.xlsx", NULL, &x, &err) == SK_OK) {
        assert_int_equal(sk_xlsx_sheet_load(x, 0, &err), SK_EDATA);
        assert_non_null(strstr(err.msg, "compression"));
        sk_xlsx_free(x);
    } else {
        assert_int_equal(err.code, SK_EDATA);
        assert_null(x);
    }
    for (i = 0; i + 46 < len; i++)
        if (data[i] == 'P' && data[i + 1] == 'K' && data[i + 2] == 1 &&
            data[i + 3] == 2 && memcmp(data + i + 46, SHEET_PART, 24) == 0) {
            data[i + 10] = 8;
            data[i + 8] |= 1; /* encrypted */
        }
    if (sk_xlsx_open_mem(data, len, "e.xlsx", NULL, &x, &err) == SK_OK) {
        assert_int_equal(sk_xlsx_sheet_load(x, 0, &err), SK_EDATA);
        sk_xlsx_free(x);
    } else {
        assert_int_equal(err.code, SK_EDATA);
    }
    sk_free(data);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_xlsx__date1904_attribute_values(void **state)
{
    static const struct {
        const char *attr;
        int is1904;
    } cases[] = {{"1", 1}, {"true", 1}, {"false", 0}, {"0", 0},
                 {"f", 0}, {"", 0},     {"False", 1}, {"yes", 1}};
    char *dir = tu_mkdtemp();
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_buf wb;
        struct sk_xlsx *x = NULL;
        struct sk_error err;
        char *path;
        sk_buf_init(&wb, SK_BUF_UNLIMITED);
        assert_int_equal(sk_buf_printf(&wb,
                                       "<workbook xmlns=\"%s\"><workbookPr "
                                       "date1904=\"%s\"/></workbook>",
                                       MAIN_NS, cases[i].attr),
                         SK_OK);
        {
            struct member m[] = {{"[Content_Types].xml", ct_xml, 0},
                                 {"xl/workbook.xml", sk_buf_cstr(&wb), 0}};
            path = make_zip(dir, "d.xlsx", m, SK_ARRAY_LEN(m));
        }
        assert_int_equal(sk_xlsx_open(path, NULL, &x, &err), SK_OK);
        assert_int_equal(sk_xlsx_date1904(x), cases[i].is1904);
        sk_xlsx_free(x);
        sk_free(path);
        sk_buf_release(&wb);
    }
    tu_rmtree(dir);
    sk_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xlsx__fixtures_read_as_openpyxl),
        cmocka_unit_test(test_xlsx__shared_formula_shows_master),
        cmocka_unit_test(test_xlsx__open_from_memory),
        cmocka_unit_test(test_xlsx__from_excel_matches_openpyxl),
        cmocka_unit_test(test_xlsx__number_formats_match_openpyxl),
        cmocka_unit_test(test_xlsx__references),
        cmocka_unit_test(test_xlsx__sheets_parse_lazily),
        cmocka_unit_test(test_xlsx__allocation_failures_do_not_leak),
        cmocka_unit_test(test_xlsx__zip_bomb_is_refused),
        cmocka_unit_test(test_xlsx__huge_sheet_is_refused),
        cmocka_unit_test(test_xlsx__broken_sheets_are_refused),
        cmocka_unit_test(test_xlsx__deep_and_long_inputs_are_refused),
        cmocka_unit_test(test_xlsx__broken_packages_are_refused),
        cmocka_unit_test(test_xlsx__odd_members_are_refused),
        cmocka_unit_test(test_xlsx__date1904_attribute_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
