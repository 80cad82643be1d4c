/*
 * schedule.h - learning-rate (edit budget) schedules and the small alias
 * tables of the optimizer's mode options (algorithm.md 4.2, 5.4, 7.2).
 *
 * Nothing here allocates.  Name strings returned are static.  The parse
 * functions are what the config module calls; they accept the reference's
 * aliases and reject everything else with SK_ECONFIG.
 */
#ifndef SK_SCHEDULE_H
#define SK_SCHEDULE_H

#include "common.h"

enum sk_lr_scheduler {
    SK_LR_SCHED_CONSTANT = 0,
    SK_LR_SCHED_LINEAR,
    SK_LR_SCHED_COSINE,
    SK_LR_SCHED_AUTONOMOUS /* always SK_LR_NO_LIMIT */
};

#define SK_LR_NO_LIMIT 999L

enum sk_lr_control_mode {
    SK_LR_CONTROL_FIXED = 0,
    SK_LR_CONTROL_AUTONOMOUS,
    SK_LR_CONTROL_NONE
};

enum sk_skill_update_mode {
    SK_UPDATE_PATCH = 0,
    SK_UPDATE_REWRITE_FROM_SUGGESTIONS,
    SK_UPDATE_FULL_REWRITE_MINIBATCH
};

enum sk_pair_policy { SK_PAIR_MIXED = 0, SK_PAIR_CHANGED, SK_PAIR_UNCHANGED };

struct sk_schedule {
    enum sk_lr_scheduler kind;
    long max_lr;       /* budget at the start */
    long min_lr;       /* floor of the decaying schedules */
    long total_steps;  /* T */
    long current_step; /* k: steps taken so far (the saved state) */
};

/* Sets up a schedule at k = 0.  Cannot fail. */
void sk_schedule_init(struct sk_schedule *s, enum sk_lr_scheduler kind,
                      long max_lr, long min_lr, long total_steps);

/*
 * Budget at 1-based step k: constant -> max_lr; autonomous -> 999;
 * linear/cosine -> max_lr when T <= 1, else max(min_lr, R(x)) with
 * t = min(k, T) / T, x = max_lr + (min_lr - max_lr) t (linear) or
 * min_lr + 0.5 (max_lr - min_lr)(1 + cos(pi t)) (cosine), and R Python's
 * round (half to even).
 */
long sk_schedule_lr(const struct sk_schedule *s, long k);

/* k += 1, then returns sk_schedule_lr(s, k). */
long sk_schedule_step(struct sk_schedule *s);

/*
 * lr_scheduler: constant | linear | cosine | autonomous, exact spelling
 * (the reference does not normalise this one).  Each parser returns SK_OK
 * and sets *out, or SK_ECONFIG (s NULL included for this one) leaving *out
 * untouched; the caller words the message.
 */
int sk_lr_scheduler_parse(const char *s, enum sk_lr_scheduler *out);
const char *sk_lr_scheduler_name(enum sk_lr_scheduler v);

/*
 * The remaining parsers trim ASCII whitespace and ignore ASCII case; NULL
 * or "" means the reference's default (fixed, patch, mixed).
 * lr_control_mode: fixed|manual|scheduler|scheduled -> fixed;
 * autonomous|auto|optimizer -> autonomous; none|off|no_lr -> none.
 */
int sk_lr_control_mode_parse(const char *s, enum sk_lr_control_mode *out);
const char *sk_lr_control_mode_name(enum sk_lr_control_mode v);

/*
 * skill_update_mode: patch|edits -> patch;
 * rewrite|rewrite_from_suggestions|suggestions|rewrite_suggestions ->
 * rewrite_from_suggestions; full_rewrite|full_rewrite_minibatch|
 * minibatch_full_rewrite|skill_rewrite_minibatch -> full_rewrite_minibatch.
 * Anything else is SK_ECONFIG (the reference silently falls back to patch).
 */
int sk_skill_update_mode_parse(const char *s, enum sk_skill_update_mode *out);
const char *sk_skill_update_mode_name(enum sk_skill_update_mode v);

/*
 * longitudinal_pair_policy: mixed|default|random|all -> mixed;
 * changed|change|delta|10_01|01_10 -> changed;
 * unchanged|stable|same|00_11 -> unchanged.
 */
int sk_longitudinal_pair_policy_parse(const char *s, enum sk_pair_policy *out);
const char *sk_longitudinal_pair_policy_name(enum sk_pair_policy v);

#endif /* SK_SCHEDULE_H */
