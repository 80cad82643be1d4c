/*
 * anls.c - ANLS (DocVQA's score) over CPython-normalised code points with
 * a bounded two-row Levenshtein.  Extraction of the answer from a reply
 * and the gold list rules belong to the benchmark (docvqa.c).
 */
#include "common.h"

#include "bench/anls.h"

#include <string.h>

#include "bench/score.h"
#include "util/alloc.h"

int sk_anls_normalize(const char *s, size_t len, uint32_t **out, size_t *n)
{
    uint32_t *cp = NULL, *low = NULL;
    size_t ncp = 0, nlow = 0, i, k = 0, start, end;
    int rc, pending_space = 0;

    *out = NULL;
    *n = 0;
    /* strip() first, then lower(), then " ".join(split()) */
    sk_score_strip(s, len, &start, &end);
    rc = sk_score_decode(s + start, end - start, &cp, &ncp);
    if (rc == SK_OK)
        rc = sk_score_lower(cp, ncp, &low, &nlow);
    sk_free(cp);
    if (rc != SK_OK)
        return rc;
    /* in place: the joined text is never longer than the lowered one */
    for (i = 0; i < nlow; i++) {
        if (sk_score_is_space(low[i])) {
            pending_space = k > 0;
            continue;
        }
        if (pending_space)
            low[k++] = ' ';
        pending_space = 0;
        low[k++] = low[i];
    }
    if (k == 0) {
        sk_free(low);
        low = NULL;
    }
    *out = low;
    *n = k;
    return SK_OK;
}

int sk_anls_distance(const uint32_t *a, size_t la, const uint32_t *b, size_t lb,
                     size_t *d)
{
    size_t *base, *prev, *cur, *tmp, i, j;

    /* a common prefix or suffix never changes the distance */
    while (la && lb && a[0] == b[0]) {
        a++;
        b++;
        la--;
        lb--;
    }
    while (la && lb && a[la - 1] == b[lb - 1]) {
        la--;
        lb--;
    }
    if (la == 0 || lb == 0) {
        *d = la + lb;
        return SK_OK;
    }
    if (la > SK_ANLS_MAX_CHARS || lb > SK_ANLS_MAX_CHARS)
        return SK_ETOOBIG;
    if (la > lb) { /* rows over the shorter string */
        const uint32_t *t = a;
        size_t tl = la;
        a = b;
        la = lb;
        b = t;
        lb = tl;
    }
    base = sk_malloc(2 * (la + 1) * sizeof *base);
    if (!base)
        return SK_ENOMEM;
    prev = base;
    cur = base + la + 1;
    for (i = 0; i <= la; i++)
        prev[i] = i;
    for (j = 1; j <= lb; j++) {
        cur[0] = j;
        for (i = 1; i <= la; i++) {
            size_t best = prev[i - 1] + (a[i - 1] != b[j - 1]);
            if (prev[i] + 1 < best)
                best = prev[i] + 1;
            if (cur[i - 1] + 1 < best)
                best = cur[i - 1] + 1;
            cur[i] = best;
        }
        tmp = prev;
        prev = cur;
        cur = tmp;
    }
    *d = prev[la];
    sk_free(base);
    return SK_OK;
}

/* Score of normalized pred p against normalized gold g (one pair). */
static int pair_score(const uint32_t *p, size_t lp, const uint32_t *g,
                      size_t lg, double *out)
{
    size_t m = lp > lg ? lp : lg, diff = lp > lg ? lp - lg : lg - lp, d;
    double nl;
    int rc;

    *out = 0.0;
    if (lp == 0 && lg == 0) {
        *out = 1.0;
        return SK_OK;
    }
    if (lp == 0 || lg == 0)
        return SK_OK;
    /* d >= diff, so NL >= 0.5 already (exact in integers) */
    if (2 * diff >= m)
        return SK_OK;
    rc = sk_anls_distance(p, lp, g, lg, &d);
    if (rc == SK_ETOOBIG)
        return SK_OK;
    if (rc != SK_OK)
        return rc;
    /* int / int in Python is one correctly rounded division, as here */
    nl = (double)d / (double)m;
    if (!(nl >= SK_ANLS_THRESHOLD))
        *out = 1.0 - nl;
    return SK_OK;
}

int sk_anls_score(const char *pred, const char *const *golds, size_t n_golds,
                  double *out)
{
    uint32_t *p = NULL, *g = NULL;
    size_t lp = 0, lg = 0, i;
    double best = 0.0, s;
    int rc;

    *out = 0.0;
    rc = sk_anls_normalize(pred ? pred : "", pred ? strlen(pred) : 0, &p, &lp);
    for (i = 0; rc == SK_OK && i < n_golds; i++) {
        const char *gold = golds[i] ? golds[i] : "";
        rc = sk_anls_normalize(gold, strlen(gold), &g, &lg);
        if (rc == SK_OK)
            rc = pair_score(p, lp, g, lg, &s);
        if (rc == SK_OK && s > best)
            best = s;
        sk_free(g);
        g = NULL;
    }
    sk_free(p);
    if (rc == SK_OK)
        *out = best;
    return rc;
}
