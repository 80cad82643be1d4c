/*
 * provider_anthropic.c - the Anthropic Messages API (POST {base}/v1/messages,
 * x-api-key, anthropic-version 2023-06-01): bodies with a top-level system
 * prompt and base64 image blocks, optional extended thinking, and replies
 * whose text and thinking blocks become text and reasoning.
 */
#include "common.h"

#include "llm/provider.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "llm/http.h"
#include "util/alloc.h"
#include "util/buf.h"

#define ANTHROPIC_VERSION "2023-06-01"

static json_t *image_block(const struct sk_llm_image *im)
{
    char *b64;
    json_t *b;

    if (im->url)
        return json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source",
                         "type", "url", "url", im->url);
    b64 = provider_base64(im->data, im->len);
    if (!b64)
        return NULL;
    b = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "image", "source", "type",
                  "base64", "media_type", im->mime ? im->mime : "image/png",
                  "data", b64);
    sk_free(b64);
    return b;
}

/* Content of m: its text, or image blocks followed by the text (the
 * order Anthropic recommends for vision prompts). */
static json_t *content(const struct sk_llm_message *m)
{
    json_t *parts;
    size_t i;

    if (m->n_images == 0)
        return json_string(m->content ? m->content : "");
    parts = json_array();
    if (!parts)
        return NULL;
    for (i = 0; i < m->n_images; i++)
        if (json_array_append_new(parts, image_block(&m->images[i])))
            goto fail;
    if (json_array_append_new(parts,
                              json_pack("{s:s, s:s}", "type", "text", "text",
                                        m->content ? m->content : "")))
        goto fail;
    return parts;
fail:
    json_decref(parts);
    return NULL;
}

static int put(json_t *o, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(o, key, v) != 0;
}

int anthropic_body(const struct sk_role_cfg *rc,
                   const struct sk_llm_request *req, json_t **out)
{
    json_t *body, *msgs;
    size_t i;

    *out = NULL;
    body = json_object();
    msgs = json_array();
    if (!body || !msgs)
        goto fail;
    if (put(body, "model", json_string(rc->model)) ||
        put(body, "max_tokens", json_integer(provider_max_tokens(rc, req))))
        goto fail;
    if (req->system && *req->system &&
        put(body, "system", json_string(req->system)))
        goto fail;
    for (i = 0; i < req->n_messages; i++) {
        const struct sk_llm_message *m = &req->messages[i];
        if (json_array_append_new(msgs, json_pack("{s:s, s:o}", "role",
                                                  m->role ? m->role : "user",
                                                  "content", content(m))))
            goto fail;
    }
    if (json_object_set(body, "messages", msgs))
        goto fail;
    if (rc->anthropic_thinking_budget > 0) {
        /* Extended thinking does not combine with a custom temperature. */
        if (put(body, "thinking",
                json_pack("{s:s, s:i}", "type", "enabled", "budget_tokens",
                          rc->anthropic_thinking_budget)))
            goto fail;
    } else if (!isnan(rc->temperature) &&
               put(body, "temperature", json_real(rc->temperature))) {
        goto fail;
    }
    json_decref(msgs);
    *out = body;
    return SK_OK;
fail:
    json_decref(msgs);
    json_decref(body);
    return SK_ENOMEM;
}

int anthropic_request(const struct sk_role_cfg *rc,
                      struct sk_http_request **out, struct sk_error *err)
{
    struct sk_http_request *r = NULL;
    size_t bl = strlen(rc->base_url);
    char *url;
    int st = SK_ENOMEM;

    *out = NULL;
    while (bl > 0 && rc->base_url[bl - 1] == '/')
        bl--;
    /* Accept a base given with or without its /v1. */
    url = provider_join_url(
        rc->base_url, bl >= 3 && memcmp(rc->base_url + bl - 3, "/v1", 3) == 0
                          ? "/messages"
                          : "/v1/messages");
    if (!url)
        goto out;
    r = sk_http_request_new("POST", url);
    if (!r)
        goto out;
    if (sk_http_request_add_header(r, "anthropic-version", ANTHROPIC_VERSION))
        goto out;
    if (provider_add_headers(r, "x-api-key", rc->api_key ? rc->api_key : ""))
        goto out;
    *out = r;
    r = NULL;
    st = SK_OK;
out:
    if (st != SK_OK)
        sk_error_set(err, st, "out of memory");
    sk_http_request_free(r);
    sk_free(url);
    return st;
}

/* Anthropic stop_reason in the chat vocabulary the rest of skillopt uses. */
static const char *finish(const char *stop)
{
    if (!stop || strcmp(stop, "end_turn") == 0 ||
        strcmp(stop, "stop_sequence") == 0)
        return "stop";
    if (strcmp(stop, "max_tokens") == 0)
        return "length";
    if (strcmp(stop, "tool_use") == 0)
        return "tool_calls";
    if (strcmp(stop, "refusal") == 0)
        return "content_filter";
    return stop;
}

int anthropic_parse(const struct sk_role_cfg *rc, json_t *root,
                    struct sk_llm_result *res)
{
    json_t *blocks = json_object_get(root, "content");
    json_t *u = json_object_get(root, "usage"), *b;
    const char *stop = json_string_value(json_object_get(root, "stop_reason"));
    struct sk_buf text, why;
    size_t i;
    int st = SK_OK, f1, f2;

    if (json_is_object(json_object_get(root, "error"))) {
        const char *m = json_string_value(
            json_object_get(json_object_get(root, "error"), "message"));
        provider_error(res, rc, "HTTP %ld: %s", res->http_status,
                       m ? m : "error in reply");
        return SK_LLM_EPROVIDER;
    }
    if (!json_is_array(blocks)) {
        provider_error(res, rc, "HTTP %ld: reply has no content blocks",
                       res->http_status);
        return SK_LLM_EREPLY;
    }
    sk_buf_init(&text, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    json_array_foreach(blocks, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        const char *s;
        if (!type)
            continue;
        if (strcmp(type, "text") == 0) {
            s = json_string_value(json_object_get(b, "text"));
            if (s && sk_buf_puts(&text, s))
                goto nomem;
        } else if (strcmp(type, "thinking") == 0) {
            s = json_string_value(json_object_get(b, "thinking"));
            if (s &&
                ((why.len && sk_buf_putc(&why, '\n')) || sk_buf_puts(&why, s)))
                goto nomem;
        }
    }
    if (provider_set_str(&res->finish_reason, finish(stop)))
        goto nomem;
    if (stop && strcmp(stop, "refusal") == 0) {
        if (provider_set_str(&res->refusal,
                             text.len ? sk_buf_cstr(&text) : "refused") ||
            provider_set_str(&res->text, ""))
            goto nomem;
    } else if (provider_set_str(&res->text, sk_buf_cstr(&text))) {
        goto nomem;
    }
    if (why.len && provider_set_str(&res->reasoning, sk_buf_cstr(&why)))
        goto nomem;
    if (json_is_object(u)) {
        /* input_tokens excludes cache reads and writes; the prompt is the
         * sum, of which cache reads were served from the cache. */
        uint64_t cr = provider_u64(u, "cache_read_input_tokens", NULL);
        uint64_t cw = provider_u64(u, "cache_creation_input_tokens", NULL);
        res->usage.prompt_tokens =
            provider_u64(u, "input_tokens", &f1) + cr + cw;
        res->usage.completion_tokens = provider_u64(u, "output_tokens", &f2);
        res->usage.cached_tokens = cr;
        res->usage.usage_known = f1 || f2;
    }
    goto out;
nomem:
    st = SK_ENOMEM;
out:
    sk_buf_release(&text);
    sk_buf_release(&why);
    return st;
}
