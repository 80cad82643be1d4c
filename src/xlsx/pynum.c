/*
 * pynum.c - CPython's int(str)/float(str) acceptance rules and round().
 *
 * Both conversions first map the text the way CPython's
 * _PyUnicode_TransformDecimalAndSpaceToASCII does (ASCII kept, Unicode
 * whitespace to ' ', Unicode decimal digits to '0'-'9', anything else
 * refused), then apply the ASCII grammar.  The value itself comes from
 * strtod, which like CPython's dtoa is correctly rounded.
 */
#include "common.h"

#include "xlsx/pynum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/score.h"
#include "util/alloc.h"
#include "util/utf8.h"

/*
 * First code point of every run of ten Unicode decimal digits (0-9), from
 * unicodedata.decimal() of CPython 3.11 (Unicode 14.0); regenerate with
 *   [c for c in range(0x110000) if unicodedata.decimal(chr(c), -1) == 0]
 */
static const unsigned long decimal_runs[] = {
    0x30,    0x660,   0x6F0,   0x7C0,   0x966,   0x9E6,   0xA66,   0xAE6,
    0xB66,   0xBE6,   0xC66,   0xCE6,   0xD66,   0xDE6,   0xE50,   0xED0,
    0xF20,   0x1040,  0x1090,  0x17E0,  0x1810,  0x1946,  0x19D0,  0x1A80,
    0x1A90,  0x1B50,  0x1BB0,  0x1C40,  0x1C50,  0xA620,  0xA8D0,  0xA900,
    0xA9D0,  0xA9F0,  0xAA50,  0xABF0,  0xFF10,  0x104A0, 0x10D30, 0x11066,
    0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0,
    0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0,
    0x1E950, 0x1FBF0};

int sk_pynum_decimal(unsigned long cp)
{
    size_t lo = 0, hi = SK_ARRAY_LEN(decimal_runs);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < decimal_runs[mid])
            hi = mid;
        else if (cp >= decimal_runs[mid] + 10)
            lo = mid + 1;
        else
            return (int)(cp - decimal_runs[mid]);
    }
    return -1;
}

/* Py_ISSPACE: the ASCII whitespace CPython's number parsers skip. */
static int ascii_space(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/*
 * Maps s[0..len) to ASCII into out (room for len bytes): returns the
 * length, or (size_t)-1 when a character makes CPython refuse the text.
 */
static size_t to_ascii(const char *s, size_t len, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        uint32_t cp;
        size_t n;
        int d;
        if (u[i] < 0x80) {
            if (u[i] == 0x7F)
                return (size_t)-1;
            out[o++] = (char)u[i++];
            continue;
        }
        n = sk_utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            return (size_t)-1;
        i += n;
        if (sk_score_is_space(cp)) {
            out[o++] = ' ';
            continue;
        }
        d = sk_pynum_decimal(cp);
        if (d < 0)
            return (size_t)-1;
        out[o++] = (char)('0' + d);
    }
    return o;
}

/*
 * Removes underscores in place under CPython's rule (each one between two
 * digits); returns the new length or (size_t)-1.
 */
static size_t drop_underscores(char *s, size_t len)
{
    size_t i, o = 0;
    char prev = '\0';
    for (i = 0; i < len; i++) {
        if (s[i] == '_') {
            if (!is_digit(prev))
                return (size_t)-1;
        } else {
            if (prev == '_' && !is_digit(s[i]))
                return (size_t)-1;
            s[o++] = s[i];
        }
        prev = s[i];
    }
    if (prev == '_')
        return (size_t)-1;
    return o;
}

static int word_at(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w), i;
    if (len != n)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != w[i])
            return 0;
    }
    return 1;
}

/* Whether s[0..len) (already stripped, no underscores) is a Python float
 * literal as float() reads it. */
static int float_grammar(const char *s, size_t len)
{
    size_t i = 0, nd = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (word_at(s + i, len - i, "inf") || word_at(s + i, len - i, "infinity") ||
        word_at(s + i, len - i, "nan"))
        return 1;
    while (i < len && is_digit(s[i])) {
        i++;
        nd++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i])) {
            i++;
            nd++;
        }
    }
    if (nd == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t ne = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < len && is_digit(s[i])) {
            i++;
            ne++;
        }
        if (ne == 0)
            return 0;
    }
    return i == len;
}

int sk_pynum_float(const char *s, size_t len, double *out)
{
    char small[256], *buf = small, *p;
    size_t n, b, e;
    int ok = 0;
    if (len + 1 > sizeof small) {
        buf = sk_malloc(len + 1);
        if (!buf)
            return SK_ENOMEM;
    }
    n = to_ascii(s, len, buf);
    if (n == (size_t)-1)
        goto out;
    b = 0;
    e = n;
    while (b < e && ascii_space((unsigned char)buf[b]))
        b++;
    while (e > b && ascii_space((unsigned char)buf[e - 1]))
        e--;
    if (memchr(buf + b, '\0', e - b))
        goto out;
    p = buf + b;
    n = drop_underscores(p, e - b);
    if (n == (size_t)-1 || !float_grammar(p, n))
        goto out;
    p[n] = '\0';
    *out = strtod(p, NULL);
    ok = 1;
out:
    if (buf != small)
        sk_free(buf);
    return ok;
}

int sk_pynum_int(const char *s, size_t len, char *out, size_t cap,
                 size_t *out_len)
{
    size_t i = 0, o = 0, ndig = 0;
    int neg = 0, any = 0;
    char prev = '\0';
    const unsigned char *u = (const unsigned char *)s;
    if (cap < 2)
        return SK_ETOOBIG;
    /* Leading whitespace (ASCII or Unicode). */
    while (i < len) {
        uint32_t cp;
        size_t n = sk_utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            return SK_EPARSE;
        if (cp < 0x7F ? !ascii_space((int)cp) : !sk_score_is_space(cp))
            break;
        i += n;
    }
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (neg)
        out[o++] = '-';
    while (i < len) {
        uint32_t cp;
        size_t n = sk_utf8_decode(u + i, len - i, &cp);
        int d;
        if (n == 0)
            return SK_EPARSE;
        if (cp == '_') {
            if (!is_digit(prev))
                return SK_EPARSE;
            prev = '_';
            i += n;
            continue;
        }
        d = cp < 0x7F ? (is_digit((int)cp) ? (int)cp - '0' : -1)
                      : sk_pynum_decimal(cp);
        if (d < 0)
            break;
        i += n;
        prev = '0';
        any = 1;
        if (++ndig > SK_PYNUM_MAX_INT_DIGITS)
            return SK_EPARSE;
        if (d == 0 && o == (size_t)neg)
            continue; /* leading zero */
        if (o + 2 > cap)
            return SK_ETOOBIG;
        out[o++] = (char)('0' + d);
    }
    if (!any || prev == '_')
        return SK_EPARSE;
    /* Trailing whitespace, then the end. */
    while (i < len) {
        uint32_t cp;
        size_t n = sk_utf8_decode(u + i, len - i, &cp);
        if (n == 0)
            return SK_EPARSE;
        if (cp < 0x7F ? !ascii_space((int)cp) : !sk_score_is_space(cp))
            return SK_EPARSE;
        i += n;
    }
    if (o == (size_t)neg) {
        o = 0; /* all zeros: "0", never "-0" */
        out[o++] = '0';
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return SK_OK;
}

double sk_pynum_round(double x, int ndigits)
{
    char buf[400];
    if (!isfinite(x) || ndigits < 0 || ndigits > 15)
        return x;
    snprintf(buf, sizeof buf, "%.*f", ndigits, x);
    return strtod(buf, NULL);
}
