/*
 * events_codex.c - `codex exec --json` events (codex-cli 0.169.0,
 * codex-rs/exec/src/exec_events.rs): thread.started, turn.started,
 * turn.completed {usage}, turn.failed {error}, error {message},
 * item.started / item.updated / item.completed {item}.  Items:
 * agent_message, reasoning, command_execution, file_change,
 * mcp_tool_call, web_search, collab_tool_call, error; others (todo_list,
 * plan) are ignored.  The final answer is the last agent_message.
 */
#include "common.h"

#include "agent/agent_int.h"

#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

/* "apply_patch: update a.txt, add b.txt" */
static void file_change(struct agent_parser *p, const char *id,
                        const json_t *item)
{
    const json_t *ch = json_object_get(item, "changes");
    const char *st = agent_str(item, "status");
    struct sk_buf b;
    size_t i;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_puts(&b, "apply_patch:") != SK_OK)
        p->oom = 1;
    for (i = 0; i < json_array_size(ch); i++) {
        const json_t *c = json_array_get(ch, i);
        const char *kind = agent_str(c, "kind"), *path = agent_str(c, "path");
        if (sk_buf_printf(&b, "%s %s %s", i ? "," : "", kind ? kind : "edit",
                          path ? path : "?") != SK_OK)
            p->oom = 1;
    }
    agent_add_tool(p, id, "apply_patch", sk_buf_cstr(&b));
    agent_tool_done(p, id, "apply_patch", st ? st : "",
                    st && strcmp(st, "failed") == 0);
    sk_buf_release(&b);
}

static void command(struct agent_parser *p, const char *id, const json_t *item,
                    int completed)
{
    const char *cmd = agent_str(item, "command");
    const char *out = agent_str(item, "aggregated_output");
    const char *st = agent_str(item, "status");
    const json_t *code = json_object_get(item, "exit_code");
    struct sk_buf b;
    int bad;
    agent_add_tool(p, id, "shell", cmd);
    if (!completed)
        return;
    bad = (st && (strcmp(st, "failed") == 0 || strcmp(st, "declined") == 0)) ||
          (json_is_integer(code) && json_integer_value(code) != 0);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_puts(&b, out ? out : "") != SK_OK ||
        (json_is_integer(code) &&
         sk_buf_printf(&b, "%s[exit %lld]",
                       b.len && b.data[b.len - 1] != '\n' ? "\n" : "",
                       (long long)json_integer_value(code)) != SK_OK) ||
        (st && strcmp(st, "declined") == 0 &&
         sk_buf_puts(&b, "[declined]") != SK_OK))
        p->oom = 1;
    agent_tool_done(p, id, "shell", sk_buf_cstr(&b), bad);
    sk_buf_release(&b);
}

/* The text parts of an MCP result's content blocks. */
static void mcp_call(struct agent_parser *p, const char *id, const json_t *item,
                     int completed)
{
    const char *server = agent_str(item, "server");
    const char *tool = agent_str(item, "tool");
    const json_t *res = json_object_get(item, "result");
    const json_t *content = json_object_get(res, "content");
    const char *st = agent_str(item, "status");
    char name[160], *args;
    struct sk_buf b;
    size_t i;
    snprintf(name, sizeof name, "mcp:%s.%s", server ? server : "?",
             tool ? tool : "?");
    args = agent_json_text(p, json_object_get(item, "arguments"));
    agent_add_tool(p, id, name, args ? args : "");
    sk_free(args);
    if (!completed)
        return;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; i < json_array_size(content); i++) {
        const char *t = agent_str(json_array_get(content, i), "text");
        if (t && sk_buf_puts(&b, t) != SK_OK)
            p->oom = 1;
    }
    if (!b.len && agent_str(json_object_get(item, "error"), "message") &&
        sk_buf_puts(&b, agent_str(json_object_get(item, "error"), "message")) !=
            SK_OK)
        p->oom = 1;
    agent_tool_done(p, id, name, sk_buf_cstr(&b),
                    st && strcmp(st, "failed") == 0);
    sk_buf_release(&b);
}

static void item_event(struct agent_parser *p, const json_t *item,
                       int completed)
{
    const char *type = agent_str(item, "type");
    const char *id = agent_str(item, "id");
    if (!type)
        return;
    if (strcmp(type, "agent_message") == 0) {
        if (completed) {
            agent_add_msg(p, "assistant", agent_str(item, "text"));
            agent_set(p, &p->answer, agent_str(item, "text"));
        }
    } else if (strcmp(type, "reasoning") == 0) {
        if (completed)
            agent_add_msg(p, "reasoning", agent_str(item, "text"));
    } else if (strcmp(type, "command_execution") == 0) {
        command(p, id, item, completed);
    } else if (strcmp(type, "file_change") == 0) {
        if (completed)
            file_change(p, id, item);
    } else if (strcmp(type, "mcp_tool_call") == 0) {
        mcp_call(p, id, item, completed);
    } else if (strcmp(type, "web_search") == 0) {
        agent_add_tool(p, id, "web_search", agent_str(item, "query"));
        if (completed)
            agent_tool_done(p, id, "web_search", "", 0);
    } else if (strcmp(type, "collab_tool_call") == 0) {
        char name[96];
        const char *tool = agent_str(item, "tool");
        const char *st = agent_str(item, "status");
        snprintf(name, sizeof name, "collab:%s", tool ? tool : "?");
        agent_add_tool(p, id, name, agent_str(item, "prompt"));
        if (completed)
            agent_tool_done(p, id, name, st ? st : "",
                            st && strcmp(st, "failed") == 0);
    } else if (strcmp(type, "error") == 0) {
        if (completed) {
            /* non-fatal (e.g. "model metadata not found"): shown to the
             * analyst, counted, fatal only if the turn fails */
            agent_add_msg(p, "error", agent_str(item, "message"));
            agent_note_error(p, agent_str(item, "message"), SK_AGENT_OK);
        }
    }
}

void agent_codex_event(struct agent_parser *p, json_t *ev)
{
    const char *type = agent_str(ev, "type");
    if (!type)
        return;
    if (strcmp(type, "thread.started") == 0) {
        agent_set(p, &p->session, agent_str(ev, "thread_id"));
    } else if (strcmp(type, "item.started") == 0 ||
               strcmp(type, "item.updated") == 0) {
        item_event(p, json_object_get(ev, "item"), 0);
    } else if (strcmp(type, "item.completed") == 0) {
        item_event(p, json_object_get(ev, "item"), 1);
    } else if (strcmp(type, "turn.completed") == 0) {
        const json_t *u = json_object_get(ev, "usage");
        if (json_is_object(u))
            /* input_tokens already counts the cached ones */
            agent_add_usage(p, agent_int(u, "input_tokens", 0),
                            agent_int(u, "cached_input_tokens", 0),
                            agent_int(u, "output_tokens", 0),
                            agent_int(u, "reasoning_output_tokens", 0));
        p->done = 1;
        p->done_error = 0;
    } else if (strcmp(type, "turn.failed") == 0) {
        const char *m = agent_str(json_object_get(ev, "error"), "message");
        agent_note_error(p, m, SK_AGENT_OK);
        p->done = 1;
        p->done_error = 1;
    } else if (strcmp(type, "error") == 0) {
        /* stream errors, "Reconnecting... n/m (...)" notices included:
         * bad credentials do not heal on a retry, so stop at once */
        agent_note_error(p, agent_str(ev, "message"), SK_AGENT_OK);
        if (p->hint == SK_AGENT_FAIL_AUTH)
            p->stop = 1;
    }
}
