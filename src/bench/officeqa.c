/*
 * officeqa.c - the OfficeQA benchmark: item normalisation, the scorer,
 * the prompts, the multi-turn tool loop over the question's documents
 * (doctools.h) and the corpus builder that turns PDFs into the text files
 * the tools read.  Model calls go through the client the rollout gives;
 * nothing here decides what a failed run means.
 */
#include "common.h"

#include "bench/officeqa.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/benches.h"
#include "bench/convo.h"
#include "bench/doctools.h"
#include "bench/score.h"
#include "config/config.h"
#include "llm/client.h"
#include "train/prompt.h"
#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

#define BENCH "officeqa"

/* ---- items ------------------------------------------------------------- */

void sk_officeqa_strs_free(char **v, size_t n)
{
    size_t i;
    for (i = 0; v && i < n; i++)
        sk_free(v[i]);
    sk_free(v);
}

void sk_officeqa_item_init(struct sk_officeqa_item *it)
{
    memset(it, 0, sizeof *it);
}

void sk_officeqa_item_release(struct sk_officeqa_item *it)
{
    sk_free(it->id);
    sk_free(it->question);
    sk_free(it->ground_truth);
    sk_free(it->task_type);
    sk_officeqa_strs_free(it->source_files, it->n_source_files);
    sk_officeqa_strs_free(it->source_docs, it->n_source_docs);
    sk_officeqa_item_init(it);
}

/*
 * Python's str(v) of a JSON scalar into out; *truthy as bool(v).  Objects
 * and arrays are SK_EDATA (the reference would print their repr).
 */
static int py_str(const json_t *v, struct sk_buf *out, int *truthy)
{
    char num[40];
    *truthy = 0;
    if (!v || json_is_null(v))
        return sk_buf_puts(out, "None");
    if (json_is_string(v)) {
        *truthy = json_string_length(v) > 0;
        return sk_buf_append(out, json_string_value(v), json_string_length(v));
    }
    if (json_is_integer(v)) {
        *truthy = json_integer_value(v) != 0;
        return sk_buf_printf(out, "%" JSON_INTEGER_FORMAT,
                             json_integer_value(v));
    }
    if (json_is_real(v)) {
        *truthy = json_real_value(v) != 0.0;
        sk_py_float_repr(json_real_value(v), num, sizeof num);
        return sk_buf_puts(out, num);
    }
    if (json_is_boolean(v)) {
        *truthy = json_is_true(v);
        return sk_buf_puts(out, *truthy ? "True" : "False");
    }
    return SK_EDATA;
}

/* Appends s stripped as Python's str.strip(). */
static int put_stripped(struct sk_buf *out, const char *s, size_t len)
{
    size_t b, e;
    sk_score_strip(s, len, &b, &e);
    return sk_buf_append(out, s + b, e - b);
}

/*
 * str(obj[k1] or obj[k2] or ... or def).strip() into a new string; NULL
 * keys end the list.  SK_EDATA names the field.
 */
static int field_or(const json_t *obj, const char *const *keys, const char *def,
                    char **out, struct sk_error *err)
{
    struct sk_buf raw, b;
    int rc = SK_OK, truthy = 0;
    size_t i;

    *out = NULL;
    sk_buf_init(&raw, SK_BUF_UNLIMITED);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; keys[i]; i++) {
        sk_buf_reset(&raw);
        rc = py_str(json_object_get(obj, keys[i]), &raw, &truthy);
        if (rc == SK_EDATA) {
            sk_error_set(err, rc, "officeqa item: \"%s\" is not text", keys[i]);
            goto out;
        }
        if (rc != SK_OK || truthy)
            break;
    }
    if (rc == SK_OK)
        rc = truthy ? put_stripped(&b, sk_buf_cstr(&raw), raw.len)
                    : sk_buf_puts(&b, def);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&b, 1);
    if (rc == SK_OK)
        *out = sk_buf_detach(&b, NULL);
    else
        sk_error_set(err, rc, "officeqa item: %s", sk_strerror(rc));
out:
    sk_buf_release(&raw);
    sk_buf_release(&b);
    return rc;
}

/* Appends the stripped s[0..len) to the list unless it is empty. */
static int push_part(char ***v, size_t *n, const char *s, size_t len)
{
    size_t b, e;
    char **nv;
    sk_score_strip(s, len, &b, &e);
    if (e == b)
        return SK_OK;
    nv = sk_realloc(*v, (*n + 1) * sizeof **v);
    if (!nv)
        return SK_ENOMEM;
    *v = nv;
    nv[*n] = sk_strndup(s + b, e - b);
    if (!nv[*n])
        return SK_ENOMEM;
    (*n)++;
    return SK_OK;
}

/* Items of a JSON array as str(item).strip(), empty ones dropped. */
static int list_items(const json_t *a, char ***v, size_t *n)
{
    struct sk_buf b;
    const json_t *x;
    size_t i;
    int rc = SK_OK, truthy;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    json_array_foreach(a, i, x)
    {
        sk_buf_reset(&b);
        rc = py_str(x, &b, &truthy);
        if (rc == SK_OK)
            rc = push_part(v, n, sk_buf_cstr(&b), b.len);
        if (rc != SK_OK)
            break;
    }
    sk_buf_release(&b);
    return rc;
}

/* Length of a str.splitlines() boundary at s[i] (0 when none). */
static size_t line_break_at(const char *s, size_t len, size_t i)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[i];
    if (c == '\r')
        return (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
    if (c == '\n' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E))
        return 1;
    if (c == 0xC2 && i + 1 < len && u[i + 1] == 0x85)
        return 2;
    if (c == 0xE2 && i + 2 < len && u[i + 1] == 0x80 &&
        (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
        return 3;
    return 0;
}

static int ends_txt(const char *s, size_t len)
{
    return len >= 4 && s[len - 4] == '.' && (s[len - 3] | 0x20) == 't' &&
           (s[len - 2] | 0x20) == 'x' && (s[len - 1] | 0x20) == 't';
}

int sk_officeqa_parse_list(const struct json_t *v, char ***out, size_t *n,
                           struct sk_error *err)
{
    struct sk_buf raw;
    const char *t;
    size_t b, e, i, start;
    json_t *parsed = NULL;
    int rc = SK_OK, truthy;

    *out = NULL;
    *n = 0;
    sk_buf_init(&raw, SK_BUF_UNLIMITED);
    if (!v || json_is_null(v))
        goto out;
    if (json_is_array(v)) {
        rc = list_items(v, out, n);
        goto out;
    }
    rc = py_str(v, &raw, &truthy);
    if (rc != SK_OK)
        goto out;
    sk_score_strip(sk_buf_cstr(&raw), raw.len, &b, &e);
    t = sk_buf_cstr(&raw) + b;
    e -= b;
    if (e == 0)
        goto out;
    parsed = json_loadb(t, e, JSON_DECODE_ANY, NULL);
    if (json_is_array(parsed)) {
        rc = list_items(parsed, out, n);
    } else if (memchr(t, '\n', e)) {
        for (i = start = 0; rc == SK_OK && i < e;) {
            size_t br = line_break_at(t, e, i);
            if (!br) {
                i++;
                continue;
            }
            rc = push_part(out, n, t + start, i - start);
            i += br;
            start = i;
        }
        if (rc == SK_OK)
            rc = push_part(out, n, t + start, e - start);
    } else if (memchr(t, ',', e) && !ends_txt(t, e)) {
        for (i = start = 0; rc == SK_OK && i <= e; i++) {
            if (i < e && t[i] != ',')
                continue;
            rc = push_part(out, n, t + start, i - start);
            start = i + 1;
        }
    } else {
        rc = push_part(out, n, t, e);
    }
out:
    json_decref(parsed);
    sk_buf_release(&raw);
    if (rc != SK_OK) {
        sk_officeqa_strs_free(*out, *n);
        *out = NULL;
        *n = 0;
        if (rc == SK_EDATA)
            sk_error_set(err, rc,
                         "officeqa item: a list field holds an "
                         "object or a nested list");
        else
            sk_error_set(err, rc, "officeqa item: %s", sk_strerror(rc));
    }
    return rc;
}

int sk_officeqa_item_from_json(const struct json_t *obj,
                               struct sk_officeqa_item *it,
                               struct sk_error *err)
{
    static const char *const k_id[] = {"uid", "id", NULL};
    static const char *const k_q[] = {"question", NULL};
    static const char *const k_gt[] = {"ground_truth", "answer", NULL};
    static const char *const k_type[] = {"category", "difficulty", NULL};
    int rc;

    sk_officeqa_item_release(it);
    if (!json_is_object(obj))
        return sk_error_set(err, SK_EDATA, "officeqa item is not an object");
    rc = field_or(obj, k_id, "", &it->id, err);
    if (rc == SK_OK)
        rc = field_or(obj, k_q, "", &it->question, err);
    if (rc == SK_OK)
        rc = field_or(obj, k_gt, "", &it->ground_truth, err);
    if (rc == SK_OK)
        rc = field_or(obj, k_type, BENCH, &it->task_type, err);
    if (rc == SK_OK && !*it->task_type) {
        /* `... .strip() or "officeqa"` */
        sk_free(it->task_type);
        it->task_type = sk_strdup(BENCH);
        if (!it->task_type)
            rc = sk_error_set(err, SK_ENOMEM, "officeqa item: out of memory");
    }
    if (rc == SK_OK)
        rc =
            sk_officeqa_parse_list(json_object_get(obj, "source_files"),
                                   &it->source_files, &it->n_source_files, err);
    if (rc == SK_OK)
        rc = sk_officeqa_parse_list(json_object_get(obj, "source_docs"),
                                    &it->source_docs, &it->n_source_docs, err);
    if (rc != SK_OK)
        sk_officeqa_item_release(it);
    return rc;
}

/* ---- scoring ----------------------------------------------------------- */

static int is_ascii_punct(uint32_t c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* One of the words the reference's normalisation removes. */
static int is_scale_word(const uint32_t *w, size_t n)
{
    static const char *const words[] = {"million",  "millions", "billion",
                                        "billions", "dollars",  "dollar",
                                        "nominal"};
    size_t i, k;
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i]) != n)
            continue;
        for (k = 0; k < n && w[k] == (uint32_t)(unsigned char)words[i][k]; k++)
            ;
        if (k == n)
            return 1;
    }
    return 0;
}

int sk_officeqa_normalize(const char *s, size_t len, struct sk_buf *out)
{
    uint32_t *cp = NULL, *lo = NULL;
    size_t n = 0, m = 0, i, k, mark = out->len;
    int rc;

    rc = sk_score_decode(s, len, &cp, &n);
    if (rc == SK_OK)
        rc = sk_score_lower(cp, n, &lo, &m);
    if (rc != SK_OK)
        goto out;
    /* ',' and the punctuation other than . - % go (the strip() before is
     * absorbed by the final split) */
    for (i = 0, k = 0; i < m; i++)
        if (!is_ascii_punct(lo[i]) || lo[i] == '.' || lo[i] == '-' ||
            lo[i] == '%')
            lo[k++] = lo[i];
    m = k;
    /* \b(million|...)\b: a whole maximal run of word code points */
    for (i = 0, k = 0; i < m;) {
        size_t j = i;
        if (!sk_score_is_word(lo[i])) {
            lo[k++] = lo[i++];
            continue;
        }
        while (j < m && sk_score_is_word(lo[j]))
            j++;
        if (is_scale_word(lo + i, j - i)) {
            lo[k++] = ' ';
        } else {
            memmove(lo + k, lo + i, (j - i) * sizeof *lo);
            k += j - i;
        }
        i = j;
    }
    m = k;
    rc = sk_score_join_words(lo, m, out);
out:
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    sk_free(cp);
    sk_free(lo);
    return rc;
}

/* "<answer>" / "</answer>" at s[i] as re.IGNORECASE matches it (ASCII
 * letters in either case, U+017F for 's'); the matched length or 0. */
static size_t answer_tag_at(const char *s, size_t len, size_t i, int closing)
{
    const char *pat = closing ? "</answer>" : "<answer>";
    size_t k = i;
    for (; *pat; pat++) {
        char c;
        if (k >= len)
            return 0;
        c = s[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == *pat)
            k++;
        else if (*pat == 's' && k + 1 < len && s[k] == '\xC5' &&
                 s[k + 1] == '\xBF')
            k += 2;
        else
            return 0;
    }
    return k - i;
}

/* `"<answer>" in text.lower()`: only ASCII letters lower into it. */
static int has_answer_tag(const char *s, size_t len)
{
    size_t i, k;
    for (i = 0; i + 8 <= len; i++) {
        for (k = 0; k < 8; k++) {
            char c = s[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != "<answer>"[k])
                break;
        }
        if (k == 8)
            return 1;
    }
    return 0;
}

int sk_officeqa_extract(const char *text, size_t len, int *present,
                        struct sk_buf *out)
{
    size_t i, j, ol = 0, cl = 0;

    *present = has_answer_tag(text, len);
    if (!*present)
        return SK_OK;
    /* re.search: the first opening tag that has a closing one after it;
     * if the first has none, no later one has either */
    for (i = 0; i < len && !(ol = answer_tag_at(text, len, i, 0)); i++)
        ;
    for (j = i + ol; ol && j < len && !(cl = answer_tag_at(text, len, j, 1));
         j++)
        ;
    if (ol && cl)
        return put_stripped(out, text + i + ol, j - (i + ol));
    /* no complete pair: the last non-empty line, as SearchQA's rule */
    return sk_score_extract_answer(text, len, out);
}

/* Parses one number from a final answer for the numeric rule; 1 when it
 * is one. */
static int read_number(const char *s, size_t len, double *v)
{
    static const char *const words[] = {"millions", "million", "billions",
                                        "billion",  "dollars", "dollar",
                                        "nominal",  "percent", "usd"};
    char buf[128];
    size_t b, e, i, k = 0;
    int neg = 0;
    char *end;

    sk_score_strip(s, len, &b, &e);
    if (e - b >= 2 && s[b] == '(' && s[e - 1] == ')') {
        neg = 1;
        b++;
        e--;
    }
    for (i = b; i < e && k + 1 < sizeof buf;) {
        char c = s[i];
        size_t w, wl = 0;
        if (e - i >= 3 && memcmp(s + i, "\xE2\x88\x92", 3) == 0) {
            buf[k++] = '-'; /* U+2212 MINUS SIGN */
            i += 3;
            continue;
        }
        if (c == '$' || c == ',' || c == '%' || c == ' ' || c == '\t') {
            i++;
            continue;
        }
        for (w = 0; !wl && w < sizeof words / sizeof words[0]; w++) {
            size_t n = strlen(words[w]), q;
            if (e - i < n)
                continue;
            for (q = 0; q < n && (s[i + q] | 0x20) == words[w][q]; q++)
                ;
            if (q == n)
                wl = n;
        }
        if (wl) {
            i += wl;
            continue;
        }
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+'))
            return 0;
        buf[k++] = c;
        i++;
    }
    if (i < e || k == 0)
        return 0;
    buf[k] = '\0';
    /* [+-]?digits[.digits] or .digits, nothing else */
    for (i = (buf[0] == '-' || buf[0] == '+'); i < k; i++)
        if (!(buf[i] >= '0' && buf[i] <= '9') && buf[i] != '.')
            return 0;
    if (strchr(buf, '.') != strrchr(buf, '.'))
        return 0;
    errno = 0;
    *v = strtod(buf, &end);
    if (*end || errno || end == buf ||
        !strpbrk(buf, "0123456789")) /* "." or "-" alone */
        return 0;
    if (neg)
        *v = -*v;
    return 1;
}

void sk_officeqa_result_release(struct sk_officeqa_result *res)
{
    sk_free(res->predicted);
    sk_free(res->fail_reason);
    memset(res, 0, sizeof *res);
}

int sk_officeqa_evaluate(const char *response, size_t len, const char *gold,
                         size_t glen, struct sk_officeqa_result *res)
{
    struct sk_buf ans, np, ng, why;
    size_t common = 0, a = 0, g = 0;
    double pv, gv;
    int rc, present;

    memset(res, 0, sizeof *res);
    sk_buf_init(&ans, SK_BUF_UNLIMITED);
    sk_buf_init(&np, SK_BUF_UNLIMITED);
    sk_buf_init(&ng, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    rc = sk_officeqa_extract(response, len, &present, &ans);
    if (rc == SK_OK)
        rc = sk_buf_reserve(&ans, 1);
    if (rc != SK_OK)
        goto out;
    res->answered = ans.len > 0;
    if (res->answered) {
        rc = sk_officeqa_normalize(ans.data, ans.len, &np);
        if (rc == SK_OK)
            rc = sk_officeqa_normalize(gold, glen, &ng);
        if (rc != SK_OK)
            goto out;
        res->em = (np.len == ng.len &&
                   memcmp(sk_buf_cstr(&np), sk_buf_cstr(&ng), np.len) == 0)
                      ? 1.0
                      : 0.0;
        /* normalised text is single-space separated: empty = no tokens */
        if (np.len == 0 || ng.len == 0) {
            res->f1 = (np.len == 0 && ng.len == 0) ? 1.0 : 0.0;
        } else {
            rc = sk_score_token_overlap(np.data, np.len, ng.data, ng.len,
                                        &common, &a, &g);
            if (rc != SK_OK)
                goto out;
            res->f1 = sk_score_f1(common, a, g);
        }
        res->em_numeric = res->em;
        if (read_number(ans.data, ans.len, &pv) && read_number(gold, glen, &gv))
            res->em_numeric = pv == gv ? 1.0 : 0.0;
    }
    res->hard = (int)res->em;
    res->soft = res->f1;
    res->predicted = sk_strndup(sk_buf_cstr(&ans), ans.len);
    if (!res->predicted) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (res->answered && res->em < 1.0) {
        rc = sk_buf_printf(&why, "predicted '%s' but expected '",
                           sk_buf_cstr(&ans));
        if (rc == SK_OK)
            rc = sk_buf_append(&why, gold, glen);
        if (rc == SK_OK)
            rc = sk_buf_putc(&why, '\'');
        if (rc == SK_OK)
            res->fail_reason = sk_strndup(sk_buf_cstr(&why), why.len);
        if (rc == SK_OK && !res->fail_reason)
            rc = SK_ENOMEM;
    }
out:
    if (rc != SK_OK)
        sk_officeqa_result_release(res);
    sk_buf_release(&ans);
    sk_buf_release(&np);
    sk_buf_release(&ng);
    sk_buf_release(&why);
    return rc;
}

/* ---- configuration ----------------------------------------------------- */

static int use_tools(const struct sk_bench_ctx *ctx)
{
    return !ctx || !ctx->cfg || ctx->cfg->use_local_tools;
}

static long tool_turns(const struct sk_bench_ctx *ctx)
{
    const struct sk_config *c = ctx ? ctx->cfg : NULL;
    if (!c || c->is_null[SK_OPT_max_tool_turns] || c->max_tool_turns < 1)
        return SK_OFFICEQA_TOOL_TURNS;
    return (long)c->max_tool_turns;
}

/*
 * The document roots as configured: env.data_dirs (or, when that is null,
 * env.docs_dirs), then the parts of $OFFICEQA_DOCS_DIR split on ':' and
 * ','.  *out is a new array of new strings.
 */
static int doc_roots(const struct sk_bench_ctx *ctx, char ***out, size_t *n)
{
    const struct sk_config *c = ctx ? ctx->cfg : NULL;
    const struct sk_strlist *l = NULL;
    const char *env = getenv("OFFICEQA_DOCS_DIR");
    size_t i;
    int rc = SK_OK;

    *out = NULL;
    *n = 0;
    if (c && !c->is_null[SK_OPT_data_dirs])
        l = &c->data_dirs;
    else if (c && !c->is_null[SK_OPT_docs_dirs])
        l = &c->docs_dirs;
    for (i = 0; l && rc == SK_OK && i < l->n; i++)
        rc = push_part(out, n, l->v[i], strlen(l->v[i]));
    while (rc == SK_OK && env && *env) {
        size_t k = strcspn(env, ":,");
        rc = push_part(out, n, env, k);
        env += k;
        if (*env)
            env++;
    }
    if (rc != SK_OK) {
        sk_officeqa_strs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* The toolbox of an item (its source files under the roots). */
static int open_tools(const struct sk_bench_ctx *ctx,
                      const struct sk_officeqa_item *it,
                      struct sk_doctools **dt, struct sk_error *err)
{
    char **roots = NULL;
    size_t n = 0;
    int rc = doc_roots(ctx, &roots, &n);
    if (rc != SK_OK)
        return sk_error_set(err, rc, "officeqa: out of memory");
    rc = sk_doctools_open((const char *const *)roots, n,
                          (const char *const *)it->source_files,
                          it->n_source_files, dt, err);
    sk_officeqa_strs_free(roots, n);
    return rc;
}

/* Reads the item for build/score/episode; the question and the gold are
 * required. */
static int read_item(const json_t *item, struct sk_officeqa_item *it,
                     struct sk_error *err)
{
    int rc = sk_officeqa_item_from_json(item, it, err);
    if (rc != SK_OK)
        return rc;
    if (!*it->question || !*it->ground_truth) {
        rc = sk_error_set(err, SK_EDATA,
                          "officeqa item %s has no %s (an id-only manifest "
                          "item? see docs/benchmarks.md)",
                          it->id, *it->question ? "answer" : "question");
        sk_officeqa_item_release(it);
    }
    return rc;
}

/* ---- prompts ----------------------------------------------------------- */

/* Renders template name of this benchmark with vars into a new string. */
static int render(const char *name, const char *prompts_dir,
                  const struct sk_prompt_var *vars, size_t n, char **out,
                  struct sk_error *err)
{
    return sk_bench_render(BENCH, name, prompts_dir, vars, n, out, err);
}

/* "- x" lines of the page URLs, or "- none". */
static int source_pages(const struct sk_officeqa_item *it, struct sk_buf *b)
{
    size_t i;
    int rc = SK_OK;
    for (i = 0; rc == SK_OK && i < it->n_source_docs; i++)
        rc = sk_buf_printf(b, "%s- %s", i ? "\n" : "", it->source_docs[i]);
    if (rc == SK_OK && it->n_source_docs == 0)
        rc = sk_buf_puts(b, "- none");
    return rc;
}

/* The documents section: what the model may open, and what is missing. */
static int documents(const struct sk_doctools *dt, struct sk_buf *b)
{
    size_t i, n = sk_doctools_n_files(dt), nm = sk_doctools_n_missing(dt);
    int rc = SK_OK;
    for (i = 0; rc == SK_OK && i < n && i < SK_OFFICEQA_FILES_SHOWN; i++)
        rc = sk_buf_printf(b, "%s- %s", i ? "\n" : "", sk_doctools_file(dt, i));
    if (rc == SK_OK && n > SK_OFFICEQA_FILES_SHOWN)
        rc = sk_buf_printf(b, "\n- ... and %zu more (use list)",
                           n - SK_OFFICEQA_FILES_SHOWN);
    for (i = 0; rc == SK_OK && i < nm; i++)
        rc = sk_buf_printf(b, "%s- %s (not in the local corpus)",
                           (i || n) ? "\n" : "", sk_doctools_missing(dt, i));
    if (rc == SK_OK && n == 0 && nm == 0)
        rc = sk_buf_puts(b, "- none given");
    if (rc == SK_OK && n == 0)
        rc = sk_buf_puts(b, "\n\nNone of these documents can be opened "
                            "here: answer from what you know.");
    return rc;
}

static int build(const struct json_t *item, const char *skill,
                 const struct sk_bench_ctx *ctx, char **system, char **user,
                 struct sk_error *err)
{
    const char *prompts_dir = ctx ? ctx->prompts_dir : NULL;
    const struct sk_config *c = ctx ? ctx->cfg : NULL;
    struct sk_officeqa_item it;
    struct sk_doctools *dt = NULL;
    struct sk_buf sec, docs, pages;
    struct sk_prompt_var v[4];
    char turns[32], per[32];
    int rc, tools = use_tools(ctx);

    *system = *user = NULL;
    sk_officeqa_item_init(&it);
    sk_buf_init(&sec, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&docs, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&pages, SK_BENCH_MAX_PROMPT);
    if (c && c->search_mode && strcmp(c->search_mode, "offline") != 0) {
        rc = sk_error_set(err, SK_ECONFIG,
                          "env.search_mode %s: only offline (local "
                          "documents) is supported",
                          c->search_mode);
        goto out;
    }
    rc = read_item(item, &it, err);
    if (rc != SK_OK)
        goto out;
    if (tools) {
        rc = open_tools(ctx, &it, &dt, err);
        if (rc != SK_OK)
            goto out;
        if (sk_doctools_n_roots(dt) == 0) {
            rc = sk_error_set(
                err, SK_ENOTFOUND,
                "officeqa: no document directory found (env.data_dirs, "
                "env.docs_dirs, $OFFICEQA_DOCS_DIR); make one from the "
                "PDFs with `skillopt data officeqa-corpus --pdfs DIR --out "
                "DIR`, or set env.use_local_tools=false");
            goto out;
        }
        rc = documents(dt, &docs);
    }
    if (rc == SK_OK)
        rc = sk_bench_skill_section(skill, &sec);
    if (rc == SK_OK)
        rc = source_pages(&it, &pages);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "officeqa prompts: %s", sk_strerror(rc));
        goto out;
    }
    snprintf(turns, sizeof turns, "%ld", tool_turns(ctx));
    snprintf(per, sizeof per, "%d", SK_OFFICEQA_TOOLS_PER_REPLY);
    v[0] = sk_prompt_str("skill_section", sk_buf_cstr(&sec));
    v[1] = sk_prompt_str("max_tool_turns", turns);
    v[2] = sk_prompt_str("tools_per_reply", per);
    rc = render(tools ? "rollout_system" : "rollout_system_single", prompts_dir,
                v, 3, system, err);
    if (rc != SK_OK)
        goto out;
    v[0] = sk_prompt_str("question", it.question);
    v[1] = sk_prompt_str("source_pages", sk_buf_cstr(&pages));
    v[2] = sk_prompt_str("documents", sk_buf_cstr(&docs));
    rc = render(tools ? "rollout_user" : "rollout_user_single", prompts_dir, v,
                tools ? 3 : 2, user, err);
out:
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
    sk_doctools_free(dt);
    sk_officeqa_item_release(&it);
    sk_buf_release(&sec);
    sk_buf_release(&docs);
    sk_buf_release(&pages);
    return rc;
}

/* ---- the tool loop ----------------------------------------------------- */

/* A growing conversation: messages whose contents it owns. */
static int push_turn(json_t *turns, json_t *t)
{
    return json_array_append_new(turns, t) == 0 ? SK_OK : SK_ENOMEM;
}

/*
 * Runs the tool blocks of reply; their results go into msg (the next user
 * message) and turns.  *asked is 1 when the reply had any block.
 */
static int run_tools(const struct sk_doctools *dt, const char *reply,
                     json_t *turns, struct sk_buf *msg, int *asked)
{
    struct sk_buf name, res;
    const char *body;
    size_t pos = 0, blen, len = strlen(reply), k = 0;
    int closed, rc = SK_OK;

    *asked = 0;
    sk_buf_init(&name, 256);
    sk_buf_init(&res, SK_BUF_UNLIMITED);
    while (rc == SK_OK &&
           sk_doctools_next_block(reply, len, &pos, &body, &blen, &closed)) {
        int failed = 1;
        *asked = 1;
        sk_buf_reset(&name);
        sk_buf_reset(&res);
        if (++k > SK_OFFICEQA_TOOLS_PER_REPLY) {
            rc = sk_buf_puts(&name, "?");
            if (rc == SK_OK)
                rc = sk_buf_printf(&res,
                                   "error: only %d tool requests run per "
                                   "reply; this one was skipped",
                                   SK_OFFICEQA_TOOLS_PER_REPLY);
        } else if (!closed) {
            rc = sk_buf_puts(&name, "?");
            if (rc == SK_OK)
                rc = sk_buf_puts(&res, "error: the <tool> block has no "
                                       "closing </tool>");
        } else {
            rc = sk_doctools_run(dt, body, blen, &name, &res, &failed);
        }
        if (rc != SK_OK)
            break;
        rc = sk_buf_printf(msg,
                           "<tool_result name=\"%s\" status=\"%s\">\n%s\n"
                           "</tool_result>\n\n",
                           sk_buf_cstr(&name), failed ? "error" : "ok",
                           sk_buf_cstr(&res));
        if (rc == SK_OK)
            rc = push_turn(turns,
                           json_pack("{s:s, s:s, s:s, s:b}", "role", "tool",
                                     "name", sk_buf_cstr(&name), "content",
                                     sk_buf_cstr(&res), "error", failed));
    }
    sk_buf_release(&name);
    sk_buf_release(&res);
    return rc;
}

/* One model call on the conversation so far; the reply is new in *text. */
static int episode(struct sk_bench_episode *ep, const struct sk_bench_ctx *ctx,
                   struct sk_error *err)
{
    struct sk_llm_client *c = ep->client;
    const json_t *item = ep->item;
    const char *system = ep->system, *user = ep->user;
    long max_tokens = ep->max_tokens;
    char **final = &ep->final;
    json_t **turns_out = &ep->turns;
    struct sk_officeqa_item it;
    struct sk_doctools *dt = NULL;
    struct sk_convo cv;
    struct sk_buf msg;
    json_t *turns = json_array();
    char *u = sk_strdup(user), *text = NULL;
    long turn, max = use_tools(ctx) ? tool_turns(ctx) : 1;
    int rc;

    *final = NULL;
    *turns_out = NULL;
    memset(&cv, 0, sizeof cv);
    sk_officeqa_item_init(&it);
    sk_buf_init(&msg, SK_BUF_UNLIMITED);
    if (!turns || !u) {
        sk_free(u);
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = sk_convo_push(&cv, "user", u);
    if (rc == SK_OK)
        rc = read_item(item, &it, err);
    if (rc == SK_OK && use_tools(ctx))
        rc = open_tools(ctx, &it, &dt, err);
    if (rc != SK_OK)
        goto out;
    for (turn = 1; turn <= max; turn++) {
        int asked = 0;
        rc = sk_convo_ask(c, system, &cv, max_tokens, &text, it.id, turn, err);
        if (rc != SK_OK)
            goto out;
        rc = push_turn(turns,
                       json_pack("{s:s, s:I, s:s}", "role", "assistant", "turn",
                                 (json_int_t)turn, "content", text));
        if (rc == SK_OK && dt) {
            sk_buf_reset(&msg);
            rc = run_tools(dt, text, turns, &msg, &asked);
        }
        if (rc != SK_OK || !asked || turn == max)
            break; /* answered, gave up, or out of turns (score says) */
        {
            char *a = sk_strdup(text);
            rc = a ? sk_convo_push(&cv, "assistant", a) : SK_ENOMEM;
        }
        if (rc == SK_OK)
            rc = sk_buf_printf(&msg,
                               turn + 1 == max
                                   ? "That was reply %ld of %ld: the next is "
                                     "your last. Give your final answer in "
                                     "<answer></answer> and no <tool> block."
                                   : "That was reply %ld of %ld. Ask for "
                                     "more with <tool> blocks, or give your "
                                     "final answer in <answer></answer>.",
                               turn, max);
        if (rc == SK_OK) {
            char *m = sk_buf_detach(&msg, NULL);
            rc = m ? sk_convo_push(&cv, "user", m) : SK_ENOMEM;
        }
        if (rc != SK_OK)
            break;
        sk_free(text);
        text = NULL;
    }
    if (rc != SK_OK) {
        sk_error_set(err, rc, "officeqa episode: %s", sk_strerror(rc));
        goto out;
    }
    *final = text;
    text = NULL;
    *turns_out = turns;
    turns = NULL;
out:
    sk_free(text);
    json_decref(turns);
    sk_doctools_free(dt);
    sk_officeqa_item_release(&it);
    sk_convo_release(&cv);
    sk_buf_release(&msg);
    return rc;
}

/* ---- scoring callback -------------------------------------------------- */

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

static json_t *str_list(char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

/* Does the reply ask for a tool (then it ended the loop by budget)? */
static int asks_tool(const char *text)
{
    const char *body;
    size_t pos = 0, blen;
    int closed;
    return sk_doctools_next_block(text, strlen(text), &pos, &body, &blen,
                                  &closed);
}

static int score(const struct json_t *item, const char *response,
                 const struct sk_bench_ctx *ctx, struct json_t *result,
                 struct sk_error *err)
{
    struct sk_officeqa_item it;
    struct sk_officeqa_result r;
    struct sk_buf why;
    const char *fail = NULL;
    int rc, tools = use_tools(ctx);

    memset(&r, 0, sizeof r);
    sk_officeqa_item_init(&it);
    sk_buf_init(&why, 512);
    rc = read_item(item, &it, err);
    if (rc != SK_OK)
        goto out;
    rc = sk_officeqa_evaluate(response, strlen(response), it.ground_truth,
                              strlen(it.ground_truth), &r);
    if (rc == SK_OK && tools && asks_tool(response)) {
        /* the last reply still asked for a tool: the reference scores
         * such an item 0 whatever <answer> it holds */
        sk_officeqa_result_release(&r);
        memset(&r, 0, sizeof r);
        r.predicted = sk_strdup("");
        if (!r.predicted)
            rc = SK_ENOMEM;
        else
            rc = sk_buf_printf(&why, "Exceeded tool-turn budget (%ld)",
                               tool_turns(ctx));
        fail = sk_buf_cstr(&why);
    } else if (rc == SK_OK) {
        if (ctx && ctx->cfg && ctx->cfg->officeqa_numeric_em &&
            r.em_numeric >= 1.0 && r.hard == 0) {
            /* the better rule, when asked for: equal values match */
            r.hard = 1;
            sk_free(r.fail_reason);
            r.fail_reason = NULL;
        }
        fail = r.fail_reason ? r.fail_reason
               : r.answered  ? ""
               : tools ? "Model neither produced a tool request nor a final "
                         "answer"
                       : "Model did not produce a final answer";
    }
    if (rc == SK_OK)
        rc = set_new(result, "em", json_real(r.em));
    if (rc == SK_OK)
        rc = set_new(result, "f1", json_real(r.f1));
    if (rc == SK_OK)
        rc = set_new(result, "hard", json_integer(r.hard));
    if (rc == SK_OK)
        rc = set_new(result, "soft", json_real(r.soft));
    if (rc == SK_OK)
        rc = set_new(result, "predicted_answer", json_string(r.predicted));
    if (rc == SK_OK)
        rc = set_new(result, "gold_answers", str_list(&it.ground_truth, 1));
    if (rc == SK_OK)
        rc = set_new(result, "fail_reason", json_string(fail));
    if (rc == SK_OK)
        rc = set_new(result, "em_numeric", json_real(r.em_numeric));
    if (rc == SK_OK)
        rc = set_new(result, "task_type", json_string(it.task_type));
    if (rc == SK_OK)
        rc = set_new(result, "ground_truth", json_string(it.ground_truth));
    if (rc == SK_OK)
        rc = set_new(result, "source_files",
                     str_list(it.source_files, it.n_source_files));
    if (rc == SK_OK)
        rc = set_new(result, "use_local_tools", json_boolean(tools));
    if (rc != SK_OK)
        sk_error_set(err, rc, "scoring officeqa item %s: %s", it.id,
                     sk_strerror(rc));
out:
    sk_officeqa_result_release(&r);
    sk_officeqa_item_release(&it);
    sk_buf_release(&why);
    return rc;
}

const struct sk_bench sk_bench_officeqa = {
    .name = BENCH, .build = build, .score = score, .episode = episode};

/* ---- the corpus builder ------------------------------------------------ */

void sk_officeqa_corpus_stats_init(struct sk_officeqa_corpus_stats *st)
{
    memset(st, 0, sizeof *st);
}

void sk_officeqa_corpus_stats_release(struct sk_officeqa_corpus_stats *st)
{
    sk_officeqa_strs_free(st->no_text_names, st->no_text);
    sk_officeqa_strs_free(st->failed_names, st->failed);
    sk_officeqa_corpus_stats_init(st);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_pdf_name(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && s[0] != '.' && s[n - 4] == '.' &&
           (s[n - 3] | 0x20) == 'p' && (s[n - 2] | 0x20) == 'd' &&
           (s[n - 1] | 0x20) == 'f';
}

/* The PDF file names of dir, sorted. */
static int list_pdfs(const char *dir, char ***out, size_t *n,
                     struct sk_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = SK_OK;

    *out = NULL;
    *n = 0;
    if (!d)
        return sk_error_set(err, errno == ENOENT ? SK_ENOTFOUND : SK_EIO,
                            "%s: %s", dir, strerror(errno));
    while (rc == SK_OK && (e = readdir(d)) != NULL) {
        char *p;
        struct stat st;
        if (!is_pdf_name(e->d_name))
            continue;
        p = sk_fs_join(dir, e->d_name);
        if (!p) {
            rc = SK_ENOMEM;
            break;
        }
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            rc = push_part(out, n, e->d_name, strlen(e->d_name));
        sk_free(p);
    }
    closedir(d);
    if (rc != SK_OK) {
        sk_officeqa_strs_free(*out, *n);
        *out = NULL;
        *n = 0;
        return sk_error_set(err, rc, "out of memory");
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, name_cmp);
    return SK_OK;
}

/*
 * Runs prog -q -layout -enc UTF-8 pdf txt.  Returns SK_OK with *status
 * the exit status (-1 for a signal), SK_ENOTFOUND when prog cannot be
 * run, SK_EIO otherwise.
 */
static int run_pdftotext(const char *prog, const char *pdf, const char *txt,
                         int *status, struct sk_error *err)
{
    char *argv[8];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int ws = 0, e;

    argv[0] = (char *)prog;
    argv[1] = (char *)"-q";
    argv[2] = (char *)"-layout";
    argv[3] = (char *)"-enc";
    argv[4] = (char *)"UTF-8";
    argv[5] = (char *)pdf;
    argv[6] = (char *)txt;
    argv[7] = NULL;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (e == 0)
        e = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (e == 0)
        e = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0)
        return sk_error_set(
            err, (e == ENOENT || e == EACCES) ? SK_ENOTFOUND : SK_EIO,
            "cannot run %s: %s (install poppler-utils)", prog, strerror(e));
    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR)
            return sk_error_set(err, SK_EIO, "waiting for %s: %s", prog,
                                strerror(errno));
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    if (*status == 127)
        return sk_error_set(err, SK_ENOTFOUND,
                            "cannot run %s (install poppler-utils)", prog);
    return SK_OK;
}

/* 1 when the file holds a byte that is not whitespace (a text layer). */
static int has_text(const char *path)
{
    char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
    ssize_t n, i;
    if (fd < 0)
        return 0;
    while (!found && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; !found && i < n; i++)
            found = !strchr(" \t\r\n\f\v", buf[i]) || buf[i] == '\0';
    }
    close(fd);
    return found;
}

static int newer_or_same(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
            a->st_mtim.tv_nsec >= b->st_mtim.tv_nsec);
}

/* Converts one PDF (name in pdf_dir); updates st. */
static int convert_one(const char *prog, const char *pdf_dir,
                       const char *out_dir, const char *name,
                       struct sk_officeqa_corpus_stats *st,
                       struct sk_error *first, struct sk_error *err)
{
    struct sk_buf dst, tmp;
    struct stat ps, ts;
    char *src = sk_fs_join(pdf_dir, name);
    size_t stem = strlen(name) - 4;
    int rc, status = 0;

    sk_buf_init(&dst, SK_BUF_UNLIMITED);
    sk_buf_init(&tmp, SK_BUF_UNLIMITED);
    rc = src ? SK_OK : SK_ENOMEM;
    if (rc == SK_OK)
        rc = sk_buf_printf(&dst, "%s/%.*s.txt", out_dir, (int)stem, name);
    if (rc == SK_OK)
        rc = sk_buf_printf(&tmp, "%s/.%.*s.txt.tmp.%ld", out_dir, (int)stem,
                           name, (long)getpid());
    if (rc != SK_OK) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (stat(src, &ps) == 0 && stat(sk_buf_cstr(&dst), &ts) == 0 &&
        newer_or_same(&ts, &ps)) {
        st->up_to_date++;
        goto out;
    }
    rc = run_pdftotext(prog, src, sk_buf_cstr(&tmp), &status, err);
    if (rc != SK_OK) {
        unlink(sk_buf_cstr(&tmp));
        goto out;
    }
    if (status != 0) {
        unlink(sk_buf_cstr(&tmp));
        if (first->code == SK_OK)
            sk_error_set(first, SK_EIO, "%s: pdftotext failed (exit %d)", src,
                         status);
        rc = push_part(&st->failed_names, &st->failed, name, strlen(name));
        if (rc != SK_OK)
            rc = sk_error_set(err, rc, "out of memory");
        goto out;
    }
    if (!has_text(sk_buf_cstr(&tmp))) {
        unlink(sk_buf_cstr(&tmp));
        sk_warn("%s: no text layer (a scan?); no text file written", src);
        rc = push_part(&st->no_text_names, &st->no_text, name, strlen(name));
        if (rc != SK_OK)
            rc = sk_error_set(err, rc, "out of memory");
        goto out;
    }
    if (rename(sk_buf_cstr(&tmp), sk_buf_cstr(&dst)) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: %s", sk_buf_cstr(&dst),
                          strerror(errno));
        unlink(sk_buf_cstr(&tmp));
        goto out;
    }
    st->converted++;
out:
    sk_free(src);
    sk_buf_release(&dst);
    sk_buf_release(&tmp);
    return rc;
}

int sk_officeqa_build_corpus(const char *pdf_dir, const char *out_dir,
                             struct sk_officeqa_corpus_stats *st,
                             struct sk_error *err)
{
    const char *prog = getenv("PDFTOTEXT");
    struct sk_error first;
    char **names = NULL;
    size_t n = 0, i;
    int rc;

    sk_officeqa_corpus_stats_release(st);
    sk_error_clear(&first);
    if (!prog || !*prog)
        prog = "pdftotext";
    if (!sk_fs_is_dir(pdf_dir))
        return sk_error_set(err, SK_ENOTFOUND, "%s: no such directory",
                            pdf_dir);
    rc = list_pdfs(pdf_dir, &names, &n, err);
    if (rc == SK_OK)
        rc = sk_fs_mkdirs(out_dir, err);
    st->pdfs = n;
    for (i = 0; rc == SK_OK && i < n; i++)
        rc = convert_one(prog, pdf_dir, out_dir, names[i], st, &first, err);
    if (rc == SK_OK && st->failed)
        rc = sk_error_set(err, SK_EIO, "%zu of %zu PDFs failed; first: %s",
                          st->failed, n, first.msg);
    sk_officeqa_strs_free(names, n);
    return rc;
}
