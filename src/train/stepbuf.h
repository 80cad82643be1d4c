/*
 * stepbuf.h - the per-epoch step buffer ("rejected-edit buffer",
 * algorithm.md 6.4): one entry per non-skipped step with its failure
 * patterns and, for rejected steps, the edits that were tried; rendered
 * into the context text the analysts read, and saved as JSON so that a
 * resumed run gets it back (the reference loses it, 11.21).
 *
 * Every string in an entry or buffer is owned by it (sk_free via the
 * release functions).  Inputs are borrowed.  On failure a function leaves
 * its output as it was unless it says otherwise.
 */
#ifndef SK_STEPBUF_H
#define SK_STEPBUF_H

#include <stddef.h>

#include "common.h"
#include "train/schedule.h"

struct json_t;
struct sk_buf;

/* One rollout result as pattern extraction sees it (all borrowed). */
struct sk_task_outcome {
    const char *id;          /* task id; NULL -> "?" */
    double hard;             /* failure test of minibatch.h */
    const char *fail_reason; /* NULL -> "unknown" */
};

struct sk_fail_pattern {
    char *pattern;   /* analyst description or fail_reason prefix */
    size_t count;    /* failures in the group */
    char **task_ids; /* count ids, first-appearance order */
};

enum sk_rejected_kind {
    SK_REJECTED_EDIT = 0,   /* patch modes: {op, content, target} */
    SK_REJECTED_SUGGESTION, /* rewrite_from_suggestions: {type, title,
                               instruction} */
    SK_REJECTED_REWRITE     /* full rewrite: {title, change_summary,
                               source_type} */
};

struct sk_rejected_edit {
    enum sk_rejected_kind kind;
    char *op, *content, *target;      /* EDIT ("" target: none) */
    char *type, *title, *instruction; /* SUGGESTION (title also REWRITE) */
    char **change_summary;            /* REWRITE */
    size_t n_change_summary;
    char *source_type; /* REWRITE */
};

struct sk_step_entry {
    long step;       /* global step */
    char action[40]; /* gate action name ("reject", "accept", ...) */
    size_t n_total;  /* results of the step, or 1 when there were none */
    size_t n_fail;   /* failing results */
    struct sk_fail_pattern *patterns;
    size_t n_patterns;
    int has_reject;      /* score_before/after and rejected are meaningful */
    double score_before; /* current score before the step */
    double score_after;  /* candidate's gate score */
    struct sk_rejected_edit *rejected;
    size_t n_rejected;
};

struct sk_stepbuf {
    long epoch; /* epoch the entries belong to (0: none yet) */
    struct sk_step_entry *entries;
    size_t len;
    size_t cap;
};

/* Empty entry for step/action (action truncated to 39 bytes). */
void sk_step_entry_init(struct sk_step_entry *e, long step, const char *action);
void sk_step_entry_release(struct sk_step_entry *e);

/*
 * Sets n_total (n, or 1 when n == 0), n_fail and the failure patterns:
 * failing results grouped by the text before the first ':' of fail_reason
 * (Python-stripped; the whole reason when it has no ':'), groups in
 * first-appearance order; group i is labelled descs[i] when i < n_descs and
 * descs[i] is non-empty, else with its prefix.  descs are the
 * "<failure_type>: <description>" strings of the step's minibatch_fail
 * files in sorted order (the caller reads them).  Replaces earlier
 * patterns.  SK_ENOMEM leaves e unchanged.
 */
int sk_step_entry_set_outcomes(struct sk_step_entry *e,
                               const struct sk_task_outcome *r, size_t n,
                               const char *const *descs, size_t n_descs);

/*
 * The same from a JSON array of result objects: id (a string, or any other
 * value in Python str() form; missing -> "?"), hard (sk_result_hard) and
 * fail_reason (a string; anything else -> "unknown").  Non-object elements
 * count as results with no fields.  SK_EINVAL if results is not an array.
 */
int sk_step_entry_set_results_json(struct sk_step_entry *e,
                                   const struct json_t *results,
                                   const char *const *descs, size_t n_descs);

/* Marks a rejected step: has_reject = 1 and the two scores. */
void sk_step_entry_set_reject(struct sk_step_entry *e, double score_before,
                              double score_after);

/*
 * Appends the short summary of one ranked item for update mode `mode`
 * (short_item_summary): EDIT {op (default "?"), content, target}, SUGGESTION
 * {type (default "?"), title, instruction}, REWRITE {title, change_summary
 * (strings of a list, else none), source_type}.  Non-string values take
 * Python's str() form (null -> default, true -> "True", numbers as repr,
 * arrays/objects as compact JSON).  A non-object item is skipped (SK_OK).
 */
int sk_step_entry_add_rejected_json(struct sk_step_entry *e,
                                    const struct json_t *item,
                                    enum sk_skill_update_mode mode);

void sk_stepbuf_init(struct sk_stepbuf *b);
void sk_stepbuf_release(struct sk_stepbuf *b);
/* Drops every entry and starts epoch `epoch` (epoch start). */
void sk_stepbuf_reset(struct sk_stepbuf *b, long epoch);

/*
 * Moves *e_take into the buffer (e_take is left empty, as after init) or,
 * on SK_ENOMEM, leaves both untouched.  The buffer is unbounded.
 */
int sk_stepbuf_add_take(struct sk_stepbuf *b, struct sk_step_entry *e_take);

/*
 * Appends the context text to out: nothing for an empty buffer, else an
 * intro line, a blank line, then per entry
 *   ### Step <n> — <ACTION> (<n_fail>/<n_total> failed)
 *     - "<pattern>" (×<count>, tasks: a, b)
 *     Rejected edits (score <before> → <after>):     (non-empty list only)
 *       1. [op] target="…" → "content"  |  1. [op] "content"
 *       1. [type] "title" → "instruction"             (non-edit items)
 * lines joined by '\n' with no final newline; scores in Python repr.
 * SK_ENOMEM / SK_ETOOBIG from the buffer (out then holds a prefix).
 */
int sk_stepbuf_render(const struct sk_stepbuf *b, struct sk_buf *out);

/*
 * The entry as the reference's trajectory_digest.json object: step,
 * action, n_total, n_fail, failure_patterns[{pattern, count, task_ids}] and
 * for rejects score_before, score_after, rejected_edits.  New reference in
 * *out; SK_ENOMEM.
 */
int sk_step_entry_to_json(const struct sk_step_entry *e, struct json_t **out);

/* {"epoch": n, "entries": [entry, ...]} in *out (new reference). */
int sk_stepbuf_to_json(const struct sk_stepbuf *b, struct json_t **out);

/*
 * Restores a buffer saved by sk_stepbuf_to_json, replacing out's contents.
 * An entry is rejected (SK_EPARSE, err says which) if step, n_total,
 * n_fail or a count is not a non-negative integer, action/pattern/ids are
 * not strings, or a rejected edit is not an object; score_before/after are
 * required numbers when rejected_edits is present.  On error out is empty.
 */
int sk_stepbuf_from_json(const struct json_t *j, struct sk_stepbuf *out,
                         struct sk_error *err);

#endif /* SK_STEPBUF_H */
