/*
 * events_cursor.c - `cursor-agent -p --output-format stream-json` events,
 * as documented at cursor.com/docs/cli/reference/output-format (not
 * checked against a running CLI: it needs a Cursor account).  The shapes
 * follow Claude Code's where they overlap: system init, user, assistant
 * {message: text blocks}, result {result, is_error, duration_ms}; plus
 * tool_call {subtype started | completed, call_id, tool_call: {"<x>ToolCall":
 * {args, result: {success | error ...}}} or {"function": {name,
 * arguments}}}.  thinking, connection and retry events are ignored.  On a
 * failure Cursor prints no result and writes the reason on stderr.
 */
#include "common.h"

#include "agent/agent_int.h"

#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

/* "readToolCall" -> "read"; "function" -> its name. */
static void tool_name(const char *key, const json_t *body, char *out,
                      size_t cap)
{
    size_t n = strlen(key);
    if (strcmp(key, "function") == 0 && agent_str(body, "name")) {
        snprintf(out, cap, "%s", agent_str(body, "name"));
        return;
    }
    if (n > 8 && strcmp(key + n - 8, "ToolCall") == 0)
        n -= 8;
    snprintf(out, cap, "%.*s", (int)n, key);
}

/* The observation of a completed call: a text field of its outcome. */
static void outcome_text(struct agent_parser *p, const json_t *res,
                         struct sk_buf *out, int *is_error)
{
    static const char *const keys[] = {"content", "stdout",       "output",
                                       "message", "errorMessage", "error"};
    const char *k;
    json_t *v;
    size_t i;
    *is_error = 0;
    if (json_is_string(res)) {
        if (sk_buf_puts(out, json_string_value(res)) != SK_OK)
            p->oom = 1;
        return;
    }
    json_object_foreach((json_t *)res, k, v)
    {
        int found = 0;
        *is_error = strcmp(k, "success") != 0;
        for (i = 0; i < SK_ARRAY_LEN(keys); i++) {
            const char *t = agent_str(v, keys[i]);
            if (t) {
                if (sk_buf_puts(out, t) != SK_OK)
                    p->oom = 1;
                found = 1;
                break;
            }
        }
        if (found && agent_str(v, "stderr") && *agent_str(v, "stderr") &&
            sk_buf_printf(out, "%s[stderr] %s", out->len ? "\n" : "",
                          agent_str(v, "stderr")) != SK_OK)
            p->oom = 1;
        if (!found) {
            char *js = agent_json_text(p, v);
            if (js && sk_buf_puts(out, js) != SK_OK)
                p->oom = 1;
            sk_free(js);
        }
        break; /* one outcome per call */
    }
}

static void tool_call(struct agent_parser *p, const json_t *ev)
{
    const char *sub = agent_str(ev, "subtype");
    const char *id = agent_str(ev, "call_id");
    const json_t *tc = json_object_get(ev, "tool_call");
    const char *key;
    json_t *body;
    json_object_foreach((json_t *)tc, key, body)
    {
        char name[96];
        const json_t *args = json_object_get(body, "args");
        struct sk_buf b;
        tool_name(key, body, name, sizeof name);
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        if (!args)
            args = json_object_get(body, "arguments");
        agent_tool_cmd(p, name, args, &b);
        agent_add_tool(p, id, name, sk_buf_cstr(&b));
        if (sub && strcmp(sub, "completed") == 0) {
            int bad = 0;
            sk_buf_reset(&b);
            outcome_text(p, json_object_get(body, "result"), &b, &bad);
            agent_tool_done(p, id, name, sk_buf_cstr(&b), bad);
        }
        sk_buf_release(&b);
        break; /* one tool per event */
    }
}

void agent_cursor_event(struct agent_parser *p, json_t *ev)
{
    const char *type = agent_str(ev, "type");
    const char *sub = agent_str(ev, "subtype");
    if (!type)
        return;
    if (strcmp(type, "system") == 0) {
        if (!sub || strcmp(sub, "init") == 0) {
            agent_set(p, &p->model, agent_str(ev, "model"));
            agent_set(p, &p->session, agent_str(ev, "session_id"));
        }
    } else if (strcmp(type, "assistant") == 0) {
        struct sk_buf t;
        sk_buf_init(&t, SK_BUF_UNLIMITED);
        agent_block_text(
            p, json_object_get(json_object_get(ev, "message"), "content"), &t);
        agent_add_msg(p, "assistant", sk_buf_cstr(&t));
        sk_buf_release(&t);
    } else if (strcmp(type, "tool_call") == 0) {
        tool_call(p, ev);
    } else if (strcmp(type, "result") == 0) {
        const json_t *u = json_object_get(ev, "usage");
        agent_result_event(p, ev);
        if (json_is_object(u) && json_object_get(u, "inputTokens")) {
            long long cr = agent_int(u, "cacheReadTokens", 0);
            long long cw = agent_int(u, "cacheWriteTokens", 0);
            memset(&p->usage, 0, sizeof p->usage);
            agent_add_usage(p, agent_int(u, "inputTokens", 0) + cr + cw, cr,
                            agent_int(u, "outputTokens", 0), 0);
        }
    } else if (strcmp(type, "error") == 0) {
        const char *m = agent_str(ev, "message");
        if (!m)
            m = agent_str(json_object_get(ev, "error"), "message");
        agent_note_error(p, m, SK_AGENT_OK);
    }
}
