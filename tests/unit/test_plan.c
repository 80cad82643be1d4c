/*
 * test_plan.c - epoch batch planning (algorithm.md 1.3).  Parity vectors:
 * tests/fixtures/plan/vectors.json, produced by tests/fixtures/plan/gen.py
 * replicating the reference's planner with CPython's random.Random.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "train/plan.h"
#include "util/alloc.h"

static json_t *load_vectors(void)
{
    char *path = tu_source_path("tests/fixtures/plan/vectors.json");
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    assert_true(json_is_array(v));
    assert_true(json_array_size(v) >= 8);
    return v;
}

static void check_epoch(const json_t *want, const struct sk_epoch_plan *p,
                        size_t ci, long e)
{
    size_t b, i;
    assert_int_equal(p->n_batches, json_array_size(want));
    for (b = 0; b < p->n_batches; b++) {
        const json_t *wb = json_array_get(want, b);
        const json_t *wi = json_object_get(wb, "items");
        const struct sk_plan_batch *pb = &p->batches[b];
        if (pb->seed != json_integer_value(json_object_get(wb, "seed")))
            fail_msg("case %zu epoch %ld batch %zu: seed %lld", ci, e, b,
                     (long long)pb->seed);
        assert_int_equal(pb->refilled,
                         json_is_true(json_object_get(wb, "refilled")));
        if (pb->n != json_array_size(wi))
            fail_msg("case %zu epoch %ld batch %zu: %zu items want %zu", ci, e,
                     b, pb->n, json_array_size(wi));
        for (i = 0; i < pb->n; i++)
            if ((json_int_t)pb->items[i] !=
                json_integer_value(json_array_get(wi, i)))
                fail_msg("case %zu epoch %ld batch %zu item %zu differs", ci, e,
                         b, i);
    }
}

static void test_plan__reference_vectors(void **state)
{
    json_t *v = load_vectors();
    size_t ci;
    (void)state;
    for (ci = 0; ci < json_array_size(v); ci++) {
        const json_t *c = json_array_get(v, ci);
        long n = (long)json_integer_value(json_object_get(c, "n"));
        long bs = (long)json_integer_value(json_object_get(c, "batch_size"));
        long acc = (long)json_integer_value(json_object_get(c, "accumulation"));
        long epochs =
            (long)json_integer_value(json_object_get(c, "num_epochs"));
        int64_t seed = json_integer_value(json_object_get(c, "seed"));
        const json_t *we = json_object_get(c, "epochs");
        struct sk_plan_dims d;
        struct sk_epoch_plan p;
        long e;

        assert_int_equal(sk_plan_dims(n, bs, acc, epochs, &d, NULL), SK_OK);
        assert_int_equal(d.steps_per_epoch, json_integer_value(json_object_get(
                                                c, "steps_per_epoch")));
        assert_int_equal(
            d.batches_per_epoch,
            json_integer_value(json_object_get(c, "batches_per_epoch")));
        assert_int_equal(d.total_steps,
                         json_integer_value(json_object_get(c, "total_steps")));
        sk_epoch_plan_init(&p);
        for (e = 1; e <= epochs; e++) {
            assert_int_equal(sk_plan_epoch((size_t)n, bs, d.batches_per_epoch,
                                           seed, e, &p, NULL),
                             SK_OK);
            assert_int_equal(p.epoch, e);
            check_epoch(json_array_get(we, (size_t)(e - 1)), &p, ci, e);
        }
        sk_epoch_plan_release(&p);
    }
    json_decref(v);
}

static void test_plan__step_batches(void **state)
{
    struct sk_epoch_plan p;
    struct sk_plan_dims d;
    (void)state;
    /* 5 items, 2 per batch, 2 batches per step: 2 steps, 4 batches. */
    assert_int_equal(sk_plan_dims(5, 2, 2, 3, &d, NULL), SK_OK);
    sk_epoch_plan_init(&p);
    assert_int_equal(sk_plan_epoch(5, 2, d.batches_per_epoch, 7, 1, &p, NULL),
                     SK_OK);
    assert_ptr_equal(sk_plan_step_batch(&p, 0, 2, 0), &p.batches[0]);
    assert_ptr_equal(sk_plan_step_batch(&p, 0, 2, 1), &p.batches[1]);
    assert_ptr_equal(sk_plan_step_batch(&p, 1, 2, 0), &p.batches[2]);
    assert_ptr_equal(sk_plan_step_batch(&p, 1, 2, 1), &p.batches[3]);
    assert_null(sk_plan_step_batch(&p, 2, 2, 0));
    assert_null(sk_plan_step_batch(&p, 0, 2, 2));
    assert_null(sk_plan_step_batch(&p, -1, 2, 0));
    /* The chunks partition the items; the fourth is a refill. */
    assert_int_equal(p.batches[2].n, 1);
    assert_int_equal(p.batches[3].refilled, 1);
    assert_int_equal(p.batches[3].n, 2);
    assert_int_equal(p.batches[0].seed, 7 + 1000 + 1);
    assert_int_equal(p.batches[3].seed, 7 + 1000 + 4);
    sk_epoch_plan_release(&p);
}

static void test_plan__bad_arguments(void **state)
{
    struct sk_plan_dims d;
    struct sk_epoch_plan p;
    struct sk_error err;
    (void)state;
    assert_int_equal(sk_plan_dims(0, 2, 1, 1, &d, &err), SK_EINVAL);
    assert_non_null(strstr(err.msg, "train_size"));
    assert_int_equal(sk_plan_dims(4, 0, 1, 1, &d, NULL), SK_EINVAL);
    assert_int_equal(sk_plan_dims(4, 2, 0, 1, &d, NULL), SK_EINVAL);
    assert_int_equal(sk_plan_dims(4, 2, 1, -1, &d, NULL), SK_EINVAL);
    assert_int_equal(sk_plan_dims(4, 2, 1, 0, &d, NULL), SK_OK);
    assert_int_equal(d.total_steps, 0);
    assert_int_equal(sk_plan_dims(4, 2, 1, 0, &d, NULL), SK_OK);
    sk_epoch_plan_init(&p);
    assert_int_equal(sk_plan_epoch(4, 0, 2, 1, 1, &p, NULL), SK_EINVAL);
    assert_int_equal(sk_plan_epoch(4, 2, 2, 1, 0, &p, NULL), SK_EINVAL);
    assert_int_equal(sk_plan_epoch(4, 2, 2, INT64_MAX - 10, 1, &p, NULL),
                     SK_EINVAL);
    /* No items: every batch is empty, none refilled. */
    assert_int_equal(sk_plan_epoch(0, 2, 3, 1, 1, &p, NULL), SK_OK);
    assert_int_equal(p.n_batches, 3);
    assert_int_equal(p.batches[2].n, 0);
    assert_int_equal(p.batches[2].refilled, 0);
    sk_epoch_plan_release(&p);
}

static void test_plan__eval_count(void **state)
{
    /* Python: items[:n] when n and n < len(items), else all. */
    static const struct {
        size_t n_items;
        long env_num;
        size_t want;
    } cases[] = {
        {10, 0, 10},  {10, 3, 3},   {10, 10, 10}, {10, 50, 10},     {10, -3, 7},
        {10, -10, 0}, {10, -11, 0}, {0, 5, 0},    {4, LONG_MIN, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++)
        assert_int_equal(sk_plan_eval_count(cases[i].n_items, cases[i].env_num),
                         cases[i].want);
}

static int sweep_body(void *ctx)
{
    struct sk_epoch_plan p;
    int rc;
    (void)ctx;
    sk_epoch_plan_init(&p);
    rc = sk_plan_epoch(3, 2, 6, 1, 2, &p, NULL);
    sk_epoch_plan_release(&p);
    return rc;
}

static void test_plan__alloc_failures(void **state)
{
    (void)state;
    assert_true(tu_alloc_sweep(sweep_body, NULL) >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan__reference_vectors),
        cmocka_unit_test(test_plan__step_batches),
        cmocka_unit_test(test_plan__bad_arguments),
        cmocka_unit_test(test_plan__eval_count),
        cmocka_unit_test(test_plan__alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
