/*
 * xlsx.h - read-only xlsx workbook reader (libzip + expat).
 *
 * Gives cell values exactly as openpyxl 3.0.9's
 * load_workbook(path, data_only=True) returns them (what the SpreadsheetBench
 * scorer reads), the formula text data_only=False would show, sheet names in
 * workbook order and openpyxl's sheet dimensions.  The workbook part and the
 * shared strings are found through [Content_Types].xml and the workbook's
 * relationships, as openpyxl does; sheets are parsed on first access.
 *
 * Untrusted input is expected: every part is inflated through a byte
 * counter (zip headers are not trusted), DTDs are refused, and cells,
 * strings and sheets are capped (struct sk_xlsx_limits); failures are
 * SK_EDATA or SK_ETOOBIG with a message naming the file and the part.
 *
 * Where it deliberately differs from openpyxl (all on malformed or unusual
 * files): sheets are parsed when first used, so a broken sheet that is
 * never read does not fail the open; parts openpyxl also parses and may
 * choke on (drawings, tables, pivots, defined names, document properties,
 * the XML of chartsheets) are not read; a shared formula's dependent cells
 * show the master's text unshifted; a relationship target that climbs out
 * of the package is refused (openpyxl drops that sheet); a hyperlink with
 * a bad reference is ignored (openpyxl raises); the file name's extension
 * is not checked; rows are 32-bit; duplicate sheet titles are renamed with
 * ASCII case folding; t="d" dates take ASCII digits only.
 *
 * Ownership: a struct sk_xlsx owns everything it returns; strings and
 * values handed out stay valid until sk_xlsx_free.  Not thread-safe (lazy
 * parsing mutates the workbook).  Rows and columns are 1-based.
 */
#ifndef SK_XLSX_H
#define SK_XLSX_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sk_buf;
struct sk_xlsx;

/* Caps on what one workbook may make the reader do.  0 means default. */
struct sk_xlsx_limits {
    size_t max_total_bytes;    /* inflated bytes of all parts (256 MiB) */
    size_t max_part_bytes;     /* inflated bytes of one part (128 MiB) */
    size_t max_cells;          /* cells of one sheet, merged ones too (2M) */
    size_t max_string_bytes;   /* one text: string, formula (1 MiB) */
    size_t max_shared_strings; /* entries of the shared strings (2M) */
    size_t max_sheets;         /* sheets of the workbook (4096) */
    size_t max_entries;        /* members of the zip archive (65536) */
};

/* Fills lim with the defaults above. */
void sk_xlsx_limits_default(struct sk_xlsx_limits *lim);

/* Python type of a cell value as openpyxl returns it. */
enum sk_xlsx_kind {
    SK_XLSX_NONE = 0, /* None: no cell, no value, formula without value */
    SK_XLSX_NUMBER,   /* int (is_int) or float */
    SK_XLSX_BOOL,     /* bool (t="b") */
    SK_XLSX_STRING,   /* str: shared, inline, formula result, error */
    SK_XLSX_DATETIME, /* datetime.datetime */
    SK_XLSX_DATE,     /* datetime.date (only ISO t="d" cells) */
    SK_XLSX_TIME,     /* datetime.time */
    SK_XLSX_TIMEDELTA /* datetime.timedelta */
};

struct sk_xlsx_value {
    enum sk_xlsx_kind kind;
    int is_int;           /* NUMBER: a Python int (text had no '.', 'e', 'E') */
    int is_error;         /* STRING: an error value such as "#N/A" */
    int has_formula;      /* the cell holds a formula (an <f> element) */
    int b;                /* BOOL: 0 or 1 */
    double num;           /* NUMBER (an int as the nearest double, maybe inf) */
    const char *str;      /* STRING text, or an int's decimal digits */
    size_t len;           /* bytes of str */
    int year, month, day; /* DATETIME, DATE */
    int hour, minute, second, usec; /* DATETIME, TIME */
    int64_t td_days;                /* TIMEDELTA, normalised like Python: */
    int td_seconds;                 /* 0 <= td_seconds < 86400 */
    int td_usec;                    /* 0 <= td_usec < 1000000 */
};

/* ws.dimensions / min_row / max_row / min_column / max_column. */
struct sk_xlsx_dims {
    int64_t min_row, min_col, max_row, max_col; /* 1 when the sheet is empty */
    char text[48]; /* "A1:C10" ("A1:A1" for an empty sheet) */
};

/*
 * Opens the workbook at path: reads the package manifest, the workbook,
 * its relationships, styles and shared strings (not the sheets).  lim may
 * be NULL for the defaults.  SK_OK with *out to free with sk_xlsx_free;
 * SK_EIO/SK_ENOTFOUND when the file cannot be read, SK_EDATA when it is
 * not a readable workbook, SK_ETOOBIG past a limit, SK_ENOMEM.
 */
int sk_xlsx_open(const char *path, const struct sk_xlsx_limits *lim,
                 struct sk_xlsx **out, struct sk_error *err);

/*
 * The same from memory; data is copied.  name labels messages (NULL gives
 * "<memory>").
 */
int sk_xlsx_open_mem(const void *data, size_t len, const char *name,
                     const struct sk_xlsx_limits *lim, struct sk_xlsx **out,
                     struct sk_error *err);

/* Frees the workbook and everything it handed out; NULL is fine. */
void sk_xlsx_free(struct sk_xlsx *x);

/* Number of sheets (worksheets and chartsheets, as wb.sheetnames). */
size_t sk_xlsx_sheet_count(const struct sk_xlsx *x);
/* Name of sheet i (< count), NUL-terminated UTF-8. */
const char *sk_xlsx_sheet_name(const struct sk_xlsx *x, size_t i);
/* Index of the sheet named exactly name, or -1. */
long sk_xlsx_sheet_find(const struct sk_xlsx *x, const char *name);
/* 1 if sheet i is a chartsheet (it has no cells). */
int sk_xlsx_sheet_is_chart(const struct sk_xlsx *x, size_t i);
/* 1 when the workbook uses the 1904 date system. */
int sk_xlsx_date1904(const struct sk_xlsx *x);

/*
 * Parses sheet i now if it was not yet (every cell accessor below does it
 * on demand).  A failure is remembered: later calls return the same code
 * and message.  SK_EDATA, SK_ETOOBIG, SK_ENOMEM, SK_EINVAL (bad index).
 */
int sk_xlsx_sheet_load(struct sk_xlsx *x, size_t i, struct sk_error *err);

/*
 * The value openpyxl (data_only=True) gives for ws.cell(row, col): *v is
 * filled (strings borrowed from x).  Row and col must be >= 1.  For a
 * chartsheet every cell is None.  Errors as sk_xlsx_sheet_load.
 */
int sk_xlsx_cell(struct sk_xlsx *x, size_t sheet, int64_t row, int64_t col,
                 struct sk_xlsx_value *v, struct sk_error *err);

/*
 * Formula text of the cell as data_only=False shows it ("=SUM(A1:A3)"), or
 * NULL when the cell has no formula.  A cell that shares a formula (t=
 * "shared") gets the text of the master cell, not shifted to its own
 * position (openpyxl translates the references; we do not).
 */
const char *sk_xlsx_cell_formula(struct sk_xlsx *x, size_t sheet, int64_t row,
                                 int64_t col);

/*
 * Number of stored cells of a loaded sheet (0 if not loaded or failed),
 * and the i-th in row-major order: its position and value.
 */
size_t sk_xlsx_cell_count(const struct sk_xlsx *x, size_t sheet);
int sk_xlsx_cell_at(const struct sk_xlsx *x, size_t sheet, size_t i,
                    int64_t *row, int64_t *col, struct sk_xlsx_value *v);

/* openpyxl's dimensions of sheet i (loads it).  Errors as sheet_load. */
int sk_xlsx_dims(struct sk_xlsx *x, size_t sheet, struct sk_xlsx_dims *d,
                 struct sk_error *err);

/* ---- A1 references (shared with the scorer) ---- */

/*
 * Column letters to a 1-based number the way openpyxl reads them: 1 to 3
 * ASCII letters, either case ("a" = "A" = 1, "XFD" = 16384, "ZZZ" = 18278).
 * Returns 0 for anything else.
 */
int64_t sk_xlsx_col_number(const char *s, size_t len);

/* Writes the letters of column col (1..18278) into out (4 bytes + NUL);
 * returns the length, 0 when col is out of range. */
size_t sk_xlsx_col_name(int64_t col, char out[8]);

/*
 * One cell reference as openpyxl's ws["..."] accepts it: "$A$1", "b7"
 * (optional '$' before letters and digits).  SK_OK with *row (>= 0, may
 * exceed the sheet) and *col, or SK_EPARSE.
 */
int sk_xlsx_parse_cell(const char *s, size_t len, int64_t *row, int64_t *col);

/*
 * "A1:C3" or a single cell as openpyxl's range_boundaries reads it when
 * both ends have a column and a row.  SK_OK or SK_EPARSE.
 */
int sk_xlsx_parse_range(const char *s, size_t len, int64_t *r1, int64_t *c1,
                        int64_t *r2, int64_t *c2);

/* ---- Python views of values (used by the scorer and its reports) ---- */

/* Appends repr(v) as CPython 3.11 prints it ("None", "3", "2.5", "'x'",
 * "datetime.datetime(2020, 1, 2, 0, 0)", ...). */
int sk_xlsx_value_repr(const struct sk_xlsx_value *v, struct sk_buf *out);

/*
 * openpyxl's from_excel(value, epoch, timedelta) for a number read from a
 * date-formatted cell, into *v (kind DATETIME, TIME or TIMEDELTA).  When
 * Python raises (overflow, NaN) *v becomes the error string "#VALUE!" as
 * openpyxl stores it.  is_int tells an int serial from a float one.
 */
void sk_xlsx_from_excel(double serial, int is_int, int date1904, int timedelta,
                        struct sk_xlsx_value *v);

/*
 * openpyxl's is_date_format(fmt) and is_timedelta_format(fmt) (fmt UTF-8,
 * NULL gives 0).
 */
int sk_xlsx_is_date_format(const char *fmt);
int sk_xlsx_is_timedelta_format(const char *fmt);

#endif /* SK_XLSX_H */
