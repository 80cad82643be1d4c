/*
 * command.c - how each agent CLI is started (agent.h): its argv (flags
 * checked against codex-cli 0.169.0, Claude Code 2.1.328 and Copilot CLI
 * 1.0.102; Cursor's from its documentation) and the allow-listed
 * environment it gets.  The prompt never appears here: it goes on stdin.
 */
#include "common.h"

#include "agent/agent.h"

#include <string.h>

#include "agent/agent_int.h"
#include "util/alloc.h"
#include "util/buf.h"

extern char **environ;

static const char *const default_bin[SK_AGENT_KIND_COUNT] = {
    "codex", "claude", "cursor-agent", "copilot"};

#define CLAUDE_TOOLS "Bash Read Glob Grep Edit Write Skill"

static const char *const default_sandbox[SK_AGENT_KIND_COUNT] = {
    "workspace-write", "", "enabled", ""};
static const char *const default_approval[SK_AGENT_KIND_COUNT] = {
    "never", "dontAsk", "force", "allow-all"};

const char *agent_default_sandbox(enum sk_agent_kind kind)
{
    return (unsigned)kind < SK_AGENT_KIND_COUNT ? default_sandbox[kind] : "";
}

const char *agent_default_approval(enum sk_agent_kind kind)
{
    return (unsigned)kind < SK_AGENT_KIND_COUNT ? default_approval[kind] : "";
}

/* A growing NULL-terminated array of owned strings. */
struct vec {
    char **v;
    size_t n, cap;
    int oom;
};

static void vec_push(struct vec *a, const char *s)
{
    char *c;
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **nv = sk_realloc(a->v, cap * sizeof *nv);
        if (!nv) {
            a->oom = 1;
            return;
        }
        a->v = nv;
        a->cap = cap;
    }
    if (!(c = sk_strdup(s))) {
        a->oom = 1;
        return;
    }
    a->v[a->n++] = c;
    a->v[a->n] = NULL;
}

/* Pushes the concatenation of x and y. */
static void vec_push2(struct vec *a, const char *x, const char *y)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_puts(&b, x) != SK_OK || sk_buf_puts(&b, y) != SK_OK)
        a->oom = 1;
    else
        vec_push(a, sk_buf_cstr(&b));
    sk_buf_release(&b);
}

/* Takes the array (NULL on a failure, everything freed). */
static char **vec_take(struct vec *a)
{
    if (!a->oom && !a->v && (a->v = sk_calloc(1, sizeof *a->v)) == NULL)
        a->oom = 1;
    if (a->oom) {
        sk_agent_argv_free(a->v);
        return NULL;
    }
    return a->v;
}

void sk_agent_argv_free(char **argv)
{
    size_t i;
    for (i = 0; argv && argv[i]; i++)
        sk_free(argv[i]);
    sk_free(argv);
}

static int set(const char *s)
{
    return s && *s;
}

/* A TOML basic string for a codex -c override. */
static void codex_config(struct vec *a, const char *key, const char *value)
{
    struct sk_buf b;
    const char *s;
    int rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&b, "%s=\"", key);
    for (s = value; rc == SK_OK && *s; s++) {
        if (*s == '"' || *s == '\\')
            rc = sk_buf_putc(&b, '\\');
        if (rc == SK_OK)
            rc = sk_buf_putc(&b, *s);
    }
    if (rc == SK_OK)
        rc = sk_buf_putc(&b, '"');
    vec_push(a, "-c");
    if (rc != SK_OK)
        a->oom = 1;
    else
        vec_push(a, sk_buf_cstr(&b));
    sk_buf_release(&b);
}

/* codex exec --json ... -C ws ... - (prompt on stdin) */
static void codex_argv(struct vec *a, const struct sk_agent_opts *o,
                       const char *ws)
{
    vec_push(a, "exec");
    vec_push(a, "--json");
    vec_push(a, "--skip-git-repo-check");
    vec_push(a, "--color");
    vec_push(a, "never");
    vec_push(a, "-C");
    vec_push(a, ws);
    if (set(o->model)) {
        vec_push(a, "-m");
        vec_push(a, o->model);
    }
    if (set(o->effort))
        codex_config(a, "model_reasoning_effort", o->effort);
    vec_push(a, "--sandbox");
    vec_push(a, set(o->sandbox) ? o->sandbox : default_sandbox[o->kind]);
    codex_config(a, "approval_policy",
                 set(o->approval) ? o->approval : default_approval[o->kind]);
}

/* claude -p --output-format stream-json --verbose ... (prompt on stdin) */
static void claude_argv(struct vec *a, const struct sk_agent_opts *o,
                        const char *ws)
{
    const char *tools = set(o->allowed_tools) ? o->allowed_tools : CLAUDE_TOOLS;
    vec_push(a, "-p");
    vec_push(a, "--output-format");
    vec_push(a, "stream-json");
    vec_push(a, "--verbose");
    vec_push(a, "--no-session-persistence");
    if (set(o->model)) {
        vec_push(a, "--model");
        vec_push(a, o->model);
    }
    if (set(o->effort)) {
        vec_push(a, "--effort");
        vec_push(a, o->effort);
    }
    vec_push(a, "--permission-mode");
    vec_push(a, set(o->approval) ? o->approval : default_approval[o->kind]);
    /* one argument, comma or space separated as --allowedTools accepts */
    vec_push(a, "--allowedTools");
    vec_push(a, tools);
    vec_push(a, "--add-dir");
    vec_push(a, ws);
}

/* cursor-agent -p --output-format stream-json --trust --workspace ws ... */
static void cursor_argv(struct vec *a, const struct sk_agent_opts *o,
                        const char *ws)
{
    const char *mode =
        set(o->approval) ? o->approval : default_approval[o->kind];
    vec_push(a, "-p");
    vec_push(a, "--output-format");
    vec_push(a, "stream-json");
    vec_push(a, "--trust");
    vec_push(a, "--workspace");
    vec_push(a, ws);
    vec_push(a, "--sandbox");
    vec_push(a, set(o->sandbox) ? o->sandbox : default_sandbox[o->kind]);
    if (strcmp(mode, "force") == 0) {
        vec_push(a, "--force");
    } else {
        vec_push(a, "--mode");
        vec_push(a, mode);
    }
    if (set(o->model)) {
        vec_push(a, "--model");
        vec_push(a, o->model);
    }
}

/* copilot --output-format json --stream off ... -C ws (prompt on stdin) */
static void copilot_argv(struct vec *a, const struct sk_agent_opts *o,
                         const char *ws)
{
    vec_push(a, "--output-format");
    vec_push(a, "json");
    vec_push(a, "--stream");
    vec_push(a, "off");
    vec_push(a, "--no-color");
    vec_push(a, "--log-level");
    vec_push(a, "none");
    vec_push(a, "--no-auto-update");
    vec_push(a, "--no-ask-user");
    vec_push(a, "--disable-builtin-mcps");
    vec_push(a, "-C");
    vec_push(a, ws);
    /* without it every tool call is refused in non-interactive mode */
    if (!set(o->approval) || strcmp(o->approval, "allow-all") == 0)
        vec_push(a, "--allow-all-tools");
    if (set(o->allowed_tools))
        vec_push2(a, "--available-tools=", o->allowed_tools);
    if (set(o->model)) {
        vec_push(a, "--model");
        vec_push(a, o->model);
    }
    if (set(o->effort)) {
        vec_push(a, "--reasoning-effort");
        vec_push(a, o->effort);
    }
}

char **sk_agent_argv(const struct sk_agent_opts *o, const char *ws)
{
    struct vec a = {NULL, 0, 0, 0};
    size_t i;
    if ((unsigned)o->kind >= SK_AGENT_KIND_COUNT)
        return NULL;
    vec_push(&a, set(o->binary) ? o->binary : default_bin[o->kind]);
    switch (o->kind) {
    case SK_AGENT_CODEX:
        codex_argv(&a, o, ws);
        break;
    case SK_AGENT_CLAUDE_CODE:
        claude_argv(&a, o, ws);
        break;
    case SK_AGENT_CURSOR:
        cursor_argv(&a, o, ws);
        break;
    default:
        copilot_argv(&a, o, ws);
        break;
    }
    for (i = 0; i < o->n_extra_args; i++)
        vec_push(&a, o->extra_args[i]);
    if (o->kind == SK_AGENT_CODEX)
        vec_push(&a, "-"); /* read the prompt from stdin */
    return vec_take(&a);
}

/* Names every CLI may get. */
static const char *const base_env[] = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
    "TMPDIR", "TERM", "NO_COLOR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
    "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
    /* network setup, not credentials of ours */
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy",
    "https_proxy", "no_proxy", "all_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", NULL};

static const char *const codex_env[] = {"CODEX_HOME",
                                        "OPENAI_API_KEY",
                                        "CODEX_API_KEY",
                                        "OPENAI_BASE_URL",
                                        "OPENAI_ORG_ID",
                                        "OPENAI_PROJECT_ID",
                                        "CODEX_SANDBOX_NETWORK_DISABLED",
                                        NULL};

static const char *const claude_env[] = {
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_MAX_RETRIES",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "DISABLE_AUTOUPDATER",
    "DISABLE_TELEMETRY",
    "DISABLE_ERROR_REPORTING",
    "IS_SANDBOX",
    NULL};

static const char *const cursor_env[] = {"CURSOR_API_KEY", "CURSOR_CONFIG_DIR",
                                         NULL};

static const char *const copilot_env[] = {"COPILOT_HOME",
                                          "COPILOT_GITHUB_TOKEN",
                                          "GH_TOKEN",
                                          "GITHUB_TOKEN",
                                          "GH_HOST",
                                          "COPILOT_GH_HOST",
                                          "COPILOT_MODEL",
                                          "COPILOT_OFFLINE",
                                          "COPILOT_AUTO_UPDATE",
                                          NULL};

/* Name prefixes passed through as a family. */
static const char *const base_prefix[] = {"LC_", NULL};
static const char *const copilot_prefix[] = {"COPILOT_PROVIDER_", NULL};

static int in_list(const char *const *list, const char *name, size_t len)
{
    size_t i;
    for (i = 0; list && list[i]; i++)
        if (strlen(list[i]) == len && memcmp(list[i], name, len) == 0)
            return 1;
    return 0;
}

static int has_prefix(const char *const *list, const char *name, size_t len)
{
    size_t i;
    for (i = 0; list && list[i]; i++) {
        size_t k = strlen(list[i]);
        if (len > k && memcmp(list[i], name, k) == 0)
            return 1;
    }
    return 0;
}

static int allowed(const struct sk_agent_opts *o, const char *name, size_t len)
{
    static const char *const *const own[SK_AGENT_KIND_COUNT] = {
        codex_env, claude_env, cursor_env, copilot_env};
    size_t i;
    if (in_list(base_env, name, len) || has_prefix(base_prefix, name, len))
        return 1;
    if ((unsigned)o->kind < SK_AGENT_KIND_COUNT &&
        in_list(own[o->kind], name, len))
        return 1;
    if (o->kind == SK_AGENT_COPILOT && has_prefix(copilot_prefix, name, len))
        return 1;
    for (i = 0; i < o->n_env_pass; i++)
        if (o->env_pass[i] && strlen(o->env_pass[i]) == len &&
            memcmp(o->env_pass[i], name, len) == 0)
            return 1;
    return 0;
}

/* 1 if env_set gives a value for the variable of entry e. */
static int overridden(const struct sk_agent_opts *o, const char *e)
{
    const char *eq = strchr(e, '=');
    size_t i, len = eq ? (size_t)(eq - e) : strlen(e);
    for (i = 0; i < o->n_env_set; i++) {
        const char *s = o->env_set[i], *q = s ? strchr(s, '=') : NULL;
        if (q && (size_t)(q - s) == len && memcmp(s, e, len) == 0)
            return 1;
    }
    return 0;
}

char **sk_agent_env(const struct sk_agent_opts *o)
{
    struct vec a = {NULL, 0, 0, 0};
    size_t i;
    char **e;
    for (e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e)
            continue;
        if (allowed(o, *e, (size_t)(eq - *e)) && !overridden(o, *e))
            vec_push(&a, *e);
    }
    for (i = 0; i < o->n_env_set; i++)
        if (o->env_set[i] && strchr(o->env_set[i], '=') &&
            o->env_set[i][0] != '=')
            vec_push(&a, o->env_set[i]);
    return vec_take(&a);
}
