/*
 * llm.h - model calls: requests, results, roles and provider dialects.
 *
 * A struct sk_llm_request says what to ask (system text, messages, token
 * cap, whether JSON is wanted) and for which role and stage.  A role's
 * struct sk_role_cfg says where to send it (backend dialect, model, base
 * URL, key, parameters); it is resolved once from the configuration and the
 * environment.  A provider turns the pair into an HTTP request and turns
 * the HTTP response back into a struct sk_llm_result.  Providers are pure
 * (no I/O) except for Azure Entra tokens, which they obtain through
 * sk_azure_token().
 *
 * Ownership: requests and role configs are borrowed by every function
 * here; results own their strings (sk_llm_result_release).  Secrets in a
 * role config are registered with the log redactor when it is resolved.
 */
#ifndef SK_LLM_H
#define SK_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;

struct sk_config;
struct sk_http_request;
struct sk_http_response;

enum sk_role { SK_ROLE_OPTIMIZER = 0, SK_ROLE_TARGET = 1, SK_ROLE_COUNT };

/* Wire dialects. */
enum sk_dialect {
    SK_DIALECT_OPENAI_CHAT,      /* POST {base}/chat/completions, Bearer */
    SK_DIALECT_OPENAI_RESPONSES, /* POST {base}/responses, Bearer */
    SK_DIALECT_AZURE_CHAT,       /* {ep}/openai/deployments/{m}/chat/... */
    SK_DIALECT_AZURE_RESPONSES,  /* {ep}/openai/responses?api-version= */
    SK_DIALECT_ANTHROPIC,        /* POST {base}/v1/messages */
    SK_DIALECT_COMPAT            /* OpenAI-compatible servers (vLLM, ...) */
};

struct sk_llm_image {
    const char *mime;          /* "image/png" */
    const unsigned char *data; /* raw bytes (base64-encoded on the wire) */
    size_t len;
    const char *url;    /* or a URL instead of data */
    const char *detail; /* "auto" | "low" | "high" | NULL */
};

struct sk_llm_message {
    const char *role;    /* "user" | "assistant" */
    const char *content; /* text */
    const struct sk_llm_image *images;
    size_t n_images;
};

struct sk_llm_request {
    enum sk_role role;
    const char *stage;  /* "rollout", "analyst", "merge", ... */
    const char *system; /* system prompt, may be NULL */
    const struct sk_llm_message *messages;
    size_t n_messages;
    long max_tokens;              /* completion cap; 0: the role's default */
    int want_json;                /* ask for a JSON object (response_format) */
    const char *reasoning_effort; /* override; NULL: the role's */
    long timeout_ms;              /* per attempt; 0: the role's */
    int sample_index;             /* distinguishes samples in the cache */
    const char *skill; /* the skill inside system, for agent-CLI backends:
                          written where the CLI reads skills instead of
                          into the task; NULL: none */
};

struct sk_usage {
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    uint64_t cached_tokens;    /* prompt tokens served from a prompt cache */
    uint64_t reasoning_tokens; /* part of completion_tokens */
    int usage_known;           /* 0 when the reply carried no usage */
};

struct sk_llm_result {
    int status;          /* SK_OK, or an enum sk_llm_err */
    char *text;          /* the answer, <think> blocks removed; never NULL
                            on SK_OK */
    char *reasoning;     /* removed <think> text or reasoning summary */
    char *finish_reason; /* "stop", "length", "content_filter", ... */
    char *refusal;       /* a refusal message, if the model refused */
    struct sk_usage usage;
    long http_status;
    int attempts;
    int cache_hit;
    double latency_s;
    char error[512]; /* "openai_chat gpt-4o: HTTP 401: Incorrect API
                        key provided" - never contains a secret */
    /* agent-CLI backends only (NULL otherwise, and on a cache hit) */
    struct json_t *trace; /* the agent's trajectory (reflect.c's turns) */
    char *trace_summary;  /* its compact summary for the optimizer */
};

/* Failure classes of a model call (negative, beyond enum sk_err). */
enum sk_llm_err {
    SK_LLM_EPROVIDER = -100,  /* the provider answered with an error */
    SK_LLM_ETRANSPORT = -101, /* network failure after every retry */
    SK_LLM_ETIMEOUT = -102,   /* timed out after every retry */
    SK_LLM_EREPLY = -103,     /* a 2xx reply we cannot read */
    SK_LLM_EBUDGET = -104,    /* the run's cost or token cap is reached */
    SK_LLM_EREPLAY = -105,    /* replay mode and the reply is not recorded */
    SK_LLM_EAUTH = -106       /* no usable credential */
};

void sk_llm_result_init(struct sk_llm_result *r);
void sk_llm_result_release(struct sk_llm_result *r);

/* A role, resolved from config + environment. */
struct sk_role_cfg {
    enum sk_role role;
    char *backend; /* canonical: openai_chat, openai_compatible,
                      anthropic, sim, ... */
    enum sk_dialect dialect;
    char *model;       /* model or Azure deployment */
    char *base_url;    /* OpenAI/compat/Anthropic base, or Azure endpoint */
    char *api_key;     /* secret; "" when none */
    char *api_version; /* Azure */
    char *auth_mode;   /* Azure: api_key | azure_cli | managed_identity */
    char *ad_scope;    /* Azure Entra scope */
    char *mi_client_id;
    char *reasoning_effort;        /* "" = do not send */
    char *thinking_mode;           /* compat: server_default|enabled|disabled */
    double temperature;            /* NAN = do not send */
    long max_tokens;               /* default completion cap */
    long timeout_ms;               /* per attempt */
    int anthropic_thinking_budget; /* 0 = off */
};

void sk_role_cfg_init(struct sk_role_cfg *rc);
void sk_role_cfg_release(struct sk_role_cfg *rc);

/* Environment lookup, injectable for tests (getenv in production). */
typedef const char *(*sk_getenv_fn)(void *ud, const char *name);

/*
 * Resolves a role from the configuration and the environment with the
 * reference's precedence (config optimizer_x/target_x > config x > role env
 * > shared env > default) and variable names.  A missing key or endpoint
 * for a backend that needs one is SK_LLM_EAUTH / SK_ECONFIG with a message
 * naming the setting and the variables that can provide it.  Routing:
 * openai_chat is Azure OpenAI when an Azure endpoint is configured, else
 * the OpenAI API; claude_chat is the Anthropic Messages API with
 * ANTHROPIC_API_KEY (the reference drove the Claude Code CLI instead);
 * agent-CLI backends (codex_exec, claude_code_exec, cursor_exec,
 * copilot_exec) carry model and timeout only (llm/agent_call.c runs them).  A
 * model still at the reference sentinel (gpt-5.5 / gpt-5.4) takes the backend's
 * model variable or *_DEPLOYMENT when set, else the backend's default model. On
 * failure out is left empty (released).
 */
int sk_role_cfg_resolve(const struct sk_config *c, enum sk_role role,
                        sk_getenv_fn getenv_fn, void *ud,
                        struct sk_role_cfg *out, struct sk_error *err);

/*
 * Builds the HTTP request for req under rc (dialect, URL, headers, body).
 * The request is new (free with sk_http_request_free).
 */
int sk_provider_build(const struct sk_role_cfg *rc,
                      const struct sk_llm_request *req,
                      struct sk_http_request **out, struct sk_error *err);

/*
 * Reads an HTTP response under rc's dialect into res: on 2xx the text,
 * reasoning, finish reason and usage (SK_OK, or SK_LLM_EREPLY when the body
 * is not what the dialect promises); otherwise SK_LLM_EPROVIDER with the
 * provider's own error text in res->error.  Details: a refusal (OpenAI
 * message.refusal, a Responses refusal part, Anthropic stop_reason
 * "refusal") is SK_OK with res->refusal set and res->text ""; finish_reason
 * "length" (Anthropic max_tokens, Responses max_output_tokens) is SK_OK
 * with the partial text; finish reasons use the chat vocabulary (stop,
 * length, content_filter, tool_calls).  <think> blocks are split off only
 * in the compat dialect.  usage.usage_known is 0 when the reply had no
 * usage.  Transport outcomes map to SK_LLM_ETIMEOUT / SK_LLM_ETRANSPORT
 * (SK_LLM_EREPLY for an oversized body).  res must be freshly initialised;
 * res->status and res->http_status are set; errors are redacted and never
 * contain rc's key.
 */
int sk_provider_parse(const struct sk_role_cfg *rc,
                      const struct sk_http_response *resp,
                      struct sk_llm_result *res);

/*
 * The canonical JSON of a request under rc, used as the cache key input:
 * the body that would be sent, with keys sorted, plus dialect, base URL and
 * model.  New string (sk_free).
 */
char *sk_provider_canonical(const struct sk_role_cfg *rc,
                            const struct sk_llm_request *req);

/*
 * A Microsoft Entra bearer token for rc (auth_mode azure_cli: `az account
 * get-access-token --resource <ad_scope without /.default>`; managed_identity:
 * IMDS, or IDENTITY_ENDPOINT + IDENTITY_HEADER on App Service), cached per
 * (mode, scope, client id) until 300 s before it expires and registered with
 * the log redactor.  *token_out is new (sk_free).  SK_OK, SK_LLM_EAUTH with
 * the reason, SK_ECONFIG for another auth mode, or SK_ENOMEM.  Blocking;
 * thread-safe.
 */
int sk_azure_token(const struct sk_role_cfg *rc, char **token_out,
                   struct sk_error *err);
/* Forgets every cached token (tests, credential changes). */
void sk_azure_token_cache_clear(void);

#endif /* SK_LLM_H */
