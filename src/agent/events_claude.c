/*
 * events_claude.c - `claude -p --output-format stream-json --verbose`
 * events (Claude Code 2.1.328): system (init, api_retry), assistant
 * {message: content blocks text | thinking | tool_use, usage},
 * user {message: tool_result blocks}, result {result, is_error,
 * num_turns, total_cost_usd, usage, api_error_status}.  Other types
 * (stream_event, hook and status messages) are ignored.  The final
 * answer is the result event's text.
 */
#include "common.h"

#include "agent/agent_int.h"

#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

/* The argument worth showing of a tool input, else its compact JSON. */
void agent_tool_cmd(struct agent_parser *p, const char *tool,
                    const json_t *input, struct sk_buf *out)
{
    static const char *const keys[] = {
        "command", "cmd",   "file_path", "path",        "pattern",
        "url",     "query", "skill",     "description", "prompt"};
    const char *arg = NULL;
    char *js = NULL;
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(keys) && !arg; i++)
        arg = agent_str(input, keys[i]);
    if (!arg && input && !(json_is_object(input) && !json_object_size(input)))
        arg = js = agent_json_text(p, input);
    if (sk_buf_printf(out, "%s%s%s", tool ? tool : "tool", arg ? ": " : "",
                      arg ? arg : "") != SK_OK)
        p->oom = 1;
    sk_free(js);
}

/* Text of a tool_result content: a string or an array of text blocks. */
void agent_block_text(struct agent_parser *p, const json_t *content,
                      struct sk_buf *out)
{
    size_t i;
    if (json_is_string(content)) {
        if (sk_buf_puts(out, json_string_value(content)) != SK_OK)
            p->oom = 1;
        return;
    }
    for (i = 0; i < json_array_size(content); i++) {
        const json_t *b = json_array_get(content, i);
        const char *t = agent_str(b, "text");
        const char *type = agent_str(b, "type");
        if (t) {
            if ((out->len && sk_buf_putc(out, '\n') != SK_OK) ||
                sk_buf_puts(out, t) != SK_OK)
                p->oom = 1;
        } else if (type && sk_buf_printf(out, "%s[%s]", out->len ? "\n" : "",
                                         type) != SK_OK) {
            p->oom = 1; /* an image or a document: named, not shown */
        }
    }
}

/* Failure class of a Claude Code error category. */
static enum sk_agent_fail category(const char *c)
{
    static const char *const auth[] = {
        "authentication_failed", "oauth_org_not_allowed", "account_on_hold",
        "verification_required", "cloud_credential_error"};
    size_t i;
    if (!c)
        return SK_AGENT_OK;
    for (i = 0; i < SK_ARRAY_LEN(auth); i++)
        if (strcmp(c, auth[i]) == 0)
            return SK_AGENT_FAIL_AUTH;
    if (strcmp(c, "rate_limit") == 0)
        return SK_AGENT_FAIL_RATE_LIMIT;
    return SK_AGENT_OK;
}

static void api_retry(struct agent_parser *p, const json_t *ev)
{
    const char *e = agent_str(ev, "error");
    long long st = agent_int(ev, "error_status", 0);
    enum sk_agent_fail cls = category(e);
    char msg[256];
    if (cls == SK_AGENT_OK && st > 0)
        cls = agent_classify_status((long)st);
    if (cls == SK_AGENT_OK)
        cls = SK_AGENT_FAIL_ERROR;
    if (st > 0)
        snprintf(msg, sizeof msg, "API retry %lld/%lld: %s (HTTP %lld)",
                 agent_int(ev, "attempt", 0), agent_int(ev, "max_retries", 0),
                 e ? e : "error", st);
    else
        snprintf(msg, sizeof msg, "API retry %lld/%lld: %s",
                 agent_int(ev, "attempt", 0), agent_int(ev, "max_retries", 0),
                 e ? e : "error");
    agent_note_error(p, msg, cls);
    /* credentials do not heal on a retry (it retries 401 ten times) */
    if (cls == SK_AGENT_FAIL_AUTH)
        p->stop = 1;
}

static void assistant(struct agent_parser *p, const json_t *ev)
{
    const json_t *msg = json_object_get(ev, "message");
    const json_t *content = json_object_get(msg, "content");
    const char *model = agent_str(msg, "model");
    const char *mid = agent_str(msg, "id");
    const json_t *u = json_object_get(msg, "usage");
    size_t i;
    if (model && strcmp(model, "<synthetic>") != 0 && !p->model)
        agent_set(p, &p->model, model);
    if (json_is_true(json_object_get(ev, "is_api_error_message")) ||
        agent_str(ev, "error")) {
        /* Claude Code turns API failures into a synthetic message */
        struct sk_buf t;
        enum sk_agent_fail cls = category(agent_str(ev, "error"));
        long long st = agent_int(ev, "api_error_status", 0);
        sk_buf_init(&t, SK_BUF_UNLIMITED);
        agent_block_text(p, content, &t);
        if (cls == SK_AGENT_OK && st > 0)
            cls = agent_classify_status((long)st);
        agent_add_msg(p, "error", sk_buf_cstr(&t));
        agent_note_error(p, t.len ? sk_buf_cstr(&t) : agent_str(ev, "error"),
                         cls);
        sk_buf_release(&t);
        return;
    }
    if (mid && json_is_object(u) &&
        json_object_set(p->msg_usage, mid, (json_t *)u) != 0)
        p->oom = 1;
    for (i = 0; i < json_array_size(content); i++) {
        const json_t *b = json_array_get(content, i);
        const char *type = agent_str(b, "type");
        if (!type)
            continue;
        if (strcmp(type, "text") == 0) {
            agent_add_msg(p, "assistant", agent_str(b, "text"));
        } else if (strcmp(type, "thinking") == 0) {
            agent_add_msg(p, "reasoning", agent_str(b, "thinking"));
        } else if (strcmp(type, "tool_use") == 0 ||
                   strcmp(type, "server_tool_use") == 0) {
            struct sk_buf c;
            sk_buf_init(&c, SK_BUF_UNLIMITED);
            agent_tool_cmd(p, agent_str(b, "name"), json_object_get(b, "input"),
                           &c);
            agent_add_tool(p, agent_str(b, "id"), agent_str(b, "name"),
                           sk_buf_cstr(&c));
            sk_buf_release(&c);
        }
    }
}

static void user(struct agent_parser *p, const json_t *ev)
{
    const json_t *content =
        json_object_get(json_object_get(ev, "message"), "content");
    size_t i;
    for (i = 0; i < json_array_size(content); i++) {
        const json_t *b = json_array_get(content, i);
        const char *type = agent_str(b, "type");
        struct sk_buf t;
        if (!type || strcmp(type, "tool_result") != 0)
            continue;
        sk_buf_init(&t, SK_BUF_UNLIMITED);
        agent_block_text(p, json_object_get(b, "content"), &t);
        agent_tool_done(p, agent_str(b, "tool_use_id"), NULL, sk_buf_cstr(&t),
                        json_is_true(json_object_get(b, "is_error")));
        sk_buf_release(&t);
    }
}

/* Anthropic usage: input_tokens excludes cache reads and writes. */
static void anthropic_usage(struct agent_parser *p, const json_t *u)
{
    long long cr = agent_int(u, "cache_read_input_tokens", 0);
    long long cw = agent_int(u, "cache_creation_input_tokens", 0);
    agent_add_usage(p, agent_int(u, "input_tokens", 0) + cr + cw, cr,
                    agent_int(u, "output_tokens", 0), 0);
}

void agent_result_event(struct agent_parser *p, const json_t *ev)
{
    const char *sub = agent_str(ev, "subtype");
    const char *text = agent_str(ev, "result");
    const json_t *u = json_object_get(ev, "usage");
    const json_t *cost = json_object_get(ev, "total_cost_usd");
    int bad = json_is_true(json_object_get(ev, "is_error")) ||
              (sub && strncmp(sub, "error", 5) == 0);
    p->done = 1;
    p->done_error = bad;
    if (json_is_number(cost)) {
        p->cost = json_number_value(cost);
        p->cost_known = 1;
    }
    if (json_is_integer(json_object_get(ev, "num_turns")))
        p->turns = (int)agent_int(ev, "num_turns", 0);
    p->cli_ms = (long)agent_int(ev, "duration_ms", -1);
    if (agent_str(ev, "session_id"))
        agent_set(p, &p->session, agent_str(ev, "session_id"));
    if (json_is_object(u) && json_object_get(u, "input_tokens")) {
        /* the result's usage is the run's total: it replaces the sum */
        memset(&p->usage, 0, sizeof p->usage);
        anthropic_usage(p, u);
        json_object_clear(p->msg_usage);
    }
    if (!bad) {
        agent_set(p, &p->answer, text ? text : "");
        return;
    }
    {
        long long st = agent_int(ev, "api_error_status", 0);
        enum sk_agent_fail cls =
            st > 0 ? agent_classify_status((long)st) : SK_AGENT_OK;
        char msg[400];
        if (text && *text)
            snprintf(msg, sizeof msg, "%s", text);
        else
            snprintf(msg, sizeof msg, "the run ended with %s",
                     sub ? sub : "is_error");
        /* a synthetic error message before it classifies better than
         * the result's plain text when there is no status */
        if (cls == SK_AGENT_OK && p->hint != SK_AGENT_OK &&
            p->hint != SK_AGENT_FAIL_ERROR)
            cls = p->hint;
        agent_note_error(p, msg, cls);
    }
}

void agent_claude_end(struct agent_parser *p)
{
    const char *k;
    json_t *u;
    if (p->usage.usage_known)
        return;
    /* no result event: each message's latest usage, summed */
    json_object_foreach(p->msg_usage, k, u) anthropic_usage(p, u);
}

void agent_claude_event(struct agent_parser *p, json_t *ev)
{
    const char *type = agent_str(ev, "type");
    const char *sub = agent_str(ev, "subtype");
    if (!type)
        return;
    if (strcmp(type, "system") == 0) {
        if (sub && strcmp(sub, "init") == 0) {
            agent_set(p, &p->model, agent_str(ev, "model"));
            agent_set(p, &p->session, agent_str(ev, "session_id"));
        } else if (sub && strcmp(sub, "api_retry") == 0) {
            api_retry(p, ev);
        }
    } else if (strcmp(type, "assistant") == 0) {
        assistant(p, ev);
    } else if (strcmp(type, "user") == 0) {
        user(p, ev);
    } else if (strcmp(type, "result") == 0) {
        agent_result_event(p, ev);
    }
}
