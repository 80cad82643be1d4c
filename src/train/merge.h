/*
 * merge.h - the aggregation phase of a step (algorithm.md 4.1, 10.2): the
 * failure patches and the success patches are each merged level by level
 * by optimizer calls, then the two results are merged with failure
 * priority.  Every model failure degrades to concatenation; only local
 * problems (memory, prompt files, bad arguments) are errors.
 *
 * A reply is used when it holds one JSON object whose payload key (edits,
 * revise_suggestions or skill_candidates, per update mode) is a list of
 * objects (an empty list is fine).  A reply that is not usable gets one
 * retry with the format reminder as a further user turn; a call the
 * client reports as failed is not retried here (the client already did).
 * All calls of one merge level go out as one batch and their results are
 * used in group order, whatever order replies arrived in.
 *
 * Ownership: patch arrays, strings and the client are borrowed and never
 * modified (items are deep-copied before merge_level is set); *merged is
 * a new reference owned by the caller (json_decref).
 */
#ifndef SK_MERGE_H
#define SK_MERGE_H

#include <stddef.h>

#include "common.h"
#include "train/schedule.h"

struct json_t;
struct sk_llm_client;

#define SK_MERGE_MAX_TOKENS 16384L
#define SK_MERGE_MAX_TOKENS_FULL 64000L

struct sk_merge_stats {
    size_t n_levels;    /* merge levels run, both groups together */
    size_t n_calls;     /* requests sent, retries and the final included */
    size_t n_retries;   /* format-reminder retries sent */
    size_t n_fallbacks; /* group or final merges that concatenated */
    int final_call;     /* 1 when the final merge called the model */
};

/* "edits" | "revise_suggestions" | "skill_candidates" (static). */
const char *sk_merge_payload_key(enum sk_skill_update_mode mode);

/* "edits" | "suggestions" | "skill candidates", or with title set "Edits" |
 * "Suggestions" | "Skill Candidates" (static). */
const char *sk_merge_payload_label(enum sk_skill_update_mode mode, int title);

/* The payload list of container for mode (borrowed), or NULL when
 * container is not an object or the key does not hold an array. */
struct json_t *sk_merge_payload_items(const struct json_t *container,
                                      enum sk_skill_update_mode mode);

/*
 * merge_patches of the reference.  failure and success are arrays of patch
 * objects (NULL counts as empty).  Each list: empty -> {"reasoning": "no
 * patches", <key>: []}; one patch -> that patch (no call); else levels
 * L = 1, 2, ... cut the list into consecutive groups of
 * max(2, merge_batch_size); a singleton group passes through, every other
 * group is one call whose accepted items get merge_level = L, or on
 * failure the concatenation of the group's items (merge_level set where
 * absent) with reasoning "fallback concatenation".  Final: no items on
 * either side -> {"reasoning": "no updates from either group", <key>: []};
 * one side empty -> the other side's result; else one merge_final call,
 * falling back to failure items then success items with reasoning
 * "fallback: failure first, then success".
 *
 * meta_block is the rendered meta-skill block (NULL/blank: none); bench
 * and prompts_dir select template overrides (sk_prompt_lookup);
 * max_tokens 0 means 16384 (64000 in full rewrite mode).  stats may be
 * NULL.  Returns SK_OK; SK_EINVAL (a list that is not an array, skill
 * NULL); SK_ENOTFOUND / SK_EIO / SK_ETOOBIG for a template; SK_ENOMEM.
 * *merged is NULL on failure.
 */
int sk_merge_patches(struct sk_llm_client *c, const struct json_t *failure,
                     const struct json_t *success,
                     enum sk_skill_update_mode mode, const char *skill,
                     const char *meta_block, long merge_batch_size,
                     const char *bench, const char *prompts_dir,
                     long max_tokens, struct json_t **merged,
                     struct sk_merge_stats *stats, struct sk_error *err);

#endif /* SK_MERGE_H */
