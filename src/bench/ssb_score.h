/*
 * ssb_score.h - SpreadsheetBench scoring: test-case discovery, the
 * official cell comparison (as the reference's evaluator ports it) and
 * the per-cell verification report.
 *
 * Values are read with the xlsx reader (xlsx/xlsx.h), which returns what
 * openpyxl.load_workbook(data_only=True) returns; they are transformed as
 * the official rules do (numbers and numeric strings -> round(float, 2),
 * times -> "HH:MM" (str(t)[:-3]), datetimes -> whole-day Excel serials,
 * other values unchanged) and compared ("" equals None, the types must
 * match, NaN never equals).
 *
 * Differences from the reference, all on odd input: answer_sheet applies
 * to every part without '!' (the reference prefixes it only when the whole
 * position has no '!', so only the first part gets it); a position that
 * expands past max_cells fails the case instead of building the list; a
 * range with non-ASCII letters or digits is refused like a malformed one;
 * a predicted workbook whose answer sheets read fine passes even if
 * another sheet is broken (sheets are parsed lazily); reprs in results
 * and reasons are cut at SK_SSB_MAX_REPR bytes.  "eval-exception" reasons
 * name the Python exception the reference would raise, in our words.
 *
 * Ownership: results and case lists own their strings; release them with
 * the matching _release (also safe after a failed call).  Paths and
 * positions are borrowed.
 */
#ifndef SK_SSB_SCORE_H
#define SK_SSB_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "xlsx/xlsx.h"

struct sk_buf;

/* Most cells one comparison may expand its ranges to (the largest real
 * answer range has 96,000). */
#define SK_SSB_MAX_CELLS 1000000
/* Bytes of one value's repr kept in results and reasons ("..." marks a
 * cut); the whole text of a result is capped at 64 MiB. */
#define SK_SSB_MAX_REPR 4096

/* ---- test cases of a task folder ---- */

struct sk_ssb_case {
    char *no;     /* case number: file name up to the first '_' ("1") */
    char *input;  /* the workbook given to the model */
    char *answer; /* the expected workbook */
};

struct sk_ssb_cases {
    struct sk_ssb_case *v;
    size_t n;
};

/*
 * Finds the cases of task_dir in the reference's order: every
 * "*_input.xlsx" with its "*_answer.xlsx", then every "*_init.xlsx" with
 * its "*_golden.xlsx" (each list sorted by name, hidden files skipped, an
 * input without its answer skipped); when none, "initial.xlsx" +
 * "golden.xlsx" as case "1".  SK_OK (n may be 0), SK_ENOTFOUND/SK_EIO when
 * task_dir cannot be listed, SK_ENOMEM.  out is reset first.
 */
int sk_ssb_find_cases(const char *task_dir, struct sk_ssb_cases *out,
                      struct sk_error *err);
/* Frees the cases' strings and array; c is left empty. */
void sk_ssb_cases_release(struct sk_ssb_cases *c);

/* ---- transform and compare of one pair of values ---- */

enum sk_ssb_tkind {
    SK_SSB_T_NONE,     /* None */
    SK_SSB_T_FLOAT,    /* f */
    SK_SSB_T_STR,      /* str */
    SK_SSB_T_DATE,     /* datetime.date, unchanged */
    SK_SSB_T_TIMEDELTA /* datetime.timedelta, unchanged */
};

/* A transformed value.  Strings are borrowed from the source value or kept
 * in buf (times): do not copy the struct, transform again instead. */
struct sk_ssb_tvalue {
    enum sk_ssb_tkind kind;
    double f;
    const char *s; /* NULL when the text is in buf */
    size_t len;
    char buf[32];
    int year, month, day;
    int64_t td_days;
    int td_seconds, td_usec;
};

/*
 * The official transform of v into *t.  SK_OK, or SK_EDATA when Python
 * would raise (an int too large for a float: OverflowError).
 */
int sk_ssb_transform(const struct sk_xlsx_value *v, struct sk_ssb_tvalue *t);

/* compare_cell_value on two transformed values: 1 equal, 0 not. */
int sk_ssb_equal(const struct sk_ssb_tvalue *a, const struct sk_ssb_tvalue *b);

/* Appends repr() of a transformed value (as Python prints it). */
int sk_ssb_tvalue_repr(const struct sk_ssb_tvalue *t, struct sk_buf *out);

/* ---- one test case ---- */

enum sk_ssb_why {
    SK_SSB_PASS = 0,  /* every cell matched */
    SK_SSB_VALUE,     /* a cell differs */
    SK_SSB_NO_FILE,   /* the predicted workbook does not exist */
    SK_SSB_LOAD,      /* the predicted workbook cannot be read */
    SK_SSB_NO_SHEET,  /* the predicted workbook lacks an answer sheet */
    SK_SSB_EXCEPTION, /* the reference would raise (bad position, ...) */
    SK_SSB_TOO_MANY   /* the position expands to too many cells */
};

struct sk_ssb_cell {
    const char *sheet;     /* sheet name as the position gives it */
    const char *ref;       /* cell name as the reference builds it ("B7") */
    const char *expected;  /* repr() of the gold value */
    const char *predicted; /* repr() of the predicted value */
    const char *formula;   /* formula text of the predicted cell, or NULL */
    int64_t row, col;
    int pass;
    int formula_no_value; /* predicted cell: a formula without a cached
                             value (openpyxl reads None) */
    int empty;            /* pass, both sides None or "" */
};

struct sk_ssb_part {
    const char *sheet; /* after stripping blanks and quotes */
    const char *range;
    int missing;     /* the predicted workbook lacks the sheet */
    size_t first, n; /* its cells in cells[] */
};

struct sk_ssb_case_result {
    int pass; /* 1 when the case passes */
    enum sk_ssb_why why;
    char *reason;              /* "" on pass, else the first failure, e.g.
                                  "value@Sheet1!A1: gt=1 pred=None" */
    struct sk_ssb_cell *cells; /* every compared cell, in order */
    size_t n_cells;
    struct sk_ssb_part *parts;
    size_t n_parts;
    int cut;    /* the text cap was hit: later reprs are "" */
    char *text; /* owns the strings the cells point to */
};

/* Empties r without freeing (no allocation, cannot fail). */
void sk_ssb_case_result_init(struct sk_ssb_case_result *r);
/* Frees what r holds and leaves it as after _init. */
void sk_ssb_case_result_release(struct sk_ssb_case_result *r);

/* Knobs of a comparison; NULL or 0 fields mean the defaults. */
struct sk_ssb_opts {
    const struct sk_xlsx_limits *limits; /* for both workbooks */
    size_t max_cells;                    /* SK_SSB_MAX_CELLS */
};

/*
 * Compares the predicted workbook with the gold one over answer_position
 * ("Sheet1!A1:B3,'My Sheet'!C2", parts split on ',', sheet names and
 * ranges stripped of blanks and quotes; a part without '!' uses
 * answer_sheet when it is given and not empty, else the gold's first
 * sheet).  res is initialised here.  Returns SK_OK whenever a verdict was
 * reached, pass or fail: a missing, unreadable or hostile predicted file
 * is a failed case with a reason.  Errors: SK_EDATA when the gold file
 * cannot be read (message names it), SK_ENOMEM; res is then empty.
 */
int sk_ssb_compare(const char *gold_path, const char *pred_path,
                   const char *answer_position, const char *answer_sheet,
                   struct sk_ssb_case_result *res, struct sk_error *err);

/* sk_ssb_compare with options (opts may be NULL). */
int sk_ssb_compare_opts(const char *gold_path, const char *pred_path,
                        const char *answer_position, const char *answer_sheet,
                        const struct sk_ssb_opts *opts,
                        struct sk_ssb_case_result *res, struct sk_error *err);

/*
 * The comparison on workbooks already open (pred NULL: "file not exist").
 * Sheets are parsed as needed: a gold sheet that fails is SK_EDATA, a
 * predicted one a failed case.  max_cells 0 is the default.
 */
int sk_ssb_compare_books(struct sk_xlsx *gold, struct sk_xlsx *pred,
                         const char *answer_position, const char *answer_sheet,
                         size_t max_cells, struct sk_ssb_case_result *res,
                         struct sk_error *err);

/*
 * Appends the verification report of one case: a line per compared cell
 * (sheet!cell, what the output holds, ✓ or ✗, and only when with_expected
 * the expected value), correct empty cells counted not listed, missing
 * sheets, the failure when no cell could be checked, and a warning naming
 * answer cells that hold a formula without a saved value.  with_expected 0
 * shows nothing of the gold (what the target model may see in training).
 * Reports longer than max_chars characters (0: 12,000) keep their head and
 * tail halves.  SK_OK, SK_ENOMEM or SK_ETOOBIG (out's cap).
 */
int sk_ssb_report(const struct sk_ssb_case_result *res, int with_expected,
                  size_t max_chars, struct sk_buf *out);

#endif /* SK_SSB_SCORE_H */
