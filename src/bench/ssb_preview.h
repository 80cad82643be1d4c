/*
 * ssb_preview.h - the text preview of a workbook that SpreadsheetBench
 * prompts show the target (first 5 rows and 20 columns of every sheet).
 * Output is appended to a caller-owned buffer.
 */
#ifndef SK_BENCH_SSB_PREVIEW_H
#define SK_BENCH_SSB_PREVIEW_H

#include "common.h"

struct sk_buf;
struct sk_xlsx_value;

/*
 * Appends the preview of the workbook at path.  SK_OK; the reader's
 * errors (SK_EDATA, SK_ENOTFOUND, SK_EIO, SK_ETOOBIG) with err naming the
 * file; SK_ENOMEM.
 */
int ssb_preview(const char *path, struct sk_buf *out, struct sk_error *err);

/* Appends Python's str() of a cell value ("" for None). */
int ssb_value_str(const struct sk_xlsx_value *v, struct sk_buf *out);

#endif /* SK_BENCH_SSB_PREVIEW_H */
