/*
 * test_docvqa.c - the DocVQA benchmark: ANLS, answer extraction, gold
 * lists and the loader's answer cells checked against vectors computed by
 * the reference's own code (tests/fixtures/docvqa/gen.py); Python literal
 * values; images (content sniffing, size cap, path resolution, the
 * request bodies of both provider families); the prompts against
 * committed snapshots; and rollouts through the simulator on the fixture
 * split in its items.json and CSV forms.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/anls.h"
#include "bench/docvqa.h"
#include "bench/pylit.h"
#include "bench/score.h"
#include "config/config.h"
#include "data/split.h"
#include "llm/client.h"
#include "llm/llm.h"
#include "llm/provider.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

/* ---- helpers ------------------------------------------------------------ */

static json_t *all_vectors;

static json_t *vectors(const char *key)
{
    json_t *all = all_vectors;
    if (!all) {
        char *path = tu_source_path("tests/fixtures/docvqa/vectors.json");
        json_error_t jerr;
        all = json_load_file(path, 0, &jerr);
        if (!all)
            fail_msg("%s: %s", path, jerr.text);
        sk_free(path);
        all_vectors = all;
    }
    return json_object_get(all, key);
}

/* Python repr(float) parsed back (repr round-trips): equal bits. */
static void assert_double_is(double got, const char *want_repr, size_t i)
{
    char *end;
    double want;
    errno = 0;
    want = strtod(want_repr, &end);
    assert_int_equal(errno, 0);
    assert_true(*end == '\0');
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("case %zu: got %.17g, reference %s", i, got, want_repr);
}

/* The strings of a JSON array, borrowed. */
static const char **strs(const json_t *arr, size_t *n)
{
    const char **g;
    size_t i;
    *n = json_array_size(arr);
    g = sk_calloc(*n ? *n : 1, sizeof *g);
    assert_non_null(g);
    for (i = 0; i < *n; i++) {
        g[i] = json_string_value(json_array_get(arr, i));
        assert_non_null(g[i]);
    }
    return g;
}

static void free_list(char **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sk_free(v[i]);
    sk_free(v);
}

/* got[0..n) equals the JSON array of strings want. */
static int list_equal(char *const *got, size_t n, const json_t *want)
{
    size_t i;
    if (n != json_array_size(want))
        return 0;
    for (i = 0; i < n; i++)
        if (strcmp(got[i], json_string_value(json_array_get(want, i))) != 0)
            return 0;
    return 1;
}

static char *list_text(char *const *v, size_t n)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_score_py_list_repr((const char *const *)v, n, &b),
                     SK_OK);
    return sk_buf_detach(&b, NULL);
}

/* ---- ANLS --------------------------------------------------------------- */

/* Every vector: the reference's max over its gold list, bit for bit. */
static void test_docvqa__anls_conformance(void **state)
{
    json_t *cases = vectors("anls"), *c;
    size_t i, hits = 0;
    (void)state;
    assert_true(json_array_size(cases) >= 40);
    json_array_foreach(cases, i, c)
    {
        char **golds;
        size_t n;
        double got;
        const char *pred = json_string_value(json_object_get(c, "pred"));
        /* the evaluator reads golds through its list rules ([] -> [""]) */
        assert_int_equal(
            sk_docvqa_gold_list(json_object_get(c, "golds"), &golds, &n),
            SK_OK);
        assert_int_equal(
            sk_anls_score(pred, (const char *const *)golds, n, &got), SK_OK);
        assert_double_is(got, json_string_value(json_object_get(c, "anls")), i);
        hits += got > 0.0 && got < 1.0;
        free_list(golds, n);
    }
    assert_true(hits >= 8); /* the table exercises partial credit */
}

static void test_docvqa__anls_edges(void **state)
{
    const char *one[] = {"abc"}, *two[] = {"zzz", "abd"};
    const char *nul[] = {NULL};
    double s = -1.0;
    uint32_t a[8] = {'k', 'i', 't', 't', 'e', 'n'};
    uint32_t b[8] = {'s', 'i', 't', 't', 'i', 'n', 'g'};
    size_t d = 0;
    (void)state;
    /* no golds at all: the max starts from 0 */
    assert_int_equal(sk_anls_score("x", NULL, 0, &s), SK_OK);
    assert_true(s == 0.0);
    assert_int_equal(sk_anls_score("", NULL, 0, &s), SK_OK);
    assert_true(s == 0.0);
    /* NULL strings read as empty */
    assert_int_equal(sk_anls_score(NULL, nul, 1, &s), SK_OK);
    assert_true(s == 1.0);
    assert_int_equal(sk_anls_score("ABC", one, 1, &s), SK_OK);
    assert_true(s == 1.0);
    assert_int_equal(sk_anls_score("abc", two, 2, &s), SK_OK);
    assert_true(s == 1.0 - 1.0 / 3.0);
    assert_int_equal(sk_anls_distance(a, 6, b, 7, &d), SK_OK);
    assert_int_equal(d, 3);
    assert_int_equal(sk_anls_distance(b, 7, a, 6, &d), SK_OK);
    assert_int_equal(d, 3);
    assert_int_equal(sk_anls_distance(a, 0, b, 7, &d), SK_OK);
    assert_int_equal(d, 7);
    assert_int_equal(sk_anls_distance(a, 6, a, 6, &d), SK_OK);
    assert_int_equal(d, 0);
}

/* The two-row table is capped: huge differing parts are refused (and
 * score 0) quickly, big shared prefixes cost nothing, the worst computed
 * case stays fast. */
static void test_docvqa__anls_bounded(void **state)
{
    size_t big = SK_ANLS_MAX_CHARS + 1000, n = 3 * SK_ANLS_MAX_CHARS, i, d;
    uint32_t *a = sk_malloc(n * sizeof *a), *b = sk_malloc(n * sizeof *b);
    char *sa = sk_malloc(n + 1), *sb = sk_malloc(n + 1);
    const char *g[1];
    double s;
    clock_t t0;
    (void)state;
    for (i = 0; i < n; i++) {
        a[i] = 'a' + (uint32_t)(i % 26);
        b[i] = 'a' + (uint32_t)((i * 7 + 3) % 26);
    }
    assert_int_equal(sk_anls_distance(a, big, b, big, &d), SK_ETOOBIG);
    /* same long prefix and suffix: only the middle is compared */
    memcpy(b, a, n * sizeof *a);
    b[n / 2] = '!';
    assert_int_equal(sk_anls_distance(a, n, b, n, &d), SK_OK);
    assert_int_equal(d, 1);
    for (i = 0; i < n; i++) {
        sa[i] = (char)('a' + i % 26);
        sb[i] = (char)('a' + (i * 7 + 3) % 26);
    }
    sa[n] = sb[n] = '\0';
    g[0] = sb;
    assert_int_equal(sk_anls_score(sa, g, 1, &s), SK_OK);
    assert_true(s == 0.0); /* over the cap: 0 */
    sb[SK_ANLS_MAX_CHARS] = '\0';
    sa[SK_ANLS_MAX_CHARS] = '\0';
    t0 = clock();
    assert_int_equal(sk_anls_score(sa, g, 1, &s), SK_OK);
    /* the largest table computed: well under a few seconds even under
     * valgrind's slowdown on a slow machine */
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
    assert_true(s >= 0.0 && s < 0.5);
    sk_free(a);
    sk_free(b);
    sk_free(sa);
    sk_free(sb);
}

/* ---- extraction, gold lists, answer cells ------------------------------- */

static void test_docvqa__extract_conformance(void **state)
{
    json_t *cases = vectors("extract"), *c;
    size_t i;
    (void)state;
    assert_true(json_array_size(cases) >= 20);
    json_array_foreach(cases, i, c)
    {
        const json_t *t = json_object_get(c, "text");
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_docvqa_extract_answer(json_string_value(t),
                                                  json_string_length(t), &b),
                         SK_OK);
        if (strcmp(sk_buf_cstr(&b),
                   json_string_value(json_object_get(c, "extracted"))) != 0)
            fail_msg("case %zu: got \"%s\", reference \"%s\"", i,
                     sk_buf_cstr(&b),
                     json_string_value(json_object_get(c, "extracted")));
        sk_buf_release(&b);
    }
}

static void test_docvqa__gold_list_conformance(void **state)
{
    json_t *cases = vectors("gold_list"), *c;
    size_t i, outside = 0;
    (void)state;
    json_array_foreach(cases, i, c)
    {
        const json_t *raw = json_object_get(c, "raw");
        char **got, *text;
        size_t n;
        assert_int_equal(sk_docvqa_gold_list(raw, &got, &n), SK_OK);
        assert_true(n >= 1);
        if (json_is_true(json_object_get(c, "subset"))) {
            if (!list_equal(got, n, json_object_get(c, "golds"))) {
                text = list_text(got, n);
                fail_msg("case %zu: got %s", i, text);
            }
        } else {
            /* outside the literal subset: the text itself, stripped */
            outside++;
            assert_int_equal(n, 1);
            assert_string_equal(got[0], json_string_value(raw));
        }
        free_list(got, n);
    }
    assert_int_equal(outside, 3);
    /* a missing value reads as None */
    {
        char **got;
        size_t n;
        assert_int_equal(sk_docvqa_gold_list(NULL, &got, &n), SK_OK);
        assert_int_equal(n, 1);
        assert_string_equal(got[0], "");
        free_list(got, n);
    }
}

static void test_docvqa__parse_answers_conformance(void **state)
{
    json_t *cases = vectors("parse_answers"), *c;
    size_t i;
    (void)state;
    assert_true(json_array_size(cases) >= 30);
    json_array_foreach(cases, i, c)
    {
        const json_t *t = json_object_get(c, "text");
        char **got, *text;
        size_t n;
        assert_int_equal(sk_docvqa_parse_answers(json_string_value(t),
                                                 json_string_length(t), &got,
                                                 &n),
                         SK_OK);
        if (json_is_true(json_object_get(c, "subset"))) {
            if (!list_equal(got, n, json_object_get(c, "answers"))) {
                text = list_text(got, n);
                fail_msg("case %zu (%s): got %s", i, json_string_value(t),
                         text);
            }
        } else {
            assert_int_equal(n, 1);
            assert_string_equal(got[0], json_string_value(t));
        }
        free_list(got, n);
    }
}

/* CSV rows normalised like the reference loader (ids: see split.h). */
static void test_docvqa__rows_match_loader(void **state)
{
    json_t *cases = vectors("rows"), *c;
    size_t i;
    (void)state;
    json_array_foreach(cases, i, c)
    {
        json_t *row = json_deep_copy(json_object_get(c, "row"));
        const json_t *want = json_object_get(c, "item");
        struct sk_docvqa_item it;
        struct sk_error err;
        int both =
            json_object_get(row, "id") && json_object_get(row, "questionId");
        if (!json_object_get(row, "id")) /* what the CSV reader adds */
            json_object_set(row, "id", json_object_get(row, "questionId"));
        if (sk_docvqa_item_from_json(row, &it, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        if (both) /* our id is the id column; the reference's questionId */
            assert_string_equal(it.id,
                                json_string_value(json_object_get(row, "id")));
        else
            assert_string_equal(it.id,
                                json_string_value(json_object_get(want, "id")));
        assert_string_equal(
            it.question, json_string_value(json_object_get(want, "question")));
        assert_string_equal(it.image_path, json_string_value(json_object_get(
                                               want, "image_path")));
        assert_string_equal(it.task_type, json_string_value(json_object_get(
                                              want, "task_type")));
        if (json_array_size(json_object_get(want, "answers")) == 0) {
            assert_int_equal(it.n_golds, 1);
            assert_string_equal(it.golds[0], "");
        } else {
            assert_true(list_equal(it.golds, it.n_golds,
                                   json_object_get(want, "answers")));
        }
        sk_docvqa_item_release(&it);
        json_decref(row);
    }
}

static void test_docvqa__evaluate_conformance(void **state)
{
    json_t *cases = vectors("evaluate"), *c;
    size_t i;
    (void)state;
    json_array_foreach(cases, i, c)
    {
        const char *resp = json_string_value(json_object_get(c, "response"));
        const json_t *reason = json_object_get(c, "fail_reason");
        struct sk_docvqa_result r;
        const char **golds;
        char *answers;
        char **a;
        size_t n, na;
        golds = strs(json_object_get(c, "golds"), &n);
        a = (char **)strs(json_object_get(c, "answers"), &na);
        answers = list_text(a, na);
        assert_int_equal(
            sk_docvqa_evaluate(resp, strlen(resp), golds, n, answers, &r),
            SK_OK);
        assert_double_is(r.anls, json_string_value(json_object_get(c, "anls")),
                         i);
        assert_int_equal(r.hard,
                         json_integer_value(json_object_get(c, "hard")));
        assert_string_equal(r.predicted,
                            json_string_value(json_object_get(c, "predicted")));
        if (json_is_null(reason))
            assert_null(r.fail_reason);
        else
            assert_string_equal(r.fail_reason, json_string_value(reason));
        sk_docvqa_result_release(&r);
        sk_free(answers);
        sk_free(a);
        sk_free(golds);
    }
}

/* ---- Python literal values ---------------------------------------------- */

static void test_docvqa__pylit_values(void **state)
{
    static const struct {
        const char *text;
        const char *str; /* NULL: refused */
    } cases[] = {
        {"[1, 'a', None, True, False, 2.5]",
         "[1, 'a', None, True, False, 2.5]"},
        {"('a',)", "('a',)"},
        {"()", "()"},
        {"(1)", "1"},
        {"{'k': [1, {'n': ()}], 'k': 2}", "{'k': 2}"},
        {"{}", "{}"},
        {"'it\\'s'", "it's"},
        {"\"say \\\"x\\\"\"", "say \"x\""},
        {"['\\x00']", "['\\x00']"},
        {"['\\t\\u00e9\\n']", "['\\té\\n']"},
        {"[1e22, 1e21, 1e16, 9999999999999998.0, 0.1, 1e-4, 1e-5, 5e-324]",
         "[1e+22, 1e+21, 1e+16, 9999999999999998.0, 0.1, 0.0001, 1e-05, "
         "5e-324]"},
        {"[1e400, -1e400]", "[inf, -inf]"},
        {"000", "0"},
        {"-0", "0"},
        {"0x_ff", "255"},
        {"0b", NULL},
        {"0xFFFFFFFFFFFFFFFFF", NULL},
        {"1__0", NULL},
        {"1_", NULL},
        {"1.2.3", NULL},
        {"1j", NULL},
        {"{1: 2}", NULL},
        {"{'a'}", NULL},
        {"b'x'", NULL},
        {"f'x'", NULL},
        {"x'a'", NULL},
        {"'a' 'b'", "ab"},
        {"'a'\n'b'", NULL},
        {"['a',\n'b']", "['a', 'b']"},
        {"1,\n", "(1,)"},
        {"1,\n2", NULL},
        {"[1] # comment", NULL},
        {"'''a\nb'''", "a\nb"},
        {"'a\nb'", NULL},
        {"'a\\\nb'", "ab"},
        {"r'a\\'b'", "a\\'b"},
        {"'\\ud800'", NULL},
        {"'\\U00110000'", NULL},
        {"'\\x4'", NULL},
        {"'\\777'", "\xc7\xbf"},
        {"  \t [1]  \n\n", "[1]"},
        {"'a\r\nb'", NULL},
        {"'''a\r\nb'''", "a\nb"},
    };
    size_t i;
    char deep[2 * SK_PYLIT_MAX_DEPTH + 8];
    struct sk_pylit *v;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        int rc = sk_pylit_parse(cases[i].text, strlen(cases[i].text), &v);
        if (!cases[i].str) {
            if (rc != SK_EPARSE)
                fail_msg("case %zu (%s): accepted", i, cases[i].text);
            assert_null(v);
            continue;
        }
        if (rc != SK_OK)
            fail_msg("case %zu (%s): refused", i, cases[i].text);
        {
            struct sk_buf b;
            sk_buf_init(&b, SK_BUF_UNLIMITED);
            assert_int_equal(sk_pylit_str(v, &b), SK_OK);
            if (strcmp(sk_buf_cstr(&b), cases[i].str) != 0)
                fail_msg("case %zu (%s): str %s, want %s", i, cases[i].text,
                         sk_buf_cstr(&b), cases[i].str);
            sk_buf_release(&b);
        }
        sk_pylit_free(v);
    }
    /* nesting is bounded */
    memset(deep, '[', SK_PYLIT_MAX_DEPTH + 1);
    memset(deep + SK_PYLIT_MAX_DEPTH + 1, ']', SK_PYLIT_MAX_DEPTH + 1);
    assert_int_equal(sk_pylit_parse(deep, 2 * SK_PYLIT_MAX_DEPTH + 2, &v),
                     SK_EPARSE);
    assert_int_equal(sk_pylit_parse(deep + 1, 2 * SK_PYLIT_MAX_DEPTH, &v),
                     SK_OK);
    sk_pylit_free(v);
    /* NUL bytes and invalid UTF-8 are no source text */
    assert_int_equal(sk_pylit_parse("'a\0b'", 5, &v), SK_EPARSE);
    assert_int_equal(sk_pylit_parse("'\xff'", 3, &v), SK_EPARSE);
}

/* ---- images ------------------------------------------------------------- */

static void test_docvqa__image_mime(void **state)
{
    static const unsigned char png[] = {0x89, 'P',  'N',  'G', '\r',
                                        '\n', 0x1A, '\n', 0};
    static const unsigned char jpg[] = {0xFF, 0xD8, 0xFF, 0xE0};
    static const unsigned char gif[] = "GIF89a....";
    (void)state;
    assert_string_equal(sk_docvqa_image_mime(png, sizeof png), "image/png");
    assert_null(sk_docvqa_image_mime(png, 7));
    assert_string_equal(sk_docvqa_image_mime(jpg, 3), "image/jpeg");
    assert_null(sk_docvqa_image_mime(jpg, 2));
    assert_null(sk_docvqa_image_mime(gif, sizeof gif));
    assert_null(sk_docvqa_image_mime(jpg, 0));
}

static void test_docvqa__image_load(void **state)
{
    char *dir = tu_mkdtemp(), *p, *big, *txt, *png;
    struct sk_llm_image img;
    struct sk_error err;
    FILE *f;
    (void)state;
    png = tu_source_path("tests/fixtures/docvqa/images/p1.png");
    assert_int_equal(sk_docvqa_image_load(png, "low", &img, &err), SK_OK);
    assert_string_equal(img.mime, "image/png");
    assert_string_equal(img.detail, "low");
    assert_null(img.url);
    assert_true(img.len > 8);
    sk_free((void *)img.data);
    p = tu_source_path("tests/fixtures/docvqa/images/p3.jpg");
    assert_int_equal(sk_docvqa_image_load(p, NULL, &img, &err), SK_OK);
    assert_string_equal(img.mime, "image/jpeg");
    assert_null(img.detail);
    sk_free((void *)img.data);
    sk_free(p);
    /* a PNG by its name only */
    txt = tu_write(dir, "fake.png", "not an image at all");
    assert_int_equal(sk_docvqa_image_load(txt, NULL, &img, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "neither PNG nor JPEG"));
    assert_null(img.data);
    /* one byte over the cap */
    big = sk_fs_join(dir, "big.jpg");
    f = fopen(big, "wb");
    assert_non_null(f);
    fputs("\xff\xd8\xff", f);
    assert_int_equal(fseek(f, (long)SK_DOCVQA_MAX_IMAGE - 3, SEEK_CUR), 0);
    fputc(0, f);
    fclose(f);
    assert_int_equal(sk_docvqa_image_load(big, NULL, &img, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "20 MiB"));
    /* a missing file and a directory */
    p = sk_fs_join(dir, "none.png");
    assert_int_equal(sk_docvqa_image_load(p, NULL, &img, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "none.png"));
    assert_int_equal(sk_docvqa_image_load(dir, NULL, &img, &err), SK_EDATA);
    sk_free(p);
    sk_free(big);
    sk_free(txt);
    sk_free(png);
    tu_rmtree(dir);
    sk_free(dir);
}

static void load_cfg(struct sk_config *cfg, const char *const *opts, size_t n)
{
    struct sk_config_args a;
    struct sk_error err;
    char *path = tu_source_path("configs/docvqa/default.yaml");
    memset(&a, 0, sizeof a);
    a.path = path;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(cfg);
    if (sk_config_load(&a, cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(path);
}

static void test_docvqa__image_resolve(void **state)
{
    char *dir = tu_mkdtemp(), *got, *want, old[4096], *o1, *o2, *o3, *o4;
    struct sk_config cfg;
    struct sk_error err;
    const char *opts[2];
    (void)state;
    sk_free(tu_write(dir, "ds/images/a.png", "x"));
    sk_free(tu_write(dir, "ds/splits/train/items.json", "[]"));
    sk_free(tu_write(dir, "root/images/a.png", "x"));
    sk_free(tu_write(dir, "cwd/images/b.png", "x"));
    sk_free(tu_write(dir, "raw/images/a.png", "x"));
    sk_free(tu_write(dir, "raw/data.json", "[]"));
    assert_non_null(getcwd(old, sizeof old));
    o1 = sk_fs_join(dir, "cwd");
    assert_int_equal(chdir(o1), 0);

    /* no configuration: the working directory only */
    assert_int_equal(sk_docvqa_image_resolve("images/b.png", NULL, &got, &err),
                     SK_OK);
    assert_string_equal(got, "images/b.png");
    sk_free(got);
    assert_int_equal(sk_docvqa_image_resolve("images/a.png", NULL, &got, &err),
                     SK_EDATA);
    assert_non_null(strstr(err.msg, "images/a.png not found"));
    assert_int_equal(sk_docvqa_image_resolve("", NULL, &got, &err), SK_EDATA);
    want = sk_fs_join(dir, "ds/images/a.png");
    assert_int_equal(sk_docvqa_image_resolve(want, NULL, &got, &err), SK_OK);
    assert_string_equal(got, want); /* absolute: as is */
    sk_free(got);

    /* split_dir mode: the parent of split_dir */
    o2 = sk_fs_join(dir, "ds/splits/");
    {
        char buf[4200];
        snprintf(buf, sizeof buf, "env.split_dir=%s", o2);
        opts[0] = buf;
        load_cfg(&cfg, opts, 1);
    }
    assert_int_equal(sk_docvqa_image_resolve("images/a.png", &cfg, &got, &err),
                     SK_OK);
    assert_string_equal(got, want);
    sk_free(got);
    /* the working directory comes first, as in the reference */
    assert_int_equal(sk_docvqa_image_resolve("images/b.png", &cfg, &got, &err),
                     SK_OK);
    assert_string_equal(got, "images/b.png");
    sk_free(got);
    assert_int_equal(sk_docvqa_image_resolve("images/c.png", &cfg, &got, &err),
                     SK_EDATA);
    assert_non_null(strstr(err.msg, "ds/images/c.png"));
    sk_config_release(&cfg);

    /* data_root: only there */
    o3 = sk_fs_join(dir, "root");
    {
        char buf[4200];
        snprintf(buf, sizeof buf, "env.data_root=%s", o3);
        opts[0] = buf;
        load_cfg(&cfg, opts, 1);
    }
    assert_int_equal(sk_docvqa_image_resolve("images/b.png", &cfg, &got, &err),
                     SK_OK);
    assert_string_equal(got + strlen(o3), "/images/b.png");
    sk_free(got);
    sk_config_release(&cfg);

    /* ratio mode: data_path's directory */
    o4 = sk_fs_join(dir, "raw/data.json");
    {
        char buf[4200];
        snprintf(buf, sizeof buf, "env.data_path=%s", o4);
        opts[0] = "env.split_mode=ratio";
        opts[1] = buf;
        load_cfg(&cfg, opts, 2);
    }
    assert_int_equal(sk_docvqa_image_resolve("images/a.png", &cfg, &got, &err),
                     SK_OK);
    sk_free(want);
    want = sk_fs_join(dir, "raw/images/a.png");
    assert_string_equal(got, want);
    sk_free(got);
    sk_config_release(&cfg);

    assert_int_equal(chdir(old), 0);
    sk_free(want);
    sk_free(o1);
    sk_free(o2);
    sk_free(o3);
    sk_free(o4);
    tu_rmtree(dir);
    sk_free(dir);
}

/* The image goes out as a data: URL (OpenAI chat and Responses) and as a
 * base64 block (Anthropic), with the detail only where set. */
static void test_docvqa__request_bodies(void **state)
{
    char *p = tu_source_path("tests/fixtures/docvqa/images/p3.jpg");
    struct sk_llm_image img;
    struct sk_llm_message msg;
    struct sk_llm_request req;
    struct sk_role_cfg rc;
    struct sk_error err;
    json_t *body;
    char *url, *b64, *text;
    (void)state;
    assert_int_equal(sk_docvqa_image_load(p, "high", &img, &err), SK_OK);
    b64 = provider_base64(img.data, img.len);
    assert_non_null(b64);
    memset(&msg, 0, sizeof msg);
    msg.role = "user";
    msg.content = "What is the date?";
    msg.images = &img;
    msg.n_images = 1;
    memset(&req, 0, sizeof req);
    req.role = SK_ROLE_TARGET;
    req.stage = "rollout";
    req.system = "sys";
    req.messages = &msg;
    req.n_messages = 1;
    sk_role_cfg_init(&rc);
    rc.model = sk_strdup("m");
    rc.backend = sk_strdup("openai_chat");

    assert_int_equal(openai_chat_body(&rc, &req, &body), SK_OK);
    text = json_dumps(body, 0);
    url = sk_malloc(strlen(b64) + 64);
    snprintf(url, strlen(b64) + 64, "\"url\": \"data:image/jpeg;base64,%s\"",
             b64);
    assert_non_null(strstr(text, url));
    assert_non_null(strstr(text, "\"detail\": \"high\""));
    sk_free(text);
    json_decref(body);

    assert_int_equal(openai_responses_body(&rc, &req, &body), SK_OK);
    text = json_dumps(body, 0);
    assert_non_null(strstr(text, "data:image/jpeg;base64,"));
    assert_non_null(strstr(text, b64));
    sk_free(text);
    json_decref(body);

    assert_int_equal(anthropic_body(&rc, &req, &body), SK_OK);
    text = json_dumps(body, 0);
    assert_non_null(strstr(text, "\"media_type\": \"image/jpeg\""));
    assert_non_null(strstr(text, "\"type\": \"base64\""));
    assert_non_null(strstr(text, b64));
    sk_free(text);
    json_decref(body);

    /* no detail: none sent in the chat body */
    img.detail = NULL;
    assert_int_equal(openai_chat_body(&rc, &req, &body), SK_OK);
    text = json_dumps(body, 0);
    assert_null(strstr(text, "\"detail\""));
    sk_free(text);
    json_decref(body);

    sk_role_cfg_release(&rc);
    sk_free(url);
    sk_free(b64);
    sk_free((void *)img.data);
    sk_free(p);
}

/* ---- prompts ------------------------------------------------------------ */

static void snapshot(const char *name, const char *got)
{
    char rel[128], *path, *want;
    snprintf(rel, sizeof rel, "tests/fixtures/docvqa/%s", name);
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

static void test_docvqa__prompt_snapshots(void **state)
{
    const struct sk_bench *b = sk_bench_find("docvqa");
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *item = json_loads(
        "{\"questionId\": \"dv-1\", \"id\": \"dv-1\", \"question\": \"  What "
        "is the invoice number? document_path: images/p1.png\", \"answer\": "
        "\"['INV-0042']\", \"topic\": \"form\"}",
        0, NULL);
    char *sys = NULL, *user = NULL;
    (void)state;
    assert_non_null(b);
    assert_non_null(item);
    memset(&ctx, 0, sizeof ctx);
    if (b->build(item, "# Skill under test\n\n- Rule one.\n", &ctx, &sys, &user,
                 &err) != SK_OK)
        fail_msg("%s", err.msg);
    snapshot("prompt.system.txt", sys);
    snapshot("prompt.user.txt", user);
    assert_non_null(strstr(sys, "## Skill\n# Skill under test"));
    assert_null(strstr(user, "document_path"));
    sk_free(sys);
    sk_free(user);
    /* an empty skill leaves no section; a blank question is refused */
    assert_int_equal(b->build(item, "  \n", &ctx, &sys, &user, &err), SK_OK);
    assert_null(strstr(sys, "## Skill"));
    sk_free(sys);
    sk_free(user);
    json_object_set_new(item, "question", json_string(" document_path: x"));
    assert_int_equal(b->build(item, "", &ctx, &sys, &user, &err), SK_EDATA);
    assert_null(sys);
    assert_null(user);
    json_object_del(item, "question");
    assert_int_equal(b->build(item, "", &ctx, &sys, &user, &err), SK_EDATA);
    json_decref(item);
}

/* ---- the score callback ------------------------------------------------- */

static void test_docvqa__score_row(void **state)
{
    const struct sk_bench *b = sk_bench_find("docvqa");
    struct sk_error err;
    json_t *item = json_loads("{\"id\": 7, \"question\": \"Total? "
                              "document_path: x.png\", \"answers\": "
                              "[\"$1,234.50\", \"1,234.50\"], \"category\": "
                              "\"table/list\"}",
                              0, NULL);
    json_t *row = json_object();
    (void)state;
    assert_int_equal(
        b->score(item, "I read it.\n<answer>1,234.5</answer>", NULL, row, &err),
        SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    assert_true(json_real_value(json_object_get(row, "soft")) ==
                1.0 - 1.0 / 8.0);
    assert_true(json_real_value(json_object_get(row, "anls")) ==
                1.0 - 1.0 / 8.0);
    assert_true(json_real_value(json_object_get(row, "em")) == 0.0);
    assert_true(json_real_value(json_object_get(row, "f1")) == 1.0 - 1.0 / 8.0);
    /* partial credit is not a failure in the reference's terms */
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "");
    assert_string_equal(
        json_string_value(json_object_get(row, "predicted_answer")), "1,234.5");
    assert_string_equal(json_string_value(json_object_get(row, "question")),
                        "Total?");
    assert_string_equal(json_string_value(json_object_get(row, "task_type")),
                        "table/list");
    assert_int_equal(json_array_size(json_object_get(row, "gold_answers")), 2);
    assert_int_equal(
        b->score(item, "<answer>1,234.50</answer>", NULL, row, &err), SK_OK);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    assert_true(json_real_value(json_object_get(row, "em")) == 1.0);
    assert_int_equal(
        b->score(item, "<answer>no idea</answer>", NULL, row, &err), SK_OK);
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "predicted 'no idea' but expected one of ['$1,234.50', "
                        "'1,234.50']");
    json_decref(row);
    json_decref(item);
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep {
    json_t *item;
};

static int sweep_body(void *p)
{
    struct sweep *s = p;
    const struct sk_bench *b = sk_bench_find("docvqa");
    struct sk_docvqa_result r;
    struct sk_docvqa_item it;
    json_t *row = json_object();
    char *sys = NULL, *user = NULL;
    int rc;
    if (!row)
        return SK_ENOMEM;
    rc = sk_docvqa_item_from_json(s->item, &it, NULL);
    if (rc == SK_OK) {
        rc = sk_docvqa_evaluate("x\n<answer>Lim a</answer>", 23,
                                (const char *const *)it.golds, it.n_golds,
                                it.answers_text, &r);
        sk_docvqa_result_release(&r);
        sk_docvqa_item_release(&it);
    }
    if (rc == SK_OK)
        rc = b->score(s->item, "<answer>zz</answer>", NULL, row, NULL);
    if (rc == SK_OK)
        rc = b->build(s->item, "skill", NULL, &sys, &user, NULL);
    sk_free(sys);
    sk_free(user);
    json_decref(row);
    return rc;
}

static void test_docvqa__alloc_failure_sweep(void **state)
{
    struct sweep s;
    (void)state;
    s.item = json_loads(
        "{\"id\": \"a\", \"question\": \"Q? document_path: p.png\", "
        "\"answer\": \"\", \"ground_truth\": \"['Lima', 2, [1, 'x'], "
        "{'k': (1,)}]\", \"topic\": \" t \"}",
        0, NULL);
    assert_true(tu_alloc_sweep(sweep_body, &s) > 20);
    json_decref(s.item);
    s.item = json_loads("{\"id\": 1, \"question\": \"Q?\", \"answers\": "
                        "\"[{\\\"text\\\": \\\"Lima\\\"}, {'answer': 'b'}]\"}",
                        0, NULL);
    assert_true(tu_alloc_sweep(sweep_body, &s) > 20);
    json_decref(s.item);
}

/* ---- rollouts through the simulator ------------------------------------- */

/* What the responder saw. */
struct seen {
    pthread_mutex_t mu;
    int requests;
    int images;     /* data: URLs whose bytes match their mime */
    int bad_images; /* data: URLs that do not */
    int details;    /* image_url parts with "detail" */
    char detail[16];
};

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The first bytes of a base64 text, decoded. */
static size_t b64_head(const char *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '=' && n < cap; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0)
            break;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

/* Answers are right for the first train item, close for the second,
 * wrong otherwise; every image part is checked. */
static int docvqa_responder(void *ud, const struct sk_sim_request *req,
                            struct sk_sim_reply *reply)
{
    struct seen *s = ud;
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL), *m, *part;
    const char *text = "", *answer = "<answer>no idea</answer>";
    size_t i, j;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    json_array_foreach(json_object_get(b, "messages"), i, m)
    {
        json_t *content = json_object_get(m, "content");
        json_array_foreach(content, j, part)
        {
            const char *type = json_string_value(json_object_get(part, "type"));
            if (type && strcmp(type, "text") == 0)
                text = json_string_value(json_object_get(part, "text"));
            if (type && strcmp(type, "image_url") == 0) {
                json_t *iu = json_object_get(part, "image_url");
                const char *url = json_string_value(json_object_get(iu, "url"));
                const char *detail =
                    json_string_value(json_object_get(iu, "detail"));
                unsigned char head[8];
                const char *mime = NULL;
                if (url && strncmp(url, "data:", 5) == 0) {
                    const char *comma = strstr(url, ";base64,");
                    size_t n = comma ? b64_head(comma + 8, head, 8) : 0;
                    mime = sk_docvqa_image_mime(head, n);
                    if (mime && strncmp(url + 5, mime, strlen(mime)) == 0)
                        s->images++;
                    else
                        s->bad_images++;
                } else {
                    s->bad_images++;
                }
                if (detail) {
                    s->details++;
                    snprintf(s->detail, sizeof s->detail, "%s", detail);
                }
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (strstr(text, "invoice number"))
        answer = "Looking at the header.\n<ANSWER> INV-0042 </answer>";
    else if (strstr(text, "total amount"))
        answer = "<answer>$1,234.5</answer>";
    reply->body = sk_sim_chat_completion("sim-target", answer, 10, 10);
    reply->body_len = reply->body ? strlen(reply->body) : 0;
    json_decref(b);
    return reply->body ? 0 : 1;
}

struct env {
    char *dir;
    struct sk_config cfg;
    struct sk_llm_client *c;
};

static void env_open(struct env *e, const char *split_dir, const char *detail,
                     struct seen *s)
{
    char sd[4200], det[64];
    const char *opts[] = {"model.backend=sim", "model.optimizer_backend=sim",
                          "model.target_backend=sim", sd, det};
    struct sk_llm_client_opts o;
    struct sk_error err;
    snprintf(sd, sizeof sd, "env.split_dir=%s", split_dir);
    snprintf(det, sizeof det, "env.image_detail=%s", detail);
    e->dir = tu_mkdtemp();
    load_cfg(&e->cfg, opts, SK_ARRAY_LEN(opts));
    memset(&o, 0, sizeof o);
    o.sim_responder = docvqa_responder;
    o.sim_ud = s;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    tu_rmtree(e->dir);
    sk_free(e->dir);
}

static void rollout_fixture(const char *form, const char *detail)
{
    char rel[64], *sd, *out, *p, *conv;
    struct seen s;
    struct env e;
    struct sk_split_opts so;
    struct sk_splits sp;
    struct sk_rollout_opts o;
    struct sk_rollout_stats st;
    struct sk_error err;
    json_t *items, *rows, *r;
    size_t i;

    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    snprintf(rel, sizeof rel, "tests/fixtures/docvqa/%s", form);
    sd = tu_source_path(rel);
    env_open(&e, sd, detail, &s);
    sk_split_opts_init(&so);
    so.mode = "split_dir";
    so.split_dir = sd;
    if (sk_splits_load(&so, &sp, &err) != SK_OK)
        fail_msg("%s", err.msg);
    items = json_deep_copy(sp.items[SK_SPLIT_TRAIN]);
    /* two items that cannot be asked: a missing image, a text file */
    json_array_append_new(items,
                          json_pack("{s:s, s:s, s:s, s:[s]}", "id", "bad-1",
                                    "question", "Q?", "image_path",
                                    "images/nope.png", "answers", "x"));
    p = tu_write(e.dir, "fake.jpg", "plain text");
    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:[s]}", "id",
                                           "bad-2", "question", "Q?",
                                           "image_path", p, "answers", "x"));
    sk_free(p);
    out = sk_fs_join(e.dir, "rollout");
    memset(&o, 0, sizeof o);
    o.cfg = &e.cfg;
    o.max_completion_tokens = 256;
    if (sk_rollout_run_opts(e.c, sk_bench_find("docvqa"), "Read carefully.",
                            items, out, &o, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    assert_int_equal(st.sent, 4);
    assert_int_equal(st.invalid, 2);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.images, 4); /* two PNG and two JPEG pages */
    assert_int_equal(s.bad_images, 0);
    if (strcmp(detail, "auto") == 0) {
        assert_int_equal(s.details, 0);
    } else {
        assert_int_equal(s.details, 4);
        assert_string_equal(s.detail, detail);
    }
    assert_int_equal(json_array_size(rows), 6);
    r = json_array_get(rows, 0); /* right */
    assert_string_equal(json_string_value(json_object_get(r, "id")), "dv-101");
    assert_int_equal(json_integer_value(json_object_get(r, "hard")), 1);
    assert_true(json_real_value(json_object_get(r, "soft")) == 1.0);
    assert_string_equal(json_string_value(json_object_get(r, "question")),
                        "What is the invoice number?");
    assert_string_equal(json_string_value(json_object_get(r, "task_type")),
                        "form");
    r = json_array_get(rows, 1); /* one character short of a gold */
    assert_int_equal(json_integer_value(json_object_get(r, "hard")), 0);
    assert_true(json_real_value(json_object_get(r, "soft")) == 1.0 - 1.0 / 9);
    assert_string_equal(json_string_value(json_object_get(r, "fail_reason")),
                        "");
    for (i = 2; i < 4; i++) { /* wrong */
        r = json_array_get(rows, i);
        assert_int_equal(json_integer_value(json_object_get(r, "hard")), 0);
        assert_memory_equal(
            json_string_value(json_object_get(r, "fail_reason")),
            "predicted 'no idea' but expected one of [", 41);
    }
    r = json_array_get(rows, 4);
    assert_non_null(strstr(json_string_value(json_object_get(r, "fail_reason")),
                           "error: image images/nope.png not found"));
    r = json_array_get(rows, 5);
    assert_non_null(strstr(json_string_value(json_object_get(r, "fail_reason")),
                           "neither PNG nor JPEG"));
    assert_true(fabs(st.hard_mean - 1.0 / 6) < 1e-12);
    /* the predictions directory the analyst reads */
    p = sk_fs_join(out, "predictions/dv-101/conversation.json");
    conv = tu_read(p, NULL);
    assert_non_null(conv);
    assert_non_null(strstr(conv, "Gold answers: ['INV-0042']"));
    sk_free(conv);
    sk_free(p);
    p = sk_fs_join(out, "predictions/dv-101/target_user_prompt.txt");
    conv = tu_read(p, NULL);
    assert_non_null(conv);
    assert_string_equal(conv, "What is the invoice number?\n\nGive your final "
                              "answer inside <answer></answer>.\n");
    sk_free(conv);
    sk_free(p);
    json_decref(rows);
    json_decref(items);
    sk_splits_release(&sp);
    sk_free(out);
    env_close(&e);
    sk_free(sd);
    pthread_mutex_destroy(&s.mu);
}

static void test_docvqa__rollout_items_json(void **state)
{
    (void)state;
    rollout_fixture("json", "auto");
}

static void test_docvqa__rollout_csv_detail(void **state)
{
    (void)state;
    rollout_fixture("csv", "high");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docvqa__anls_conformance),
        cmocka_unit_test(test_docvqa__anls_edges),
        cmocka_unit_test(test_docvqa__anls_bounded),
        cmocka_unit_test(test_docvqa__extract_conformance),
        cmocka_unit_test(test_docvqa__gold_list_conformance),
        cmocka_unit_test(test_docvqa__parse_answers_conformance),
        cmocka_unit_test(test_docvqa__rows_match_loader),
        cmocka_unit_test(test_docvqa__evaluate_conformance),
        cmocka_unit_test(test_docvqa__pylit_values),
        cmocka_unit_test(test_docvqa__image_mime),
        cmocka_unit_test(test_docvqa__image_load),
        cmocka_unit_test(test_docvqa__image_resolve),
        cmocka_unit_test(test_docvqa__request_bodies),
        cmocka_unit_test(test_docvqa__prompt_snapshots),
        cmocka_unit_test(test_docvqa__score_row),
        cmocka_unit_test(test_docvqa__alloc_failure_sweep),
        cmocka_unit_test(test_docvqa__rollout_items_json),
        cmocka_unit_test(test_docvqa__rollout_csv_detail),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    json_decref(all_vectors);
    return rc;
}
