/*
 * edit.h - skill edits (append / insert_after / replace / delete) and their
 * sequential application with a per-edit report (algorithm.md 5.1-5.3, 4.4).
 *
 * Ownership: an sk_edit_list owns its edits and their strings; an
 * sk_apply_report owns its rows.  Application never modifies the input
 * text: it returns a new string (free with sk_free).  Status strings in
 * rows are static.  jansson values are borrowed and never kept.
 *
 * Matching is exact, case-sensitive, first occurrence.  Unlike the
 * reference, an edit whose matched text overlaps a protected region in any
 * way (any region pair, not only the first), or an insert_after whose
 * insertion point falls strictly inside one, is skipped with
 * "skipped_protected_region".
 */
#ifndef SK_EDIT_H
#define SK_EDIT_H

#include <stddef.h>

#include "common.h"

struct json_t;

struct sk_edit {
    char *op;              /* never NULL; "" when absent */
    char *target;          /* never NULL; "" when absent */
    char *content;         /* never NULL; raw (cleaned at apply time) */
    int has_support_count; /* 1 if support_count was given */
    long support_count;    /* valid when has_support_count */
    char *source_type;     /* NULL when absent */
    int has_merge_level;   /* 1 if merge_level was given */
    long merge_level;      /* valid when has_merge_level */
    char *error;           /* NULL, or why the edit is unusable (row
                              status "error" at apply time) */
};

struct sk_edit_list {
    struct sk_edit *items;
    size_t len;
    size_t cap;
};

/* Static status strings of apply report rows. */
#define SK_EDIT_APPLIED_APPEND "applied_append"
#define SK_EDIT_APPLIED_APPEND_BEFORE "applied_append_before_protected_region"
#define SK_EDIT_APPLIED_INSERT_AFTER "applied_insert_after"
#define SK_EDIT_APPLIED_INSERT_FALLBACK "applied_insert_after_fallback_append"
#define SK_EDIT_APPLIED_INSERT_FALLBACK_BEFORE                                 \
    "applied_insert_after_fallback_before_protected_region"
#define SK_EDIT_APPLIED_REPLACE "applied_replace"
#define SK_EDIT_APPLIED_DELETE "applied_delete"
#define SK_EDIT_SKIPPED_PROTECTED "skipped_protected_region"
#define SK_EDIT_SKIPPED_REPLACE_MISSING "skipped_replace_missing_target"
#define SK_EDIT_SKIPPED_REPLACE_NOT_FOUND "skipped_replace_target_not_found"
#define SK_EDIT_SKIPPED_DELETE_MISSING "skipped_delete_missing_target"
#define SK_EDIT_SKIPPED_DELETE_NOT_FOUND "skipped_delete_target_not_found"
#define SK_EDIT_SKIPPED_UNKNOWN_OP "skipped_unknown_op"
#define SK_EDIT_ERROR "error"

struct sk_apply_row {
    size_t index;          /* 1-based position in the edit list */
    char *op;              /* as given ("" for error rows) */
    char *target;          /* first 200 characters of the target */
    char *content_preview; /* first 200 characters of the cleaned content */
    const char *status;    /* one of SK_EDIT_* above (static) */
    char *error;           /* NULL unless status is "error" */
};

struct sk_apply_report {
    struct sk_apply_row *rows;
    size_t len;
    size_t cap;
};

struct sk_apply_summary {
    size_t total;   /* rows */
    size_t applied; /* status starts with "applied" */
    size_t skipped; /* status starts with "skipped" */
    size_t errors;  /* status is "error" */
};

void sk_edit_list_init(struct sk_edit_list *l);
void sk_edit_list_release(struct sk_edit_list *l);

/*
 * Appends an edit with copies of op, target and content (NULL = "").
 * SK_EINVAL if one is not valid UTF-8; SK_ENOMEM.  On failure l is
 * unchanged.
 */
int sk_edit_list_add(struct sk_edit_list *l, const char *op, const char *target,
                     const char *content);

/*
 * Appends one edit per element of the JSON array.  Absent op, target or
 * content default to "".  A non-object element, or a non-string content
 * or target, still yields an edit whose error field carries a message in
 * the reference's (Python) wording; a non-string op is kept as its compact
 * JSON text (skipped_unknown_op at apply time).  support_count and
 * merge_level are read when integers, source_type when a string.
 * SK_EINVAL if array is not an array; SK_ENOMEM.  On failure l is
 * unchanged.
 */
int sk_edit_list_from_json(struct sk_edit_list *l, const struct json_t *array,
                           struct sk_error *err);

void sk_apply_report_init(struct sk_apply_report *r);
void sk_apply_report_release(struct sk_apply_report *r);

/*
 * Applies edits in order to a running copy of skill[0..len) and appends
 * one row per edit to report.  Per edit: content = strip(content) with the
 * four marker strings deleted; target verbatim.  Returns SK_OK with *out
 * (NUL-terminated, *out_len bytes) the final text, or SK_ENOMEM with
 * *out untouched, nothing leaked and report back to its previous rows.
 */
int sk_edit_apply(const char *skill, size_t len,
                  const struct sk_edit_list *edits, char **out, size_t *out_len,
                  struct sk_apply_report *report, struct sk_error *err);

/* Counts report rows by status (edit_apply_summary). */
void sk_apply_report_summary(const struct sk_apply_report *r,
                             struct sk_apply_summary *s);

/*
 * The report as a new JSON array (rows {op, target, content_preview,
 * status, index}, error rows {index, op, target, content_preview, status,
 * error}, keys in that order) or NULL on SK_ENOMEM.
 */
struct json_t *sk_apply_report_to_json(const struct sk_apply_report *r);

/*
 * The text the reference writes to edit_apply_report.json
 * (json.dump(indent=2, ensure_ascii=False)), no trailing newline, as a new
 * string.  SK_ENOMEM on failure.
 */
int sk_apply_report_dumps(const struct sk_apply_report *r, char **out,
                          size_t *out_len);

/* {"total", "applied", "skipped", "errors"} as a new object, or NULL. */
struct json_t *sk_apply_summary_to_json(const struct sk_apply_summary *s);

#endif /* SK_EDIT_H */
