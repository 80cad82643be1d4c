/*
 * provider_azure.c - Azure OpenAI requests: deployment paths with
 * ?api-version= (chat completions and responses), or the GA /openai/v1
 * paths when the API version is "v1"; api-key header or an Entra bearer
 * token from sk_azure_token.  Bodies and replies are OpenAI's
 * (provider_openai.c).
 */
#include "common.h"

#include "llm/provider.h"

#include <string.h>

#include "llm/http.h"
#include "util/alloc.h"
#include "util/buf.h"

/* Appends s percent-encoded (RFC 3986 unreserved characters kept). */
static int put_escaped(struct sk_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '~';
        if (plain ? sk_buf_putc(b, (char)c)
                  : sk_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]))
            return SK_ENOMEM;
    }
    return SK_OK;
}

/* Length of the endpoint without trailing '/', "/openai" or "/openai/v1"
 * (users paste any of these). */
static size_t endpoint_len(const char *ep)
{
    size_t n = strlen(ep);
    static const char *const tails[] = {"/openai/v1", "/openai"};
    size_t i, tl;

    while (n > 0 && ep[n - 1] == '/')
        n--;
    for (i = 0; i < SK_ARRAY_LEN(tails); i++) {
        tl = strlen(tails[i]);
        if (n >= tl && memcmp(ep + n - tl, tails[i], tl) == 0) {
            n -= tl;
            break;
        }
    }
    while (n > 0 && ep[n - 1] == '/')
        n--;
    return n;
}

static int azure_url(const struct sk_role_cfg *rc, struct sk_buf *b)
{
    int responses = rc->dialect == SK_DIALECT_AZURE_RESPONSES;
    const char *ver = rc->api_version ? rc->api_version : "";
    int st;

    st = sk_buf_append(b, rc->base_url, endpoint_len(rc->base_url));
    if (st == SK_OK && strcmp(ver, "v1") == 0)
        return sk_buf_puts(b, responses ? "/openai/v1/responses"
                                        : "/openai/v1/chat/completions");
    if (st == SK_OK && responses)
        st = sk_buf_puts(b, "/openai/responses?api-version=");
    else if (st == SK_OK) {
        st = sk_buf_puts(b, "/openai/deployments/");
        if (st == SK_OK)
            st = put_escaped(b, rc->model);
        if (st == SK_OK)
            st = sk_buf_puts(b, "/chat/completions?api-version=");
    }
    if (st == SK_OK)
        st = put_escaped(b, ver);
    return st;
}

int azure_request(const struct sk_role_cfg *rc, struct sk_http_request **out,
                  struct sk_error *err)
{
    struct sk_http_request *r = NULL;
    struct sk_buf url, auth;
    char *token = NULL;
    const char *mode =
        rc->auth_mode && *rc->auth_mode ? rc->auth_mode : "api_key";
    int st;

    *out = NULL;
    sk_buf_init(&url, SK_BUF_UNLIMITED);
    sk_buf_init(&auth, SK_BUF_UNLIMITED);
    if (azure_url(rc, &url) != SK_OK) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (strcmp(mode, "api_key") != 0) {
        st = sk_azure_token(rc, &token, err);
        if (st != SK_OK)
            goto out;
        if (sk_buf_printf(&auth, "Bearer %s", token)) {
            st = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
    }
    r = sk_http_request_new("POST", sk_buf_cstr(&url));
    if (!r || provider_add_headers(r, token ? "Authorization" : "api-key",
                                   token ? sk_buf_cstr(&auth)
                                         : (rc->api_key ? rc->api_key : ""))) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    *out = r;
    r = NULL;
    st = SK_OK;
out:
    sk_http_request_free(r);
    sk_buf_release(&url);
    sk_buf_release(&auth);
    sk_free(token);
    return st;
}
