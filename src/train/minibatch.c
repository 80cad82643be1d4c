/*
 * minibatch.c - failure/success split of a micro-batch (algorithm.md 3.1).
 * Pure: indices in, indices out; the analyst calls happen elsewhere.
 */
#include "common.h"

#include "train/minibatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/alloc.h"
#include "util/pyrandom.h"

int sk_result_is_failure(double hard)
{
    return hard == 0.0 || hard < 1e-9;
}

int sk_result_is_success(double hard)
{
    return hard != 0.0; /* NaN != 0: truthy, as in Python */
}

double sk_result_hard(const struct json_t *result)
{
    const json_t *h;

    if (!json_is_object(result))
        return 0.0;
    h = json_object_get(result, "hard");
    if (!h || json_is_null(h) || json_is_false(h))
        return 0.0;
    if (json_is_true(h))
        return 1.0;
    if (json_is_number(h))
        return json_number_value(h);
    if (json_is_string(h)) {
        const char *s = json_string_value(h);
        char *end;
        double v;
        if (!*s)
            return 0.0;
        v = strtod(s, &end);
        while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
            end++;
        if (end != s && !*end)
            return v;
        return 1.0;
    }
    if (json_is_array(h))
        return json_array_size(h) ? 1.0 : 0.0;
    if (json_is_object(h))
        return json_object_size(h) ? 1.0 : 0.0;
    return 0.0;
}

void sk_minibatch_plan_init(struct sk_minibatch_plan *p)
{
    memset(p, 0, sizeof(*p));
}

void sk_minibatch_plan_release(struct sk_minibatch_plan *p)
{
    sk_free(p->groups);
    sk_free(p->pool);
    sk_minibatch_plan_init(p);
}

/* Cuts items[0..n) into groups of m starting at groups[*ng]. */
static void cut_groups(struct sk_minibatch *groups, size_t *ng, size_t *items,
                       size_t n, size_t m, enum sk_mb_kind kind)
{
    size_t i, idx = 0;

    for (i = 0; i < n; i += m, idx++) {
        struct sk_minibatch *g = &groups[(*ng)++];
        g->kind = kind;
        g->index = idx;
        snprintf(g->tag, sizeof(g->tag), "minibatch_%s_%03zu",
                 kind == SK_MB_FAIL ? "fail" : "succ", idx);
        g->items = items + i;
        g->n = n - i < m ? n - i : m;
    }
}

int sk_minibatch_split(const double *hard, size_t n, int64_t batch_seed,
                       size_t minibatch_size, int failure_only,
                       struct sk_minibatch_plan *out, struct sk_error *err)
{
    struct sk_pyrandom rng;
    struct sk_minibatch *groups = NULL;
    size_t *pool = NULL, *fail, *succ;
    size_t nf = 0, ns = 0, i, ng = 0, max_groups;
    int rc = SK_OK;

    sk_minibatch_plan_release(out);
    if (minibatch_size == 0 || batch_seed == INT64_MAX)
        return sk_error_set(err, SK_EINVAL,
                            "minibatch: size must be > 0 and the batch seed "
                            "below INT64_MAX");
    if (n > SIZE_MAX / 2 / sizeof(size_t))
        return sk_error_set(err, SK_EINVAL, "minibatch: too many results");
    /* A result may be both a failure and a success (0 < hard < 1e-9). */
    pool = sk_calloc(2 * n + 1, sizeof(*pool));
    max_groups = 2 * (n / minibatch_size + 1);
    groups = sk_calloc(max_groups, sizeof(*groups));
    if (!pool || !groups) {
        rc = sk_error_set(err, SK_ENOMEM, "minibatch: out of memory");
        goto out;
    }
    fail = pool;
    for (i = 0; i < n; i++)
        if (sk_result_is_failure(hard[i]))
            fail[nf++] = i;
    succ = pool + nf;
    if (!failure_only)
        for (i = 0; i < n; i++)
            if (sk_result_is_success(hard[i]))
                succ[ns++] = i;
    sk_pyrandom_seed(&rng, batch_seed);
    sk_pyrandom_shuffle(&rng, fail, nf, sizeof(*fail));
    sk_pyrandom_seed(&rng, batch_seed + 1);
    sk_pyrandom_shuffle(&rng, succ, ns, sizeof(*succ));
    cut_groups(groups, &ng, fail, nf, minibatch_size, SK_MB_FAIL);
    cut_groups(groups, &ng, succ, ns, minibatch_size, SK_MB_SUCC);
    out->groups = groups;
    out->n_groups = ng;
    out->n_fail = nf;
    out->n_succ = ns;
    out->pool = pool;
    groups = NULL;
    pool = NULL;
out:
    sk_free(groups);
    sk_free(pool);
    return rc;
}
