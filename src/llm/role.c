/*
 * role.c - resolves the optimizer and target roles (backend, dialect,
 * model, endpoint, key and parameters) from the configuration and the
 * environment, with the reference's precedence and variable names:
 * config optimizer_x/target_x > config x > role env > shared env > default.
 * A config value counts as given when it was set explicitly (or differs
 * from its table default); a variable counts when it is non-empty.
 */
#include "common.h"

#include "llm/llm.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "util/alloc.h"
#include "util/log.h"

#define DEFAULT_MAX_TOKENS 16384
#define DEFAULT_AZURE_VERSION "2024-12-01-preview"
/* The Responses API needs a newer preview than the chat default. */
#define DEFAULT_AZURE_RESPONSES_VERSION "2025-04-01-preview"
#define DEFAULT_AD_SCOPE "https://cognitiveservices.azure.com/.default"

struct rs {
    const struct sk_config *c;
    enum sk_role role;
    const char *P; /* "OPTIMIZER" | "TARGET" */
    const char *p; /* "optimizer" | "target" */
    sk_getenv_fn fn;
    void *ud;
    struct sk_role_cfg *out;
    struct sk_error *err;
    char name[160]; /* scratch for variable names */
};

/* Role-specific option id. */
#define RID(r, name)                                                           \
    ((r)->role == SK_ROLE_OPTIMIZER ? SK_OPT_optimizer_##name                  \
                                    : SK_OPT_target_##name)

void sk_role_cfg_init(struct sk_role_cfg *rc)
{
    memset(rc, 0, sizeof *rc);
    rc->temperature = NAN;
}

void sk_role_cfg_release(struct sk_role_cfg *rc)
{
    if (!rc)
        return;
    sk_free(rc->backend);
    sk_free(rc->model);
    sk_free(rc->base_url);
    sk_free(rc->api_key);
    sk_free(rc->api_version);
    sk_free(rc->auth_mode);
    sk_free(rc->ad_scope);
    sk_free(rc->mi_client_id);
    sk_free(rc->reasoning_effort);
    sk_free(rc->thinking_mode);
    sk_role_cfg_init(rc);
}

/* Whether option id was given (explicitly, or away from its default). */
static int cfg_given(const struct sk_config *c, int id)
{
    const struct sk_option *o = &sk_options[id];
    const void *field = (const char *)c + o->offset;

    if (c->is_null[id])
        return 0;
    if (o->type == SK_OPT_STR || o->type == SK_OPT_ENUM) {
        const char *s = *(char *const *)field;
        if (!s || !*s)
            return 0;
        return c->origin[id] != NULL || !o->def || strcmp(s, o->def) != 0;
    }
    return c->origin[id] != NULL;
}

static const char *cstr(const struct rs *r, int id)
{
    if (!cfg_given(r->c, id))
        return NULL;
    return *(char *const *)((const char *)r->c + sk_options[id].offset);
}

static const char *env(struct rs *r, const char *fmt, ...) SK_PRINTF(2, 3);
static const char *env(struct rs *r, const char *fmt, ...)
{
    va_list ap;
    const char *v;
    va_start(ap, fmt);
    vsnprintf(r->name, sizeof r->name, fmt, ap);
    va_end(ap);
    v = r->fn(r->ud, r->name);
    return v && *v ? v : NULL;
}

/* {P}_<pre>_<x> > <pre>_<x>. */
static const char *env2(struct rs *r, const char *pre, const char *x)
{
    const char *v = env(r, "%s_%s_%s", r->P, pre, x);
    return v ? v : env(r, "%s_%s", pre, x);
}

/* {P}_AZURE_OPENAI_X > AZURE_OPENAI_{P}_X > AZURE_OPENAI_X. */
static const char *azure_env(struct rs *r, const char *x)
{
    const char *v = env(r, "%s_AZURE_OPENAI_%s", r->P, x);
    if (!v)
        v = env(r, "AZURE_OPENAI_%s_%s", r->P, x);
    return v ? v : env(r, "AZURE_OPENAI_%s", x);
}

static const char *pick(const char *a, const char *b)
{
    return a ? a : b;
}

static int set(struct rs *r, char **dst, const char *v)
{
    char *c = sk_strdup(v ? v : "");
    if (!c)
        return sk_error_set(r->err, SK_ENOMEM, "out of memory");
    sk_free(*dst);
    *dst = c;
    return SK_OK;
}

/* Parses a number from variable `name` (already looked up as v). */
static int env_double(struct rs *r, const char *name, const char *v,
                      double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (errno || end == v || *end)
        return sk_error_set(r->err, SK_ECONFIG, "%s: '%s' is not a number",
                            name, v);
    return SK_OK;
}

static int env_long(struct rs *r, const char *name, const char *v, long *out)
{
    char *end;
    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno || end == v || *end || *out <= 0)
        return sk_error_set(r->err, SK_ECONFIG,
                            "%s: '%s' is not a positive integer", name, v);
    return SK_OK;
}

/* Temperature words that mean "do not send one". */
static int temperature_off(const char *v)
{
    return strcasecmp(v, "none") == 0 || strcasecmp(v, "off") == 0 ||
           strcasecmp(v, "null") == 0;
}

/* Reads the temperature variable chain <pre>_TEMPERATURE into out. */
static int env_temperature(struct rs *r, const char *pre, double *out)
{
    const char *v = env2(r, pre, "TEMPERATURE");
    char name[160];
    if (!v)
        return SK_OK;
    snprintf(name, sizeof name, "%s", r->name);
    if (temperature_off(v)) {
        *out = NAN;
        return SK_OK;
    }
    return env_double(r, name, v, out);
}

static int env_max_tokens(struct rs *r, const char *pre)
{
    const char *v = env2(r, pre, "MAX_TOKENS");
    char name[160];
    if (!v)
        return SK_OK;
    snprintf(name, sizeof name, "%s", r->name);
    return env_long(r, name, v, &r->out->max_tokens);
}

/* Timeout from <pre>_TIMEOUT_SECONDS unless the config set one. */
static int env_timeout(struct rs *r, const char *pre)
{
    int id = r->role == SK_ROLE_OPTIMIZER ? SK_OPT_optimizer_timeout
                                          : SK_OPT_exec_timeout;
    const char *v =
        cfg_given(r->c, id) ? NULL : env2(r, pre, "TIMEOUT_SECONDS");
    char name[160];
    double s;
    int st;
    if (!v)
        return SK_OK;
    snprintf(name, sizeof name, "%s", r->name);
    st = env_double(r, name, v, &s);
    if (st == SK_OK && s > 0)
        r->out->timeout_ms = (long)(s * 1000.0);
    return st;
}

static int is_sentinel(const char *m)
{
    return strcmp(m, "gpt-5.5") == 0 || strcmp(m, "gpt-5.4") == 0;
}

/* The model when the config left the OpenAI sentinel: first variable
 * given, else fallback (NULL: keep the sentinel). */
static int sentinel_model(struct rs *r, const char *v1, const char *v2,
                          const char *fallback)
{
    const char *dep;
    if (!is_sentinel(r->out->model))
        return SK_OK;
    dep = env(r, "%s_DEPLOYMENT", r->P);
    v1 = pick(v1, pick(v2, pick(dep, fallback)));
    return v1 ? set(r, &r->out->model, v1) : SK_OK;
}

static const char *canon_label(const char *b)
{
    static const char *const map[][2] = {
        {"codex", "codex_exec"},        {"claude", "claude_chat"},
        {"cursor", "cursor_exec"},      {"copilot", "copilot_chat"},
        {"qwen", "qwen_chat"},          {"minimax", "minimax_chat"},
        {"azure_openai", "openai_chat"}};
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(map); i++)
        if (strcmp(b, map[i][0]) == 0)
            return map[i][1];
    return b;
}

static int in_list(const char *s, const char *const *list, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* The role's backend: its own setting, or the model.backend label when
 * the role is still at openai_chat (backends.md section 3). */
static const char *role_backend(const struct sk_config *c, enum sk_role role)
{
    static const char *const both[] = {"claude_chat", "codex_exec",
                                       "copilot_chat", "openai_compatible",
                                       "sim"};
    static const char *const target_only[] = {"claude_code_exec", "cursor_exec",
                                              "copilot_exec", "qwen_chat",
                                              "minimax_chat"};
    const char *b =
        role == SK_ROLE_OPTIMIZER ? c->optimizer_backend : c->target_backend;
    const char *label;

    if (b && *b && strcmp(b, "openai_chat") != 0)
        return b;
    label = canon_label(c->model_backend ? c->model_backend : "");
    if (in_list(label, both, SK_ARRAY_LEN(both)))
        return label;
    if (role == SK_ROLE_TARGET &&
        in_list(label, target_only, SK_ARRAY_LEN(target_only)))
        return label;
    return "openai_chat";
}

static int resolve_azure(struct rs *r, const char *endpoint, int responses)
{
    const struct sk_config *c = r->c;
    struct sk_role_cfg *o = r->out;
    const char *ver, *key, *mode, *scope, *client;
    int st;

    ver = pick(cstr(r, RID(r, azure_openai_api_version)),
               pick(cstr(r, SK_OPT_azure_openai_api_version),
                    pick(cstr(r, SK_OPT_azure_api_version),
                         azure_env(r, "API_VERSION"))));
    if (!ver)
        ver =
            responses ? DEFAULT_AZURE_RESPONSES_VERSION : DEFAULT_AZURE_VERSION;
    key = pick(
        cstr(r, RID(r, azure_openai_api_key)),
        pick(cstr(r, SK_OPT_azure_openai_api_key),
             pick(cstr(r, SK_OPT_azure_api_key),
                  pick(cstr(r, RID(r, api_key)), azure_env(r, "API_KEY")))));
    mode = pick(cstr(r, RID(r, azure_openai_auth_mode)),
                pick(cstr(r, SK_OPT_azure_openai_auth_mode),
                     azure_env(r, "AUTH_MODE")));
    /* The reference defaults to the Azure CLI; a configured key is the
     * clearer intent, so it wins when no mode is named. */
    if (!mode)
        mode = key ? "api_key" : "azure_cli";
    if (strcmp(mode, "key") == 0)
        mode = "api_key";
    else if (strcmp(mode, "cli") == 0)
        mode = "azure_cli";
    else if (strcmp(mode, "aad") == 0 || strcmp(mode, "msi") == 0)
        mode = "managed_identity";
    scope = pick(
        cstr(r, RID(r, azure_openai_ad_scope)),
        pick(cstr(r, SK_OPT_azure_openai_ad_scope), azure_env(r, "AD_SCOPE")));
    client = pick(cstr(r, RID(r, azure_openai_managed_identity_client_id)),
                  pick(cstr(r, SK_OPT_azure_openai_managed_identity_client_id),
                       azure_env(r, "MANAGED_IDENTITY_CLIENT_ID")));
    if (strcmp(mode, "openai_compatible") == 0) {
        /* The reference's escape hatch: a plain OpenAI client on the
         * endpoint, Bearer key. */
        o->dialect =
            responses ? SK_DIALECT_OPENAI_RESPONSES : SK_DIALECT_OPENAI_CHAT;
        mode = "api_key";
    } else if (strcmp(mode, "api_key") != 0 && strcmp(mode, "azure_cli") != 0 &&
               strcmp(mode, "managed_identity") != 0) {
        return sk_error_set(
            r->err, SK_ECONFIG,
            "Azure auth mode '%s' is not one of api_key, "
            "azure_cli, managed_identity (model.%s_azure_"
            "openai_auth_mode, model.azure_openai_auth_mode, "
            "%s_AZURE_OPENAI_AUTH_MODE, AZURE_OPENAI_AUTH_MODE)",
            mode, r->p, r->P);
    } else {
        o->dialect =
            responses ? SK_DIALECT_AZURE_RESPONSES : SK_DIALECT_AZURE_CHAT;
    }
    if (strcmp(mode, "api_key") == 0 && !key)
        return sk_error_set(
            r->err, SK_LLM_EAUTH,
            "no Azure OpenAI key for the %s: set model.%s_azure_openai_api_key"
            " or model.azure_openai_api_key, or one of %s_AZURE_OPENAI_API_KEY,"
            " AZURE_OPENAI_%s_API_KEY, AZURE_OPENAI_API_KEY (or choose "
            "AZURE_OPENAI_AUTH_MODE=azure_cli|managed_identity)",
            r->p, r->p, r->P, r->P);
    (void)c;
    if ((st = set(r, &o->base_url, endpoint)) ||
        (st = set(r, &o->api_version, ver)) ||
        (st = set(r, &o->api_key, key)) || (st = set(r, &o->auth_mode, mode)) ||
        (st = set(r, &o->ad_scope, pick(scope, DEFAULT_AD_SCOPE))) ||
        (st = set(r, &o->mi_client_id, client)))
        return st;
    return sentinel_model(r, NULL, NULL, NULL);
}

static int resolve_openai(struct rs *r)
{
    struct sk_role_cfg *o = r->out;
    const char *api =
        r->role == SK_ROLE_OPTIMIZER ? r->c->optimizer_api : r->c->target_api;
    int responses = api && strcmp(api, "responses") == 0;
    const char *endpoint, *base, *key;
    int st;

    endpoint = pick(
        cstr(r, RID(r, azure_openai_endpoint)),
        pick(cstr(r, SK_OPT_azure_openai_endpoint),
             pick(cstr(r, SK_OPT_azure_endpoint), azure_env(r, "ENDPOINT"))));
    if (endpoint)
        return resolve_azure(r, endpoint, responses);
    base = pick(cstr(r, RID(r, base_url)), env(r, "OPENAI_BASE_URL"));
    key = pick(cstr(r, RID(r, api_key)), env(r, "OPENAI_API_KEY"));
    if (!key)
        return sk_error_set(
            r->err, SK_LLM_EAUTH,
            "no OpenAI key for the %s: set llm.%s_api_key or OPENAI_API_KEY,"
            " or configure Azure OpenAI (model.azure_openai_endpoint, "
            "%s_AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_%s_ENDPOINT, "
            "AZURE_OPENAI_ENDPOINT)",
            r->p, r->p, r->P, r->P);
    o->dialect =
        responses ? SK_DIALECT_OPENAI_RESPONSES : SK_DIALECT_OPENAI_CHAT;
    if ((st = set(r, &o->base_url, pick(base, "https://api.openai.com/v1"))) ||
        (st = set(r, &o->api_key, key)))
        return st;
    return sentinel_model(r, NULL, NULL, NULL);
}

static int resolve_compat(struct rs *r)
{
    struct sk_role_cfg *o = r->out;
    const char *base, *key;
    int st;

    o->dialect = SK_DIALECT_COMPAT;
    base = pick(cstr(r, RID(r, base_url)),
                env2(r, "OPENAI_COMPATIBLE", "BASE_URL"));
    key =
        pick(cstr(r, RID(r, api_key)), env2(r, "OPENAI_COMPATIBLE", "API_KEY"));
    if ((st = set(r, &o->base_url, pick(base, "https://api.openai.com/v1"))) ||
        (st = set(r, &o->api_key, key)))
        return st;
    if (!cfg_given(r->c, RID(r, temperature)) &&
        (st = env_temperature(r, "OPENAI_COMPATIBLE", &o->temperature)))
        return st;
    if ((st = env_max_tokens(r, "OPENAI_COMPATIBLE")) ||
        (st = env_timeout(r, "OPENAI_COMPATIBLE")))
        return st;
    return sentinel_model(r, env(r, "%s_OPENAI_COMPATIBLE_MODEL", r->P),
                          env(r, "OPENAI_COMPATIBLE_MODEL"), "gpt-4o-mini");
}

/* Thinking policy from a mode string or a legacy enable switch. */
static int thinking_word(struct rs *r, const char *what, const char *v,
                         const char **mode)
{
    if (strcmp(v, "server_default") == 0 || strcmp(v, "enabled") == 0 ||
        strcmp(v, "disabled") == 0) {
        *mode = v;
        return SK_OK;
    }
    return sk_error_set(r->err, SK_ECONFIG,
                        "%s: '%s' is not server_default, enabled or disabled",
                        what, v);
}

/* Legacy enable switch: true asks for thinking; false leaves the
 * server's default alone, as in the reference. */
static const char *enable_word(const char *v)
{
    return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
                   strcasecmp(v, "yes") == 0
               ? "enabled"
               : "server_default";
}

static int resolve_qwen(struct rs *r)
{
    const struct sk_config *c = r->c;
    struct sk_role_cfg *o = r->out;
    const char *base, *key, *mode = NULL, *v;
    int st, tid;
    char name[160];

    o->dialect = SK_DIALECT_COMPAT;
    base = pick(cstr(r, RID(r, qwen_chat_base_url)),
                pick(cstr(r, RID(r, base_url)),
                     pick(cstr(r, SK_OPT_qwen_chat_base_url),
                          env2(r, "QWEN_CHAT", "BASE_URL"))));
    key = pick(
        cstr(r, RID(r, qwen_chat_api_key)),
        pick(cstr(r, RID(r, api_key)), pick(cstr(r, SK_OPT_qwen_chat_api_key),
                                            env2(r, "QWEN_CHAT", "API_KEY"))));
    if ((st = set(r, &o->base_url, pick(base, "http://localhost:8000/v1"))) ||
        (st = set(r, &o->api_key, key)))
        return st;
    /* temperature: 0.7 unless given (or turned off). */
    if (!cfg_given(c, RID(r, temperature))) {
        o->temperature = 0.7;
        tid = cfg_given(c, RID(r, qwen_chat_temperature))
                  ? RID(r, qwen_chat_temperature)
                  : SK_OPT_qwen_chat_temperature;
        if (cfg_given(c, tid))
            o->temperature =
                *(const double *)((const char *)c + sk_options[tid].offset);
        else if ((st = env_temperature(r, "QWEN_CHAT", &o->temperature)))
            return st;
    }
    tid = cfg_given(c, RID(r, qwen_chat_max_tokens))
              ? RID(r, qwen_chat_max_tokens)
              : SK_OPT_qwen_chat_max_tokens;
    if (cfg_given(c, tid))
        o->max_tokens =
            (long)*(const int64_t *)((const char *)c + sk_options[tid].offset);
    else if ((st = env_max_tokens(r, "QWEN_CHAT")))
        return st;
    tid = cfg_given(c, RID(r, qwen_chat_timeout_seconds))
              ? RID(r, qwen_chat_timeout_seconds)
              : SK_OPT_qwen_chat_timeout_seconds;
    if (cfg_given(c, tid))
        o->timeout_ms =
            (long)(1000.0 *
                   *(const double *)((const char *)c + sk_options[tid].offset));
    else if ((st = env_timeout(r, "QWEN_CHAT")))
        return st;
    /* thinking: role mode > role switch > shared mode > shared switch >
     * the same four variables > server_default */
    if (cstr(r, RID(r, qwen_chat_thinking_mode)))
        mode = cstr(r, RID(r, qwen_chat_thinking_mode));
    else if (!c->is_null[RID(r, qwen_chat_enable_thinking)] &&
             c->origin[RID(r, qwen_chat_enable_thinking)])
        mode =
            *(const int *)((const char *)c +
                           sk_options[RID(r, qwen_chat_enable_thinking)].offset)
                ? "enabled"
                : "server_default";
    else if (cstr(r, SK_OPT_qwen_chat_thinking_mode))
        mode = cstr(r, SK_OPT_qwen_chat_thinking_mode);
    else if (!c->is_null[SK_OPT_qwen_chat_enable_thinking] &&
             c->origin[SK_OPT_qwen_chat_enable_thinking])
        mode = c->qwen_chat_enable_thinking ? "enabled" : "server_default";
    else if ((v = env2(r, "QWEN_CHAT", "THINKING_MODE")) != NULL) {
        snprintf(name, sizeof name, "%s", r->name);
        if ((st = thinking_word(r, name, v, &mode)))
            return st;
    } else if ((v = env2(r, "QWEN_CHAT", "ENABLE_THINKING")) != NULL)
        mode = enable_word(v);
    if ((st = set(r, &o->thinking_mode, pick(mode, "server_default"))))
        return st;
    return sentinel_model(r, env(r, "%s_QWEN_CHAT_MODEL", r->P),
                          env(r, "QWEN_CHAT_MODEL"), "Qwen/Qwen3.5-4B");
}

static int resolve_minimax(struct rs *r)
{
    const struct sk_config *c = r->c;
    struct sk_role_cfg *o = r->out;
    const char *base, *key, *region, *v;
    int st, on;

    o->dialect = SK_DIALECT_COMPAT;
    region = pick(cstr(r, SK_OPT_minimax_region), env(r, "MINIMAX_REGION"));
    region = pick(region, "global_en");
    base = pick(
        cstr(r, RID(r, minimax_base_url)),
        pick(cstr(r, RID(r, base_url)), pick(cstr(r, SK_OPT_minimax_base_url),
                                             env(r, "MINIMAX_BASE_URL"))));
    if (!base) {
        if (strcmp(region, "global_en") == 0)
            base = "https://api.minimax.io/v1";
        else if (strcmp(region, "cn_zh") == 0)
            base = "https://api.minimaxi.com/v1";
        else
            return sk_error_set(r->err, SK_ECONFIG,
                                "MINIMAX_REGION: '%s' is not global_en or "
                                "cn_zh",
                                region);
    }
    key = pick(
        cstr(r, RID(r, minimax_api_key)),
        pick(cstr(r, RID(r, api_key)),
             pick(cstr(r, SK_OPT_minimax_api_key), env(r, "MINIMAX_API_KEY"))));
    if (!key)
        return sk_error_set(r->err, SK_LLM_EAUTH,
                            "no MiniMax key for the %s: set "
                            "model.%s_minimax_api_key, model.minimax_api_key "
                            "or MINIMAX_API_KEY",
                            r->p, r->p);
    if ((st = set(r, &o->base_url, base)) || (st = set(r, &o->api_key, key)))
        return st;
    if (!cfg_given(c, RID(r, temperature))) {
        o->temperature = c->minimax_temperature;
        if (!cfg_given(c, SK_OPT_minimax_temperature) &&
            (v = env(r, "MINIMAX_TEMPERATURE")) != NULL) {
            if (temperature_off(v))
                o->temperature = NAN;
            else if ((st = env_double(r, "MINIMAX_TEMPERATURE", v,
                                      &o->temperature)))
                return st;
        }
    }
    if (cfg_given(c, SK_OPT_minimax_max_tokens))
        o->max_tokens = (long)c->minimax_max_tokens;
    else if ((v = env(r, "MINIMAX_MAX_TOKENS")) != NULL &&
             (st = env_long(r, "MINIMAX_MAX_TOKENS", v, &o->max_tokens)))
        return st;
    if (!cfg_given(c, r->role == SK_ROLE_OPTIMIZER ? SK_OPT_optimizer_timeout
                                                   : SK_OPT_exec_timeout) &&
        (v = env(r, "MINIMAX_TIMEOUT_SECONDS")) != NULL) {
        double s;
        if ((st = env_double(r, "MINIMAX_TIMEOUT_SECONDS", v, &s)))
            return st;
        if (s > 0)
            o->timeout_ms = (long)(s * 1000.0);
    }
    if (!is_sentinel(o->model) || !env(r, "MINIMAX_MODEL"))
        st = sentinel_model(r, NULL, NULL, c->minimax_model);
    else
        st = sentinel_model(r, env(r, "MINIMAX_MODEL"), NULL, NULL);
    if (st)
        return st;
    on = c->minimax_enable_thinking;
    if (!cfg_given(c, SK_OPT_minimax_enable_thinking) &&
        (v = env(r, "MINIMAX_ENABLE_THINKING")) != NULL)
        on = strcmp(enable_word(v), "enabled") == 0;
    /* MiniMax-M2 models always think. */
    if (strncmp(o->model, "MiniMax-M2", 10) == 0)
        on = 1;
    return set(r, &o->thinking_mode, on ? "enabled" : "disabled");
}

static int resolve_anthropic(struct rs *r)
{
    struct sk_role_cfg *o = r->out;
    const char *base, *key;
    int st;

    o->dialect = SK_DIALECT_ANTHROPIC;
    base = pick(cstr(r, RID(r, base_url)), env(r, "ANTHROPIC_BASE_URL"));
    key = pick(cstr(r, RID(r, api_key)), env(r, "ANTHROPIC_API_KEY"));
    if (!key)
        return sk_error_set(r->err, SK_LLM_EAUTH,
                            "no Anthropic key for the %s (claude_chat): set "
                            "llm.%s_api_key or ANTHROPIC_API_KEY",
                            r->p, r->p);
    if ((st = set(r, &o->base_url, pick(base, "https://api.anthropic.com"))) ||
        (st = set(r, &o->api_key, key)))
        return st;
    o->anthropic_thinking_budget =
        (int)(r->role == SK_ROLE_OPTIMIZER ? r->c->optimizer_thinking_budget
                                           : r->c->target_thinking_budget);
    return sentinel_model(r, NULL, NULL, "claude-sonnet-4-6");
}

static int resolve(struct rs *r, const char *backend)
{
    static const char *const cli[] = {"copilot_chat"};
    static const char *const agents[] = {"codex_exec", "claude_code_exec",
                                         "cursor_exec", "copilot_exec"};
    const struct sk_config *c = r->c;
    struct sk_role_cfg *o = r->out;
    int st, tid = RID(r, temperature);

    if (in_list(backend, cli, SK_ARRAY_LEN(cli)))
        return sk_error_set(r->err, SK_ECONFIG,
                            "backend %s (the Copilot CLI as a chat model) is "
                            "not supported; use copilot_exec for the target",
                            backend);
    o->role = r->role;
    if ((st = set(r, &o->backend, backend)) ||
        (st = set(r, &o->model,
                  r->role == SK_ROLE_OPTIMIZER ? c->optimizer_model
                                               : c->target_model)) ||
        (st = set(r, &o->reasoning_effort, c->reasoning_effort)) ||
        (st = set(r, &o->thinking_mode, "server_default")) ||
        (st = set(r, &o->base_url, "")) || (st = set(r, &o->api_key, "")) ||
        (st = set(r, &o->api_version, "")) ||
        (st = set(r, &o->auth_mode, "")) || (st = set(r, &o->ad_scope, "")) ||
        (st = set(r, &o->mi_client_id, "")))
        return st;
    o->temperature =
        c->is_null[tid]
            ? NAN
            : *(const double *)((const char *)c + sk_options[tid].offset);
    o->max_tokens = DEFAULT_MAX_TOKENS;
    if (r->role == SK_ROLE_TARGET &&
        !c->is_null[SK_OPT_max_completion_tokens] &&
        c->max_completion_tokens > 0)
        o->max_tokens = (long)c->max_completion_tokens;
    o->timeout_ms =
        1000L * (long)(r->role == SK_ROLE_OPTIMIZER ? c->optimizer_timeout
                                                    : c->exec_timeout);
    if (strcmp(backend, "openai_chat") == 0)
        return resolve_openai(r);
    if (strcmp(backend, "openai_compatible") == 0)
        return resolve_compat(r);
    if (strcmp(backend, "qwen_chat") == 0)
        return resolve_qwen(r);
    if (strcmp(backend, "minimax_chat") == 0)
        return resolve_minimax(r);
    if (strcmp(backend, "claude_chat") == 0)
        return resolve_anthropic(r);
    if (in_list(backend, agents, SK_ARRAY_LEN(agents))) {
        /* an agent CLI runs the call (llm/agent_call.c); its model is the
         * CLI's own default unless one is configured */
        o->timeout_ms = 1000L * (long)c->agent_timeout;
        if (is_sentinel(o->model) && strcmp(backend, "codex_exec") != 0)
            return set(r, &o->model, "");
        return SK_OK;
    }
    if (strcmp(backend, "sim") == 0) {
        /* The client starts the simulator and fills base_url. */
        o->dialect = SK_DIALECT_COMPAT;
        return SK_OK;
    }
    return sk_error_set(r->err, SK_ECONFIG, "unknown backend '%s' for the %s",
                        backend, r->p);
}

static const char *libc_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

int sk_role_cfg_resolve(const struct sk_config *c, enum sk_role role,
                        sk_getenv_fn getenv_fn, void *ud,
                        struct sk_role_cfg *out, struct sk_error *err)
{
    struct rs r;
    int st;

    memset(&r, 0, sizeof r);
    r.c = c;
    r.role = role;
    r.P = role == SK_ROLE_OPTIMIZER ? "OPTIMIZER" : "TARGET";
    r.p = role == SK_ROLE_OPTIMIZER ? "optimizer" : "target";
    r.fn = getenv_fn ? getenv_fn : libc_getenv;
    r.ud = ud;
    r.out = out;
    r.err = err;
    sk_role_cfg_release(out);
    st = resolve(&r, role_backend(c, role));
    if (st == SK_OK && out->api_key && *out->api_key &&
        sk_log_add_secret(out->api_key) != SK_OK)
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
    if (st != SK_OK)
        sk_role_cfg_release(out);
    return st;
}
