/*
 * score.c - CPython-faithful string helpers for the benchmark scorers.
 *
 * The Unicode facts come from the generated score_tables.c; this file only
 * holds the algorithms (binary search, final sigma, repr, F1).  It does not
 * know any benchmark's normalisation rules.
 */
#include "common.h"

#include "bench/score.h"

#include <stdlib.h>
#include <string.h>

#include "bench/score_tables.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/utf8.h"

#define CAPITAL_SIGMA 0x3A3u
#define SMALL_SIGMA 0x3C3u
#define FINAL_SIGMA 0x3C2u
#define REPLACEMENT 0xFFFDu

static int in_ranges(const struct score_range *r, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].first)
            hi = mid;
        else if (c > r[mid].last)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int sk_score_is_space(uint32_t c)
{
    return in_ranges(score_space, score_space_len, c);
}

int sk_score_is_word(uint32_t c)
{
    return in_ranges(score_word, score_word_len, c);
}

int sk_score_is_printable(uint32_t c)
{
    return in_ranges(score_printable, score_printable_len, c);
}

/* Decodes one code point at s[i]; invalid bytes read as U+FFFD. */
static size_t next_cp(const char *s, size_t len, size_t i, uint32_t *cp)
{
    size_t n = sk_utf8_decode((const unsigned char *)s + i, len - i, cp);
    if (n == 0) {
        *cp = REPLACEMENT;
        n = 1;
    }
    return n;
}

int sk_score_decode(const char *s, size_t len, uint32_t **out, size_t *n)
{
    uint32_t *a = NULL;
    size_t i = 0, k = 0;
    *out = NULL;
    *n = 0;
    if (len > 0) {
        a = sk_malloc(len * sizeof(*a));
        if (!a)
            return SK_ENOMEM;
    }
    while (i < len)
        i += next_cp(s, len, i, &a[k++]);
    *out = a;
    *n = k;
    return SK_OK;
}

int sk_score_encode(const uint32_t *cp, size_t n, struct sk_buf *out)
{
    size_t i, mark = out->len;
    int rc = sk_buf_reserve(out, n * 4);
    if (rc != SK_OK)
        return rc;
    for (i = 0; i < n; i++) {
        char u[4];
        size_t k;
        uint32_t c = cp[i];
        k = sk_utf8_encode(c, u);
        rc = sk_buf_append(out, u, k);
        if (rc != SK_OK) {
            sk_buf_truncate(out, mark);
            return rc;
        }
    }
    return SK_OK;
}

/* Single-code-point lowering from the run table (c itself if none). */
static uint32_t lower_single(uint32_t c)
{
    size_t lo = 0, hi = score_lower_runs_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct score_lower_run *r = &score_lower_runs[mid];
        if (c < r->first) {
            hi = mid;
        } else if (c > r->last) {
            lo = mid + 1;
        } else {
            if ((c - r->first) % (uint32_t)r->stride != 0)
                return c;
            return (uint32_t)((int32_t)c + r->delta);
        }
    }
    return c;
}

static const struct score_lower_multi *lower_multi(uint32_t c)
{
    size_t i;
    for (i = 0; i < score_lower_multis_len; i++)
        if (score_lower_multis[i].cp == c)
            return &score_lower_multis[i];
    return NULL;
}

/*
 * CPython's handle_capital_sigma: the sigma at i is final when the nearest
 * code point before it that is not case-ignorable is cased, and the nearest
 * one after it that is not case-ignorable is absent or not cased.
 */
static uint32_t sigma_at(const uint32_t *cp, size_t n, size_t i)
{
    size_t j = i;
    int final = 0;
    while (j > 0) {
        j--;
        if (!in_ranges(score_case_ignorable, score_case_ignorable_len, cp[j])) {
            final = in_ranges(score_cased_only, score_cased_only_len, cp[j]);
            break;
        }
    }
    if (!final)
        return SMALL_SIGMA;
    for (j = i + 1; j < n; j++) {
        if (!in_ranges(score_case_ignorable, score_case_ignorable_len, cp[j]))
            return in_ranges(score_cased_only, score_cased_only_len, cp[j])
                       ? SMALL_SIGMA
                       : FINAL_SIGMA;
    }
    return FINAL_SIGMA;
}

int sk_score_lower(const uint32_t *cp, size_t n, uint32_t **out, size_t *out_n)
{
    uint32_t *a;
    size_t i, k = 0;
    *out = NULL;
    *out_n = 0;
    /* Every mapping is at most three code points long. */
    if (n > SIZE_MAX / (3 * sizeof(*a)))
        return SK_ENOMEM;
    a = sk_malloc((n ? n : 1) * 3 * sizeof(*a));
    if (!a)
        return SK_ENOMEM;
    for (i = 0; i < n; i++) {
        const struct score_lower_multi *m;
        uint32_t c = cp[i];
        if (c == CAPITAL_SIGMA) {
            a[k++] = sigma_at(cp, n, i);
        } else if (c >= 0x80 && (m = lower_multi(c)) != NULL) {
            memcpy(a + k, m->out, m->n * sizeof(*a));
            k += m->n;
        } else {
            a[k++] = lower_single(c);
        }
    }
    *out = a;
    *out_n = k;
    return SK_OK;
}

size_t sk_score_cp_count(const char *s, size_t len)
{
    size_t i = 0, k = 0;
    uint32_t c;
    while (i < len) {
        i += next_cp(s, len, i, &c);
        k++;
    }
    return k;
}

size_t sk_score_cp_offset(const char *s, size_t len, size_t ncp)
{
    size_t i = 0, k = 0;
    uint32_t c;
    while (i < len && k < ncp) {
        i += next_cp(s, len, i, &c);
        k++;
    }
    return i;
}

void sk_score_strip(const char *s, size_t len, size_t *start, size_t *end)
{
    size_t i = 0, b = len, e = 0;
    while (i < len) {
        uint32_t c;
        size_t n = next_cp(s, len, i, &c);
        if (!sk_score_is_space(c)) {
            if (b == len)
                b = i;
            e = i + n;
        }
        i += n;
    }
    if (b == len)
        b = e = 0;
    *start = b;
    *end = e;
}

/* A token as a byte range; compared by bytes, which for the UTF-8 we
 * produce orders and equates exactly like code point sequences. */
struct tok {
    const char *p;
    size_t n;
};

static int tok_cmp(const void *x, const void *y)
{
    const struct tok *a = x, *b = y;
    size_t m = a->n < b->n ? a->n : b->n;
    int r = memcmp(a->p, b->p, m);
    if (r != 0)
        return r;
    return (a->n > b->n) - (a->n < b->n);
}

/* str.split() of s into a new sorted token array. */
static int split_sorted(const char *s, size_t len, struct tok **out, size_t *n)
{
    struct tok *t = NULL;
    size_t i = 0, k = 0, cap = 0, start = 0;
    int in_tok = 0;
    *out = NULL;
    *n = 0;
    while (i <= len) {
        uint32_t c = ' ';
        size_t step = 1;
        if (i < len)
            step = next_cp(s, len, i, &c);
        if (i == len || sk_score_is_space(c)) {
            if (in_tok) {
                if (k == cap) {
                    size_t ncap = cap ? cap * 2 : 8;
                    struct tok *nt = sk_realloc(t, ncap * sizeof(*t));
                    if (!nt) {
                        sk_free(t);
                        return SK_ENOMEM;
                    }
                    t = nt;
                    cap = ncap;
                }
                t[k].p = s + start;
                t[k].n = i - start;
                k++;
                in_tok = 0;
            }
        } else if (!in_tok) {
            in_tok = 1;
            start = i;
        }
        i += step;
    }
    if (k > 1)
        qsort(t, k, sizeof(*t), tok_cmp);
    *out = t;
    *n = k;
    return SK_OK;
}

int sk_score_token_overlap(const char *a, size_t alen, const char *b,
                           size_t blen, size_t *common, size_t *na, size_t *nb)
{
    struct tok *ta = NULL, *tb = NULL;
    size_t nta = 0, ntb = 0, i = 0, j = 0, c = 0;
    int rc = split_sorted(a, alen, &ta, &nta);
    if (rc != SK_OK)
        goto out;
    rc = split_sorted(b, blen, &tb, &ntb);
    if (rc != SK_OK)
        goto out;
    /* Merge of two sorted lists counts min(count_a, count_b) per token. */
    while (i < nta && j < ntb) {
        int r = tok_cmp(&ta[i], &tb[j]);
        if (r == 0) {
            c++;
            i++;
            j++;
        } else if (r < 0) {
            i++;
        } else {
            j++;
        }
    }
    if (common)
        *common = c;
    if (na)
        *na = nta;
    if (nb)
        *nb = ntb;
out:
    sk_free(ta);
    sk_free(tb);
    return rc;
}

double sk_score_f1(size_t common, size_t n_pred, size_t n_gold)
{
    double precision, recall;
    if (common == 0 || n_pred == 0 || n_gold == 0)
        return 0.0;
    precision = (double)common / (double)n_pred;
    recall = (double)common / (double)n_gold;
    return 2.0 * precision * recall / (precision + recall);
}

/*
 * Matches "<answer>" or "</answer>" at s[i] the way re.IGNORECASE does:
 * ASCII letters in either case, and U+017F (long s) for 's'.  Returns the
 * matched byte length or 0.
 */
static size_t tag_at(const char *s, size_t len, size_t i, int closing)
{
    const char *pat = closing ? "</answer>" : "<answer>";
    size_t k = i;
    for (; *pat; pat++) {
        char c;
        if (k >= len)
            return 0;
        c = s[k];
        if (*pat >= 'a' && *pat <= 'z' && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == *pat) {
            k++;
        } else if (*pat == 's' && k + 1 < len && s[k] == '\xC5' &&
                   s[k + 1] == '\xBF') {
            k += 2;
        } else {
            return 0;
        }
    }
    return k - i;
}

static int put_stripped(const char *s, size_t len, struct sk_buf *out)
{
    size_t b, e;
    sk_score_strip(s, len, &b, &e);
    return sk_buf_append(out, s + b, e - b);
}

/* Python str.splitlines() boundaries (all of them are also whitespace). */
static int is_line_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C ||
           (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 || c == 0x2029;
}

int sk_score_extract_answer(const char *text, size_t len, struct sk_buf *out)
{
    size_t pos = 0, cb = 0, ce = 0, line = 0, last_line = 0, last_end = 0;
    int found = 0;
    /* re.findall(r"<answer>(.*?)</answer>", DOTALL|IGNORECASE)[-1]: an
     * opening tag without a later closing one ends the search, since no
     * later opening can have one either. */
    while (pos < len) {
        size_t i, ol = 0, j, cl = 0;
        for (i = pos; i < len; i++) {
            ol = tag_at(text, len, i, 0);
            if (ol)
                break;
        }
        if (!ol)
            break;
        for (j = i + ol; j < len; j++) {
            cl = tag_at(text, len, j, 1);
            if (cl)
                break;
        }
        if (!cl)
            break;
        cb = i + ol;
        ce = j;
        found = 1;
        pos = j + cl;
    }
    if (found)
        return put_stripped(text + cb, ce - cb, out);
    /* The last line holding a non-space code point, stripped. */
    pos = 0;
    while (pos < len) {
        uint32_t c;
        size_t n = next_cp(text, len, pos, &c);
        if (is_line_break(c)) {
            line = pos + n;
        } else if (!sk_score_is_space(c)) {
            last_line = line;
            last_end = pos + n;
        }
        pos += n;
    }
    if (last_end == 0)
        return SK_OK;
    return put_stripped(text + last_line, last_end - last_line, out);
}

static int put_escape(struct sk_buf *out, uint32_t c)
{
    if (c <= 0xFF)
        return sk_buf_printf(out, "\\x%02x", (unsigned)c);
    if (c <= 0xFFFF)
        return sk_buf_printf(out, "\\u%04x", (unsigned)c);
    return sk_buf_printf(out, "\\U%08x", (unsigned)c);
}

int sk_score_py_repr(const char *s, size_t len, struct sk_buf *out)
{
    char quote = '\'';
    size_t i = 0, mark = out->len;
    int rc;
    if (memchr(s, '\'', len) && !memchr(s, '"', len))
        quote = '"';
    rc = sk_buf_putc(out, quote);
    while (rc == SK_OK && i < len) {
        uint32_t c;
        size_t n = next_cp(s, len, i, &c);
        if (c == (uint32_t)quote || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = sk_buf_append(out, e, 2);
        } else if (c == '\t') {
            rc = sk_buf_append(out, "\\t", 2);
        } else if (c == '\n') {
            rc = sk_buf_append(out, "\\n", 2);
        } else if (c == '\r') {
            rc = sk_buf_append(out, "\\r", 2);
        } else if (c < 0x20 || c == 0x7F) {
            rc = put_escape(out, c);
        } else if (c < 0x7F) {
            rc = sk_buf_putc(out, (char)c);
        } else if (sk_score_is_printable(c)) {
            rc = sk_score_encode(&c, 1, out);
        } else {
            rc = put_escape(out, c);
        }
        i += n;
    }
    if (rc == SK_OK)
        rc = sk_buf_putc(out, quote);
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

int sk_score_py_list_repr(const char *const *items, size_t n,
                          struct sk_buf *out)
{
    size_t i, mark = out->len;
    int rc = sk_buf_putc(out, '[');
    for (i = 0; rc == SK_OK && i < n; i++) {
        if (i > 0)
            rc = sk_buf_append(out, ", ", 2);
        if (rc == SK_OK)
            rc = sk_score_py_repr(items[i], strlen(items[i]), out);
    }
    if (rc == SK_OK)
        rc = sk_buf_putc(out, ']');
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

void sk_score_mean(const double *hard, const double *soft, size_t n,
                   double *mean_hard, double *mean_soft)
{
    double h = 0.0, s = 0.0;
    size_t i;
    if (n == 0) {
        *mean_hard = 0.0;
        *mean_soft = 0.0;
        return;
    }
    for (i = 0; i < n; i++) {
        h += hard ? hard[i] : 0.0;
        s += soft ? soft[i] : 0.0;
    }
    *mean_hard = h / (double)n;
    *mean_soft = s / (double)n;
}

int sk_score_join_words(const uint32_t *cp, size_t n, struct sk_buf *out)
{
    size_t i = 0, j;
    int rc = SK_OK, first = 1;

    while (i < n) {
        if (sk_score_is_space(cp[i])) {
            i++;
            continue;
        }
        for (j = i; j < n && !sk_score_is_space(cp[j]); j++)
            ;
        if (!first)
            rc = sk_buf_putc(out, ' ');
        if (rc == SK_OK)
            rc = sk_score_encode(cp + i, j - i, out);
        if (rc != SK_OK)
            return rc;
        first = 0;
        i = j;
    }
    return SK_OK;
}
