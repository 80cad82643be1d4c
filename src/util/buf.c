/*
 * buf.c - capped byte buffer (see buf.h).  Growth doubles the allocation so
 * n appends cost O(n) amortised; the cap is checked before anything moves.
 */
#include "common.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

void sk_buf_init(struct sk_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sk_buf_release(struct sk_buf *b)
{
    sk_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sk_buf_reset(struct sk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int sk_buf_reserve(struct sk_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return SK_ETOOBIG;
    need = b->len + n + 1;
    if (need <= b->cap)
        return SK_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SK_BUF_UNLIMITED / 2 ? need : cap * 2;
    p = sk_realloc(b->data, cap);
    if (!p)
        return SK_ENOMEM;
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return SK_OK;
}

int sk_buf_append(struct sk_buf *b, const char *p, size_t n)
{
    int rc = sk_buf_reserve(b, n);
    if (rc != SK_OK)
        return rc;
    if (n)
        memmove(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SK_OK;
}

int sk_buf_puts(struct sk_buf *b, const char *s)
{
    return sk_buf_append(b, s, strlen(s));
}

int sk_buf_putc(struct sk_buf *b, char c)
{
    return sk_buf_append(b, &c, 1);
}

int sk_buf_vprintf(struct sk_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n, rc;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return SK_EINVAL;
    rc = sk_buf_reserve(b, (size_t)n);
    if (rc != SK_OK)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SK_OK;
}

int sk_buf_printf(struct sk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = sk_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void sk_buf_truncate(struct sk_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

const char *sk_buf_cstr(const struct sk_buf *b)
{
    return b->data ? b->data : "";
}

char *sk_buf_detach(struct sk_buf *b, size_t *len)
{
    char *p;
    if (!b->data && sk_buf_reserve(b, 0) != SK_OK)
        return NULL;
    p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void sk_buf_keep_tail(struct sk_buf *b, const char *p, size_t n, size_t keep)
{
    if (n >= keep) {
        sk_buf_reset(b);
        (void)sk_buf_append(b, p + n - keep, keep);
        return;
    }
    if (b->len + n > keep) {
        size_t drop = b->len + n - keep;
        memmove(b->data, b->data + drop, b->len - drop);
        sk_buf_truncate(b, b->len - drop);
    }
    (void)sk_buf_append(b, p, n);
}
