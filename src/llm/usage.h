/*
 * usage.h - accounting, prices and the run's budget.
 *
 * Counts calls, prompt/completion/cached/reasoning tokens, latency, retries
 * and cache hits per (role, stage), and cost in USD from a pricing table
 * (YAML, user-extensible).  A model without a price has an *unknown* cost,
 * reported as such, never as 0.
 *
 * Budget: caps on total cost (max_cost_usd) and total tokens (max_tokens)
 * across all roles.  Before a request starts the caller reserves its worst
 * case (prompt estimate + completion cap); if that could pass a cap the
 * reservation fails with SK_LLM_EBUDGET and no request starts.  When the
 * reply arrives the reservation is settled with the real usage.  Cache hits
 * cost nothing.  Thread-safe (one mutex).
 *
 * Ownership: the ledger owns its tables; strings passed in are copied.
 */
#ifndef SK_USAGE_H
#define SK_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "llm/llm.h"
#include "util/buf.h"

struct sk_price {
    double input_per_mtok;  /* USD per million prompt tokens */
    double cached_per_mtok; /* USD per million cached prompt tokens */
    double output_per_mtok; /* USD per million completion tokens */
};

struct sk_ledger;

/*
 * Creates a ledger.  pricing_path: a YAML file of
 *   models:
 *     gpt-4o: {input: 2.5, cached_input: 1.25, output: 10}
 * merged over the built-in table (NULL: built-in only).  max_cost_usd and
 * max_tokens: 0 = no cap.  A cost cap with a model that has no price is
 * refused at reservation time (SK_LLM_EBUDGET, saying which model).
 */
int sk_ledger_new(const char *pricing_path, double max_cost_usd,
                  uint64_t max_tokens, struct sk_ledger **out,
                  struct sk_error *err);
void sk_ledger_free(struct sk_ledger *l);

/* Price of a model (exact name, then the longest matching prefix of a
 * dated variant such as gpt-4o-2024-08-06); 0 when unknown. */
int sk_ledger_price(const struct sk_ledger *l, const char *model,
                    struct sk_price *out);

/* Reserves the worst case of one request; *ticket identifies it. */
int sk_ledger_reserve(struct sk_ledger *l, const char *model,
                      uint64_t est_prompt_tokens, uint64_t max_completion,
                      uint64_t *ticket, struct sk_error *err);
/* Settles a reservation with what the call really used (res may be an
 * error: then only the tokens it reports are charged). */
void sk_ledger_settle(struct sk_ledger *l, uint64_t ticket, enum sk_role role,
                      const char *stage, const char *model,
                      const struct sk_llm_result *res);
/* Records a cache hit (no cost, counted separately). */
void sk_ledger_cache_hit(struct sk_ledger *l, enum sk_role role,
                         const char *stage, const struct sk_llm_result *res);

struct sk_stage_usage {
    uint64_t calls, errors, cache_hits, retries;
    uint64_t prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens;
    uint64_t usage_estimated; /* successful calls whose reply carried no
                                 usage: charged the reservation's worst
                                 case */
    double latency_s;
    double cost_usd;
    int cost_unknown; /* some call's model had no price */
};

/* Totals of one role/stage (stage NULL: all stages of the role; role
 * SK_ROLE_COUNT: all roles). */
void sk_ledger_get(const struct sk_ledger *l, int role, const char *stage,
                   struct sk_stage_usage *out);

/*
 * The reference's token summary {stage: {calls, prompt_tokens,
 * completion_tokens, total_tokens}, "_total": {...}} extended with
 * cached_tokens, reasoning_tokens, cache_hits, retries, errors,
 * usage_estimated, latency_s and cost_usd (null when unknown), as JSON
 * (indent 2, stages merged across roles in first-use order), appended to
 * out.
 */
int sk_ledger_summary_json(const struct sk_ledger *l, struct sk_buf *out);

#endif /* SK_USAGE_H */
