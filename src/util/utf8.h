/*
 * utf8.h - UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF).  Pure functions; nothing allocates.
 */
#ifndef SK_UTF8_H
#define SK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes one strict UTF-8 sequence at s (n bytes available).  Returns its
 * length (1-4) and sets *cp, or 0 if the bytes are not valid UTF-8.
 */
size_t sk_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/*
 * Returns 1 if s[0..len) is valid UTF-8 without NUL bytes; otherwise 0 and,
 * when bad is not NULL, the offset of the first offending byte.
 */
int sk_utf8_valid(const char *s, size_t len, size_t *bad);

/* Writes the UTF-8 encoding of code point c (at most U+10FFFF) to out and
 * returns its length (1 to 4). */
size_t sk_utf8_encode(uint32_t c, char out[4]);

/* 1-based line and column (in bytes) of offset off in s. */
void sk_text_line_col(const char *s, size_t off, int *line, int *col);

#endif /* SK_UTF8_H */
