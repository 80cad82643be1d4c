/*
 * ssb_report.c - the per-cell verification report of a SpreadsheetBench
 * case (ssb_score.h), in two forms: with the expected values for the
 * analyst, without them for the target model.  Long reports keep their
 * head and tail.
 */
#include "common.h"

#include "bench/ssb_score.h"

#include <string.h>

#include "bench/score.h"
#include "util/buf.h"

#define DEFAULT_MAX_CHARS 12000
#define MAX_FULL ((size_t)32 << 20) /* bytes of the uncut report */
#define FORMULAS_LISTED 5

static int part_lines(const struct sk_ssb_case_result *r,
                      const struct sk_ssb_part *p, int with_expected,
                      struct sk_buf *b)
{
    size_t i, empty = 0;
    int rc = SK_OK;
    if (p->missing)
        return sk_buf_printf(b,
                             "  Sheet '%s' is missing from the output "
                             "workbook.\n",
                             p->sheet);
    for (i = p->first; i < p->first + p->n && rc == SK_OK; i++) {
        const struct sk_ssb_cell *c = &r->cells[i];
        if (c->empty) {
            empty++;
            continue;
        }
        rc = sk_buf_printf(b, "  %s!%s: output %s %s", c->sheet, c->ref,
                           c->predicted, c->pass ? "\u2713" : "\u2717");
        if (rc == SK_OK && with_expected && !c->pass)
            rc = sk_buf_printf(b, " expected %s", c->expected);
        if (rc == SK_OK)
            rc = sk_buf_putc(b, '\n');
    }
    if (rc == SK_OK && empty)
        rc = sk_buf_printf(b, "  (+%zu empty cells correct, not listed)\n",
                           empty);
    return rc;
}

static int full_report(const struct sk_ssb_case_result *r, int with_expected,
                       struct sk_buf *b)
{
    size_t i, wrong = 0, nf = 0, listed = 0;
    int rc;
    for (i = 0; i < r->n_cells; i++) {
        wrong += !r->cells[i].pass;
        nf += r->cells[i].formula_no_value != 0;
    }
    if (r->pass)
        rc = sk_buf_printf(b, "All %zu answer cells match.\n", r->n_cells);
    else if ((r->why == SK_SSB_VALUE || r->why == SK_SSB_NO_SHEET) &&
             r->n_cells > 0)
        rc = sk_buf_printf(b, "%zu of %zu checked answer cells are wrong.\n",
                           wrong, r->n_cells);
    else if (r->why == SK_SSB_NO_SHEET)
        rc = sk_buf_puts(b, "The output workbook lacks an answer sheet.\n");
    else
        rc = sk_buf_printf(b,
                           "The answer cells could not all be checked: "
                           "%s\n",
                           r->reason ? r->reason : "");
    for (i = 0; i < r->n_parts && rc == SK_OK; i++)
        rc = part_lines(r, &r->parts[i], with_expected, b);
    if (rc == SK_OK && r->cut)
        rc = sk_buf_puts(b, "  (some values were too long to keep)\n");
    if (rc == SK_OK && nf)
        rc = sk_buf_printf(b,
                           "Warning: %zu answer cell%s hold%s a formula with "
                           "no saved value; the checker reads such a cell "
                           "as empty (None). Write the computed values into "
                           "the cells, not formulas:\n",
                           nf, nf == 1 ? "" : "s", nf == 1 ? "s" : "");
    for (i = 0; i < r->n_cells && rc == SK_OK && listed < FORMULAS_LISTED;
         i++) {
        const struct sk_ssb_cell *c = &r->cells[i];
        if (!c->formula_no_value)
            continue;
        listed++;
        rc = sk_buf_printf(b, "  %s!%s: %s\n", c->sheet, c->ref,
                           c->formula ? c->formula : "(formula)");
    }
    if (rc == SK_OK && nf > listed)
        rc = sk_buf_printf(b, "  ... and %zu more\n", nf - listed);
    return rc;
}

int sk_ssb_report(const struct sk_ssb_case_result *res, int with_expected,
                  size_t max_chars, struct sk_buf *out)
{
    struct sk_buf full;
    size_t n, half, head_end, tail_start;
    int rc, cut = 0;

    if (!max_chars)
        max_chars = DEFAULT_MAX_CHARS;
    sk_buf_init(&full, MAX_FULL);
    rc = full_report(res, with_expected, &full);
    if (rc == SK_ETOOBIG) {
        cut = 1; /* beyond MAX_FULL: the tail is what fitted */
        rc = SK_OK;
    }
    if (rc != SK_OK)
        goto out;
    n = sk_score_cp_count(sk_buf_cstr(&full), full.len);
    if (n <= max_chars && !cut) {
        rc = sk_buf_append(out, sk_buf_cstr(&full), full.len);
        goto out;
    }
    half = max_chars / 2;
    head_end = sk_score_cp_offset(full.data, full.len, half);
    tail_start =
        sk_score_cp_offset(full.data, full.len, n > half ? n - half : 0);
    if (tail_start < head_end)
        tail_start = head_end;
    {
        size_t mark = out->len;
        rc = sk_buf_append(out, full.data, head_end);
        if (rc == SK_OK)
            rc = sk_buf_printf(out,
                               "\n  ...[report cut: %zu%s characters in "
                               "all]...\n",
                               n, cut ? "+" : "");
        if (rc == SK_OK)
            rc = sk_buf_append(out, full.data + tail_start,
                               full.len - tail_start);
        if (rc != SK_OK)
            sk_buf_truncate(out, mark);
    }
out:
    sk_buf_release(&full);
    return rc;
}
