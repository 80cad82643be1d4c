/*
 * rows.h - streams the rows of upstream data files: a JSON array of
 * objects, JSON Lines (one object per line) or CSV with a header (every
 * value a string; Python csv's "excel" dialect).  JSON Lines and CSV are
 * read in 64 KiB blocks, so a file of several gigabytes costs one row of
 * memory; a JSON array is read whole (at most SK_SPLIT_MAX_FILE bytes).
 *
 * Ownership: paths are borrowed; each row passed to the callback is
 * borrowed for the duration of the call (json_incref it to keep it);
 * lists of paths returned belong to the caller (sk_rows_paths_free).
 */
#ifndef SK_ROWS_H
#define SK_ROWS_H

#include <stddef.h>

#include "common.h"

struct json_t;

enum sk_rows_format {
    SK_ROWS_AUTO = 0, /* by extension, else by the first byte */
    SK_ROWS_JSON,     /* a JSON array of objects */
    SK_ROWS_JSONL,    /* one JSON object per line */
    SK_ROWS_CSV       /* a header line, then records */
};

/* Where a row is, for messages. */
struct sk_row_pos {
    const char *file;
    size_t n;      /* line of the row (JSONL, CSV) or index (JSON array) */
    int is_line;   /* n is a 1-based line number */
    size_t rowidx; /* 0-based position of the row in its file */
};

/*
 * Called once per row, in file order.  A non-zero return stops the read
 * and is returned by it (set err yourself).
 */
typedef int (*sk_row_fn)(void *ud, const struct json_t *row,
                         const struct sk_row_pos *pos, struct sk_error *err);

/* Whether a directory entry named name should be read. */
typedef int (*sk_rows_want_fn)(const char *name);

/* "file:line N" or "file item N" into buf. */
void sk_row_pos_text(const struct sk_row_pos *p, char *buf, size_t cap);

/* "json", "jsonl", "csv", NULL/""/"auto".  SK_EINVAL for anything else. */
int sk_rows_parse_format(const char *s, enum sk_rows_format *out);

/*
 * Reads every row of path.  SK_EDATA names path and line for bad JSON, a
 * non-object row, a quoted CSV field left open at the end (a truncated
 * file), invalid UTF-8 or a NUL byte; SK_ETOOBIG for a line or record
 * over 64 MiB; SK_ENOTFOUND / SK_EIO from the file; SK_ENOMEM; or what
 * fn returned.
 */
int sk_rows_read_file(const char *path, enum sk_rows_format format,
                      sk_row_fn fn, void *ud, struct sk_error *err);

/*
 * The regular files below dir (8 levels at most, hidden entries skipped)
 * whose name want accepts, sorted bytewise by path, into *paths / *n.
 * SK_EIO (dir unreadable) or SK_ENOMEM.
 */
int sk_rows_list_dir(const char *dir, sk_rows_want_fn want, char ***paths,
                     size_t *n, struct sk_error *err);
void sk_rows_paths_free(char **paths, size_t n);

#endif /* SK_ROWS_H */
