/*
 * schedule.c - edit-budget schedules and mode alias tables (see
 * schedule.h).  Rounding follows Python's round(): half to even.
 */
#include "common.h"
#include "train/schedule.h"

#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <string.h>

struct alias {
    const char *name;
    int value;
};

void sk_schedule_init(struct sk_schedule *s, enum sk_lr_scheduler kind,
                      long max_lr, long min_lr, long total_steps)
{
    s->kind = kind;
    s->max_lr = max_lr;
    s->min_lr = min_lr;
    s->total_steps = total_steps;
    s->current_step = 0;
}

/*
 * Python round(x) for a float: nearest integer, ties to even.  The default
 * rounding mode is round-to-nearest-even, but set it explicitly for the
 * call so a caller's fesetround cannot change budgets.  Values beyond long
 * saturate instead of overflowing.
 */
static long py_round(double x)
{
    int mode = fegetround();
    double r;
    if (mode != FE_TONEAREST)
        fesetround(FE_TONEAREST);
    r = nearbyint(x);
    if (mode != FE_TONEAREST)
        fesetround(mode);
    if (isnan(r))
        return 0;
    if (r >= (double)LONG_MAX)
        return LONG_MAX;
    if (r <= (double)LONG_MIN)
        return LONG_MIN;
    return (long)r;
}

long sk_schedule_lr(const struct sk_schedule *s, long k)
{
    double t, x;
    long r;

    switch (s->kind) {
    case SK_LR_SCHED_AUTONOMOUS:
        return SK_LR_NO_LIMIT;
    case SK_LR_SCHED_LINEAR:
    case SK_LR_SCHED_COSINE:
        break;
    case SK_LR_SCHED_CONSTANT:
    default:
        return s->max_lr;
    }
    if (s->total_steps <= 1)
        return s->max_lr;
    t = (double)(k < s->total_steps ? k : s->total_steps) /
        (double)s->total_steps;
    /* Same operation order as the reference, so the doubles match. */
    if (s->kind == SK_LR_SCHED_LINEAR)
        x = (double)s->max_lr + (double)(s->min_lr - s->max_lr) * t;
    else
        x = (double)s->min_lr +
            0.5 * (double)(s->max_lr - s->min_lr) * (1.0 + cos(M_PI * t));
    r = py_round(x);
    return r > s->min_lr ? r : s->min_lr;
}

long sk_schedule_step(struct sk_schedule *s)
{
    s->current_step++;
    return sk_schedule_lr(s, s->current_step);
}

/* ---- alias tables ----------------------------------------------------- */

/*
 * Looks s up in table after trimming ASCII whitespace and lower-casing
 * ASCII letters (Python's str(x).strip().lower() on the ASCII aliases).
 */
static int lookup(const char *s, const struct alias *table, size_t n, int fold,
                  int *out)
{
    char key[64];
    size_t a = 0, z, i;

    z = strlen(s);
    if (fold) {
        while (a < z && strchr(" \t\n\v\f\r", s[a]))
            a++;
        while (z > a && strchr(" \t\n\v\f\r", s[z - 1]))
            z--;
    }
    if (z - a >= sizeof key)
        return SK_ECONFIG;
    for (i = a; i < z; i++) {
        char c = s[i];
        key[i - a] = fold && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    key[z - a] = '\0';
    for (i = 0; i < n; i++) {
        if (!strcmp(key, table[i].name)) {
            *out = table[i].value;
            return SK_OK;
        }
    }
    return SK_ECONFIG;
}

static const struct alias sched_aliases[] = {
    {"constant", SK_LR_SCHED_CONSTANT},
    {"linear", SK_LR_SCHED_LINEAR},
    {"cosine", SK_LR_SCHED_COSINE},
    {"autonomous", SK_LR_SCHED_AUTONOMOUS},
};

int sk_lr_scheduler_parse(const char *s, enum sk_lr_scheduler *out)
{
    int v, rc;
    if (!s)
        return SK_ECONFIG;
    rc = lookup(s, sched_aliases, SK_ARRAY_LEN(sched_aliases), 0, &v);
    if (rc == SK_OK)
        *out = (enum sk_lr_scheduler)v;
    return rc;
}

const char *sk_lr_scheduler_name(enum sk_lr_scheduler v)
{
    switch (v) {
    case SK_LR_SCHED_LINEAR:
        return "linear";
    case SK_LR_SCHED_COSINE:
        return "cosine";
    case SK_LR_SCHED_AUTONOMOUS:
        return "autonomous";
    case SK_LR_SCHED_CONSTANT:
    default:
        return "constant";
    }
}

static const struct alias control_aliases[] = {
    {"fixed", SK_LR_CONTROL_FIXED},
    {"manual", SK_LR_CONTROL_FIXED},
    {"scheduler", SK_LR_CONTROL_FIXED},
    {"scheduled", SK_LR_CONTROL_FIXED},
    {"autonomous", SK_LR_CONTROL_AUTONOMOUS},
    {"auto", SK_LR_CONTROL_AUTONOMOUS},
    {"optimizer", SK_LR_CONTROL_AUTONOMOUS},
    {"none", SK_LR_CONTROL_NONE},
    {"off", SK_LR_CONTROL_NONE},
    {"no_lr", SK_LR_CONTROL_NONE},
};

int sk_lr_control_mode_parse(const char *s, enum sk_lr_control_mode *out)
{
    int v, rc;
    rc = lookup(s && *s ? s : "fixed", control_aliases,
                SK_ARRAY_LEN(control_aliases), 1, &v);
    if (rc == SK_OK)
        *out = (enum sk_lr_control_mode)v;
    return rc;
}

const char *sk_lr_control_mode_name(enum sk_lr_control_mode v)
{
    switch (v) {
    case SK_LR_CONTROL_AUTONOMOUS:
        return "autonomous";
    case SK_LR_CONTROL_NONE:
        return "none";
    case SK_LR_CONTROL_FIXED:
    default:
        return "fixed";
    }
}

static const struct alias update_aliases[] = {
    {"patch", SK_UPDATE_PATCH},
    {"edits", SK_UPDATE_PATCH},
    {"rewrite", SK_UPDATE_REWRITE_FROM_SUGGESTIONS},
    {"rewrite_from_suggestions", SK_UPDATE_REWRITE_FROM_SUGGESTIONS},
    {"suggestions", SK_UPDATE_REWRITE_FROM_SUGGESTIONS},
    {"rewrite_suggestions", SK_UPDATE_REWRITE_FROM_SUGGESTIONS},
    {"full_rewrite", SK_UPDATE_FULL_REWRITE_MINIBATCH},
    {"full_rewrite_minibatch", SK_UPDATE_FULL_REWRITE_MINIBATCH},
    {"minibatch_full_rewrite", SK_UPDATE_FULL_REWRITE_MINIBATCH},
    {"skill_rewrite_minibatch", SK_UPDATE_FULL_REWRITE_MINIBATCH},
};

int sk_skill_update_mode_parse(const char *s, enum sk_skill_update_mode *out)
{
    int v, rc;
    rc = lookup(s && *s ? s : "patch", update_aliases,
                SK_ARRAY_LEN(update_aliases), 1, &v);
    if (rc == SK_OK)
        *out = (enum sk_skill_update_mode)v;
    return rc;
}

const char *sk_skill_update_mode_name(enum sk_skill_update_mode v)
{
    switch (v) {
    case SK_UPDATE_REWRITE_FROM_SUGGESTIONS:
        return "rewrite_from_suggestions";
    case SK_UPDATE_FULL_REWRITE_MINIBATCH:
        return "full_rewrite_minibatch";
    case SK_UPDATE_PATCH:
    default:
        return "patch";
    }
}

static const struct alias pair_aliases[] = {
    {"mixed", SK_PAIR_MIXED},      {"default", SK_PAIR_MIXED},
    {"random", SK_PAIR_MIXED},     {"all", SK_PAIR_MIXED},
    {"changed", SK_PAIR_CHANGED},  {"change", SK_PAIR_CHANGED},
    {"delta", SK_PAIR_CHANGED},    {"10_01", SK_PAIR_CHANGED},
    {"01_10", SK_PAIR_CHANGED},    {"unchanged", SK_PAIR_UNCHANGED},
    {"stable", SK_PAIR_UNCHANGED}, {"same", SK_PAIR_UNCHANGED},
    {"00_11", SK_PAIR_UNCHANGED},
};

int sk_longitudinal_pair_policy_parse(const char *s, enum sk_pair_policy *out)
{
    int v, rc;
    rc = lookup(s && *s ? s : "mixed", pair_aliases, SK_ARRAY_LEN(pair_aliases),
                1, &v);
    if (rc == SK_OK)
        *out = (enum sk_pair_policy)v;
    return rc;
}

const char *sk_longitudinal_pair_policy_name(enum sk_pair_policy v)
{
    switch (v) {
    case SK_PAIR_CHANGED:
        return "changed";
    case SK_PAIR_UNCHANGED:
        return "unchanged";
    case SK_PAIR_MIXED:
    default:
        return "mixed";
    }
}
