/*
 * check.h - `skillopt data check`: finds every problem of a split
 * directory at once, where loading (split.h) stops at the first.
 *
 * Checks, per benchmark: each item's fields (searchqa, officeqa, docvqa,
 * livemathematicianbench, spreadsheetbench, demo, or a generic schema
 * needing only an id), duplicate ids within a split, ids shared by two
 * splits, empty splits, and the files items refer to (DocVQA images,
 * SpreadsheetBench task folders, OfficeQA source documents when a corpus
 * directory is given).  The benchmark is guessed from the fields when not
 * given.  Problems are collected into a report, capped per kind.
 *
 * Ownership: options and splits are borrowed; the report owns its
 * strings and is freed with sk_check_report_release.
 */
#ifndef SK_CHECK_H
#define SK_CHECK_H

#include <stddef.h>

#include "common.h"
#include "data/split.h"

struct sk_buf;

enum sk_check_kind {
    SK_CHECK_FILE = 0,     /* a split folder or file cannot be used */
    SK_CHECK_SCHEMA,       /* an item lacks a field or has a wrong one */
    SK_CHECK_DUPLICATE,    /* an id repeats within a split */
    SK_CHECK_SHARED,       /* an id appears in two splits */
    SK_CHECK_MISSING_FILE, /* a file an item refers to is absent */
    SK_CHECK_EMPTY,        /* a split has no items */
    SK_CHECK_KIND_COUNT
};

struct sk_check_opts {
    const char *bench;     /* benchmark name; NULL or "": guess */
    const char *data_root; /* base of relative image/spreadsheet paths;
                              NULL: the working directory */
    const char *docs_dir;  /* OfficeQA corpus; NULL: documents unchecked */
    size_t keep_per_kind;  /* problems stored per kind (others only
                              counted); 0: all */
};

struct sk_check_problem {
    enum sk_check_kind kind;
    char *file; /* split file or folder; NULL for a loader message */
    long index; /* item index, -1 for the file as a whole */
    char *id;   /* item id, NULL when unknown */
    char *msg;
};

struct sk_check_report {
    char bench[32];                    /* benchmark checked against */
    char guess[160];                   /* why it was guessed; "" when given */
    int docs_checked;                  /* OfficeQA documents were looked for */
    size_t counts[SK_SPLIT_COUNT];     /* items per split */
    int loaded[SK_SPLIT_COUNT];        /* the split's file could be read */
    char *paths[SK_SPLIT_COUNT];       /* the split's file (or folder) */
    struct sk_check_problem *problems; /* stored problems, in order found */
    size_t n_problems, cap;
    size_t per_kind[SK_CHECK_KIND_COUNT]; /* all problems, stored or not */
};

/* Empties r.  Allocates nothing. */
void sk_check_report_init(struct sk_check_report *r);
/* Frees what r owns and re-initialises it. */
void sk_check_report_release(struct sk_check_report *r);

/* Total problems found (stored or only counted). */
size_t sk_check_report_total(const struct sk_check_report *r);

/*
 * The canonical name of a benchmark the checker knows ("livemath" gives
 * "livemathematicianbench"), or NULL.
 */
const char *sk_check_bench_name(const char *name);
/* "searchqa, officeqa, ..." for messages (static string). */
const char *sk_check_bench_names(void);

/*
 * Checks split_dir/{train,val,test}.  Each split is read the way a run
 * reads it (split.h); when that fails, the folders are read leniently so
 * that every problem is reported, and the loader's own message is added
 * if nothing else explains the failure.  Returns SK_OK with r filled
 * (problems are not errors), or SK_ENOTFOUND (split_dir is not a
 * directory), SK_EINVAL (unknown bench), SK_ENOMEM; err says why.
 */
int sk_data_check_dir(const char *split_dir, const struct sk_check_opts *o,
                      struct sk_check_report *r, struct sk_error *err);

/*
 * Checks splits already loaded by sk_splits_load (which has already
 * refused duplicate and shared ids): schema, files and empty splits.
 * Same returns as sk_data_check_dir.
 */
int sk_data_check_splits(const struct sk_splits *s,
                         const struct sk_check_opts *o,
                         struct sk_check_report *r, struct sk_error *err);

/*
 * Appends the report to out: the benchmark line, one line per split, the
 * problems grouped by kind (at most max_per_kind lines each, 0 = all,
 * then "... and N more"), and a summary line.  SK_ENOMEM or SK_ETOOBIG.
 */
int sk_check_report_format(const struct sk_check_report *r, size_t max_per_kind,
                           struct sk_buf *out);

/*
 * Appends only the problem groups and the summary line (for callers that
 * print the splits themselves).
 */
int sk_check_report_format_problems(const struct sk_check_report *r,
                                    size_t max_per_kind, struct sk_buf *out);

#endif /* SK_CHECK_H */
