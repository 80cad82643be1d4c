/*
 * test_provider.c - provider dialects: exact requests (URL, headers, body,
 * canonical JSON) per dialect, reply parsing from recorded reply shapes,
 * <think> splitting, key hygiene, allocation failures, and Azure Entra
 * tokens through a fake `az` on PATH.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "llm/http.h"
#include "llm/llm.h"
#include "llm/provider.h"
#include "llm/sim.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#define KEY "sk-test-SECRET-0001"
#define IMG_TEXT "What is in this picture?"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmpdir);
    sk_free(tmpdir);
    sk_log_clear_secrets();
    sk_azure_token_cache_clear();
    return 0;
}

static char *fixture(const char *name, size_t *len)
{
    char rel[256], *path, *text;
    snprintf(rel, sizeof rel, "tests/fixtures/provider/%s", name);
    path = tu_source_path(rel);
    text = tu_read(path, len);
    if (!text)
        fail_msg("cannot read %s", path);
    sk_free(path);
    return text;
}

static json_t *fixture_json(const char *name)
{
    size_t len;
    char *text = fixture(name, &len);
    json_t *j = json_loadb(text, len, 0, NULL);
    sk_free(text);
    assert_non_null(j);
    return j;
}

/* A role filled by hand (the role resolver has its own tests). */
static void make_rc(struct sk_role_cfg *rc, const char *backend,
                    enum sk_dialect d, const char *model, const char *base,
                    const char *key)
{
    sk_role_cfg_init(rc);
    rc->backend = sk_strdup(backend);
    rc->dialect = d;
    rc->model = sk_strdup(model);
    rc->base_url = sk_strdup(base);
    rc->api_key = sk_strdup(key);
    rc->api_version = sk_strdup("");
    rc->auth_mode = sk_strdup("");
    rc->ad_scope = sk_strdup("");
    rc->mi_client_id = sk_strdup("");
    rc->reasoning_effort = sk_strdup("medium");
    rc->thinking_mode = sk_strdup("server_default");
    rc->max_tokens = 16384;
    rc->timeout_ms = 600000;
}

static void set_field(char **f, const char *v)
{
    sk_free(*f);
    *f = sk_strdup(v);
}

/* ---- requests ------------------------------------------------------- */

struct build_case {
    const char *name; /* key in requests.json */
    const char *backend;
    enum sk_dialect dialect;
    const char *model;
    const char *base;
    const char *key;
    const char *api_version;
    const char *effort;
    const char *thinking;
    double temperature;
    long req_max;
    int want_json;
    int budget;
    int images;
    int no_system;
};

static const unsigned char png[] = {'a', 'b', 'c'};
static const struct sk_llm_image images[] = {
    {"image/png", png, sizeof png, NULL, "high"},
    {NULL, NULL, 0, "https://example.com/p.jpg", NULL}};

static const struct build_case build_cases[] = {
    {"openai_chat_json", "openai_chat", SK_DIALECT_OPENAI_CHAT, "gpt-4o",
     "https://api.openai.com/v1", KEY, "", "medium", "server_default", NAN, 0,
     1, 0, 0, 0},
    {"openai_chat_temp", "openai_chat", SK_DIALECT_OPENAI_CHAT, "gpt-4o",
     "https://api.openai.com/v1", KEY, "", "", "server_default", 0.25, 500, 0,
     0, 0, 0},
    {"openai_responses", "openai_chat", SK_DIALECT_OPENAI_RESPONSES, "o4-mini",
     "https://api.openai.com/v1/", KEY, "", "medium", "server_default", NAN, 0,
     1, 0, 0, 0},
    {"azure_chat", "openai_chat", SK_DIALECT_AZURE_CHAT, "gpt-4o-prod",
     "https://res.openai.azure.com/", KEY, "2024-12-01-preview", "medium",
     "server_default", NAN, 0, 0, 0, 0, 0},
    {"azure_responses", "openai_chat", SK_DIALECT_AZURE_RESPONSES,
     "gpt-5-codex", "https://res.openai.azure.com", KEY, "2025-04-01-preview",
     "medium", "server_default", NAN, 0, 0, 0, 0, 0},
    {"azure_v1_chat", "openai_chat", SK_DIALECT_AZURE_CHAT, "gpt-4o-prod",
     "https://res.openai.azure.com/openai/v1/", KEY, "v1", "medium",
     "server_default", NAN, 0, 0, 0, 0, 0},
    {"azure_v1_responses", "openai_chat", SK_DIALECT_AZURE_RESPONSES,
     "gpt-5-codex", "https://res.openai.azure.com", KEY, "v1", "medium",
     "server_default", NAN, 0, 0, 0, 0, 0},
    {"anthropic_thinking", "claude_chat", SK_DIALECT_ANTHROPIC,
     "claude-sonnet-4-6", "https://api.anthropic.com", KEY, "", "medium",
     "server_default", 0.3, 0, 1, 2048, 0, 0},
    {"anthropic_temp", "claude_chat", SK_DIALECT_ANTHROPIC, "claude-sonnet-4-6",
     "https://proxy.example/v1/", KEY, "", "medium", "server_default", 0.5,
     1000, 0, 0, 0, 1},
    {"compat_nokey", "openai_compatible", SK_DIALECT_COMPAT, "Qwen/Qwen3.5-4B",
     "http://localhost:8000/v1", "", "", "medium", "server_default", NAN, 64000,
     1, 0, 0, 0},
    {"qwen_thinking_off", "qwen_chat", SK_DIALECT_COMPAT, "Qwen/Qwen3.5-4B",
     "http://gpu:8000/v1/chat/completions", KEY, "", "medium", "disabled", 0.7,
     0, 0, 0, 0, 0},
    {"minimax_adaptive", "minimax_chat", SK_DIALECT_COMPAT, "MiniMax-M3",
     "https://api.minimax.io/v1", KEY, "", "medium", "enabled", 0.7, 0, 0, 0, 0,
     0},
    {"openai_images", "openai_chat", SK_DIALECT_OPENAI_CHAT, "gpt-4o",
     "https://api.openai.com/v1", KEY, "", "medium", "server_default", NAN, 0,
     0, 0, 1, 0},
    {"responses_images", "openai_chat", SK_DIALECT_OPENAI_RESPONSES, "o4-mini",
     "https://api.openai.com/v1", KEY, "", "medium", "server_default", NAN, 0,
     0, 0, 1, 0},
    {"anthropic_images", "claude_chat", SK_DIALECT_ANTHROPIC,
     "claude-sonnet-4-6", "https://api.anthropic.com", KEY, "", "medium",
     "server_default", NAN, 0, 0, 0, 1, 0},
};

static void case_rc(const struct build_case *bc, struct sk_role_cfg *rc)
{
    make_rc(rc, bc->backend, bc->dialect, bc->model, bc->base, bc->key);
    set_field(&rc->api_version, bc->api_version);
    set_field(&rc->auth_mode, *bc->key ? "api_key" : "");
    set_field(&rc->reasoning_effort, bc->effort);
    set_field(&rc->thinking_mode, bc->thinking);
    rc->temperature = bc->temperature;
    rc->anthropic_thinking_budget = bc->budget;
}

static void case_req(const struct build_case *bc, struct sk_llm_request *req,
                     struct sk_llm_message *msg)
{
    memset(req, 0, sizeof *req);
    memset(msg, 0, sizeof *msg);
    msg->role = "user";
    msg->content = bc->images ? IMG_TEXT : "Hi";
    if (bc->images) {
        msg->images = images;
        msg->n_images = SK_ARRAY_LEN(images);
    }
    req->system = bc->no_system ? NULL : "Be terse.";
    req->messages = msg;
    req->n_messages = 1;
    req->max_tokens = bc->req_max;
    req->want_json = bc->want_json;
    req->stage = "analyst";
}

static const char *req_header(const struct sk_http_request *r, const char *name)
{
    size_t i;
    for (i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void test_provider__build_table(void **state)
{
    json_t *all = fixture_json("requests.json");
    size_t i;
    (void)state;

    for (i = 0; i < SK_ARRAY_LEN(build_cases); i++) {
        const struct build_case *bc = &build_cases[i];
        json_t *want = json_object_get(all, bc->name), *hdrs, *body, *wrap;
        struct sk_role_cfg rc;
        struct sk_llm_request req;
        struct sk_llm_message msg;
        struct sk_http_request *hr = NULL;
        struct sk_error err;
        char *canon, *want_canon;
        const char *hn;
        json_t *hv;
        size_t j;

        if (!want)
            fail_msg("%s: not in requests.json", bc->name);
        case_rc(bc, &rc);
        case_req(bc, &req, &msg);
        if (sk_provider_build(&rc, &req, &hr, &err) != SK_OK)
            fail_msg("%s: build failed: %s", bc->name, err.msg);
        assert_string_equal(hr->method, "POST");
        if (strcmp(hr->url, json_string_value(json_object_get(want, "url"))))
            fail_msg("%s: url %s", bc->name, hr->url);
        hdrs = json_object_get(want, "headers");
        json_object_foreach(hdrs, hn, hv)
        {
            const char *got = req_header(hr, hn);
            if (!got || strcmp(got, json_string_value(hv)) != 0)
                fail_msg("%s: header %s = %s", bc->name, hn,
                         got ? got : "(absent)");
        }
        json_array_foreach(json_object_get(want, "absent"), j, hv)
        {
            if (req_header(hr, json_string_value(hv)))
                fail_msg("%s: header %s present", bc->name,
                         json_string_value(hv));
        }
        /* The key travels only in the header marked secret. */
        if (*bc->key) {
            assert_true(hr->secret_header > 0);
            assert_non_null(
                strstr(hr->headers[hr->secret_header - 1].value, KEY));
        } else {
            assert_int_equal(hr->secret_header, 0);
        }
        assert_int_equal(hr->total_timeout_ms, 600000);
        assert_true(hr->est_tokens > 0);
        body = json_loadb(hr->body, hr->body_len, 0, NULL);
        assert_non_null(body);
        if (!json_equal(body, json_object_get(want, "body"))) {
            char *got = json_dumps(body, JSON_SORT_KEYS | JSON_COMPACT);
            fail_msg("%s: body %s", bc->name, got);
        }
        assert_null(strstr(hr->body, KEY));
        json_decref(body);

        canon = sk_provider_canonical(&rc, &req);
        assert_non_null(canon);
        wrap = json_pack("{s:s, s:s, s:s, s:O}", "dialect",
                         provider_dialect_name(bc->dialect), "base_url",
                         bc->base, "model", bc->model, "body",
                         json_object_get(want, "body"));
        want_canon = json_dumps(wrap, JSON_SORT_KEYS | JSON_COMPACT |
                                          JSON_REAL_PRECISION(15));
        if (strcmp(canon, want_canon) != 0)
            fail_msg("%s: canonical\n%s\nwant\n%s", bc->name, canon,
                     want_canon);
        assert_null(strstr(canon, KEY));
        sk_free(canon);
        sk_free(want_canon);
        json_decref(wrap);
        sk_http_request_free(hr);
        sk_role_cfg_release(&rc);
    }
    json_decref(all);
}

static void test_provider__canonical_tracks_inputs(void **state)
{
    struct sk_role_cfg rc;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    char *a, *b, *c;
    (void)state;

    case_rc(&build_cases[0], &rc);
    case_req(&build_cases[0], &req, &msg);
    a = sk_provider_canonical(&rc, &req);
    req.timeout_ms = 5; /* transport settings are not part of the key */
    req.sample_index = 3;
    b = sk_provider_canonical(&rc, &req);
    assert_string_equal(a, b);
    msg.content = "Hi!";
    c = sk_provider_canonical(&rc, &req);
    assert_string_not_equal(a, c);
    sk_free(a);
    sk_free(b);
    sk_free(c);
    sk_role_cfg_release(&rc);
}

/* ---- replies -------------------------------------------------------- */

static void make_resp(struct sk_http_response *r, long status, const char *body,
                      size_t len)
{
    memset(r, 0, sizeof *r);
    r->outcome = status >= 200 && status < 300 ? SK_HTTP_OK : SK_HTTP_STATUS;
    r->status = status;
    r->attempts = 1;
    sk_buf_init(&r->body, SK_BUF_UNLIMITED);
    if (len)
        assert_int_equal(sk_buf_append(&r->body, body, len), SK_OK);
}

struct parse_case {
    const char *fixture;
    const char *backend;
    enum sk_dialect dialect;
    long status;
    int want;
    const char *text;
    const char *reasoning; /* NULL: none */
    const char *finish;    /* NULL: none */
    const char *refusal;   /* NULL: none */
    int usage_known;
    uint64_t prompt, completion, cached, reasoning_tokens;
    const char *error; /* expected res->error (exact) for failures */
};

static const struct parse_case parse_cases[] = {
    {"openai_chat_ok.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 200, SK_OK,
     "{\"edits\": []}", NULL, "stop", NULL, 1, 1117, 46, 1024, 32, NULL},
    {"openai_chat_ok.json", "openai_chat", SK_DIALECT_AZURE_CHAT, 200, SK_OK,
     "{\"edits\": []}", NULL, "stop", NULL, 1, 1117, 46, 1024, 32, NULL},
    {"openai_chat_length.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 200,
     SK_OK, "The answer is trunc", NULL, "length", NULL, 1, 20, 16, 0, 0, NULL},
    {"openai_chat_nousage.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 200,
     SK_OK, "hello", NULL, "stop", NULL, 0, 0, 0, 0, 0, NULL},
    {"openai_chat_refusal.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 200,
     SK_OK, "", NULL, "stop", "I'm sorry, I can't assist with that request.", 1,
     30, 12, 0, 0, NULL},
    {"openai_error_400.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 400,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_chat gpt-4o: HTTP 400: Unsupported parameter: 'max_tokens' is "
     "not supported with this model. Use 'max_completion_tokens' instead."},
    {"openai_error_401.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 401,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_chat gpt-4o: HTTP 401: Incorrect API key provided: "
     "sk-proj-********************SECRETKEY. You can find your API key at "
     "https://platform.openai.com/account/api-keys."},
    {"openai_error_429.json", "openai_chat", SK_DIALECT_OPENAI_RESPONSES, 429,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_chat gpt-4o: HTTP 429: Rate limit reached for gpt-4o in "
     "organization org-abc on tokens per min (TPM): Limit 30000, Used 29000, "
     "Requested 2000. Please try again in 2s."},
    {"azure_error_500.json", "openai_chat", SK_DIALECT_AZURE_CHAT, 500,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_chat gpt-4o: HTTP 500: The server had an error while processing "
     "your request. Sorry about that!"},
    {"not_json_200.txt", "openai_chat", SK_DIALECT_OPENAI_CHAT, 200,
     SK_LLM_EREPLY, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_chat gpt-4o: HTTP 200: reply is not a JSON object: "
     "<html><body>502 Bad Gateway (nginx)</body></html> "},
    {"not_json_200.txt", "openai_compatible", SK_DIALECT_COMPAT, 502,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_compatible gpt-4o: HTTP 502: <html><body>502 Bad Gateway "
     "(nginx)</body></html> "},
    {"responses_ok.json", "openai_chat", SK_DIALECT_OPENAI_RESPONSES, 200,
     SK_OK, "Paris", "Compared the options.", "stop", NULL, 1, 328, 52, 256, 40,
     NULL},
    {"responses_ok.json", "openai_chat", SK_DIALECT_AZURE_RESPONSES, 200, SK_OK,
     "Paris", "Compared the options.", "stop", NULL, 1, 328, 52, 256, 40, NULL},
    {"responses_incomplete.json", "openai_chat", SK_DIALECT_OPENAI_RESPONSES,
     200, SK_OK, "", NULL, "length", NULL, 1, 10, 64, 0, 64, NULL},
    {"responses_refusal.json", "openai_chat", SK_DIALECT_OPENAI_RESPONSES, 200,
     SK_OK, "", NULL, "stop", "I can't help with that.", 1, 9, 7, 0, 0, NULL},
    {"openai_chat_ok.json", "openai_chat", SK_DIALECT_OPENAI_RESPONSES, 200,
     SK_LLM_EREPLY, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_chat gpt-4o: HTTP 200: reply has no output"},
    {"anthropic_ok.json", "claude_chat", SK_DIALECT_ANTHROPIC, 200, SK_OK,
     "Hi! My name is Claude.", "The user wants a short answer.", "stop", NULL,
     1, 2095 + 100 + 1800, 503, 1800, 0, NULL},
    {"anthropic_max_tokens.json", "claude_chat", SK_DIALECT_ANTHROPIC, 200,
     SK_OK, "Once upon a", NULL, "length", NULL, 1, 12, 3, 0, 0, NULL},
    {"anthropic_refusal.json", "claude_chat", SK_DIALECT_ANTHROPIC, 200, SK_OK,
     "", NULL, "content_filter", "refused", 1, 12, 0, 0, 0, NULL},
    {"anthropic_error_401.json", "claude_chat", SK_DIALECT_ANTHROPIC, 401,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "claude_chat gpt-4o: HTTP 401: invalid x-api-key"},
    {"anthropic_error_429.json", "claude_chat", SK_DIALECT_ANTHROPIC, 429,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "claude_chat gpt-4o: HTTP 429: Number of request tokens has exceeded "
     "your per-minute rate limit"},
    {"anthropic_error_500.json", "claude_chat", SK_DIALECT_ANTHROPIC, 500,
     SK_LLM_EPROVIDER, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "claude_chat gpt-4o: HTTP 500: Internal server error"},
    {"openai_chat_ok.json", "claude_chat", SK_DIALECT_ANTHROPIC, 200,
     SK_LLM_EREPLY, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "claude_chat gpt-4o: HTTP 200: reply has no content blocks"},
    {"compat_think.json", "qwen_chat", SK_DIALECT_COMPAT, 200, SK_OK, "4",
     "The user asks 2+2.", "stop", NULL, 1, 14, 20, 0, 0, NULL},
    /* Only the compat dialect strips tags: OpenAI answers are verbatim. */
    {"compat_think.json", "openai_chat", SK_DIALECT_OPENAI_CHAT, 200, SK_OK,
     "<think>\nThe user asks 2+2.\n</think>\n\n4", NULL, "stop", NULL, 1, 14,
     20, 0, 0, NULL},
    {"compat_reasoning_content.json", "qwen_chat", SK_DIALECT_COMPAT, 200,
     SK_OK, "4", "Simple arithmetic.", "stop", NULL, 1, 14, 20, 0, 0, NULL},
    {"anthropic_ok.json", "openai_compatible", SK_DIALECT_COMPAT, 200,
     SK_LLM_EREPLY, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
     "openai_compatible gpt-4o: HTTP 200: reply has no choices[0].message"},
};

static void check_str(const char *what, const char *fx, const char *got,
                      const char *want)
{
    if (!want && !got)
        return;
    if (!want || !got || strcmp(got, want) != 0)
        fail_msg("%s: %s = '%s', want '%s'", fx, what, got ? got : "(null)",
                 want ? want : "(null)");
}

static void test_provider__parse_table(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; i < SK_ARRAY_LEN(parse_cases); i++) {
        const struct parse_case *pc = &parse_cases[i];
        struct sk_role_cfg rc;
        struct sk_http_response resp;
        struct sk_llm_result res;
        size_t len;
        char *body = fixture(pc->fixture, &len);
        int st;

        make_rc(&rc, pc->backend, pc->dialect, "gpt-4o", "https://x", KEY);
        make_resp(&resp, pc->status, body, len);
        sk_llm_result_init(&res);
        st = sk_provider_parse(&rc, &resp, &res);
        if (st != pc->want)
            fail_msg("%s (%d): status %d want %d (%s)", pc->fixture, (int)i, st,
                     pc->want, res.error);
        assert_int_equal(res.status, st);
        assert_int_equal(res.http_status, pc->status);
        if (st == SK_OK) {
            check_str("text", pc->fixture, res.text, pc->text);
            check_str("reasoning", pc->fixture, res.reasoning, pc->reasoning);
            check_str("finish", pc->fixture, res.finish_reason, pc->finish);
            check_str("refusal", pc->fixture, res.refusal, pc->refusal);
            assert_int_equal(res.usage.usage_known, pc->usage_known);
            assert_int_equal(res.usage.prompt_tokens, pc->prompt);
            assert_int_equal(res.usage.completion_tokens, pc->completion);
            assert_int_equal(res.usage.cached_tokens, pc->cached);
            assert_int_equal(res.usage.reasoning_tokens, pc->reasoning_tokens);
        } else {
            check_str("error", pc->fixture, res.error, pc->error);
        }
        sk_llm_result_release(&res);
        sk_buf_release(&resp.body);
        sk_role_cfg_release(&rc);
        sk_free(body);
    }
}

static void test_provider__transport_outcomes(void **state)
{
    static const struct {
        enum sk_http_outcome o;
        int want;
    } t[] = {{SK_HTTP_TIMEOUT, SK_LLM_ETIMEOUT},
             {SK_HTTP_TRANSPORT, SK_LLM_ETRANSPORT},
             {SK_HTTP_CANCELLED, SK_LLM_ETRANSPORT},
             {SK_HTTP_TOOBIG, SK_LLM_EREPLY}};
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(t); i++) {
        struct sk_role_cfg rc;
        struct sk_http_response resp;
        struct sk_llm_result res;
        make_rc(&rc, "openai_chat", SK_DIALECT_OPENAI_CHAT, "gpt-4o",
                "https://x", KEY);
        make_resp(&resp, 0, NULL, 0);
        resp.outcome = t[i].o;
        snprintf(resp.error, sizeof resp.error, "connection reset");
        sk_llm_result_init(&res);
        assert_int_equal(sk_provider_parse(&rc, &resp, &res), t[i].want);
        assert_non_null(strstr(res.error, "openai_chat gpt-4o: "));
        sk_llm_result_release(&res);
        sk_buf_release(&resp.body);
        sk_role_cfg_release(&rc);
    }
}

/* A gateway that echoes the key back must not leak it into res->error. */
static void test_provider__error_never_contains_key(void **state)
{
    static const char *const bodies[] = {
        "{\"error\":{\"message\":\"Incorrect API key provided: " KEY "\"}}",
        "bad key " KEY " rejected",
        "{\"type\":\"error\",\"error\":{\"type\":"
        "\"authentication_error\",\"message\":"
        "\"key " KEY " is invalid\"}}"};
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(bodies); i++) {
        struct sk_role_cfg rc;
        struct sk_http_response resp;
        struct sk_llm_result res;
        make_rc(&rc, "claude_chat",
                i == 2 ? SK_DIALECT_ANTHROPIC : SK_DIALECT_OPENAI_CHAT, "m",
                "https://x", KEY);
        make_resp(&resp, 401, bodies[i], strlen(bodies[i]));
        sk_llm_result_init(&res);
        assert_int_equal(sk_provider_parse(&rc, &resp, &res), SK_LLM_EPROVIDER);
        assert_null(strstr(res.error, KEY));
        assert_non_null(strstr(res.error, "[REDACTED]"));
        assert_non_null(strstr(res.error, "claude_chat m: HTTP 401: "));
        sk_llm_result_release(&res);
        sk_buf_release(&resp.body);
        sk_role_cfg_release(&rc);
    }
}

/* ---- <think> splitting ---------------------------------------------- */

static void test_provider__split_think(void **state)
{
    static const struct {
        const char *in, *answer, *reasoning;
    } t[] = {
        {"<think>a</think>b", "b", "a"},
        {"x <think>a</think> y <think>b</think>z", "x  y z", "a\nb"},
        {"reason</think>\n\nanswer", "answer", "reason"},
        {"ans <think>unclosed", "ans", "unclosed"},
        {"no tags here ", "no tags here ", ""},
        {"", "", ""},
        {"<think></think>", "", ""},
        {"a</think>b<think>c</think>d", "bd", "a\nc"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(t); i++) {
        char *a, *r;
        assert_int_equal(provider_split_think(t[i].in, &a, &r), SK_OK);
        check_str("answer", t[i].in, a, t[i].answer);
        check_str("reasoning", t[i].in, r, t[i].reasoning);
        sk_free(a);
        sk_free(r);
    }
}

/* ---- allocation failures ------------------------------------------- */

struct sweep_ctx {
    char *ok_body, *err_body, *resp_body, *anth_body, *think_body;
    size_t ok_len, err_len, resp_len, anth_len, think_len;
};

static int sweep_one(const struct build_case *bc, const char *body, size_t len,
                     long status, int want)
{
    struct sk_role_cfg rc;
    struct sk_llm_request req;
    struct sk_llm_message msg;
    struct sk_http_request *hr = NULL;
    struct sk_http_response resp;
    struct sk_llm_result res;
    struct sk_error err;
    char *canon;
    int st, bad = 0;

    /* The role itself is set up without injected failures. */
    case_rc(bc, &rc);
    if (!rc.backend || !rc.model || !rc.base_url || !rc.api_key ||
        !rc.api_version || !rc.auth_mode || !rc.reasoning_effort ||
        !rc.thinking_mode) {
        sk_role_cfg_release(&rc);
        return SK_ENOMEM;
    }
    case_req(bc, &req, &msg);
    st = sk_provider_build(&rc, &req, &hr, &err);
    if (st != SK_OK)
        bad = st;
    sk_http_request_free(hr);
    canon = sk_provider_canonical(&rc, &req);
    if (!canon)
        bad = SK_ENOMEM;
    sk_free(canon);
    memset(&resp, 0, sizeof resp);
    resp.outcome = status == 200 ? SK_HTTP_OK : SK_HTTP_STATUS;
    resp.status = status;
    resp.body.data = (char *)body; /* borrowed; never released here */
    resp.body.len = len;
    sk_llm_result_init(&res);
    st = sk_provider_parse(&rc, &resp, &res);
    if (st != want)
        bad = st ? st : SK_ENOMEM;
    sk_llm_result_release(&res);
    sk_role_cfg_release(&rc);
    return bad;
}

static int sweep_body(void *vctx)
{
    struct sweep_ctx *c = vctx;
    int st;
    /* images in every dialect family, plus error and think paths */
    st = sweep_one(&build_cases[12], c->ok_body, c->ok_len, 200, SK_OK);
    if (!st)
        st = sweep_one(&build_cases[13], c->resp_body, c->resp_len, 200, SK_OK);
    if (!st)
        st = sweep_one(&build_cases[14], c->anth_body, c->anth_len, 200, SK_OK);
    if (!st)
        st = sweep_one(&build_cases[10], c->think_body, c->think_len, 200,
                       SK_OK);
    if (!st)
        st = sweep_one(&build_cases[3], c->err_body, c->err_len, 429,
                       SK_LLM_EPROVIDER);
    return st;
}

static void test_provider__alloc_sweep(void **state)
{
    struct sweep_ctx c;
    int runs;
    (void)state;
    c.ok_body = fixture("openai_chat_ok.json", &c.ok_len);
    c.err_body = fixture("openai_error_429.json", &c.err_len);
    c.resp_body = fixture("responses_ok.json", &c.resp_len);
    c.anth_body = fixture("anthropic_ok.json", &c.anth_len);
    c.think_body = fixture("compat_think.json", &c.think_len);
    runs = tu_alloc_sweep(sweep_body, &c);
    assert_true(runs > 50);
    sk_free(c.ok_body);
    sk_free(c.err_body);
    sk_free(c.resp_body);
    sk_free(c.anth_body);
    sk_free(c.think_body);
}

/* ---- Azure Entra tokens --------------------------------------------- */

/* Writes an `az` script into tmpdir that counts its runs and prints
 * reply (a shell word list allowed) when its arguments are right. */
static void write_az(const char *reply)
{
    char *path, text[2048];
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "n=$(cat '%s/count' 2>/dev/null || echo 0)\n"
             "echo $((n + 1)) > '%s/count'\n"
             "if [ \"$*\" != \"account get-access-token --resource "
             "https://cognitiveservices.azure.com -o json\" ]; then\n"
             "  echo \"bad args: $*\" >&2; exit 2\n"
             "fi\n"
             "%s\n",
             tmpdir, tmpdir, reply);
    path = tu_write(tmpdir, "az", text);
    assert_int_equal(chmod(path, 0755), 0);
    sk_free(path);
}

static int az_count(void)
{
    char *path = NULL, *text;
    int n;
    size_t len = strlen(tmpdir) + 8;
    path = sk_malloc(len);
    snprintf(path, len, "%s/count", tmpdir);
    text = tu_read(path, NULL);
    sk_free(path);
    if (!text)
        return 0;
    n = (int)strtol(text, NULL, 10);
    sk_free(text);
    return n;
}

static void with_tmp_path(void)
{
    const char *old = getenv("PATH");
    size_t len = strlen(tmpdir) + (old ? strlen(old) : 0) + 2;
    char *p = sk_malloc(len);
    snprintf(p, len, "%s:%s", tmpdir, old ? old : "/usr/bin:/bin");
    setenv("PATH", p, 1);
    sk_free(p);
}

static void azure_rc(struct sk_role_cfg *rc)
{
    make_rc(rc, "openai_chat", SK_DIALECT_AZURE_CHAT, "gpt-4o-prod",
            "https://res.openai.azure.com", "");
    set_field(&rc->api_version, "2024-12-01-preview");
    set_field(&rc->auth_mode, "azure_cli");
    set_field(&rc->ad_scope, "https://cognitiveservices.azure.com/.default");
}

static void test_provider__azure_cli_token_cached(void **state)
{
    struct sk_role_cfg rc;
    struct sk_error err;
    char *tok = NULL, *old_path = sk_strdup(getenv("PATH"));
    (void)state;

    sk_azure_token_cache_clear();
    write_az("echo '{\"accessToken\": \"eyJ0eXAi.fake-token-1\", "
             "\"expiresOn\": \"2099-01-01 00:00:00.000000\", "
             "\"expires_on\": 4070908800, \"tokenType\": \"Bearer\"}'");
    with_tmp_path();
    azure_rc(&rc);
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    assert_string_equal(tok, "eyJ0eXAi.fake-token-1");
    sk_free(tok);
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    assert_string_equal(tok, "eyJ0eXAi.fake-token-1");
    sk_free(tok);
    assert_int_equal(az_count(), 1); /* second call served from the cache */
    {
        /* the request carries the token as a bearer, never an api-key */
        struct sk_llm_request req;
        struct sk_llm_message msg;
        struct sk_http_request *hr = NULL;
        case_req(&build_cases[3], &req, &msg);
        assert_int_equal(sk_provider_build(&rc, &req, &hr, &err), SK_OK);
        assert_string_equal(req_header(hr, "Authorization"),
                            "Bearer eyJ0eXAi.fake-token-1");
        assert_null(req_header(hr, "api-key"));
        assert_int_equal(hr->secret_header, 2);
        sk_http_request_free(hr);
    }
    assert_int_equal(az_count(), 1);
    /* the token is now a registered secret */
    {
        char line[128];
        snprintf(line, sizeof line, "token eyJ0eXAi.fake-token-1 here");
        sk_log_redact(line, sizeof line);
        assert_string_equal(line, "token [REDACTED] here");
    }
    sk_azure_token_cache_clear();
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    sk_free(tok);
    assert_int_equal(az_count(), 2);

    /* expiresOn only (older CLIs): local time, still cached */
    sk_azure_token_cache_clear();
    write_az("echo '{\"accessToken\": \"tok-local-time\", "
             "\"expiresOn\": \"2099-01-01 00:00:00.000000\"}'");
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    assert_string_equal(tok, "tok-local-time");
    sk_free(tok);
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    sk_free(tok);
    assert_int_equal(az_count(), 3);

    /* a token that expires within 300 s is refetched every time */
    sk_azure_token_cache_clear();
    write_az("echo \"{\\\"accessToken\\\": \\\"tok-short\\\", "
             "\\\"expires_on\\\": $(( $(date +%s) + 100 ))}\"");
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    assert_string_equal(tok, "tok-short");
    sk_free(tok);
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    sk_free(tok);
    assert_int_equal(az_count(), 5);

    /* a failing CLI is an auth error that says what to do */
    sk_azure_token_cache_clear();
    write_az("echo \"ERROR: Please run 'az login' to setup account.\" >&2; "
             "exit 1");
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_LLM_EAUTH);
    assert_null(tok);
    assert_non_null(strstr(err.msg, "az login"));
    assert_non_null(strstr(err.msg, "exit 1"));

    /* no az on PATH */
    setenv("PATH", "/nonexistent", 1);
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_LLM_EAUTH);
    assert_non_null(strstr(err.msg, "cannot run az"));

    setenv("PATH", old_path, 1);
    sk_free(old_path);
    sk_role_cfg_release(&rc);
}

/* App Service style managed identity: the token endpoint and its header
 * come from IDENTITY_ENDPOINT / IDENTITY_HEADER; here a local server. */
struct mi_seen {
    int calls;
    char query[512];
    char header[128];
    int fail;
};

static int mi_responder(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply)
{
    struct mi_seen *m = ud;
    size_t i;
    m->calls++;
    snprintf(m->query, sizeof m->query, "%s", req->query);
    for (i = 0; i < req->n_headers; i++)
        if (strcmp(req->header_names[i], "x-identity-header") == 0)
            snprintf(m->header, sizeof m->header, "%s", req->header_values[i]);
    if (m->fail) {
        reply->status = 400;
        reply->body = sk_strdup("{\"error\":\"invalid_request\"}");
    } else {
        reply->body = sk_strdup("{\"access_token\":\"mi-token-XYZ123\","
                                "\"expires_on\":\"4070908800\","
                                "\"token_type\":\"Bearer\"}");
    }
    reply->body_len = strlen(reply->body);
    return 0;
}

static void test_provider__managed_identity_token(void **state)
{
    struct sk_role_cfg rc;
    struct sk_error err;
    struct sk_sim *srv;
    struct mi_seen m;
    char url[160], *tok = NULL;
    (void)state;
    memset(&m, 0, sizeof m);
    assert_int_equal(sk_sim_start(mi_responder, &m, NULL, &srv, &err), SK_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/msi/token",
             sk_sim_port(srv));
    setenv("IDENTITY_ENDPOINT", url, 1);
    setenv("IDENTITY_HEADER", "hdr-secret-42", 1);
    sk_azure_token_cache_clear();
    azure_rc(&rc);
    set_field(&rc.auth_mode, "managed_identity");
    set_field(&rc.mi_client_id, "client-7");
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    assert_string_equal(tok, "mi-token-XYZ123");
    sk_free(tok);
    assert_string_equal(m.header, "hdr-secret-42");
    assert_non_null(strstr(m.query, "api-version=2019-08-01"));
    assert_non_null(
        strstr(m.query, "resource=https%3A%2F%2Fcognitiveservices.azure.com"));
    assert_non_null(strstr(m.query, "client_id=client-7"));
    /* cached: no second request */
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_OK);
    sk_free(tok);
    assert_int_equal(m.calls, 1);
    /* a refusal is an auth error saying what the endpoint said */
    sk_azure_token_cache_clear();
    m.fail = 1;
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_LLM_EAUTH);
    assert_null(tok);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    unsetenv("IDENTITY_ENDPOINT");
    unsetenv("IDENTITY_HEADER");
    sk_azure_token_cache_clear();
    sk_role_cfg_release(&rc);
    sk_sim_stop(srv);
}

static void test_provider__azure_token_rejects_api_key_mode(void **state)
{
    struct sk_role_cfg rc;
    struct sk_error err;
    char *tok = NULL;
    (void)state;
    azure_rc(&rc);
    set_field(&rc.auth_mode, "api_key");
    assert_int_equal(sk_azure_token(&rc, &tok, &err), SK_ECONFIG);
    assert_null(tok);
    sk_role_cfg_release(&rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider__build_table),
        cmocka_unit_test(test_provider__canonical_tracks_inputs),
        cmocka_unit_test(test_provider__parse_table),
        cmocka_unit_test(test_provider__transport_outcomes),
        cmocka_unit_test(test_provider__error_never_contains_key),
        cmocka_unit_test(test_provider__split_think),
        cmocka_unit_test(test_provider__alloc_sweep),
        cmocka_unit_test(test_provider__azure_cli_token_cached),
        cmocka_unit_test(test_provider__managed_identity_token),
        cmocka_unit_test(test_provider__azure_token_rejects_api_key_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
