/*
 * select.h - the select phase of a step (algorithm.md 4.2, 4.3, 10.2): the
 * autonomous learning rate (the optimizer chooses how many merged items to
 * apply) and rank_and_select (the optimizer picks the K most important
 * items).  Model failures degrade (LR 0 with fallback set; the first K
 * items); only local problems are errors.
 *
 * Deliberate difference from the reference (algorithm.md 11.4): a budget
 * of 0 selects nothing and makes no call; the reference appended one item
 * before checking the budget, so an autonomous LR of 0 still applied one
 * edit.
 *
 * Ownership: inputs are borrowed and never modified; returned jansson
 * values are new references owned by the caller (json_decref).
 */
#ifndef SK_SELECT_H
#define SK_SELECT_H

#include <stddef.h>

#include "common.h"
#include "train/schedule.h"

struct json_t;
struct sk_buf;
struct sk_llm_client;

#define SK_SELECT_MAX_TOKENS 16384L

/*
 * Appends describe_item of the reference for one payload item: patch mode
 * "op=<op>  target=<repr>  content=<repr>  support=<n>" (target and
 * content only when truthy, support when present and not null), rewrite
 * mode "type=..  title=<repr>  instruction=<repr>  priority=..
 * support=..", full rewrite "title=<repr>  change_summary=<repr>
 * source=..  support=..  new_skill_preview=<repr>".  Strings are shown
 * untruncated in Python repr() form; other values as Python str() would
 * print them.  A non-object item appends nothing.  Returns SK_OK,
 * SK_ENOMEM or SK_ETOOBIG.
 */
int sk_select_describe_item(const struct json_t *item,
                            enum sk_skill_update_mode mode, struct sk_buf *out);

/*
 * rank_and_select of the reference.  n = number of payload items of
 * merged.  n <= k: a copy of merged, unchanged (no call).  k == 0 (and
 * n > 0): {"reasoning": <merged reasoning> + " [budget 0: selected 0/<n>
 * <label>]", <key>: []} without a call (the 11.4 fix).  Else one ranking
 * call (ranking_rewrite in rewrite_from_suggestions mode); the reply's
 * selected_indices are walked keeping integers (not booleans) in [0, n)
 * not seen before, stopping at k.  Some kept: {"reasoning": <merged
 * reasoning> + " [optimizer-ranked: selected <j>/<n> <label>]", <key>:
 * items, "ranking_details": reply}; none (or a failed call): the first k
 * items with " [fallback truncated <n>-><k> <label>]".  A non-string
 * merged reasoning counts as "".  max_tokens 0: 16384.  Returns SK_OK,
 * SK_EINVAL (k < 0, skill NULL), a template error (SK_ENOTFOUND, SK_EIO,
 * SK_ETOOBIG) or SK_ENOMEM; *selected is NULL on failure.
 */
int sk_rank_and_select(struct sk_llm_client *c, const struct json_t *merged,
                       long k, enum sk_skill_update_mode mode,
                       const char *skill, const char *meta_block,
                       const char *bench, const char *prompts_dir,
                       long max_tokens, struct json_t **selected,
                       struct sk_error *err);

struct sk_lr_opts {
    const char *skill;
    const struct json_t *merged; /* merged patch (payload items counted) */
    enum sk_skill_update_mode mode;
    long rollout_n;
    double rollout_hard;
    double rollout_soft;
    const char *step_buffer; /* NULL/blank: no section */
    const char *meta_block;  /* rendered meta-skill block; NULL/blank */
    const char *bench;       /* template overrides; may be NULL */
    const char *prompts_dir; /* may be NULL */
    long max_tokens;         /* 0: 16384 */
};

/*
 * The reference's reading of a "learning_rate" value.  Returns 1 and sets
 * *out (>= 0, saturating) or 0 when the value is unusable: booleans and
 * null are rejected; integers are clamped at 0; integral reals are taken;
 * other values are turned into text as Python's str() would (strings
 * stripped; a non-integral real as its repr, so 2.5 -> "2.5"; empty
 * arrays/objects and blank strings are unusable) and the first -?[0-9]+
 * in it is taken, clamped at 0.
 */
int sk_lr_coerce(const struct json_t *v, long long *out);

/*
 * decide_autonomous_learning_rate of the reference: one lr_autonomous call
 * whose user message holds [meta block], the skill, the step evidence
 * (rollout_n, rollout_hard/soft with 6 decimals, proposed_update_items,
 * update_item_type), the numbered items, the question and [the step
 * buffer].  *record gets {learning_rate = min(decision, available),
 * raw_learning_rate, available_update_items, clamped, fallback, reasoning,
 * confidence, risk_notes, raw_response[, error]}: decision is
 * sk_lr_coerce of the reply's learning_rate, or 0 with fallback true; a
 * failed call or a reply that is a non-empty non-object gives "error".
 * Returns SK_OK, SK_EINVAL (o or o->skill NULL), a template error or
 * SK_ENOMEM.
 */
int sk_autonomous_lr(struct sk_llm_client *c, const struct sk_lr_opts *o,
                     struct json_t **record, struct sk_error *err);

/*
 * Appends the lr_history.jsonl line for a record: {"step", "epoch",
 * record's keys...} on one line as Python's json.dumps(ensure_ascii=False)
 * writes it, then "\n".  Returns SK_OK, SK_EINVAL (record not an object),
 * SK_ENOMEM or SK_ETOOBIG; out is unchanged on failure.
 */
int sk_lr_history_line(const struct json_t *record, long step, long epoch,
                       struct sk_buf *out);

#endif /* SK_SELECT_H */
