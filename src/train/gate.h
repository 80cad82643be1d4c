/*
 * gate.h - the validation gate (algorithm.md 6.1-6.3): projection of a
 * candidate's (hard, soft) selection scores onto the gate metric, the
 * optional semantic-density bonus, the accept/reject decision with its
 * score and origin bookkeeping, and the selection cache keyed by skill hash.
 *
 * Texts and word lists are borrowed.  The cache owns its keys (release with
 * sk_sel_cache_release).  Skill texts themselves are the caller's business:
 * the decision says which of them to move.
 */
#ifndef SK_GATE_H
#define SK_GATE_H

#include <stddef.h>

#include "common.h"

struct json_t;

enum sk_gate_metric { SK_GATE_HARD = 0, SK_GATE_SOFT, SK_GATE_MIXED };

enum sk_gate_action {
    SK_GATE_REJECT = 0,
    SK_GATE_ACCEPT,
    SK_GATE_ACCEPT_NEW_BEST,
    SK_GATE_FORCE_ACCEPT
};

struct sk_gate_opts {
    enum sk_gate_metric metric;
    double mixed_weight; /* weight of soft for "mixed", clamped to [0,1] */
    int use_density;     /* add density_weight * density(text) */
    double density_weight;
    /* Leading words; NULL = the default set.  Non-NULL with n == 0 is an
     * empty set (density 0), as the reference does for an empty list. */
    const char *const *leading_words;
    size_t n_leading_words;
};

/* Score state the gate moves; origins are "initial_skill" or "step_%04ld". */
struct sk_gate_state {
    double current_score;
    double best_score;
    long best_step;
    char current_origin[48];
    char best_origin[48];
};

/* Defaults: hard metric, w = 0.5, no density (weight 0.05), default words. */
void sk_gate_opts_init(struct sk_gate_opts *o);

/* Fresh run: scores -1.0, best_step 0, both origins "initial_skill". */
void sk_gate_state_init(struct sk_gate_state *s);

/* "hard" | "soft" | "mixed"; anything else is SK_ECONFIG. */
int sk_gate_metric_parse(const char *name, enum sk_gate_metric *out,
                         struct sk_error *err);
const char *sk_gate_metric_name(enum sk_gate_metric m);

/* "reject", "accept", "accept_new_best", "force_accept" (static). */
const char *sk_gate_action_name(enum sk_gate_action a);

/*
 * Semantic density: the share of the [a-zA-Z0-9]+ tokens of the lowercased
 * text that are leading words (case-insensitive).  Before tokenising, every
 * slow-update block and then every appendix block is cut out as the
 * reference does it: repeatedly the first start marker through the first
 * end marker after it; an orphan start marker loses only the marker itself
 * and ends that kind's pass.  Lowercasing is Python's str.lower() as far as
 * it can produce [a-z0-9] (ASCII, plus U+212A KELVIN SIGN -> 'k' and U+0130
 * -> 'i' + a combining dot).  Blank text or no tokens -> 0.  words == NULL
 * uses the default set MUST ALWAYS NEVER ONLY CRITICAL IMPORTANT RESOLVE
 * PREFER ENSURE STRICT VERIFY.  Returns SK_OK or SK_ENOMEM.
 */
int sk_gate_density(const char *text, size_t len, const char *const *words,
                    size_t n_words, double *out);

/*
 * select_gate_score: hard, soft or (1-w)*hard + w*soft, plus the density
 * bonus when enabled (the text is only read then).  SK_ENOMEM possible
 * only with density on.
 */
int sk_gate_score(const struct sk_gate_opts *o, double hard, double soft,
                  const char *text, size_t len, double *out);

/*
 * Gate decision for candidate score c (already projected) at global_step.
 * use_gate: c > current and c > best -> ACCEPT_NEW_BEST (current = best =
 * c, best_step = global_step); c > current -> ACCEPT (current only); else
 * REJECT (ties reject; nothing changes).  !use_gate -> FORCE_ACCEPT:
 * current = c, best moves only when c > best.  Every accepting action sets
 * current_origin = "step_%04ld"; best_origin copies it on ACCEPT_NEW_BEST
 * or on a FORCE_ACCEPT after which best_step == global_step.  The caller
 * moves texts: current text = candidate unless REJECT; best text =
 * candidate iff *new_best is set (new_best may be NULL).  Cannot fail.
 */
enum sk_gate_action sk_gate_decide(struct sk_gate_state *s, double c,
                                   long global_step, int use_gate,
                                   int *new_best);

/* ---- selection cache (6.3) ---------------------------------------- */

struct sk_sel_entry {
    char *hash; /* owned; normally 16 hex digits */
    double hard;
    double soft;
};

struct sk_sel_cache {
    struct sk_sel_entry *items; /* insertion order */
    size_t len;
    size_t cap;
};

void sk_sel_cache_init(struct sk_sel_cache *c);
void sk_sel_cache_release(struct sk_sel_cache *c);

/* Sets hash -> (hard, soft), replacing an existing value.  SK_ENOMEM. */
int sk_sel_cache_put(struct sk_sel_cache *c, const char *hash, double hard,
                     double soft);

/* 1 and the pair if hash is cached, else 0 (outputs untouched). */
int sk_sel_cache_get(const struct sk_sel_cache *c, const char *hash,
                     double *hard, double *soft);

/*
 * Rebuilds c from a history array (8.2): every object row with a non-empty
 * string "candidate_hash" and a numeric "selection_hard" sets
 * hash -> (selection_hard, selection_soft), later rows winning; a missing,
 * null or non-numeric selection_soft counts as 0.0 (the reference would
 * crash or store None).  Other rows are skipped.  c is cleared first.
 * SK_EINVAL if history is not an array, SK_ENOMEM (c then empty).
 */
int sk_sel_cache_rebuild(struct sk_sel_cache *c, const struct json_t *history,
                         struct sk_error *err);

#endif /* SK_GATE_H */
