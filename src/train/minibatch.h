/*
 * minibatch.h - the failure/success split of one micro-batch's results into
 * reflection minibatches (algorithm.md 2.4, 3.1).
 *
 * Results are referred to by their index in the caller's result array; only
 * their `hard` scores are looked at.  A plan owns its arrays (release with
 * sk_minibatch_plan_release).  Shuffles are CPython's random.Random.
 */
#ifndef SK_MINIBATCH_H
#define SK_MINIBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;

enum sk_mb_kind { SK_MB_FAIL = 0, SK_MB_SUCC = 1 };

struct sk_minibatch {
    enum sk_mb_kind kind; /* analyst that reads it */
    size_t index;         /* 0-based within its kind */
    char tag[48];         /* "minibatch_fail_000" / "minibatch_succ_000" */
    size_t *items;        /* result indices, points into the plan's pool */
    size_t n;             /* 1..minibatch_size */
};

struct sk_minibatch_plan {
    struct sk_minibatch *groups; /* failures first, then successes */
    size_t n_groups;
    size_t n_fail; /* failing results */
    size_t n_succ; /* successful results used (0 with failure_only) */
    size_t *pool;  /* storage behind every group's items */
};

/*
 * The reference's predicates on a result's hard score: failure iff hard
 * is falsy or < 1e-9; success iff hard is truthy.  Both hold for a hard in
 * (0, 1e-9) or negative; NaN is a success only (truthy, not < 1e-9).
 */
int sk_result_is_failure(double hard);
int sk_result_is_success(double hard);

/*
 * The hard score of a result object as the predicates above see it:
 * number -> its value, true -> 1, false/null/missing -> 0, a string -> its
 * strtod value when it parses whole ("" -> 0), and anything else truthy
 * (unparsable string, non-empty array or object) -> 1, so that it counts
 * as a success as in the reference (where float() on it would crash the
 * failure test).  A non-object result gives 0.
 */
double sk_result_hard(const struct json_t *result);

void sk_minibatch_plan_init(struct sk_minibatch_plan *p);
void sk_minibatch_plan_release(struct sk_minibatch_plan *p);

/*
 * Splits n results: failures in result order shuffled with
 * Random(batch_seed), successes (none when failure_only) shuffled with
 * Random(batch_seed + 1), each cut into consecutive groups of
 * minibatch_size, ordered by (kind, index).  Replaces out's contents.
 * SK_EINVAL for minibatch_size 0 or batch_seed == INT64_MAX; SK_ENOMEM
 * leaves out empty.
 */
int sk_minibatch_split(const double *hard, size_t n, int64_t batch_seed,
                       size_t minibatch_size, int failure_only,
                       struct sk_minibatch_plan *out, struct sk_error *err);

#endif /* SK_MINIBATCH_H */
