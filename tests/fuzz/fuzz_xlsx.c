/*
 * fuzz_xlsx.c - libFuzzer target: arbitrary bytes as an xlsx workbook.
 *
 * The bytes are opened from memory with small limits; every sheet is
 * parsed and every stored cell read back (value, repr, formula,
 * dimensions); then the workbook is scored against itself and against a
 * copy opened again, over a position naming its first sheet, and the
 * report is rendered.  A crash, a leak, a sanitizer report, or a workbook
 * that does not match itself is a failure.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/ssb_score.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "xlsx/xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_everything(struct sk_xlsx *x)
{
    size_t i, k;
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < sk_xlsx_sheet_count(x); i++) {
        struct sk_xlsx_dims d;
        struct sk_error err;
        if (!sk_xlsx_sheet_name(x, i) || sk_xlsx_sheet_load(x, i, &err))
            continue;
        if (sk_xlsx_dims(x, i, &d, &err) != SK_OK || d.min_row > d.max_row ||
            d.min_col > d.max_col)
            abort();
        for (k = 0; k < sk_xlsx_cell_count(x, i); k++) {
            struct sk_xlsx_value v, w;
            struct sk_ssb_tvalue t;
            int64_t r, c;
            if (sk_xlsx_cell_at(x, i, k, &r, &c, &v) != SK_OK)
                abort();
            /* lookup by position finds the same value */
            if (r >= 1 && c >= 1 &&
                (sk_xlsx_cell(x, i, r, c, &w, &err) != SK_OK ||
                 w.kind != v.kind))
                abort();
            sk_buf_reset(&b);
            if (sk_xlsx_value_repr(&v, &b) == SK_OK && b.len == 0)
                abort();
            if (sk_ssb_transform(&v, &t) == SK_OK) {
                sk_buf_reset(&b);
                sk_ssb_tvalue_repr(&t, &b);
            }
            if (r >= 1 && c >= 1)
                (void)sk_xlsx_cell_formula(x, i, r, c);
        }
    }
    sk_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sk_xlsx_limits lim;
    struct sk_xlsx *x = NULL, *y = NULL;
    struct sk_error err;
    struct sk_ssb_case_result res;
    struct sk_buf pos, rep;

    sk_log_set_level(SK_LOG_ERROR);
    memset(&lim, 0, sizeof lim);
    lim.max_total_bytes = 16u << 20;
    lim.max_part_bytes = 4u << 20;
    lim.max_cells = 100000;
    lim.max_string_bytes = 65536;
    lim.max_shared_strings = 100000;
    if (sk_xlsx_open_mem(data, size, "fuzz.xlsx", &lim, &x, &err) != SK_OK)
        return 0;
    read_everything(x);
    sk_buf_init(&pos, 4096);
    sk_buf_init(&rep, SK_BUF_UNLIMITED);
    if (sk_xlsx_sheet_count(x) > 0)
        sk_buf_printf(&pos, "A1:C4,'%s'!B2:B9,Z1", sk_xlsx_sheet_name(x, 0));
    else
        sk_buf_puts(&pos, "A1:B2");
    if (sk_ssb_compare_books(x, x, sk_buf_cstr(&pos), NULL, 0, &res, &err) ==
        SK_OK) {
        /* a workbook always matches itself unless it cannot be read */
        if (!res.pass && res.why == SK_SSB_VALUE) {
            size_t i;
            for (i = 0; i < res.n_cells; i++)
                if (!res.cells[i].pass &&
                    strcasestr(res.cells[i].expected, "nan") == NULL)
                    abort();
        }
        sk_ssb_report(&res, 1, 2000, &rep);
        sk_ssb_case_result_release(&res);
    }
    if (sk_xlsx_open_mem(data, size, "fuzz2.xlsx", &lim, &y, &err) == SK_OK) {
        if (sk_ssb_compare_books(x, y, "A1:E9", "Sheet1", 50, &res, &err) ==
            SK_OK) {
            sk_buf_reset(&rep);
            sk_ssb_report(&res, 0, 500, &rep);
            sk_ssb_case_result_release(&res);
        }
        sk_xlsx_free(y);
    }
    sk_buf_release(&pos);
    sk_buf_release(&rep);
    sk_xlsx_free(x);
    return 0;
}
