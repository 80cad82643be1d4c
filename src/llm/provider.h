/*
 * provider.h - pieces shared by the provider dialects (provider.c,
 * provider_openai.c, provider_azure.c, provider_anthropic.c).  Internal to
 * src/llm: the rest of the program uses llm.h.
 *
 * Body builders return a new jansson object (json_decref it); request
 * builders return a new struct sk_http_request with URL and headers but no
 * body; parsers fill a struct sk_llm_result (whose strings they own) from a
 * parsed 2xx body.  Everything else is borrowed.
 */
#ifndef SK_PROVIDER_H
#define SK_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "llm/llm.h"

struct json_t;
struct sk_http_request;

/* "openai_chat", "openai_responses", "azure_chat", ... */
const char *provider_dialect_name(enum sk_dialect d);

/* The completion cap of req under rc (request, role, then 16384). */
long provider_max_tokens(const struct sk_role_cfg *rc,
                         const struct sk_llm_request *req);
/* The reasoning effort to send, or NULL when none. */
const char *provider_effort(const struct sk_role_cfg *rc,
                            const struct sk_llm_request *req);

/* New string "data:<mime>;base64,<...>" (or a copy of im->url); NULL on
 * ENOMEM. */
char *provider_image_url(const struct sk_llm_image *im);
/* New base64 text of data; NULL on ENOMEM. */
char *provider_base64(const unsigned char *data, size_t len);

/*
 * Splits s into the answer (every <think>...</think> block removed, and a
 * leading "...</think>" without an opening tag, as some chat templates
 * open the block in the prompt) and the removed reasoning (blocks joined
 * by "\n", "" when none).  An unclosed <think> runs to the end.  When
 * something was removed the answer is trimmed of surrounding blanks.
 * Both outputs are new strings.  SK_OK or SK_ENOMEM (outputs NULL).
 */
int provider_split_think(const char *s, char **answer, char **reasoning);

/* Replaces *dst with a copy of s (NULL: NULL).  SK_OK or SK_ENOMEM. */
int provider_set_str(char **dst, const char *s);

/*
 * Writes "<backend> <model>: <formatted text>" into res->error, with rc's
 * key scrubbed and registered secrets redacted.
 */
void provider_error(struct sk_llm_result *res, const struct sk_role_cfg *rc,
                    const char *fmt, ...) SK_PRINTF(3, 4);

/* Unsigned integer member of obj, 0 when absent or not a number; *found
 * (may be NULL) is set to 1 when it was present. */
uint64_t provider_u64(const struct json_t *obj, const char *key, int *found);

/* New string base (without trailing '/') + suffix, unless base already
 * ends with suffix.  NULL on ENOMEM. */
char *provider_join_url(const char *base, const char *suffix);

/* Sets a standard JSON content type header and the optional secret
 * header (name, value); marks it secret.  SK_OK or SK_ENOMEM. */
int provider_add_headers(struct sk_http_request *r, const char *auth_name,
                         const char *auth_value);

/* Bodies (SK_OK with *out set, or SK_ENOMEM). */
int openai_chat_body(const struct sk_role_cfg *rc,
                     const struct sk_llm_request *req, struct json_t **out);
int openai_responses_body(const struct sk_role_cfg *rc,
                          const struct sk_llm_request *req,
                          struct json_t **out);
int anthropic_body(const struct sk_role_cfg *rc,
                   const struct sk_llm_request *req, struct json_t **out);

/* Requests: URL and headers, no body. */
int openai_request(const struct sk_role_cfg *rc, struct sk_http_request **out,
                   struct sk_error *err);
int azure_request(const struct sk_role_cfg *rc, struct sk_http_request **out,
                  struct sk_error *err);
int anthropic_request(const struct sk_role_cfg *rc,
                      struct sk_http_request **out, struct sk_error *err);

/*
 * Parsers of a 2xx body.  SK_OK, SK_LLM_EREPLY (shape not as promised,
 * res->error says why), SK_LLM_EPROVIDER (an error object inside a 2xx
 * body) or SK_ENOMEM.
 */
int openai_chat_parse(const struct sk_role_cfg *rc, struct json_t *root,
                      struct sk_llm_result *res);
int openai_responses_parse(const struct sk_role_cfg *rc, struct json_t *root,
                           struct sk_llm_result *res);
int anthropic_parse(const struct sk_role_cfg *rc, struct json_t *root,
                    struct sk_llm_result *res);

#endif /* SK_PROVIDER_H */
