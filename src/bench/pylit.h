/*
 * pylit.h - a small model of Python values for scorers that read answers
 * the way the reference does: parsing a subset of Python literals (what
 * ast.literal_eval accepts for str, int, float, bool, None, list, tuple and
 * dicts with string keys), converting jansson values as json.loads would
 * give them, and printing str() / repr() exactly as CPython 3.11.
 *
 * Anything outside the subset (bytes, sets, complex, \N{...} escapes,
 * non-string dict keys, comments, strings with lone surrogates) is refused
 * with SK_EPARSE, so callers take their "not a literal" fallback; the
 * reference would parse some of those.  A value tree owns all its nodes and
 * strings; free it with sk_pylit_free.  Inputs are borrowed.
 */
#ifndef SK_PYLIT_H
#define SK_PYLIT_H

#include <stddef.h>

#include "common.h"

struct sk_buf;
struct json_t;

/* Deepest nesting of lists, tuples and dicts accepted. */
#define SK_PYLIT_MAX_DEPTH 100
/* Most digits of a decimal int (CPython's int_max_str_digits). */
#define SK_PYLIT_MAX_INT_DIGITS 4300

enum sk_pylit_kind {
    SK_PYLIT_NONE,
    SK_PYLIT_BOOL,
    SK_PYLIT_INT,   /* text holds the canonical decimal digits */
    SK_PYLIT_FLOAT, /* f */
    SK_PYLIT_STR,   /* text/len: UTF-8, may hold NUL bytes */
    SK_PYLIT_LIST,
    SK_PYLIT_TUPLE,
    SK_PYLIT_DICT /* items: key, value, key, value, ... (keys are STR) */
};

struct sk_pylit {
    enum sk_pylit_kind kind;
    int b;                   /* BOOL */
    double f;                /* FLOAT */
    char *text;              /* INT, STR (NUL-terminated) */
    size_t len;              /* bytes of text */
    struct sk_pylit **items; /* LIST, TUPLE, DICT */
    size_t n;                /* entries of items */
};

/*
 * ast.literal_eval(text[0..len)) for the subset above, after the
 * leading-blank strip literal_eval itself does.  SK_OK with *out a new
 * tree; SK_EPARSE when the text is not such a literal; SK_ENOMEM.
 */
int sk_pylit_parse(const char *text, size_t len, struct sk_pylit **out);

/*
 * The value Python's json.loads gives for the JSON value v (strings,
 * integers, reals, booleans, null, arrays, objects).  SK_OK, SK_EPARSE
 * (nesting deeper than SK_PYLIT_MAX_DEPTH) or SK_ENOMEM.
 */
int sk_pylit_from_json(const struct json_t *v, struct sk_pylit **out);

/* Appends str(v) / repr(v) to out.  SK_OK, SK_ENOMEM or SK_ETOOBIG. */
int sk_pylit_str(const struct sk_pylit *v, struct sk_buf *out);
int sk_pylit_repr(const struct sk_pylit *v, struct sk_buf *out);

/* The value under the string key of dict d, or NULL. */
const struct sk_pylit *sk_pylit_dict_get(const struct sk_pylit *d,
                                         const char *key);

/* Frees the tree; NULL is fine. */
void sk_pylit_free(struct sk_pylit *v);

#endif /* SK_PYLIT_H */
