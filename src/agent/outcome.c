/*
 * outcome.c - what an agent CLI run amounts to (agent.h): the failure
 * class from the process outcome and the parsed stream, the result
 * struct, the trace summary for the optimizer, and the names of kinds,
 * placements and classes.  No I/O.
 */
#include "common.h"

#include "agent/agent.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/agent_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

static const char *const kind_names[SK_AGENT_KIND_COUNT] = {
    "codex", "claude", "cursor", "copilot"};
static const char *const backend_names[SK_AGENT_KIND_COUNT] = {
    "codex_exec", "claude_code_exec", "cursor_exec", "copilot_exec"};
static const char *const place_names[SK_AGENT_SKILL_PLACE_COUNT] = {
    "agents_skills", "agents_md", "claude_md", "claude_skills"};
static const char *const fail_names[SK_AGENT_FAIL_COUNT] = {
    "ok",      "not_found", "auth",  "rate_limit", "crash",
    "timeout", "empty",     "error", "too_big",    "setup"};

const char *sk_agent_kind_name(enum sk_agent_kind kind)
{
    return (unsigned)kind < SK_AGENT_KIND_COUNT ? kind_names[kind] : "?";
}

const char *sk_agent_backend_name(enum sk_agent_kind kind)
{
    return (unsigned)kind < SK_AGENT_KIND_COUNT ? backend_names[kind] : "?";
}

int sk_agent_kind_parse(const char *name, enum sk_agent_kind *out)
{
    int i;
    for (i = 0; name && i < SK_AGENT_KIND_COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0 ||
            strcmp(name, backend_names[i]) == 0) {
            *out = (enum sk_agent_kind)i;
            return SK_OK;
        }
    return SK_ENOTFOUND;
}

int sk_agent_place_parse(const char *name, enum sk_agent_skill_place *out)
{
    int i;
    for (i = 0; name && i < SK_AGENT_SKILL_PLACE_COUNT; i++)
        if (strcmp(name, place_names[i]) == 0) {
            *out = (enum sk_agent_skill_place)i;
            return SK_OK;
        }
    return SK_ENOTFOUND;
}

const char *sk_agent_place_name(enum sk_agent_skill_place place)
{
    return (unsigned)place < SK_AGENT_SKILL_PLACE_COUNT ? place_names[place]
                                                        : "?";
}

const char *sk_agent_fail_name(enum sk_agent_fail fail)
{
    return (unsigned)fail < SK_AGENT_FAIL_COUNT ? fail_names[fail] : "?";
}

int sk_agent_fail_status(enum sk_agent_fail fail)
{
    switch (fail) {
    case SK_AGENT_OK:
        return SK_OK;
    case SK_AGENT_FAIL_NOT_FOUND:
        return SK_ECONFIG;
    case SK_AGENT_FAIL_AUTH:
        return SK_LLM_EAUTH;
    case SK_AGENT_FAIL_TIMEOUT:
        return SK_LLM_ETIMEOUT;
    case SK_AGENT_FAIL_EMPTY:
    case SK_AGENT_FAIL_TOO_BIG:
        return SK_LLM_EREPLY;
    case SK_AGENT_FAIL_SETUP:
        return SK_EIO;
    default:
        return SK_LLM_EPROVIDER;
    }
}

void sk_agent_result_init(struct sk_agent_result *r)
{
    memset(r, 0, sizeof *r);
    r->answer = NULL;
    r->exit_code = -1;
}

void sk_agent_result_release(struct sk_agent_result *r)
{
    sk_free(r->answer);
    json_decref(r->trajectory);
    sk_free(r->model);
    sk_free(r->session_id);
    sk_free(r->summary);
    sk_free(r->events_path);
    sk_free(r->stderr_tail);
    sk_agent_result_init(r);
}

/* The last non-blank line of s (into out). */
static void last_line(const char *s, char *out, size_t cap)
{
    size_t n = s ? strlen(s) : 0, a;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
                     s[n - 1] == '\t'))
        n--;
    a = n;
    while (a > 0 && s[a - 1] != '\n')
        a--;
    snprintf(out, cap, "%.*s", (int)(n - a), s ? s + a : "");
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGINT:
        return "SIGINT";
    default:
        return "signal";
    }
}

static const char *class_text(enum sk_agent_fail f)
{
    switch (f) {
    case SK_AGENT_FAIL_AUTH:
        return "not logged in or bad credentials";
    case SK_AGENT_FAIL_RATE_LIMIT:
        return "rate limited";
    default:
        return "error";
    }
}

/* Sets the class and the message "label: head[: more]" (redacted). */
static void fail(struct sk_agent_result *res, enum sk_agent_fail f,
                 const char *label, const char *head, const char *more)
{
    res->fail = f;
    res->status = sk_agent_fail_status(f);
    {
        /* pieced together: cut at the end, whatever the parts' sizes */
        size_t n = 0, cap = sizeof res->error - 1;
        const char *parts[4];
        size_t i;
        parts[0] = label;
        parts[1] = ": ";
        parts[2] = head;
        parts[3] = NULL;
        for (i = 0; i < 3; i++) {
            size_t k = strlen(parts[i]);
            if (k > cap - n)
                k = cap - n;
            memcpy(res->error + n, parts[i], k);
            n += k;
        }
        if (more && *more && n + 2 <= cap) {
            size_t k = strlen(more);
            memcpy(res->error + n, ": ", 2);
            n += 2;
            if (k > cap - n)
                k = cap - n;
            memcpy(res->error + n, more, k);
            n += k;
        }
        res->error[n] = '\0';
    }
    sk_log_redact(res->error, sizeof res->error);
}

static void classify(struct agent_parser *p, const struct agent_exit *x,
                     struct sk_agent_result *res)
{
    const char *label = x->label ? x->label : sk_agent_kind_name(p->kind);
    const char *ans = p->answer ? p->answer : "";
    const char *last = p->n_errors > 0 ? p->last_error : NULL;
    char err_line[300], head[256];
    enum sk_agent_fail hint =
        p->hint == SK_AGENT_OK ? SK_AGENT_FAIL_ERROR : p->hint;

    last_line(x->stderr_tail, err_line, sizeof err_line);
    res->fail = SK_AGENT_OK;
    res->status = SK_OK;
    res->error[0] = '\0';
    if (p->oom) {
        res->fail = SK_AGENT_FAIL_SETUP;
        res->status = SK_ENOMEM;
        snprintf(res->error, sizeof res->error,
                 "%s: out of memory reading its output", label);
        return;
    }
    if (x->stopped) {
        snprintf(head, sizeof head, "%s (stopped instead of retrying)",
                 class_text(hint));
        fail(res, hint, label, head, p->last_error);
        return;
    }
    if (x->timed_out) {
        if (hint == SK_AGENT_FAIL_RATE_LIMIT || hint == SK_AGENT_FAIL_AUTH) {
            snprintf(head, sizeof head, "%s, still retrying at the deadline",
                     class_text(hint));
            fail(res, hint, label, head, p->last_error);
        } else {
            snprintf(head, sizeof head,
                     "timed out after %.0f s (process group killed)",
                     x->seconds);
            fail(res, SK_AGENT_FAIL_TIMEOUT, label, head,
                 last ? last : err_line);
        }
        return;
    }
    if (x->too_big) {
        fail(res, SK_AGENT_FAIL_TOO_BIG, label,
             "printed more than the stream cap (killed)", NULL);
        return;
    }
    if (p->done_error) {
        fail(res, hint, label, class_text(hint),
             p->last_error[0] ? p->last_error : err_line);
        return;
    }
    if (x->signal) {
        snprintf(head, sizeof head, "killed by signal %d (%s)", x->signal,
                 signame(x->signal));
        fail(res, SK_AGENT_FAIL_CRASH, label, head, err_line);
        return;
    }
    if (x->exit_code != 0) {
        enum sk_agent_fail f = SK_AGENT_FAIL_CRASH;
        if (x->exit_code == 127 && p->n_lines == 0 && !err_line[0]) {
            /* where posix_spawn falls back to fork+exec (valgrind) an
             * exec failure is exit 127 with no output */
            fail(res, SK_AGENT_FAIL_NOT_FOUND, label,
                 "cannot run the binary (not found or not executable)", NULL);
            return;
        }
        if (last && hint != SK_AGENT_FAIL_ERROR)
            f = hint;
        else if (err_line[0] &&
                 agent_classify_text(err_line) != SK_AGENT_FAIL_ERROR)
            f = agent_classify_text(err_line);
        if (f == SK_AGENT_FAIL_CRASH) {
            snprintf(head, sizeof head,
                     "exited with status %d without a result", x->exit_code);
            fail(res, f, label, head, err_line[0] ? err_line : last);
        } else {
            fail(res, f, label, class_text(f),
                 f == hint && last ? last : err_line);
        }
        return;
    }
    if (p->n_lines == 0) {
        fail(res, SK_AGENT_FAIL_EMPTY, label, "printed nothing on stdout",
             err_line);
        return;
    }
    if (!p->done) {
        fail(res, SK_AGENT_FAIL_EMPTY, label,
             p->cut ? "the stream ended without a final result (cut in the "
                      "middle of a line)"
                    : "the stream ended without a final result",
             last ? last : err_line);
        return;
    }
    if (!*ans)
        fail(res, SK_AGENT_FAIL_EMPTY, label, "the final answer is empty",
             last);
}

static int cmp_tool(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t cx = json_integer_value(json_array_get(x, 1));
    json_int_t cy = json_integer_value(json_array_get(y, 1));
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(json_string_value(json_array_get(x, 0)),
                  json_string_value(json_array_get(y, 0)));
}

/* "Bash x3, Read x1" into b. */
static int put_tools(struct agent_parser *p, struct sk_buf *b)
{
    size_t n = json_object_size(p->tools), i = 0;
    json_t **rows, *v;
    const char *k;
    int rc = SK_OK;
    if (n == 0)
        return sk_buf_puts(b, "none");
    rows = sk_calloc(n, sizeof *rows);
    if (!rows)
        return SK_ENOMEM;
    json_object_foreach(p->tools, k, v)
    {
        rows[i] = json_pack("[s, O]", k, v);
        if (!rows[i++])
            rc = SK_ENOMEM;
    }
    if (rc == SK_OK) {
        qsort(rows, n, sizeof *rows, cmp_tool);
        for (i = 0; i < n && rc == SK_OK; i++)
            rc = sk_buf_printf(
                b, "%s%s x%lld", i ? ", " : "",
                json_string_value(json_array_get(rows[i], 0)),
                (long long)json_integer_value(json_array_get(rows[i], 1)));
    }
    for (i = 0; i < n; i++)
        json_decref(rows[i]);
    sk_free(rows);
    return rc;
}

void agent_summary(struct agent_parser *p, const struct sk_agent_opts *o,
                   const struct agent_exit *x, struct sk_agent_result *res)
{
    struct sk_buf b;
    int rc;
    const struct sk_usage *u = &res->usage;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(
        &b, "agent: %s\nmodel: %s\n", sk_agent_backend_name(p->kind),
        p->model ? p->model
                 : (o && o->model && *o->model ? o->model : "(default)"));
    if (rc == SK_OK && o) {
        const char *sb = o->sandbox && *o->sandbox
                             ? o->sandbox
                             : agent_default_sandbox(p->kind);
        const char *ap = o->approval && *o->approval
                             ? o->approval
                             : agent_default_approval(p->kind);
        rc = sk_buf_printf(&b, "settings: sandbox %s, approval %s, effort %s\n",
                           *sb ? sb : "n/a", ap,
                           o->effort && *o->effort ? o->effort : "(default)");
    }
    if (rc == SK_OK)
        rc = sk_buf_printf(&b, "outcome: %s%s%s\n",
                           sk_agent_fail_name(res->fail),
                           res->error[0] ? " - " : "", res->error);
    if (rc == SK_OK) {
        rc = sk_buf_printf(&b, "duration: %.1f s", x->seconds);
        if (rc == SK_OK && p->cli_ms >= 0)
            rc = sk_buf_printf(&b, " (CLI reported %ld ms)", p->cli_ms);
        if (rc == SK_OK && (x->timed_out || x->stopped || x->too_big))
            rc = sk_buf_puts(&b, "; stopped by skillopt\n");
        else if (rc == SK_OK && x->lingered)
            rc = sk_buf_puts(&b, "; stopped by skillopt after its result\n");
        else if (rc == SK_OK && x->signal)
            rc = sk_buf_printf(&b, "; killed by signal %d\n", x->signal);
        else if (rc == SK_OK)
            rc = sk_buf_printf(&b, "; exit %d\n", x->exit_code);
    }
    if (rc == SK_OK)
        rc = sk_buf_printf(&b, "turns: %d; tool calls: %d (", res->turns,
                           p->n_tools);
    if (rc == SK_OK)
        rc = put_tools(p, &b);
    if (rc == SK_OK)
        rc = sk_buf_printf(&b, "); failed tool calls: %d\n", p->tool_errors);
    if (rc == SK_OK)
        rc = sk_buf_printf(&b, "errors: %d%s%s%s\n", p->n_errors,
                           p->n_errors ? " (last: " : "",
                           p->n_errors ? p->last_error : "",
                           p->n_errors ? ")" : "");
    if (rc == SK_OK && u->usage_known)
        rc = sk_buf_printf(
            &b,
            "tokens: input %llu (cached %llu), output %llu (reasoning "
            "%llu)",
            (unsigned long long)u->prompt_tokens,
            (unsigned long long)u->cached_tokens,
            (unsigned long long)u->completion_tokens,
            (unsigned long long)u->reasoning_tokens);
    else if (rc == SK_OK)
        rc = sk_buf_puts(&b, "tokens: not reported");
    if (rc == SK_OK && res->cost_known)
        rc = sk_buf_printf(&b, "; cost $%.6f", res->cost_usd);
    if (rc == SK_OK)
        rc = sk_buf_printf(&b, "\nstream: %ld lines, %d not JSON%s\n",
                           p->n_lines, p->bad_lines,
                           p->cut ? ", cut mid-line" : "");
    if (rc != SK_OK) {
        sk_buf_release(&b);
        p->oom = 1;
        return;
    }
    sk_log_redact(b.data, b.len + 1);
    sk_free(res->summary);
    res->summary = sk_buf_detach(&b, NULL);
}

int agent_outcome(struct agent_parser *p, const struct agent_exit *x,
                  struct sk_agent_result *res)
{
    if (p->kind == SK_AGENT_CLAUDE_CODE)
        agent_claude_end(p);
    res->kind = p->kind;
    res->usage = p->usage;
    res->cost_usd = p->cost;
    res->cost_known = p->cost_known;
    res->tool_calls = p->n_tools;
    res->turns = p->turns >= 0 ? p->turns : p->n_msgs + p->n_tools;
    res->errors = p->n_errors;
    res->bad_lines = p->bad_lines;
    res->exit_code = x->signal ? -1 : x->exit_code;
    res->term_signal = x->signal;
    res->duration_s = x->seconds;
    sk_free(res->answer);
    res->answer = sk_strdup(p->answer ? p->answer : "");
    if (!res->answer)
        p->oom = 1;
    if (p->model && !res->model && !(res->model = sk_strdup(p->model)))
        p->oom = 1;
    if (p->session && !res->session_id &&
        !(res->session_id = sk_strdup(p->session)))
        p->oom = 1;
    if (x->stderr_tail && !res->stderr_tail &&
        !(res->stderr_tail = sk_strdup(x->stderr_tail)))
        p->oom = 1;
    json_decref(res->trajectory);
    res->trajectory = p->traj;
    p->traj = NULL;
    classify(p, x, res);
    if (res->status != SK_OK && res->answer)
        res->answer[0] = '\0'; /* a failed run has no answer to score */
    return res->status;
}

int sk_agent_parse(enum sk_agent_kind kind, const char *data, size_t len,
                   int exit_code, struct sk_agent_result *res)
{
    struct agent_parser p;
    struct agent_exit x;
    memset(&x, 0, sizeof x);
    x.exit_code = exit_code;
    agent_parser_init(&p, kind, 0);
    agent_parser_feed(&p, data, len);
    agent_parser_end(&p);
    agent_outcome(&p, &x, res);
    agent_summary(&p, NULL, &x, res);
    if (p.oom && res->status == SK_OK) {
        /* the summary itself ran out of memory */
        res->status = SK_ENOMEM;
        res->fail = SK_AGENT_FAIL_SETUP;
        snprintf(res->error, sizeof res->error, "out of memory");
    }
    agent_parser_release(&p);
    return res->status;
}
