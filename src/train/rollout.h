/*
 * rollout.h - the rollout phase (algorithm.md 2): every item is put to the
 * frozen target with the current skill in its system prompt, the replies
 * are scored, and each item leaves a result row plus a predictions/<dir>/
 * record the analyst reads later (3.3).
 *
 * Layout of out_dir:
 *   rollout_meta.json   {"skill_hash": sk_text_hash16(skill), "benchmark"}
 *   results.jsonl       one row per finished item, in item order; it is
 *                       also the resume cache: ids already there are not
 *                       asked again.  When rollout_meta.json is absent or
 *                       names another skill or benchmark, an existing
 *                       results.jsonl is deleted first (a warning is
 *                       logged), so rows made with one skill are never
 *                       reused for another.
 *   predictions/<dir>/  target_system_prompt.txt, target_user_prompt.txt,
 *                       conversation.json ([{"role":"assistant","turn":1,
 *                       "content": reply}, {"role":"system","content":
 *                       verification report}]), <dir> from
 *                       sk_rollout_pred_dir.
 * Rows of items that failed at the provider are returned but not written
 * to results.jsonl, so a rerun asks them again.
 *
 * Ownership: everything passed in is borrowed; *results_out is a new
 * jansson array (json_decref).
 */
#ifndef SK_TRAIN_ROLLOUT_H
#define SK_TRAIN_ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;
struct sk_buf;
struct sk_bench;
struct sk_llm_client;
struct sk_config;

#define SK_ROLLOUT_RESULTS "results.jsonl"
#define SK_ROLLOUT_META "rollout_meta.json"
#define SK_ROLLOUT_PREDICTIONS "predictions"
/* Largest results.jsonl read back, in bytes. */
#define SK_ROLLOUT_MAX_RESULTS (1u << 30)

struct sk_rollout_stats {
    size_t items;     /* items given */
    size_t cached;    /* rows taken from results.jsonl */
    size_t sent;      /* items put to the target in this call */
    size_t errors;    /* of those, failed at the provider (not persisted) */
    size_t invalid;   /* items that could not be asked (bad data) */
    double hard_mean; /* compute_score over the returned rows (2.4) */
    double soft_mean;
};

/*
 * The directory name under predictions/ for an item id.  An id of 1 to
 * 100 bytes from [A-Za-z0-9._-] that does not start with '.' is used as
 * is; any other id has each other byte (and a leading '.') replaced by
 * '_', is cut to 64 bytes and gets "-" + sk_text_hash16(id) appended, so
 * distinct ids keep distinct directories and none leaves predictions/.
 * Appends to out; SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_rollout_pred_dir(const char *id, struct sk_buf *out);

/*
 * Runs bench's items (a JSON array of item objects, ids unique) under
 * skill.  Items missing from results.jsonl are built and sent in one
 * sk_llm_call_batch (target role, stage "rollout", max_completion_tokens
 * as the cap, 0 for the role's default); the replies are scored and their
 * rows appended to results.jsonl in item order, then fsync'd.
 *
 * Rows carry id, question, task_type (the item's "task_type", else its
 * "family", else the benchmark name), task_description, em, f1, hard,
 * soft, predicted_answer, gold_answers, response, fail_reason, agent_ok,
 * n_turns (+ sub_em for searchqa).  An item whose call failed gets hard 0,
 * soft 0.0, agent_ok false and fail_reason "error: <message>" and counts
 * in stats->errors; an item the benchmark cannot ask (e.g. a null
 * SearchQA context) gets the same kind of row, is persisted, and counts
 * in stats->invalid.
 *
 * Returns SK_OK with *results_out holding one row per item in item order.
 * When every item failed at the provider, returns the first failed call's
 * status (an enum sk_llm_err), and when any call was refused by the budget
 * SK_LLM_EBUDGET; in both cases *results_out and stats are still filled so
 * the caller can report, and err names the failure.  Other failures:
 * SK_EINVAL (items not an array), SK_EDATA (an item without an id or a
 * duplicate id), SK_EIO, SK_ENOMEM; then *results_out is NULL.  stats may
 * be NULL.
 */
int sk_rollout_run(struct sk_llm_client *client, const struct sk_bench *bench,
                   const char *skill, const struct json_t *items,
                   const char *out_dir, const char *prompts_dir,
                   long max_completion_tokens, struct json_t **results_out,
                   struct sk_rollout_stats *stats, struct sk_error *err);

/* Everything a rollout may need beyond the items (all borrowed). */
struct sk_rollout_opts {
    const char *prompts_dir;     /* template overrides; may be NULL */
    long max_completion_tokens;  /* 0: the role's default */
    const struct sk_config *cfg; /* for the benchmark; may be NULL */
    int64_t seed;                /* the batch's seed (train) or the run's */
    long workers;                /* episodes at once (0: 16) */
    int train; /* a training batch (bench ctx->train): gold-derived
                  feedback allowed */
};

/*
 * sk_rollout_run with every option; benchmarks with images send them with
 * the user message, benchmarks with episodes (multi-turn tool loops) run
 * up to o->workers of them at once, each a sequence of calls, and their
 * turns go to conversation.json before the verification turn.  Same
 * results and return codes as sk_rollout_run.
 */
int sk_rollout_run_opts(struct sk_llm_client *client,
                        const struct sk_bench *bench, const char *skill,
                        const struct json_t *items, const char *out_dir,
                        const struct sk_rollout_opts *o,
                        struct json_t **results_out,
                        struct sk_rollout_stats *stats, struct sk_error *err);

/*
 * Per task type accuracy of result rows (algorithm.md 1.6): a new object
 * {<task_type>|"overall": {"total": n, "hard_acc": mean hard}}, rows
 * without a task_type counted as "other"; NULL when out of memory.
 */
struct json_t *sk_rollout_by_type(const struct json_t *rows);

#endif /* SK_TRAIN_ROLLOUT_H */
