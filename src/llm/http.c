/*
 * http.c - the pure half of the request engine: building requests, reading
 * response headers, the server's retry hints and the backoff schedule.
 * Nothing here touches the network or a thread; engine.c does.
 */
#include "common.h"

#include "llm/http.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/alloc.h"

/*
 * New request with method and url copied and every tuning field 0 (the
 * documented defaults).  NULL when out of memory.
 */
struct sk_http_request *sk_http_request_new(const char *method, const char *url)
{
    struct sk_http_request *r = sk_calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->method = sk_strdup(method ? method : "GET");
    r->url = sk_strdup(url ? url : "");
    if (!r->method || !r->url) {
        sk_http_request_free(r);
        return NULL;
    }
    return r;
}

/*
 * Appends a header (name and value copied).  SK_ENOMEM leaves the request
 * unchanged; SK_EINVAL for a NULL name or a CR/LF in either string, which
 * would let a value smuggle in a second header.
 */
int sk_http_request_add_header(struct sk_http_request *r, const char *name,
                               const char *value)
{
    struct sk_http_header *h;
    char *n, *v;

    if (!r || !name || !*name)
        return SK_EINVAL;
    if (!value)
        value = "";
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return SK_EINVAL;
    h = sk_realloc(r->headers, (r->n_headers + 1) * sizeof(*h));
    if (!h)
        return SK_ENOMEM;
    r->headers = h;
    n = sk_strdup(name);
    v = sk_strdup(value);
    if (!n || !v) {
        sk_free(n);
        sk_free(v);
        return SK_ENOMEM;
    }
    h[r->n_headers].name = n;
    h[r->n_headers].value = v;
    r->n_headers++;
    return SK_OK;
}

/*
 * Replaces the body with a copy of body[0..len) (NUL-terminated for
 * convenience).  body NULL clears it.  SK_ENOMEM keeps the old body.
 */
int sk_http_request_set_body(struct sk_http_request *r, const char *body,
                             size_t len)
{
    char *copy = NULL;

    if (!r)
        return SK_EINVAL;
    if (body) {
        copy = sk_malloc(len + 1);
        if (!copy)
            return SK_ENOMEM;
        memcpy(copy, body, len);
        copy[len] = '\0';
    }
    sk_free(r->body);
    r->body = copy;
    r->body_len = body ? len : 0;
    return SK_OK;
}

/* Frees the request and every string it holds.  NULL is ignored. */
void sk_http_request_free(struct sk_http_request *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->n_headers; i++) {
        sk_free(r->headers[i].name);
        sk_free(r->headers[i].value);
    }
    sk_free(r->headers);
    sk_free(r->method);
    sk_free(r->url);
    sk_free(r->body);
    sk_free(r->endpoint);
    sk_free(r);
}

/* First header called name (any case); NULL if absent.  Borrowed. */
const char *sk_http_response_header(const struct sk_http_response *r,
                                    const char *name)
{
    size_t i;

    if (!r || !name)
        return NULL;
    for (i = 0; i < r->n_headers; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* splitmix64: tiny, seedable from any value (0 included), good enough for
 * jitter. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/*
 * Full jitter (uniform over [0, ceiling]) keeps many clients that failed
 * together from retrying together; the server's hint is a floor because
 * retrying earlier than it asked only earns another 429.
 */
long sk_backoff_ms(int attempt, long base_ms, long max_ms, long hint_ms,
                   uint64_t *rng_state)
{
    long ceiling = base_ms > 0 ? base_ms : 0;
    long delay;
    int i;

    if (max_ms < 0)
        max_ms = 0;
    if (attempt < 1)
        attempt = 1;
    for (i = 1; i < attempt && ceiling < max_ms; i++)
        ceiling = ceiling > max_ms / 2 ? max_ms : ceiling * 2;
    if (ceiling > max_ms)
        ceiling = max_ms;
    delay = (long)(rng_next(rng_state) % ((uint64_t)ceiling + 1));
    if (hint_ms > delay)
        delay = hint_ms;
    return delay;
}

/* Milliseconds (rounded up) from a count of seconds; -1 if s is not a
 * plain non-negative number. */
static long parse_seconds(const char *s)
{
    char *end;
    double v;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (errno || *end || !(v >= 0) || v > 1e9)
        return -1;
    return (long)ceil(v * 1000.0);
}

/* retry-after-ms: a number of milliseconds, fractions allowed. */
static long parse_ms(const char *s)
{
    long v = parse_seconds(s);
    return v < 0 ? -1 : (v + 999) / 1000;
}

/* Retry-After: delta-seconds or an HTTP date (any of the three formats
 * RFC 9110 allows; curl_getdate reads them all). */
static long parse_retry_after(const char *s, int64_t now_epoch_s)
{
    long v = parse_seconds(s);
    time_t t;

    if (v >= 0)
        return v;
    t = curl_getdate(s, NULL);
    if (t == (time_t)-1)
        return -1;
    if ((int64_t)t <= now_epoch_s)
        return 0;
    if ((int64_t)t - now_epoch_s > 1000000000LL / 1000)
        return -1; /* absurdly far away: ignore rather than overflow */
    return (long)(((int64_t)t - now_epoch_s) * 1000);
}

/*
 * A Go-style duration as OpenAI sends in x-ratelimit-reset-*: one or more
 * number+unit pairs, units h, m, s, ms, us, ns ("6m0s", "20ms",
 * "1h2m3.5s").  -1 unless the whole string parses.
 */
static long parse_duration(const char *s)
{
    double total = 0;
    int parts = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    while (*s && *s != ' ' && *s != '\t') {
        char *end;
        double v, scale;

        if (!isdigit((unsigned char)*s) && *s != '.')
            return -1;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !(v >= 0))
            return -1;
        s = end;
        if (strncmp(s, "ms", 2) == 0) {
            scale = 1;
            s += 2;
        } else if (strncmp(s, "us", 2) == 0) {
            scale = 1e-3;
            s += 2;
        } else if (strncmp(s, "ns", 2) == 0) {
            scale = 1e-6;
            s += 2;
        } else if (*s == 'h') {
            scale = 3600e3;
            s++;
        } else if (*s == 'm') {
            scale = 60e3;
            s++;
        } else if (*s == 's') {
            scale = 1e3;
            s++;
        } else {
            return -1;
        }
        total += v * scale;
        parts++;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s || parts == 0 || total > 1e12)
        return -1;
    return (long)ceil(total);
}

/*
 * Largest hint among the headers that carry one; unparseable values are
 * ignored (a broken header must not stall or speed up retries).
 */
long sk_retry_hint_ms(const struct sk_http_response *r, int64_t now_epoch_s)
{
    static const char *const durations[] = {"x-ratelimit-reset-requests",
                                            "x-ratelimit-reset-tokens"};
    long best = -1, v;
    const char *h;
    size_t i;

    if (!r)
        return -1;
    h = sk_http_response_header(r, "retry-after-ms");
    if (h && (v = parse_ms(h)) > best)
        best = v;
    h = sk_http_response_header(r, "retry-after");
    if (h && (v = parse_retry_after(h, now_epoch_s)) > best)
        best = v;
    for (i = 0; i < SK_ARRAY_LEN(durations); i++) {
        h = sk_http_response_header(r, durations[i]);
        if (h && (v = parse_duration(h)) > best)
            best = v;
    }
    return best;
}
