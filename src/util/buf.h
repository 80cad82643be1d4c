/*
 * buf.h - capped, growable byte buffer.
 *
 * A struct sk_buf owns its data.  data is NULL until the first append and is
 * always NUL-terminated after one, so sk_buf_cstr() is safe at any time.
 * Every append is all-or-nothing: on SK_ENOMEM or SK_ETOOBIG (the result
 * would exceed max bytes) the buffer is left exactly as it was.
 * Arguments come as (ptr, len).
 */
#ifndef SK_BUF_H
#define SK_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common.h"

#define SK_BUF_UNLIMITED ((size_t)-1 / 2)

struct sk_buf {
    char *data; /* NULL or len bytes followed by NUL */
    size_t len; /* bytes in use, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* largest len allowed */
};

/* Sets up an empty buffer capped at max bytes.  Allocates nothing. */
void sk_buf_init(struct sk_buf *b, size_t max);
/* Frees the data; the buffer may be reused after sk_buf_init. */
void sk_buf_release(struct sk_buf *b);
/* Empties the buffer, keeping its allocation and cap. */
void sk_buf_reset(struct sk_buf *b);

int sk_buf_append(struct sk_buf *b, const char *p, size_t n);
int sk_buf_puts(struct sk_buf *b, const char *s);
int sk_buf_putc(struct sk_buf *b, char c);
int sk_buf_printf(struct sk_buf *b, const char *fmt, ...) SK_PRINTF(2, 3);
int sk_buf_vprintf(struct sk_buf *b, const char *fmt, va_list ap)
    SK_PRINTF(2, 0);
/* Ensures room for n more bytes (plus the NUL) without changing len. */
int sk_buf_reserve(struct sk_buf *b, size_t n);
/* Shortens the buffer to len bytes (len <= b->len). */
void sk_buf_truncate(struct sk_buf *b, size_t len);

/* The contents as a C string; "" for an empty buffer.  Borrowed. */
const char *sk_buf_cstr(const struct sk_buf *b);

/*
 * Hands the data to the caller (free with sk_free) and leaves the buffer
 * empty.  Returns NULL only on SK_ENOMEM when the buffer never allocated.
 */
char *sk_buf_detach(struct sk_buf *b, size_t *len);

/*
 * Appends p[0..n) keeping only the last keep bytes of b (older bytes are
 * dropped from the front): the tail of a stream of unknown length, for
 * messages.  Best effort: an allocation failure leaves b shorter.
 */
void sk_buf_keep_tail(struct sk_buf *b, const char *p, size_t n, size_t keep);

#endif /* SK_BUF_H */
