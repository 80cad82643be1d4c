/*
 * searchqa.c - SearchQA item reading, context cut and SQuAD-style scoring.
 *
 * Works on code points (score.h) so that lengths, case folding and word
 * boundaries agree with the Python reference; it does not build prompts
 * or talk to models.
 */
#include "common.h"

#include "bench/searchqa.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "bench/score.h"
#include "util/alloc.h"
#include "util/buf.h"

#define DOC_SEP "[DOC]"
#define DOC_SEP_LEN 5
#define TRUNCATED_TAIL "\n...[truncated]"

void sk_searchqa_item_init(struct sk_searchqa_item *it)
{
    memset(it, 0, sizeof(*it));
}

void sk_searchqa_item_release(struct sk_searchqa_item *it)
{
    size_t i;
    sk_free(it->id);
    sk_free(it->question);
    sk_free(it->context);
    for (i = 0; i < it->n_answers; i++)
        sk_free(it->answers[i]);
    sk_free(it->answers);
    sk_searchqa_item_init(it);
}

static int copy_id(const json_t *v, char **out)
{
    char num[32];
    if (json_is_string(v)) {
        *out = sk_strndup(json_string_value(v), json_string_length(v));
    } else {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        *out = sk_strdup(num);
    }
    return *out ? SK_OK : SK_ENOMEM;
}

int sk_searchqa_item_from_json(const struct json_t *obj,
                               struct sk_searchqa_item *it,
                               struct sk_error *err)
{
    const json_t *id, *q, *ctx, *ans;
    struct sk_buf cut;
    size_t i;
    int rc = SK_OK;

    sk_buf_init(&cut, SK_BUF_UNLIMITED);
    sk_searchqa_item_release(it);
    if (!json_is_object(obj)) {
        rc = sk_error_set(err, SK_EDATA, "searchqa item is not an object");
        goto out;
    }
    id = json_object_get(obj, "id");
    q = json_object_get(obj, "question");
    ctx = json_object_get(obj, "context");
    ans = json_object_get(obj, "answers");
    if (!json_is_string(id) && !json_is_integer(id)) {
        rc = sk_error_set(err, SK_EDATA, "searchqa item: bad or missing id");
        goto out;
    }
    if (!json_is_string(q) ||
        (ctx && !json_is_string(ctx) && !json_is_null(ctx)) ||
        (ans && !json_is_array(ans))) {
        rc = sk_error_set(err, SK_EDATA,
                          "searchqa item: question/context/answers missing "
                          "or of the wrong type");
        goto out;
    }
    for (i = 0; ans && i < json_array_size(ans); i++) {
        if (!json_is_string(json_array_get(ans, i))) {
            rc = sk_error_set(err, SK_EDATA,
                              "searchqa item: answers[%zu] is not a string", i);
            goto out;
        }
    }
    rc = copy_id(id, &it->id);
    if (rc != SK_OK)
        goto out;
    it->question = sk_strndup(json_string_value(q), json_string_length(q));
    if (!it->question) {
        rc = SK_ENOMEM;
        goto out;
    }
    /* A null context stays NULL: the reference rollout fails such an item
     * on len(None), which is the caller's business. */
    if (!json_is_null(ctx)) {
        if (ctx)
            rc = sk_searchqa_cut_context(json_string_value(ctx),
                                         json_string_length(ctx),
                                         SK_SEARCHQA_CONTEXT_CHARS, &cut);
        if (rc != SK_OK)
            goto out;
        it->context = sk_strndup(sk_buf_cstr(&cut), cut.len);
        if (!it->context) {
            rc = SK_ENOMEM;
            goto out;
        }
    }
    if (ans && json_array_size(ans) > 0) {
        size_t n = json_array_size(ans);
        it->answers = sk_calloc(n, sizeof(*it->answers));
        if (!it->answers) {
            rc = SK_ENOMEM;
            goto out;
        }
        for (i = 0; i < n; i++) {
            const json_t *a = json_array_get(ans, i);
            it->answers[i] =
                sk_strndup(json_string_value(a), json_string_length(a));
            if (!it->answers[i]) {
                rc = SK_ENOMEM;
                goto out;
            }
            it->n_answers = i + 1;
        }
    }
out:
    if (rc == SK_ENOMEM)
        sk_error_set(err, rc, "out of memory reading a searchqa item");
    if (rc != SK_OK)
        sk_searchqa_item_release(it);
    sk_buf_release(&cut);
    return rc;
}

/* memmem for the "[DOC]" separator, or NULL. */
static const char *find_sep(const char *p, const char *end)
{
    if ((size_t)(end - p) < DOC_SEP_LEN)
        return NULL;
    return memmem(p, (size_t)(end - p), DOC_SEP, DOC_SEP_LEN);
}

int sk_searchqa_cut_context(const char *ctx, size_t len, size_t max_chars,
                            struct sk_buf *out)
{
    const char *p = ctx, *end = ctx + len;
    size_t mark = out->len, kept = 0, kept_bytes = 0;
    int rc;

    if (sk_score_cp_count(ctx, len) <= max_chars)
        return sk_buf_append(out, ctx, len);
    /* Python's context.split("[DOC]") walked piece by piece; `kept` counts
     * code points of the result so far and an empty result means the
     * next piece goes in without its separator. */
    for (;;) {
        const char *sep = find_sep(p, end);
        const char *pend = sep ? sep : end;
        size_t plen = sk_score_cp_count(p, (size_t)(pend - p));
        size_t cand = kept_bytes ? kept + DOC_SEP_LEN + plen : plen;
        if (cand > max_chars)
            break;
        if (kept_bytes)
            rc = sk_buf_append(out, DOC_SEP, DOC_SEP_LEN);
        else
            rc = SK_OK;
        if (rc == SK_OK)
            rc = sk_buf_append(out, p, (size_t)(pend - p));
        if (rc != SK_OK)
            goto fail;
        kept = cand;
        kept_bytes = out->len - mark;
        if (!sep)
            break;
        p = sep + DOC_SEP_LEN;
    }
    if (kept_bytes)
        return SK_OK;
    rc = sk_buf_append(out, ctx, sk_score_cp_offset(ctx, len, max_chars));
    if (rc == SK_OK)
        rc = sk_buf_puts(out, TRUNCATED_TAIL);
    if (rc == SK_OK)
        return SK_OK;
fail:
    sk_buf_truncate(out, mark);
    return rc;
}

static int is_ascii_punct(uint32_t c)
{
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

static int is_article(const uint32_t *w, size_t n)
{
    return (n == 1 && w[0] == 'a') || (n == 2 && w[0] == 'a' && w[1] == 'n') ||
           (n == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e');
}

int sk_searchqa_normalize(const char *s, size_t len, struct sk_buf *out)
{
    uint32_t *cp = NULL, *lo = NULL;
    size_t n = 0, m = 0, i, k;
    size_t mark = out->len;
    int rc;

    rc = sk_score_decode(s, len, &cp, &n);
    if (rc != SK_OK)
        goto out;
    rc = sk_score_lower(cp, n, &lo, &m);
    if (rc != SK_OK)
        goto out;
    /* Punctuation goes first, so "x-ray" becomes one word "xray". */
    for (i = 0, k = 0; i < m; i++)
        if (!is_ascii_punct(lo[i]))
            lo[k++] = lo[i];
    m = k;
    /* re.sub(r"\b(a|an|the)\b", " "): a match is a whole maximal run of
     * word code points spelling an article. */
    for (i = 0, k = 0; i < m;) {
        size_t j = i;
        if (!sk_score_is_word(lo[i])) {
            lo[k++] = lo[i++];
            continue;
        }
        while (j < m && sk_score_is_word(lo[j]))
            j++;
        if (is_article(lo + i, j - i)) {
            lo[k++] = ' ';
        } else {
            memmove(lo + k, lo + i, (j - i) * sizeof(*lo));
            k += j - i;
        }
        i = j;
    }
    m = k;
    rc = sk_score_join_words(lo, m, out); /* " ".join(s.split()) */
out:
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    sk_free(cp);
    sk_free(lo);
    return rc;
}

/* Normalises every gold into its own NUL-terminated string. */
static int normalize_all(const char *const *golds, size_t n, char ***out)
{
    char **g;
    size_t i;
    *out = NULL;
    g = sk_calloc(n ? n : 1, sizeof(*g));
    if (!g)
        return SK_ENOMEM;
    for (i = 0; i < n; i++) {
        struct sk_buf b;
        int rc;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        rc = sk_searchqa_normalize(golds[i], strlen(golds[i]), &b);
        if (rc == SK_OK)
            g[i] = b.len ? sk_buf_detach(&b, NULL) : sk_strdup("");
        sk_buf_release(&b);
        if (rc != SK_OK || !g[i]) {
            size_t j;
            for (j = 0; j < i; j++)
                sk_free(g[j]);
            sk_free(g);
            return SK_ENOMEM;
        }
    }
    *out = g;
    return SK_OK;
}

/* Python's `needle in hay` on UTF-8 byte strings. */
static int contains(const char *hay, size_t hn, const char *needle, size_t nn)
{
    return nn == 0 || (hn >= nn && memmem(hay, hn, needle, nn) != NULL);
}

int sk_searchqa_metrics(const char *pred, size_t len, const char *const *golds,
                        size_t n, double *em, double *f1, double *sub_em)
{
    struct sk_buf np;
    char **ng = NULL;
    size_t i, n_pred = 0;
    double best = 0.0, e = 0.0, sub = 0.0;
    int rc;

    sk_buf_init(&np, SK_BUF_UNLIMITED);
    rc = sk_searchqa_normalize(pred, len, &np);
    if (rc != SK_OK)
        goto out;
    rc = normalize_all(golds, n, &ng);
    if (rc != SK_OK)
        goto out;
    for (i = 0; i < n; i++) {
        size_t gl = strlen(ng[i]);
        if (gl == np.len && memcmp(ng[i], sk_buf_cstr(&np), gl) == 0)
            e = 1.0;
        if (contains(sk_buf_cstr(&np), np.len, ng[i], gl) ||
            contains(ng[i], gl, sk_buf_cstr(&np), np.len))
            sub = 1.0;
    }
    /* After normalisation tokens are single-space separated, so an empty
     * string is exactly "no tokens". */
    n_pred = np.len;
    for (i = 0; i < n; i++) {
        size_t common = 0, a = 0, b = 0;
        double f;
        if (n_pred == 0) {
            if (ng[i][0] == '\0') {
                best = 1.0;
                break;
            }
            continue;
        }
        if (ng[i][0] == '\0')
            continue;
        rc = sk_score_token_overlap(sk_buf_cstr(&np), np.len, ng[i],
                                    strlen(ng[i]), &common, &a, &b);
        if (rc != SK_OK)
            goto out;
        f = sk_score_f1(common, a, b);
        if (f > best)
            best = f;
    }
    if (em)
        *em = e;
    if (f1)
        *f1 = best;
    if (sub_em)
        *sub_em = sub;
out:
    for (i = 0; ng && i < n; i++)
        sk_free(ng[i]);
    sk_free(ng);
    sk_buf_release(&np);
    return rc;
}

void sk_searchqa_result_release(struct sk_searchqa_result *res)
{
    sk_free(res->predicted);
    sk_free(res->fail_reason);
    memset(res, 0, sizeof(*res));
}

int sk_searchqa_evaluate(const char *response, size_t len,
                         const char *const *golds, size_t n,
                         struct sk_searchqa_result *res)
{
    struct sk_buf ans, why;
    int rc;

    memset(res, 0, sizeof(*res));
    sk_buf_init(&ans, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    rc = sk_score_extract_answer(response, len, &ans);
    if (rc != SK_OK)
        goto out;
    rc = sk_searchqa_metrics(sk_buf_cstr(&ans), ans.len, golds, n, &res->em,
                             &res->f1, &res->sub_em);
    if (rc != SK_OK)
        goto out;
    res->hard = (int)res->em;
    res->soft = res->f1;
    res->predicted = sk_strndup(sk_buf_cstr(&ans), ans.len);
    if (!res->predicted) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (res->em < 1.0) {
        rc = sk_buf_puts(&why, "EM=0: predicted '");
        if (rc == SK_OK)
            rc = sk_buf_append(&why, sk_buf_cstr(&ans), ans.len);
        if (rc == SK_OK)
            rc = sk_buf_puts(&why, "' but expected ");
        if (rc == SK_OK)
            rc = sk_score_py_list_repr(golds, n, &why);
        if (rc != SK_OK)
            goto out;
        res->fail_reason = sk_strndup(sk_buf_cstr(&why), why.len);
        if (!res->fail_reason)
            rc = SK_ENOMEM;
    }
out:
    sk_buf_release(&ans);
    sk_buf_release(&why);
    return rc;
}
