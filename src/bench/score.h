/*
 * score.h - scoring helpers shared by the benchmark scorers.
 *
 * The reference scorers are Python; these functions reproduce the CPython
 * 3.11 string semantics they rely on (str.lower, str.isspace/split/strip,
 * the `re` word class, repr of str and list) over UTF-8 text, plus the
 * "<answer>" extraction, multiset token F1 and the mean of hard/soft.
 * Text comes as (ptr, len) UTF-8; a byte that is not part of a valid
 * sequence is read as U+FFFD (one code point).  Arguments are borrowed;
 * arrays returned through out-parameters belong to the caller (sk_free);
 * sk_buf outputs are appended to.  Nothing keeps global state.
 */
#ifndef SK_SCORE_H
#define SK_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sk_buf;

/* Python's str.isspace() / `\w` of re / str.isprintable() for one code
 * point (0 or 1).  Code points above U+10FFFF give 0. */
int sk_score_is_space(uint32_t c);
int sk_score_is_word(uint32_t c);
int sk_score_is_printable(uint32_t c);

/*
 * Decodes s[0..len) into a new array of code points (*out, *n; *out may be
 * NULL when n is 0).  Returns SK_OK or SK_ENOMEM (then *out is NULL).
 */
int sk_score_decode(const char *s, size_t len, uint32_t **out, size_t *n);

/* Appends the UTF-8 encoding of cp[0..n) to out.  SK_ENOMEM/SK_ETOOBIG. */
int sk_score_encode(const uint32_t *cp, size_t n, struct sk_buf *out);
/* Appends " ".join(words) of cp[0..n) as Python's str.split() cuts them
 * (runs of sk_score_is_space), UTF-8 encoded.  SK_OK, SK_ENOMEM or
 * SK_ETOOBIG; out may hold a prefix on failure (callers truncate). */
int sk_score_join_words(const uint32_t *cp, size_t n, struct sk_buf *out);

/*
 * Python str.lower() of cp[0..n), including the final-sigma rule and
 * one-to-many mappings (U+0130 -> "i\u0307").  New array in *out, length
 * *out_n. Returns SK_OK or SK_ENOMEM.
 */
int sk_score_lower(const uint32_t *cp, size_t n, uint32_t **out, size_t *out_n);

/* Number of code points in s[0..len). */
size_t sk_score_cp_count(const char *s, size_t len);

/* Byte offset where code point number ncp starts (len if ncp >= count). */
size_t sk_score_cp_offset(const char *s, size_t len, size_t ncp);

/* Python str.strip(): byte range [*start, *end) of s without leading and
 * trailing Unicode whitespace. */
void sk_score_strip(const char *s, size_t len, size_t *start, size_t *end);

/*
 * Multiset overlap of the str.split() tokens of a and b: *common is the
 * size of Counter(a) & Counter(b), *na and *nb the token counts (any of the
 * three may be NULL).  Returns SK_OK or SK_ENOMEM.
 */
int sk_score_token_overlap(const char *a, size_t alen, const char *b,
                           size_t blen, size_t *common, size_t *na, size_t *nb);

/*
 * SQuAD token F1 from overlap counts: 0.0 when common is 0, else
 * 2*P*R/(P+R) with P = common/n_pred and R = common/n_gold, computed in the
 * same order as the Python reference so the double is identical.
 */
double sk_score_f1(size_t common, size_t n_pred, size_t n_gold);

/*
 * Answer extraction shared by SearchQA-style scorers: the content of the
 * last non-overlapping <answer>...</answer> (tags case-insensitive as in
 * Python's re.IGNORECASE, content may span lines), stripped; else the last
 * non-empty line, stripped; else "".  Appends to out.  SK_ENOMEM/ETOOBIG.
 */
int sk_score_extract_answer(const char *text, size_t len, struct sk_buf *out);

/* Appends Python's repr() of the str s[0..len) to out (all or nothing).
 * Returns SK_OK, SK_ENOMEM or SK_ETOOBIG. */
int sk_score_py_repr(const char *s, size_t len, struct sk_buf *out);

/* Appends Python's repr() of a list of str (NUL-terminated items). */
int sk_score_py_list_repr(const char *const *items, size_t n,
                          struct sk_buf *out);

/*
 * compute_score of the reference: means of hard[] and soft[] summed left to
 * right (CPython 3.11 float sum), (0, 0) for n == 0.  Either input may be
 * NULL (treated as all zeros).
 */
void sk_score_mean(const double *hard, const double *soft, size_t n,
                   double *mean_hard, double *mean_soft);

#endif /* SK_SCORE_H */
