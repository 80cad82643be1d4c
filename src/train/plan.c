/*
 * plan.c - epoch batch planning (algorithm.md 1.3).  Pure arithmetic over
 * item indices plus CPython-compatible shuffles; no I/O.
 */
#include "common.h"

#include "train/plan.h"

#include <limits.h>
#include <string.h>

#include "util/alloc.h"
#include "util/pyrandom.h"

int sk_plan_dims(long train_size, long batch_size, long accumulation,
                 long num_epochs, struct sk_plan_dims *out,
                 struct sk_error *err)
{
    long per_step, steps, batches, total;

    if (train_size <= 0 || batch_size <= 0 || accumulation <= 0 ||
        num_epochs < 0)
        return sk_error_set(err, SK_EINVAL,
                            "plan: train_size %ld, batch_size %ld and "
                            "accumulation %ld must be > 0, num_epochs %ld "
                            ">= 0",
                            train_size, batch_size, accumulation, num_epochs);
    if (__builtin_mul_overflow(batch_size, accumulation, &per_step))
        return sk_error_set(err, SK_EINVAL,
                            "plan: batch_size * accumulation overflows");
    steps = train_size / per_step + (train_size % per_step != 0);
    if (__builtin_mul_overflow(steps, accumulation, &batches) ||
        __builtin_mul_overflow(steps, num_epochs, &total))
        return sk_error_set(err, SK_EINVAL, "plan: step count overflows");
    out->steps_per_epoch = steps;
    out->batches_per_epoch = batches;
    out->total_steps = total;
    return SK_OK;
}

void sk_epoch_plan_init(struct sk_epoch_plan *p)
{
    memset(p, 0, sizeof(*p));
}

void sk_epoch_plan_release(struct sk_epoch_plan *p)
{
    sk_free(p->batches);
    sk_free(p->pool);
    sk_epoch_plan_init(p);
}

int sk_plan_epoch(size_t n_train, long batch_size, long batches_per_epoch,
                  int64_t seed, long epoch, struct sk_epoch_plan *out,
                  struct sk_error *err)
{
    struct sk_pyrandom rng;
    struct sk_plan_batch *batches = NULL;
    size_t *order = NULL, *pool = NULL, *scratch = NULL;
    size_t nb, bs, cursor = 0, used = 0, b, cap;
    int64_t epoch_seed, last_seed;
    int rc = SK_OK;

    sk_epoch_plan_release(out);
    if (batch_size <= 0 || epoch < 1)
        return sk_error_set(err, SK_EINVAL,
                            "plan: batch_size %ld and epoch %ld must be > 0",
                            batch_size, epoch);
    out->epoch = epoch;
    if (batches_per_epoch <= 0)
        return SK_OK;
    if (__builtin_mul_overflow((int64_t)epoch, (int64_t)1000, &epoch_seed) ||
        __builtin_add_overflow(epoch_seed, seed, &epoch_seed) ||
        __builtin_add_overflow(epoch_seed, (int64_t)batches_per_epoch,
                               &last_seed))
        return sk_error_set(err, SK_EINVAL, "plan: batch seed overflows");
    (void)last_seed;
    nb = (size_t)batches_per_epoch;
    bs = (size_t)batch_size;
    /* Every item lands once, plus at most bs per refilled batch. */
    if (__builtin_mul_overflow(nb, bs < n_train ? bs : n_train, &cap) ||
        __builtin_add_overflow(cap, n_train, &cap) ||
        cap > SIZE_MAX / sizeof(size_t))
        return sk_error_set(err, SK_EINVAL, "plan: plan too large");

    batches = sk_calloc(nb, sizeof(*batches));
    order = sk_calloc(n_train ? n_train : 1, sizeof(*order));
    scratch = sk_calloc(n_train ? n_train : 1, sizeof(*scratch));
    pool = sk_calloc(cap ? cap : 1, sizeof(*pool));
    if (!batches || !order || !scratch || !pool) {
        rc = sk_error_set(err, SK_ENOMEM, "plan: out of memory");
        goto out;
    }
    for (b = 0; b < n_train; b++)
        order[b] = b;
    sk_pyrandom_seed(&rng, epoch_seed);
    sk_pyrandom_shuffle(&rng, order, n_train, sizeof(*order));

    for (b = 0; b < nb; b++) {
        struct sk_plan_batch *pb = &batches[b];
        size_t take = n_train - cursor < bs ? n_train - cursor : bs;

        pb->seed = epoch_seed + (int64_t)b + 1;
        pb->items = pool + used;
        if (take > 0) {
            memcpy(pb->items, order + cursor, take * sizeof(*order));
            cursor += take;
        } else if (n_train > 0) {
            /* The reference reshuffles its epoch-shuffled list. */
            memcpy(scratch, order, n_train * sizeof(*order));
            sk_pyrandom_seed(&rng, pb->seed);
            sk_pyrandom_shuffle(&rng, scratch, n_train, sizeof(*scratch));
            take = bs < n_train ? bs : n_train;
            memcpy(pb->items, scratch, take * sizeof(*scratch));
            pb->refilled = 1;
        }
        pb->n = take;
        used += take;
    }
    out->batches = batches;
    out->n_batches = nb;
    out->pool = pool;
    batches = NULL;
    pool = NULL;
out:
    sk_free(batches);
    sk_free(pool);
    sk_free(order);
    sk_free(scratch);
    return rc;
}

const struct sk_plan_batch *sk_plan_step_batch(const struct sk_epoch_plan *p,
                                               long step_in_epoch,
                                               long accumulation, long a)
{
    long idx;

    if (step_in_epoch < 0 || accumulation <= 0 || a < 0 || a >= accumulation)
        return NULL;
    if (__builtin_mul_overflow(step_in_epoch, accumulation, &idx) ||
        __builtin_add_overflow(idx, a, &idx))
        return NULL;
    if ((unsigned long)idx >= p->n_batches)
        return NULL;
    return &p->batches[idx];
}

size_t sk_plan_eval_count(size_t n_items, long env_num)
{
    unsigned long drop;

    if (env_num == 0)
        return n_items;
    if (env_num > 0)
        return (unsigned long)env_num < n_items ? (size_t)env_num : n_items;
    drop = env_num == LONG_MIN ? (unsigned long)LONG_MAX + 1
                               : (unsigned long)-env_num;
    return drop < n_items ? n_items - drop : 0;
}
