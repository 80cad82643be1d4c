/*
 * events_copilot.c - `copilot --output-format json --stream off` events
 * (GitHub Copilot CLI 1.0.102, recorded against a local BYOK endpoint;
 * the format is not documented).  Each line is {"type", "data", ...}:
 * assistant.turn_start, assistant.message {content, toolRequests,
 * outputTokens}, tool.execution_start / tool.execution_complete
 * {toolCallId, success, result {content}, error}, model.call_failure
 * {statusCode}, session.error {errorType, message, statusCode}, and a last
 * result {exitCode, usage}.  The final answer is the last non-empty
 * assistant message.  Token counts are reported only as outputTokens.
 */
#include "common.h"

#include "agent/agent_int.h"

#include <string.h>

#include "util/buf.h"

static void message(struct agent_parser *p, const json_t *d)
{
    const char *text = agent_str(d, "content");
    const json_t *reqs = json_object_get(d, "toolRequests");
    size_t i;
    if (agent_str(d, "model") && !p->model)
        agent_set(p, &p->model, agent_str(d, "model"));
    if (text && *text) {
        agent_add_msg(p, "assistant", text);
        agent_set(p, &p->answer, text);
    }
    if (json_is_integer(json_object_get(d, "outputTokens")))
        agent_add_usage(p, 0, 0, agent_int(d, "outputTokens", 0), 0);
    for (i = 0; i < json_array_size(reqs); i++) {
        const json_t *r = json_array_get(reqs, i);
        struct sk_buf c;
        sk_buf_init(&c, SK_BUF_UNLIMITED);
        agent_tool_cmd(p, agent_str(r, "name"), json_object_get(r, "arguments"),
                       &c);
        agent_add_tool(p, agent_str(r, "toolCallId"), agent_str(r, "name"),
                       sk_buf_cstr(&c));
        sk_buf_release(&c);
    }
}

static void tool_complete(struct agent_parser *p, const json_t *d)
{
    const json_t *res = json_object_get(d, "result");
    const char *out = agent_str(res, "content");
    const char *err = agent_str(json_object_get(d, "error"), "message");
    int ok = json_is_true(json_object_get(d, "success"));
    agent_tool_done(p, agent_str(d, "toolCallId"), agent_str(d, "toolName"),
                    out ? out : err, !ok);
}

static enum sk_agent_fail error_type(const json_t *d)
{
    const char *t = agent_str(d, "errorType");
    long long st = agent_int(d, "statusCode", 0);
    if (t && strcmp(t, "authentication") == 0)
        return SK_AGENT_FAIL_AUTH;
    if (t && strcmp(t, "rate_limit") == 0)
        return SK_AGENT_FAIL_RATE_LIMIT;
    if (st > 0)
        return agent_classify_status((long)st);
    return SK_AGENT_OK;
}

void agent_copilot_event(struct agent_parser *p, json_t *ev)
{
    const char *type = agent_str(ev, "type");
    const json_t *d = json_object_get(ev, "data");
    if (!type)
        return;
    if (strcmp(type, "assistant.turn_start") == 0) {
        p->turns = p->turns < 0 ? 1 : p->turns + 1;
    } else if (strcmp(type, "assistant.message") == 0) {
        message(p, d);
    } else if (strcmp(type, "tool.execution_start") == 0) {
        struct sk_buf c;
        sk_buf_init(&c, SK_BUF_UNLIMITED);
        agent_tool_cmd(p, agent_str(d, "toolName"),
                       json_object_get(d, "arguments"), &c);
        agent_add_tool(p, agent_str(d, "toolCallId"), agent_str(d, "toolName"),
                       sk_buf_cstr(&c));
        sk_buf_release(&c);
    } else if (strcmp(type, "tool.execution_complete") == 0) {
        tool_complete(p, d);
    } else if (strcmp(type, "model.call_failure") == 0) {
        long long st = agent_int(d, "statusCode", 0);
        const char *m = agent_str(d, "errorMessage");
        char msg[256];
        snprintf(msg, sizeof msg, "model call failed (HTTP %lld)%s%s", st,
                 m ? ": " : "", m ? m : "");
        agent_note_error(
            p, msg, st > 0 ? agent_classify_status((long)st) : SK_AGENT_OK);
        if (p->hint == SK_AGENT_FAIL_AUTH)
            p->stop = 1; /* it retries a 401 as "transient" */
    } else if (strcmp(type, "session.error") == 0) {
        agent_note_error(p, agent_str(d, "message"), error_type(d));
        p->done_error = 1;
    } else if (strcmp(type, "session.tools_updated") == 0) {
        if (agent_str(d, "model"))
            agent_set(p, &p->model, agent_str(d, "model"));
    } else if (strcmp(type, "result") == 0) {
        long long code = agent_int(ev, "exitCode", 0);
        p->done = 1;
        if (code != 0)
            p->done_error = 1;
        p->cli_ms = (long)agent_int(json_object_get(ev, "usage"),
                                    "sessionDurationMs", -1);
        if (agent_str(ev, "sessionId"))
            agent_set(p, &p->session, agent_str(ev, "sessionId"));
    }
}
