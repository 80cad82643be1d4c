/*
 * test_userbench.c - benchmarks described in YAML: answer extraction per
 * mode, the scorers (em/f1/anls/choice against vectors the reference's
 * evaluators computed, numeric and contains against their documented
 * rules), the external scorer command (success, timeout, garbage), YAML
 * errors with file:line:col, prompt snapshots of the example benchmark,
 * scoring rows, and a rollout through the simulator with a responder that
 * answers some items right.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/benches.h"
#include "bench/userbench.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

/* ---- helpers ------------------------------------------------------------ */

static json_t *load_vectors(void)
{
    char *path = tu_source_path("tests/fixtures/userbench/vectors.json");
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

/* The strings of a JSON array as a new array of borrowed pointers. */
static const char **strs(const json_t *a, size_t *n)
{
    const char **s;
    size_t i;
    *n = json_array_size(a);
    s = sk_calloc(*n ? *n : 1, sizeof *s);
    assert_non_null(s);
    for (i = 0; i < *n; i++)
        s[i] = json_string_value(json_array_get(a, i));
    return s;
}

static double dval(const json_t *o, const char *key)
{
    return strtod(json_string_value(json_object_get(o, key)), NULL);
}

/* Scores pred against golds with a scorer of kind k (threshold t). */
static struct sk_ub_result score_simple(enum sk_ub_kind k, double t,
                                        const char *pred,
                                        const char *const *golds, size_t n)
{
    struct sk_ub_scorer s;
    struct sk_ub_gold g;
    struct sk_ub_result r;
    struct sk_error err;
    sk_ub_scorer_init(&s);
    s.kind = k;
    s.threshold = t;
    memset(&g, 0, sizeof g);
    g.golds = golds;
    g.n = n;
    if (sk_ub_score(&s, pred, &g, &r, &err) != SK_OK)
        fail_msg("score %s: %s", pred, err.msg);
    return r;
}

/* ---- extraction --------------------------------------------------------- */

struct ex_case {
    enum sk_ub_mode mode;
    const char *arg; /* tag, pattern or path */
    int last;
    int icase;
    enum sk_ub_fallback fb;
    const char *text;
    int found;
    const char *want;
};

static const struct ex_case ex_cases[] = {
    /* tag */
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "x <answer> 42 </answer>", 1, "42"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE,
     "<answer>1</answer> then <answer>2</answer>", 1, "2"},
    {SK_UB_TAG, NULL, 0, 0, SK_UB_FB_NONE,
     "<answer>1</answer> then <answer>2</answer>", 1, "1"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "<ANSWER>Up</Answer>", 1, "Up"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "<answer>a\nb\n</answer>", 1,
     "a\nb"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "<answer>open only", 0, ""},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "no tags\nlast line", 0, ""},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_LAST_LINE, "no tags\n last line \n\n", 1,
     "last line"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_FULL, " no tags\nat all ", 1,
     "no tags\nat all"},
    {SK_UB_TAG, "final", 1, 0, SK_UB_FB_NONE,
     "<answer>no</answer><final>yes</final>", 1, "yes"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "<answer><answer>x</answer>", 1,
     "<answer>x"},
    {SK_UB_TAG, NULL, 1, 0, SK_UB_FB_NONE, "<answer></answer>", 1, ""},
    /* regex */
    {SK_UB_REGEX, "Answer: ([0-9]+)", 0, 0, SK_UB_FB_NONE,
     "Answer: 12\nAnswer: 34", 1, "12"},
    {SK_UB_REGEX, "Answer: ([0-9]+)", 1, 0, SK_UB_FB_NONE,
     "Answer: 12\nAnswer: 34", 1, "34"},
    {SK_UB_REGEX, "[0-9]+", 1, 0, SK_UB_FB_NONE, "a 1 b 22 c 333 d", 1, "333"},
    {SK_UB_REGEX, "answer is ([a-z]+)", 0, 1, SK_UB_FB_NONE,
     "The ANSWER IS Blue.", 1, "Blue"},
    {SK_UB_REGEX, "answer is ([a-z]+)", 0, 0, SK_UB_FB_NONE,
     "The ANSWER IS Blue.", 0, ""},
    {SK_UB_REGEX, "x*", 1, 0, SK_UB_FB_NONE, "abc", 1, ""},
    {SK_UB_REGEX, "=([^=]*)$", 0, 0, SK_UB_FB_NONE, "a=b=c", 1, "c"},
    {SK_UB_REGEX, "zzz", 0, 0, SK_UB_FB_LAST_LINE, "one\ntwo", 1, "two"},
    /* last line */
    {SK_UB_LAST_LINE, NULL, 1, 0, SK_UB_FB_NONE, "a\r\nb\r\n\r\n", 1, "b"},
    {SK_UB_LAST_LINE, NULL, 1, 0, SK_UB_FB_NONE, "  only  ", 1, "only"},
    {SK_UB_LAST_LINE, NULL, 1, 0, SK_UB_FB_NONE, " \n\t\n", 0, ""},
    {SK_UB_LAST_LINE, NULL, 1, 0, SK_UB_FB_NONE, "first\xe2\x80\xa8second", 1,
     "second"},
    /* json */
    {SK_UB_JSON, "answer", 1, 0, SK_UB_FB_NONE,
     "Sure: {\"answer\": \" Paris \"}", 1, "Paris"},
    {SK_UB_JSON, "result.values.1", 1, 0, SK_UB_FB_NONE,
     "```json\n{\"result\": {\"values\": [3, 4.5]}}\n```", 1, "4.5"},
    {SK_UB_JSON, "n", 1, 0, SK_UB_FB_NONE, "{\"n\": 42}", 1, "42"},
    {SK_UB_JSON, "ok", 1, 0, SK_UB_FB_NONE, "{\"ok\": true}", 1, "true"},
    {SK_UB_JSON, "l", 1, 0, SK_UB_FB_NONE, "{\"l\": [1, \"a\"]}", 1,
     "[1,\"a\"]"},
    {SK_UB_JSON, "missing", 1, 0, SK_UB_FB_NONE, "{\"n\": 1}", 0, ""},
    {SK_UB_JSON, "n", 1, 0, SK_UB_FB_NONE, "{\"n\": null}", 0, ""},
    {SK_UB_JSON, "n.x", 1, 0, SK_UB_FB_NONE, "{\"n\": 1}", 0, ""},
    {SK_UB_JSON, "answer", 1, 0, SK_UB_FB_NONE, "no json here", 0, ""},
    {SK_UB_JSON, "answer", 1, 0, SK_UB_FB_LAST_LINE, "no json\nhere", 1,
     "here"},
    /* full */
    {SK_UB_FULL, NULL, 1, 0, SK_UB_FB_NONE, "\n  all of it \n", 1, "all of it"},
    {SK_UB_FULL, NULL, 1, 0, SK_UB_FB_NONE, "  ", 0, ""},
};

static void test_userbench__extract_modes(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(ex_cases); i++) {
        const struct ex_case *c = &ex_cases[i];
        struct sk_ub_extract x;
        struct sk_buf out, why;
        struct sk_error err;
        int found = -1;
        sk_ub_extract_init(&x);
        x.mode = c->mode;
        x.last = c->last;
        x.fallback = c->fb;
        if (c->mode == SK_UB_TAG && c->arg)
            x.tag = sk_strdup(c->arg);
        if (c->mode == SK_UB_JSON)
            x.path = sk_strdup(c->arg);
        if (c->mode == SK_UB_REGEX &&
            sk_ub_extract_set_regex(&x, c->arg, c->icase, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        sk_buf_init(&why, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_ub_extract_run(&x, c->text, strlen(c->text), &out, &found, &why),
            SK_OK);
        if (found != c->found || strcmp(sk_buf_cstr(&out), c->want) != 0)
            fail_msg("case %zu (%s): found %d '%s', want %d '%s' (why: %s)", i,
                     c->text, found, sk_buf_cstr(&out), c->found, c->want,
                     sk_buf_cstr(&why));
        /* a miss says why; a fallback says which one it took */
        if (!found || c->fb != SK_UB_FB_NONE)
            assert_true(why.len > 0 || c->fb != SK_UB_FB_NONE);
        sk_buf_release(&out);
        sk_buf_release(&why);
        sk_ub_extract_release(&x);
    }
}

static void test_userbench__extract_reasons(void **state)
{
    struct sk_ub_extract x;
    struct sk_buf out, why;
    struct sk_error err;
    int found;
    (void)state;
    sk_ub_extract_init(&x);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    assert_int_equal(sk_ub_extract_run(&x, "plain", 5, &out, &found, &why),
                     SK_OK);
    assert_string_equal(sk_buf_cstr(&why), "no <answer>...</answer> in the "
                                           "reply");
    sk_buf_reset(&why);
    x.fallback = SK_UB_FB_LAST_LINE;
    assert_int_equal(sk_ub_extract_run(&x, "plain", 5, &out, &found, &why),
                     SK_OK);
    assert_int_equal(found, 1);
    assert_string_equal(sk_buf_cstr(&why), "no <answer>...</answer> in the "
                                           "reply; took the last non-empty "
                                           "line");
    sk_buf_reset(&why);
    sk_ub_extract_release(&x);
    x.mode = SK_UB_JSON;
    x.path = sk_strdup("a.b");
    assert_int_equal(
        sk_ub_extract_run(&x, "{\"a\": {}}", 9, &out, &found, &why), SK_OK);
    assert_int_equal(found, 0);
    assert_string_equal(sk_buf_cstr(&why),
                        "the reply's JSON has no value at 'a.b'");
    sk_ub_extract_release(&x);
    /* a pattern that does not compile says why */
    assert_int_equal(sk_ub_extract_set_regex(&x, "a(", 0, &err), SK_EPARSE);
    assert_true(strlen(err.msg) > 0);
    /* a reply with a NUL byte is cut there for the regex */
    assert_int_equal(sk_ub_extract_set_regex(&x, "[a-z]+$", 0, &err), SK_OK);
    sk_buf_reset(&out);
    assert_int_equal(sk_ub_extract_run(&x, "ab\0cd", 5, &out, &found, &why),
                     SK_OK);
    assert_string_equal(sk_buf_cstr(&out), "ab");
    sk_ub_extract_release(&x);
    sk_buf_release(&out);
    sk_buf_release(&why);
}

/* ---- scorers ------------------------------------------------------------ */

static void test_userbench__squad_vectors(void **state)
{
    json_t *v = load_vectors(), *c;
    size_t i, n;
    (void)state;
    json_array_foreach(json_object_get(v, "squad"), i, c)
    {
        const char *pred = json_string_value(json_object_get(c, "pred"));
        const char **g = strs(json_object_get(c, "golds"), &n);
        struct sk_ub_result em = score_simple(SK_UB_EM, 1.0, pred, g, n);
        struct sk_ub_result f1 = score_simple(SK_UB_F1, 1.0, pred, g, n);
        if (em.score != dval(c, "em") || f1.score != dval(c, "f1"))
            fail_msg("squad %zu '%s': em %.17g f1 %.17g, reference %s %s", i,
                     pred, em.score, f1.score,
                     json_string_value(json_object_get(c, "em")),
                     json_string_value(json_object_get(c, "f1")));
        /* em/f1 scorers keep the SQuAD metrics in the row's em/f1 */
        assert_true(em.em == dval(c, "em") && em.f1 == dval(c, "f1"));
        assert_int_equal(em.hard, em.score >= 1.0);
        assert_int_equal(f1.hard, f1.score >= 1.0);
        assert_true((em.detail == NULL) == (em.hard == 1));
        sk_ub_result_release(&em);
        sk_ub_result_release(&f1);
        sk_free(g);
    }
    assert_true(i >= 40);
    json_decref(v);
}

static void test_userbench__anls_vectors(void **state)
{
    json_t *v = load_vectors(), *c;
    size_t i, n;
    (void)state;
    json_array_foreach(json_object_get(v, "anls"), i, c)
    {
        const char *pred = json_string_value(json_object_get(c, "pred"));
        const char **g = strs(json_object_get(c, "golds"), &n);
        struct sk_ub_result r = score_simple(SK_UB_ANLS, 0.999, pred, g, n);
        if (r.score != dval(c, "anls"))
            fail_msg("anls %zu '%s': %.17g, reference %s", i, pred, r.score,
                     json_string_value(json_object_get(c, "anls")));
        assert_int_equal(r.hard, r.score >= 0.999);
        assert_true(r.em == r.hard && r.f1 == r.score);
        sk_ub_result_release(&r);
        sk_free(g);
    }
    json_decref(v);
}

static void test_userbench__choice_vectors(void **state)
{
    json_t *v = load_vectors(), *ch = json_object_get(v, "choice"), *c, *o;
    const char *labels[8], *texts[8];
    size_t i, n = 0;
    (void)state;
    json_array_foreach(json_object_get(ch, "choices"), i, o)
    {
        labels[i] = json_string_value(json_object_get(o, "label"));
        texts[i] = json_string_value(json_object_get(o, "text"));
        n++;
    }
    json_array_foreach(json_object_get(ch, "cases"), i, c)
    {
        struct sk_ub_scorer s;
        struct sk_ub_gold g;
        struct sk_ub_result r;
        struct sk_error err;
        const char *pred = json_string_value(json_object_get(c, "pred"));
        const char *gold = json_string_value(json_object_get(c, "gold"));
        sk_ub_scorer_init(&s);
        s.kind = SK_UB_CHOICE;
        memset(&g, 0, sizeof g);
        g.golds = &gold;
        g.n = 1;
        g.labels = labels;
        g.texts = texts;
        g.n_choices = n;
        assert_int_equal(sk_ub_score(&s, pred, &g, &r, &err), SK_OK);
        if (r.score != dval(c, "correct"))
            fail_msg("choice %zu '%s' (gold %s): %g, reference %s", i, pred,
                     gold, r.score,
                     json_string_value(json_object_get(c, "correct")));
        assert_int_equal(r.hard, r.score == 1.0);
        sk_ub_result_release(&r);
    }
    json_decref(v);
}

struct num_case {
    const char *pred;
    const char *gold1, *gold2;
    double abs_tol, rel_tol;
    double want;
};

static const struct num_case num_cases[] = {
    {"3500", "3500", NULL, 0, 0, 1},
    {"3500.0", "3500", NULL, 0, 0, 1},
    {"3,500", "3500", NULL, 0, 0, 1},
    {"$3,500.00", "3500", NULL, 0, 0, 1},
    {"50%", "50", NULL, 0, 0, 1},
    {" 42 ", "42", NULL, 0, 0, 1},
    {"+7", "7", NULL, 0, 0, 1},
    {"-0", "0", NULL, 0, 0, 1},
    {"1e3", "1000", NULL, 0, 0, 1},
    {"1E-2", "0.01", NULL, 0, 0, 1},
    {".5", "0.5", NULL, 0, 0, 1},
    {"0.1", "0.10000001", NULL, 0, 0, 0},
    {"0.1", "0.10000001", NULL, 1e-6, 0, 1},
    {"100", "101", NULL, 0, 0.01, 1},
    {"100", "102", NULL, 0, 0.01, 0},
    {"99", "100", NULL, 1, 0, 1},
    {"98.9", "100", NULL, 1, 0, 0},
    {"-5", "5", NULL, 0, 0, 0},
    {"37.78", "37.7778", NULL, 0.01, 0, 1},
    {"37.7", "37.7778", NULL, 0.01, 0, 0},
    {"7", "6", "7", 0, 0, 1},
    {"3 500", "3500", NULL, 0, 0, 0},
    {"abc", "1", NULL, 0, 0, 0},
    {"", "1", NULL, 0, 0, 0},
    {"1.2.3", "1.2", NULL, 0, 0, 0},
    {"0x10", "16", NULL, 0, 0, 0},
    {"inf", "1", NULL, 0, 0, 0},
    {"nan", "1", NULL, 0, 0, 0},
    {"12 km", "12", NULL, 0, 0, 0},
    {"1e999", "1", NULL, 0, 0, 0},
    {"0", "0", NULL, 0, 0.5, 1},
};

static void test_userbench__numeric_table(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(num_cases); i++) {
        const struct num_case *c = &num_cases[i];
        const char *golds[2] = {c->gold1, c->gold2};
        struct sk_ub_scorer s;
        struct sk_ub_gold g;
        struct sk_ub_result r;
        struct sk_error err;
        sk_ub_scorer_init(&s);
        s.kind = SK_UB_NUMERIC;
        s.abs_tol = c->abs_tol;
        s.rel_tol = c->rel_tol;
        memset(&g, 0, sizeof g);
        g.golds = golds;
        g.n = c->gold2 ? 2 : 1;
        assert_int_equal(sk_ub_score(&s, c->pred, &g, &r, &err), SK_OK);
        if (r.score != c->want)
            fail_msg("numeric %zu '%s' vs '%s': %g, want %g", i, c->pred,
                     c->gold1, r.score, c->want);
        assert_int_equal(r.hard, c->want == 1.0);
        if (!r.hard)
            assert_non_null(r.detail);
        sk_ub_result_release(&r);
    }
}

static void test_userbench__numeric_reasons(void **state)
{
    const char *gold = "12";
    struct sk_ub_scorer s;
    struct sk_ub_gold g;
    struct sk_ub_result r;
    struct sk_error err;
    (void)state;
    sk_ub_scorer_init(&s);
    s.kind = SK_UB_NUMERIC;
    memset(&g, 0, sizeof g);
    g.golds = &gold;
    g.n = 1;
    assert_int_equal(sk_ub_score(&s, "twelve", &g, &r, &err), SK_OK);
    assert_string_equal(r.detail, "numeric: predicted 'twelve', which is not "
                                  "a number; expected ['12']");
    assert_null(r.parsed);
    sk_ub_result_release(&r);
    s.rel_tol = 0.01;
    assert_int_equal(sk_ub_score(&s, "13", &g, &r, &err), SK_OK);
    assert_string_equal(r.detail, "numeric=0: predicted '13' but expected "
                                  "['12'] (within abs 0 or rel 0.01)");
    assert_string_equal(r.parsed, "13");
    sk_ub_result_release(&r);
    /* a gold that is not a number cannot be scored */
    gold = "twelve";
    assert_int_equal(sk_ub_score(&s, "12", &g, &r, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "'twelve' is not a number"));
}

struct contains_case {
    const char *pred;
    const char *gold1, *gold2;
    double want;
};

static const struct contains_case contains_cases[] = {
    {"The capital is Paris.", "paris", NULL, 1},
    {"PARIS", "Paris", NULL, 1},
    {"Paris", "The city of Paris", NULL, 0},
    {"It is Lyon", "Paris", "Lyon", 1},
    {"nothing", "Paris", "Lyon", 0},
    {"anything", "", NULL, 0},
    {"anything", "   ", NULL, 0},
    {"", "x", NULL, 0},
    {"x", " x ", NULL, 1},
    {"CAF\xc3\x89 au lait", "caf\xc3\xa9", NULL, 1},
    {"\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", "\xcf\x83\xce\xbf\xcf\x86",
     NULL, 1},
    {"isTanbul", "\xc4\xb0stanbul", NULL, 0},
    {"i\xcc\x87stanbul", "\xc4\xb0stanbul", NULL, 1},
    {"a-b", "a b", NULL, 0},
    {"12 km", "12", NULL, 1},
    {"1,000", "1000", NULL, 0},
};

static void test_userbench__contains_table(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(contains_cases); i++) {
        const struct contains_case *c = &contains_cases[i];
        const char *golds[2] = {c->gold1, c->gold2};
        struct sk_ub_result r =
            score_simple(SK_UB_CONTAINS, 1.0, c->pred, golds, c->gold2 ? 2 : 1);
        if (r.score != c->want)
            fail_msg("contains %zu '%s' in '%s': %g, want %g", i, c->gold1,
                     c->pred, r.score, c->want);
        assert_int_equal(r.hard, c->want == 1.0);
        sk_ub_result_release(&r);
    }
}

static void test_userbench__thresholds(void **state)
{
    const char *gold = "red blue green";
    struct sk_ub_result r;
    (void)state;
    /* token F1 2/3: hard only with a threshold at or below it */
    r = score_simple(SK_UB_F1, 1.0, "red blue", &gold, 1);
    assert_true(fabs(r.score - 0.8) < 1e-12);
    assert_int_equal(r.hard, 0);
    assert_non_null(strstr(r.detail, "F1=0.8000: predicted 'red blue'"));
    sk_ub_result_release(&r);
    r = score_simple(SK_UB_F1, 0.75, "red blue", &gold, 1);
    assert_int_equal(r.hard, 1);
    assert_null(r.detail);
    sk_ub_result_release(&r);
    r = score_simple(SK_UB_EM, 1.0, "red", &gold, 1);
    assert_string_equal(
        r.detail, "EM=0: predicted 'red' but expected ['red blue green']");
    sk_ub_result_release(&r);
    r = score_simple(SK_UB_ANLS, 0.5, "red blue gree", &gold, 1);
    assert_int_equal(r.hard, 1);
    sk_ub_result_release(&r);
}

struct parse_case {
    const char *s;
    int ok;
    double v;
};

static const struct parse_case parse_cases[] = {
    {"1", 1, 1},
    {"-2.5", 1, -2.5},
    {"$1,234.5", 1, 1234.5},
    {"12%", 1, 12},
    {" 7\n", 1, 7},
    {"1e2", 1, 100},
    {"", 0, 0},
    {"-", 0, 0},
    {"e5", 0, 0},
    {"1 2", 0, 0},
    {"0x1p3", 0, 0},
    {"infinity", 0, 0},
    {"1.5e+308", 1, 1.5e308},
    {"2e308", 0, 0},
    {"\xe2\x88\x92"
     "1",
     0, 0},
};

static void test_userbench__parse_number(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(parse_cases); i++) {
        double d = -12345;
        int ok = sk_ub_parse_number(parse_cases[i].s, &d);
        if (ok != parse_cases[i].ok || (ok && d != parse_cases[i].v))
            fail_msg("parse %zu '%s': %d %g", i, parse_cases[i].s, ok, d);
    }
}

/* ---- the external command ----------------------------------------------- */

static struct sk_ub_result run_cmd(const char *script, long timeout_ms,
                                   const char *cwd, int *rc,
                                   struct sk_error *err)
{
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)script, NULL};
    const char *gold = "g1";
    struct sk_ub_scorer s;
    struct sk_ub_gold g;
    struct sk_ub_result r;
    json_t *item = json_pack("{s:s, s:s}", "id", "q1", "extra", "x\ny");

    sk_ub_scorer_init(&s);
    s.kind = SK_UB_COMMAND;
    s.argv = argv;
    s.cwd = (char *)cwd;
    s.timeout_ms = timeout_ms;
    memset(&g, 0, sizeof g);
    g.golds = &gold;
    g.n = 1;
    g.id = "q1";
    g.item = item;
    memset(err, 0, sizeof *err);
    *rc = sk_ub_score(&s, "my \"answer\"", &g, &r, err);
    json_decref(item);
    return r;
}

static void test_userbench__command_success(void **state)
{
    struct sk_error err;
    struct sk_ub_result r;
    char *dir = tu_mkdtemp(), *p, *txt, script[4096];
    json_t *line;
    int rc;
    (void)state;
    /* the input line reaches stdin; the command runs in cwd */
    snprintf(script, sizeof script, "cat > input.json; pwd > where; echo 0.75");
    r = run_cmd(script, 5000, dir, &rc, &err);
    assert_int_equal(rc, SK_OK);
    assert_true(r.score == 0.75);
    assert_int_equal(r.hard, 0);
    assert_non_null(strstr(r.detail, "command=0.7500: predicted"));
    sk_ub_result_release(&r);
    p = sk_fs_join(dir, "input.json");
    txt = tu_read(p, NULL);
    assert_non_null(txt);
    assert_non_null(strchr(txt, '\n'));
    assert_ptr_equal(strchr(txt, '\n'), txt + strlen(txt) - 1); /* one line */
    line = json_loads(txt, 0, NULL);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "id")), "q1");
    assert_string_equal(json_string_value(json_object_get(line, "prediction")),
                        "my \"answer\"");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(line, "gold"), 0)),
        "g1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(line, "item"), "extra")),
                        "x\ny");
    json_decref(line);
    sk_free(txt);
    sk_free(p);
    p = sk_fs_join(dir, "where");
    txt = tu_read(p, NULL);
    assert_non_null(strstr(txt, dir + (dir[0] == '/' ? 1 : 0)));
    sk_free(txt);
    sk_free(p);

    /* a JSON reply with hard and a reason */
    r = run_cmd("read l; echo '{\"soft\": 0.5, \"hard\": true, \"reason\": "
                "\"close\"}'",
                5000, NULL, &rc, &err);
    assert_int_equal(rc, SK_OK);
    assert_true(r.score == 0.5);
    assert_int_equal(r.hard, 1);
    assert_null(r.detail);
    sk_ub_result_release(&r);
    r = run_cmd("echo '{\"soft\": 1, \"hard\": 0, \"reason\": \"format\"}'",
                5000, NULL, &rc, &err);
    assert_int_equal(rc, SK_OK);
    assert_int_equal(r.hard, 0);
    assert_non_null(strstr(r.detail, "(the command said hard 0)"));
    assert_non_null(strstr(r.detail, "scorer says: format"));
    sk_ub_result_release(&r);
    /* a score of exactly 1 is hard by the default threshold */
    r = run_cmd("echo 1", 5000, NULL, &rc, &err);
    assert_int_equal(rc, SK_OK);
    assert_int_equal(r.hard, 1);
    sk_ub_result_release(&r);
    /* a command that does not read its input is fine */
    r = run_cmd("echo 0", 5000, NULL, &rc, &err);
    assert_int_equal(rc, SK_OK);
    assert_int_equal(r.hard, 0);
    sk_ub_result_release(&r);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_userbench__command_timeout(void **state)
{
    struct sk_error err;
    struct sk_ub_result r;
    struct timespec t0, t1;
    double s;
    int rc;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = run_cmd("sleep 20", 300, NULL, &rc, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(rc, SK_EDATA);
    assert_non_null(strstr(err.msg, "sh timed out after 0.3 s"));
    assert_true(s < 5.0);
    sk_ub_result_release(&r);
    /* its children go with it: the group is killed */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = run_cmd("sleep 20 & sleep 20; echo 1", 300, NULL, &rc, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(rc, SK_EDATA);
    assert_true(s < 5.0);
    sk_ub_result_release(&r);
    /* a child left running with the output open does not hold the score */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = run_cmd("sleep 3 & echo 1", 10000, NULL, &rc, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(rc, SK_OK);
    assert_int_equal(r.hard, 1);
    assert_true(s < 2.5);
    sk_ub_result_release(&r);
}

struct garbage_case {
    const char *script;
    const char *msg;
};

static const struct garbage_case garbage_cases[] = {
    {"echo abc", "the scorer printed 'abc', not one number in [0, 1]"},
    {"echo 1.5", "the scorer printed '1.5', not one number"},
    {"echo -0.1", "the scorer printed '-0.1', not one number"},
    {"echo nan", "the scorer printed 'nan'"},
    {"echo 0.5 0.5", "the scorer printed '0.5 0.5'"},
    {"true", "the scorer printed nothing"},
    {"echo '{\"hard\": 1}'", "whose \"soft\" is missing"},
    {"echo '{\"soft\": 2}'", "whose \"soft\" is missing or not a number"},
    {"echo '{\"soft\": 1, \"hard\": 0.5}'", "whose \"hard\" is not 0, 1"},
    {"echo '{\"soft\": 1,'", "not one number in [0, 1] or a JSON object"},
    {"echo oops >&2; exit 3", "sh exited with status 3: oops"},
    {"kill -9 $$", "was killed by signal 9"},
    {"yes | head -c 70000", "printed more than 65536 bytes"},
};

static void test_userbench__command_garbage(void **state)
{
    struct sk_error err;
    struct sk_ub_result r;
    size_t i;
    int rc;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(garbage_cases); i++) {
        r = run_cmd(garbage_cases[i].script, 5000, NULL, &rc, &err);
        if (rc != SK_EDATA || !strstr(err.msg, garbage_cases[i].msg))
            fail_msg("garbage %zu (%s): rc %d, '%s'", i,
                     garbage_cases[i].script, rc, err.msg);
        assert_null(r.detail);
        sk_ub_result_release(&r);
    }
}

static void test_userbench__command_not_found(void **state)
{
    char *argv[] = {(char *)"/nonexistent/skillopt-scorer", NULL};
    const char *gold = "x";
    struct sk_ub_scorer s;
    struct sk_ub_gold g;
    struct sk_ub_result r;
    struct sk_error err;
    (void)state;
    sk_ub_scorer_init(&s);
    s.kind = SK_UB_COMMAND;
    s.argv = argv;
    s.timeout_ms = 5000;
    memset(&g, 0, sizeof g);
    g.golds = &gold;
    g.n = 1;
    assert_int_equal(sk_ub_score(&s, "x", &g, &r, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "/nonexistent/skillopt-scorer"));
    assert_true(strstr(err.msg, "cannot run") != NULL);
}

struct cparse_case {
    const char *text;
    int rc;
    double soft;
    int hard;
    const char *reason;
};

static const struct cparse_case cparse_cases[] = {
    {"0\n", SK_OK, 0, -1, NULL},
    {"  1.0  ", SK_OK, 1, -1, NULL},
    {"0.25\r\n", SK_OK, 0.25, -1, NULL},
    {"1e-1", SK_OK, 0.1, -1, NULL},
    {"{\"soft\": 0.5}", SK_OK, 0.5, -1, NULL},
    {"{\"soft\": 0, \"hard\": false}", SK_OK, 0, 0, NULL},
    {"{\"soft\": 1, \"hard\": 1, \"reason\": \"ok\"}\n", SK_OK, 1, 1, "ok"},
    {"{\"soft\": 1, \"soft\": 0}", SK_EPARSE, 0, -1, NULL},
    {"{\"soft\": \"1\"}", SK_EPARSE, 0, -1, NULL},
    {"0.5\n0.5", SK_EPARSE, 0, -1, NULL},
    {"1.00001", SK_EPARSE, 0, -1, NULL},
    {"", SK_EPARSE, 0, -1, NULL},
    {"[1]", SK_EPARSE, 0, -1, NULL},
    {"0x1", SK_EPARSE, 0, -1, NULL},
};

static void test_userbench__command_parse(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cparse_cases); i++) {
        const struct cparse_case *c = &cparse_cases[i];
        struct sk_error err;
        double soft = -1;
        int hard = 7, rc;
        char *reason = NULL;
        rc = sk_ub_command_parse(c->text, strlen(c->text), &soft, &hard,
                                 &reason, &err);
        if (rc != c->rc ||
            (rc == SK_OK && (soft != c->soft || hard != c->hard)))
            fail_msg("parse %zu '%s': rc %d soft %g hard %d", i, c->text, rc,
                     soft, hard);
        if (c->reason)
            assert_string_equal(reason, c->reason);
        else
            assert_null(reason);
        sk_free(reason);
    }
}

/* ---- YAML --------------------------------------------------------------- */

/* Opens yaml written as dir/b.yaml; returns the status, err filled. */
static int open_yaml(const char *dir, const char *yaml, const char *name,
                     const struct sk_bench **b, struct sk_error *err)
{
    char *p = tu_write(dir, "b.yaml", yaml);
    int rc;
    memset(err, 0, sizeof *err);
    rc = sk_userbench_open(p, name, b, err);
    sk_free(p);
    return rc;
}

#define OK_PROMPTS                                                             \
    "prompts:\n"                                                               \
    "  system: \"{{skill_section}}Answer.\"\n"                                 \
    "  user: \"Q: {{question}}\"\n"

struct yerr_case {
    const char *yaml;
    const char *msg; /* after the directory */
};

static const struct yerr_case yerr_cases[] = {
    /* missing fields */
    {OK_PROMPTS "scorer:\n  type: em\n",
     "/b.yaml:1:1: name: missing (a string is required)"},
    {"name: t\n" OK_PROMPTS, "/b.yaml:1:1: (top level): missing key 'scorer'"},
    {"name: t\n" OK_PROMPTS "scorer:\n  hard_threshold: 0.5\n",
     "/b.yaml:5:1: scorer.type: missing (one of: em, f1, anls"},
    {"name: t\nscorer:\n  type: em\n",
     "/b.yaml:1:1: (top level): missing key 'prompts'"},
    {"name: t\nprompts:\n  system: \"{{skill}}\"\nscorer:\n  type: em\n",
     "/b.yaml:2:1: prompts: missing 'user' (the text) or 'user_file'"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: command\n",
     "/b.yaml:5:1: scorer.command: missing: the program and its arguments"},
    {"name: t\n" OK_PROMPTS "extract:\n  mode: json\nscorer:\n  type: em\n",
     "/b.yaml:5:1: extract.path: missing"},
    {"name: t\n" OK_PROMPTS "extract:\n  mode: regex\nscorer:\n  type: em\n",
     "/b.yaml:5:1: extract.pattern: missing"},
    /* wrong types */
    {"name: [a, b]\n" OK_PROMPTS "scorer:\n  type: em\n",
     "/b.yaml:1:1: name: expected a string, found a list"},
    {"name: t\n" OK_PROMPTS "scorer: em\n",
     "/b.yaml:5:1: scorer: expected a mapping of keys"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\n  hard_threshold: high\n",
     "/b.yaml:7:19: scorer.hard_threshold: expected a number, found 'high'"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\n  hard_threshold: 2\n",
     "/b.yaml:7:19: scorer.hard_threshold: 2 is out of range (0, 1]"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\n  hard_threshold: 0\n",
     "scorer.hard_threshold: 0 is out of range (0, 1]"},
    {"name: t\n" OK_PROMPTS
     "scorer:\n  type: command\n  command: python3 score.py\n",
     "/b.yaml:7:12: scorer.command: expected a non-empty list of arguments"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: command\n  command: [a, [b]]\n",
     "scorer.command: argument 2 is a list, not a string"},
    {"name: t\n" OK_PROMPTS
     "scorer:\n  type: command\n  command: [a]\n  timeout: 0\n",
     "/b.yaml:8:12: scorer.timeout: 0 is out of range (0, 3600]"},
    {"name: t\n" OK_PROMPTS "extract:\n  mode: regex\n  pattern: a\n"
     "  ignore_case: maybe\nscorer:\n  type: em\n",
     "/b.yaml:8:16: extract.ignore_case: expected true or false, found "
     "'maybe'"},
    {"name: t\nprompts:\n  user: [a]\nscorer:\n  type: em\n",
     "/b.yaml:3:3: prompts.user: expected a string, found a list"},
    /* unknown values and keys */
    {"name: t\n" OK_PROMPTS "scorer:\n  type: bleu\n",
     "/b.yaml:6:9: scorer.type: unknown value 'bleu' (one of: em, f1, anls, "
     "numeric, choice, contains, command)"},
    {"name: t\n" OK_PROMPTS "scorrer:\n  type: em\n",
     "/b.yaml:5:1: scorrer: unknown key (did you mean 'scorer'?)"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\n  colour: red\n",
     "/b.yaml:7:3: scorer.colour: unknown key"},
    {"name: t\n" OK_PROMPTS "extract:\n  mode: xml\nscorer:\n  type: em\n",
     "/b.yaml:6:9: extract.mode: unknown value 'xml'"},
    {"name: t\n" OK_PROMPTS
     "scorer:\n  type: command\n  command: [a]\n  on_error: maybe\n",
     "scorer.on_error: unknown value 'maybe' (one of: stop, zero)"},
    /* bad regex and other values */
    {"name: t\n" OK_PROMPTS "extract:\n  mode: regex\n  pattern: 'a(['\n"
     "scorer:\n  type: em\n",
     "/b.yaml:7:13: extract.pattern: not a POSIX extended regular "
     "expression: "},
    {"name: t\n" OK_PROMPTS "extract:\n  tag: <answer>\nscorer:\n  type: em\n",
     "/b.yaml:6:8: extract.tag: '<answer>' is not a tag name"},
    {"name: t\n" OK_PROMPTS "extract:\n  mode: json\n  path: a..b\n"
     "scorer:\n  type: em\n",
     "/b.yaml:7:9: extract.path: 'a..b' is not a dotted path"},
    {"name: my bench\n" OK_PROMPTS "scorer:\n  type: em\n",
     "/b.yaml:1:7: name: 'my bench' is not a benchmark name"},
    {"name: searchqa\n" OK_PROMPTS "scorer:\n  type: em\n",
     "/b.yaml:1:7: name: 'searchqa' is a built-in benchmark"},
    {"name: t\nfields:\n  id: key\n" OK_PROMPTS "scorer:\n  type: em\n",
     "/b.yaml:3:7: fields.id: must be 'id'"},
    /* settings that do not apply */
    {"name: t\n" OK_PROMPTS "scorer:\n  type: numeric\n  rel_tol: -0.1\n",
     "/b.yaml:7:12: scorer.rel_tol: -0.1 is out of range (it must be at least "
     "0)"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\n  abs_tol: 1\n",
     "/b.yaml:7:3: scorer.abs_tol: only used with type: numeric"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\n  command: [x]\n",
     "/b.yaml:7:3: scorer.command: only used with type: command"},
    {"name: t\n" OK_PROMPTS "extract:\n  ignore_case: true\n"
     "scorer:\n  type: em\n",
     "/b.yaml:6:3: extract.ignore_case: only used with mode: regex"},
    {"name: t\n" OK_PROMPTS "extract:\n  mode: full\n  occurrence: first\n"
     "scorer:\n  type: em\n",
     "extract.occurrence: only used with mode: tag or regex"},
    /* templates */
    {"name: t\nprompts:\n  system: \"{{skill}}\"\n  user: \"{{ question\"\n"
     "scorer:\n  type: em\n",
     "/b.yaml:4:10: prompts.user: template line 1: unterminated placeholder"},
    {"name: t\nprompts:\n  system: \"{{skill}}\"\n  user: \"{{answers}}\"\n"
     "scorer:\n  type: em\n",
     "/b.yaml:4:10: prompts: a template uses {{answers}}, the gold answer "
     "field"},
    {"name: t\nprompts:\n  system: Answer.\n  user: \"{{question}}\"\n"
     "scorer:\n  type: em\n",
     "/b.yaml:3:11: prompts: neither template has {{skill_section}} or "
     "{{skill}}"},
    {"name: t\nprompts:\n  user: \"{{skill}} {{choice_list}}\"\n"
     "scorer:\n  type: em\n",
     "prompts: {{choice_list}} needs fields.choices"},
    {"name: t\nprompts:\n  user: \"{{skill}}\"\n  user_file: u.md\n"
     "scorer:\n  type: em\n",
     "/b.yaml:4:14: prompts.user_file: give either user or user_file, not "
     "both"},
    {"name: t\nprompts:\n  user_file: nope.md\nscorer:\n  type: em\n",
     "/nope.md: no such file"},
    {"name: t\n" OK_PROMPTS "scorer:\n  type: em\nskill_init: nope.md\n",
     "/b.yaml:7:13: skill_init: "},
    /* the file itself */
    {"- a\n- b\n", "/b.yaml:1:1: the file must be a mapping of keys"},
    {"name: t\n  bad: [\n", "/b.yaml:1:7: invalid YAML: "},
};

static void test_userbench__yaml_errors(void **state)
{
    char *dir = tu_mkdtemp();
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(yerr_cases); i++) {
        const struct sk_bench *b = (const struct sk_bench *)1;
        struct sk_error err;
        int rc = open_yaml(dir, yerr_cases[i].yaml, "", &b, &err);
        if (rc != SK_ECONFIG || !strstr(err.msg, yerr_cases[i].msg) ||
            strncmp(err.msg, dir, strlen(dir)) != 0)
            fail_msg("yaml %zu: rc %d, got '%s', want '...%s'", i, rc, err.msg,
                     yerr_cases[i].msg);
        assert_null(b);
    }
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_userbench__missing_file(void **state)
{
    const struct sk_bench *b;
    struct sk_error err;
    (void)state;
    assert_int_equal(sk_userbench_open("/nonexistent/b.yaml", "", &b, &err),
                     SK_ENOTFOUND);
    assert_string_equal(err.msg,
                        "/nonexistent/b.yaml: benchmark file not found");
    assert_null(b);
}

/* ---- the benchmark: prompts, rows ------------------------------------- */

static const char full_yaml[] =
    "name: caps\n"
    "fields:\n"
    "  question: prompt\n"
    "  answers: gold\n"
    "prompts:\n"
    "  system_file: sys.md\n"
    "  user: |\n"
    "    [{{id}}] {{prompt}}\n"
    "    Hints: {{hints}}\n"
    "    Meta: {{meta}} / {{n}} / {{flag}} / {{none}}\n"
    "    Raw: {{skill}}\n"
    "extract:\n"
    "  mode: tag\n"
    "  fallback: last_line\n"
    "scorer:\n"
    "  type: em\n"
    "guidance: |\n"
    "  Look for capital cities.\n"
    "skill_init: skills/init.md\n";

static json_t *caps_item(void)
{
    return json_pack("{s:s, s:s, s:[s,s], s:[s,s], s:{s:i}, s:i, s:b, s:n}",
                     "id", "c1", "prompt", "Capital of France?", "gold",
                     "Paris", "paris city", "hints", "Europe", "Seine", "meta",
                     "k", 1, "n", 7, "flag", 1, "none");
}

static void test_userbench__open_and_build(void **state)
{
    char *dir = tu_mkdtemp(), *p;
    const struct sk_bench *b;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    char *sys = NULL, *usr = NULL;
    json_t *item = caps_item();
    (void)state;
    sk_free(tu_write(dir, "sys.md", "Geography.\n\n{{skill_section}}Go.\n"));
    sk_free(tu_write(dir, "skills/init.md", "# init\n"));
    if (open_yaml(dir, full_yaml, "", &b, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_string_equal(b->name, "caps");
    assert_null(b->images);
    assert_null(b->episode);
    assert_string_equal(sk_userbench_guidance(b), "Look for capital cities.\n");
    p = sk_fs_join(dir, "skills/init.md");
    assert_string_equal(sk_userbench_skill_init(b), p);
    sk_free(p);
    memset(&ctx, 0, sizeof ctx);
    ctx.data = b->data;
    assert_int_equal(b->build(item, "  Rule one.\n\n", &ctx, &sys, &usr, &err),
                     SK_OK);
    assert_string_equal(sys, "Geography.\n\n## Skill\nRule one.\n\nGo.\n");
    assert_string_equal(usr, "[c1] Capital of France?\n"
                             "Hints: Europe\nSeine\n"
                             "Meta: {\"k\":1} / 7 / true / \n"
                             "Raw: Rule one.\n");
    sk_free(sys);
    sk_free(usr);
    /* a blank skill leaves no section */
    assert_int_equal(b->build(item, "", &ctx, &sys, &usr, &err), SK_OK);
    assert_string_equal(sys, "Geography.\n\nGo.\n");
    sk_free(sys);
    sk_free(usr);
    sk_bench_close(b);
    /* env.name renames it */
    assert_int_equal(open_yaml(dir, full_yaml, "capitals", &b, &err), SK_OK);
    assert_string_equal(b->name, "capitals");
    sk_bench_close(b);
    /* env.name may not take a built-in's name either */
    assert_int_equal(open_yaml(dir, full_yaml, "docvqa", &b, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "env.name: 'docvqa' is a built-in"));
    assert_null(b);
    assert_int_equal(open_yaml(dir, full_yaml, "a/b", &b, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "env.name: 'a/b' is not a benchmark name"));
    /* built-in benchmarks have neither */
    assert_null(sk_userbench_guidance(sk_bench_find("searchqa")));
    assert_null(sk_userbench_skill_init(sk_bench_find("searchqa")));
    assert_null(sk_userbench_guidance(NULL));
    json_decref(item);
    tu_rmtree(dir);
    sk_free(dir);
}

struct bad_item {
    const char *json;
    const char *msg;
};

static void test_userbench__bad_items(void **state)
{
    static const char yaml[] = "name: nums\n"
                               "prompts:\n"
                               "  user: \"{{skill}}{{question}} {{unit}}\"\n"
                               "scorer:\n"
                               "  type: numeric\n";
    static const struct bad_item bad[] = {
        {"{\"id\": \"a\", \"question\": \"q\", \"answers\": 1}",
         "item a has no field 'unit' (a placeholder of the prompts)"},
        {"{\"id\": \"b\", \"question\": \"q\", \"unit\": \"m\"}",
         "item b has no 'answers' field (the gold answers)"},
        {"{\"id\": \"c\", \"question\": \"q\", \"unit\": \"m\", \"answers\": "
         "[]}",
         "item c: 'answers' is an empty list"},
        {"{\"id\": \"d\", \"question\": \"q\", \"unit\": \"m\", \"answers\": "
         "\"ten\"}",
         "item d: gold answer 'ten' is not a number (numeric scorer)"},
        {"{\"id\": \"e\", \"question\": \"q\", \"unit\": \"m\", \"answers\": "
         "[{\"x\": 1}]}",
         "item e: 'answers' must be a string, a number or a list of them"},
        {"{\"question\": \"q\", \"unit\": \"m\", \"answers\": 1}",
         "item has no string or integer id"},
    };
    char *dir = tu_mkdtemp();
    const struct sk_bench *b;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    size_t i;
    (void)state;
    assert_int_equal(open_yaml(dir, yaml, "", &b, &err), SK_OK);
    memset(&ctx, 0, sizeof ctx);
    ctx.data = b->data;
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        json_t *item = json_loads(bad[i].json, 0, NULL);
        json_t *row = json_object();
        char *sys = (char *)1, *usr = (char *)1;
        int rc = b->build(item, "s", &ctx, &sys, &usr, &err);
        if (rc != SK_EDATA || !strstr(err.msg, bad[i].msg))
            fail_msg("item %zu: rc %d '%s'", i, rc, err.msg);
        assert_null(sys);
        assert_null(usr);
        /* scoring refuses it too (except a missing placeholder field) */
        if (i > 0)
            assert_int_equal(b->score(item, "1", &ctx, row, &err), SK_EDATA);
        json_decref(row);
        json_decref(item);
    }
    /* numbers as gold answers are fine, and score */
    {
        json_t *item =
            json_pack("{s:s, s:s, s:s, s:[f,i]}", "id", "f", "question", "q",
                      "unit", "m", "answers", 0.5, 3);
        json_t *row = json_object();
        assert_int_equal(b->score(item, "<answer>3</answer>", &ctx, row, &err),
                         SK_OK);
        assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
        assert_string_equal(json_string_value(json_array_get(
                                json_object_get(row, "gold_answers"), 0)),
                            "0.5");
        json_decref(row);
        json_decref(item);
    }
    sk_bench_close(b);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_userbench__score_rows(void **state)
{
    char *dir = tu_mkdtemp();
    const struct sk_bench *b;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *item = caps_item(), *row;
    (void)state;
    sk_free(tu_write(dir, "sys.md", "{{skill_section}}"));
    sk_free(tu_write(dir, "skills/init.md", "# init\n"));
    assert_int_equal(open_yaml(dir, full_yaml, "", &b, &err), SK_OK);
    memset(&ctx, 0, sizeof ctx);
    ctx.data = b->data;
    row = json_object();
    assert_int_equal(
        b->score(item, "I think\n<answer>The Paris</answer>", &ctx, row, &err),
        SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    assert_true(json_real_value(json_object_get(row, "soft")) == 1.0);
    assert_true(json_real_value(json_object_get(row, "em")) == 1.0);
    assert_true(json_real_value(json_object_get(row, "f1")) == 1.0);
    assert_string_equal(
        json_string_value(json_object_get(row, "predicted_answer")),
        "The Paris");
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "");
    assert_int_equal(json_array_size(json_object_get(row, "gold_answers")), 2);
    /* the question field is the row's question and task description */
    assert_string_equal(json_string_value(json_object_get(row, "question")),
                        "Capital of France?");
    assert_string_equal(
        json_string_value(json_object_get(row, "task_description")),
        "Capital of France?");
    json_decref(row);
    /* a miss: the fallback, then the scorer's reason */
    row = json_object();
    assert_int_equal(b->score(item, "Lyon", &ctx, row, &err), SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "no <answer>...</answer> in the reply; took the last "
                        "non-empty line; EM=0: predicted 'Lyon' but expected "
                        "['Paris', 'paris city']");
    json_decref(row);
    /* partial F1 shows in soft for an em scorer's row too */
    row = json_object();
    assert_int_equal(b->score(item, "<answer>city</answer>", &ctx, row, &err),
                     SK_OK);
    assert_true(json_real_value(json_object_get(row, "soft")) == 0.0);
    assert_true(fabs(json_real_value(json_object_get(row, "f1")) - 2.0 / 3.0) <
                1e-12);
    json_decref(row);
    sk_bench_close(b);
    json_decref(item);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_userbench__choice_bench(void **state)
{
    static const char yaml[] =
        "name: mcq\n"
        "fields:\n"
        "  answers: correct\n"
        "prompts:\n"
        "  user: \"{{skill}}{{question}}\\n{{choice_list}}\"\n"
        "scorer:\n"
        "  type: choice\n";
    char *dir = tu_mkdtemp(), *sys, *usr;
    const struct sk_bench *b;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *strs_item, *obj_item, *row;
    (void)state;
    assert_int_equal(open_yaml(dir, yaml, "", &b, &err), SK_OK);
    memset(&ctx, 0, sizeof ctx);
    ctx.data = b->data;
    /* plain option strings get labels A, B, ...; the gold may be a text */
    strs_item =
        json_pack("{s:s, s:s, s:[s,s,s], s:s}", "id", "m1", "question", "Pick",
                  "choices", "red", "green", "blue", "correct", "Green");
    assert_int_equal(b->build(strs_item, "", &ctx, &sys, &usr, &err), SK_OK);
    assert_string_equal(usr, "Pick\nA. red\nB. green\nC. blue");
    sk_free(sys);
    sk_free(usr);
    row = json_object();
    assert_int_equal(
        b->score(strs_item, "<answer>B)</answer>", &ctx, row, &err), SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    assert_string_equal(
        json_string_value(json_object_get(row, "parsed_choice")), "B");
    json_decref(row);
    row = json_object();
    assert_int_equal(
        b->score(strs_item, "<answer>(B)</answer>", &ctx, row, &err), SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "choice: no option label in '(B)' but expected ['B']");
    json_decref(row);
    /* LiveMath's form: {label, text} options and a {label} gold */
    obj_item =
        json_pack("{s:s, s:s, s:[{s:s,s:s},{s:s,s:s}], s:{s:s}}", "id", "m2",
                  "question", "Pick", "choices", "label", "X", "text", "yes",
                  "label", "Y", "text", "no", "correct", "label", "Y");
    row = json_object();
    assert_int_equal(b->score(obj_item, "<answer>no</answer>", &ctx, row, &err),
                     SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    json_decref(row);
    json_decref(obj_item);
    /* a gold that names no option */
    json_object_set_new(strs_item, "correct", json_string("D"));
    assert_int_equal(b->build(strs_item, "", &ctx, &sys, &usr, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "item m1: gold answer 1 is neither a "
                                    "label nor the text of one of its "
                                    "choices"));
    json_decref(strs_item);
    sk_bench_close(b);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_userbench__scorer_errors(void **state)
{
    static const char stop_yaml[] = "name: ext\n"
                                    "prompts:\n"
                                    "  user: \"{{skill}}{{question}}\"\n"
                                    "scorer:\n"
                                    "  type: command\n"
                                    "  command: [sh, -c, 'exit 4']\n";
    static const char zero_yaml[] = "name: ext\n"
                                    "prompts:\n"
                                    "  user: \"{{skill}}{{question}}\"\n"
                                    "scorer:\n"
                                    "  type: command\n"
                                    "  command: [sh, -c, 'exit 4']\n"
                                    "  on_error: zero\n";
    static const char good_yaml[] =
        "name: ext\n"
        "prompts:\n"
        "  user: \"{{skill}}{{question}}\"\n"
        "scorer:\n"
        "  type: command\n"
        "  command: [sh, -c, 'cat > seen.json; echo 0.4']\n";
    char *dir = tu_mkdtemp(), *p, *seen;
    const struct sk_bench *b;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *item = json_pack("{s:s, s:s}", "id", "e1", "question", "q"), *row;
    (void)state;
    memset(&ctx, 0, sizeof ctx);
    /* default: the run stops, loudly */
    assert_int_equal(open_yaml(dir, stop_yaml, "", &b, &err), SK_OK);
    ctx.data = b->data;
    row = json_object();
    assert_int_equal(b->score(item, "<answer>x</answer>", &ctx, row, &err),
                     SK_EDATA);
    assert_non_null(
        strstr(err.msg, "item e1: scorer: sh exited with status 4"));
    assert_non_null(strstr(err.msg, "scorer.on_error: zero"));
    assert_memory_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "scorer: ", 8);
    json_decref(row);
    sk_bench_close(b);
    /* on_error: zero scores it 0 and says why in the row */
    assert_int_equal(open_yaml(dir, zero_yaml, "", &b, &err), SK_OK);
    ctx.data = b->data;
    row = json_object();
    assert_int_equal(b->score(item, "<answer>x</answer>", &ctx, row, &err),
                     SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    assert_true(json_real_value(json_object_get(row, "soft")) == 0.0);
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "scorer: sh exited with status 4");
    assert_string_equal(json_string_value(json_object_get(row, "scorer_error")),
                        "sh exited with status 4");
    json_decref(row);
    sk_bench_close(b);
    /* items without gold answers are fine for a command, structured ones
     * reach it as JSON text; it runs in the YAML file's directory */
    assert_int_equal(open_yaml(dir, good_yaml, "", &b, &err), SK_OK);
    ctx.data = b->data;
    row = json_object();
    assert_int_equal(b->score(item, "<answer>x</answer>", &ctx, row, &err),
                     SK_OK);
    assert_true(json_real_value(json_object_get(row, "soft")) == 0.4);
    assert_int_equal(json_array_size(json_object_get(row, "gold_answers")), 0);
    p = sk_fs_join(dir, "seen.json");
    seen = tu_read(p, NULL);
    assert_non_null(seen);
    assert_non_null(strstr(seen, "\"prediction\":\"x\""));
    assert_non_null(strstr(seen, "\"gold\":[]"));
    sk_free(seen);
    json_decref(row);
    json_object_set_new(item, "answers",
                        json_pack("[{s:i}, s]", "lo", 1, "two"));
    row = json_object();
    assert_int_equal(b->score(item, "<answer>x</answer>", &ctx, row, &err),
                     SK_OK);
    seen = tu_read(p, NULL);
    assert_non_null(strstr(seen, "\"gold\":[\"{\\\"lo\\\":1}\",\"two\"]"));
    sk_free(seen);
    sk_free(p);
    json_decref(row);
    sk_bench_close(b);
    json_decref(item);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- the example: snapshots and a rollout ------------------------------- */

static json_t *example_items(const char *split)
{
    char rel[128], *p;
    json_t *v;
    snprintf(rel, sizeof rel, "examples/yaml-bench/data/%s/items.json", split);
    p = tu_source_path(rel);
    v = json_load_file(p, 0, NULL);
    assert_non_null(v);
    sk_free(p);
    return v;
}

/* Compares got with the committed snapshot (SKILLOPT_BLESS=1 rewrites
 * it). */
static void check_snapshot(const char *name, const char *got)
{
    char rel[128], *p, *want;
    snprintf(rel, sizeof rel, "tests/fixtures/userbench/%s", name);
    p = tu_source_path(rel);
    if (getenv("SKILLOPT_BLESS") && strcmp(getenv("SKILLOPT_BLESS"), "1") == 0)
        assert_int_equal(sk_fs_write_atomic(p, got, strlen(got), NULL), SK_OK);
    want = tu_read(p, NULL);
    if (!want)
        fail_msg("%s: missing snapshot", p);
    if (strcmp(want, got) != 0)
        fail_msg("%s differs; got:\n%s", p, got);
    sk_free(want);
    sk_free(p);
}

static void test_userbench__example_snapshots(void **state)
{
    const char *files[] = {"examples/yaml-bench/bench.yaml",
                           "examples/yaml-bench/bench-command.yaml"};
    char *skill_path = tu_source_path("examples/yaml-bench/initial.md");
    char *skill = tu_read(skill_path, NULL);
    json_t *items = example_items("val");
    size_t i;
    (void)state;
    assert_non_null(skill);
    for (i = 0; i < 2; i++) {
        char *p = tu_source_path(files[i]), *sys, *usr;
        const struct sk_bench *b;
        struct sk_bench_ctx ctx;
        struct sk_error err;
        if (sk_userbench_open(p, "", &b, &err) != SK_OK)
            fail_msg("%s", err.msg);
        memset(&ctx, 0, sizeof ctx);
        ctx.data = b->data;
        assert_int_equal(
            b->build(json_array_get(items, 0), skill, &ctx, &sys, &usr, &err),
            SK_OK);
        /* both files ask the same way */
        check_snapshot("example_system.txt", sys);
        check_snapshot("example_user.txt", usr);
        assert_non_null(sk_userbench_guidance(b));
        assert_non_null(strstr(sk_userbench_skill_init(b), "initial.md"));
        sk_free(sys);
        sk_free(usr);
        sk_bench_close(b);
        sk_free(p);
    }
    json_decref(items);
    sk_free(skill);
    sk_free(skill_path);
}

/* The simulated target: answers the example's items from their gold, right
 * for odd-numbered items and off by 10 % for the others. */
static json_t *sim_items;

static int example_respond(void *ud, const struct sk_sim_request *req,
                           struct sk_sim_reply *reply)
{
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL), *m, *it;
    const char *user = NULL, *answer = "no idea";
    char text[256];
    size_t i;
    (void)ud;
    json_array_foreach(json_object_get(b, "messages"), i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        if (r && strcmp(r, "user") == 0)
            user = json_string_value(json_object_get(m, "content"));
    }
    json_array_foreach(sim_items, i, it)
    {
        const char *q = json_string_value(json_object_get(it, "question"));
        if (user && strstr(user, q)) {
            double g =
                strtod(json_string_value(json_object_get(it, "answer")), NULL);
            snprintf(text, sizeof text, "Factor noted.\n<answer>%.10g</answer>",
                     i % 2 == 0 ? g : g * 1.1);
            answer = text;
            break;
        }
    }
    reply->body = sk_sim_chat_completion("sim-target", answer, 10, 10);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    json_decref(b);
    return reply->body ? 0 : 1;
}

static void test_userbench__example_rollout(void **state)
{
    static const char sim_yaml[] =
        "model:\n  backend: sim\n  optimizer_backend: sim\n"
        "  target_backend: sim\n  target: sim-target\n";
    const char *files[] = {"examples/yaml-bench/bench.yaml",
                           "examples/yaml-bench/bench-command.yaml"};
    char *dir = tu_mkdtemp(), *cfgp = tu_write(dir, "c.yaml", sim_yaml);
    struct sk_config_args a;
    struct sk_config cfg;
    struct sk_llm_client_opts o;
    struct sk_llm_client *c;
    struct sk_error err;
    size_t i, k;
    (void)state;
    sim_items = example_items("train");
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    sk_config_init(&cfg);
    if (sk_config_load(&a, &cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&o, 0, sizeof o);
    o.sim_responder = example_respond;
    o.run_dir = dir;
    if (sk_llm_client_new(&cfg, &o, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    for (k = 0; k < 2; k++) {
        char *p = tu_source_path(files[k]), out[64], *od;
        const struct sk_bench *b;
        struct sk_rollout_opts ro;
        struct sk_rollout_stats st;
        json_t *rows = NULL;
        if (sk_userbench_open(p, "", &b, &err) != SK_OK)
            fail_msg("%s", err.msg);
        snprintf(out, sizeof out, "rollout%zu", k);
        od = sk_fs_join(dir, out);
        memset(&ro, 0, sizeof ro);
        ro.cfg = &cfg;
        ro.max_completion_tokens = 256;
        if (sk_rollout_run_opts(c, b, "Be exact.", sim_items, od, &ro, &rows,
                                &st, &err) != SK_OK)
            fail_msg("%s: %s", files[k], err.msg);
        assert_int_equal(st.sent, json_array_size(sim_items));
        /* half the answers are right: hard 0.5 on both scorers */
        assert_true(st.hard_mean == 0.5);
        for (i = 0; i < json_array_size(rows); i++) {
            json_t *r = json_array_get(rows, i);
            long hard = (long)json_integer_value(json_object_get(r, "hard"));
            double soft = json_real_value(json_object_get(r, "soft"));
            assert_int_equal(hard, i % 2 == 0);
            if (k == 0) /* numeric within 0.1 %: 10 % off is 0 */
                assert_true(soft == (i % 2 == 0 ? 1.0 : 0.0));
            else /* score.py: 1 - 10 * relative error */
                assert_true(i % 2 == 0 ? soft == 1.0 : soft < 0.01);
            assert_true(hard ? *json_string_value(
                                   json_object_get(r, "fail_reason")) == '\0'
                             : strlen(json_string_value(
                                   json_object_get(r, "fail_reason"))) > 0);
        }
        if (k == 1)
            /* partial credit only from the command's soft: 10 % off */
            assert_true(st.soft_mean >= 0.5 && st.soft_mean < 0.51);
        json_decref(rows);
        sk_bench_close(b);
        sk_free(od);
        sk_free(p);
    }
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    json_decref(sim_items);
    sim_items = NULL;
    sk_free(cfgp);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep_ctx {
    const char *path;
    const json_t *item;
};

static int sweep_body(void *arg)
{
    struct sweep_ctx *s = arg;
    const struct sk_bench *b = NULL;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    char *sys = NULL, *usr = NULL;
    json_t *row = NULL;
    int rc;

    rc = sk_userbench_open(s->path, "", &b, &err);
    if (rc != SK_OK)
        return rc;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = b->data;
    rc = b->build(s->item, "Skill text.", &ctx, &sys, &usr, &err);
    if (rc == SK_OK) {
        row = json_object();
        rc = row ? b->score(s->item, "x\n<answer>3,500</answer>", &ctx, row,
                            &err)
                 : SK_ENOMEM;
    }
    json_decref(row);
    sk_free(sys);
    sk_free(usr);
    sk_bench_close(b);
    return rc == SK_OK ? 0 : rc;
}

static void test_userbench__alloc_sweep(void **state)
{
    struct sweep_ctx s;
    json_t *items = example_items("train");
    char *p = tu_source_path("examples/yaml-bench/bench.yaml");
    (void)state;
    s.path = p;
    s.item = json_array_get(items, 0);
    assert_true(tu_alloc_sweep(sweep_body, &s) > 10);
    sk_free(p);
    json_decref(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userbench__extract_modes),
        cmocka_unit_test(test_userbench__extract_reasons),
        cmocka_unit_test(test_userbench__squad_vectors),
        cmocka_unit_test(test_userbench__anls_vectors),
        cmocka_unit_test(test_userbench__choice_vectors),
        cmocka_unit_test(test_userbench__numeric_table),
        cmocka_unit_test(test_userbench__numeric_reasons),
        cmocka_unit_test(test_userbench__contains_table),
        cmocka_unit_test(test_userbench__thresholds),
        cmocka_unit_test(test_userbench__parse_number),
        cmocka_unit_test(test_userbench__command_success),
        cmocka_unit_test(test_userbench__command_timeout),
        cmocka_unit_test(test_userbench__command_garbage),
        cmocka_unit_test(test_userbench__command_not_found),
        cmocka_unit_test(test_userbench__command_parse),
        cmocka_unit_test(test_userbench__yaml_errors),
        cmocka_unit_test(test_userbench__missing_file),
        cmocka_unit_test(test_userbench__open_and_build),
        cmocka_unit_test(test_userbench__bad_items),
        cmocka_unit_test(test_userbench__score_rows),
        cmocka_unit_test(test_userbench__choice_bench),
        cmocka_unit_test(test_userbench__scorer_errors),
        cmocka_unit_test(test_userbench__example_snapshots),
        cmocka_unit_test(test_userbench__example_rollout),
        cmocka_unit_test(test_userbench__alloc_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
