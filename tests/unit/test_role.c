/*
 * test_role.c - role resolution: backend routing (model.backend label
 * rules), dialect choice, endpoint/key/model precedence between config,
 * role variables and shared variables, required-setting errors, and secret
 * registration.  The environment is an injected map, never the process's.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "llm/llm.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/log.h"

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
    return 0;
}

#define MAX_ENV 12

/* "NAME=VALUE" items. */
struct env_map {
    const char *items[MAX_ENV];
};

static const char *map_getenv(void *ud, const char *name)
{
    const struct env_map *m = ud;
    size_t i, n = strlen(name);
    for (i = 0; i < MAX_ENV && m->items[i]; i++)
        if (strncmp(m->items[i], name, n) == 0 && m->items[i][n] == '=')
            return m->items[i] + n + 1;
    return NULL;
}

static void load_yaml(const char *yaml, struct sk_config *c)
{
    struct sk_config_args a;
    struct sk_error err;
    char *path = tu_write(tmpdir, "cfg.yaml", yaml);
    memset(&a, 0, sizeof a);
    a.path = path;
    sk_config_init(c);
    if (sk_config_load(&a, c, &err) != SK_OK)
        fail_msg("config: %s", err.msg);
    sk_free(path);
}

enum { T_SKIP, T_NAN, T_VAL };

struct role_case {
    const char *what;
    const char *yaml;
    struct env_map env;
    enum sk_role role;
    int want;
    const char *err_sub;  /* failures: substring of the message */
    const char *err_sub2; /* and a second one */
    /* successes (NULL / -1: not checked) */
    const char *backend;
    int dialect;
    const char *model;
    const char *base_url;
    const char *api_key;
    const char *api_version;
    const char *auth_mode;
    const char *thinking;
    int temp_kind;
    double temp;
    long max_tokens;
    long timeout_ms;
};

#define BASE "model:\n  reasoning_effort: medium\n"
#define OPT SK_ROLE_OPTIMIZER
#define TGT SK_ROLE_TARGET

static const struct role_case cases[] = {
    {"openai default",
     BASE,
     {{"OPENAI_API_KEY=sk-env-key-1"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_OPENAI_CHAT,
     "gpt-5.5",
     "https://api.openai.com/v1",
     "sk-env-key-1",
     "",
     "",
     "server_default",
     T_NAN,
     0,
     16384,
     600000},
    {"openai needs a key",
     BASE,
     {{NULL}},
     OPT,
     SK_LLM_EAUTH,
     "llm.optimizer_api_key",
     "OPENAI_API_KEY",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"openai config beats env",
     BASE "llm:\n  target_base_url: http://proxy/v1\n  target_api_key: "
          "sk-cfg-key-2\n  target_temperature: 0.4\n  target_api: "
          "responses\nenv:\n  exec_timeout: 30\n",
     {{"OPENAI_API_KEY=sk-env-key-1", "OPENAI_BASE_URL=http://env/v1",
       "TARGET_DEPLOYMENT=dep-from-env"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_OPENAI_RESPONSES,
     "dep-from-env",
     "http://proxy/v1",
     "sk-cfg-key-2",
     NULL,
     NULL,
     NULL,
     T_VAL,
     0.4,
     16384,
     30000},
    {"azure from shared env",
     BASE,
     {{"AZURE_OPENAI_ENDPOINT=https://a.openai.azure.com",
       "AZURE_OPENAI_API_KEY=az-shared-key", "TARGET_DEPLOYMENT=gpt-4o-dep",
       "OPENAI_API_KEY=sk-unused-1"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_CHAT,
     "gpt-4o-dep",
     "https://a.openai.azure.com",
     "az-shared-key",
     "2024-12-01-preview",
     "api_key",
     NULL,
     T_NAN,
     0,
     16384,
     120000},
    {"azure role env precedence",
     BASE,
     {{"OPTIMIZER_AZURE_OPENAI_ENDPOINT=https://role1",
       "AZURE_OPENAI_OPTIMIZER_ENDPOINT=https://role2",
       "AZURE_OPENAI_ENDPOINT=https://shared",
       "AZURE_OPENAI_OPTIMIZER_API_KEY=az-role-key",
       "AZURE_OPENAI_API_KEY=az-shared-key", "AZURE_OPENAI_API_VERSION=v1"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_CHAT,
     "gpt-5.5",
     "https://role1",
     "az-role-key",
     "v1",
     "api_key",
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure second role spelling",
     BASE,
     {{"AZURE_OPENAI_OPTIMIZER_ENDPOINT=https://role2",
       "AZURE_OPENAI_ENDPOINT=https://shared",
       "AZURE_OPENAI_API_KEY=az-shared-key"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_CHAT,
     NULL,
     "https://role2",
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure config beats env",
     BASE "  azure_openai_endpoint: https://cfg.openai.azure.com\n"
          "  optimizer_azure_openai_api_version: 2025-03-01-preview\n"
          "  optimizer: my-dep\n",
     {{"AZURE_OPENAI_ENDPOINT=https://env", "OPTIMIZER_DEPLOYMENT=env-dep",
       "AZURE_OPENAI_API_VERSION=2024-10-21",
       "AZURE_OPENAI_API_KEY=az-shared-key"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_CHAT,
     "my-dep",
     "https://cfg.openai.azure.com",
     NULL,
     "2025-03-01-preview",
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure without key uses the CLI",
     BASE,
     {{"AZURE_OPENAI_ENDPOINT=https://a"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_CHAT,
     NULL,
     "https://a",
     "",
     NULL,
     "azure_cli",
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure api_key mode needs a key",
     BASE,
     {{"AZURE_OPENAI_ENDPOINT=https://a", "AZURE_OPENAI_AUTH_MODE=api_key"}},
     TGT,
     SK_LLM_EAUTH,
     "TARGET_AZURE_OPENAI_API_KEY",
     "AZURE_OPENAI_API_KEY",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure bad auth mode",
     BASE,
     {{"AZURE_OPENAI_ENDPOINT=https://a", "AZURE_OPENAI_AUTH_MODE=oops"}},
     TGT,
     SK_ECONFIG,
     "oops",
     "AZURE_OPENAI_AUTH_MODE",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure managed identity alias",
     BASE,
     {{"AZURE_OPENAI_ENDPOINT=https://a", "AZURE_OPENAI_AUTH_MODE=aad",
       "AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID=cid"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_CHAT,
     NULL,
     NULL,
     NULL,
     NULL,
     "managed_identity",
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"azure responses default version",
     BASE "llm:\n  optimizer_api: responses\n",
     {{"AZURE_OPENAI_ENDPOINT=https://a", "AZURE_OPENAI_API_KEY=az-key-1"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_AZURE_RESPONSES,
     NULL,
     NULL,
     NULL,
     "2025-04-01-preview",
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"claude label fills the optimizer",
     BASE "  backend: claude\nllm:\n  optimizer_thinking_budget: 4096\n",
     {{"ANTHROPIC_API_KEY=sk-ant-key-1"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "claude_chat",
     SK_DIALECT_ANTHROPIC,
     "claude-sonnet-4-6",
     "https://api.anthropic.com",
     "sk-ant-key-1",
     NULL,
     NULL,
     NULL,
     T_NAN,
     0,
     16384,
     600000},
    {"claude label fills the target",
     BASE "  backend: claude\n",
     {{"ANTHROPIC_API_KEY=sk-ant-key-1",
       "ANTHROPIC_BASE_URL=https://gw.example"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "claude_chat",
     SK_DIALECT_ANTHROPIC,
     "claude-sonnet-4-6",
     "https://gw.example",
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"claude needs a key",
     BASE "  target_backend: anthropic\n",
     {{NULL}},
     TGT,
     SK_LLM_EAUTH,
     "ANTHROPIC_API_KEY",
     "llm.target_api_key",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"explicit role beats the label",
     BASE "  backend: claude\n  optimizer_backend: qwen\n",
     {{NULL}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "qwen_chat",
     SK_DIALECT_COMPAT,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"qwen label is target-only",
     BASE "  backend: qwen\n",
     {{"OPENAI_API_KEY=sk-env-key-1"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_OPENAI_CHAT,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"qwen target defaults",
     BASE "  backend: qwen\n",
     {{NULL}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "qwen_chat",
     SK_DIALECT_COMPAT,
     "Qwen/Qwen3.5-4B",
     "http://localhost:8000/v1",
     "",
     NULL,
     NULL,
     "server_default",
     T_VAL,
     0.7,
     16384,
     120000},
    {"qwen env chain",
     BASE "  backend: qwen\n",
     {{"TARGET_QWEN_CHAT_BASE_URL=http://role:8000/v1",
       "QWEN_CHAT_BASE_URL=http://shared:8000/v1",
       "QWEN_CHAT_THINKING_MODE=disabled", "QWEN_CHAT_TEMPERATURE=off",
       "QWEN_CHAT_MAX_TOKENS=4096", "TARGET_QWEN_CHAT_MODEL=Qwen/Qwen3-8B",
       "QWEN_CHAT_API_KEY=qk-1234", "QWEN_CHAT_TIMEOUT_SECONDS=45"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "qwen_chat",
     SK_DIALECT_COMPAT,
     "Qwen/Qwen3-8B",
     "http://role:8000/v1",
     "qk-1234",
     NULL,
     NULL,
     "disabled",
     T_NAN,
     0,
     4096,
     45000},
    {"qwen config beats env",
     BASE "  backend: qwen\n  target_qwen_chat_thinking_mode: enabled\n"
          "  qwen_chat_temperature: 0.1\n  qwen_chat_max_tokens: 2000\n",
     {{"QWEN_CHAT_THINKING_MODE=disabled", "QWEN_CHAT_TEMPERATURE=0.9",
       "QWEN_CHAT_MAX_TOKENS=4096"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "qwen_chat",
     SK_DIALECT_COMPAT,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     "enabled",
     T_VAL,
     0.1,
     2000,
     -1},
    {"qwen legacy enable switch",
     BASE "  backend: qwen\n",
     {{"QWEN_CHAT_ENABLE_THINKING=true"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "qwen_chat",
     SK_DIALECT_COMPAT,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     "enabled",
     T_SKIP,
     0,
     -1,
     -1},
    {"qwen bad thinking mode",
     BASE "  backend: qwen\n",
     {{"TARGET_QWEN_CHAT_THINKING_MODE=maybe"}},
     TGT,
     SK_ECONFIG,
     "TARGET_QWEN_CHAT_THINKING_MODE",
     "maybe",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"minimax region",
     BASE "  backend: minimax\n",
     {{"MINIMAX_API_KEY=mm-key-1234", "MINIMAX_REGION=cn_zh"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "minimax_chat",
     SK_DIALECT_COMPAT,
     "MiniMax-M3",
     "https://api.minimaxi.com/v1",
     "mm-key-1234",
     NULL,
     NULL,
     "disabled",
     T_VAL,
     0.7,
     16384,
     -1},
    {"minimax base url and thinking",
     BASE "  backend: minimax\n  minimax_enable_thinking: true\n",
     {{"MINIMAX_API_KEY=mm-key-1234",
       "MINIMAX_BASE_URL=https://mm.example/v1"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "minimax_chat",
     SK_DIALECT_COMPAT,
     NULL,
     "https://mm.example/v1",
     NULL,
     NULL,
     NULL,
     "enabled",
     T_SKIP,
     0,
     -1,
     -1},
    {"minimax needs a key",
     BASE "  backend: minimax\n",
     {{NULL}},
     TGT,
     SK_LLM_EAUTH,
     "MINIMAX_API_KEY",
     "model.minimax_api_key",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"compat env chain",
     BASE "  backend: compat\n",
     {{"OPTIMIZER_OPENAI_COMPATIBLE_BASE_URL=http://role:1/v1",
       "OPENAI_COMPATIBLE_BASE_URL=http://shared:1/v1",
       "OPENAI_COMPATIBLE_API_KEY=ck-1234", "OPENAI_COMPATIBLE_MODEL=llama",
       "OPENAI_COMPATIBLE_TEMPERATURE=0.2",
       "OPENAI_COMPATIBLE_MAX_TOKENS=32000",
       "OPTIMIZER_OPENAI_COMPATIBLE_TIMEOUT_SECONDS=30"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_compatible",
     SK_DIALECT_COMPAT,
     "llama",
     "http://role:1/v1",
     "ck-1234",
     NULL,
     NULL,
     "server_default",
     T_VAL,
     0.2,
     32000,
     30000},
    {"compat config beats env",
     BASE "  backend: openai-compatible\n  optimizer: served-model\n"
          "llm:\n  optimizer_base_url: http://cfg:1/v1\n"
          "  optimizer_temperature: 0.9\n  optimizer_timeout: 99\n",
     {{"OPENAI_COMPATIBLE_BASE_URL=http://shared:1/v1",
       "OPENAI_COMPATIBLE_TEMPERATURE=0.2", "OPENAI_COMPATIBLE_MODEL=llama",
       "OPENAI_COMPATIBLE_TIMEOUT_SECONDS=30"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_compatible",
     SK_DIALECT_COMPAT,
     "served-model",
     "http://cfg:1/v1",
     "",
     NULL,
     NULL,
     NULL,
     T_VAL,
     0.9,
     -1,
     99000},
    {"compat defaults",
     BASE "  backend: compat\n",
     {{NULL}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "openai_compatible",
     SK_DIALECT_COMPAT,
     "gpt-4o-mini",
     "https://api.openai.com/v1",
     "",
     NULL,
     NULL,
     NULL,
     T_NAN,
     0,
     16384,
     -1},
    {"codex label is the Codex CLI agent",
     BASE "  backend: codex\n",
     {{NULL}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "codex_exec",
     -1,
     "gpt-5.5",
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     600000},
    {"copilot label is a CLI backend",
     BASE "  backend: copilot\n",
     {{NULL}},
     TGT,
     SK_ECONFIG,
     "backend copilot_chat",
     "use copilot_exec",
     NULL,
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"claude_code_exec target: the CLI's default model",
     BASE "  target_backend: claude_code_exec\n",
     {{NULL}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "claude_code_exec",
     -1,
     "",
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     600000},
    {"cursor label is target-only",
     BASE "  backend: cursor\n",
     {{"OPENAI_API_KEY=sk-env-key-1"}},
     OPT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     -1,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"cursor label on the target",
     BASE "  backend: cursor\n",
     {{NULL}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "cursor_exec",
     -1,
     "",
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     600000},
    {"azure_openai label keeps openai_chat",
     BASE "  backend: azure\n",
     {{"OPENAI_API_KEY=sk-env-key-1"}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "openai_chat",
     SK_DIALECT_OPENAI_CHAT,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     -1,
     -1},
    {"sim",
     BASE "  backend: sim\n  target: sim-model\n",
     {{NULL}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "sim",
     SK_DIALECT_COMPAT,
     "sim-model",
     "",
     "",
     NULL,
     NULL,
     NULL,
     T_NAN,
     0,
     16384,
     120000},
    {"target completion cap",
     BASE "  backend: sim\nenv:\n  max_completion_tokens: 2048\n",
     {{NULL}},
     TGT,
     SK_OK,
     NULL,
     NULL,
     "sim",
     SK_DIALECT_COMPAT,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     T_SKIP,
     0,
     2048,
     -1},
};

static void check(const char *what, const char *field, const char *got,
                  const char *want)
{
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s: %s = '%s', want '%s'", what, field, got ? got : "(null)",
                 want);
}

static void test_role__resolution_matrix(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const struct role_case *rc = &cases[i];
        struct sk_config c;
        struct sk_role_cfg out;
        struct sk_error err;
        int st;

        load_yaml(rc->yaml, &c);
        sk_role_cfg_init(&out);
        memset(&err, 0, sizeof err);
        st = sk_role_cfg_resolve(&c, rc->role, map_getenv, (void *)&rc->env,
                                 &out, &err);
        if (st != rc->want)
            fail_msg("%s: status %d want %d (%s)", rc->what, st, rc->want,
                     err.msg);
        if (st != SK_OK) {
            if (!strstr(err.msg, rc->err_sub) ||
                (rc->err_sub2 && !strstr(err.msg, rc->err_sub2)))
                fail_msg("%s: message '%s'", rc->what, err.msg);
            assert_null(out.backend); /* left empty on failure */
        } else {
            assert_int_equal(out.role, rc->role);
            check(rc->what, "backend", out.backend, rc->backend);
            if (rc->dialect >= 0 && (int)out.dialect != rc->dialect)
                fail_msg("%s: dialect %d want %d", rc->what, (int)out.dialect,
                         rc->dialect);
            check(rc->what, "model", out.model, rc->model);
            check(rc->what, "base_url", out.base_url, rc->base_url);
            check(rc->what, "api_key", out.api_key, rc->api_key);
            check(rc->what, "api_version", out.api_version, rc->api_version);
            check(rc->what, "auth_mode", out.auth_mode, rc->auth_mode);
            check(rc->what, "thinking", out.thinking_mode, rc->thinking);
            if (rc->temp_kind == T_NAN && !isnan(out.temperature))
                fail_msg("%s: temperature %g, want unset", rc->what,
                         out.temperature);
            if (rc->temp_kind == T_VAL && out.temperature != rc->temp)
                fail_msg("%s: temperature %g, want %g", rc->what,
                         out.temperature, rc->temp);
            if (rc->max_tokens >= 0 && out.max_tokens != rc->max_tokens)
                fail_msg("%s: max_tokens %ld want %ld", rc->what,
                         out.max_tokens, rc->max_tokens);
            if (rc->timeout_ms >= 0 && out.timeout_ms != rc->timeout_ms)
                fail_msg("%s: timeout %ld want %ld", rc->what, out.timeout_ms,
                         rc->timeout_ms);
            /* every string is set, so callers never see NULL */
            assert_non_null(out.base_url);
            assert_non_null(out.api_key);
            assert_non_null(out.reasoning_effort);
            assert_non_null(out.thinking_mode);
        }
        sk_role_cfg_release(&out);
        sk_config_release(&c);
    }
}

static void test_role__thinking_budget_and_effort(void **state)
{
    struct sk_config c;
    struct sk_role_cfg out;
    struct sk_error err;
    struct env_map env = {{"ANTHROPIC_API_KEY=sk-ant-key-1"}};
    (void)state;
    load_yaml("model:\n  backend: claude\n  reasoning_effort: high\n"
              "llm:\n  optimizer_thinking_budget: 4096\n",
              &c);
    sk_role_cfg_init(&out);
    assert_int_equal(sk_role_cfg_resolve(&c, OPT, map_getenv, &env, &out, &err),
                     SK_OK);
    assert_int_equal(out.anthropic_thinking_budget, 4096);
    assert_string_equal(out.reasoning_effort, "high");
    assert_int_equal(sk_role_cfg_resolve(&c, TGT, map_getenv, &env, &out, &err),
                     SK_OK);
    assert_int_equal(out.anthropic_thinking_budget, 0);
    sk_role_cfg_release(&out);
    sk_config_release(&c);
}

static void test_role__keys_are_registered_secrets(void **state)
{
    struct sk_config c;
    struct sk_role_cfg out;
    struct sk_error err;
    struct env_map env = {{"AZURE_OPENAI_ENDPOINT=https://a",
                           "AZURE_OPENAI_API_KEY=az-very-secret-77"}};
    char line[128];
    (void)state;
    sk_log_clear_secrets();
    load_yaml(BASE, &c);
    snprintf(line, sizeof line, "key az-very-secret-77");
    sk_log_redact(line, sizeof line);
    assert_string_equal(line, "key az-very-secret-77"); /* not yet */
    sk_role_cfg_init(&out);
    assert_int_equal(sk_role_cfg_resolve(&c, OPT, map_getenv, &env, &out, &err),
                     SK_OK);
    sk_log_redact(line, sizeof line);
    assert_string_equal(line, "key [REDACTED]");
    sk_role_cfg_release(&out);
    sk_config_release(&c);
}

/* Resolution errors name settings, never values of secrets. */
static void test_role__errors_never_echo_keys(void **state)
{
    struct sk_config c;
    struct sk_role_cfg out;
    struct sk_error err;
    struct env_map env = {{"AZURE_OPENAI_ENDPOINT=https://a",
                           "AZURE_OPENAI_AUTH_MODE=bogus",
                           "AZURE_OPENAI_API_KEY=az-leaky-key-99"}};
    (void)state;
    load_yaml(BASE, &c);
    sk_role_cfg_init(&out);
    assert_int_equal(sk_role_cfg_resolve(&c, OPT, map_getenv, &env, &out, &err),
                     SK_ECONFIG);
    assert_null(strstr(err.msg, "az-leaky-key-99"));
    sk_role_cfg_release(&out);
    sk_config_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role__resolution_matrix),
        cmocka_unit_test(test_role__thinking_budget_and_effort),
        cmocka_unit_test(test_role__keys_are_registered_secrets),
        cmocka_unit_test(test_role__errors_never_echo_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
