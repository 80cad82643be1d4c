/*
 * test_livemath.c - LiveMathematicianBench: the choice-label parser, the
 * evaluator, raw-item normalization and the per-item choice shuffle
 * against values computed by the reference's own modules
 * (tests/fixtures/livemath/gen.py), prompt snapshots, the score rows, and
 * a rollout through the simulator that answers some items correctly.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benches.h"
#include "bench/choice.h"
#include "bench/livemath.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/sha256.h"

static json_t *load_fixture(const char *rel)
{
    char *path = tu_source_path(rel);
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

static json_t *load_vectors(void)
{
    return load_fixture("tests/fixtures/livemath/vectors.json");
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("vector without string '%s'", key);
    return s;
}

/* normalize_label of every code point (two probes each) hashes like the
 * reference's. */
static void test_livemath__normalize_all_code_points(void **state)
{
    json_t *v = load_vectors();
    struct sk_buf all;
    char in[16], out[64], hex[65];
    uint32_t c;
    (void)state;
    sk_buf_init(&all, SK_BUF_UNLIMITED);
    for (c = 0; c < 0x110000; c++) {
        char u[5];
        size_t k;
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        if (c < 0x80) {
            u[0] = (char)c;
            k = 1;
        } else if (c < 0x800) {
            u[0] = (char)(0xC0 | (c >> 6));
            u[1] = (char)(0x80 | (c & 0x3F));
            k = 2;
        } else if (c < 0x10000) {
            u[0] = (char)(0xE0 | (c >> 12));
            u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            u[2] = (char)(0x80 | (c & 0x3F));
            k = 3;
        } else {
            u[0] = (char)(0xF0 | (c >> 18));
            u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            u[3] = (char)(0x80 | (c & 0x3F));
            k = 4;
        }
        u[k] = '\0';
        if (c == 0) {
            /* a C string cannot hold U+0000: the reference's bytes */
            assert_int_equal(sk_buf_append(&all, "X\0X|\0\n", 6), SK_OK);
            continue;
        }
        in[0] = 'x';
        memcpy(in + 1, u, k);
        memcpy(in + 1 + k, "x", 2);
        sk_choice_normalize(in, out, sizeof out);
        assert_int_equal(sk_buf_puts(&all, out), SK_OK);
        assert_int_equal(sk_buf_putc(&all, '|'), SK_OK);
        memcpy(in, u, k);
        memcpy(in + k, ".", 2);
        sk_choice_normalize(in, out, sizeof out);
        assert_int_equal(sk_buf_puts(&all, out), SK_OK);
        assert_int_equal(sk_buf_putc(&all, '\n'), SK_OK);
    }
    assert_int_equal(sk_sha256_hex(all.data, all.len, hex), SK_OK);
    assert_string_equal(hex, str_of(v, "normalize_all_sha256"));
    sk_buf_release(&all);
    json_decref(v);
}

/* Borrowed strings of a JSON array of strings (NULL for null). */
static const char **strings_of(const json_t *arr, size_t *n)
{
    const char **s;
    size_t i;
    *n = json_array_size(arr);
    if (!json_is_array(arr))
        return NULL;
    s = sk_calloc(*n + 1, sizeof(*s));
    assert_non_null(s);
    for (i = 0; i < *n; i++)
        s[i] = json_string_value(json_array_get(arr, i));
    return s;
}

/* The conformance table of the parser alone (extraction switched off in
 * the reference): accepted and rejected spellings, text matching, Unicode
 * case rules, whitespace. */
static void test_livemath__parse_matches_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "parse"), *r;
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) >= 40);
    json_array_foreach(rows, i, r)
    {
        size_t n, nt;
        const char **labels = strings_of(json_object_get(r, "labels"), &n);
        const char **texts = strings_of(json_object_get(r, "texts"), &nt);
        const char *ans = str_of(r, "answer");
        char out[256], norm[256];
        int got = sk_choice_parse(ans, labels, texts, n, out, sizeof out);
        if (got != json_is_true(json_object_get(r, "is_label")) ||
            strcmp(out, str_of(r, "label")) != 0)
            fail_msg("row %zu '%s': got %d '%s', reference '%s'", i, ans, got,
                     out, str_of(r, "label"));
        sk_choice_normalize(ans, norm, sizeof norm);
        assert_string_equal(norm, str_of(r, "normalized"));
        sk_free(labels);
        sk_free(texts);
    }
    json_decref(v);
}

static void test_livemath__parse_small_buffers(void **state)
{
    static const char *const labels[] = {"A", "B"};
    char out[4];
    (void)state;
    /* the verdict does not depend on the room for the label */
    assert_int_equal(sk_choice_parse("b.", labels, NULL, 2, NULL, 0), 1);
    assert_int_equal(sk_choice_parse("x", labels, NULL, 2, NULL, 0), 0);
    /* cut at a code point boundary: "ÉÉ" needs 4 bytes + NUL */
    assert_int_equal(
        sk_choice_parse("\xc3\xa9\xc3\xa9", labels, NULL, 2, out, sizeof out),
        0);
    assert_string_equal(out, "\xc3\x89");
    sk_choice_normalize("abcdef", out, sizeof out);
    assert_string_equal(out, "ABC");
    sk_choice_normalize(NULL, out, sizeof out);
    assert_string_equal(out, "");
    /* NULL labels and texts read as "" */
    {
        const char *const l2[] = {NULL, "B"};
        const char *const t2[] = {"alpha", NULL};
        assert_int_equal(sk_choice_parse("", l2, t2, 2, out, sizeof out), 1);
        assert_string_equal(out, "");
        assert_int_equal(sk_choice_parse("ALPHA", l2, t2, 2, out, sizeof out),
                         1);
        assert_string_equal(out, "");
    }
}

/* An item {id, question, choices, correct_choice} in the normalized form. */
static json_t *mcq_item(const char *id, const json_t *choices,
                        const char *correct_label, const char *correct_text)
{
    json_t *o = json_pack("{s:s, s:s, s:O, s:{s:s, s:s}}", "id", id, "question",
                          "Q", "choices", choices, "correct_choice", "label",
                          correct_label, "text", correct_text);
    assert_non_null(o);
    return o;
}

static void read_item(const json_t *o, struct sk_livemath_item *it)
{
    struct sk_error err;
    sk_livemath_item_init(it);
    if (sk_livemath_item_from_json(o, it, &err) != SK_OK)
        fail_msg("item: %s", err.msg);
}

/* evaluate() end to end: extraction, parsing, texts, correctness and the
 * reference's fail reason. */
static void test_livemath__evaluate_matches_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "evaluate"), *r;
    json_t *choices = json_array();
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) >= 40);
    {
        static const char *const texts[] = {
            "G is abelian.", "G is cyclic.",
            "G is abelian if and only if p = 2.",
            "G has exactly p subgroups of order p.", "\xce\xa3 is final"};
        for (i = 0; i < 5; i++) {
            char l[2] = {(char)('A' + i), '\0'};
            json_array_append_new(
                choices, json_pack("{s:s, s:s}", "label", l, "text", texts[i]));
        }
    }
    json_array_foreach(rows, i, r)
    {
        const char *correct = str_of(r, "correct");
        const char *ctext = json_string_value(json_object_get(
            json_array_get(choices, (size_t)(correct[0] - 'A')), "text"));
        json_t *o = mcq_item("x", choices, correct, ctext);
        struct sk_livemath_item it;
        struct sk_livemath_result res;
        const char *resp = str_of(r, "response");
        int em = json_number_value(json_object_get(r, "em")) == 1.0;
        read_item(o, &it);
        assert_int_equal(sk_livemath_evaluate(&it, resp, strlen(resp), &res),
                         SK_OK);
        if (strcmp(res.extracted, str_of(r, "extracted")) != 0 ||
            strcmp(res.predicted_label, str_of(r, "predicted_label")) != 0 ||
            strcmp(res.predicted_answer, str_of(r, "predicted_answer")) != 0 ||
            strcmp(res.predicted_text, str_of(r, "predicted_text")) != 0 ||
            res.correct != em)
            fail_msg("row %zu '%s': extracted '%s' label '%s' answer '%s' "
                     "text '%s' correct %d",
                     i, resp, res.extracted, res.predicted_label,
                     res.predicted_answer, res.predicted_text, res.correct);
        assert_string_equal(res.correct_label, str_of(r, "correct_label"));
        assert_string_equal(res.correct_text, str_of(r, "correct_text"));
        if (em) {
            assert_null(res.fail_reason);
        } else {
            char want[512];
            snprintf(want, sizeof want,
                     "MCQ=0: predicted '%s' but expected '%s'",
                     str_of(r, "predicted_answer"), str_of(r, "correct_label"));
            assert_string_equal(res.fail_reason, want);
        }
        sk_livemath_result_release(&res);
        sk_livemath_item_release(&it);
        json_decref(o);
    }
    json_decref(choices);
    json_decref(v);
}

/* The choices and correct choice of it equal the reference's. */
static void assert_item_choices(const struct sk_livemath_item *it,
                                const json_t *choices, const json_t *correct,
                                const char *what)
{
    size_t i;
    if (it->n_choices != json_array_size(choices))
        fail_msg("%s: %zu choices, reference %zu", what, it->n_choices,
                 json_array_size(choices));
    for (i = 0; i < it->n_choices; i++) {
        const json_t *c = json_array_get(choices, i);
        if (strcmp(it->choices[i].label, str_of(c, "label")) != 0 ||
            strcmp(it->choices[i].text, str_of(c, "text")) != 0)
            fail_msg("%s: choice %zu is %s. %s, reference %s. %s", what, i,
                     it->choices[i].label, it->choices[i].text,
                     str_of(c, "label"), str_of(c, "text"));
    }
    if (strcmp(it->correct.label, str_of(correct, "label")) != 0 ||
        strcmp(it->correct.text, str_of(correct, "text")) != 0)
        fail_msg("%s: correct %s '%s', reference %s '%s'", what,
                 it->correct.label, it->correct.text, str_of(correct, "label"),
                 str_of(correct, "text"));
}

/* Raw rows (mcq wrapper, list/str/dict choices, label or dict correct
 * choice) are normalized as the reference's load_items does. */
static void test_livemath__raw_items_normalized(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "raw"), *r;
    size_t i;
    (void)state;
    assert_int_equal(json_array_size(rows), 6);
    json_array_foreach(rows, i, r)
    {
        const json_t *norm = json_object_get(r, "norm");
        const json_t *tt = json_object_get(norm, "theorem_type");
        struct sk_livemath_item it;
        char what[32];
        read_item(json_object_get(r, "raw"), &it);
        snprintf(what, sizeof what, "raw row %zu", i);
        assert_string_equal(it.id, str_of(norm, "id"));
        assert_string_equal(it.question, str_of(norm, "question"));
        assert_string_equal(it.theorem, str_of(norm, "theorem"));
        assert_string_equal(it.sketch, str_of(norm, "sketch"));
        assert_string_equal(it.task_type,
                            json_array_size(tt)
                                ? json_string_value(json_array_get(tt, 0))
                                : "math_mcq");
        assert_item_choices(&it, json_object_get(norm, "choices"),
                            json_object_get(norm, "correct_choice"), what);
        sk_livemath_item_release(&it);
    }
    json_decref(v);
}

/* Random(int(sha256(f"{seed}:{id}")[:16], 16)).shuffle, relabel, remap:
 * seeds of both signs and 64-bit extremes, odd ids, a correct label in
 * lower case and one that matches no choice. */
static void test_livemath__shuffle_matches_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "shuffle"), *r;
    size_t i, top_bit = 0;
    (void)state;
    assert_true(json_array_size(rows) > 70);
    json_array_foreach(rows, i, r)
    {
        const json_t *cin = json_object_get(r, "correct_in");
        size_t n = cin ? 7 : 5, k;
        json_t *choices = json_array(), *o;
        struct sk_livemath_item it;
        struct sk_error err;
        char what[64];
        for (k = 0; k < n; k++) {
            char l[2] = {(char)('A' + k), '\0'}, t[16];
            snprintf(t, sizeof t, cin ? "t%s" : "text %s", l);
            json_array_append_new(
                choices, json_pack("{s:s, s:s}", "label", l, "text", t));
        }
        o = cin ? mcq_item(str_of(r, "id"), choices, json_string_value(cin),
                           "kept")
                : mcq_item(str_of(r, "id"), choices, "C", "text C");
        read_item(o, &it);
        assert_int_equal(
            sk_livemath_shuffle(
                &it, (int64_t)json_integer_value(json_object_get(r, "seed")),
                &err),
            SK_OK);
        snprintf(what, sizeof what, "row %zu", i);
        assert_item_choices(&it, json_object_get(r, "choices"),
                            json_object_get(r, "correct_choice"), what);
        top_bit += str_of(r, "rng_seed")[0] != '\0' &&
                   strtod(str_of(r, "rng_seed"), NULL) >= 9223372036854775808.0;
        sk_livemath_item_release(&it);
        json_decref(o);
        json_decref(choices);
    }
    /* the table exercises PRNG seeds at and above 2**63 */
    assert_true(top_bit > 5);
    json_decref(v);
}

/* The fixture split, shuffled for two seeds, as the reference's batches. */
static void test_livemath__fixture_split_shuffle(void **state)
{
    json_t *v = load_vectors(), *splits[3];
    const json_t *rows = json_object_get(v, "fixture_shuffle"), *r;
    static const char *const names[] = {"train", "val", "test"};
    size_t i, k, checked = 0;
    (void)state;
    for (k = 0; k < 3; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fixtures/livemath/split/%s/items.json",
                 names[k]);
        splits[k] = load_fixture(rel);
    }
    assert_int_equal(json_array_size(splits[0]), 12);
    assert_int_equal(json_array_size(splits[1]), 6);
    assert_int_equal(json_array_size(splits[2]), 6);
    json_array_foreach(rows, i, r)
    {
        const char *split = str_of(r, "split"), *id = str_of(r, "id");
        for (k = 0; k < 3; k++) {
            const json_t *o;
            size_t j;
            if (strcmp(names[k], split) != 0)
                continue;
            json_array_foreach(splits[k], j, o)
            {
                struct sk_livemath_item it;
                struct sk_error err;
                if (strcmp(str_of(o, "id"), id) != 0)
                    continue;
                read_item(o, &it);
                assert_int_equal(
                    sk_livemath_shuffle(
                        &it, json_integer_value(json_object_get(r, "seed")),
                        &err),
                    SK_OK);
                assert_item_choices(&it, json_object_get(r, "choices"),
                                    json_object_get(r, "correct_choice"), id);
                sk_livemath_item_release(&it);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 48);
    for (k = 0; k < 3; k++)
        json_decref(splits[k]);
    json_decref(v);
}

static void test_livemath__bad_items(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"question\": \"q\", \"choices\": [\"a\"], \"correct_choice\": "
        "\"A\"}",
        "{\"id\": 1.5, \"question\": \"q\", \"choices\": [\"a\"], "
        "\"correct_choice\": \"A\"}",
        "{\"id\": \"x\", \"choices\": [\"a\"], \"correct_choice\": \"A\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": [], "
        "\"correct_choice\": \"A\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": [\"a\"]}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": [\"a\"], "
        "\"correct_choice\": {\"label\": \" .\"}}",
        "{\"id\": \"x\", \"question\": [\"q\"], \"choices\": [\"a\"], "
        "\"correct_choice\": \"A\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": [1.5], "
        "\"correct_choice\": \"A\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": "
        "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"], "
        "\"correct_choice\": \"A\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": [{\"label\": "
        "\"A\", \"text\": \"a\"}], \"correct_choice\": {\"label\": \"A\", "
        "\"text\": \"a\"}, \"theorem\": 3.5}",
        "{\"id\": \"x\", \"question\": \"q\", \"choices\": [{\"label\": "
        "\"A\", \"text\": \"a\"}], \"correct_choice\": {\"label\": \"A\", "
        "\"text\": \"a\"}, \"theorem_type\": [{}]}",
    };
    struct sk_livemath_item it;
    struct sk_error err;
    size_t i;
    (void)state;
    sk_livemath_item_init(&it);
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        json_t *o = json_loads(bad[i], 0, NULL);
        assert_non_null(o);
        sk_error_clear(&err);
        if (sk_livemath_item_from_json(o, &it, &err) != SK_EDATA)
            fail_msg("bad item %zu accepted", i);
        assert_int_equal(err.code, SK_EDATA);
        assert_null(it.id);
        json_decref(o);
    }
    /* eight labelled choices read fine but cannot be relabelled A-G */
    {
        json_t *ch = json_array(), *o;
        for (i = 0; i < 8; i++) {
            char l[2] = {(char)('A' + i), '\0'};
            json_array_append_new(
                ch, json_pack("{s:s, s:s}", "label", l, "text", "t"));
        }
        o = mcq_item("eight", ch, "A", "t");
        read_item(o, &it);
        assert_int_equal(sk_livemath_shuffle(&it, 1, &err), SK_EDATA);
        assert_int_equal(it.n_choices, 8);
        assert_string_equal(it.choices[7].label, "H");
        sk_livemath_item_release(&it);
        json_decref(o);
        json_decref(ch);
    }
}

/* Items in the normalized form are used as they are, like the reference's
 * split_dir loader: no stripping, labels kept, theorem_type[0] as is. */
static void test_livemath__normalized_items_as_given(void **state)
{
    json_t *o = json_loads(
        "{\"id\": 7, \"question\": \" Q? \", \"theorem\": \" T \", "
        "\"theorem_type\": [\"\", \"Algebra\"], \"choices\": "
        "[{\"label\": \"a\", \"text\": \" one \"}, {\"label\": \"b\", "
        "\"text\": \"\"}], \"correct_choice\": {\"label\": \"b.\", "
        "\"text\": \" \"}}",
        0, NULL);
    struct sk_livemath_item it;
    struct sk_livemath_result r;
    (void)state;
    assert_non_null(o);
    read_item(o, &it);
    assert_string_equal(it.id, "7");
    assert_string_equal(it.question, " Q? ");
    assert_string_equal(it.theorem, " T ");
    assert_string_equal(it.task_type, "");
    assert_int_equal(it.n_choices, 2);
    assert_string_equal(it.choices[0].label, "a");
    assert_string_equal(it.choices[0].text, " one ");
    assert_string_equal(it.choices[1].text, "");
    assert_string_equal(it.correct.label, "b.");
    /* the reference's evaluator normalizes both sides */
    assert_int_equal(sk_livemath_evaluate(&it, "B", 1, &r), SK_OK);
    assert_int_equal(r.correct, 1);
    assert_string_equal(r.correct_label, "B");
    assert_string_equal(r.correct_text, "");
    sk_livemath_result_release(&r);
    assert_int_equal(sk_livemath_evaluate(&it, "ONE", 3, &r), SK_OK);
    assert_int_equal(r.correct, 0);
    assert_string_equal(r.predicted_label, "A");
    assert_string_equal(r.predicted_text, "one");
    sk_livemath_result_release(&r);
    sk_livemath_item_release(&it);
    json_decref(o);
    /* no theorem_type: the reference's "math_mcq" */
    o = json_loads("{\"id\": \"x\", \"question\": \"Q\", \"choices\": "
                   "[{\"label\": \"A\", \"text\": \"a\"}], "
                   "\"correct_choice\": {\"label\": \"A\", \"text\": "
                   "\"a\"}}",
                   0, NULL);
    read_item(o, &it);
    assert_string_equal(it.task_type, "math_mcq");
    assert_string_equal(it.theorem, "");
    sk_livemath_item_release(&it);
    json_decref(o);
}

/* A prompt compared with tests/fixtures/livemath/<name>; re-recorded with
 * SKILLOPT_BLESS=1. */
static void check_snapshot(const char *name, const char *got)
{
    char rel[128], *path, *want;
    snprintf(rel, sizeof rel, "tests/fixtures/livemath/%s", name);
    path = tu_source_path(rel);
    if (getenv("SKILLOPT_BLESS") && *getenv("SKILLOPT_BLESS") == '1') {
        assert_int_equal(sk_fs_write_atomic(path, got, strlen(got), NULL),
                         SK_OK);
        sk_free(path);
        return;
    }
    want = tu_read(path, NULL);
    if (!want)
        fail_msg("%s: missing snapshot (record with SKILLOPT_BLESS=1)", path);
    if (strcmp(want, got) != 0)
        fail_msg("%s differs from the rendered prompt:\n%s", path, got);
    sk_free(want);
    sk_free(path);
}

/* Configuration defaults with LiveMath's options set. */
static void config_with(struct sk_config *cfg, int theorem, int sketch,
                        int shuffle)
{
    struct sk_error err;
    sk_config_init(cfg);
    if (sk_config_defaults(cfg, &err) != SK_OK)
        fail_msg("config: %s", err.msg);
    /* shuffle_choices is null by default, which means on */
    assert_true(cfg->is_null[SK_OPT_shuffle_choices]);
    assert_false(cfg->use_theorem || cfg->use_sketch);
    cfg->use_theorem = theorem;
    cfg->use_sketch = sketch;
    if (!shuffle) {
        cfg->is_null[SK_OPT_shuffle_choices] = 0;
        cfg->shuffle_choices = 0;
    }
}

static json_t *fixture_item(const char *split, size_t i)
{
    char rel[128];
    json_t *all, *o;
    snprintf(rel, sizeof rel, "tests/fixtures/livemath/split/%s/items.json",
             split);
    all = load_fixture(rel);
    o = json_incref(json_array_get(all, i));
    assert_non_null(o);
    json_decref(all);
    return o;
}

static void build_prompts(const json_t *item, const struct sk_config *cfg,
                          int64_t seed, char **sys, char **user)
{
    struct sk_bench_ctx ctx;
    struct sk_error err;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = cfg;
    ctx.seed = seed;
    if (sk_bench_livemath.build(item, "# Skill under test\n\n- Rule one.\n",
                                &ctx, sys, user, &err) != SK_OK)
        fail_msg("build: %s", err.msg);
}

static void test_livemath__prompt_snapshots(void **state)
{
    json_t *item = fixture_item("val", 0);
    struct sk_config cfg;
    char *sys, *user;
    (void)state;
    assert_ptr_equal(sk_bench_find("livemathematicianbench"),
                     &sk_bench_livemath);
    /* defaults: shuffled with the seed, no theorem or sketch */
    build_prompts(item, NULL, 42, &sys, &user);
    check_snapshot("prompt.system.txt", sys);
    check_snapshot("prompt.user.txt", user);
    assert_null(strstr(user, "Wilson"));
    sk_free(sys);
    sk_free(user);
    /* theorem and sketch shown, another seed */
    config_with(&cfg, 1, 1, 1);
    build_prompts(item, &cfg, 1043, &sys, &user);
    check_snapshot("prompt_theorem_sketch.user.txt", user);
    assert_non_null(strstr(user, "Wilson's theorem"));
    sk_free(sys);
    sk_free(user);
    sk_config_release(&cfg);
    /* not shuffled: the options in the item's order */
    config_with(&cfg, 0, 0, 0);
    build_prompts(item, &cfg, 42, &sys, &user);
    assert_non_null(strstr(user, "A. For all odd n.\nB. Exactly when n is "
                                 "prime.\nC. For all prime n,"));
    sk_free(sys);
    sk_free(user);
    sk_config_release(&cfg);
    json_decref(item);
}

/* The row fields score() sets, with the shuffled correct label. */
static void test_livemath__score_rows(void **state)
{
    json_t *item = fixture_item("val", 0), *row;
    struct sk_livemath_item it;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    char resp[256], wrong[2];
    (void)state;
    read_item(item, &it);
    assert_int_equal(sk_livemath_shuffle(&it, 7, &err), SK_OK);
    memset(&ctx, 0, sizeof ctx);
    ctx.seed = 7;
    /* right, answered by label */
    snprintf(resp, sizeof resp, "Reasoning.\n<answer>%s.</answer>",
             it.correct.label);
    row = json_object();
    assert_int_equal(sk_bench_livemath.score(item, resp, &ctx, row, &err),
                     SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    assert_true(json_real_value(json_object_get(row, "soft")) == 1.0);
    assert_true(json_real_value(json_object_get(row, "em")) == 1.0);
    assert_true(json_real_value(json_object_get(row, "f1")) == 1.0);
    assert_string_equal(str_of(row, "predicted_answer"), it.correct.label);
    assert_string_equal(str_of(row, "predicted_text"),
                        "Exactly when n is prime.");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(row, "gold_answers"), 0)),
                        it.correct.label);
    assert_string_equal(str_of(row, "fail_reason"), "");
    assert_string_equal(str_of(row, "task_type"), "Number Theory");
    assert_string_equal(str_of(row, "correct_text"),
                        "Exactly when n is prime.");
    json_decref(row);
    /* right, answered by the option's text */
    row = json_object();
    assert_int_equal(
        sk_bench_livemath.score(
            item, "<answer>exactly when N is prime.</answer>", &ctx, row, &err),
        SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    json_decref(row);
    /* wrong, and a rejected spelling of the right one */
    wrong[0] = it.correct.label[0] == 'A' ? 'B' : 'A';
    wrong[1] = '\0';
    snprintf(resp, sizeof resp, "<answer>%s</answer>", wrong);
    row = json_object();
    assert_int_equal(sk_bench_livemath.score(item, resp, &ctx, row, &err),
                     SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    assert_true(json_real_value(json_object_get(row, "soft")) == 0.0);
    snprintf(resp, sizeof resp, "MCQ=0: predicted '%s' but expected '%s'",
             wrong, it.correct.label);
    assert_string_equal(str_of(row, "fail_reason"), resp);
    json_decref(row);
    snprintf(resp, sizeof resp, "<answer>(%s)</answer>", it.correct.label);
    row = json_object();
    assert_int_equal(sk_bench_livemath.score(item, resp, &ctx, row, &err),
                     SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    json_decref(row);
    /* another seed shuffles differently: the label alone is not enough */
    sk_livemath_item_release(&it);
    json_decref(item);
}

struct sweep {
    const json_t *item;
    const struct sk_config *cfg;
};

static int score_body(void *p)
{
    struct sweep *s = p;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *row = json_object();
    int rc;
    memset(&ctx, 0, sizeof ctx);
    ctx.seed = 3;
    if (!row)
        return SK_ENOMEM;
    rc = sk_bench_livemath.score(s->item, "think\n<answer>b) x</answer>", &ctx,
                                 row, &err);
    if (rc == SK_OK && !json_object_get(row, "correct_text"))
        rc = SK_EINVAL;
    json_decref(row);
    return rc;
}

static int build_body(void *p)
{
    struct sweep *s = p;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    char *sys = NULL, *user = NULL;
    int rc;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = s->cfg;
    ctx.seed = 3;
    rc = sk_bench_livemath.build(s->item, "skill", &ctx, &sys, &user, &err);
    if (rc == SK_OK && (!strstr(user, "## Options") || !strstr(sys, "skill") ||
                        !strstr(user, "Extreme value theorem")))
        rc = SK_EINVAL;
    sk_free(sys);
    sk_free(user);
    return rc;
}

static void test_livemath__survives_alloc_failures(void **state)
{
    json_t *raw = json_loads(
        "{\"month\": \"202511\", \"no\": 3, \"theorem\": \"T\", "
        "\"mcq\": {\"question\": \"Q\", \"choices\": {\"B\": \"x\", \"A\": "
        "\"y\"}, \"correct_choice\": {\"label\": \"C\", \"text\": \"z\"}}}",
        0, NULL);
    json_t *norm = fixture_item("train", 1);
    struct sk_config cfg;
    struct sweep s;
    (void)state;
    assert_non_null(raw);
    config_with(&cfg, 1, 0, 1);
    s.cfg = &cfg;
    s.item = raw;
    assert_true(tu_alloc_sweep(score_body, &s) > 10);
    s.item = norm;
    assert_true(tu_alloc_sweep(score_body, &s) > 10);
    assert_true(tu_alloc_sweep(build_body, &s) > 10);
    sk_config_release(&cfg);
    json_decref(raw);
    json_decref(norm);
}

/* --- a rollout through the simulator ------------------------------------ */

/* The fixture's items by question, for the responder. */
struct oracle {
    json_t *items;  /* all fixture items */
    int right_only; /* 1: answer right for every item */
};

/* The label the prompt gives to text ("X. text" lines), or NULL. */
static const char *label_for(const char *user, const char *text, char *lab)
{
    const char *p = user;
    size_t tl = strlen(text);
    while ((p = strstr(p, text)) != NULL) {
        if (p - user >= 3 && p[-1] == ' ' && p[-2] == '.' &&
            (p - user == 3 || p[-4] == '\n') &&
            (p[tl] == '\n' || p[tl] == '\0')) {
            lab[0] = p[-3];
            lab[1] = '\0';
            return lab;
        }
        p += tl;
    }
    return NULL;
}

/* Answers right for the items at even positions (or all), wrong otherwise. */
static int oracle_respond(void *ud, const struct sk_sim_request *req,
                          struct sk_sim_reply *reply)
{
    struct oracle *o = ud;
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL), *it;
    const json_t *msgs = json_object_get(body, "messages");
    const char *user = json_string_value(json_object_get(
        json_array_get(msgs, json_array_size(msgs) - 1), "content"));
    char answer[256], lab[2];
    size_t i;
    snprintf(answer, sizeof answer, "I do not know.");
    json_array_foreach(o->items, i, it)
    {
        const char *q = json_string_value(json_object_get(it, "question"));
        const char *t = json_string_value(
            json_object_get(json_object_get(it, "correct_choice"), "text"));
        const char *l;
        if (!user || !strstr(user, q))
            continue;
        l = label_for(user, t, lab);
        if (!l)
            break;
        if (o->right_only || i % 2 == 0)
            snprintf(answer, sizeof answer,
                     "Comparing the options.\n<answer>%s</answer>", l);
        else
            snprintf(answer, sizeof answer, "<answer>%c</answer>",
                     l[0] == 'A' ? 'B' : 'A');
        break;
    }
    json_decref(body);
    reply->body = sk_sim_chat_completion("sim-target", answer, 10, 10);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    return reply->body ? 0 : 1;
}

static void test_livemath__rollout_scores_sim_answers(void **state)
{
    static const char sim_yaml[] =
        "model:\n  backend: sim\n  optimizer_backend: sim\n"
        "  target_backend: sim\n  target: sim-target\n"
        "env:\n  name: livemathematicianbench\n";
    struct oracle o;
    struct sk_config cfg;
    struct sk_config_args a;
    struct sk_llm_client_opts lo;
    struct sk_llm_client *c;
    struct sk_rollout_opts ro;
    struct sk_rollout_stats st;
    struct sk_error err;
    json_t *items =
        load_fixture("tests/fixtures/livemath/split/val/items.json");
    json_t *rows, *r;
    char *dir = tu_mkdtemp(), *cfgp = tu_write(dir, "c.yaml", sim_yaml);
    char *out = sk_fs_join(dir, "rollout");
    size_t i, right = 0;
    (void)state;
    o.items = items;
    o.right_only = 0;
    memset(&a, 0, sizeof a);
    a.path = cfgp;
    sk_config_init(&cfg);
    if (sk_config_load(&a, &cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&lo, 0, sizeof lo);
    lo.sim_responder = oracle_respond;
    lo.sim_ud = &o;
    if (sk_llm_client_new(&cfg, &lo, &c, &err) != SK_OK)
        fail_msg("%s", err.msg);
    memset(&ro, 0, sizeof ro);
    ro.cfg = &cfg;
    ro.seed = 1043;
    ro.max_completion_tokens = 256;
    if (sk_rollout_run_opts(c, &sk_bench_livemath, "skill", items, out, &ro,
                            &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    assert_int_equal(st.sent, 6);
    assert_int_equal(st.invalid, 0);
    json_array_foreach(rows, i, r)
    {
        const json_t *item = json_array_get(items, i);
        int ok = i % 2 == 0; /* the responder's right answers */
        struct sk_buf pd;
        char *p, *conv;
        assert_int_equal(json_integer_value(json_object_get(r, "hard")), ok);
        assert_true(json_real_value(json_object_get(r, "soft")) == ok);
        assert_string_equal(str_of(r, "task_type"),
                            json_string_value(json_array_get(
                                json_object_get(item, "theorem_type"), 0)));
        assert_string_equal(
            str_of(r, "correct_text"),
            str_of(json_object_get(item, "correct_choice"), "text"));
        if (!ok)
            assert_memory_equal(str_of(r, "fail_reason"), "MCQ=0: predicted",
                                16);
        right += (size_t)ok;
        sk_buf_init(&pd, SK_BUF_UNLIMITED);
        assert_int_equal(sk_buf_printf(&pd, "%s/predictions/", out), SK_OK);
        assert_int_equal(sk_rollout_pred_dir(str_of(r, "id"), &pd), SK_OK);
        assert_int_equal(sk_buf_puts(&pd, "/conversation.json"), SK_OK);
        conv = tu_read(sk_buf_cstr(&pd), NULL);
        assert_non_null(conv);
        assert_non_null(strstr(conv, "Gold answers: ['"));
        sk_free(conv);
        p = sk_fs_join(out, SK_ROLLOUT_RESULTS);
        assert_true(sk_fs_exists(p));
        sk_free(p);
        sk_buf_release(&pd);
    }
    assert_int_equal(right, 3);
    assert_true(st.hard_mean == 0.5);
    json_decref(rows);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(cfgp);
    sk_free(out);
    json_decref(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_livemath__normalize_all_code_points),
        cmocka_unit_test(test_livemath__parse_matches_reference),
        cmocka_unit_test(test_livemath__parse_small_buffers),
        cmocka_unit_test(test_livemath__evaluate_matches_reference),
        cmocka_unit_test(test_livemath__raw_items_normalized),
        cmocka_unit_test(test_livemath__shuffle_matches_reference),
        cmocka_unit_test(test_livemath__fixture_split_shuffle),
        cmocka_unit_test(test_livemath__bad_items),
        cmocka_unit_test(test_livemath__normalized_items_as_given),
        cmocka_unit_test(test_livemath__prompt_snapshots),
        cmocka_unit_test(test_livemath__score_rows),
        cmocka_unit_test(test_livemath__survives_alloc_failures),
        cmocka_unit_test(test_livemath__rollout_scores_sim_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
