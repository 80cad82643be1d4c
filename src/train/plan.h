/*
 * plan.h - epoch batch planning of the training loop (algorithm.md 1.1
 * step 5, 1.3, 1.4): how many steps and batches an epoch has, which train
 * items each batch holds, and the seed each batch carries.
 *
 * Items are referred to by their index in the train split.  A plan owns its
 * arrays (release with sk_epoch_plan_release).  Every shuffle is CPython's
 * random.Random (util/pyrandom.h), so a seed gives the reference's batches.
 */
#ifndef SK_PLAN_H
#define SK_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sk_plan_dims {
    long steps_per_epoch;   /* ceil(train_size / (batch_size*accumulation)) */
    long batches_per_epoch; /* steps_per_epoch * accumulation */
    long total_steps;       /* num_epochs * steps_per_epoch */
};

struct sk_plan_batch {
    int64_t seed;  /* seed + 1000*epoch + b + 1 (drives the minibatch split) */
    size_t *items; /* train indices, points into the plan's pool */
    size_t n;      /* items in this batch (the last chunk may be short) */
    int refilled;  /* 1 if the chunk was empty and refilled (1.3) */
};

struct sk_epoch_plan {
    long epoch;                    /* 1-based epoch this plan is for */
    struct sk_plan_batch *batches; /* batches_per_epoch entries */
    size_t n_batches;
    size_t *pool; /* storage behind every batch's items */
};

/*
 * Computes the epoch dimensions.  train_size, batch_size and accumulation
 * must be > 0 and num_epochs >= 0; anything else (or a product that
 * overflows a long) is SK_EINVAL with a message in err.
 */
int sk_plan_dims(long train_size, long batch_size, long accumulation,
                 long num_epochs, struct sk_plan_dims *out,
                 struct sk_error *err);

void sk_epoch_plan_init(struct sk_epoch_plan *p);
void sk_epoch_plan_release(struct sk_epoch_plan *p);

/*
 * Plans epoch `epoch` (1-based) over n_train items as the reference's split
 * loader does: the indices 0..n_train-1 are shuffled with Random(seed +
 * 1000*epoch) and cut into consecutive chunks of batch_size; batch b gets
 * seed + 1000*epoch + b + 1.  A chunk that comes out empty (possible with
 * accumulation > 1) is refilled with the first batch_size items of the
 * *epoch-shuffled* order shuffled again with the batch seed.  With
 * n_train == 0 every batch is empty.  batches_per_epoch <= 0 gives an empty
 * plan.  Replaces out's contents.  SK_EINVAL for batch_size <= 0, an epoch
 * < 1 or a seed that would overflow; SK_ENOMEM leaves out empty.
 */
int sk_plan_epoch(size_t n_train, long batch_size, long batches_per_epoch,
                  int64_t seed, long epoch, struct sk_epoch_plan *out,
                  struct sk_error *err);

/*
 * Batch a (0 <= a < accumulation) of step step_in_epoch (0-based), i.e.
 * batch index step_in_epoch*accumulation + a; NULL when out of range.
 * Borrowed from p.
 */
const struct sk_plan_batch *sk_plan_step_batch(const struct sk_epoch_plan *p,
                                               long step_in_epoch,
                                               long accumulation, long a);

/*
 * Number of leading items (file order, no shuffle) an evaluation on a split
 * of n_items uses for sel_env_num / test_env_num = env_num (1.5): all of
 * them for 0 or env_num >= n_items, else the first env_num.  A negative
 * env_num behaves like the reference's items[:env_num] slice (drops the
 * last |env_num| items, at least 0 left).  Cannot fail.
 */
size_t sk_plan_eval_count(size_t n_items, long env_num);

#endif /* SK_PLAN_H */
