/*
 * http.h - the request engine: one thread runs a curl_multi loop for every
 * HTTP request of the program.
 *
 * Callers build a struct sk_http_request, hand it to sk_engine_submit
 * (which takes ownership) and get a struct sk_http_call back; they block in
 * sk_http_call_wait or poll sk_http_call_done, read the response, and free
 * the call.  The engine retries what can succeed on retry (transport
 * errors, timeouts, stalls, truncated bodies, 408/409/425/429/5xx, an empty
 * 200 body) with full-jitter exponential backoff that honours Retry-After,
 * retry-after-ms and x-ratelimit-reset-*; everything else completes at once
 * with the status and body the server sent.  Per endpoint it enforces a cap
 * on requests in flight (adaptive: halved on 429, grown by one after a run
 * of successes), requests-per-minute and tokens-per-minute token buckets
 * (configured, or learned from x-ratelimit-limit-* headers).  Every
 * throttle and retry is logged at info level and reported to the optional
 * event callback: nothing is capped silently.
 *
 * Ownership: submit takes the request; the call owns request and response
 * until sk_http_call_free.  Strings passed to the *_set/_add helpers are
 * copied.  Thread safety: submit, wait, done and free may be called from
 * any thread; the engine's own thread never calls back into user code
 * except the event callback (which must not block).
 */
#ifndef SK_HTTP_H
#define SK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "util/buf.h"

struct sk_http_header {
    char *name;  /* as sent/received, e.g. "Retry-After" */
    char *value; /* without surrounding blanks */
};

struct sk_http_request {
    char *method; /* "POST", "GET" */
    char *url;
    struct sk_http_header *headers;
    size_t n_headers;
    char *body; /* may be NULL for GET */
    size_t body_len;
    char *endpoint;          /* rate-limit key; NULL: scheme://host[:port] */
    long connect_timeout_ms; /* 0: 10 s */
    long total_timeout_ms;   /* per attempt; 0: 600 s */
    long stall_timeout_ms;   /* no byte received for this long; 0: 120 s */
    size_t max_response;     /* body cap; 0: 64 MiB */
    int max_attempts;        /* 1 = no retry; 0: 4 */
    uint64_t est_tokens;     /* for the tokens-per-minute bucket */
    int secret_header;       /* index+1 of a header whose value is secret,
                                0 if none (never logged) */
};

/* Why a call ended. */
enum sk_http_outcome {
    SK_HTTP_OK = 0,        /* a response with a 2xx status */
    SK_HTTP_STATUS = 1,    /* a non-retryable status, or retries exhausted
                              on a retryable status; see status/body */
    SK_HTTP_TRANSPORT = 2, /* no complete response (DNS, connect, reset,
                              truncated body); see error */
    SK_HTTP_TIMEOUT = 3,   /* total or stall timeout on the last attempt */
    SK_HTTP_TOOBIG = 4,    /* the body passed max_response */
    SK_HTTP_CANCELLED = 5  /* the engine shut down first */
};

struct sk_http_response {
    enum sk_http_outcome outcome;
    long status;        /* HTTP status of the last attempt, 0 if none */
    struct sk_buf body; /* body of the last attempt */
    struct sk_http_header *headers; /* of the last attempt */
    size_t n_headers;
    char error[256];     /* transport error text ("" if none) */
    int attempts;        /* how many were made */
    double elapsed_s;    /* from submit to completion, retries included */
    double first_byte_s; /* last attempt: time to the first body byte */
};

/* Request building helpers; each returns SK_OK or SK_ENOMEM. */
struct sk_http_request *sk_http_request_new(const char *method,
                                            const char *url);
int sk_http_request_add_header(struct sk_http_request *r, const char *name,
                               const char *value);
int sk_http_request_set_body(struct sk_http_request *r, const char *body,
                             size_t len);
void sk_http_request_free(struct sk_http_request *r);

/* Case-insensitive header lookup in a response; NULL if absent. */
const char *sk_http_response_header(const struct sk_http_response *r,
                                    const char *name);

/* Events reported to the observer (for logs and the dashboard). */
enum sk_http_event_kind {
    SK_HTTP_EV_RETRY,    /* an attempt failed and will be retried */
    SK_HTTP_EV_THROTTLE, /* a request waits for a rate-limit bucket */
    SK_HTTP_EV_LIMIT,    /* an endpoint's in-flight cap changed */
    SK_HTTP_EV_DONE      /* a call completed */
};

struct sk_http_event {
    enum sk_http_event_kind kind;
    const char *endpoint;
    long status;        /* RETRY/DONE */
    int attempt;        /* RETRY: the attempt that failed (1-based) */
    long delay_ms;      /* RETRY/THROTTLE: how long it waits (THROTTLE:
                           -1 when it waits for an in-flight slot) */
    int in_flight_cap;  /* LIMIT: the new cap */
    const char *reason; /* short text, e.g. "429 Retry-After 2s" */
};

typedef void (*sk_http_observer_fn)(void *ud, const struct sk_http_event *ev);

struct sk_engine_opts {
    int max_in_flight;    /* per endpoint upper bound; 0: 256 */
    int max_total;        /* across endpoints; 0: 4096 */
    double rpm;           /* requests per minute per endpoint; 0: none */
    double tpm;           /* tokens per minute per endpoint; 0: none */
    long backoff_base_ms; /* 0: 500 */
    long backoff_max_ms;  /* 0: 60000 */
    uint64_t seed;        /* jitter seed (0: from the clock) */
    sk_http_observer_fn observer; /* may be NULL */
    void *observer_ud;
};

struct sk_engine;
struct sk_http_call;

/* Starts the engine thread.  Returns SK_OK, SK_ENOMEM or SK_EIO. */
int sk_engine_new(const struct sk_engine_opts *opts, struct sk_engine **out,
                  struct sk_error *err);
/* Cancels what is pending (calls complete as SK_HTTP_CANCELLED), joins the
 * thread and frees the engine.  Calls must still be freed by their owners.
 * Accepts NULL. */
void sk_engine_free(struct sk_engine *e);

/* Queues req_take (owned by the engine from now on, even on failure). */
int sk_engine_submit(struct sk_engine *e, struct sk_http_request *req_take,
                     struct sk_http_call **out);
/* Blocks until the call has completed; returns its response (owned by the
 * call). */
const struct sk_http_response *sk_http_call_wait(struct sk_http_call *c);
/* 1 if completed. */
int sk_http_call_done(struct sk_http_call *c);
/* Waits if needed, then frees request, response and call.  NULL ok. */
void sk_http_call_free(struct sk_http_call *c);

/* Current in-flight cap of an endpoint (for logs and tests); -1 unknown. */
int sk_engine_endpoint_cap(struct sk_engine *e, const char *endpoint);

/*
 * Backoff before retry number `attempt` (1-based): full jitter over
 * min(max_ms, base_ms * 2^(attempt-1)), but never less than hint_ms (from
 * Retry-After and friends; -1 when none).  rng_state is advanced.  Pure:
 * exposed for tests.
 */
long sk_backoff_ms(int attempt, long base_ms, long max_ms, long hint_ms,
                   uint64_t *rng_state);

/*
 * Server hint of how long to wait, in ms, from retry-after-ms, Retry-After
 * (seconds or an HTTP date, against now_epoch_s), x-ratelimit-reset-requests
 * and x-ratelimit-reset-tokens ("1s", "6m0s", "20ms", "1h2m3.5s"); the
 * largest wins.  -1 when there is none.
 */
long sk_retry_hint_ms(const struct sk_http_response *r, int64_t now_epoch_s);

#endif /* SK_HTTP_H */
