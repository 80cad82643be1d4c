/*
 * test_schedule.c - edit-budget schedules (4.2) and mode alias tables.
 * Parity vectors: tests/fixtures/schedule/vectors.json, produced by the
 * Python reference (tests/fixtures/edit/gen_vectors.py).
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fenv.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "train/schedule.h"
#include "util/alloc.h"

struct run_case {
    enum sk_lr_scheduler kind;
    long max_lr, min_lr, total;
    long want[10];
    size_t n;
};

static void check_run(const struct run_case *c)
{
    struct sk_schedule s;
    size_t i;
    sk_schedule_init(&s, c->kind, c->max_lr, c->min_lr, c->total);
    for (i = 0; i < c->n; i++) {
        long got = sk_schedule_step(&s);
        if (got != c->want[i])
            fail_msg("%s(%ld,%ld,T=%ld) step %zu: got %ld want %ld",
                     sk_lr_scheduler_name(c->kind), c->max_lr, c->min_lr,
                     c->total, i + 1, got, c->want[i]);
    }
    assert_int_equal(s.current_step, (long)c->n);
}

static void test_schedule__spec_vectors(void **state)
{
    static const struct run_case cases[] = {
        {SK_LR_SCHED_LINEAR, 10, 2, 4, {8, 6, 4, 2, 2, 2}, 6},
        {SK_LR_SCHED_LINEAR, 4, 2, 4, {4, 3, 2, 2, 2}, 5},
        {SK_LR_SCHED_COSINE, 10, 2, 4, {9, 6, 3, 2, 2}, 5},
        {SK_LR_SCHED_COSINE, 100, 0, 4, {85}, 1},
        {SK_LR_SCHED_CONSTANT, 7, 2, 4, {7, 7, 7, 7, 7}, 5},
        {SK_LR_SCHED_AUTONOMOUS, 7, 2, 4, {999, 999, 999}, 3},
        /* T <= 1: max_lr for ever. */
        {SK_LR_SCHED_LINEAR, 7, 3, 1, {7, 7, 7}, 3},
        {SK_LR_SCHED_COSINE, 7, 3, 0, {7, 7}, 2},
        /* Half to even: 2.5 -> 2, 7.5 -> 8 (Python round, not C round). */
        {SK_LR_SCHED_LINEAR, 5, 0, 2, {2, 0, 0}, 3},
        {SK_LR_SCHED_LINEAR, 15, 0, 2, {8, 0}, 2},
        {SK_LR_SCHED_LINEAR, 9, 0, 6, {8, 6, 4, 3, 2, 0}, 6},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++)
        check_run(&cases[i]);
}

static void test_schedule__shipped_default_cosine(void **state)
{
    struct sk_schedule s;
    long counts[5] = {0};
    int i;
    (void)state;
    sk_schedule_init(&s, SK_LR_SCHED_COSINE, 4, 2, 40);
    for (i = 0; i < 40; i++) {
        long lr = sk_schedule_step(&s);
        assert_true(lr >= 2 && lr <= 4);
        counts[lr]++;
    }
    assert_int_equal(counts[4], 13);
    assert_int_equal(counts[3], 13);
    assert_int_equal(counts[2], 14);
    /* Beyond T it stays at min_lr. */
    assert_int_equal(sk_schedule_step(&s), 2);
    assert_int_equal(sk_schedule_lr(&s, 1000), 2);
}

static void test_schedule__rounding_mode_independent(void **state)
{
    struct sk_schedule s;
    (void)state;
    sk_schedule_init(&s, SK_LR_SCHED_LINEAR, 4, 2, 4);
    assert_int_equal(fesetround(FE_UPWARD), 0);
    /* 2.5 must still round to 2 and 3.5 to 4. */
    assert_int_equal(sk_schedule_lr(&s, 1), 4);
    assert_int_equal(sk_schedule_lr(&s, 3), 2);
    assert_int_equal(fegetround(), FE_UPWARD);
    fesetround(FE_TONEAREST);
}

static void test_schedule__reference_vectors(void **state)
{
    char *path = tu_source_path("tests/fixtures/schedule/vectors.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *c;
    size_t i, j;
    (void)state;
    if (!root)
        fail_msg("%s: %s", path, jerr.text);
    assert_true(json_array_size(root) > 40);
    json_array_foreach(root, i, c)
    {
        enum sk_lr_scheduler kind;
        struct sk_schedule s;
        json_t *lrs = json_object_get(c, "lrs"), *v;
        assert_int_equal(
            sk_lr_scheduler_parse(json_string_value(json_object_get(c, "kind")),
                                  &kind),
            SK_OK);
        sk_schedule_init(&s, kind,
                         (long)json_integer_value(json_object_get(c, "max")),
                         (long)json_integer_value(json_object_get(c, "min")),
                         (long)json_integer_value(json_object_get(c, "T")));
        json_array_foreach(lrs, j, v)
        {
            long got = sk_schedule_step(&s);
            if (got != (long)json_integer_value(v))
                fail_msg("case %zu step %zu: got %ld want %lld", i, j + 1, got,
                         (long long)json_integer_value(v));
        }
    }
    json_decref(root);
    sk_free(path);
}

static void test_schedule__scheduler_names(void **state)
{
    static const char *ok[] = {"constant", "linear", "cosine", "autonomous"};
    static const char *bad[] = {"Cosine", " linear", "exp", "", "step"};
    enum sk_lr_scheduler v = SK_LR_SCHED_LINEAR;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(ok); i++) {
        assert_int_equal(sk_lr_scheduler_parse(ok[i], &v), SK_OK);
        assert_string_equal(sk_lr_scheduler_name(v), ok[i]);
    }
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        v = SK_LR_SCHED_LINEAR;
        assert_int_equal(sk_lr_scheduler_parse(bad[i], &v), SK_ECONFIG);
        assert_int_equal(v, SK_LR_SCHED_LINEAR);
    }
    assert_int_equal(sk_lr_scheduler_parse(NULL, &v), SK_ECONFIG);
}

struct alias_case {
    const char *in; /* NULL = absent */
    int rc;
    const char *canon;
};

static void test_schedule__lr_control_mode(void **state)
{
    static const struct alias_case cases[] = {
        {"fixed", SK_OK, "fixed"},
        {"manual", SK_OK, "fixed"},
        {"scheduler", SK_OK, "fixed"},
        {" Scheduled\n", SK_OK, "fixed"},
        {"autonomous", SK_OK, "autonomous"},
        {"AUTO", SK_OK, "autonomous"},
        {"optimizer", SK_OK, "autonomous"},
        {"none", SK_OK, "none"},
        {"off", SK_OK, "none"},
        {"no_lr", SK_OK, "none"},
        {NULL, SK_OK, "fixed"},
        {"", SK_OK, "fixed"},
        {"   ", SK_ECONFIG, NULL},
        {"cosine", SK_ECONFIG, NULL},
        {"no-lr", SK_ECONFIG, NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        enum sk_lr_control_mode v = SK_LR_CONTROL_NONE;
        int rc = sk_lr_control_mode_parse(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("lr_control_mode '%s': rc %d", cases[i].in, rc);
        if (cases[i].canon)
            assert_string_equal(sk_lr_control_mode_name(v), cases[i].canon);
    }
}

static void test_schedule__skill_update_mode(void **state)
{
    static const struct alias_case cases[] = {
        {"patch", SK_OK, "patch"},
        {"edits", SK_OK, "patch"},
        {"rewrite", SK_OK, "rewrite_from_suggestions"},
        {"rewrite_from_suggestions", SK_OK, "rewrite_from_suggestions"},
        {"Suggestions", SK_OK, "rewrite_from_suggestions"},
        {"rewrite_suggestions", SK_OK, "rewrite_from_suggestions"},
        {"full_rewrite", SK_OK, "full_rewrite_minibatch"},
        {"full_rewrite_minibatch", SK_OK, "full_rewrite_minibatch"},
        {"\tminibatch_full_rewrite ", SK_OK, "full_rewrite_minibatch"},
        {"skill_rewrite_minibatch", SK_OK, "full_rewrite_minibatch"},
        {NULL, SK_OK, "patch"},
        /* The reference silently falls back to patch; we refuse. */
        {"patches", SK_ECONFIG, NULL},
        {"full-rewrite", SK_ECONFIG, NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        enum sk_skill_update_mode v = SK_UPDATE_FULL_REWRITE_MINIBATCH;
        int rc = sk_skill_update_mode_parse(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("skill_update_mode '%s': rc %d", cases[i].in, rc);
        if (cases[i].canon)
            assert_string_equal(sk_skill_update_mode_name(v), cases[i].canon);
    }
}

static void test_schedule__pair_policy(void **state)
{
    static const struct alias_case cases[] = {
        {"mixed", SK_OK, "mixed"},      {"default", SK_OK, "mixed"},
        {"random", SK_OK, "mixed"},     {"ALL", SK_OK, "mixed"},
        {"changed", SK_OK, "changed"},  {"change", SK_OK, "changed"},
        {"delta", SK_OK, "changed"},    {"10_01", SK_OK, "changed"},
        {"01_10", SK_OK, "changed"},    {"unchanged", SK_OK, "unchanged"},
        {"stable", SK_OK, "unchanged"}, {"same", SK_OK, "unchanged"},
        {"00_11", SK_OK, "unchanged"},  {NULL, SK_OK, "mixed"},
        {"11_00", SK_ECONFIG, NULL},    {"mixed!", SK_ECONFIG, NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        enum sk_pair_policy v = SK_PAIR_UNCHANGED;
        int rc = sk_longitudinal_pair_policy_parse(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("pair policy '%s': rc %d", cases[i].in, rc);
        if (cases[i].canon)
            assert_string_equal(sk_longitudinal_pair_policy_name(v),
                                cases[i].canon);
    }
}

static void test_schedule__long_input_rejected(void **state)
{
    char big[200];
    enum sk_lr_control_mode v;
    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sk_lr_control_mode_parse(big, &v), SK_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule__spec_vectors),
        cmocka_unit_test(test_schedule__shipped_default_cosine),
        cmocka_unit_test(test_schedule__rounding_mode_independent),
        cmocka_unit_test(test_schedule__reference_vectors),
        cmocka_unit_test(test_schedule__scheduler_names),
        cmocka_unit_test(test_schedule__lr_control_mode),
        cmocka_unit_test(test_schedule__skill_update_mode),
        cmocka_unit_test(test_schedule__pair_policy),
        cmocka_unit_test(test_schedule__long_input_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
