/*
 * test_sim.c - the in-process OpenAI-compatible server, driven by libcurl:
 * default responder, custom responders, every fault, determinism,
 * concurrency, stopping with requests in flight, loopback-only binding.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm/sim.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"

/* One finished HTTP exchange. */
struct http_result {
    CURLcode code;
    long status;
    struct sk_buf body;
    struct sk_buf headers; /* raw header lines */
    double elapsed_ms;
};

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct sk_buf *b = ud;

    if (sk_buf_append(b, p, size * n))
        return 0;
    return size * n;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static CURL *make_easy(const char *url, const char *method, const char *body,
                       size_t body_len, struct curl_slist *hdrs,
                       struct http_result *r)
{
    CURL *h = curl_easy_init();

    assert_non_null(h);
    sk_buf_init(&r->body, SK_BUF_UNLIMITED);
    sk_buf_init(&r->headers, SK_BUF_UNLIMITED);
    r->status = 0;
    r->code = CURLE_OK;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    return h;
}

static void http_do(const char *url, const char *method, const char *body,
                    struct curl_slist *hdrs, struct http_result *r)
{
    CURL *h = make_easy(url, method, body, body ? strlen(body) : 0, hdrs, r);
    double t0 = now_ms();

    r->code = curl_easy_perform(h);
    r->elapsed_ms = now_ms() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
}

static void result_release(struct http_result *r)
{
    sk_buf_release(&r->body);
    sk_buf_release(&r->headers);
}

static void url_of(struct sk_sim *s, const char *rel, char *buf, size_t cap)
{
    char base[128];

    sk_sim_base_url(s, base, sizeof(base));
    snprintf(buf, cap, "%s%s", base, rel);
}

/* POSTs a one-message chat request to sim and returns the result. */
static void chat(struct sk_sim *s, const char *user, struct http_result *r)
{
    char url[256];
    json_t *req = json_pack("{s:s,s:[{s:s,s:s}]}", "model", "m-test",
                            "messages", "role", "user", "content", user);
    char *body = json_dumps(req, JSON_COMPACT);

    url_of(s, "/chat/completions", url, sizeof(url));
    http_do(url, "POST", body, NULL, r);
    sk_free(body);
    json_decref(req);
}

/* choices[0].message.content of a reply body, new string, or NULL. */
static char *reply_content(const struct http_result *r)
{
    json_t *root = json_loadb(sk_buf_cstr(&r->body), r->body.len, 0, NULL);
    const char *c = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(root, "choices"), 0),
                        "message"),
        "content"));
    char *out = c ? sk_strdup(c) : NULL;

    json_decref(root);
    return out;
}

static void test_sim__start_stop(void **state)
{
    struct sk_sim *s = NULL;
    struct sk_error err;
    char url[128], want[64];

    (void)state;
    assert_int_equal(sk_sim_start(NULL, NULL, NULL, &s, &err), 0);
    assert_non_null(s);
    assert_true(sk_sim_port(s) > 0 && sk_sim_port(s) < 65536);
    sk_sim_base_url(s, url, sizeof(url));
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/v1", sk_sim_port(s));
    assert_string_equal(url, want);
    assert_int_equal(sk_sim_requests(s), 0);
    sk_sim_stop(s);
    sk_sim_stop(NULL);
}

static void test_sim__default_chat_shape(void **state)
{
    static const char body[] =
        "{\"model\":\"gpt-x\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"be brief\"},"
        "{\"role\":\"user\",\"content\":\"first\"},"
        "{\"role\":\"assistant\",\"content\":\"ok\"},"
        "{\"role\":\"user\",\"content\":\"second question\"}]}";
    struct sk_sim *s;
    struct http_result r;
    char url[256];
    json_t *root, *choice, *usage;
    long live0 = sk_alloc_live();

    (void)state;
    assert_int_equal(sk_sim_start(NULL, NULL, NULL, &s, NULL), 0);
    url_of(s, "/chat/completions", url, sizeof(url));
    http_do(url, "POST", body, NULL, &r);
    assert_int_equal(r.code, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers.data, "application/json"));
    root = json_loads(r.body.data, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "object")),
                        "chat.completion");
    assert_string_equal(json_string_value(json_object_get(root, "model")),
                        "gpt-x");
    assert_true(json_is_string(json_object_get(root, "id")));
    assert_true(json_integer_value(json_object_get(root, "created")) > 0);
    choice = json_array_get(json_object_get(root, "choices"), 0);
    assert_int_equal(json_integer_value(json_object_get(choice, "index")), 0);
    assert_string_equal(
        json_string_value(json_object_get(choice, "finish_reason")), "stop");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(choice, "message"), "role")),
                        "assistant");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(choice, "message"), "content")),
                        "echo: second question");
    usage = json_object_get(root, "usage");
    assert_int_equal(
        json_integer_value(json_object_get(usage, "prompt_tokens")),
        (sizeof(body) - 1) / 4);
    assert_int_equal(
        json_integer_value(json_object_get(usage, "completion_tokens")),
        strlen("echo: second question") / 4);
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")),
                     (sizeof(body) - 1) / 4 +
                         strlen("echo: second question") / 4);
    json_decref(root);
    result_release(&r);
    assert_int_equal(sk_sim_requests(s), 1);
    sk_sim_stop(s);
    /* Every block the server and its handlers took is back. */
    assert_int_equal(sk_alloc_live(), live0);
}

static void test_sim__default_content_parts_and_cap(void **state)
{
    static const char parts[] =
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"alpha\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
        "{\"type\":\"text\",\"text\":\"beta\"}]}]}";
    struct sk_sim *s;
    struct http_result r;
    char url[256], *content, longtext[301];

    (void)state;
    assert_int_equal(sk_sim_start(NULL, NULL, NULL, &s, NULL), 0);
    url_of(s, "/chat/completions", url, sizeof(url));
    http_do(url, "POST", parts, NULL, &r);
    assert_int_equal(r.status, 200);
    content = reply_content(&r);
    assert_string_equal(content, "echo: alpha\nbeta");
    sk_free(content);
    result_release(&r);

    /* Only the first 200 bytes are echoed. */
    memset(longtext, 'z', 300);
    longtext[300] = '\0';
    longtext[0] = 'A';
    chat(s, longtext, &r);
    content = reply_content(&r);
    assert_non_null(content);
    assert_int_equal(strlen(content), 6 + 200);
    assert_memory_equal(content, "echo: A", 7);
    sk_free(content);
    result_release(&r);
    sk_sim_stop(s);
}

static void test_sim__default_models_404_400(void **state)
{
    struct sk_sim *s;
    struct http_result r;
    char url[256];
    json_t *root;

    (void)state;
    assert_int_equal(sk_sim_start(NULL, NULL, NULL, &s, NULL), 0);
    url_of(s, "/models", url, sizeof(url));
    http_do(url, "GET", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    root = json_loads(r.body.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "object")),
                        "list");
    assert_true(json_is_string(json_object_get(
        json_array_get(json_object_get(root, "data"), 0), "id")));
    json_decref(root);
    result_release(&r);

    url_of(s, "/nowhere", url, sizeof(url));
    http_do(url, "GET", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    root = json_loads(r.body.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "error"), "type")),
                        "invalid_request_error");
    assert_true(json_is_string(
        json_object_get(json_object_get(root, "error"), "message")));
    json_decref(root);
    result_release(&r);

    url_of(s, "/chat/completions", url, sizeof(url));
    http_do(url, "POST", "{\"model\": ", NULL, &r);
    assert_int_equal(r.status, 400);
    root = json_loads(r.body.data, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "error"), "type")),
                        "invalid_request_error");
    json_decref(root);
    result_release(&r);
    assert_int_equal(sk_sim_requests(s), 3);
    sk_sim_stop(s);
}

/* What the custom responder saw. */
struct seen {
    char method[16];
    char path[128];
    char query[128];
    char xcustom[64];
    char ctype[64];
    int saw_upper; /* a header name with an upper-case letter */
    char body[256];
    size_t body_len;
};

static int custom_responder(void *ud, const struct sk_sim_request *req,
                            struct sk_sim_reply *reply)
{
    static const char out[] = "raw\0bytes, not JSON";
    struct seen *sn = ud;
    size_t i;

    snprintf(sn->method, sizeof(sn->method), "%s", req->method);
    snprintf(sn->path, sizeof(sn->path), "%s", req->path);
    snprintf(sn->query, sizeof(sn->query), "%s", req->query);
    for (i = 0; i < req->n_headers; i++) {
        const char *n = req->header_names[i];
        if (strcmp(n, "x-custom-header") == 0)
            snprintf(sn->xcustom, sizeof(sn->xcustom), "%s",
                     req->header_values[i]);
        if (strcmp(n, "content-type") == 0)
            snprintf(sn->ctype, sizeof(sn->ctype), "%s", req->header_values[i]);
        for (; *n; n++)
            if (*n >= 'A' && *n <= 'Z')
                sn->saw_upper = 1;
    }
    /* No cmocka asserts here: this runs on a server thread. */
    sn->body_len = req->body_len;
    memcpy(sn->body, req->body,
           req->body_len < sizeof(sn->body) ? req->body_len : sizeof(sn->body));

    reply->status = 418;
    reply->content_type = sk_strdup("text/x-sim");
    reply->n_headers = 1;
    reply->header_names = sk_calloc(1, sizeof(char *));
    reply->header_values = sk_calloc(1, sizeof(char *));
    reply->header_names[0] = sk_strdup("X-Reply");
    reply->header_values[0] = sk_strdup("yes indeed");
    reply->body = sk_malloc(sizeof(out) - 1);
    memcpy(reply->body, out, sizeof(out) - 1);
    reply->body_len = sizeof(out) - 1;
    return 0;
}

static void test_sim__custom_responder_verbatim(void **state)
{
    static const char body[] = "{\"k\": [1, 2, 3], \"s\": \"\\u00e9\"}";
    static const char out[] = "raw\0bytes, not JSON";
    struct sk_sim *s;
    struct http_result r;
    struct seen sn;
    struct curl_slist *hdrs = NULL;
    char url[256];

    (void)state;
    memset(&sn, 0, sizeof(sn));
    assert_int_equal(sk_sim_start(custom_responder, &sn, NULL, &s, NULL), 0);
    url_of(s, "/custom/path?a=1&b=two%20x", url, sizeof(url));
    hdrs = curl_slist_append(hdrs, "X-Custom-Header: Value 42");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    http_do(url, "PUT", body, hdrs, &r);
    curl_slist_free_all(hdrs);

    assert_string_equal(sn.method, "PUT");
    assert_string_equal(sn.path, "/v1/custom/path");
    assert_string_equal(sn.query, "a=1&b=two%20x");
    assert_string_equal(sn.xcustom, "Value 42");
    assert_string_equal(sn.ctype, "application/json");
    assert_false(sn.saw_upper);
    assert_int_equal(sn.body_len, sizeof(body) - 1);
    assert_memory_equal(sn.body, body, sizeof(body) - 1);

    assert_int_equal(r.code, CURLE_OK);
    assert_int_equal(r.status, 418);
    assert_non_null(strstr(r.headers.data, "X-Reply: yes indeed\r\n"));
    assert_non_null(strstr(r.headers.data, "Content-Type: text/x-sim\r\n"));
    assert_int_equal(r.body.len, sizeof(out) - 1);
    assert_memory_equal(r.body.data, out, sizeof(out) - 1);
    result_release(&r);
    sk_sim_stop(s);
}

static int failing_responder(void *ud, const struct sk_sim_request *req,
                             struct sk_sim_reply *reply)
{
    (void)ud;
    (void)req;
    reply->body = sk_strdup("half-built");
    return -1;
}

/* Claims a header but gives no arrays: the server must not crash. */
static int sloppy_responder(void *ud, const struct sk_sim_request *req,
                            struct sk_sim_reply *reply)
{
    (void)ud;
    (void)req;
    reply->n_headers = 3;
    reply->status = 201;
    return 0;
}

static void test_sim__sloppy_reply_is_safe(void **state)
{
    struct sk_sim *s;
    struct http_result r;

    (void)state;
    assert_int_equal(sk_sim_start(sloppy_responder, NULL, NULL, &s, NULL), 0);
    chat(s, "x", &r);
    assert_int_equal(r.code, CURLE_OK);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body.len, 0);
    result_release(&r);
    sk_sim_stop(s);
}

static void test_sim__responder_failure_is_500(void **state)
{
    struct sk_sim *s;
    struct http_result r;

    (void)state;
    assert_int_equal(sk_sim_start(failing_responder, NULL, NULL, &s, NULL), 0);
    chat(s, "x", &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body.data, "\"error\""));
    result_release(&r);
    sk_sim_stop(s);
}

enum fault_kind {
    F_LATENCY,
    F_429,
    F_500,
    F_503,
    F_STALL,
    F_TRUNCATE,
    F_MALFORMED,
    F_THINK,
    F_EMPTY
};

static void test_sim__each_fault(void **state)
{
    static const enum fault_kind kinds[] = {F_LATENCY,   F_429,   F_500,
                                            F_503,       F_STALL, F_TRUNCATE,
                                            F_MALFORMED, F_THINK, F_EMPTY};
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(kinds); i++) {
        struct sk_sim_faults f;
        struct sk_sim *s;
        struct http_result r;
        char *content;
        json_t *root;

        memset(&f, 0, sizeof(f));
        f.seed = 7;
        switch (kinds[i]) {
        case F_LATENCY:
            f.latency_ms_min = 200;
            break;
        case F_429:
            f.rate_429 = 1.0;
            f.retry_after_s = 7;
            break;
        case F_500:
            f.rate_500 = 1.0;
            break;
        case F_503:
            f.rate_503 = 1.0;
            break;
        case F_STALL:
            f.rate_stall = 1.0;
            f.stall_ms = 300;
            break;
        case F_TRUNCATE:
            f.rate_truncate = 1.0;
            break;
        case F_MALFORMED:
            f.rate_malformed = 1.0;
            break;
        case F_THINK:
            f.rate_think = 1.0;
            break;
        case F_EMPTY:
            f.rate_empty = 1.0;
            break;
        }
        assert_int_equal(sk_sim_start(NULL, NULL, &f, &s, NULL), 0);
        chat(s, "hi there", &r);
        switch (kinds[i]) {
        case F_LATENCY:
            assert_int_equal(r.status, 200);
            assert_true(r.elapsed_ms >= 190);
            break;
        case F_429:
            assert_int_equal(r.status, 429);
            assert_non_null(strstr(r.headers.data, "Retry-After: 7\r\n"));
            root = json_loads(r.body.data, 0, NULL);
            assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(root, "error"), "code")),
                                "rate_limit_exceeded");
            json_decref(root);
            break;
        case F_500:
            assert_int_equal(r.status, 500);
            assert_non_null(strstr(r.body.data, "\"error\""));
            break;
        case F_503:
            assert_int_equal(r.status, 503);
            break;
        case F_STALL:
            assert_int_equal(r.status, 200);
            assert_true(r.elapsed_ms >= 250);
            break;
        case F_TRUNCATE:
            assert_int_equal(r.code, CURLE_PARTIAL_FILE);
            break;
        case F_MALFORMED:
            assert_int_equal(r.code, CURLE_OK);
            assert_int_equal(r.status, 200);
            assert_true(r.body.len > 0);
            root = json_loadb(r.body.data, r.body.len, 0, NULL);
            assert_null(root);
            break;
        case F_THINK:
            assert_int_equal(r.status, 200);
            content = reply_content(&r);
            assert_non_null(content);
            assert_memory_equal(content, "<think>", 7);
            assert_non_null(strstr(content, "</think>echo: hi there"));
            sk_free(content);
            break;
        case F_EMPTY:
            assert_int_equal(r.status, 200);
            content = reply_content(&r);
            assert_string_equal(content, "");
            sk_free(content);
            break;
        }
        result_release(&r);
        assert_int_equal(sk_sim_requests(s), 1);
        sk_sim_stop(s);
    }
}

/* Answers with a chat completion, or plain text for path /text. */
static int chat_or_text_responder(void *ud, const struct sk_sim_request *req,
                                  struct sk_sim_reply *reply)
{
    (void)ud;
    if (strcmp(req->path, "/v1/text") == 0) {
        reply->body = sk_strdup("plain text");
        reply->body_len = strlen("plain text");
        reply->content_type = sk_strdup("text/plain");
        return 0;
    }
    reply->body = sk_sim_chat_completion("custom", "custom answer", 3, 2);
    reply->body_len = strlen(reply->body);
    return 0;
}

static void test_sim__faults_apply_to_custom_responder(void **state)
{
    struct sk_sim_faults f;
    struct sk_sim *s;
    struct http_result r;
    char url[256], *content;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.rate_think = 1.0;
    assert_int_equal(sk_sim_start(chat_or_text_responder, NULL, &f, &s, NULL),
                     0);
    chat(s, "q", &r);
    assert_int_equal(r.status, 200);
    content = reply_content(&r);
    assert_non_null(content);
    assert_memory_equal(content, "<think>", 7);
    assert_non_null(strstr(content, "</think>custom answer"));
    sk_free(content);
    result_release(&r);

    /* A body that is not a chat reply is left alone. */
    url_of(s, "/text", url, sizeof(url));
    http_do(url, "GET", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "plain text");
    result_release(&r);
    sk_sim_stop(s);
}

/* Statuses of n sequential requests against a server with seed. */
static void status_sequence(uint64_t seed, long *out, size_t n)
{
    struct sk_sim_faults f;
    struct sk_sim *s;
    size_t i;

    memset(&f, 0, sizeof(f));
    f.seed = seed;
    f.rate_429 = 0.2;
    f.rate_500 = 0.3;
    f.rate_truncate = 0.2;
    assert_int_equal(sk_sim_start(NULL, NULL, &f, &s, NULL), 0);
    for (i = 0; i < n; i++) {
        struct http_result r;
        chat(s, "same", &r);
        /* Fold a truncated body into the status so it counts too. */
        out[i] = r.code == CURLE_PARTIAL_FILE ? -r.status : r.status;
        result_release(&r);
    }
    sk_sim_stop(s);
}

static void test_sim__same_seed_same_faults(void **state)
{
    long a[40], b[40], c[40];
    size_t i, n200 = 0, n500 = 0, n429 = 0, ntrunc = 0;

    (void)state;
    status_sequence(1234, a, SK_ARRAY_LEN(a));
    status_sequence(1234, b, SK_ARRAY_LEN(b));
    status_sequence(99, c, SK_ARRAY_LEN(c));
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    for (i = 0; i < SK_ARRAY_LEN(a); i++) {
        n200 += a[i] == 200;
        n500 += a[i] == 500;
        n429 += a[i] == 429;
        ntrunc += a[i] < 0;
    }
    assert_true(n200 > 0 && n500 > 0 && n429 > 0 && ntrunc > 0);
}

/* valgrind preloads its own libraries into the process it runs. */
static int under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");

    return pre && strstr(pre, "vgpreload") != NULL;
}

static void test_sim__concurrent_600(void **state)
{
    int N = 600;
    struct rlimit rl;
    struct sk_sim_faults f;
    struct sk_sim *s;
    struct http_result *res;
    CURL **easy;
    CURLM *multi;
    char url[256], body[128];
    int running = 1, i, n_ok = 0;
    CURLMsg *msg;
    int left;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.latency_ms_min = 20;
    f.latency_ms_mean = 30;
    assert_int_equal(sk_sim_start(NULL, NULL, &f, &s, NULL), 0);
    /* sk_sim_start raised the soft descriptor limit as far as the hard
     * one allows; each request costs two descriptors in this process. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * (rlim_t)N + 128)
        N = (int)((rl.rlim_cur - 128) / 2);
    /* valgrind runs at most 500 threads and the server has one per
     * connection. */
    if (under_valgrind() && N > 300)
        N = 300;
    assert_true(N >= 200);
    url_of(s, "/chat/completions", url, sizeof(url));
    res = sk_calloc(N, sizeof(*res));
    easy = sk_calloc(N, sizeof(*easy));
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)N);
    for (i = 0; i < N; i++) {
        snprintf(body, sizeof(body),
                 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"n%d\"}]}",
                 i);
        easy[i] = make_easy(url, "POST", NULL, 0, NULL, &res[i]);
        curl_easy_setopt(easy[i], CURLOPT_COPYPOSTFIELDS, body);
        curl_easy_setopt(easy[i], CURLOPT_PRIVATE, &res[i]);
        curl_multi_add_handle(multi, easy[i]);
    }
    while (running) {
        assert_int_equal(curl_multi_perform(multi, &running), CURLM_OK);
        if (running)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        struct http_result *r;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        r->code = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
    }
    for (i = 0; i < N; i++) {
        char want[32], *content;
        snprintf(want, sizeof(want), "echo: n%d", i);
        assert_int_equal(res[i].code, CURLE_OK);
        assert_int_equal(res[i].status, 200);
        content = reply_content(&res[i]);
        assert_string_equal(content, want);
        sk_free(content);
        n_ok++;
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        result_release(&res[i]);
    }
    assert_int_equal(n_ok, N);
    assert_int_equal(sk_sim_requests(s), N);
    curl_multi_cleanup(multi);
    sk_free(easy);
    sk_free(res);
    sk_sim_stop(s);
}

struct inflight {
    struct sk_sim *s;
    struct http_result r;
};

static void *inflight_thread(void *arg)
{
    struct inflight *in = arg;
    char url[256];
    CURL *h;

    url_of(in->s, "/chat/completions", url, sizeof(url));
    h = make_easy(
        url, "POST", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        strlen("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), NULL,
        &in->r);
    in->r.code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &in->r.status);
    curl_easy_cleanup(h);
    return NULL;
}

static void test_sim__stop_with_requests_in_flight(void **state)
{
    enum { N = 4 };
    struct sk_sim_faults f;
    struct sk_sim *s;
    struct inflight in[N];
    pthread_t th[N];
    int i, waited;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.rate_stall = 1.0;
    f.stall_ms = 20000;
    assert_int_equal(sk_sim_start(NULL, NULL, &f, &s, NULL), 0);
    for (i = 0; i < N; i++) {
        in[i].s = s;
        assert_int_equal(pthread_create(&th[i], NULL, inflight_thread, &in[i]),
                         0);
    }
    for (waited = 0; sk_sim_requests(s) < N && waited < 10000; waited += 10)
        usleep(10000);
    assert_int_equal(sk_sim_requests(s), N);
    sk_sim_stop(s);
    for (i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        /* Either cut off or answered early; never a hang. */
        assert_true(in[i].r.code != CURLE_OK || in[i].r.status == 200);
        result_release(&in[i].r);
    }
}

static void test_sim__client_disconnect_mid_request(void **state)
{
    struct sk_sim_faults f;
    struct sk_sim *s;
    struct http_result r;
    char url[256];
    CURL *h;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.latency_ms_min = 300;
    assert_int_equal(sk_sim_start(NULL, NULL, &f, &s, NULL), 0);
    url_of(s, "/chat/completions", url, sizeof(url));
    h = make_easy(url, "POST", "{\"messages\":[]}", 14, NULL, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 50L);
    assert_int_equal(curl_easy_perform(h), CURLE_OPERATION_TIMEDOUT);
    curl_easy_cleanup(h);
    result_release(&r);
    /* The server keeps serving after the client went away. */
    chat(s, "still there", &r);
    assert_int_equal(r.status, 200);
    result_release(&r);
    usleep(400000); /* let the abandoned handler finish writing */
    assert_int_equal(sk_sim_requests(s), 2);
    sk_sim_stop(s);
}

/* 0 if a TCP connection to addr:port succeeds, else errno. */
static int try_connect(struct in_addr addr, int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc = 0;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr = addr;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        rc = errno ? errno : -1;
    close(fd);
    return rc;
}

static void test_sim__bound_to_loopback_only(void **state)
{
    struct sk_sim *s;
    struct in_addr a;
    struct ifaddrs *ifs = NULL, *it;

    (void)state;
    assert_int_equal(sk_sim_start(NULL, NULL, NULL, &s, NULL), 0);
    inet_pton(AF_INET, "127.0.0.1", &a);
    assert_int_equal(try_connect(a, sk_sim_port(s)), 0);
    /* A wildcard bind would accept on any other loopback address too. */
    inet_pton(AF_INET, "127.0.0.2", &a);
    assert_int_equal(try_connect(a, sk_sim_port(s)), ECONNREFUSED);
    if (getifaddrs(&ifs) == 0) {
        for (it = ifs; it; it = it->ifa_next) {
            struct sockaddr_in *sin = (struct sockaddr_in *)it->ifa_addr;
            if (!sin || sin->sin_family != AF_INET ||
                (ntohl(sin->sin_addr.s_addr) >> 24) == 127)
                continue;
            assert_int_not_equal(try_connect(sin->sin_addr, sk_sim_port(s)), 0);
        }
        freeifaddrs(ifs);
    }
    sk_sim_stop(s);
}

static void test_sim__chat_completion_helper(void **state)
{
    char *text = sk_sim_chat_completion("mm", "hello", 10, 4);
    json_t *root;

    (void)state;
    assert_non_null(text);
    root = json_loads(text, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "model")),
                        "mm");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(root, "usage"), "total_tokens")),
                     14);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(root, "choices"), 0),
                            "message"),
            "content")),
        "hello");
    json_decref(root);
    sk_free(text);
}

static int group_setup(void **state)
{
    (void)state;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim__start_stop),
        cmocka_unit_test(test_sim__default_chat_shape),
        cmocka_unit_test(test_sim__default_content_parts_and_cap),
        cmocka_unit_test(test_sim__default_models_404_400),
        cmocka_unit_test(test_sim__custom_responder_verbatim),
        cmocka_unit_test(test_sim__responder_failure_is_500),
        cmocka_unit_test(test_sim__sloppy_reply_is_safe),
        cmocka_unit_test(test_sim__each_fault),
        cmocka_unit_test(test_sim__faults_apply_to_custom_responder),
        cmocka_unit_test(test_sim__same_seed_same_faults),
        cmocka_unit_test(test_sim__concurrent_600),
        cmocka_unit_test(test_sim__stop_with_requests_in_flight),
        cmocka_unit_test(test_sim__client_disconnect_mid_request),
        cmocka_unit_test(test_sim__bound_to_loopback_only),
        cmocka_unit_test(test_sim__chat_completion_helper),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
