/*
 * test_searchqa.c - SearchQA scorer and the CPython string helpers of
 * score.h, checked against vectors produced by the reference's own code
 * (tests/fixtures/searchqa/gen.py).
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/score.h"
#include "bench/searchqa.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/sha256.h"

static json_t *load_vectors(void)
{
    char *path = tu_source_path("tests/fixtures/searchqa/vectors.json");
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

/* Python repr(float) parsed back: repr round-trips, so equal bits. */
static void assert_double_is(double got, const char *want_repr)
{
    char *end;
    double want;
    errno = 0;
    want = strtod(want_repr, &end);
    assert_int_equal(errno, 0);
    assert_true(*end == '\0');
    if (memcmp(&got, &want, sizeof(got)) != 0)
        fail_msg("got %.17g, reference %s", got, want_repr);
}

/* Gold strings of a JSON array, borrowed from it. */
static const char **gold_array(const json_t *arr, size_t *n)
{
    size_t i;
    const char **g;
    *n = json_array_size(arr);
    g = sk_calloc(*n ? *n : 1, sizeof(*g));
    assert_non_null(g);
    for (i = 0; i < *n; i++)
        g[i] = json_string_value(json_array_get(arr, i));
    return g;
}

static void append_cp(struct sk_buf *b, uint32_t c)
{
    assert_int_equal(sk_score_encode(&c, 1, b), SK_OK);
}

static void assert_sha(const struct sk_buf *b, const json_t *uni,
                       const char *key)
{
    char hex[65];
    assert_int_equal(sk_sha256_hex(b->data, b->len, hex), SK_OK);
    assert_string_equal(hex, json_string_value(json_object_get(uni, key)));
}

/* Every code point lowered alone, and the final-sigma probes, hash to the
 * same bytes as CPython; so do the isspace/word/isprintable bitmaps. */
static void test_searchqa__unicode_tables_match_cpython(void **state)
{
    json_t *v = load_vectors();
    const json_t *uni = json_object_get(v, "unicode");
    struct sk_buf low, sig, sp, wd, pr;
    uint32_t c;
    (void)state;
    sk_buf_init(&low, SK_BUF_UNLIMITED);
    sk_buf_init(&sig, SK_BUF_UNLIMITED);
    sk_buf_init(&sp, SK_BUF_UNLIMITED);
    sk_buf_init(&wd, SK_BUF_UNLIMITED);
    sk_buf_init(&pr, SK_BUF_UNLIMITED);
    for (c = 0; c < 0x110000; c++) {
        uint32_t probe[3][3] = {{c, 0x3A3}, {'A', c, 0x3A3}, {'A', 0x3A3, c}};
        size_t plen[3] = {2, 3, 3};
        uint32_t *out;
        size_t n, k;
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        assert_int_equal(sk_score_lower(&c, 1, &out, &n), SK_OK);
        assert_int_equal(sk_score_encode(out, n, &low), SK_OK);
        sk_free(out);
        for (k = 0; k < 3; k++) {
            assert_int_equal(sk_score_lower(probe[k], plen[k], &out, &n),
                             SK_OK);
            /* The sigma's own lowering: last, last, and index 1. */
            append_cp(&sig, k == 2 ? out[1] : out[n - 1]);
            sk_free(out);
        }
        assert_int_equal(sk_buf_putc(&sp, (char)sk_score_is_space(c)), 0);
        assert_int_equal(sk_buf_putc(&wd, (char)sk_score_is_word(c)), 0);
        assert_int_equal(sk_buf_putc(&pr, (char)sk_score_is_printable(c)), 0);
    }
    assert_sha(&low, uni, "lower_all_sha256");
    assert_sha(&sig, uni, "sigma_probe_sha256");
    assert_sha(&sp, uni, "isspace_sha256");
    assert_sha(&wd, uni, "isword_sha256");
    assert_sha(&pr, uni, "isprintable_sha256");
    sk_buf_release(&low);
    sk_buf_release(&sig);
    sk_buf_release(&sp);
    sk_buf_release(&wd);
    sk_buf_release(&pr);
    json_decref(v);
}

/* Every case: real golds against tricky predictions, and synthetic text. */
static void test_searchqa__evaluate_matches_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *cases = json_object_get(v, "cases");
    size_t i;
    (void)state;
    assert_true(json_array_size(cases) > 2000);
    for (i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const json_t *resp = json_object_get(c, "response");
        const json_t *why = json_object_get(c, "fail_reason");
        struct sk_searchqa_result r;
        struct sk_buf norm;
        size_t n;
        const char **golds = gold_array(json_object_get(c, "golds"), &n);
        assert_int_equal(sk_searchqa_evaluate(json_string_value(resp),
                                              json_string_length(resp), golds,
                                              n, &r),
                         SK_OK);
        if (strcmp(r.predicted,
                   json_string_value(json_object_get(c, "extracted"))) != 0)
            fail_msg("case %zu: extracted '%s'", i, r.predicted);
        sk_buf_init(&norm, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_searchqa_normalize(r.predicted, strlen(r.predicted), &norm),
            SK_OK);
        if (strcmp(sk_buf_cstr(&norm),
                   json_string_value(json_object_get(c, "norm"))) != 0)
            fail_msg("case %zu: normalized '%s'", i, sk_buf_cstr(&norm));
        assert_double_is(r.em, json_string_value(json_object_get(c, "em")));
        assert_double_is(r.f1, json_string_value(json_object_get(c, "f1")));
        assert_double_is(r.sub_em,
                         json_string_value(json_object_get(c, "sub_em")));
        assert_int_equal(r.hard, (int)r.em);
        assert_true(r.soft == r.f1);
        if (json_is_null(why))
            assert_null(r.fail_reason);
        else if (!r.fail_reason ||
                 strcmp(r.fail_reason, json_string_value(why)) != 0)
            fail_msg("case %zu: fail_reason %s", i,
                     r.fail_reason ? r.fail_reason : "(null)");
        sk_buf_release(&norm);
        sk_searchqa_result_release(&r);
        sk_free(golds);
    }
    json_decref(v);
}

static void test_searchqa__extract_answer(void **state)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        {"<answer> Paris </answer>", "Paris"},
        {"x <answer>a</answer> y <ANSWER>b\nc</Answer> z", "b\nc"},
        {"<answer>open only", "<answer>open only"},
        {"<answer>a<answer>b</answer>", "a<answer>b"},
        {"line1\n  line2  \n\n \t", "line2"},
        {"no tags at all", "no tags at all"},
        {"", ""},
        {"   \n\t ", ""},
        {"<an\xc5\xbfwer>long s</an\xc5\xbfwer>", "long s"},
        {"one\xe2\x80\xa8two\xe2\x80\xa9", "two"},
        {"a\r\nb\r\n", "b"},
        {"<answer></answer>", ""},
        {"<answer>x</answer><answer>", "x"},
        {"p\x1cq\xc2\x85r", "r"},
        {"<answer>\xe3\x80\x80ok\xc2\xa0</answer>", "ok"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_score_extract_answer(t[i].in, strlen(t[i].in), &b),
                         SK_OK);
        if (strcmp(sk_buf_cstr(&b), t[i].want) != 0)
            fail_msg("row %zu: got '%s'", i, sk_buf_cstr(&b));
        sk_buf_release(&b);
    }
}

static void test_searchqa__context_cut_small(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "small_contexts");
    size_t i;
    (void)state;
    assert_true(json_array_size(rows) > 100);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        const json_t *ctx = json_object_get(r, "context");
        const json_t *cut = json_object_get(r, "cut");
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_searchqa_cut_context(
                json_string_value(ctx), json_string_length(ctx),
                (size_t)json_integer_value(json_object_get(r, "max")), &b),
            SK_OK);
        if (b.len != json_string_length(cut) ||
            memcmp(sk_buf_cstr(&b), json_string_value(cut), b.len) != 0)
            fail_msg("row %zu: got '%s' want '%s'", i, sk_buf_cstr(&b),
                     json_string_value(cut));
        sk_buf_release(&b);
    }
    json_decref(v);
}

/* The real items of $SKILLOPT_SHARED_DIR/data/searchqa, or of
 * $SKILLOPT_SEARCHQA_DATA (skipped when absent). */
static json_t *load_real_items(void)
{
    static const char *const splits[] = {"train", "val", "test"};
    const char *dir = getenv("SKILLOPT_SEARCHQA_DATA");
    const char *shared = getenv("SKILLOPT_SHARED_DIR");
    char dbuf[4096];
    json_t *all = json_array();
    size_t s;
    if (!dir) {
        snprintf(dbuf, sizeof dbuf, "%s/data/searchqa",
                 shared && *shared ? shared : "../shared");
        dir = dbuf;
    }
    for (s = 0; s < SK_ARRAY_LEN(splits); s++) {
        char path[8192];
        json_t *arr;
        snprintf(path, sizeof(path), "%s/%s/items.json", dir, splits[s]);
        arr = json_load_file(path, 0, NULL);
        if (!arr) {
            json_decref(all);
            return NULL;
        }
        json_array_extend(all, arr);
        json_decref(arr);
    }
    return all;
}

static void test_searchqa__real_items_and_context_cut(void **state)
{
    json_t *items = load_real_items(), *v, *real;
    const json_t *rows;
    size_t i;
    (void)state;
    if (!items) {
        skip();
        return;
    }
    v = load_vectors();
    rows = json_object_get(v, "contexts");
    real = json_array();
    for (i = 0; i < json_array_size(items); i++) {
        const json_t *o = json_array_get(items, i);
        const json_t *ctx = json_object_get(o, "context");
        const json_t *ans = json_object_get(o, "answers");
        struct sk_searchqa_item it;
        size_t k;
        sk_searchqa_item_init(&it);
        assert_int_equal(sk_searchqa_item_from_json(o, &it, NULL), SK_OK);
        assert_string_equal(it.id, json_string_value(json_object_get(o, "id")));
        assert_string_equal(it.question,
                            json_string_value(json_object_get(o, "question")));
        assert_int_equal(it.n_answers, json_array_size(ans));
        for (k = 0; k < it.n_answers; k++)
            assert_string_equal(it.answers[k],
                                json_string_value(json_array_get(ans, k)));
        if (json_is_null(ctx)) {
            assert_null(it.context);
        } else {
            /* No real context exceeds the budget. */
            assert_string_equal(it.context, json_string_value(ctx));
            json_array_append(real, (json_t *)ctx);
        }
        sk_searchqa_item_release(&it);
    }
    assert_true(json_array_size(rows) > 500);
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        size_t first = (size_t)json_integer_value(json_object_get(r, "first"));
        size_t count = (size_t)json_integer_value(json_object_get(r, "count"));
        struct sk_buf in, cut;
        char hex[65];
        size_t k;
        sk_buf_init(&in, SK_BUF_UNLIMITED);
        sk_buf_init(&cut, SK_BUF_UNLIMITED);
        for (k = first; k < first + count; k++)
            assert_int_equal(
                sk_buf_puts(&in, json_string_value(json_array_get(real, k))),
                SK_OK);
        assert_int_equal(sk_searchqa_cut_context(sk_buf_cstr(&in), in.len,
                                                 SK_SEARCHQA_CONTEXT_CHARS,
                                                 &cut),
                         SK_OK);
        assert_int_equal(sk_score_cp_count(sk_buf_cstr(&cut), cut.len),
                         json_integer_value(json_object_get(r, "len")));
        assert_int_equal(sk_sha256_hex(sk_buf_cstr(&cut), cut.len, hex), 0);
        assert_string_equal(hex,
                            json_string_value(json_object_get(r, "sha256")));
        sk_buf_release(&in);
        sk_buf_release(&cut);
    }
    json_decref(real);
    json_decref(items);
    json_decref(v);
}

static void test_searchqa__py_list_repr(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "reprs");
    size_t i;
    (void)state;
    for (i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        const json_t *want = json_object_get(r, "repr");
        struct sk_buf b;
        size_t n;
        const char **items = gold_array(json_object_get(r, "items"), &n);
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_score_py_list_repr(items, n, &b), SK_OK);
        if (strcmp(sk_buf_cstr(&b), json_string_value(want)) != 0)
            fail_msg("row %zu: got %s want %s", i, sk_buf_cstr(&b),
                     json_string_value(want));
        sk_buf_release(&b);
        sk_free(items);
    }
    json_decref(v);
}

static void test_searchqa__py_repr_escapes(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } t[] = {
        {"it's", 4, "\"it's\""},
        {"say \"hi\" it's", 13, "'say \"hi\" it\\'s'"},
        {"a\\b\t\n\r", 6, "'a\\\\b\\t\\n\\r'"},
        {"\0\x1f\x7f", 3, "'\\x00\\x1f\\x7f'"},
        {"\xc2\xa0\xc2\xad\xe3\x80\x80\xc3\xa9", 9,
         "'\\xa0\\xad\\u3000\xc3\xa9'"},
        {"\xf3\xa0\x80\x81\xf0\x9f\x98\x80", 8,
         "'\\U000e0001\xf0\x9f\x98\x80'"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_score_py_repr(t[i].in, t[i].len, &b), SK_OK);
        if (strcmp(sk_buf_cstr(&b), t[i].want) != 0)
            fail_msg("row %zu: got %s", i, sk_buf_cstr(&b));
        sk_buf_release(&b);
    }
}

static void test_searchqa__item_from_json_rejects_bad_fields(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"question\": \"q\"}",
        "{\"id\": \"x\"}",
        "{\"id\": 1.5, \"question\": \"q\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"answers\": [\"a\", 3]}",
        "{\"id\": \"x\", \"question\": \"q\", \"answers\": \"a\"}",
        "{\"id\": \"x\", \"question\": \"q\", \"context\": 7}",
    };
    struct sk_searchqa_item it;
    struct sk_error err;
    json_t *o;
    size_t i;
    (void)state;
    sk_searchqa_item_init(&it);
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        o = json_loads(bad[i], 0, NULL);
        assert_non_null(o);
        sk_error_clear(&err);
        assert_int_equal(sk_searchqa_item_from_json(o, &it, &err), SK_EDATA);
        assert_int_equal(err.code, SK_EDATA);
        assert_null(it.id);
        json_decref(o);
    }
    /* Integer id, absent context and answers take the reference defaults. */
    o = json_loads("{\"id\": 42, \"question\": \"q\"}", 0, NULL);
    assert_int_equal(sk_searchqa_item_from_json(o, &it, NULL), SK_OK);
    assert_string_equal(it.id, "42");
    assert_string_equal(it.context, "");
    assert_int_equal(it.n_answers, 0);
    sk_searchqa_item_release(&it);
    json_decref(o);
}

static void test_searchqa__item_cuts_long_context(void **state)
{
    struct sk_buf ctx;
    struct sk_searchqa_item it;
    json_t *o;
    int i;
    (void)state;
    sk_buf_init(&ctx, SK_BUF_UNLIMITED);
    for (i = 0; i < 400; i++)
        assert_int_equal(
            sk_buf_printf(&ctx, "[DOC] snippet %03d \xce\xa3\n", i), SK_OK);
    o = json_pack("{s:s, s:s, s:s, s:[s]}", "id", "k", "question", "q",
                  "context", sk_buf_cstr(&ctx), "answers", "g");
    assert_non_null(o);
    sk_searchqa_item_init(&it);
    assert_int_equal(sk_searchqa_item_from_json(o, &it, NULL), SK_OK);
    /* 20 code points per piece: 300 whole pieces fit, the first without
     * its "[DOC]". */
    assert_int_equal(sk_score_cp_count(it.context, strlen(it.context)),
                     15 + 299 * 20);
    assert_true(strncmp(it.context, " snippet 000", 12) == 0);
    sk_searchqa_item_release(&it);
    json_decref(o);
    sk_buf_release(&ctx);
}

static void test_searchqa__mean(void **state)
{
    const double hard[] = {1, 0, 1}, soft[] = {0.5, 0.25, 1.0};
    double h = -1, s = -1;
    (void)state;
    sk_score_mean(hard, soft, 3, &h, &s);
    assert_true(h == 2.0 / 3.0);
    assert_true(s == 1.75 / 3.0);
    sk_score_mean(hard, NULL, 0, &h, &s);
    assert_true(h == 0.0 && s == 0.0);
}

struct sweep_ctx {
    const char *response;
    const char *const *golds;
    size_t n;
};

static int evaluate_body(void *p)
{
    struct sweep_ctx *c = p;
    struct sk_searchqa_result r;
    int rc = sk_searchqa_evaluate(c->response, strlen(c->response), c->golds,
                                  c->n, &r);
    if (rc == SK_OK &&
        (!r.fail_reason || strstr(r.fail_reason, "'The X-ray'") == NULL))
        rc = SK_EINVAL;
    sk_searchqa_result_release(&r);
    return rc;
}

static void test_searchqa__evaluate_survives_alloc_failures(void **state)
{
    static const char *const golds[] = {"x ray machine", "it's \xce\xa3"};
    struct sweep_ctx c = {"thinking\n<answer>The X-ray</answer>", golds, 2};
    (void)state;
    assert_true(tu_alloc_sweep(evaluate_body, &c) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_searchqa__unicode_tables_match_cpython),
        cmocka_unit_test(test_searchqa__evaluate_matches_reference),
        cmocka_unit_test(test_searchqa__extract_answer),
        cmocka_unit_test(test_searchqa__context_cut_small),
        cmocka_unit_test(test_searchqa__real_items_and_context_cut),
        cmocka_unit_test(test_searchqa__py_list_repr),
        cmocka_unit_test(test_searchqa__py_repr_escapes),
        cmocka_unit_test(test_searchqa__item_from_json_rejects_bad_fields),
        cmocka_unit_test(test_searchqa__item_cuts_long_context),
        cmocka_unit_test(test_searchqa__mean),
        cmocka_unit_test(test_searchqa__evaluate_survives_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
