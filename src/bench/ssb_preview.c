/*
 * ssb_preview.c - the workbook preview of SpreadsheetBench prompts: per
 * sheet its extent, then the first rows and columns as "A1=value | B1= |
 * ...", formulas shown as their text (what openpyxl's data_only=False
 * gives), long values cut.
 */
#include "common.h"

#include "bench/ssb_preview.h"

#include <stdio.h>
#include <string.h>

#include "train/rundir.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "xlsx/xlsx.h"

#define PREVIEW_ROWS 5
#define PREVIEW_COLS 20
#define CELL_CHARS 40 /* longer values become 37 characters + "..." */

/* Appends text cut to CELL_CHARS code points as the reference does. */
static int put_cut(struct sk_buf *out, const char *s, size_t len)
{
    size_t i = 0, chars = 0, cut = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = sk_utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0)
            n = 1;
        if (chars == CELL_CHARS - 3)
            cut = i;
        i += n;
        chars++;
    }
    if (chars <= CELL_CHARS)
        return sk_buf_append(out, s, len);
    if (sk_buf_append(out, s, cut) != SK_OK)
        return SK_ENOMEM;
    return sk_buf_puts(out, "...");
}

/* Python's str() of a timedelta: "[-]D day[s], H:MM:SS[.ffffff]". */
static int put_timedelta(struct sk_buf *b, const struct sk_xlsx_value *v)
{
    int rc = SK_OK;
    if (v->td_days)
        rc = sk_buf_printf(b, "%lld day%s, ", (long long)v->td_days,
                           v->td_days == 1 || v->td_days == -1 ? "" : "s");
    if (rc == SK_OK)
        rc = sk_buf_printf(b, "%d:%02d:%02d", v->td_seconds / 3600,
                           v->td_seconds / 60 % 60, v->td_seconds % 60);
    if (rc == SK_OK && v->td_usec)
        rc = sk_buf_printf(b, ".%06d", v->td_usec);
    return rc;
}

int ssb_value_str(const struct sk_xlsx_value *v, struct sk_buf *b)
{
    char num[40];
    int rc = SK_OK;

    switch (v->kind) {
    case SK_XLSX_NONE:
        return SK_OK;
    case SK_XLSX_BOOL:
        return sk_buf_puts(b, v->b ? "True" : "False");
    case SK_XLSX_NUMBER:
        if (v->is_int && v->str)
            return sk_buf_append(b, v->str, v->len);
        sk_py_float_repr(v->num, num, sizeof num);
        return sk_buf_puts(b, num);
    case SK_XLSX_STRING:
        return sk_buf_append(b, v->str, v->len);
    case SK_XLSX_DATE:
        return sk_buf_printf(b, "%04d-%02d-%02d", v->year, v->month, v->day);
    case SK_XLSX_DATETIME:
        rc = sk_buf_printf(b, "%04d-%02d-%02d %02d:%02d:%02d", v->year,
                           v->month, v->day, v->hour, v->minute, v->second);
        break;
    case SK_XLSX_TIME:
        rc = sk_buf_printf(b, "%02d:%02d:%02d", v->hour, v->minute, v->second);
        break;
    case SK_XLSX_TIMEDELTA:
        return put_timedelta(b, v);
    }
    if (rc == SK_OK && v->usec)
        rc = sk_buf_printf(b, ".%06d", v->usec);
    return rc;
}

/* One sheet of the preview. */
static int sheet(struct sk_xlsx *x, size_t i, struct sk_buf *out,
                 struct sk_error *err)
{
    struct sk_xlsx_dims d;
    struct sk_buf cell;
    int64_t r, c, rows, cols;
    int rc;

    if (sk_xlsx_sheet_is_chart(x, i))
        return sk_buf_printf(out, "## Sheet: %s (a chart sheet: no cells)\n\n",
                             sk_xlsx_sheet_name(x, i));
    rc = sk_xlsx_dims(x, i, &d, err);
    if (rc != SK_OK)
        return rc;
    rc = sk_buf_printf(out,
                       "## Sheet: %s (used range %s, %lld rows, %lld "
                       "columns)\n",
                       sk_xlsx_sheet_name(x, i), d.text, (long long)d.max_row,
                       (long long)d.max_col);
    rows = d.max_row < PREVIEW_ROWS ? d.max_row : PREVIEW_ROWS;
    cols = d.max_col < PREVIEW_COLS ? d.max_col : PREVIEW_COLS;
    sk_buf_init(&cell, SK_BUF_UNLIMITED);
    for (r = 1; rc == SK_OK && r <= rows; r++) {
        for (c = 1; rc == SK_OK && c <= cols; c++) {
            struct sk_xlsx_value v;
            const char *f = sk_xlsx_cell_formula(x, i, r, c);
            char col[8];
            sk_xlsx_col_name(c, col);
            rc = sk_buf_printf(out, "%s%s%lld=", c > 1 ? " | " : "", col,
                               (long long)r);
            if (rc != SK_OK)
                break;
            sk_buf_reset(&cell);
            if (f) {
                rc = sk_buf_puts(&cell, f);
            } else {
                rc = sk_xlsx_cell(x, i, r, c, &v, err);
                if (rc == SK_OK)
                    rc = ssb_value_str(&v, &cell);
            }
            if (rc == SK_OK)
                rc = put_cut(out, cell.data ? cell.data : "", cell.len);
        }
        if (rc == SK_OK)
            rc = sk_buf_putc(out, '\n');
    }
    if (rc == SK_OK && d.max_row > PREVIEW_ROWS)
        rc = sk_buf_printf(out, "... (%lld more rows)\n",
                           (long long)(d.max_row - PREVIEW_ROWS));
    if (rc == SK_OK)
        rc = sk_buf_putc(out, '\n');
    sk_buf_release(&cell);
    return rc;
}

int ssb_preview(const char *path, struct sk_buf *out, struct sk_error *err)
{
    struct sk_xlsx *x = NULL;
    size_t i;
    int rc = sk_xlsx_open(path, NULL, &x, err);

    for (i = 0; rc == SK_OK && i < sk_xlsx_sheet_count(x); i++)
        rc = sheet(x, i, out, err);
    if (rc == SK_ENOMEM || rc == SK_ETOOBIG)
        sk_error_set(err, rc, "%s: preview: %s", path, sk_strerror(rc));
    sk_xlsx_free(x);
    return rc;
}
