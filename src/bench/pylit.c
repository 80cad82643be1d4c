/*
 * pylit.c - Python literal values: a recursive-descent reader for the
 * subset of ast.literal_eval that answer lists use, the json.loads view of
 * jansson values, and CPython 3.11's str()/repr() of the result.  It is no
 * Python parser: whatever is not in the subset is refused (SK_EPARSE).
 */
#include "common.h"

#include "bench/pylit.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/score.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/utf8.h"

/* Reader state over the source (newlines already translated to '\n'). */
struct rd {
    const char *s;
    size_t len;
    size_t pos;
    int brackets; /* open brackets: newlines are blanks inside them */
    int depth;    /* nesting of values being read */
};

static struct sk_pylit *node_new(enum sk_pylit_kind kind)
{
    struct sk_pylit *v = sk_calloc(1, sizeof *v);
    if (v)
        v->kind = kind;
    return v;
}

void sk_pylit_free(struct sk_pylit *v)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < v->n; i++)
        sk_pylit_free(v->items[i]);
    sk_free(v->items);
    sk_free(v->text);
    sk_free(v);
}

/* Appends child (taking it) to v's items; frees child on failure. */
static int push(struct sk_pylit *v, struct sk_pylit *child)
{
    struct sk_pylit **grown;
    if ((v->n & (v->n - 1)) == 0) { /* n is 0 or a power of two: grow */
        size_t cap = v->n ? v->n * 2 : 1;
        grown = sk_realloc(v->items, cap * sizeof *grown);
        if (!grown) {
            sk_pylit_free(child);
            return SK_ENOMEM;
        }
        v->items = grown;
    }
    v->items[v->n++] = child;
    return SK_OK;
}

const struct sk_pylit *sk_pylit_dict_get(const struct sk_pylit *d,
                                         const char *key)
{
    size_t i, klen = strlen(key);
    if (!d || d->kind != SK_PYLIT_DICT)
        return NULL;
    for (i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->len == klen &&
            memcmp(d->items[i]->text, key, klen) == 0)
            return d->items[i + 1];
    return NULL;
}

/* ---- reading ------------------------------------------------------------ */

static int peek(const struct rd *r)
{
    return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static int peek_at(const struct rd *r, size_t k)
{
    return r->pos + k < r->len ? (unsigned char)r->s[r->pos + k] : -1;
}

/* Skips blanks between tokens: spaces, tabs, form feeds, backslash line
 * continuations, and newlines when inside brackets (implicit joining). */
static void skip_blanks(struct rd *r)
{
    for (;;) {
        int c = peek(r);
        if (c == ' ' || c == '\t' || c == '\f')
            r->pos++;
        else if (c == '\\' && peek_at(r, 1) == '\n')
            r->pos += 2;
        else if (c == '\n' && r->brackets > 0)
            r->pos++;
        else
            return;
    }
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c >= 0x80;
}

static int is_ident_char(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int hex_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends the UTF-8 form of code point c (no surrogates). */
static int put_cp(struct sk_buf *b, uint32_t c)
{
    return sk_score_encode(&c, 1, b);
}

/*
 * Reads exactly n hex digits into *cp.  SK_EPARSE when they are missing,
 * as Python's "truncated \xXX escape".
 */
static int read_hex(struct rd *r, int n, uint32_t *cp)
{
    uint32_t v = 0;
    int i;
    for (i = 0; i < n; i++) {
        int h = hex_val(peek(r));
        if (h < 0)
            return SK_EPARSE;
        v = v * 16 + (uint32_t)h;
        r->pos++;
    }
    *cp = v;
    return SK_OK;
}

/* One escape after a backslash in a non-raw string, appended to b. */
static int read_escape(struct rd *r, struct sk_buf *b)
{
    int c = peek(r), rc;
    uint32_t cp;
    const char *simple = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
    const char *p;

    if (c < 0)
        return SK_EPARSE;
    if (c == '\n') { /* line continuation inside the string */
        r->pos++;
        return SK_OK;
    }
    for (p = simple; *p; p += 2) {
        if (c == *p) {
            r->pos++;
            return sk_buf_putc(b, p[1]);
        }
    }
    if (c >= '0' && c <= '7') {
        int k;
        cp = 0;
        for (k = 0; k < 3 && peek(r) >= '0' && peek(r) <= '7'; k++) {
            cp = cp * 8 + (uint32_t)(peek(r) - '0');
            r->pos++;
        }
        return put_cp(b, cp);
    }
    if (c == 'x' || c == 'u' || c == 'U') {
        r->pos++;
        rc = read_hex(r, c == 'x' ? 2 : c == 'u' ? 4 : 8, &cp);
        if (rc != SK_OK)
            return rc;
        /* lone surrogates have no UTF-8 form: outside the subset */
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return SK_EPARSE;
        return put_cp(b, cp);
    }
    if (c == 'N') /* \N{name} needs the Unicode name table */
        return SK_EPARSE;
    /* an unknown escape keeps its backslash (a warning in CPython) */
    return sk_buf_putc(b, '\\');
}

/*
 * Reads one string literal body starting at its opening quote, appending
 * its value to b.  raw: backslashes are kept (they still protect a quote).
 */
static int read_string_body(struct rd *r, int raw, struct sk_buf *b)
{
    int q = peek(r), triple, rc;

    triple = peek_at(r, 1) == q && peek_at(r, 2) == q;
    r->pos += triple ? 3 : 1;
    for (;;) {
        int c = peek(r);
        if (c < 0)
            return SK_EPARSE; /* unterminated */
        if (c == q && (!triple || (peek_at(r, 1) == q && peek_at(r, 2) == q))) {
            r->pos += triple ? 3 : 1;
            return SK_OK;
        }
        if (c == '\n' && !triple)
            return SK_EPARSE;
        if (c == '\\') {
            r->pos++;
            if (raw) {
                int d = peek(r);
                if (d < 0)
                    return SK_EPARSE;
                rc = sk_buf_putc(b, '\\');
                if (rc == SK_OK)
                    rc = sk_buf_putc(b, (char)d);
                r->pos++;
            } else {
                rc = read_escape(r, b);
            }
        } else {
            rc = sk_buf_putc(b, (char)c);
            r->pos++;
        }
        if (rc != SK_OK)
            return rc;
    }
}

/*
 * Length of a string prefix at the reader ("", "r", "u" ...) when a quote
 * follows it, else -1.  *raw says whether it is a raw string; prefixes of
 * bytes and f-strings give -2 (outside the subset).
 */
static int string_prefix(const struct rd *r, int *raw)
{
    int k = 0, c;
    char pre[3] = {0, 0, 0};
    while (k < 2 && is_ident_start(peek_at(r, (size_t)k)) &&
           peek_at(r, (size_t)k) < 0x80) {
        pre[k] = (char)peek_at(r, (size_t)k);
        k++;
    }
    for (; k >= 0; k--) {
        c = peek_at(r, (size_t)k);
        if (c == '\'' || c == '"')
            break;
    }
    if (k < 0)
        return -1;
    pre[k] = '\0';
    *raw = 0;
    if (k == 0)
        return 0;
    if (k == 1 && (pre[0] == 'r' || pre[0] == 'R')) {
        *raw = 1;
        return 1;
    }
    if (k == 1 && (pre[0] == 'u' || pre[0] == 'U'))
        return 1;
    if (strspn(pre, "rRbBfF") == (size_t)k)
        return -2; /* bytes or f-string */
    return -1;     /* some other name followed by a quote */
}

/* A string literal and the ones adjacent to it, concatenated. */
static int read_strings(struct rd *r, struct sk_pylit **out)
{
    struct sk_buf b;
    int rc = SK_OK, raw, k;
    struct sk_pylit *v;

    *out = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (;;) {
        k = string_prefix(r, &raw);
        if (k < 0)
            break;
        r->pos += (size_t)k;
        rc = read_string_body(r, raw, &b);
        if (rc != SK_OK)
            goto out;
        skip_blanks(r);
    }
    if (k == -2) {
        rc = SK_EPARSE;
        goto out;
    }
    v = node_new(SK_PYLIT_STR);
    if (!v || sk_buf_reserve(&b, 1) != SK_OK) {
        sk_free(v);
        rc = SK_ENOMEM;
        goto out;
    }
    v->len = b.len;
    v->text = sk_buf_detach(&b, NULL);
    *out = v;
out:
    sk_buf_release(&b);
    return rc;
}

/* Digits of base with single underscores between them; returns the count
 * of digits read and appends them to b, or -1 on a misplaced underscore. */
static long read_digits(struct rd *r, int base, int lead_underscore_ok,
                        struct sk_buf *b, int *nomem)
{
    long n = 0;
    int prev_us = 0;
    if (lead_underscore_ok && peek(r) == '_') {
        r->pos++;
        prev_us = 1;
    }
    for (;;) {
        int c = peek(r), d = hex_val(c);
        if (c == '_') {
            if (prev_us || n == 0)
                return -1;
            prev_us = 1;
            r->pos++;
            continue;
        }
        if (d < 0 || d >= base)
            break;
        if (sk_buf_putc(b, (char)c) != SK_OK) {
            *nomem = 1;
            return -1;
        }
        n++;
        prev_us = 0;
        r->pos++;
    }
    if (prev_us)
        return -1;
    return n;
}

/* Canonical decimal text of an int literal's digits (leading zeros gone),
 * negated when neg (no "-0"). */
static int int_node(const char *digits, size_t nd, int neg,
                    struct sk_pylit **out)
{
    struct sk_pylit *v;
    struct sk_buf b;
    size_t i = 0;

    while (i + 1 < nd && digits[i] == '0')
        i++;
    if (nd - i > SK_PYLIT_MAX_INT_DIGITS)
        return SK_EPARSE; /* CPython refuses to convert it */
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if ((neg && !(nd - i == 1 && digits[i] == '0') && sk_buf_putc(&b, '-')) ||
        sk_buf_append(&b, digits + i, nd - i) != SK_OK) {
        sk_buf_release(&b);
        return SK_ENOMEM;
    }
    v = node_new(SK_PYLIT_INT);
    if (!v) {
        sk_buf_release(&b);
        return SK_ENOMEM;
    }
    v->len = b.len;
    v->text = sk_buf_detach(&b, NULL);
    *out = v;
    return SK_OK;
}

/* A number token (after an optional sign already consumed into neg). */
static int read_number(struct rd *r, int neg, struct sk_pylit **out)
{
    struct sk_buf b;
    int c = peek(r), base = 10, is_float = 0, nomem = 0, rc;
    long nint = 0, nfrac = 0;

    *out = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (c == '0' && peek_at(r, 1) >= 0 &&
        strchr("xXoObB", peek_at(r, 1)) != NULL) {
        int p = peek_at(r, 1);
        uint64_t v = 0;
        size_t i;
        char num[32];
        base = (p == 'x' || p == 'X') ? 16 : (p == 'o' || p == 'O') ? 8 : 2;
        r->pos += 2;
        nint = read_digits(r, base, 1, &b, &nomem);
        if (nint <= 0 || is_ident_char(peek(r)) || peek(r) == '.') {
            rc = nomem ? SK_ENOMEM : SK_EPARSE;
            goto out;
        }
        for (i = 0; i < b.len; i++) {
            uint64_t d = (uint64_t)hex_val(b.data[i]);
            if (v > (UINT64_MAX - d) / (uint64_t)base) {
                rc = SK_EPARSE; /* beyond what this reader converts */
                goto out;
            }
            v = v * (uint64_t)base + d;
        }
        snprintf(num, sizeof num, "%" PRIu64, v);
        rc = int_node(num, strlen(num), neg, out);
        goto out;
    }
    if (c != '.') {
        nint = read_digits(r, 10, 0, &b, &nomem);
        if (nint < 0) {
            rc = nomem ? SK_ENOMEM : SK_EPARSE;
            goto out;
        }
    }
    if (peek(r) == '.') {
        is_float = 1;
        r->pos++;
        if (sk_buf_putc(&b, '.') != SK_OK) {
            rc = SK_ENOMEM;
            goto out;
        }
        if (peek(r) >= '0' && peek(r) <= '9') {
            nfrac = read_digits(r, 10, 0, &b, &nomem);
            if (nfrac < 0) {
                rc = nomem ? SK_ENOMEM : SK_EPARSE;
                goto out;
            }
        }
        if (nint == 0 && nfrac == 0) {
            rc = SK_EPARSE;
            goto out;
        }
    }
    if (peek(r) == 'e' || peek(r) == 'E') {
        long ne;
        is_float = 1;
        r->pos++;
        if (sk_buf_putc(&b, 'e') != SK_OK) {
            rc = SK_ENOMEM;
            goto out;
        }
        if (peek(r) == '+' || peek(r) == '-') {
            if (sk_buf_putc(&b, (char)peek(r)) != SK_OK) {
                rc = SK_ENOMEM;
                goto out;
            }
            r->pos++;
        }
        ne = read_digits(r, 10, 0, &b, &nomem);
        if (ne <= 0) {
            rc = nomem ? SK_ENOMEM : SK_EPARSE;
            goto out;
        }
    }
    /* "1j" is complex, "1abc" and "1.2.3" are not numbers */
    if (is_ident_char(peek(r)) || peek(r) == '.') {
        rc = SK_EPARSE;
        goto out;
    }
    if (!is_float) {
        size_t i;
        /* "007" is a syntax error; "000" is zero */
        for (i = 0; b.data[0] == '0' && i < b.len; i++)
            if (b.data[i] != '0') {
                rc = SK_EPARSE;
                goto out;
            }
        rc = int_node(b.data, b.len, neg, out);
        goto out;
    }
    {
        struct sk_pylit *v = node_new(SK_PYLIT_FLOAT);
        if (!v) {
            rc = SK_ENOMEM;
            goto out;
        }
        v->f = strtod(sk_buf_cstr(&b), NULL); /* correctly rounded, as
                                                 CPython's */
        if (neg)
            v->f = -v->f;
        *out = v;
        rc = SK_OK;
    }
out:
    sk_buf_release(&b);
    return rc;
}

static int read_value(struct rd *r, struct sk_pylit **out);

/*
 * Items of a list, tuple or dict, appended to v, up to the closing bracket
 * close (the opening one is consumed).  Dict items are "key: value" pairs.
 */
static int read_items(struct rd *r, struct sk_pylit *v, int close, int is_dict)
{
    int rc;
    for (;;) {
        struct sk_pylit *item = NULL;
        skip_blanks(r);
        if (peek(r) == close) {
            r->pos++;
            return SK_OK;
        }
        rc = read_value(r, &item);
        if (rc != SK_OK)
            return rc;
        if (is_dict) {
            struct sk_pylit *val = NULL;
            size_t i;
            if (item->kind != SK_PYLIT_STR) {
                sk_pylit_free(item); /* sets and non-string keys */
                return SK_EPARSE;
            }
            skip_blanks(r);
            if (peek(r) != ':') {
                sk_pylit_free(item);
                return SK_EPARSE;
            }
            r->pos++;
            rc = read_value(r, &val);
            if (rc != SK_OK) {
                sk_pylit_free(item);
                return rc;
            }
            /* a repeated key keeps its place and takes the new value */
            for (i = 0; i + 1 < v->n; i += 2) {
                if (v->items[i]->len == item->len &&
                    memcmp(v->items[i]->text, item->text, item->len) == 0)
                    break;
            }
            if (i + 1 < v->n) {
                sk_pylit_free(item);
                sk_pylit_free(v->items[i + 1]);
                v->items[i + 1] = val;
            } else {
                rc = push(v, item);
                if (rc != SK_OK) {
                    sk_pylit_free(val);
                    return rc;
                }
                rc = push(v, val);
                if (rc != SK_OK)
                    return rc;
            }
        } else {
            rc = push(v, item);
            if (rc != SK_OK)
                return rc;
        }
        skip_blanks(r);
        if (peek(r) == ',') {
            r->pos++;
            continue;
        }
        if (peek(r) != close)
            return SK_EPARSE;
    }
}

/* '(': an empty tuple, a parenthesised value, or a tuple. */
static int read_paren(struct rd *r, struct sk_pylit **out)
{
    struct sk_pylit *first = NULL, *t;
    int rc;

    skip_blanks(r);
    if (peek(r) == ')') {
        r->pos++;
        *out = node_new(SK_PYLIT_TUPLE);
        return *out ? SK_OK : SK_ENOMEM;
    }
    rc = read_value(r, &first);
    if (rc != SK_OK)
        return rc;
    skip_blanks(r);
    if (peek(r) == ')') {
        r->pos++;
        *out = first;
        return SK_OK;
    }
    if (peek(r) != ',') {
        sk_pylit_free(first);
        return SK_EPARSE;
    }
    r->pos++;
    t = node_new(SK_PYLIT_TUPLE);
    if (!t) {
        sk_pylit_free(first);
        return SK_ENOMEM;
    }
    rc = push(t, first);
    if (rc == SK_OK)
        rc = read_items(r, t, ')', 0);
    if (rc != SK_OK) {
        sk_pylit_free(t);
        return rc;
    }
    *out = t;
    return SK_OK;
}

static int read_value_inner(struct rd *r, struct sk_pylit **out)
{
    int c, raw, rc;

    *out = NULL;
    skip_blanks(r);
    c = peek(r);
    if (c == '[' || c == '{' || c == '(') {
        struct sk_pylit *v;
        r->pos++;
        r->brackets++;
        if (c == '(') {
            rc = read_paren(r, out);
        } else {
            v = node_new(c == '[' ? SK_PYLIT_LIST : SK_PYLIT_DICT);
            if (!v)
                return SK_ENOMEM;
            rc = read_items(r, v, c == '[' ? ']' : '}', c == '{');
            if (rc != SK_OK)
                sk_pylit_free(v);
            else
                *out = v;
        }
        r->brackets--;
        return rc;
    }
    if (c == '+' || c == '-') {
        int neg = c == '-';
        r->pos++;
        skip_blanks(r);
        c = peek(r);
        if (!((c >= '0' && c <= '9') ||
              (c == '.' && peek_at(r, 1) >= '0' && peek_at(r, 1) <= '9')))
            return SK_EPARSE; /* literal_eval signs numbers only */
        return read_number(r, neg, out);
    }
    if ((c >= '0' && c <= '9') ||
        (c == '.' && peek_at(r, 1) >= '0' && peek_at(r, 1) <= '9'))
        return read_number(r, 0, out);
    rc = string_prefix(r, &raw);
    if (rc >= 0)
        return read_strings(r, out);
    if (rc == -2)
        return SK_EPARSE;
    if (is_ident_start(c)) {
        size_t start = r->pos, n;
        struct sk_pylit *v;
        while (is_ident_char(peek(r)))
            r->pos++;
        n = r->pos - start;
        if (n == 4 && memcmp(r->s + start, "None", 4) == 0) {
            v = node_new(SK_PYLIT_NONE);
        } else if (n == 4 && memcmp(r->s + start, "True", 4) == 0) {
            v = node_new(SK_PYLIT_BOOL);
            if (v)
                v->b = 1;
        } else if (n == 5 && memcmp(r->s + start, "False", 5) == 0) {
            v = node_new(SK_PYLIT_BOOL);
        } else {
            return SK_EPARSE; /* a name */
        }
        if (!v)
            return SK_ENOMEM;
        *out = v;
        return SK_OK;
    }
    return SK_EPARSE;
}

static int read_value(struct rd *r, struct sk_pylit **out)
{
    int rc;
    if (r->depth >= SK_PYLIT_MAX_DEPTH)
        return SK_EPARSE;
    r->depth++;
    rc = read_value_inner(r, out);
    r->depth--;
    return rc;
}

/* Source with "\r\n" and "\r" turned into "\n", as CPython's tokenizer
 * reads it.  NULL on SK_ENOMEM. */
static char *translate_newlines(const char *s, size_t len, size_t *out_len)
{
    char *t = sk_malloc(len + 1);
    size_t i, k = 0;
    if (!t)
        return NULL;
    for (i = 0; i < len; i++) {
        if (s[i] == '\r') {
            t[k++] = '\n';
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else {
            t[k++] = s[i];
        }
    }
    t[k] = '\0';
    *out_len = k;
    return t;
}

int sk_pylit_parse(const char *text, size_t len, struct sk_pylit **out)
{
    struct rd r;
    struct sk_pylit *first = NULL, *t = NULL;
    char *src;
    size_t slen;
    int rc;

    *out = NULL;
    if (memchr(text, '\0', len))
        return SK_EPARSE; /* "source code cannot contain null bytes" */
    if (!sk_utf8_valid(text, len, NULL))
        return SK_EPARSE;
    src = translate_newlines(text, len, &slen);
    if (!src)
        return SK_ENOMEM;
    memset(&r, 0, sizeof r);
    r.s = src;
    r.len = slen;
    /* literal_eval's own lstrip, then blank lines before the expression */
    while (r.pos < r.len && strchr(" \t\f\n", r.s[r.pos]))
        r.pos++;
    rc = read_value(&r, &first);
    if (rc != SK_OK)
        goto out;
    skip_blanks(&r);
    if (peek(&r) == ',') { /* a bare tuple: "1, 2" */
        t = node_new(SK_PYLIT_TUPLE);
        if (!t) {
            rc = SK_ENOMEM;
            goto out;
        }
        rc = push(t, first);
        first = NULL;
        while (rc == SK_OK && peek(&r) == ',') {
            struct sk_pylit *item = NULL;
            r.pos++;
            skip_blanks(&r);
            if (r.pos >= r.len || r.s[r.pos] == '\n')
                break; /* a trailing comma */
            rc = read_value(&r, &item);
            if (rc == SK_OK)
                rc = push(t, item);
            skip_blanks(&r);
        }
        if (rc != SK_OK)
            goto out;
        first = t;
        t = NULL;
    }
    /* trailing blanks and newlines only */
    while (r.pos < r.len && strchr(" \t\f\n", r.s[r.pos]))
        r.pos++;
    if (r.pos < r.len) {
        rc = SK_EPARSE;
        goto out;
    }
    *out = first;
    first = NULL;
out:
    sk_pylit_free(first);
    sk_pylit_free(t);
    sk_free(src);
    return rc;
}

/* ---- from jansson ------------------------------------------------------- */

static int from_json(const json_t *v, int depth, struct sk_pylit **out)
{
    struct sk_pylit *p = NULL;
    int rc = SK_OK;

    *out = NULL;
    if (depth > SK_PYLIT_MAX_DEPTH)
        return SK_EPARSE;
    switch (json_typeof(v)) {
    case JSON_STRING: {
        size_t n = json_string_length(v);
        p = node_new(SK_PYLIT_STR);
        if (p && !(p->text = sk_malloc(n + 1)))
            rc = SK_ENOMEM;
        if (p && rc == SK_OK) {
            memcpy(p->text, json_string_value(v), n);
            p->text[n] = '\0';
            p->len = n;
        }
        break;
    }
    case JSON_INTEGER: {
        char num[32];
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        p = node_new(SK_PYLIT_INT);
        if (p && !(p->text = sk_strdup(num)))
            rc = SK_ENOMEM;
        if (p && rc == SK_OK)
            p->len = strlen(num);
        break;
    }
    case JSON_REAL:
        p = node_new(SK_PYLIT_FLOAT);
        if (p)
            p->f = json_real_value(v);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        p = node_new(SK_PYLIT_BOOL);
        if (p)
            p->b = json_is_true(v);
        break;
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        p = node_new(SK_PYLIT_LIST);
        json_array_foreach(v, i, e)
        {
            struct sk_pylit *c = NULL;
            if (!p || rc != SK_OK)
                break;
            rc = from_json(e, depth + 1, &c);
            if (rc == SK_OK)
                rc = push(p, c);
        }
        break;
    }
    case JSON_OBJECT: {
        const char *key;
        json_t *e;
        p = node_new(SK_PYLIT_DICT);
        json_object_foreach((json_t *)v, key, e)
        {
            struct sk_pylit *k = NULL, *c = NULL;
            if (!p || rc != SK_OK)
                break;
            k = node_new(SK_PYLIT_STR);
            if (!k || !(k->text = sk_strdup(key))) {
                sk_free(k);
                rc = SK_ENOMEM;
                break;
            }
            k->len = strlen(key);
            rc = push(p, k);
            if (rc == SK_OK)
                rc = from_json(e, depth + 1, &c);
            if (rc == SK_OK)
                rc = push(p, c);
        }
        break;
    }
    default:
        p = node_new(SK_PYLIT_NONE);
        break;
    }
    if (!p)
        rc = SK_ENOMEM;
    if (rc != SK_OK) {
        sk_pylit_free(p);
        return rc;
    }
    *out = p;
    return SK_OK;
}

int sk_pylit_from_json(const struct json_t *v, struct sk_pylit **out)
{
    return from_json(v, 0, out);
}

/* ---- str / repr --------------------------------------------------------- */

/*
 * CPython's repr(float): the shortest digits that read back to v, fixed
 * notation for decimal exponents -4..15 (".0" when integral), otherwise
 * d.ddde+XX; "inf", "-inf", "nan".
 */
static int put_float(double v, struct sk_buf *out)
{
    char tmp[40], digits[24];
    const char *p, *sign = signbit(v) ? "-" : "";
    int prec, e, nd = 0, k, rc;

    if (isnan(v))
        return sk_buf_puts(out, "nan");
    if (isinf(v))
        return sk_buf_puts(out, v < 0 ? "-inf" : "inf");
    for (prec = 1; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    for (p = tmp; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    e = (int)strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    rc = sk_buf_puts(out, sign);
    if (e >= 16 || e < -4) {
        rc = rc ? rc : sk_buf_putc(out, digits[0]);
        if (nd > 1 && rc == SK_OK)
            rc = sk_buf_printf(out, ".%s", digits + 1);
        if (rc == SK_OK)
            rc = sk_buf_printf(out, "e%c%02d", e < 0 ? '-' : '+',
                               e < 0 ? -e : e);
        return rc;
    }
    if (e < 0) {
        rc = rc ? rc : sk_buf_puts(out, "0.");
        for (k = 0; rc == SK_OK && k < -e - 1; k++)
            rc = sk_buf_putc(out, '0');
        return rc ? rc : sk_buf_puts(out, digits);
    }
    for (k = 0; rc == SK_OK && k <= e; k++)
        rc = sk_buf_putc(out, k < nd ? digits[k] : '0');
    if (rc == SK_OK)
        rc = sk_buf_putc(out, '.');
    if (rc == SK_OK)
        rc = nd > e + 1 ? sk_buf_puts(out, digits + e + 1)
                        : sk_buf_putc(out, '0');
    return rc;
}

static int put_value(const struct sk_pylit *v, int as_repr, struct sk_buf *out)
{
    size_t i;
    int rc = SK_OK;

    switch (v->kind) {
    case SK_PYLIT_NONE:
        return sk_buf_puts(out, "None");
    case SK_PYLIT_BOOL:
        return sk_buf_puts(out, v->b ? "True" : "False");
    case SK_PYLIT_INT:
        return sk_buf_append(out, v->text, v->len);
    case SK_PYLIT_FLOAT:
        return put_float(v->f, out);
    case SK_PYLIT_STR:
        return as_repr ? sk_score_py_repr(v->text, v->len, out)
                       : sk_buf_append(out, v->text, v->len);
    case SK_PYLIT_LIST:
    case SK_PYLIT_TUPLE:
        rc = sk_buf_putc(out, v->kind == SK_PYLIT_LIST ? '[' : '(');
        for (i = 0; rc == SK_OK && i < v->n; i++) {
            if (i)
                rc = sk_buf_puts(out, ", ");
            if (rc == SK_OK)
                rc = put_value(v->items[i], 1, out);
        }
        if (rc == SK_OK && v->kind == SK_PYLIT_TUPLE && v->n == 1)
            rc = sk_buf_putc(out, ',');
        if (rc == SK_OK)
            rc = sk_buf_putc(out, v->kind == SK_PYLIT_LIST ? ']' : ')');
        return rc;
    case SK_PYLIT_DICT:
        rc = sk_buf_putc(out, '{');
        for (i = 0; rc == SK_OK && i + 1 < v->n; i += 2) {
            if (i)
                rc = sk_buf_puts(out, ", ");
            if (rc == SK_OK)
                rc = put_value(v->items[i], 1, out);
            if (rc == SK_OK)
                rc = sk_buf_puts(out, ": ");
            if (rc == SK_OK)
                rc = put_value(v->items[i + 1], 1, out);
        }
        return rc ? rc : sk_buf_putc(out, '}');
    }
    return SK_EINVAL;
}

int sk_pylit_str(const struct sk_pylit *v, struct sk_buf *out)
{
    size_t mark = out->len;
    int rc = put_value(v, 0, out);
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

int sk_pylit_repr(const struct sk_pylit *v, struct sk_buf *out)
{
    size_t mark = out->len;
    int rc = put_value(v, 1, out);
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}
