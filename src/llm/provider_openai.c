/*
 * provider_openai.c - the OpenAI wire formats: Chat Completions (also used
 * by Azure deployments and by OpenAI-compatible servers such as vLLM,
 * SGLang, Qwen and MiniMax endpoints) and the Responses API.  Builds bodies
 * and plain-OpenAI requests; parses replies of both APIs.
 */
#include "common.h"

#include "llm/provider.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "llm/http.h"
#include "util/alloc.h"
#include "util/buf.h"

/* Sets key to a new value, which is stolen; returns nonzero on failure. */
static int put(json_t *o, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(o, key, v) != 0;
}

/* Chat content of m: its text, or text and image parts. */
static json_t *chat_content(const struct sk_llm_message *m)
{
    json_t *parts, *part, *iu;
    char *url;
    size_t i;

    if (m->n_images == 0)
        return json_string(m->content ? m->content : "");
    parts = json_array();
    if (!parts)
        return NULL;
    part = json_pack("{s:s, s:s}", "type", "text", "text",
                     m->content ? m->content : "");
    if (json_array_append_new(parts, part))
        goto fail;
    for (i = 0; i < m->n_images; i++) {
        url = provider_image_url(&m->images[i]);
        if (!url)
            goto fail;
        iu = json_pack("{s:s}", "url", url);
        sk_free(url);
        if (!iu)
            goto fail;
        if (m->images[i].detail &&
            put(iu, "detail", json_string(m->images[i].detail))) {
            json_decref(iu);
            goto fail;
        }
        part = json_pack("{s:s, s:o}", "type", "image_url", "image_url", iu);
        if (json_array_append_new(parts, part))
            goto fail;
    }
    return parts;
fail:
    json_decref(parts);
    return NULL;
}

/* Adds the compat dialect's thinking switch (rc->thinking_mode). */
static int put_thinking(const struct sk_role_cfg *rc, json_t *body)
{
    const char *mode = rc->thinking_mode ? rc->thinking_mode : "";
    int on;

    if (strcmp(mode, "enabled") == 0)
        on = 1;
    else if (strcmp(mode, "disabled") == 0)
        on = 0;
    else
        return 0; /* server_default: leave the server's template alone */
    if (rc->backend && strcmp(rc->backend, "minimax_chat") == 0)
        return put(body, "thinking",
                   json_pack("{s:s}", "type", on ? "adaptive" : "disabled"));
    return put(body, "chat_template_kwargs",
               json_pack("{s:b}", "enable_thinking", on));
}

int openai_chat_body(const struct sk_role_cfg *rc,
                     const struct sk_llm_request *req, json_t **out)
{
    int compat = rc->dialect == SK_DIALECT_COMPAT;
    const char *effort = provider_effort(rc, req);
    json_t *body, *msgs, *m;
    size_t i;

    *out = NULL;
    body = json_object();
    msgs = json_array();
    if (!body || !msgs)
        goto fail;
    if (put(body, "model", json_string(rc->model)))
        goto fail;
    if (req->system && *req->system) {
        m = json_pack("{s:s, s:s}", "role", "system", "content", req->system);
        if (json_array_append_new(msgs, m))
            goto fail;
    }
    for (i = 0; i < req->n_messages; i++) {
        const struct sk_llm_message *msg = &req->messages[i];
        m = json_pack("{s:s, s:o}", "role", msg->role ? msg->role : "user",
                      "content", chat_content(msg));
        if (json_array_append_new(msgs, m))
            goto fail;
    }
    if (json_object_set(body, "messages", msgs))
        goto fail;
    /* Compatible servers (vLLM, SGLang, MiniMax) know max_tokens; OpenAI
     * reasoning models accept only max_completion_tokens. */
    if (put(body, compat ? "max_tokens" : "max_completion_tokens",
            json_integer(provider_max_tokens(rc, req))))
        goto fail;
    if (!compat && effort && put(body, "reasoning_effort", json_string(effort)))
        goto fail;
    if (!isnan(rc->temperature) &&
        put(body, "temperature", json_real(rc->temperature)))
        goto fail;
    if (!compat && req->want_json &&
        put(body, "response_format", json_pack("{s:s}", "type", "json_object")))
        goto fail;
    if (compat && put_thinking(rc, body))
        goto fail;
    json_decref(msgs);
    *out = body;
    return SK_OK;
fail:
    json_decref(msgs);
    json_decref(body);
    return SK_ENOMEM;
}

/* Responses input content of m: its text, or input_text/input_image. */
static json_t *responses_content(const struct sk_llm_message *m)
{
    json_t *parts, *part;
    char *url;
    size_t i;

    if (m->n_images == 0)
        return json_string(m->content ? m->content : "");
    parts = json_array();
    if (!parts)
        return NULL;
    part = json_pack("{s:s, s:s}", "type", "input_text", "text",
                     m->content ? m->content : "");
    if (json_array_append_new(parts, part))
        goto fail;
    for (i = 0; i < m->n_images; i++) {
        url = provider_image_url(&m->images[i]);
        if (!url)
            goto fail;
        part = json_pack("{s:s, s:s, s:s}", "type", "input_image", "image_url",
                         url, "detail",
                         m->images[i].detail ? m->images[i].detail : "auto");
        sk_free(url);
        if (json_array_append_new(parts, part))
            goto fail;
    }
    return parts;
fail:
    json_decref(parts);
    return NULL;
}

int openai_responses_body(const struct sk_role_cfg *rc,
                          const struct sk_llm_request *req, json_t **out)
{
    const char *effort = provider_effort(rc, req);
    json_t *body, *input, *m;
    size_t i;

    *out = NULL;
    body = json_object();
    input = json_array();
    if (!body || !input)
        goto fail;
    if (put(body, "model", json_string(rc->model)))
        goto fail;
    if (req->system && *req->system &&
        put(body, "instructions", json_string(req->system)))
        goto fail;
    for (i = 0; i < req->n_messages; i++) {
        const struct sk_llm_message *msg = &req->messages[i];
        m = json_pack("{s:s, s:o}", "role", msg->role ? msg->role : "user",
                      "content", responses_content(msg));
        if (json_array_append_new(input, m))
            goto fail;
    }
    if (json_object_set(body, "input", input))
        goto fail;
    if (put(body, "max_output_tokens",
            json_integer(provider_max_tokens(rc, req))))
        goto fail;
    if (effort && put(body, "reasoning", json_pack("{s:s}", "effort", effort)))
        goto fail;
    if (!isnan(rc->temperature) &&
        put(body, "temperature", json_real(rc->temperature)))
        goto fail;
    if (req->want_json &&
        put(body, "text",
            json_pack("{s:{s:s}}", "format", "type", "json_object")))
        goto fail;
    json_decref(input);
    *out = body;
    return SK_OK;
fail:
    json_decref(input);
    json_decref(body);
    return SK_ENOMEM;
}

int openai_request(const struct sk_role_cfg *rc, struct sk_http_request **out,
                   struct sk_error *err)
{
    struct sk_http_request *r = NULL;
    char *url, *auth = NULL;
    int st = SK_ENOMEM;

    *out = NULL;
    url = provider_join_url(rc->base_url,
                            rc->dialect == SK_DIALECT_OPENAI_RESPONSES
                                ? "/responses"
                                : "/chat/completions");
    if (!url)
        goto out;
    r = sk_http_request_new("POST", url);
    if (!r)
        goto out;
    if (rc->api_key && *rc->api_key) {
        size_t n = strlen(rc->api_key) + 8;
        auth = sk_malloc(n);
        if (!auth)
            goto out;
        snprintf(auth, n, "Bearer %s", rc->api_key);
    }
    if (provider_add_headers(r, auth ? "Authorization" : NULL, auth))
        goto out;
    *out = r;
    r = NULL;
    st = SK_OK;
out:
    if (st != SK_OK)
        sk_error_set(err, st, "out of memory");
    sk_http_request_free(r);
    sk_free(url);
    sk_free(auth);
    return st;
}

/* Appends the text of a chat content that is an array of parts. */
static int parts_text(json_t *content, struct sk_buf *b)
{
    size_t i;
    json_t *p;
    json_array_foreach(content, i, p)
    {
        json_t *t = json_object_get(p, "text");
        if (json_is_string(t) && sk_buf_puts(b, json_string_value(t)))
            return SK_ENOMEM;
    }
    return SK_OK;
}

/* res->reasoning = a, joined with b when both are non-empty. */
static int join_reasoning(struct sk_llm_result *res, const char *a,
                          const char *b)
{
    struct sk_buf j;
    int st = SK_OK;

    sk_buf_init(&j, SK_BUF_UNLIMITED);
    if (a && *a)
        st = sk_buf_puts(&j, a);
    if (st == SK_OK && a && *a && b && *b)
        st = sk_buf_putc(&j, '\n');
    if (st == SK_OK && b && *b)
        st = sk_buf_puts(&j, b);
    if (st == SK_OK && j.len > 0) {
        sk_free(res->reasoning);
        res->reasoning = sk_buf_detach(&j, NULL);
    }
    sk_buf_release(&j);
    return st == SK_OK ? SK_OK : SK_ENOMEM;
}

static void chat_usage(json_t *root, struct sk_llm_result *res)
{
    json_t *u = json_object_get(root, "usage");
    int f1, f2;

    if (!json_is_object(u))
        return;
    res->usage.prompt_tokens = provider_u64(u, "prompt_tokens", &f1);
    res->usage.completion_tokens = provider_u64(u, "completion_tokens", &f2);
    res->usage.cached_tokens = provider_u64(
        json_object_get(u, "prompt_tokens_details"), "cached_tokens", NULL);
    res->usage.reasoning_tokens =
        provider_u64(json_object_get(u, "completion_tokens_details"),
                     "reasoning_tokens", NULL);
    res->usage.usage_known = f1 || f2;
}

/* An "error" object inside a 2xx body (some gateways answer 200). */
static int embedded_error(const struct sk_role_cfg *rc, json_t *root,
                          struct sk_llm_result *res)
{
    json_t *e = json_object_get(root, "error");
    json_t *m = json_object_get(e, "message");
    if (!json_is_object(e))
        return 0;
    provider_error(res, rc, "HTTP %ld: %s", res->http_status,
                   json_is_string(m) ? json_string_value(m) : "error in reply");
    return 1;
}

int openai_chat_parse(const struct sk_role_cfg *rc, json_t *root,
                      struct sk_llm_result *res)
{
    json_t *choice, *msg, *content, *v, *rs;
    struct sk_buf tb;
    const char *text;
    char *answer = NULL, *think = NULL;
    int st = SK_OK;

    sk_buf_init(&tb, SK_BUF_UNLIMITED);
    choice = json_array_get(json_object_get(root, "choices"), 0);
    msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        if (embedded_error(rc, root, res))
            return SK_LLM_EPROVIDER;
        provider_error(res, rc, "HTTP %ld: reply has no choices[0].message",
                       res->http_status);
        return SK_LLM_EREPLY;
    }
    v = json_object_get(choice, "finish_reason");
    if (json_is_string(v) &&
        provider_set_str(&res->finish_reason, json_string_value(v)))
        goto nomem;
    chat_usage(root, res);
    v = json_object_get(msg, "refusal");
    if (json_is_string(v) && *json_string_value(v)) {
        /* A refusal is an answer, not a failure: the caller sees it in
         * res->refusal and gets an empty text. */
        if (provider_set_str(&res->refusal, json_string_value(v)) ||
            provider_set_str(&res->text, ""))
            goto nomem;
        return SK_OK;
    }
    content = json_object_get(msg, "content");
    if (json_is_string(content)) {
        text = json_string_value(content);
    } else if (json_is_array(content)) {
        if (parts_text(content, &tb))
            goto nomem;
        text = sk_buf_cstr(&tb);
    } else if (!content || json_is_null(content)) {
        text = "";
    } else {
        provider_error(res, rc, "HTTP %ld: message content is not text",
                       res->http_status);
        sk_buf_release(&tb);
        return SK_LLM_EREPLY;
    }
    rs = json_object_get(msg, "reasoning_content");
    if (!json_is_string(rs))
        rs = json_object_get(msg, "reasoning");
    if (rc->dialect == SK_DIALECT_COMPAT) {
        if (provider_split_think(text, &answer, &think))
            goto nomem;
        sk_free(res->text);
        res->text = answer;
        answer = NULL;
    } else if (provider_set_str(&res->text, text)) {
        goto nomem;
    }
    if (join_reasoning(res, json_is_string(rs) ? json_string_value(rs) : NULL,
                       think))
        goto nomem;
    goto out;
nomem:
    st = SK_ENOMEM;
out:
    sk_free(think);
    sk_free(answer);
    sk_buf_release(&tb);
    return st;
}

/* Walks output[]: message text and refusals, reasoning summaries. */
static int walk_output(json_t *output, struct sk_buf *text, struct sk_buf *why,
                       struct sk_buf *refusal)
{
    size_t i, j;
    json_t *item, *part;

    json_array_foreach(output, i, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        if (!type)
            continue;
        if (strcmp(type, "message") == 0) {
            json_array_foreach(json_object_get(item, "content"), j, part)
            {
                const char *pt =
                    json_string_value(json_object_get(part, "type"));
                const char *s;
                if (!pt)
                    continue;
                if (strcmp(pt, "output_text") == 0) {
                    s = json_string_value(json_object_get(part, "text"));
                    if (s && sk_buf_puts(text, s))
                        return SK_ENOMEM;
                } else if (strcmp(pt, "refusal") == 0) {
                    s = json_string_value(json_object_get(part, "refusal"));
                    if (s && sk_buf_puts(refusal, s))
                        return SK_ENOMEM;
                }
            }
        } else if (strcmp(type, "reasoning") == 0) {
            json_array_foreach(json_object_get(item, "summary"), j, part)
            {
                const char *s =
                    json_string_value(json_object_get(part, "text"));
                if (!s)
                    continue;
                if ((why->len && sk_buf_putc(why, '\n')) || sk_buf_puts(why, s))
                    return SK_ENOMEM;
            }
        }
    }
    return SK_OK;
}

/* The chat-style finish reason of a Responses reply. */
static const char *responses_finish(json_t *root)
{
    const char *status = json_string_value(json_object_get(root, "status"));
    const char *why = json_string_value(
        json_object_get(json_object_get(root, "incomplete_details"), "reason"));
    if (!status || strcmp(status, "completed") == 0)
        return "stop";
    if (strcmp(status, "incomplete") == 0) {
        if (why && strcmp(why, "max_output_tokens") == 0)
            return "length";
        return why ? why : "incomplete";
    }
    return status;
}

int openai_responses_parse(const struct sk_role_cfg *rc, json_t *root,
                           struct sk_llm_result *res)
{
    json_t *output = json_object_get(root, "output");
    json_t *ot = json_object_get(root, "output_text");
    json_t *u = json_object_get(root, "usage");
    struct sk_buf text, why, refusal;
    int st = SK_OK, f1, f2;

    if (embedded_error(rc, root, res))
        return SK_LLM_EPROVIDER;
    if (!json_is_array(output) && !json_is_string(ot)) {
        provider_error(res, rc, "HTTP %ld: reply has no output",
                       res->http_status);
        return SK_LLM_EREPLY;
    }
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    sk_buf_init(&refusal, SK_BUF_UNLIMITED);
    if (json_is_array(output) && walk_output(output, &text, &why, &refusal))
        goto nomem;
    if (json_is_string(ot)) {
        /* The SDKs' convenience field, when a gateway includes it. */
        sk_buf_reset(&text);
        if (sk_buf_puts(&text, json_string_value(ot)))
            goto nomem;
    }
    if (provider_set_str(&res->finish_reason, responses_finish(root)))
        goto nomem;
    if (refusal.len > 0 && text.len == 0) {
        if (provider_set_str(&res->refusal, sk_buf_cstr(&refusal)) ||
            provider_set_str(&res->text, ""))
            goto nomem;
    } else if (provider_set_str(&res->text, sk_buf_cstr(&text))) {
        goto nomem;
    }
    if (why.len > 0 && provider_set_str(&res->reasoning, sk_buf_cstr(&why)))
        goto nomem;
    if (json_is_object(u)) {
        res->usage.prompt_tokens = provider_u64(u, "input_tokens", &f1);
        res->usage.completion_tokens = provider_u64(u, "output_tokens", &f2);
        res->usage.cached_tokens = provider_u64(
            json_object_get(u, "input_tokens_details"), "cached_tokens", NULL);
        res->usage.reasoning_tokens =
            provider_u64(json_object_get(u, "output_tokens_details"),
                         "reasoning_tokens", NULL);
        res->usage.usage_known = f1 || f2;
    }
    goto out;
nomem:
    st = SK_ENOMEM;
out:
    sk_buf_release(&text);
    sk_buf_release(&why);
    sk_buf_release(&refusal);
    return st;
}
