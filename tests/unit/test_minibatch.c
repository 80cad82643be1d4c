/*
 * test_minibatch.c - failure/success split into reflection minibatches
 * (algorithm.md 2.4, 3.1).  Parity vectors: tests/fixtures/minibatch/
 * vectors.json, produced by gen.py there from the reference's rules.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "train/minibatch.h"
#include "util/alloc.h"

static void test_minibatch__reference_vectors(void **state)
{
    char *path = tu_source_path("tests/fixtures/minibatch/vectors.json");
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    size_t ci;
    (void)state;
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    assert_true(json_array_size(v) >= 10);
    for (ci = 0; ci < json_array_size(v); ci++) {
        const json_t *c = json_array_get(v, ci);
        const json_t *jh = json_object_get(c, "hard");
        const json_t *wg = json_object_get(c, "groups");
        size_t n = json_array_size(jh), i, g;
        double *hard = sk_calloc(n + 1, sizeof(*hard));
        struct sk_minibatch_plan p;

        assert_non_null(hard);
        for (i = 0; i < n; i++)
            hard[i] = json_number_value(json_array_get(jh, i));
        sk_minibatch_plan_init(&p);
        assert_int_equal(
            sk_minibatch_split(
                hard, n, json_integer_value(json_object_get(c, "seed")),
                (size_t)json_integer_value(
                    json_object_get(c, "minibatch_size")),
                json_is_true(json_object_get(c, "failure_only")), &p, NULL),
            SK_OK);
        assert_int_equal(p.n_fail,
                         json_integer_value(json_object_get(c, "n_fail")));
        assert_int_equal(p.n_succ,
                         json_integer_value(json_object_get(c, "n_succ")));
        assert_int_equal(p.n_groups, json_array_size(wg));
        for (g = 0; g < p.n_groups; g++) {
            const json_t *w = json_array_get(wg, g);
            const json_t *wi = json_object_get(w, "items");
            assert_string_equal(p.groups[g].tag,
                                json_string_value(json_object_get(w, "tag")));
            assert_int_equal(p.groups[g].kind, strstr(p.groups[g].tag, "fail")
                                                   ? SK_MB_FAIL
                                                   : SK_MB_SUCC);
            assert_int_equal(p.groups[g].n, json_array_size(wi));
            for (i = 0; i < p.groups[g].n; i++)
                if ((json_int_t)p.groups[g].items[i] !=
                    json_integer_value(json_array_get(wi, i)))
                    fail_msg("case %zu group %zu item %zu differs", ci, g, i);
        }
        sk_minibatch_plan_release(&p);
        sk_free(hard);
    }
    json_decref(v);
}

static void test_minibatch__predicates(void **state)
{
    static const struct {
        double hard;
        int fail, succ;
    } cases[] = {
        {0.0, 1, 0},   {1.0, 0, 1},   {0.5, 0, 1},  {1e-9, 0, 1},
        {5e-10, 1, 1}, {-0.25, 1, 1}, {-0.0, 1, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        assert_int_equal(sk_result_is_failure(cases[i].hard), cases[i].fail);
        assert_int_equal(sk_result_is_success(cases[i].hard), cases[i].succ);
    }
    assert_int_equal(sk_result_is_failure(NAN), 0);
    assert_int_equal(sk_result_is_success(NAN), 1);
}

static void test_minibatch__hard_from_json(void **state)
{
    static const struct {
        const char *json;
        double want;
    } cases[] = {
        {"{\"hard\": 1}", 1.0},
        {"{\"hard\": 0.25}", 0.25},
        {"{\"hard\": true}", 1.0},
        {"{\"hard\": false}", 0.0},
        {"{\"hard\": null}", 0.0},
        {"{}", 0.0},
        {"{\"hard\": \"\"}", 0.0},
        {"{\"hard\": \"0.5\"}", 0.5},
        {"{\"hard\": \"0\"}", 0.0},
        {"{\"hard\": \"yes\"}", 1.0},
        {"{\"hard\": []}", 0.0},
        {"{\"hard\": [0]}", 1.0},
        {"[1]", 0.0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        if (sk_result_hard(j) != cases[i].want)
            fail_msg("%s: got %g", cases[i].json, sk_result_hard(j));
        json_decref(j);
    }
}

static void test_minibatch__failure_only_and_errors(void **state)
{
    const double hard[] = {1.0, 0.0, 1.0, 0.0, 0.0};
    struct sk_minibatch_plan p;
    struct sk_error err;
    (void)state;
    sk_minibatch_plan_init(&p);
    assert_int_equal(sk_minibatch_split(hard, 5, 9, 2, 1, &p, NULL), SK_OK);
    assert_int_equal(p.n_fail, 3);
    assert_int_equal(p.n_succ, 0);
    assert_int_equal(p.n_groups, 2);
    assert_string_equal(p.groups[1].tag, "minibatch_fail_001");
    assert_int_equal(p.groups[1].n, 1);
    assert_int_equal(sk_minibatch_split(hard, 5, 9, 0, 0, &p, &err), SK_EINVAL);
    assert_null(p.groups);
    assert_int_equal(sk_minibatch_split(hard, 5, INT64_MAX, 2, 0, &p, NULL),
                     SK_EINVAL);
    /* Tags widen past 999 like Python's {:03d}. */
    {
        double *many = sk_calloc(1001, sizeof(*many));
        assert_non_null(many);
        assert_int_equal(sk_minibatch_split(many, 1001, 1, 1, 0, &p, NULL),
                         SK_OK);
        assert_int_equal(p.n_groups, 1001);
        assert_string_equal(p.groups[1000].tag, "minibatch_fail_1000");
        sk_free(many);
    }
    sk_minibatch_plan_release(&p);
}

static int sweep_body(void *ctx)
{
    const double hard[] = {1.0, 0.0, 1.0, 0.0, 0.0, 5e-10};
    struct sk_minibatch_plan p;
    int rc;
    (void)ctx;
    sk_minibatch_plan_init(&p);
    rc = sk_minibatch_split(hard, 6, 3, 2, 0, &p, NULL);
    sk_minibatch_plan_release(&p);
    return rc;
}

static void test_minibatch__alloc_failures(void **state)
{
    (void)state;
    assert_true(tu_alloc_sweep(sweep_body, NULL) >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minibatch__reference_vectors),
        cmocka_unit_test(test_minibatch__predicates),
        cmocka_unit_test(test_minibatch__hard_from_json),
        cmocka_unit_test(test_minibatch__failure_only_and_errors),
        cmocka_unit_test(test_minibatch__alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
