/*
 * test_gate.c - validation gate (algorithm.md 6.1-6.3).  Density parity
 * vectors: tests/fixtures/gate/density.json, produced by gen.py there.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "train/gate.h"
#include "util/alloc.h"

static void test_gate__density_vectors(void **state)
{
    char *path = tu_source_path("tests/fixtures/gate/density.json");
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    size_t ci, nonzero = 0;
    (void)state;
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    assert_true(json_array_size(v) >= 400);
    for (ci = 0; ci < json_array_size(v); ci++) {
        const json_t *c = json_array_get(v, ci);
        const json_t *t = json_object_get(c, "text");
        const json_t *jw = json_object_get(c, "words");
        const char *words[8];
        size_t nw = json_array_size(jw), i;
        double want = json_number_value(json_object_get(c, "density"));
        double got = -1.0;

        assert_true(nw <= SK_ARRAY_LEN(words));
        for (i = 0; i < nw; i++)
            words[i] = json_string_value(json_array_get(jw, i));
        assert_int_equal(
            sk_gate_density(json_string_value(t), json_string_length(t),
                            json_is_null(jw) ? NULL : words, nw, &got),
            SK_OK);
        if (got != want)
            fail_msg("row %zu: got %.17g want %.17g for \"%s\"", ci, got, want,
                     json_string_value(t));
        nonzero += want > 0.0;
    }
    assert_true(nonzero >= 20);
    json_decref(v);
}

static void test_gate__score_projection(void **state)
{
    static const struct {
        enum sk_gate_metric m;
        double w, hard, soft, want;
    } cases[] = {
        {SK_GATE_HARD, 0.5, 0.25, 0.75, 0.25},
        {SK_GATE_SOFT, 0.5, 0.25, 0.75, 0.75},
        {SK_GATE_MIXED, 0.5, 0.25, 0.75, 0.5},
        {SK_GATE_MIXED, 0.25, 1.0, 0.0, 0.75},
        {SK_GATE_MIXED, 7.0, 1.0, 0.0, 0.0},  /* clamped to 1 */
        {SK_GATE_MIXED, -3.0, 1.0, 0.0, 1.0}, /* clamped to 0 */
    };
    struct sk_gate_opts o;
    size_t i;
    double got;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_gate_opts_init(&o);
        o.metric = cases[i].m;
        o.mixed_weight = cases[i].w;
        assert_int_equal(
            sk_gate_score(&o, cases[i].hard, cases[i].soft, "MUST", 4, &got),
            SK_OK);
        if (got != cases[i].want)
            fail_msg("case %zu: got %g want %g", i, got, cases[i].want);
    }
    /* Density bonus: 1 of 4 tokens is a leading word. */
    sk_gate_opts_init(&o);
    o.use_density = 1;
    o.density_weight = 0.5;
    assert_int_equal(sk_gate_score(&o, 0.5, 0.0, "you must do it", 14, &got),
                     SK_OK);
    assert_true(got == 0.5 + 0.5 * 0.25);
}

static void test_gate__metric_names(void **state)
{
    enum sk_gate_metric m = SK_GATE_HARD;
    struct sk_error err;
    (void)state;
    assert_int_equal(sk_gate_metric_parse("mixed", &m, NULL), SK_OK);
    assert_int_equal(m, SK_GATE_MIXED);
    assert_string_equal(sk_gate_metric_name(m), "mixed");
    assert_int_equal(sk_gate_metric_parse("soft", &m, NULL), SK_OK);
    assert_int_equal(m, SK_GATE_SOFT);
    assert_int_equal(sk_gate_metric_parse("Hard", &m, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "Hard"));
    assert_int_equal(m, SK_GATE_SOFT);
}

static void test_gate__decisions(void **state)
{
    static const struct {
        double cur, best, c;
        int use_gate;
        enum sk_gate_action want;
        double want_cur, want_best;
        long want_best_step;
        const char *want_best_origin;
        int new_best;
    } cases[] = {
        /* strict improvement over both */
        {0.5, 0.5, 0.6, 1, SK_GATE_ACCEPT_NEW_BEST, 0.6, 0.6, 7, "step_0007",
         1},
        /* ties reject */
        {0.5, 0.5, 0.5, 1, SK_GATE_REJECT, 0.5, 0.5, 3, "step_0003", 0},
        {0.5, 0.5, 0.4, 1, SK_GATE_REJECT, 0.5, 0.5, 3, "step_0003", 0},
        /* above current, not above best: accept, best untouched */
        {0.4, 0.6, 0.5, 1, SK_GATE_ACCEPT, 0.5, 0.6, 3, "step_0003", 0},
        {0.4, 0.6, 0.6, 1, SK_GATE_ACCEPT, 0.6, 0.6, 3, "step_0003", 0},
        /* gate off: current takes c even when it drops */
        {0.5, 0.5, 0.2, 0, SK_GATE_FORCE_ACCEPT, 0.2, 0.5, 3, "step_0003", 0},
        {0.5, 0.5, 0.5, 0, SK_GATE_FORCE_ACCEPT, 0.5, 0.5, 3, "step_0003", 0},
        {0.5, 0.5, 0.9, 0, SK_GATE_FORCE_ACCEPT, 0.9, 0.9, 7, "step_0007", 1},
        /* baseline scores start at -1 */
        {-1.0, -1.0, 0.0, 1, SK_GATE_ACCEPT_NEW_BEST, 0.0, 0.0, 7, "step_0007",
         1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_gate_state s;
        int nb = -1;
        enum sk_gate_action a;

        sk_gate_state_init(&s);
        s.current_score = cases[i].cur;
        s.best_score = cases[i].best;
        s.best_step = 3;
        snprintf(s.current_origin, sizeof(s.current_origin), "step_0002");
        snprintf(s.best_origin, sizeof(s.best_origin), "step_0003");
        a = sk_gate_decide(&s, cases[i].c, 7, cases[i].use_gate, &nb);
        if (a != cases[i].want)
            fail_msg("case %zu: action %s want %s", i, sk_gate_action_name(a),
                     sk_gate_action_name(cases[i].want));
        assert_true(s.current_score == cases[i].want_cur);
        assert_true(s.best_score == cases[i].want_best);
        assert_int_equal(s.best_step, cases[i].want_best_step);
        assert_string_equal(s.best_origin, cases[i].want_best_origin);
        assert_string_equal(s.current_origin,
                            a == SK_GATE_REJECT ? "step_0002" : "step_0007");
        assert_int_equal(nb, cases[i].new_best);
    }
}

static void test_gate__state_init(void **state)
{
    struct sk_gate_state s;
    (void)state;
    sk_gate_state_init(&s);
    assert_true(s.current_score == -1.0 && s.best_score == -1.0);
    assert_int_equal(s.best_step, 0);
    assert_string_equal(s.current_origin, "initial_skill");
    assert_string_equal(s.best_origin, "initial_skill");
    assert_string_equal(sk_gate_action_name(SK_GATE_ACCEPT_NEW_BEST),
                        "accept_new_best");
    assert_string_equal(sk_gate_action_name(SK_GATE_FORCE_ACCEPT),
                        "force_accept");
}

static void test_gate__selection_cache(void **state)
{
    static const char history[] =
        "[{\"step\":1,\"candidate_hash\":\"aaaaaaaaaaaaaaaa\","
        "\"selection_hard\":0.5,\"selection_soft\":0.25},"
        "{\"step\":2,\"action\":\"skip_no_patches\"},"
        "{\"step\":3,\"candidate_hash\":\"\",\"selection_hard\":0.9},"
        "{\"step\":4,\"candidate_hash\":\"bbbbbbbbbbbbbbbb\","
        "\"selection_hard\":null,\"selection_soft\":0.1},"
        "{\"step\":5,\"candidate_hash\":\"cccccccccccccccc\","
        "\"selection_hard\":1,\"selection_soft\":null},"
        "{\"step\":6,\"candidate_hash\":\"aaaaaaaaaaaaaaaa\","
        "\"selection_hard\":0.75,\"selection_soft\":0.5},"
        "7, []]";
    json_t *h = json_loads(history, 0, NULL);
    struct sk_sel_cache c;
    double hard = -1, soft = -1;
    (void)state;
    assert_non_null(h);
    sk_sel_cache_init(&c);
    assert_int_equal(sk_sel_cache_put(&c, "zzzzzzzzzzzzzzzz", 1, 1), SK_OK);
    assert_int_equal(sk_sel_cache_rebuild(&c, h, NULL), SK_OK);
    assert_int_equal(c.len, 2);
    assert_int_equal(sk_sel_cache_get(&c, "zzzzzzzzzzzzzzzz", &hard, &soft), 0);
    assert_int_equal(sk_sel_cache_get(&c, "aaaaaaaaaaaaaaaa", &hard, &soft), 1);
    assert_true(hard == 0.75 && soft == 0.5);
    assert_int_equal(sk_sel_cache_get(&c, "cccccccccccccccc", &hard, &soft), 1);
    assert_true(hard == 1.0 && soft == 0.0);
    assert_int_equal(sk_sel_cache_get(&c, "bbbbbbbbbbbbbbbb", NULL, NULL), 0);
    assert_int_equal(sk_sel_cache_put(&c, "cccccccccccccccc", 0.1, 0.2), SK_OK);
    assert_int_equal(c.len, 2);
    assert_int_equal(sk_sel_cache_get(&c, "cccccccccccccccc", &hard, &soft), 1);
    assert_true(hard == 0.1 && soft == 0.2);
    json_decref(h);
    h = json_object();
    assert_int_equal(sk_sel_cache_rebuild(&c, h, NULL), SK_EINVAL);
    assert_int_equal(c.len, 0);
    json_decref(h);
    sk_sel_cache_release(&c);
}

static int sweep_density(void *ctx)
{
    static const char text[] =
        "MUST x <!-- SLOW_UPDATE_START --> a <!-- SLOW_UPDATE_END --> never "
        "<!-- APPENDIX_START --> b";
    double d;
    int rc;
    (void)ctx;
    rc = sk_gate_density(text, sizeof(text) - 1, NULL, 0, &d);
    if (rc == SK_OK && d != 2.0 / 4.0) /* must x never b */
        fail_msg("density %g", d);
    return rc;
}

static int sweep_cache(void *ctx)
{
    struct sk_sel_cache c;
    char key[17];
    int i, rc = SK_OK;
    (void)ctx;
    sk_sel_cache_init(&c);
    for (i = 0; i < 20 && rc == SK_OK; i++) {
        snprintf(key, sizeof(key), "%016d", i);
        rc = sk_sel_cache_put(&c, key, i, i);
    }
    sk_sel_cache_release(&c);
    return rc;
}

static void test_gate__alloc_failures(void **state)
{
    (void)state;
    assert_true(tu_alloc_sweep(sweep_density, NULL) >= 2);
    assert_true(tu_alloc_sweep(sweep_cache, NULL) >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate__density_vectors),
        cmocka_unit_test(test_gate__score_projection),
        cmocka_unit_test(test_gate__metric_names),
        cmocka_unit_test(test_gate__decisions),
        cmocka_unit_test(test_gate__state_init),
        cmocka_unit_test(test_gate__selection_cache),
        cmocka_unit_test(test_gate__alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
