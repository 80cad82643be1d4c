/*
 * slow.h - the epoch-end updates (algorithm.md 7.1-7.3): sampling the
 * comparison items, longitudinal pairs between two skills' rollouts and
 * their comparison text, the slow-update call that rewrites the protected
 * guidance block, and the meta-skill call that advises the optimizer.
 *
 * This module does not run rollouts, gate candidates or write markers; the
 * trainer does, with sk_rollout_run and the functions here.  Everything
 * passed in is borrowed; returned jansson values are new references
 * (json_decref) and returned strings are the caller's (sk_free).
 */
#ifndef SK_TRAIN_SLOW_H
#define SK_TRAIN_SLOW_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "train/schedule.h"

struct json_t;
struct sk_buf;
struct sk_llm_client;

#define SK_SLOW_MAX_TOKENS 16384L
#define SK_SLOW_NO_CONTENT "no_content"
#define SK_META_WRITE "write_meta_skill"

/* Counts of the four pair categories. */
struct sk_pair_counts {
    size_t improved;        /* fail -> pass */
    size_t regressed;       /* pass -> fail */
    size_t persistent_fail; /* fail -> fail */
    size_t stable_success;  /* pass -> pass */
};

/*
 * The comparison sample of epoch (7.1): the train items (a JSON array)
 * shuffled like Python's random.Random(seed + 2000 * epoch).shuffle, then
 * the first n (all when n exceeds the count).  *out is a new array holding
 * the same item objects.  Returns SK_OK, SK_EINVAL (not an array) or
 * SK_ENOMEM (*out NULL).
 */
int sk_slow_sample_items(const struct json_t *items, size_t n, int64_t seed,
                         long epoch, struct json_t **out);

/*
 * Builds the longitudinal pairs (7.2) for items (in item order) from the
 * rollout rows of the previous and the current skill (matched by str(id);
 * a missing row counts as hard 0, soft 0.0, answer "N/A").  Each pair is
 * {id, task, category, prev{hard, soft, predicted_answer, fail_reason},
 * curr{...}}: the JSON-file shape, trajectories are not stored (the
 * renderer reads them from the predictions directories).  policy keeps
 * all (mixed), improved+regressed (changed) or persistent_fail+
 * stable_success (unchanged); the "changed" top-up rollouts are the
 * caller's.  counts (may be NULL) gets the counts before filtering.
 * Returns SK_OK with *pairs a new array; SK_EINVAL (an argument not an
 * array, a bad policy), SK_EDATA (an item without a usable id) or
 * SK_ENOMEM, with *pairs NULL.
 */
int sk_pairs_build(const struct json_t *prev_results,
                   const struct json_t *curr_results,
                   const struct json_t *items, enum sk_pair_policy policy,
                   struct json_t **pairs, struct sk_pair_counts *counts,
                   struct sk_error *err);

/* Counts the categories of pairs (non-pairs are ignored). */
void sk_pairs_count(const struct json_t *pairs, struct sk_pair_counts *out);

/*
 * Appends the comparison text of pairs to out: a summary with the number
 * of compared items and the four counts, then the sections regressed
 * (flagged highest priority), persistent failures, improvements and
 * stable successes, "(none)" under an empty one.  Entries give id, task,
 * PASS/FAIL and soft (2 decimals) on both sides, answers, non-empty fail
 * reasons and, outside stable successes, both trajectories in code fences,
 * read from <pred_dir>/<sk_rollout_pred_dir(id)>/conversation.json (one
 * line per turn: system turns "[verification] ...", others "[<role>] ...";
 * a missing or empty conversation is left out).  prev_pred_dir and
 * curr_pred_dir are the rollouts' predictions/ directories, NULL for no
 * trajectories.  Returns SK_OK, SK_ENOMEM or SK_ETOOBIG; out is truncated
 * back on failure.
 */
int sk_pairs_render(const struct json_t *pairs, const char *prev_pred_dir,
                    const char *curr_pred_dir, struct sk_buf *out);

/* Template selection and token cap for the two epoch calls. */
struct sk_slow_call_opts {
    const char *bench;       /* template override subdir, may be NULL */
    const char *prompts_dir; /* override root, may be NULL */
    long max_tokens;         /* 0: SK_SLOW_MAX_TOKENS */
};

/*
 * The slow-update call (7.1): one optimizer call (stage "slow_update")
 * whose user message holds prev_skill, curr_skill, the guidance now in
 * curr_skill's block (or a first-update placeholder) with a request to
 * judge it, and pairs_text introduced as a comparison on n_compared items.
 * A reply that is not a JSON object with string "slow_update_content" gets
 * one retry with the format reminder.  *record is a new object
 * {reasoning, slow_update_content, time_s} (both texts stripped); when the
 * calls failed or the content is blank, *content is NULL and the record
 * also has action "no_content"; otherwise *content is the stripped content
 * (sk_free) and setting the action is the caller's (gate result).
 * Returns SK_OK in both cases; SK_EINVAL (NULL texts), template errors
 * (SK_ENOTFOUND, SK_EIO, SK_EPARSE, SK_ETOOBIG) or SK_ENOMEM, with both
 * outputs NULL.  opts may be NULL.
 */
int sk_slow_update_call(struct sk_llm_client *c, const char *prev_skill,
                        const char *curr_skill, const char *pairs_text,
                        size_t n_compared, const struct sk_slow_call_opts *opts,
                        char **content, struct json_t **record,
                        struct sk_error *err);

/*
 * The meta-skill call (7.3), like sk_slow_update_call: user message with
 * both skills, prev_meta (NULL/blank: a placeholder) and the comparison;
 * stage "meta_skill", reply key "meta_skill_content".  *record is
 * {reasoning, meta_skill_content, time_s, action} with action
 * "write_meta_skill" (then *content is set) or "no_content" (*content
 * NULL).  Same return codes.
 */
int sk_meta_skill_call(struct sk_llm_client *c, const char *prev_skill,
                       const char *curr_skill, const char *prev_meta,
                       const char *pairs_text, size_t n_compared,
                       const struct sk_slow_call_opts *opts, char **content,
                       struct json_t **record, struct sk_error *err);

/*
 * Appends the meta-skill block given to analysts, merges and ranking:
 * "## Optimizer Meta Skill\n" + a fixed sentence on how to weigh it +
 * "\n\n" + stripped content + "\n".  Blank or NULL content appends
 * nothing.  Returns SK_OK, SK_ENOMEM or SK_ETOOBIG (out truncated back).
 */
int sk_meta_block(const char *content, struct sk_buf *out);

#endif /* SK_TRAIN_SLOW_H */
