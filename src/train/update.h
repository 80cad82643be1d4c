/*
 * update.h - the UPDATE phase of a step in the two rewrite modes
 * (algorithm.md 5.4, 10.2) and the skill-aware appendix consolidation call
 * (7.4): rewrite_from_suggestions asks the optimizer for a whole new skill
 * from the selected suggestions; full_rewrite_minibatch picks the first
 * usable candidate of the merged patch; consolidation compacts the
 * execution notes when they pass a threshold.  Model failures degrade
 * (no candidate, notes kept); only local problems are errors.  Patch mode
 * (skill/edit) and writing the step files are the trainer's.
 *
 * Ownership: every argument is borrowed and never modified; returned
 * strings are the caller's (sk_free) and returned jansson values are new
 * references (json_decref).
 */
#ifndef SK_TRAIN_UPDATE_H
#define SK_TRAIN_UPDATE_H

#include <stddef.h>

#include "common.h"

struct json_t;
struct sk_llm_client;

#define SK_UPDATE_REWRITE_MAX_TOKENS 64000L
#define SK_UPDATE_CONSOLIDATE_MAX_TOKENS 4096L

/* Template selection, token cap and effort of the optimizer calls here. */
struct sk_update_call_opts {
    const char *bench;            /* template override subdir, may be NULL */
    const char *prompts_dir;      /* override root, may be NULL */
    long max_tokens;              /* 0: 64000 rewrite, 4096 consolidation */
    const char *reasoning_effort; /* rewrite only; NULL/"": the role's */
};

/*
 * rewrite_from_suggestions (5.4): one optimizer call, stage "rewrite",
 * template "rewrite_skill".  The user message holds the skill, "## Selected
 * Revise Suggestions (<n> total)" with selected["revise_suggestions"] as
 * JSON (indent 2, non-ASCII kept), "## Previous Steps in This Epoch" when
 * step_buffer is not blank, and the request for the whole skill in
 * new_skill.  A reply that is not a JSON object with a string new_skill is
 * a parse failure: added to *n_parse_failures (may be NULL), saved as
 * <parse_failures_dir>/rewrite_<attempt>.txt (directory created; NULL: not
 * saved) and, the first time, answered with the format reminder as a
 * further user turn.
 *
 * On SK_OK *record is always a new object for rewrite_result.json.  With a
 * candidate it is the reply object with new_skill replaced by the
 * candidate and change_summary set to [] unless it is a list; *candidate
 * is rstrip(new_skill) + "\n" (sk_free).  Otherwise *candidate is NULL (the
 * caller records skip_no_rewrite) and the record has an "error" string: no
 * suggestions (no call made), the call failed, two unusable replies, or a
 * blank new_skill (then the reply's other fields are kept too).
 * Returns SK_OK in all those cases; SK_EINVAL (c, skill or an output
 * NULL), template errors (SK_ENOTFOUND, SK_EIO, SK_ETOOBIG), SK_EIO when a
 * parse failure cannot be saved, SK_ETOOBIG, or SK_ENOMEM, with both
 * outputs NULL.  o may be NULL.
 */
int sk_update_rewrite(struct sk_llm_client *c, const char *skill,
                      const struct json_t *selected, const char *step_buffer,
                      const struct sk_update_call_opts *o, char **candidate,
                      struct json_t **record, size_t *n_parse_failures,
                      const char *parse_failures_dir, struct sk_error *err);

/*
 * full_rewrite_minibatch (5.4): the candidate is the first object of
 * merged["skill_candidates"] whose "new_skill" is a string that is not
 * blank, as rstrip(new_skill) + "\n" (sk_free); NULL when there is none
 * (skip_no_rewrite).  *record is new, {"selected_candidate": <that item or
 * null>, "merged_patch": <merged or null>} (full_rewrite_result.json),
 * holding copies.  Returns SK_OK or SK_ENOMEM (both outputs NULL).
 */
int sk_update_full_rewrite_pick(const struct json_t *merged, char **candidate,
                                struct json_t **record);

/*
 * Appendix consolidation (7.4).  With threshold > 0 and more string notes
 * than threshold, one optimizer call (stage and template
 * "appendix_consolidate") showing the notes as a JSON list; a reply that
 * is not a JSON object with "appendix_notes" gets one format retry.  The
 * reply's notes (sk_reflect_appendix_notes: strings, or objects with note
 * / content, trimmed, blanks dropped) are adopted only when there are some
 * and fewer than the input's; then *consolidated is 1.  Otherwise (no call
 * needed, failed call, bad reply, no shrink) *out holds the input's string
 * notes unchanged and *consolidated is 0.  o->reasoning_effort is not used:
 * the reference's compaction ran at the role's effort.  *out is a new
 * array.  Returns SK_OK; SK_EINVAL (c NULL, notes not an array, an output
 * NULL), template errors, SK_ETOOBIG or SK_ENOMEM with *out NULL.
 */
int sk_update_consolidate_notes(struct sk_llm_client *c,
                                const struct json_t *notes, long threshold,
                                const struct sk_update_call_opts *o,
                                struct json_t **out, int *consolidated,
                                struct sk_error *err);

#endif /* SK_TRAIN_UPDATE_H */
