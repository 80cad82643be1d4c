/*
 * choice.c - the multiple-choice label parser of LiveMath's evaluator.
 *
 * Python builds new strings for strip/upper/lower; here every comparison
 * streams case-mapped code points straight from the input bytes, so the
 * parser needs no memory and cannot fail.  The Unicode facts come from
 * choice_tables.c (upper) and score_tables.c (lower, final sigma).
 */
#include "common.h"

#include "bench/choice.h"

#include <string.h>

#include "bench/choice_tables.h"
#include "bench/score.h"
#include "bench/score_tables.h"
#include "util/utf8.h"

#define CAPITAL_SIGMA 0x3A3u
#define SMALL_SIGMA 0x3C3u
#define FINAL_SIGMA 0x3C2u
#define REPLACEMENT 0xFFFDu

/* A byte range of a string. */
struct span {
    const char *p;
    size_t n;
};

/* Decodes one code point at s[i]; an invalid byte reads as U+FFFD. */
static size_t next_cp(const char *s, size_t len, size_t i, uint32_t *cp)
{
    size_t n = sk_utf8_decode((const unsigned char *)s + i, len - i, cp);
    if (n == 0) {
        *cp = REPLACEMENT;
        n = 1;
    }
    return n;
}

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

static int is_ignorable(uint32_t c)
{
    return in_ranges(score_case_ignorable, score_case_ignorable_len, c);
}

static int is_cased_only(uint32_t c)
{
    return in_ranges(score_cased_only, score_cased_only_len, c);
}

/* str.upper() of one code point into out[0..3); returns the count. */
static unsigned upper_cp(uint32_t c, uint32_t out[3])
{
    size_t lo = 0, hi;
    if (c < 0x80) {
        out[0] = c >= 'a' && c <= 'z' ? c - 32 : c;
        return 1;
    }
    hi = choice_upper_multis_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct choice_case_multi *m = &choice_upper_multis[mid];
        if (c < m->cp) {
            hi = mid;
        } else if (c > m->cp) {
            lo = mid + 1;
        } else {
            memcpy(out, m->out, m->n * sizeof(*out));
            return m->n;
        }
    }
    lo = 0;
    hi = choice_upper_runs_len;
    out[0] = c;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct choice_case_run *r = &choice_upper_runs[mid];
        if (c < r->first) {
            hi = mid;
        } else if (c > r->last) {
            lo = mid + 1;
        } else {
            if ((c - r->first) % (uint32_t)r->stride == 0)
                out[0] = (uint32_t)((int32_t)c + r->delta);
            break;
        }
    }
    return 1;
}

/* str.lower() of one code point other than capital sigma. */
static unsigned lower_cp(uint32_t c, uint32_t out[3])
{
    size_t lo = 0, hi;
    if (c < 0x80) {
        out[0] = c >= 'A' && c <= 'Z' ? c + 32 : c;
        return 1;
    }
    for (lo = 0; lo < score_lower_multis_len; lo++) {
        const struct score_lower_multi *m = &score_lower_multis[lo];
        if (m->cp == c) {
            memcpy(out, m->out, m->n * sizeof(*out));
            return m->n;
        }
    }
    lo = 0;
    hi = score_lower_runs_len;
    out[0] = c;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct score_lower_run *r = &score_lower_runs[mid];
        if (c < r->first) {
            hi = mid;
        } else if (c > r->last) {
            lo = mid + 1;
        } else {
            if ((c - r->first) % (uint32_t)r->stride == 0)
                out[0] = (uint32_t)((int32_t)c + r->delta);
            break;
        }
    }
    return 1;
}

/* Streams the upper- or lower-cased code points of a span. */
struct casemap {
    struct span s;
    size_t i;          /* next byte of s to decode */
    int lower;         /* 1: str.lower, 0: str.upper */
    int prev_cased;    /* lower: the last code point that is not
                          case-ignorable was cased */
    uint32_t pend[3];  /* mapped code points not yet returned */
    unsigned npend, k; /* pend[k..npend) remain */
};

static void casemap_init(struct casemap *m, struct span s, int lower)
{
    memset(m, 0, sizeof *m);
    m->s = s;
    m->lower = lower;
}

/*
 * CPython's final-sigma rule for the sigma just before byte `after`: final
 * when the nearest code point before it that is not case-ignorable is
 * cased, and the nearest after it that is not case-ignorable is absent or
 * not cased.
 */
static uint32_t sigma_lower(const struct casemap *m, size_t after)
{
    size_t j = after;
    if (!m->prev_cased)
        return SMALL_SIGMA;
    while (j < m->s.n) {
        uint32_t c;
        j += next_cp(m->s.p, m->s.n, j, &c);
        if (!is_ignorable(c))
            return is_cased_only(c) ? SMALL_SIGMA : FINAL_SIGMA;
    }
    return FINAL_SIGMA;
}

/* Next mapped code point into *c; 0 at the end of the span. */
static int casemap_next(struct casemap *m, uint32_t *c)
{
    uint32_t raw;
    if (m->k < m->npend) {
        *c = m->pend[m->k++];
        return 1;
    }
    if (m->i >= m->s.n)
        return 0;
    m->i += next_cp(m->s.p, m->s.n, m->i, &raw);
    m->k = 0;
    if (!m->lower) {
        m->npend = upper_cp(raw, m->pend);
    } else {
        if (raw == CAPITAL_SIGMA) {
            m->pend[0] = sigma_lower(m, m->i);
            m->npend = 1;
        } else {
            m->npend = lower_cp(raw, m->pend);
        }
        if (!is_ignorable(raw))
            m->prev_cased = is_cased_only(raw);
    }
    *c = m->pend[m->k++];
    return 1;
}

/* 1 when a and b map to the same code points (both lower or both upper). */
static int mapped_equal(struct span a, struct span b, int lower)
{
    struct casemap ma, mb;
    casemap_init(&ma, a, lower);
    casemap_init(&mb, b, lower);
    for (;;) {
        uint32_t ca, cb;
        int ha = casemap_next(&ma, &ca), hb = casemap_next(&mb, &cb);
        if (ha != hb)
            return 0;
        if (!ha)
            return 1;
        if (ca != cb)
            return 0;
    }
}

static struct span span_of(const char *s)
{
    struct span r;
    r.p = s ? s : "";
    r.n = strlen(r.p);
    return r;
}

/* str.strip(). */
static struct span strip(struct span s)
{
    size_t a = 0, b = 0;
    sk_score_strip(s.p, s.n, &a, &b);
    s.p += a;
    s.n = b - a;
    return s;
}

/*
 * The part of s that normalize_label upper-cases: stripped, without the
 * trailing '.', ')' and ':'.  Removing them before upper-casing is the
 * same as after, since str.upper neither makes nor changes these ASCII
 * characters nor whitespace.
 */
static struct span label_core(struct span s)
{
    s = strip(s);
    while (s.n > 0 && strchr(".):", s.p[s.n - 1]) != NULL)
        s.n--;
    return s;
}

/* Writes the UTF-8 of c at out[*len] if it fits before the NUL. */
static int put_cp(uint32_t c, char *out, size_t outsz, size_t *len)
{
    char u[4];
    size_t k;
    k = sk_utf8_encode(c, u);
    if (*len + k >= outsz)
        return 0;
    memcpy(out + *len, u, k);
    *len += k;
    return 1;
}

/* Writes the upper case of core (a label_core) into out. */
static void write_upper(struct span core, char *out, size_t outsz)
{
    struct casemap m;
    size_t len = 0;
    uint32_t c;
    if (outsz == 0)
        return;
    casemap_init(&m, core, 0);
    while (casemap_next(&m, &c) && put_cp(c, out, outsz, &len))
        ;
    out[len] = '\0';
}

void sk_choice_normalize(const char *in, char *out, size_t outsz)
{
    write_upper(label_core(span_of(in)), out, outsz);
}

/* The first str.split() token of s (empty when s is all whitespace). */
static struct span first_token(struct span s)
{
    struct span t;
    size_t i = 0, start = 0;
    int in_tok = 0;
    while (i < s.n) {
        uint32_t c;
        size_t step = next_cp(s.p, s.n, i, &c);
        if (sk_score_is_space(c)) {
            if (in_tok)
                break;
        } else if (!in_tok) {
            in_tok = 1;
            start = i;
        }
        i += step;
    }
    t.p = s.p + start;
    t.n = in_tok ? i - start : 0;
    return t;
}

/* Index of the first label whose normalized form is upper(core), or n. */
static size_t find_label(struct span core, const char *const *labels, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (mapped_equal(core, label_core(span_of(labels[i])), 0))
            return i;
    return n;
}

int sk_choice_parse(const char *answer, const char *const *labels,
                    const char *const *texts, size_t n, char *out, size_t outsz)
{
    struct span ans = span_of(answer), core = label_core(ans);
    size_t i;

    if (find_label(core, labels, n) < n) {
        write_upper(core, out, outsz);
        return 1;
    }
    for (i = 0; texts && i < n; i++) {
        struct span t = strip(span_of(texts[i]));
        if (t.n > 0 && mapped_equal(ans, t, 1)) {
            write_upper(label_core(span_of(labels[i])), out, outsz);
            return 1;
        }
    }
    /* the token has no whitespace left to strip */
    if (find_label(label_core(first_token(ans)), labels, n) < n) {
        write_upper(label_core(first_token(ans)), out, outsz);
        return 1;
    }
    write_upper(core, out, outsz);
    return 0;
}
