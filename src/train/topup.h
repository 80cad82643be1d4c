/*
 * topup.h - the "changed" longitudinal pair policy's top-up (algorithm.md
 * 7.2): when the sampled items gave fewer than N improved/regressed pairs,
 * more train items are rolled out one at a time under both skills until N
 * changed pairs are found or the train items run out.
 *
 * Layout (the reference's): dir is the epoch directory whose rollout_prev/
 * and rollout_curr/ hold the rollouts of the sampled items (slow_update/
 * epoch_EE or meta_skill/epoch_EE).  A top-up item's rollouts go to
 *   <dir>/rollout_prev/topup/<d>/   and   <dir>/rollout_curr/topup/<d>/
 * (each a normal sk_rollout_run out_dir, so results.jsonl is the resume
 * cache), <d> = sk_rollout_pred_dir(id).  The predictions/<d>/ files of
 * every top-up item that yields a kept pair are copied into
 * <dir>/rollout_prev/predictions/<d>/ and <dir>/rollout_curr/predictions/
 * <d>/, beside the sampled items' own records, so one directory per side
 * finds the trajectories of every pair; those two directories are what
 * the pred-dir out parameters return.
 *
 * Ownership: everything passed in is borrowed except pairs/all_pairs,
 * which are appended to in place; returned strings are the caller's
 * (sk_free).
 */
#ifndef SK_TRAIN_TOPUP_H
#define SK_TRAIN_TOPUP_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;
struct sk_bench;
struct sk_error;
struct sk_llm_client;

#define SK_TOPUP_ROLLOUT_PREV "rollout_prev"
#define SK_TOPUP_ROLLOUT_CURR "rollout_curr"
#define SK_TOPUP_DIR "topup"

/*
 * Tops pairs up to n changed pairs.  pairs is the array sk_pairs_build
 * returned with policy changed for the sampled items; when it already has
 * n or more pairs it is cut to its first n and nothing is rolled out.
 * Otherwise train_items (a JSON array of item objects) is shuffled like
 * Python's random.Random(sample_seed).shuffle, items whose str(id) is in
 * compared_ids (a JSON array of id strings, NULL for none) are dropped,
 * and the rest are taken in that order: each is rolled out alone under
 * prev_skill, then under curr_skill (layout above; bench, prompts_dir and
 * max_completion_tokens as for sk_rollout_run), its pair built as by
 * sk_pairs_build, and appended to pairs when it is improved or regressed,
 * until pairs holds n.  Persistent failures and stable successes are
 * rolled out but not kept (an item the benchmark cannot ask scores 0 on
 * both sides and so is never kept).
 *
 * *prev_pred_dir and *curr_pred_dir (either out pointer may be NULL) get
 * <dir>/rollout_prev/predictions and <dir>/rollout_curr/predictions, the
 * directories to give sk_pairs_render for all of pairs.  *n_rollouts (may
 * be NULL) gets the number of single-item sk_rollout_run calls made, one
 * per side, cached ones included (also on failure).
 *
 * Returns SK_OK.  A rollout that failed at the provider or hit the budget
 * stops the top-up and its status (an enum sk_llm_err) is returned; other
 * failures: SK_EINVAL (bad arguments), SK_EDATA (a train item without a
 * usable id), SK_EIO, SK_ENOMEM.  On any failure pairs is back to what it
 * was given, the pred dirs are NULL and err says why.  Results of rollouts
 * that finished stay on disk, so a rerun asks only what is missing.
 */
int sk_pairs_topup(struct sk_llm_client *c, const struct sk_bench *bench,
                   const char *prev_skill, const char *curr_skill,
                   const struct json_t *train_items,
                   const struct json_t *compared_ids, size_t n,
                   int64_t sample_seed, const char *dir,
                   const char *prompts_dir, long max_completion_tokens,
                   struct json_t *pairs, char **prev_pred_dir,
                   char **curr_pred_dir, size_t *n_rollouts,
                   struct sk_error *err);

/*
 * sk_pairs_topup that also appends the pair of every top-up item, kept or
 * not, to all_pairs (may be NULL), in rollout order: the reference writes
 * these after the sampled items' pairs in comparison_pairs_all.json.  On
 * failure all_pairs is restored too.
 */
int sk_pairs_topup_all(struct sk_llm_client *c, const struct sk_bench *bench,
                       const char *prev_skill, const char *curr_skill,
                       const struct json_t *train_items,
                       const struct json_t *compared_ids, size_t n,
                       int64_t sample_seed, const char *dir,
                       const char *prompts_dir, long max_completion_tokens,
                       struct json_t *pairs, struct json_t *all_pairs,
                       char **prev_pred_dir, char **curr_pred_dir,
                       size_t *n_rollouts, struct sk_error *err);

#endif /* SK_TRAIN_TOPUP_H */
