/*
 * engine.c - the request engine of http.h: one thread owns a curl multi
 * handle and runs every transfer, admission control (in-flight caps and
 * rpm/tpm token buckets per endpoint), retries on timers, stall detection
 * and completion.  User threads only touch the submission queue (under the
 * engine mutex) and their own call (under the call's mutex).
 */
#include "common.h"

#include "llm/http.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/alloc.h"
#include "util/log.h"

#define DEF_MAX_IN_FLIGHT 256
#define DEF_MAX_TOTAL 4096
#define DEF_BACKOFF_BASE_MS 500
#define DEF_BACKOFF_MAX_MS 60000
#define DEF_CONNECT_MS 10000L
#define DEF_TOTAL_MS 600000L
#define DEF_STALL_MS 120000L
#define DEF_MAX_RESPONSE ((size_t)64 * 1024 * 1024)
#define DEF_ATTEMPTS 4
#define GROW_AFTER 20                 /* successes in a row before cap + 1 */
#define MAX_HEADER_BYTES (256 * 1024) /* and header bytes stored */
#define MAX_RESP_HEADERS 256          /* further response headers are dropped */
#define HINT_CEIL_MS 300000L          /* server hints above 5 min are cut */
#define THROTTLE_LOG_GAP_S 5.0 /* same throttle reason logged this often */
#define IDLE_POLL_MS 1000      /* poll timeout when no timer is due */

/* Where a call is; only the engine thread reads or writes this. */
enum call_state { ST_QUEUED, ST_RUNNING, ST_DONE };

/* Why an attempt failed in a way worth retrying. */
enum fail_kind { FAIL_NONE, FAIL_STATUS, FAIL_TRANSPORT, FAIL_TIMEOUT };

struct endpoint {
    char *key;
    int cap;                 /* current in-flight cap (writes under e->mu) */
    int in_flight;           /* attempts running now */
    int successes;           /* 2xx in a row since the last failure or growth */
    double last_cut;         /* when the cap was last halved (monotonic s) */
    double hold_until;       /* no starts before this (after a 429 hint) */
    double rpm_cfg, tpm_cfg; /* configured, 0: none */
    double rpm_seen, tpm_seen;   /* learned from headers, 0: none */
    double req_level, tok_level; /* token bucket contents */
    double refill_t;             /* when the buckets were last filled */
    long pass;                   /* admission pass that blocked it */
    const char *throttle_why;    /* last THROTTLE reason reported */
    double throttle_t;           /* when it was reported */
    struct endpoint *next;
};

struct sk_http_call {
    pthread_mutex_t mu; /* guards done (the rest belongs to the engine) */
    pthread_cond_t cv;
    int done;
    struct sk_http_request *req;
    struct sk_http_response resp;
    /* Engine-thread fields. */
    enum call_state state;
    struct endpoint *ep;
    CURL *easy;
    struct curl_slist *hdrs;
    double submit_t;  /* monotonic s */
    double ready_t;   /* may start from this time (backoff) */
    double start_t;   /* start of the current attempt */
    double rx_t;      /* last byte received in this attempt */
    size_t hdr_bytes; /* response header bytes of this attempt */
    unsigned toobig : 1, oom : 1, stalled : 1, got_body : 1;
    struct sk_http_call *prev, *next; /* pending or running list */
};

struct call_list {
    struct sk_http_call *head, *tail;
    size_t n;
};

struct sk_engine {
    struct sk_engine_opts opts; /* defaults filled in */
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu;        /* guards incoming, stop, endpoint list/caps */
    struct call_list incoming; /* submitted, not yet seen by the thread */
    int stop;
    /* Engine-thread state. */
    struct call_list pending; /* waiting to start (new or backing off) */
    struct call_list running; /* attached to the multi handle */
    struct endpoint *endpoints;
    int total_in_flight;
    long pass;
    uint64_t rng;
    int progressed; /* a call finished or was rescheduled this turn */
};

/* curl writes its error text straight into the response. */
_Static_assert(sizeof(((struct sk_http_response *)0)->error) >= CURL_ERROR_SIZE,
               "response error buffer smaller than CURL_ERROR_SIZE");

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void list_push(struct call_list *l, struct sk_http_call *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
}

static void list_remove(struct call_list *l, struct sk_http_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    l->n--;
}

/* Appends all of src to dst and empties src. */
static void list_splice(struct call_list *dst, struct call_list *src)
{
    if (!src->head)
        return;
    if (dst->tail) {
        dst->tail->next = src->head;
        src->head->prev = dst->tail;
    } else {
        dst->head = src->head;
    }
    dst->tail = src->tail;
    dst->n += src->n;
    src->head = src->tail = NULL;
    src->n = 0;
}

static void emit(struct sk_engine *e, const struct sk_http_event *ev)
{
    if (e->opts.observer)
        e->opts.observer(e->opts.observer_ud, ev);
}

static void headers_clear(struct sk_http_response *r)
{
    size_t i;
    for (i = 0; i < r->n_headers; i++) {
        sk_free(r->headers[i].name);
        sk_free(r->headers[i].value);
    }
    sk_free(r->headers);
    r->headers = NULL;
    r->n_headers = 0;
}

/*
 * scheme://host[:port] of url, lower-cased, without user info (which may
 * hold a password).  New string or NULL.
 */
static char *endpoint_of(const char *url)
{
    const char *p = strstr(url, "://");
    const char *host, *end, *at;
    struct sk_buf b;
    char *out;
    size_t i;

    if (!p)
        return sk_strdup(url);
    host = p + 3;
    end = host + strcspn(host, "/?#");
    at = memchr(host, '@', (size_t)(end - host));
    if (at)
        host = at + 1;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_append(&b, url, (size_t)(p + 3 - url)) != SK_OK ||
        sk_buf_append(&b, host, (size_t)(end - host)) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    for (i = 0; i < b.len; i++)
        b.data[i] = (char)tolower((unsigned char)b.data[i]);
    out = sk_buf_detach(&b, NULL);
    return out;
}

static struct endpoint *endpoint_get(struct sk_engine *e, const char *key,
                                     double now)
{
    struct endpoint *ep;
    for (ep = e->endpoints; ep; ep = ep->next)
        if (strcmp(ep->key, key) == 0)
            return ep;
    ep = sk_calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    ep->key = sk_strdup(key);
    if (!ep->key) {
        sk_free(ep);
        return NULL;
    }
    ep->cap = e->opts.max_in_flight;
    ep->rpm_cfg = e->opts.rpm > 0 ? e->opts.rpm : 0;
    ep->tpm_cfg = e->opts.tpm > 0 ? e->opts.tpm : 0;
    ep->req_level = ep->tok_level = HUGE_VAL; /* clamped at first refill */
    ep->refill_t = now;
    ep->last_cut = -HUGE_VAL;
    pthread_mutex_lock(&e->mu);
    ep->next = e->endpoints;
    e->endpoints = ep;
    pthread_mutex_unlock(&e->mu);
    return ep;
}

/* The limit in force: the smaller of configured and learned, 0 if none. */
static double eff_limit(double cfg, double seen)
{
    if (cfg > 0 && seen > 0)
        return cfg < seen ? cfg : seen;
    return cfg > 0 ? cfg : seen;
}

/* A bucket holds one second's worth of its per-minute rate, at least 1. */
static double bucket_cap(double per_min)
{
    return per_min / 60.0 > 1.0 ? per_min / 60.0 : 1.0;
}

static void refill(struct endpoint *ep, double now)
{
    double dt = now - ep->refill_t;
    double rpm = eff_limit(ep->rpm_cfg, ep->rpm_seen);
    double tpm = eff_limit(ep->tpm_cfg, ep->tpm_seen);
    if (dt < 0)
        dt = 0;
    ep->refill_t = now;
    if (rpm > 0) {
        ep->req_level += dt * rpm / 60.0;
        if (ep->req_level > bucket_cap(rpm))
            ep->req_level = bucket_cap(rpm);
    }
    if (tpm > 0) {
        ep->tok_level += dt * tpm / 60.0;
        if (ep->tok_level > bucket_cap(tpm))
            ep->tok_level = bucket_cap(tpm);
    }
}

/* Reports that calls of ep wait, without repeating the same line often. */
static void throttle(struct sk_engine *e, struct endpoint *ep, const char *why,
                     long delay_ms, double now)
{
    struct sk_http_event ev;
    if (ep->throttle_why == why && now - ep->throttle_t < THROTTLE_LOG_GAP_S)
        return;
    ep->throttle_why = why;
    ep->throttle_t = now;
    if (delay_ms >= 0)
        sk_info("http: %s: requests wait %ld ms (%s)", ep->key, delay_ms, why);
    else
        sk_info("http: %s: requests wait for a slot (%s, %d in flight)",
                ep->key, why, ep->in_flight);
    memset(&ev, 0, sizeof ev);
    ev.kind = SK_HTTP_EV_THROTTLE;
    ev.endpoint = ep->key;
    ev.delay_ms = delay_ms;
    ev.in_flight_cap = ep->cap;
    ev.reason = why;
    emit(e, &ev);
}

static void set_cap(struct sk_engine *e, struct endpoint *ep, int cap,
                    const char *why)
{
    struct sk_http_event ev;
    pthread_mutex_lock(&e->mu);
    ep->cap = cap;
    pthread_mutex_unlock(&e->mu);
    sk_info("http: %s: in-flight cap now %d (%s)", ep->key, cap, why);
    memset(&ev, 0, sizeof ev);
    ev.kind = SK_HTTP_EV_LIMIT;
    ev.endpoint = ep->key;
    ev.in_flight_cap = cap;
    ev.reason = why;
    emit(e, &ev);
}

/* ---- completion ------------------------------------------------------- */

/* Ends the call: the engine forgets it, then its owner is woken. */
static void finish(struct sk_engine *e, struct sk_http_call *c,
                   enum sk_http_outcome outcome)
{
    struct sk_http_event ev;

    if (c->easy) {
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    c->resp.outcome = outcome;
    c->resp.elapsed_s = mono_s() - c->submit_t;
    c->state = ST_DONE;
    e->progressed = 1;
    sk_debug("http: %s %s: done, outcome %d status %ld after %d attempt(s)",
             c->req->method, c->req->endpoint, (int)outcome, c->resp.status,
             c->resp.attempts);
    memset(&ev, 0, sizeof ev);
    ev.kind = SK_HTTP_EV_DONE;
    ev.endpoint = c->req->endpoint;
    ev.status = c->resp.status;
    ev.attempt = c->resp.attempts;
    ev.in_flight_cap = c->ep ? c->ep->cap : 0;
    ev.reason = outcome == SK_HTTP_OK ? "ok" : "failed";
    emit(e, &ev);
    pthread_mutex_lock(&c->mu);
    c->done = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- curl callbacks ----------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sk_http_call *c = ud;
    size_t n = size * nmemb;
    int rc;

    c->rx_t = mono_s();
    if (!c->got_body) {
        c->got_body = 1;
        c->resp.first_byte_s = c->rx_t - c->start_t;
    }
    rc = sk_buf_append(&c->resp.body, ptr, n);
    if (rc == SK_ETOOBIG) {
        c->toobig = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (rc != SK_OK) {
        c->oom = 1;
        return 0;
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sk_http_call *c = ud;
    size_t n = size * nmemb, name_len, vlen;
    const char *colon, *v;
    struct sk_http_header *h;
    char *name, *value;

    c->rx_t = mono_s();
    c->hdr_bytes += n;
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        /* A new status line (after a 1xx): only the final headers count. */
        headers_clear(&c->resp);
        c->hdr_bytes = n;
        return n;
    }
    colon = memchr(ptr, ':', n);
    if (!colon || c->resp.n_headers >= MAX_RESP_HEADERS ||
        c->hdr_bytes > MAX_HEADER_BYTES)
        return n; /* kept out of memory, the transfer goes on */
    name_len = (size_t)(colon - ptr);
    v = colon + 1;
    vlen = n - name_len - 1;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
                    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    name = sk_strndup(ptr, name_len);
    value = sk_strndup(v, vlen);
    h = name && value
            ? sk_realloc(c->resp.headers, (c->resp.n_headers + 1) * sizeof *h)
            : NULL;
    if (!h) {
        sk_free(name);
        sk_free(value);
        c->oom = 1;
        return 0;
    }
    c->resp.headers = h;
    h[c->resp.n_headers].name = name;
    h[c->resp.n_headers].value = value;
    c->resp.n_headers++;
    return n;
}

/* ---- starting attempts -------------------------------------------------- */

static int build_easy(struct sk_http_call *c)
{
    struct sk_http_request *r = c->req;
    struct curl_slist *l;
    struct sk_buf line;
    CURL *h;
    size_t i;
    int ok = 1;

    h = curl_easy_init();
    if (!h)
        return SK_ENOMEM;
    c->easy = h;
    sk_buf_init(&line, SK_BUF_UNLIMITED);
    for (i = 0; i < r->n_headers && ok; i++) {
        sk_buf_reset(&line);
        /* "Name;" is how curl is told to send a header with no value. */
        if (r->headers[i].value[0])
            ok = sk_buf_printf(&line, "%s: %s", r->headers[i].name,
                               r->headers[i].value) == SK_OK;
        else
            ok = sk_buf_printf(&line, "%s;", r->headers[i].name) == SK_OK;
        l = ok ? curl_slist_append(c->hdrs, line.data) : NULL;
        ok = l != NULL;
        if (ok)
            c->hdrs = l;
    }
    sk_buf_release(&line);
    /* No "Expect: 100-continue" round trip before large bodies. */
    l = ok ? curl_slist_append(c->hdrs, "Expect:") : NULL;
    if (!l)
        return SK_ENOMEM;
    c->hdrs = l;

    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, c);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->resp.error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->total_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (strncasecmp(r->url, "https:", 6) == 0)
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    if (strcmp(r->method, "GET") == 0 && !r->body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        /* The body stays in the request, which outlives the handle. */
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        if (strcmp(r->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return SK_OK;
}

static void start_attempt(struct sk_engine *e, struct sk_http_call *c,
                          double now)
{
    CURLMcode mc;

    if (!c->easy && build_easy(c) != SK_OK) {
        snprintf(c->resp.error, sizeof c->resp.error, "out of memory");
        finish(e, c, SK_HTTP_TRANSPORT);
        return;
    }
    headers_clear(&c->resp);
    sk_buf_reset(&c->resp.body);
    c->resp.status = 0;
    c->resp.error[0] = '\0';
    c->resp.first_byte_s = 0;
    c->toobig = c->oom = c->stalled = c->got_body = 0;
    c->hdr_bytes = 0;
    c->start_t = c->rx_t = now;
    c->resp.attempts++;
    mc = curl_multi_add_handle(e->multi, c->easy);
    if (mc != CURLM_OK) {
        snprintf(c->resp.error, sizeof c->resp.error, "curl: %s",
                 curl_multi_strerror(mc));
        finish(e, c, SK_HTTP_TRANSPORT);
        return;
    }
    c->state = ST_RUNNING;
    list_push(&e->running, c);
    c->ep->in_flight++;
    e->total_in_flight++;
}

/*
 * Whether ep may start call c now; if not, *wait_ms is how long until a
 * bucket allows it (-1: until a slot frees) and *why the reason.
 */
static int admit(struct sk_engine *e, struct endpoint *ep,
                 const struct sk_http_call *c, double now, long *wait_ms,
                 const char **why)
{
    double rpm = eff_limit(ep->rpm_cfg, ep->rpm_seen);
    double tpm = eff_limit(ep->tpm_cfg, ep->tpm_seen);
    double need, secs;

    if (ep->hold_until > now) {
        *why = "held after 429";
        *wait_ms = (long)ceil((ep->hold_until - now) * 1000.0);
        return 0;
    }
    if (ep->in_flight >= ep->cap) {
        *why = "in-flight cap";
        *wait_ms = -1;
        return 0;
    }
    if (e->total_in_flight >= e->opts.max_total) {
        *why = "global in-flight cap";
        *wait_ms = -1;
        return 0;
    }
    refill(ep, now);
    if (rpm > 0 && ep->req_level < 1.0) {
        *why = "requests-per-minute limit";
        secs = (1.0 - ep->req_level) * 60.0 / rpm;
        *wait_ms = (long)ceil(secs * 1000.0);
        return 0;
    }
    /* A request larger than the bucket goes when the bucket is full. */
    need = (double)c->req->est_tokens;
    if (need > bucket_cap(tpm))
        need = bucket_cap(tpm);
    if (tpm > 0 && need > 0 && ep->tok_level < need) {
        *why = "tokens-per-minute limit";
        secs = (need - ep->tok_level) * 60.0 / tpm;
        *wait_ms = (long)ceil(secs * 1000.0);
        return 0;
    }
    if (rpm > 0)
        ep->req_level -= 1.0;
    if (tpm > 0)
        ep->tok_level -= (double)c->req->est_tokens;
    return 1;
}

static long min_wait(long a, long b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/*
 * Starts every pending call that may start, in submission order per
 * endpoint.  Returns ms until a timer-bound call may start, -1 if none.
 */
static long start_ready(struct sk_engine *e, double now)
{
    struct sk_http_call *c, *next;
    long next_ms = -1, wait_ms;
    const char *why;

    e->pass++;
    for (c = e->pending.head; c; c = next) {
        next = c->next;
        if (c->ready_t > now) {
            next_ms =
                min_wait(next_ms, (long)ceil((c->ready_t - now) * 1000.0));
            continue;
        }
        if (!c->ep) {
            c->ep = endpoint_get(e, c->req->endpoint, now);
            if (!c->ep) {
                list_remove(&e->pending, c);
                snprintf(c->resp.error, sizeof c->resp.error, "out of memory");
                finish(e, c, SK_HTTP_TRANSPORT);
                continue;
            }
        }
        if (c->ep->pass == e->pass)
            continue; /* an earlier call of this endpoint is waiting */
        if (!admit(e, c->ep, c, now, &wait_ms, &why)) {
            c->ep->pass = e->pass;
            throttle(e, c->ep, why, wait_ms, now);
            next_ms = min_wait(next_ms, wait_ms);
            if (e->total_in_flight >= e->opts.max_total)
                break;
            continue;
        }
        list_remove(&e->pending, c);
        start_attempt(e, c, now);
    }
    return next_ms;
}

/* ---- finishing attempts ------------------------------------------------- */

static int retryable_status(long st)
{
    return st == 408 || st == 409 || st == 425 || st == 429 ||
           (st >= 500 && st <= 599);
}

static int retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

/*
 * The server's wait hint for this failure.  Only a 429 takes the
 * x-ratelimit-reset-* headers into account: on other statuses they say
 * when a quota refills, not that the server is overloaded.
 */
static long hint_for(const struct sk_http_response *r)
{
    struct sk_http_response only;
    struct sk_http_header keep[2];
    const char *v;
    long hint;

    if (r->status == 429) {
        hint = sk_retry_hint_ms(r, (int64_t)time(NULL));
    } else {
        memset(&only, 0, sizeof only);
        v = sk_http_response_header(r, "retry-after-ms");
        if (v) {
            keep[only.n_headers].name = (char *)"retry-after-ms";
            keep[only.n_headers++].value = (char *)v;
        }
        v = sk_http_response_header(r, "retry-after");
        if (v) {
            keep[only.n_headers].name = (char *)"retry-after";
            keep[only.n_headers++].value = (char *)v;
        }
        only.headers = keep;
        hint = sk_retry_hint_ms(&only, (int64_t)time(NULL));
    }
    return hint > HINT_CEIL_MS ? HINT_CEIL_MS : hint;
}

static double header_num(const struct sk_http_response *r, const char *name)
{
    const char *v = sk_http_response_header(r, name);
    char *end;
    double d;
    if (!v)
        return -1;
    d = strtod(v, &end);
    if (end == v || !(d >= 0))
        return -1;
    return d;
}

/* Learns per-minute limits and remaining quota from response headers. */
static void learn_limits(struct sk_engine *e, struct endpoint *ep,
                         const struct sk_http_response *r, double now)
{
    double lim_r = header_num(r, "x-ratelimit-limit-requests");
    double lim_t = header_num(r, "x-ratelimit-limit-tokens");
    double rem_r = header_num(r, "x-ratelimit-remaining-requests");
    double rem_t = header_num(r, "x-ratelimit-remaining-tokens");

    (void)e;
    refill(ep, now);
    if (lim_r > 0 && lim_r != ep->rpm_seen) {
        ep->rpm_seen = lim_r;
        sk_info("http: %s: server allows %.0f requests/min", ep->key, lim_r);
    }
    if (lim_t > 0 && lim_t != ep->tpm_seen) {
        ep->tpm_seen = lim_t;
        sk_info("http: %s: server allows %.0f tokens/min", ep->key, lim_t);
    }
    /* The server's count is the truth; ours may only be more careful. */
    if (rem_r >= 0 && eff_limit(ep->rpm_cfg, ep->rpm_seen) > 0 &&
        rem_r < ep->req_level)
        ep->req_level = rem_r;
    if (rem_t >= 0 && eff_limit(ep->tpm_cfg, ep->tpm_seen) > 0 &&
        rem_t < ep->tok_level)
        ep->tok_level = rem_t;
    refill(ep, now); /* clamps a first HUGE_VAL level to the new cap */
}

/* Adapts the endpoint's cap to this attempt's result. */
static void adapt_cap(struct sk_engine *e, struct sk_http_call *c, long hint,
                      double now)
{
    struct endpoint *ep = c->ep;
    char why[64];

    if (c->resp.status >= 200 && c->resp.status <= 299) {
        ep->successes++;
        if (ep->successes >= GROW_AFTER) {
            ep->successes = 0;
            if (ep->cap < e->opts.max_in_flight)
                set_cap(e, ep, ep->cap + 1, "successes in a row");
        }
        return;
    }
    ep->successes = 0;
    if (c->resp.status != 429)
        return;
    if (hint > 0 && now + hint / 1000.0 > ep->hold_until)
        ep->hold_until = now + hint / 1000.0;
    /* One cut per round trip: 429s of attempts started before the last
     * cut were caused by the old cap. */
    if (c->start_t >= ep->last_cut && ep->cap > 1) {
        ep->last_cut = now;
        snprintf(why, sizeof why, "429 from the server");
        set_cap(e, ep, ep->cap / 2 > 1 ? ep->cap / 2 : 1, why);
    }
}

/* Schedules another attempt or finishes the call. */
static void retry_or_finish(struct sk_engine *e, struct sk_http_call *c,
                            enum sk_http_outcome final, const char *reason,
                            long hint, double now)
{
    struct sk_http_event ev;
    long delay;

    if (c->resp.attempts >= c->req->max_attempts) {
        finish(e, c, final);
        return;
    }
    delay = sk_backoff_ms(c->resp.attempts, e->opts.backoff_base_ms,
                          e->opts.backoff_max_ms, hint, &e->rng);
    sk_info("http: %s %s: attempt %d/%d failed (%s), retrying in %ld ms",
            c->req->method, c->req->endpoint, c->resp.attempts,
            c->req->max_attempts, reason, delay);
    memset(&ev, 0, sizeof ev);
    ev.kind = SK_HTTP_EV_RETRY;
    ev.endpoint = c->req->endpoint;
    ev.status = c->resp.status;
    ev.attempt = c->resp.attempts;
    ev.delay_ms = delay;
    ev.in_flight_cap = c->ep->cap;
    ev.reason = reason;
    emit(e, &ev);
    c->ready_t = now + delay / 1000.0;
    c->state = ST_QUEUED;
    list_push(&e->pending, c);
    e->progressed = 1; /* its timer is not in this turn's poll timeout */
}

/* Classifies a finished attempt (the handle is already detached). */
static void attempt_done(struct sk_engine *e, struct sk_http_call *c,
                         CURLcode rc, double now)
{
    char reason[160];
    long st = 0, hint = -1;
    enum sk_http_outcome final;

    c->ep->in_flight--;
    e->total_in_flight--;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
    c->resp.status = st;
    if (c->toobig) {
        snprintf(c->resp.error, sizeof c->resp.error,
                 "response body larger than %zu bytes", c->req->max_response);
        finish(e, c, SK_HTTP_TOOBIG);
        return;
    }
    if (c->oom) {
        snprintf(c->resp.error, sizeof c->resp.error, "out of memory");
        finish(e, c, SK_HTTP_TRANSPORT);
        return;
    }
    if (c->stalled) {
        snprintf(c->resp.error, sizeof c->resp.error,
                 "no data received for %ld ms", c->req->stall_timeout_ms);
        snprintf(reason, sizeof reason, "stalled %ld ms",
                 c->req->stall_timeout_ms);
        c->ep->successes = 0;
        retry_or_finish(e, c, SK_HTTP_TIMEOUT, reason, -1, now);
        return;
    }
    if (rc != CURLE_OK) {
        if (!c->resp.error[0])
            snprintf(c->resp.error, sizeof c->resp.error, "%s",
                     curl_easy_strerror(rc));
        c->ep->successes = 0;
        final = rc == CURLE_OPERATION_TIMEDOUT ? SK_HTTP_TIMEOUT
                                               : SK_HTTP_TRANSPORT;
        if (!retryable_curl(rc)) {
            finish(e, c, final);
            return;
        }
        retry_or_finish(e, c, final, c->resp.error, hint_for(&c->resp), now);
        return;
    }
    learn_limits(e, c->ep, &c->resp, now);
    if (retryable_status(st))
        hint = hint_for(&c->resp);
    adapt_cap(e, c, hint, now);
    if (st >= 200 && st <= 299 && !(st == 200 && c->resp.body.len == 0)) {
        finish(e, c, SK_HTTP_OK);
        return;
    }
    if (st == 200) {
        snprintf(reason, sizeof reason, "empty 200 body");
        retry_or_finish(e, c, SK_HTTP_OK, reason, -1, now);
        return;
    }
    if (!retryable_status(st)) {
        finish(e, c, SK_HTTP_STATUS);
        return;
    }
    if (hint >= 0)
        snprintf(reason, sizeof reason, "%ld, server asks for %ld ms", st,
                 hint);
    else
        snprintf(reason, sizeof reason, "%ld", st);
    retry_or_finish(e, c, SK_HTTP_STATUS, reason, hint, now);
}

static void drain_messages(struct sk_engine *e)
{
    CURLMsg *m;
    int left;
    void *priv;
    struct sk_http_call *c;

    for (;;) {
        m = curl_multi_info_read(e->multi, &left);
        if (!m)
            break;
        if (m->msg != CURLMSG_DONE)
            continue;
        priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&priv);
        c = priv;
        {
            CURLcode rc = m->data.result;
            /* m is invalid once the handle is removed. */
            curl_multi_remove_handle(e->multi, c->easy);
            list_remove(&e->running, c);
            attempt_done(e, c, rc, mono_s());
        }
    }
}

/*
 * Aborts attempts that received nothing for their stall timeout.  Returns
 * ms until the next stall deadline, -1 if none.
 */
static long check_stalls(struct sk_engine *e, double now)
{
    struct sk_http_call *c, *next;
    long next_ms = -1;

    for (c = e->running.head; c; c = next) {
        double deadline = c->rx_t + c->req->stall_timeout_ms / 1000.0;
        next = c->next;
        if (deadline > now) {
            next_ms = min_wait(next_ms, (long)ceil((deadline - now) * 1000.0));
            continue;
        }
        c->stalled = 1;
        curl_multi_remove_handle(e->multi, c->easy);
        list_remove(&e->running, c);
        attempt_done(e, c, CURLE_OPERATION_TIMEDOUT, now);
    }
    return next_ms;
}

static void cancel_list(struct sk_engine *e, struct call_list *l)
{
    struct sk_http_call *c;
    while (l->head) {
        c = l->head;
        list_remove(l, c);
        if (c->state == ST_RUNNING) {
            curl_multi_remove_handle(e->multi, c->easy);
            c->ep->in_flight--;
            e->total_in_flight--;
        }
        snprintf(c->resp.error, sizeof c->resp.error,
                 "cancelled: the engine shut down");
        finish(e, c, SK_HTTP_CANCELLED);
    }
}

static void *engine_main(void *arg)
{
    struct sk_engine *e = arg;
    struct call_list in;
    int stop, running;
    long wait_ms, w;

    for (;;) {
        double now;
        pthread_mutex_lock(&e->mu);
        in = e->incoming;
        e->incoming.head = e->incoming.tail = NULL;
        e->incoming.n = 0;
        stop = e->stop;
        pthread_mutex_unlock(&e->mu);
        list_splice(&e->pending, &in);
        if (stop)
            break;
        e->progressed = 0;
        now = mono_s();
        wait_ms = check_stalls(e, now);
        w = start_ready(e, now);
        wait_ms = min_wait(wait_ms, w);
        curl_multi_perform(e->multi, &running);
        drain_messages(e);
        if (e->progressed)
            wait_ms = 0; /* retries or freed slots may start right away */
        if (wait_ms < 0 || wait_ms > IDLE_POLL_MS)
            wait_ms = IDLE_POLL_MS;
        curl_multi_poll(e->multi, NULL, 0, (int)wait_ms, NULL);
    }
    cancel_list(e, &e->running);
    cancel_list(e, &e->pending);
    return NULL;
}

/* ---- public API --------------------------------------------------------- */

int sk_engine_new(const struct sk_engine_opts *opts, struct sk_engine **out,
                  struct sk_error *err)
{
    struct sk_engine *e;
    struct timespec ts;

    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return sk_error_set(err, SK_EIO, "curl_global_init: %s",
                            curl_easy_strerror(curl_init_rc));
    e = sk_calloc(1, sizeof *e);
    if (!e)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (opts)
        e->opts = *opts;
    if (e->opts.max_in_flight <= 0)
        e->opts.max_in_flight = DEF_MAX_IN_FLIGHT;
    if (e->opts.max_total <= 0)
        e->opts.max_total = DEF_MAX_TOTAL;
    if (e->opts.backoff_base_ms <= 0)
        e->opts.backoff_base_ms = DEF_BACKOFF_BASE_MS;
    if (e->opts.backoff_max_ms <= 0)
        e->opts.backoff_max_ms = DEF_BACKOFF_MAX_MS;
    e->rng = e->opts.seed;
    if (!e->rng) {
        clock_gettime(CLOCK_REALTIME, &ts);
        e->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                 ((uint64_t)getpid() << 40);
    }
    e->multi = curl_multi_init();
    if (!e->multi) {
        sk_free(e);
        return sk_error_set(err, SK_ENOMEM, "curl_multi_init failed");
    }
    curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    /* Our own caps decide concurrency; curl must not queue behind them. */
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    pthread_mutex_init(&e->mu, NULL);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        pthread_mutex_destroy(&e->mu);
        curl_multi_cleanup(e->multi);
        sk_free(e);
        return sk_error_set(err, SK_EIO, "cannot start the engine thread");
    }
    *out = e;
    return SK_OK;
}

void sk_engine_free(struct sk_engine *e)
{
    struct endpoint *ep;
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    pthread_mutex_unlock(&e->mu);
    curl_multi_wakeup(e->multi);
    pthread_join(e->thread, NULL);
    curl_multi_cleanup(e->multi);
    while (e->endpoints) {
        ep = e->endpoints;
        e->endpoints = ep->next;
        sk_free(ep->key);
        sk_free(ep);
    }
    pthread_mutex_destroy(&e->mu);
    sk_free(e);
}

int sk_engine_submit(struct sk_engine *e, struct sk_http_request *req_take,
                     struct sk_http_call **out)
{
    struct sk_http_call *c;
    struct sk_http_request *r = req_take;
    int stop;

    *out = NULL;
    if (!r)
        return SK_EINVAL;
    if (!e || !r->method || !r->url) {
        sk_http_request_free(r);
        return SK_EINVAL;
    }
    if (!r->endpoint) {
        r->endpoint = endpoint_of(r->url);
        if (!r->endpoint) {
            sk_http_request_free(r);
            return SK_ENOMEM;
        }
    }
    c = sk_calloc(1, sizeof *c);
    if (!c) {
        sk_http_request_free(r);
        return SK_ENOMEM;
    }
    if (r->connect_timeout_ms <= 0)
        r->connect_timeout_ms = DEF_CONNECT_MS;
    if (r->total_timeout_ms <= 0)
        r->total_timeout_ms = DEF_TOTAL_MS;
    if (r->stall_timeout_ms <= 0)
        r->stall_timeout_ms = DEF_STALL_MS;
    if (r->max_response == 0)
        r->max_response = DEF_MAX_RESPONSE;
    if (r->max_attempts <= 0)
        r->max_attempts = DEF_ATTEMPTS;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->req = r;
    sk_buf_init(&c->resp.body, r->max_response);
    c->resp.outcome = SK_HTTP_CANCELLED;
    c->submit_t = c->ready_t = mono_s();
    c->state = ST_QUEUED;
    pthread_mutex_lock(&e->mu);
    stop = e->stop;
    if (!stop)
        list_push(&e->incoming, c);
    pthread_mutex_unlock(&e->mu);
    if (stop) {
        /* Too late: completes at once, as a cancelled call. */
        snprintf(c->resp.error, sizeof c->resp.error,
                 "cancelled: the engine shut down");
        c->resp.elapsed_s = 0;
        c->state = ST_DONE;
        c->done = 1;
    } else {
        curl_multi_wakeup(e->multi);
    }
    *out = c;
    return SK_OK;
}

const struct sk_http_response *sk_http_call_wait(struct sk_http_call *c)
{
    pthread_mutex_lock(&c->mu);
    while (!c->done)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    return &c->resp;
}

int sk_http_call_done(struct sk_http_call *c)
{
    int d;
    pthread_mutex_lock(&c->mu);
    d = c->done;
    pthread_mutex_unlock(&c->mu);
    return d;
}

void sk_http_call_free(struct sk_http_call *c)
{
    if (!c)
        return;
    sk_http_call_wait(c);
    headers_clear(&c->resp);
    sk_buf_release(&c->resp.body);
    sk_http_request_free(c->req);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    sk_free(c);
}

int sk_engine_endpoint_cap(struct sk_engine *e, const char *endpoint)
{
    struct endpoint *ep;
    int cap = -1;
    if (!e || !endpoint)
        return -1;
    pthread_mutex_lock(&e->mu);
    for (ep = e->endpoints; ep; ep = ep->next)
        if (strcmp(ep->key, endpoint) == 0) {
            cap = ep->cap;
            break;
        }
    pthread_mutex_unlock(&e->mu);
    return cap;
}
