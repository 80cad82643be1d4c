/*
 * stream.c - the agent event stream parser (agent_int.h): splits stdout
 * into bounded JSON lines, hands each object to its format's handler and
 * keeps the trajectory, tool counts and usage the handlers record.
 * Classification of the whole run is in outcome.c.
 */
#include "common.h"

#include "agent/agent_int.h"

#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/jsonparse.h"

void agent_parser_init(struct agent_parser *p, enum sk_agent_kind kind,
                       size_t max_line)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->turns = -1;
    p->cli_ms = -1;
    p->max_line = max_line ? max_line : SK_AGENT_MAX_LINE;
    sk_buf_init(&p->line, p->max_line);
    p->traj = json_array();
    p->pending = json_object();
    p->tools = json_object();
    p->msg_usage = json_object();
    if (!p->traj || !p->pending || !p->tools || !p->msg_usage)
        p->oom = 1;
}

void agent_parser_release(struct agent_parser *p)
{
    json_decref(p->traj);
    json_decref(p->pending);
    json_decref(p->tools);
    json_decref(p->msg_usage);
    sk_free(p->answer);
    sk_free(p->model);
    sk_free(p->session);
    sk_buf_release(&p->line);
    memset(p, 0, sizeof *p);
}

const char *agent_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long agent_int(const json_t *o, const char *key, long long def)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -9.0e18 && d <= 9.0e18)
            return (long long)d;
    }
    return def;
}

void agent_set(struct agent_parser *p, char **dst, const char *s)
{
    char *c = NULL;
    if (s && !(c = sk_strdup(s))) {
        p->oom = 1;
        return;
    }
    sk_free(*dst);
    *dst = c;
}

/* Length of s cut to at most n bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* s bounded to SK_AGENT_OBS_KEEP bytes: head and tail around a marker. */
static json_t *bounded_string(const char *s)
{
    size_t len = strlen(s), head, tail;
    char mark[64];
    json_t *v;
    struct sk_buf b;
    if (len <= SK_AGENT_OBS_KEEP)
        return json_string(s);
    head = utf8_cut(s, SK_AGENT_OBS_KEEP * 3 / 4);
    tail = len - SK_AGENT_OBS_KEEP / 4;
    while (tail < len && ((unsigned char)s[tail] & 0xC0) == 0x80)
        tail++;
    snprintf(mark, sizeof mark, "\n[... %zu bytes cut ...]\n", tail - head);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_buf_append(&b, s, head) != SK_OK || sk_buf_puts(&b, mark) ||
        sk_buf_append(&b, s + tail, len - tail) != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    v = json_string(sk_buf_cstr(&b));
    sk_buf_release(&b);
    return v;
}

/* Appends o (taken) to the trajectory; returns its index or -1. */
static long push(struct agent_parser *p, json_t *o)
{
    if (!o || json_array_append_new(p->traj, o) != 0) {
        p->oom = 1;
        return -1;
    }
    return (long)json_array_size(p->traj) - 1;
}

void agent_add_msg(struct agent_parser *p, const char *role, const char *text)
{
    json_t *o;
    if (!text || !*text)
        return;
    o = json_pack("{s:s, s:o*}", "role", role, "content", bounded_string(text));
    if (push(p, o) >= 0 && strcmp(role, "assistant") == 0)
        p->n_msgs++;
}

static void count_tool(struct agent_parser *p, const char *tool)
{
    json_t *n = json_object_get(p->tools, tool);
    json_int_t c = json_is_integer(n) ? json_integer_value(n) : 0;
    if (json_object_set_new(p->tools, tool, json_integer(c + 1)) != 0)
        p->oom = 1;
}

void agent_add_tool(struct agent_parser *p, const char *id, const char *tool,
                    const char *cmd)
{
    json_t *o, *at = id ? json_object_get(p->pending, id) : NULL;
    long ix;
    if (!tool || !*tool)
        tool = "tool";
    if (json_is_integer(at)) {
        o = json_array_get(p->traj, (size_t)json_integer_value(at));
        if (o && cmd && json_object_set_new(o, "cmd", bounded_string(cmd)))
            p->oom = 1;
        return;
    }
    o = json_pack("{s:s, s:s, s:o*, s:n}", "type", "tool_call", "tool", tool,
                  "cmd", bounded_string(cmd ? cmd : ""), "obs");
    if ((ix = push(p, o)) < 0)
        return;
    p->n_tools++;
    count_tool(p, tool);
    if (id && json_object_set_new(p->pending, id, json_integer(ix)) != 0)
        p->oom = 1;
}

void agent_tool_done(struct agent_parser *p, const char *id, const char *tool,
                     const char *obs, int is_error)
{
    json_t *at, *o, *v;
    struct sk_buf b;
    if (!id || !json_is_integer(json_object_get(p->pending, id)))
        agent_add_tool(p, id, tool, NULL);
    at = id ? json_object_get(p->pending, id) : NULL;
    o = json_is_integer(at)
            ? json_array_get(p->traj, (size_t)json_integer_value(at))
            : json_array_get(p->traj, json_array_size(p->traj) - 1);
    if (!o)
        return;
    if (is_error)
        p->tool_errors++;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if ((is_error && sk_buf_puts(&b, "[error] ") != SK_OK) ||
        sk_buf_puts(&b, obs ? obs : "") != SK_OK) {
        p->oom = 1;
        sk_buf_release(&b);
        return;
    }
    v = bounded_string(sk_buf_cstr(&b));
    sk_buf_release(&b);
    if (!v || json_object_set_new(o, "obs", v) != 0)
        p->oom = 1;
    if (is_error && json_object_set_new(o, "is_error", json_true()) != 0)
        p->oom = 1;
    if (id)
        json_object_del(p->pending, id);
}

char *agent_json_text(struct agent_parser *p, const json_t *v)
{
    char *s;
    if (!v)
        return NULL;
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        p->oom = 1;
    return s;
}

/* 1 if s contains the number n as a whole token (not inside 14015). */
static int has_code(const char *s, const char *n)
{
    size_t k = strlen(n);
    const char *q = s;
    while ((q = strstr(q, n)) != NULL) {
        int before = q > s && q[-1] >= '0' && q[-1] <= '9';
        int after = q[k] >= '0' && q[k] <= '9';
        if (!before && !after)
            return 1;
        q += k;
    }
    return 0;
}

enum sk_agent_fail agent_classify_text(const char *text)
{
    static const char *const rate[] = {
        "rate limit",  "rate_limit", "ratelimit", "too many requests",
        "usage limit", "quota",      "rate-limit"};
    static const char *const auth[] = {
        "unauthorized",    "forbidden",         "authentication",
        "not logged in",   "please log in",     "please run /login",
        "login required",  "log in again",      "invalid api key",
        "invalid_api_key", "incorrect api key", "invalid x-api-key",
        "api key",         "token_expired",     "token expired",
        "expired token",   "refresh token",     "missing environment variable",
        "credential",      "permission_error",  "oauth"};
    size_t i;
    if (!text)
        return SK_AGENT_FAIL_ERROR;
    if (has_code(text, "429"))
        return SK_AGENT_FAIL_RATE_LIMIT;
    for (i = 0; i < SK_ARRAY_LEN(rate); i++)
        if (strcasestr(text, rate[i]))
            return SK_AGENT_FAIL_RATE_LIMIT;
    if (has_code(text, "401") || has_code(text, "403"))
        return SK_AGENT_FAIL_AUTH;
    for (i = 0; i < SK_ARRAY_LEN(auth); i++)
        if (strcasestr(text, auth[i]))
            return SK_AGENT_FAIL_AUTH;
    return SK_AGENT_FAIL_ERROR;
}

enum sk_agent_fail agent_classify_status(long status)
{
    if (status == 401 || status == 403)
        return SK_AGENT_FAIL_AUTH;
    if (status == 429)
        return SK_AGENT_FAIL_RATE_LIMIT;
    return SK_AGENT_FAIL_ERROR;
}

void agent_note_error(struct agent_parser *p, const char *text,
                      enum sk_agent_fail cls)
{
    if (!text || !*text)
        text = "(no message)";
    p->n_errors++;
    snprintf(p->last_error, sizeof p->last_error, "%s", text);
    p->hint = cls != SK_AGENT_OK ? cls : agent_classify_text(text);
}

static uint64_t clamp_u(long long v)
{
    return v > 0 ? (uint64_t)v : 0;
}

void agent_add_usage(struct agent_parser *p, long long prompt, long long cached,
                     long long completion, long long reasoning)
{
    p->usage.prompt_tokens += clamp_u(prompt);
    p->usage.cached_tokens += clamp_u(cached);
    p->usage.completion_tokens += clamp_u(completion);
    p->usage.reasoning_tokens += clamp_u(reasoning);
    p->usage.usage_known = 1;
}

/* One complete line (without its newline). */
static void parse_line(struct agent_parser *p, const char *s, size_t n)
{
    json_error_t jerr;
    json_t *ev;
    size_t a = 0;
    p->n_lines++;
    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (a == n)
        return; /* blank lines are not events */
    ev = sk_json_loadb(s + a, n - a, JSON_REJECT_DUPLICATES, &jerr);
    if (!ev && sk_json_oom(&jerr)) {
        p->oom = 1;
        return;
    }
    if (!json_is_object(ev)) {
        /* a warning printed on stdout, or a cut line: counted, shown in
         * the summary, fatal only if no answer comes */
        if (p->bad_lines++ == 0)
            p->first_bad = p->n_lines;
        json_decref(ev);
        return;
    }
    switch (p->kind) {
    case SK_AGENT_CODEX:
        agent_codex_event(p, ev);
        break;
    case SK_AGENT_CLAUDE_CODE:
        agent_claude_event(p, ev);
        break;
    case SK_AGENT_CURSOR:
        agent_cursor_event(p, ev);
        break;
    case SK_AGENT_COPILOT:
        agent_copilot_event(p, ev);
        break;
    default:
        break;
    }
    json_decref(ev);
}

void agent_parser_feed(struct agent_parser *p, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (p->skipping) {
            /* rest of an over-long line */
        } else if (p->line.len == 0 && nl && n <= p->max_line) {
            parse_line(p, data, n); /* whole line in hand: no copy */
        } else {
            int rc = sk_buf_append(&p->line, data, n);
            if (rc == SK_ETOOBIG) {
                p->long_lines++;
                if (p->bad_lines++ == 0)
                    p->first_bad = p->n_lines + 1;
                p->n_lines++;
                p->skipping = 1;
                sk_buf_release(&p->line);
                sk_buf_init(&p->line, p->max_line);
            } else if (rc != SK_OK) {
                p->oom = 1;
            } else if (nl) {
                parse_line(p, p->line.data, p->line.len);
                sk_buf_reset(&p->line);
            }
        }
        if (nl)
            p->skipping = 0;
        data += nl ? n + 1 : n;
        len -= nl ? n + 1 : n;
    }
}

void agent_parser_end(struct agent_parser *p)
{
    if (p->skipping) {
        p->cut = 1;
    } else if (p->line.len > 0) {
        /* no final newline: parse it, but a line that does not parse means
         * the stream was cut */
        int bad = p->bad_lines;
        parse_line(p, p->line.data, p->line.len);
        if (p->bad_lines != bad)
            p->cut = 1;
    }
    sk_buf_reset(&p->line);
    p->skipping = 0;
}
