/*
 * docvqa.c - the DocVQA benchmark: item normalisation (items.json or the
 * reference's CSV), prompts, the page image sent with the question, and
 * the reference evaluator's answer extraction, gold list and ANLS score.
 * Model calls and files are the rollout's business (train/rollout.c).
 */
#include "common.h"

#include "bench/docvqa.h"

#include <jansson.h>
#include <string.h>

#include "bench/anls.h"
#include "bench/benches.h"
#include "bench/pylit.h"
#include "bench/score.h"
#include "config/config.h"
#include "llm/llm.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"

#define BENCH "docvqa"
#define DOC_MARKER "document_path:"

/* ---- string lists ------------------------------------------------------- */

struct strlist {
    char **v;
    size_t n;
};

static void strlist_free(struct strlist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        sk_free(l->v[i]);
    sk_free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_push(struct strlist *l, const char *s, size_t len)
{
    char **grown;
    char *copy;
    if ((l->n & (l->n - 1)) == 0) { /* 0 or a power of two: grow */
        grown = sk_realloc(l->v, (l->n ? l->n * 2 : 1) * sizeof *grown);
        if (!grown)
            return SK_ENOMEM;
        l->v = grown;
    }
    copy = sk_strndup(s, len);
    if (!copy)
        return SK_ENOMEM;
    l->v[l->n++] = copy;
    return SK_OK;
}

/* Appends str(v) to l. */
static int push_str(struct strlist *l, const struct sk_pylit *v)
{
    struct sk_buf b;
    int rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_pylit_str(v, &b);
    if (rc == SK_OK)
        rc = strlist_push(l, sk_buf_cstr(&b), b.len);
    sk_buf_release(&b);
    return rc;
}

/* Appends str(v).strip() to l, or nothing when that is blank (skip_blank)
 * or "" otherwise. */
static int push_str_stripped(struct strlist *l, const struct sk_pylit *v,
                             int skip_blank)
{
    struct sk_buf b;
    size_t s, e;
    int rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_pylit_str(v, &b);
    if (rc == SK_OK) {
        sk_score_strip(sk_buf_cstr(&b), b.len, &s, &e);
        if (e > s || !skip_blank)
            rc = strlist_push(l, sk_buf_cstr(&b) + s, e - s);
    }
    sk_buf_release(&b);
    return rc;
}

/* ---- the evaluator's gold list ----------------------------------------- */

static int extract_golds(const struct sk_pylit *raw, struct strlist *out);

/*
 * A string answer: stripped; "[..."/"{..." parsed as JSON, else as a
 * Python literal, and read again; otherwise the stripped text itself.
 */
static int extract_string(const char *s, size_t len, struct strlist *out)
{
    struct sk_pylit *parsed = NULL;
    size_t b, e;
    int rc;

    sk_score_strip(s, len, &b, &e);
    if (e == b)
        return strlist_push(out, "", 0);
    if (s[b] == '[' || s[b] == '{') {
        json_error_t jerr;
        json_t *j = sk_json_loadb(s + b, e - b, JSON_ALLOW_NUL, &jerr);
        if (!j && sk_json_oom(&jerr))
            return SK_ENOMEM;
        if (j) {
            rc = sk_pylit_from_json(j, &parsed);
            json_decref(j);
            if (rc == SK_ENOMEM)
                return rc;
        }
        if (!parsed) {
            rc = sk_pylit_parse(s + b, e - b, &parsed);
            if (rc == SK_ENOMEM)
                return rc;
        }
        if (parsed) {
            rc = extract_golds(parsed, out);
            sk_pylit_free(parsed);
            return rc;
        }
    }
    return strlist_push(out, s + b, e - b);
}

/* _extract_answer_strings(raw), appended to out (always >= 1 string). */
static int extract_golds(const struct sk_pylit *raw, struct strlist *out)
{
    static const char *const dict_keys[] = {"answers", "ground_truth",
                                            "answer"};
    static const char *const item_keys[] = {"text", "answer", "value"};
    size_t i, k, before = out->n;
    int rc = SK_OK;

    if (!raw || raw->kind == SK_PYLIT_NONE)
        return strlist_push(out, "", 0);
    switch (raw->kind) {
    case SK_PYLIT_STR:
        return extract_string(raw->text, raw->len, out);
    case SK_PYLIT_DICT:
        for (k = 0; k < SK_ARRAY_LEN(dict_keys); k++) {
            const struct sk_pylit *v = sk_pylit_dict_get(raw, dict_keys[k]);
            if (v)
                return extract_golds(v, out);
        }
        return push_str(out, raw);
    case SK_PYLIT_LIST:
    case SK_PYLIT_TUPLE:
        for (i = 0; rc == SK_OK && i < raw->n; i++) {
            const struct sk_pylit *item = raw->items[i], *v = NULL;
            for (k = 0; item->kind == SK_PYLIT_DICT && !v &&
                        k < SK_ARRAY_LEN(item_keys);
                 k++)
                v = sk_pylit_dict_get(item, item_keys[k]);
            rc = v ? extract_golds(v, out) : push_str(out, item);
        }
        if (rc == SK_OK && out->n == before)
            rc = strlist_push(out, "", 0); /* `answers or [""]` */
        return rc;
    default:
        return push_str(out, raw);
    }
}

int sk_docvqa_gold_list(const struct json_t *raw, char ***out, size_t *n)
{
    struct strlist l = {NULL, 0};
    struct sk_pylit *v = NULL;
    int rc = SK_OK;

    *out = NULL;
    *n = 0;
    if (raw && !json_is_null(raw))
        rc = sk_pylit_from_json(raw, &v);
    if (rc == SK_EPARSE) /* nested deeper than any answer list: none */
        rc = strlist_push(&l, "", 0);
    else if (rc == SK_OK)
        rc = extract_golds(v, &l);
    sk_pylit_free(v);
    if (rc != SK_OK) {
        strlist_free(&l);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return SK_OK;
}

int sk_docvqa_parse_answers(const char *text, size_t len, char ***out,
                            size_t *n)
{
    struct strlist l = {NULL, 0};
    struct sk_pylit *v = NULL;
    size_t b, e, i;
    int rc;

    *out = NULL;
    *n = 0;
    sk_score_strip(text, len, &b, &e);
    if (e == b)
        return SK_OK;
    rc = sk_pylit_parse(text + b, e - b, &v);
    if (rc == SK_EPARSE) {
        rc = strlist_push(&l, text + b, e - b);
    } else if (rc == SK_OK && v->kind == SK_PYLIT_LIST) {
        for (i = 0; rc == SK_OK && i < v->n; i++)
            rc = push_str_stripped(&l, v->items[i], 1);
    } else if (rc == SK_OK) {
        rc = push_str_stripped(&l, v, 0);
    }
    sk_pylit_free(v);
    if (rc != SK_OK) {
        strlist_free(&l);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return SK_OK;
}

/* ---- answer extraction -------------------------------------------------- */

/* Last index of the ASCII tag in cp[0..n), or -1 (tag is lower case). */
static long rfind_tag(const uint32_t *cp, size_t n, const char *tag)
{
    size_t tl = strlen(tag), i, k;
    if (n < tl)
        return -1;
    for (i = n - tl + 1; i-- > 0;) {
        for (k = 0; k < tl && cp[i + k] == (uint32_t)(unsigned char)tag[k]; k++)
            ;
        if (k == tl)
            return (long)i;
    }
    return -1;
}

/* Python str.splitlines() boundaries. */
static int is_line_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C ||
           (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* Appends cp[a..b) stripped (Python str.strip()) as UTF-8. */
static int put_stripped_cp(const uint32_t *cp, size_t a, size_t b,
                           struct sk_buf *out)
{
    while (a < b && sk_score_is_space(cp[a]))
        a++;
    while (b > a && sk_score_is_space(cp[b - 1]))
        b--;
    return sk_score_encode(cp + a, b - a, out);
}

int sk_docvqa_extract_answer(const char *text, size_t len, struct sk_buf *out)
{
    uint32_t *cp = NULL, *low = NULL;
    size_t n = 0, nl = 0, i, line = 0, last_a = 0, last_b = 0;
    long start, end;
    int rc, found = 0;

    rc = sk_score_decode(text, len, &cp, &n);
    if (rc == SK_OK)
        rc = sk_score_lower(cp, n, &low, &nl);
    if (rc != SK_OK)
        goto out;
    start = rfind_tag(low, nl, "<answer>");
    end = rfind_tag(low, nl, "</answer>");
    if (start >= 0 && end >= 0 && end > start) {
        /* positions found in lower() cut the original text, like the
         * reference's text[start + len("<answer>"):end] */
        size_t a = (size_t)start + 8, b = (size_t)end;
        if (a > n)
            a = n;
        if (b > n)
            b = n;
        rc = put_stripped_cp(cp, a, b > a ? b : a, out);
        goto out;
    }
    /* the last line with a non-blank character, stripped */
    for (i = 0; i <= n; i++) {
        if (i == n || is_line_break(cp[i])) {
            size_t a = line, b = i;
            while (a < b && sk_score_is_space(cp[a]))
                a++;
            if (a < b) {
                last_a = line;
                last_b = i;
                found = 1;
            }
            /* "\r\n" is one boundary */
            if (i < n && cp[i] == '\r' && i + 1 < n && cp[i + 1] == '\n')
                i++;
            line = i + 1;
        }
    }
    if (found)
        rc = put_stripped_cp(cp, last_a, last_b, out);
out:
    sk_free(cp);
    sk_free(low);
    return rc;
}

/* ---- scoring ------------------------------------------------------------ */

void sk_docvqa_result_release(struct sk_docvqa_result *res)
{
    sk_free(res->predicted);
    sk_free(res->fail_reason);
    memset(res, 0, sizeof *res);
}

int sk_docvqa_evaluate(const char *response, size_t len,
                       const char *const *golds, size_t n,
                       const char *answers_text, struct sk_docvqa_result *res)
{
    struct sk_buf pred, why;
    int rc;

    memset(res, 0, sizeof *res);
    sk_buf_init(&pred, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    rc = sk_docvqa_extract_answer(response, len, &pred);
    if (rc == SK_OK)
        rc = sk_anls_score(sk_buf_cstr(&pred), golds, n, &res->anls);
    if (rc != SK_OK)
        goto out;
    res->hard = res->anls >= SK_DOCVQA_HARD_MIN;
    res->predicted = sk_strdup(sk_buf_cstr(&pred));
    if (!res->predicted) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (res->anls <= 0.0) {
        rc = sk_buf_printf(&why, "predicted '%s' but expected one of ",
                           sk_buf_cstr(&pred));
        if (rc == SK_OK)
            rc = answers_text ? sk_buf_puts(&why, answers_text)
                              : sk_score_py_list_repr(golds, n, &why);
        if (rc == SK_OK && !(res->fail_reason = sk_strdup(sk_buf_cstr(&why))))
            rc = SK_ENOMEM;
    }
out:
    sk_buf_release(&pred);
    sk_buf_release(&why);
    return rc;
}

/* ---- items -------------------------------------------------------------- */

void sk_docvqa_item_init(struct sk_docvqa_item *it)
{
    memset(it, 0, sizeof *it);
}

void sk_docvqa_item_release(struct sk_docvqa_item *it)
{
    size_t i;
    sk_free(it->id);
    sk_free(it->question);
    sk_free(it->image_path);
    sk_free(it->task_type);
    for (i = 0; i < it->n_golds; i++)
        sk_free(it->golds[i]);
    sk_free(it->golds);
    sk_free(it->answers_text);
    sk_docvqa_item_init(it);
}

/* Python truthiness of a JSON value (absent counts as false). */
static int truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_TRUE:
        return 1;
    default:
        return 0;
    }
}

/* A new copy of s[0..len) stripped; NULL on SK_ENOMEM. */
static char *dup_stripped(const char *s, size_t len)
{
    size_t b, e;
    sk_score_strip(s, len, &b, &e);
    return sk_strndup(s + b, e - b);
}

/* str(v) of a JSON value into a new string; NULL on SK_ENOMEM. */
static char *json_py_str(const json_t *v)
{
    struct sk_pylit *p = NULL;
    struct sk_buf b;
    char *s = NULL;
    int rc = sk_pylit_from_json(v, &p);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (rc == SK_OK)
        rc = sk_pylit_str(p, &b);
    else if (rc == SK_EPARSE)
        rc = sk_buf_puts(&b, "[...]"); /* nested past any real item */
    if (rc == SK_OK && sk_buf_reserve(&b, 1) == SK_OK)
        s = sk_buf_detach(&b, NULL);
    sk_buf_release(&b);
    sk_pylit_free(p);
    return s;
}

/* The gold list and the text the failure reason quotes. */
static int item_answers(const json_t *obj, struct sk_docvqa_item *it)
{
    const json_t *raw = json_object_get(obj, "answers");
    struct sk_buf b;
    int rc = SK_OK;

    if (raw) { /* the evaluator reads item["answers"] as it is */
        it->answers_text = json_py_str(raw);
        if (!it->answers_text)
            return SK_ENOMEM;
        return sk_docvqa_gold_list(raw, &it->golds, &it->n_golds);
    }
    raw = json_object_get(obj, "answer");
    if (!truthy(raw))
        raw = json_object_get(obj, "ground_truth");
    if (truthy(raw) && !json_is_string(raw)) {
        it->answers_text = json_py_str(raw);
        if (!it->answers_text)
            return SK_ENOMEM;
        return sk_docvqa_gold_list(raw, &it->golds, &it->n_golds);
    }
    /* the loader's list: a Python literal in a string cell */
    if (truthy(raw))
        rc = sk_docvqa_parse_answers(json_string_value(raw),
                                     json_string_length(raw), &it->golds,
                                     &it->n_golds);
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_score_py_list_repr((const char *const *)it->golds, it->n_golds, &b);
    if (rc == SK_OK && !(it->answers_text = sk_buf_detach(&b, NULL)))
        rc = SK_ENOMEM;
    sk_buf_release(&b);
    if (rc == SK_OK && it->n_golds == 0) { /* `answers or [""]` */
        it->golds = sk_calloc(1, sizeof *it->golds);
        if (!it->golds || !(it->golds[0] = sk_strdup("")))
            return SK_ENOMEM;
        it->n_golds = 1;
    }
    return rc;
}

/* str(v).strip() of a truthy JSON value, or NULL (none or ENOMEM: *rc). */
static char *truthy_text(const json_t *v, int *rc)
{
    char *s, *t;
    *rc = SK_OK;
    if (!truthy(v))
        return NULL;
    if (json_is_string(v))
        s = dup_stripped(json_string_value(v), json_string_length(v));
    else if ((t = json_py_str(v)) != NULL) {
        s = dup_stripped(t, strlen(t));
        sk_free(t);
    } else
        s = NULL;
    if (!s)
        *rc = SK_ENOMEM;
    return s;
}

int sk_docvqa_item_from_json(const struct json_t *obj,
                             struct sk_docvqa_item *it, struct sk_error *err)
{
    const json_t *q = json_object_get(obj, "question");
    struct sk_buf id;
    const char *qs, *mark;
    size_t ql;
    char *doc = NULL;
    int rc;

    sk_docvqa_item_init(it);
    sk_buf_init(&id, 4096);
    rc = sk_bench_item_id(obj, &id, err);
    if (rc != SK_OK)
        goto out;
    if (!json_is_string(q)) {
        rc = sk_error_set(err, SK_EDATA, "docvqa item %s has no question",
                          sk_buf_cstr(&id));
        goto out;
    }
    it->id = sk_strdup(sk_buf_cstr(&id));
    if (!it->id)
        goto oom;
    qs = json_string_value(q);
    ql = json_string_length(q);
    /* "<question> document_path:<image>" as in the reference CSV */
    mark = memmem(qs, ql, DOC_MARKER, strlen(DOC_MARKER));
    if (mark) {
        const char *tail = mark + strlen(DOC_MARKER);
        doc = dup_stripped(tail, ql - (size_t)(tail - qs));
        if (!doc)
            goto oom;
        ql = (size_t)(mark - qs);
    }
    it->question = dup_stripped(qs, ql);
    if (!it->question)
        goto oom;
    if (!*it->question) {
        rc = sk_error_set(err, SK_EDATA, "docvqa item %s has a blank question",
                          it->id);
        goto out;
    }
    it->image_path = truthy_text(json_object_get(obj, "image_path"), &rc);
    if (rc != SK_OK)
        goto oom;
    if (!it->image_path) {
        it->image_path = doc ? doc : sk_strdup("");
        doc = NULL;
        if (!it->image_path)
            goto oom;
    }
    it->task_type = truthy_text(json_object_get(obj, "topic"), &rc);
    if (rc == SK_OK && !it->task_type)
        it->task_type = truthy_text(json_object_get(obj, "category"), &rc);
    if (rc == SK_OK && (!it->task_type || !*it->task_type)) {
        sk_free(it->task_type);
        it->task_type = sk_strdup(BENCH);
    }
    if (rc != SK_OK || !it->task_type)
        goto oom;
    rc = item_answers(obj, it);
    if (rc != SK_OK)
        goto oom;
    goto out;
oom:
    rc = sk_error_set(err, SK_ENOMEM, "docvqa item: out of memory");
out:
    if (rc != SK_OK)
        sk_docvqa_item_release(it);
    sk_free(doc);
    sk_buf_release(&id);
    return rc;
}

/* ---- images ------------------------------------------------------------- */

const char *sk_docvqa_image_mime(const unsigned char *data, size_t len)
{
    static const unsigned char png[8] = {0x89, 'P',  'N',  'G',
                                         '\r', '\n', 0x1A, '\n'};
    if (len >= sizeof png && memcmp(data, png, sizeof png) == 0)
        return "image/png";
    if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return "image/jpeg";
    return NULL;
}

/* The directory relative image paths fall back to, new string or NULL
 * (none configured, or *rc = SK_ENOMEM). */
static char *data_dir(const struct sk_config *cfg, int *rc)
{
    char *norm, *dir;
    const char *p;

    *rc = SK_OK;
    if (!cfg)
        return NULL;
    if (cfg->split_mode && strcmp(cfg->split_mode, "split_dir") == 0)
        p = cfg->split_dir;
    else
        p = cfg->data_path;
    if (!p || !*p)
        return NULL;
    norm = sk_fs_normalize(p);
    if (!norm) {
        *rc = SK_ENOMEM;
        return NULL;
    }
    /* split_dir's parent holds the data; a data_path file's directory */
    if (p == cfg->data_path && sk_fs_is_dir(norm))
        return norm;
    dir = sk_fs_dirname(norm);
    sk_free(norm);
    if (!dir)
        *rc = SK_ENOMEM;
    return dir;
}

int sk_docvqa_image_resolve(const char *path, const struct sk_config *cfg,
                            char **out, struct sk_error *err)
{
    char *base = NULL, *alt = NULL;
    int rc;

    *out = NULL;
    if (!path || !*path)
        return sk_error_set(err, SK_EDATA, "no image_path");
    if (path[0] == '/') {
        *out = sk_strdup(path);
    } else if (cfg && cfg->data_root && *cfg->data_root) {
        *out = sk_fs_join(cfg->data_root, path);
    } else if (sk_fs_exists(path)) {
        *out = sk_strdup(path);
    } else {
        base = data_dir(cfg, &rc);
        if (rc != SK_OK)
            return sk_error_set(err, rc, "out of memory");
        alt = base ? sk_fs_join(base, path) : NULL;
        if (base && !alt) {
            sk_free(base);
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        }
        if (alt && sk_fs_exists(alt)) {
            *out = alt;
            alt = NULL;
        } else {
            rc = sk_error_set(err, SK_EDATA,
                              "image %s not found (relative to the working "
                              "directory%s%s; env.data_root names the "
                              "directory image paths are relative to)",
                              path, alt ? ", nor as " : "", alt ? alt : "");
            sk_free(alt);
            sk_free(base);
            return rc;
        }
        sk_free(alt);
        sk_free(base);
    }
    if (!*out)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

int sk_docvqa_image_load(const char *path, const char *detail,
                         struct sk_llm_image *img, struct sk_error *err)
{
    struct sk_buf b;
    struct sk_error e;
    const char *mime;
    int rc;

    memset(img, 0, sizeof *img);
    memset(&e, 0, sizeof e);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_fs_read(path, SK_DOCVQA_MAX_IMAGE, &b, &e);
    if (rc == SK_ENOMEM) {
        rc = sk_error_set(err, rc, "%s: out of memory", path);
        goto out;
    }
    if (rc == SK_ETOOBIG) {
        rc = sk_error_set(err, SK_EDATA,
                          "image %s is larger than the %zu MiB limit", path,
                          SK_DOCVQA_MAX_IMAGE >> 20);
        goto out;
    }
    if (rc != SK_OK) {
        rc = sk_error_set(err, SK_EDATA, "image %s: %s", path, e.msg);
        goto out;
    }
    mime = sk_docvqa_image_mime((const unsigned char *)b.data, b.len);
    if (!mime) {
        rc = sk_error_set(err, SK_EDATA,
                          "image %s is neither PNG nor JPEG (by its content)",
                          path);
        goto out;
    }
    img->mime = mime;
    img->detail = detail;
    img->len = b.len;
    img->data = (const unsigned char *)sk_buf_detach(&b, NULL);
    if (!img->data) {
        memset(img, 0, sizeof *img);
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    }
out:
    sk_buf_release(&b);
    return rc;
}

/* ---- the benchmark ------------------------------------------------------ */

/* Renders template name of this benchmark with vars into a new string. */
static int render(const char *name, const char *prompts_dir,
                  const struct sk_prompt_var *vars, size_t n, char **out,
                  struct sk_error *err)
{
    return sk_bench_render(BENCH, name, prompts_dir, vars, n, out, err);
}

static int docvqa_build(const struct json_t *item, const char *skill,
                        const struct sk_bench_ctx *ctx, char **system,
                        char **user, struct sk_error *err)
{
    const char *prompts_dir = ctx ? ctx->prompts_dir : NULL;
    struct sk_docvqa_item it;
    struct sk_buf sec;
    struct sk_prompt_var v;
    int rc;

    *system = NULL;
    *user = NULL;
    sk_buf_init(&sec, SK_BENCH_MAX_PROMPT);
    rc = sk_docvqa_item_from_json(item, &it, err);
    if (rc != SK_OK)
        goto out;
    rc = sk_bench_skill_section(skill, &sec);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "skill section: %s", sk_strerror(rc));
        goto out;
    }
    v = sk_prompt_str("skill_section", sk_buf_cstr(&sec));
    rc = render("rollout_system", prompts_dir, &v, 1, system, err);
    v = sk_prompt_str("question", it.question);
    if (rc == SK_OK)
        rc = render("rollout_user", prompts_dir, &v, 1, user, err);
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
out:
    sk_docvqa_item_release(&it);
    sk_buf_release(&sec);
    return rc;
}

/* Sets key on obj to v (a new reference, NULL after a failed allocation). */
static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

static json_t *str_array(char *const *s, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(s[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static int docvqa_score(const struct json_t *item, const char *response,
                        const struct sk_bench_ctx *ctx, struct json_t *result,
                        struct sk_error *err)
{
    struct sk_docvqa_item it;
    struct sk_docvqa_result r;
    int rc;

    (void)ctx;
    memset(&r, 0, sizeof r);
    rc = sk_docvqa_item_from_json(item, &it, err);
    if (rc != SK_OK)
        return rc;
    rc = sk_docvqa_evaluate(response, strlen(response),
                            (const char *const *)it.golds, it.n_golds,
                            it.answers_text, &r);
    /* em/f1 carry hard and ANLS for the shared row layout */
    if (rc == SK_OK)
        rc = set_new(result, "em", json_real(r.hard ? 1.0 : 0.0));
    if (rc == SK_OK)
        rc = set_new(result, "f1", json_real(r.anls));
    if (rc == SK_OK)
        rc = set_new(result, "hard", json_integer(r.hard));
    if (rc == SK_OK)
        rc = set_new(result, "soft", json_real(r.anls));
    if (rc == SK_OK)
        rc = set_new(result, "anls", json_real(r.anls));
    if (rc == SK_OK)
        rc = set_new(result, "predicted_answer", json_string(r.predicted));
    if (rc == SK_OK)
        rc = set_new(result, "gold_answers", str_array(it.golds, it.n_golds));
    if (rc == SK_OK)
        rc = set_new(result, "fail_reason",
                     json_string(r.fail_reason ? r.fail_reason : ""));
    /* the normalised question and topic, not the raw CSV cells */
    if (rc == SK_OK)
        rc = set_new(result, "question", json_string(it.question));
    if (rc == SK_OK)
        rc = set_new(result, "task_description", json_string(it.question));
    if (rc == SK_OK)
        rc = set_new(result, "task_type", json_string(it.task_type));
    if (rc != SK_OK)
        sk_error_set(err, rc, "scoring docvqa item %s: %s", it.id,
                     sk_strerror(rc));
    sk_docvqa_result_release(&r);
    sk_docvqa_item_release(&it);
    return rc;
}

static int docvqa_images(const struct json_t *item,
                         const struct sk_bench_ctx *ctx,
                         struct sk_llm_image **out, size_t *n,
                         struct sk_error *err)
{
    const struct sk_config *cfg = ctx ? ctx->cfg : NULL;
    const char *detail = NULL;
    struct sk_docvqa_item it;
    struct sk_llm_image *img = NULL;
    char *path = NULL;
    int rc;

    *out = NULL;
    *n = 0;
    rc = sk_docvqa_item_from_json(item, &it, err);
    if (rc != SK_OK)
        return rc;
    if (cfg && cfg->image_detail) { /* "auto" or blank: not sent */
        if (strcmp(cfg->image_detail, "low") == 0)
            detail = "low";
        else if (strcmp(cfg->image_detail, "high") == 0)
            detail = "high";
    }
    if (!*it.image_path) {
        rc = sk_error_set(err, SK_EDATA, "docvqa item %s has no image_path",
                          it.id);
        goto out;
    }
    rc = sk_docvqa_image_resolve(it.image_path, cfg, &path, err);
    if (rc != SK_OK)
        goto out;
    img = sk_calloc(1, sizeof *img);
    if (!img) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = sk_docvqa_image_load(path, detail, img, err);
    if (rc != SK_OK)
        goto out;
    *out = img;
    *n = 1;
    img = NULL;
out:
    sk_free(img);
    sk_free(path);
    sk_docvqa_item_release(&it);
    return rc;
}

const struct sk_bench sk_bench_docvqa = {.name = BENCH,
                                         .build = docvqa_build,
                                         .score = docvqa_score,
                                         .images = docvqa_images};
