/*
 * provider.c - dialect dispatch of sk_provider_build / _parse / _canonical
 * and the helpers every dialect shares (images, <think> splitting, error
 * text).  Pure: no I/O here (Azure Entra tokens are fetched by
 * provider_azure.c through sk_azure_token).
 */
#include "common.h"

#include "llm/provider.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
/* OpenSSL's safestack defines a legacy sk_free macro; ours is alloc.h's. */
#undef sk_free

#include "llm/http.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#define DEFAULT_MAX_TOKENS 16384
#define ERROR_SNIPPET 200

const char *provider_dialect_name(enum sk_dialect d)
{
    switch (d) {
    case SK_DIALECT_OPENAI_CHAT:
        return "openai_chat";
    case SK_DIALECT_OPENAI_RESPONSES:
        return "openai_responses";
    case SK_DIALECT_AZURE_CHAT:
        return "azure_chat";
    case SK_DIALECT_AZURE_RESPONSES:
        return "azure_responses";
    case SK_DIALECT_ANTHROPIC:
        return "anthropic";
    case SK_DIALECT_COMPAT:
        return "compat";
    }
    return "unknown";
}

long provider_max_tokens(const struct sk_role_cfg *rc,
                         const struct sk_llm_request *req)
{
    if (req->max_tokens > 0)
        return req->max_tokens;
    return rc->max_tokens > 0 ? rc->max_tokens : DEFAULT_MAX_TOKENS;
}

const char *provider_effort(const struct sk_role_cfg *rc,
                            const struct sk_llm_request *req)
{
    const char *e =
        req->reasoning_effort ? req->reasoning_effort : rc->reasoning_effort;
    return e && *e ? e : NULL;
}

char *provider_base64(const unsigned char *data, size_t len)
{
    size_t n = 4 * ((len + 2) / 3) + 1;
    char *out;
    size_t done = 0;

    out = sk_malloc(n);
    if (!out)
        return NULL;
    /* EVP_EncodeBlock takes an int length: encode in bounded chunks that
     * are multiples of 3 so the pieces concatenate. */
    while (done < len) {
        size_t chunk =
            len - done > 3u * (1u << 20) ? 3u * (1u << 20) : len - done;
        int w = EVP_EncodeBlock((unsigned char *)out + 4 * (done / 3),
                                data + done, (int)chunk);
        (void)w;
        done += chunk;
    }
    out[4 * ((len + 2) / 3)] = '\0';
    return out;
}

char *provider_image_url(const struct sk_llm_image *im)
{
    struct sk_buf b;
    char *b64;
    int rc;

    if (im->url)
        return sk_strdup(im->url);
    b64 = provider_base64(im->data, im->len);
    if (!b64)
        return NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&b, "data:%s;base64,%s",
                       im->mime ? im->mime : "image/png", b64);
    sk_free(b64);
    if (rc != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

int provider_set_str(char **dst, const char *s)
{
    char *c = NULL;
    if (s) {
        c = sk_strdup(s);
        if (!c)
            return SK_ENOMEM;
    }
    sk_free(*dst);
    *dst = c;
    return SK_OK;
}

static void trim_buf(struct sk_buf *b)
{
    const char *s = sk_buf_cstr(b);
    size_t start = 0, end = b->len;
    while (start < end && isspace((unsigned char)s[start]))
        start++;
    while (end > start && isspace((unsigned char)s[end - 1]))
        end--;
    if (b->data && start > 0)
        memmove(b->data, b->data + start, end - start);
    if (b->data)
        sk_buf_truncate(b, end - start);
}

int provider_split_think(const char *s, char **answer, char **reasoning)
{
    static const char open_tag[] = "<think>", close_tag[] = "</think>";
    const size_t ol = sizeof open_tag - 1, cl = sizeof close_tag - 1;
    struct sk_buf ans, why;
    const char *p = s, *o, *c;
    int removed = 0, rc = SK_OK;

    *answer = NULL;
    *reasoning = NULL;
    sk_buf_init(&ans, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    /* A close tag before any open tag: the template opened the block. */
    c = strstr(p, close_tag);
    o = strstr(p, open_tag);
    if (c && (!o || c < o)) {
        rc = sk_buf_append(&why, p, (size_t)(c - p));
        p = c + cl;
        removed = 1;
    }
    while (rc == SK_OK && (o = strstr(p, open_tag)) != NULL) {
        rc = sk_buf_append(&ans, p, (size_t)(o - p));
        if (rc != SK_OK)
            break;
        o += ol;
        c = strstr(o, close_tag);
        if (why.len > 0)
            rc = sk_buf_putc(&why, '\n');
        if (rc == SK_OK)
            rc = sk_buf_append(&why, o, c ? (size_t)(c - o) : strlen(o));
        removed = 1;
        p = c ? c + cl : o + strlen(o);
    }
    if (rc == SK_OK)
        rc = sk_buf_puts(&ans, p);
    if (rc == SK_OK && removed) {
        trim_buf(&ans);
        trim_buf(&why);
    }
    if (rc == SK_OK) {
        /* sk_buf_detach of a never-grown buffer allocates "". */
        *answer = sk_buf_detach(&ans, NULL);
        *reasoning = sk_buf_detach(&why, NULL);
        if (!*answer || !*reasoning)
            rc = SK_ENOMEM;
    }
    if (rc != SK_OK) {
        sk_free(*answer);
        sk_free(*reasoning);
        *answer = NULL;
        *reasoning = NULL;
        rc = SK_ENOMEM;
    }
    sk_buf_release(&ans);
    sk_buf_release(&why);
    return rc;
}

void provider_error(struct sk_llm_result *res, const struct sk_role_cfg *rc,
                    const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(res->error, sizeof res->error,
                 "%s %s: ", rc->backend ? rc->backend : "?",
                 rc->model ? rc->model : "?");
    if (n < 0 || (size_t)n >= sizeof res->error)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(res->error + n, sizeof res->error - (size_t)n, fmt, ap);
    va_end(ap);
    sk_redact_value(res->error, sizeof res->error, rc->api_key);
    sk_log_redact(res->error, sizeof res->error);
}

uint64_t provider_u64(const json_t *obj, const char *key, int *found)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (found)
        *found = 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        if (found)
            *found = 1;
        return (uint64_t)json_integer_value(v);
    }
    if (json_is_real(v) && json_real_value(v) >= 0) {
        if (found)
            *found = 1;
        return (uint64_t)json_real_value(v);
    }
    return 0;
}

char *provider_join_url(const char *base, const char *suffix)
{
    size_t bl = strlen(base), sl = strlen(suffix);
    struct sk_buf b;

    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_append(&b, base, bl) != SK_OK ||
        ((bl < sl || memcmp(base + bl - sl, suffix, sl) != 0) &&
         sk_buf_append(&b, suffix, sl) != SK_OK)) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

int provider_add_headers(struct sk_http_request *r, const char *auth_name,
                         const char *auth_value)
{
    if (sk_http_request_add_header(r, "Content-Type", "application/json"))
        return SK_ENOMEM;
    if (!auth_name)
        return SK_OK;
    if (sk_http_request_add_header(r, auth_name, auth_value))
        return SK_ENOMEM;
    r->secret_header = (int)r->n_headers;
    return SK_OK;
}

static int build_body(const struct sk_role_cfg *rc,
                      const struct sk_llm_request *req, json_t **out)
{
    switch (rc->dialect) {
    case SK_DIALECT_OPENAI_RESPONSES:
    case SK_DIALECT_AZURE_RESPONSES:
        return openai_responses_body(rc, req, out);
    case SK_DIALECT_ANTHROPIC:
        return anthropic_body(rc, req, out);
    case SK_DIALECT_OPENAI_CHAT:
    case SK_DIALECT_AZURE_CHAT:
    case SK_DIALECT_COMPAT:
        return openai_chat_body(rc, req, out);
    }
    *out = NULL;
    return SK_EINVAL;
}

/* Rough prompt size in tokens (bytes / 4) for the tokens-per-minute
 * bucket; images count a flat 1000. */
static uint64_t estimate_tokens(const struct sk_llm_request *req, long cap)
{
    uint64_t chars = req->system ? strlen(req->system) : 0;
    size_t i;
    for (i = 0; i < req->n_messages; i++) {
        const struct sk_llm_message *m = &req->messages[i];
        chars += m->content ? strlen(m->content) : 0;
        chars += 4000u * m->n_images;
    }
    return chars / 4 + (uint64_t)cap;
}

int sk_provider_build(const struct sk_role_cfg *rc,
                      const struct sk_llm_request *req,
                      struct sk_http_request **out, struct sk_error *err)
{
    json_t *body = NULL;
    struct sk_http_request *r = NULL;
    char *text = NULL;
    int st;

    *out = NULL;
    if (!rc->model || !rc->base_url || !rc->backend)
        return sk_error_set(err, SK_EINVAL, "role is not resolved");
    st = build_body(rc, req, &body);
    if (st != SK_OK) {
        st = sk_error_set(err, st, "cannot build the request body");
        goto out;
    }
    switch (rc->dialect) {
    case SK_DIALECT_AZURE_CHAT:
    case SK_DIALECT_AZURE_RESPONSES:
        st = azure_request(rc, &r, err);
        break;
    case SK_DIALECT_ANTHROPIC:
        st = anthropic_request(rc, &r, err);
        break;
    default:
        st = openai_request(rc, &r, err);
        break;
    }
    if (st != SK_OK)
        goto out;
    text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                JSON_REAL_PRECISION(15));
    if (!text || sk_http_request_set_body(r, text, strlen(text)) != SK_OK) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    r->total_timeout_ms =
        req->timeout_ms > 0 ? req->timeout_ms : rc->timeout_ms;
    r->est_tokens = estimate_tokens(req, provider_max_tokens(rc, req));
    *out = r;
    r = NULL;
out:
    sk_free(text);
    json_decref(body);
    sk_http_request_free(r);
    return st;
}

/* The provider's own error text from an error body, or NULL. */
static const char *error_message(json_t *root)
{
    json_t *e = json_object_get(root, "error");
    json_t *m;
    if (json_is_object(e)) {
        m = json_object_get(e, "message");
        if (json_is_string(m))
            return json_string_value(m);
    }
    if (json_is_string(e))
        return json_string_value(e);
    m = json_object_get(root, "message");
    if (json_is_string(m))
        return json_string_value(m);
    m = json_object_get(root, "detail");
    if (json_is_string(m))
        return json_string_value(m);
    return NULL;
}

/* Copies up to ERROR_SNIPPET bytes of body, blanks for control bytes. */
static void snippet(const char *body, size_t len, char *out, size_t cap)
{
    size_t i, n = len < ERROR_SNIPPET ? len : ERROR_SNIPPET;
    if (n >= cap)
        n = cap - 1;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)body[i];
        out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    out[n] = '\0';
}

static int parse_error_reply(const struct sk_role_cfg *rc,
                             const struct sk_http_response *resp,
                             struct sk_llm_result *res)
{
    json_t *root;
    const char *msg = NULL;
    char snip[ERROR_SNIPPET + 1];

    root = json_loadb(sk_buf_cstr(&resp->body), resp->body.len, 0, NULL);
    if (json_is_object(root))
        msg = error_message(root);
    if (msg) {
        provider_error(res, rc, "HTTP %ld: %s", resp->status, msg);
    } else {
        snippet(sk_buf_cstr(&resp->body), resp->body.len, snip, sizeof snip);
        provider_error(res, rc, "HTTP %ld: %s", resp->status,
                       snip[0] ? snip : "(empty body)");
    }
    json_decref(root);
    return SK_LLM_EPROVIDER;
}

int sk_provider_parse(const struct sk_role_cfg *rc,
                      const struct sk_http_response *resp,
                      struct sk_llm_result *res)
{
    json_t *root = NULL;
    char snip[ERROR_SNIPPET + 1];
    int st;

    res->http_status = resp->status;
    switch (resp->outcome) {
    case SK_HTTP_OK:
    case SK_HTTP_STATUS:
        break;
    case SK_HTTP_TIMEOUT:
        provider_error(res, rc, "timed out: %s", resp->error);
        st = SK_LLM_ETIMEOUT;
        goto out;
    case SK_HTTP_TOOBIG:
        provider_error(res, rc, "reply larger than the response cap");
        st = SK_LLM_EREPLY;
        goto out;
    default:
        provider_error(res, rc, "transport error: %s", resp->error);
        st = SK_LLM_ETRANSPORT;
        goto out;
    }
    if (resp->status < 200 || resp->status > 299) {
        st = parse_error_reply(rc, resp, res);
        goto out;
    }
    root = json_loadb(sk_buf_cstr(&resp->body), resp->body.len, 0, NULL);
    if (!json_is_object(root)) {
        snippet(sk_buf_cstr(&resp->body), resp->body.len, snip, sizeof snip);
        provider_error(res, rc, "HTTP %ld: reply is not a JSON object: %s",
                       resp->status, snip);
        st = SK_LLM_EREPLY;
        goto out;
    }
    switch (rc->dialect) {
    case SK_DIALECT_OPENAI_RESPONSES:
    case SK_DIALECT_AZURE_RESPONSES:
        st = openai_responses_parse(rc, root, res);
        break;
    case SK_DIALECT_ANTHROPIC:
        st = anthropic_parse(rc, root, res);
        break;
    default:
        st = openai_chat_parse(rc, root, res);
        break;
    }
    if (st == SK_OK && !res->text && provider_set_str(&res->text, ""))
        st = SK_ENOMEM;
out:
    json_decref(root);
    if (st == SK_ENOMEM && !res->error[0])
        provider_error(res, rc, "out of memory");
    res->status = st;
    return st;
}

char *sk_provider_canonical(const struct sk_role_cfg *rc,
                            const struct sk_llm_request *req)
{
    json_t *body = NULL, *wrap = NULL;
    char *text = NULL;

    if (build_body(rc, req, &body) != SK_OK)
        return NULL;
    wrap = json_pack("{s:s, s:s, s:s, s:O}", "dialect",
                     provider_dialect_name(rc->dialect), "base_url",
                     rc->base_url ? rc->base_url : "", "model",
                     rc->model ? rc->model : "", "body", body);
    if (wrap)
        text = json_dumps(wrap, JSON_SORT_KEYS | JSON_COMPACT |
                                    JSON_REAL_PRECISION(15));
    json_decref(wrap);
    json_decref(body);
    return text;
}
