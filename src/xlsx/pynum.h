/*
 * pynum.h - CPython 3.11's int(str), float(str) and round(float, n).
 *
 * openpyxl turns cell text into numbers with int()/float(), and the
 * SpreadsheetBench rules round with round(x, 2) and test strings with
 * float(); these functions give the same answers.  Text is UTF-8 (ptr,
 * len); a byte sequence that is not valid UTF-8 is refused as Python never
 * sees one.  Unicode whitespace around the number and Unicode decimal
 * digits are accepted as CPython does; single underscores between digits
 * too.  Nothing here keeps state; only sk_pynum_float may allocate (a
 * scratch copy of a long input, freed before it returns).
 */
#ifndef SK_PYNUM_H
#define SK_PYNUM_H

#include <stddef.h>

#include "common.h"

/* int() refuses decimal strings of more digits (sys.int_info). */
#define SK_PYNUM_MAX_INT_DIGITS 4300

/*
 * float(s[0..len)): 1 with *out set when Python accepts the string, 0 when
 * it raises ValueError, SK_ENOMEM when a long input could not be copied.
 */
int sk_pynum_float(const char *s, size_t len, double *out);

/*
 * int(s[0..len)) in base 10: on SK_OK writes the canonical decimal text
 * ("-12", "0"; no leading zeros, no "+", no "-0") NUL-terminated into
 * out[0..cap) and its length to *out_len (may be NULL).  SK_EPARSE when
 * Python raises ValueError (including more than SK_PYNUM_MAX_INT_DIGITS
 * digits), SK_ETOOBIG when out is too small (cap >= 4302 always fits).
 */
int sk_pynum_int(const char *s, size_t len, char *out, size_t cap,
                 size_t *out_len);

/*
 * Python's round(x, ndigits) for 0 <= ndigits <= 15: correctly rounded,
 * half to even on the exact binary value; NaN and infinities unchanged.
 */
double sk_pynum_round(double x, int ndigits);

/* The digit value (0-9) of a Unicode decimal digit code point, else -1. */
int sk_pynum_decimal(unsigned long cp);

#endif /* SK_PYNUM_H */
