/*
 * agent_call.c - model calls answered by agent CLIs (see agent_call.h).
 */
#include "common.h"

#include "llm/agent_call.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "config/config.h"
#include "llm/llm.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

struct sk_agent_call {
    struct sk_agent_opts o;
    char *binary, *model, *prompt, *ws, *events;
    char **env_pass, **env_set;
    pthread_t tid;
    int started;
    int done; /* atomic */
    void (*on_done)(void *ud);
    void *ud;
    struct sk_agent_result res;
};

/* Serial number of agent runs in this process (workspace names). */
static unsigned long serial;

int sk_agent_call_backend(const char *backend)
{
    enum sk_agent_kind k;
    return backend && sk_agent_kind_parse(backend, &k) == SK_OK;
}

/* Appends s without trailing whitespace. */
static int put_trimmed(struct sk_buf *b, const char *s)
{
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        n--;
    return sk_buf_append(b, s, n);
}

int sk_agent_call_task(const struct sk_llm_request *req, char **out)
{
    struct sk_buf b, sec;
    const char *sys = req->system ? req->system : "", *hit = NULL;
    size_t i;
    int rc = SK_OK;

    *out = NULL;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    sk_buf_init(&sec, SK_BUF_UNLIMITED);
    if (req->skill && *req->skill) {
        /* the section the benchmarks write: "## Skill\n" + the skill
         * without surrounding whitespace + "\n\n" */
        const char *s = req->skill;
        size_t n = strlen(s);
        while (n && strchr(" \t\r\n", *s))
            s++, n--;
        while (n && strchr(" \t\r\n", s[n - 1]))
            n--;
        rc = sk_buf_puts(&sec, "## Skill\n");
        if (rc == SK_OK)
            rc = sk_buf_append(&sec, s, n);
        if (rc == SK_OK)
            rc = sk_buf_puts(&sec, "\n\n");
        if (rc == SK_OK)
            hit = strstr(sys, sk_buf_cstr(&sec));
    }
    if (rc == SK_OK && hit) {
        rc = sk_buf_append(&b, sys, (size_t)(hit - sys));
        if (rc == SK_OK)
            rc = sk_buf_puts(&b, "## Skill\nThe skill is in its own file in "
                                 "this workspace (see the prompt).\n\n");
        if (rc == SK_OK)
            rc = sk_buf_puts(&b, hit + sec.len);
    } else if (rc == SK_OK) {
        rc = sk_buf_puts(&b, sys);
    }
    if (rc == SK_OK && b.len)
        rc = sk_buf_puts(&b, "\n\n");
    for (i = 0; rc == SK_OK && i < req->n_messages; i++) {
        const struct sk_llm_message *m = &req->messages[i];
        if (req->n_messages > 1)
            rc = sk_buf_printf(&b, "## %s\n\n",
                               strcmp(m->role, "assistant") == 0
                                   ? "Your earlier reply"
                                   : "Message");
        if (rc == SK_OK)
            rc = put_trimmed(&b, m->content ? m->content : "");
        if (rc == SK_OK)
            rc = sk_buf_puts(&b, "\n\n");
    }
    if (rc == SK_OK && !(*out = sk_buf_detach(&b, NULL)))
        rc = SK_ENOMEM;
    sk_buf_release(&b);
    sk_buf_release(&sec);
    return rc;
}

/* The first non-empty of a and the environment variable var. */
static const char *pick(const char *a, const char *var)
{
    const char *e;
    if (a && *a)
        return a;
    e = var ? getenv(var) : NULL;
    return e && *e ? e : NULL;
}

/* Fills ac->o from the configuration for kind. */
static int configure(struct sk_agent_call *ac, const struct sk_config *c,
                     const struct sk_role_cfg *rc, enum sk_agent_kind kind,
                     struct sk_error *err)
{
    struct sk_agent_opts *o = &ac->o;
    const char *bin = NULL;
    size_t i;

    memset(o, 0, sizeof *o);
    o->kind = kind;
    switch (kind) {
    case SK_AGENT_CODEX:
        bin = pick(c->codex_exec_path, "CODEX_EXEC_PATH");
        o->binary_setting = "model.codex_exec_path";
        o->effort = *c->codex_exec_reasoning_effort
                        ? c->codex_exec_reasoning_effort
                        : NULL;
        o->sandbox = *c->codex_exec_sandbox ? c->codex_exec_sandbox : NULL;
        o->approval = *c->codex_exec_approval_policy
                          ? c->codex_exec_approval_policy
                          : NULL;
        break;
    case SK_AGENT_CLAUDE_CODE:
        bin = pick(getenv("CLAUDE_CODE_EXEC_PATH"), NULL);
        bin = bin ? bin : pick(c->claude_code_exec_path, NULL);
        o->binary_setting = "model.claude_code_exec_path";
        o->effort =
            *c->claude_code_exec_effort ? c->claude_code_exec_effort : NULL;
        break;
    case SK_AGENT_CURSOR:
        bin = pick(c->cursor_exec_path, "CURSOR_EXEC_PATH");
        o->binary_setting = "model.cursor_exec_path";
        o->sandbox = *c->cursor_exec_sandbox ? c->cursor_exec_sandbox : NULL;
        break;
    default:
        bin = pick(c->copilot_exec_path, "COPILOT_EXEC_PATH");
        o->binary_setting = "model.copilot_exec_path";
        break;
    }
    if ((bin && !(ac->binary = sk_strdup(bin))) ||
        (rc->model && *rc->model && !(ac->model = sk_strdup(rc->model))))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    o->binary = ac->binary;
    o->model = ac->model;
    o->timeout_ms = rc->timeout_ms;
    if (!c->is_null[SK_OPT_agent_env] && c->agent_env.n) {
        ac->env_pass = sk_calloc(c->agent_env.n + 1, sizeof *ac->env_pass);
        if (!ac->env_pass)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        for (i = 0; i < c->agent_env.n; i++)
            if (!(ac->env_pass[i] = sk_strdup(c->agent_env.v[i])))
                return sk_error_set(err, SK_ENOMEM, "out of memory");
        o->env_pass = (const char *const *)ac->env_pass;
        o->n_env_pass = c->agent_env.n;
    }
    if (kind == SK_AGENT_COPILOT && *c->copilot_exec_home) {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        ac->env_set = sk_calloc(2, sizeof *ac->env_set);
        if (!ac->env_set ||
            sk_buf_printf(&b, "COPILOT_HOME=%s", c->copilot_exec_home) !=
                SK_OK ||
            !(ac->env_set[0] = sk_buf_detach(&b, NULL))) {
            sk_buf_release(&b);
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        }
        o->env_set = (const char *const *)ac->env_set;
        o->n_env_set = 1;
    }
    return SK_OK;
}

/* The prompt on stdin: where the task and the skill are. */
static char *make_prompt(const char *skill_rel)
{
    struct sk_buf b;
    int rc;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_puts(&b, "Your task is in task.md in the current directory.");
    if (rc == SK_OK && skill_rel)
        rc = sk_buf_printf(&b,
                           " Before you start, read the skill in %s and "
                           "follow it.",
                           skill_rel);
    if (rc == SK_OK)
        rc = sk_buf_puts(&b, " Work only in this directory and do not ask "
                             "for permission. When you are done, your last "
                             "message must be your final answer, in the form "
                             "task.md asks for.\n");
    if (rc != SK_OK) {
        sk_buf_release(&b);
        return NULL;
    }
    return sk_buf_detach(&b, NULL);
}

static void *run_thread(void *arg)
{
    struct sk_agent_call *ac = arg;
    sk_agent_run(&ac->o, ac->ws, ac->prompt, &ac->res, NULL);
    __atomic_store_n(&ac->done, 1, __ATOMIC_SEQ_CST);
    if (ac->on_done)
        ac->on_done(ac->ud);
    return NULL;
}

static void call_free(struct sk_agent_call *ac)
{
    size_t i;
    if (!ac)
        return;
    sk_agent_result_release(&ac->res);
    sk_free(ac->binary);
    sk_free(ac->model);
    sk_free(ac->prompt);
    sk_free(ac->ws);
    sk_free(ac->events);
    for (i = 0; ac->env_pass && ac->env_pass[i]; i++)
        sk_free(ac->env_pass[i]);
    sk_free(ac->env_pass);
    for (i = 0; ac->env_set && ac->env_set[i]; i++)
        sk_free(ac->env_set[i]);
    sk_free(ac->env_set);
    sk_free(ac);
}

int sk_agent_call_start(const struct sk_config *cfg,
                        const struct sk_role_cfg *role,
                        const struct sk_llm_request *req, const char *parent,
                        const char *key, void (*done)(void *ud), void *ud,
                        struct sk_agent_call **out, struct sk_error *err)
{
    struct sk_agent_call *ac = sk_calloc(1, sizeof *ac);
    struct sk_agent_task task;
    enum sk_agent_kind kind;
    char *text = NULL, *rel = NULL, name[48];
    int rc;

    *out = NULL;
    if (!ac)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    sk_agent_result_init(&ac->res);
    ac->on_done = done;
    ac->ud = ud;
    if (sk_agent_kind_parse(role->backend, &kind) != SK_OK) {
        rc = sk_error_set(err, SK_ECONFIG, "%s is not an agent backend",
                          role->backend);
        goto fail;
    }
    rc = configure(ac, cfg, role, kind, err);
    if (rc != SK_OK)
        goto fail;
    if (sk_agent_call_task(req, &text) != SK_OK) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto fail;
    }
    memset(&task, 0, sizeof task);
    task.text = text;
    task.skill = req->skill && *req->skill ? req->skill : NULL;
    task.skill_name = *cfg->agent_skill_name ? cfg->agent_skill_name : NULL;
    if (sk_agent_place_parse(cfg->agent_skill_place, &task.place) != SK_OK)
        task.place = SK_AGENT_SKILL_AGENTS_DIR;
    if (task.skill && !(rel = sk_agent_skill_relpath(
                            task.place, task.skill_name ? task.skill_name
                                                        : "skillopt-target"))) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto fail;
    }
    ac->prompt = make_prompt(rel);
    if (!ac->prompt) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto fail;
    }
    /* one workspace per run, named by the request's cache key and a serial
     * number: the same request may be in flight twice (two evaluations of
     * one skill), and neither may wipe the other's workspace */
    snprintf(name, sizeof name, "%.16s-%lu", key,
             __atomic_add_fetch(&serial, 1, __ATOMIC_SEQ_CST));
    if (!parent)
        parent =
            getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    rc = sk_agent_workspace_prepare(parent, name, &task, &ac->ws, err);
    if (rc != SK_OK)
        goto fail;
    {
        /* the raw stream next to the workspace, one file per request */
        struct sk_buf ev;
        sk_buf_init(&ev, SK_BUF_UNLIMITED);
        if (sk_buf_printf(&ev, "%s_%s_events.jsonl", ac->ws,
                          sk_agent_kind_name(kind)) != SK_OK ||
            !(ac->events = sk_buf_detach(&ev, NULL))) {
            sk_buf_release(&ev);
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto fail;
        }
        ac->o.events_path = ac->events;
    }
    if (pthread_create(&ac->tid, NULL, run_thread, ac) != 0) {
        rc = sk_error_set(err, SK_EIO, "cannot start a thread for the agent");
        goto fail;
    }
    ac->started = 1;
    sk_free(text);
    sk_free(rel);
    *out = ac;
    return SK_OK;
fail:
    sk_free(text);
    sk_free(rel);
    call_free(ac);
    return rc;
}

int sk_agent_call_done(struct sk_agent_call *ac)
{
    return __atomic_load_n(&ac->done, __ATOMIC_SEQ_CST);
}

void sk_agent_call_finish(struct sk_agent_call *ac, struct sk_llm_result *res)
{
    struct sk_agent_result *r = &ac->res;

    if (ac->started)
        pthread_join(ac->tid, NULL);
    res->status = r->status;
    res->latency_s = r->duration_s;
    res->attempts = 1;
    res->usage = r->usage;
    if (r->status == SK_OK) {
        res->text = r->answer;
        r->answer = NULL;
        res->finish_reason = sk_strdup("stop");
        res->trace = r->trajectory;
        r->trajectory = NULL;
        res->trace_summary = r->summary;
        r->summary = NULL;
        if (!res->text) {
            res->status = SK_ENOMEM;
            snprintf(res->error, sizeof res->error, "out of memory");
        }
    } else {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        if (sk_buf_printf(&b, "%s (%s): %s", sk_agent_backend_name(r->kind),
                          sk_agent_fail_name(r->fail),
                          r->error[0] ? r->error : "failed") == SK_OK) {
            size_t n =
                b.len < sizeof res->error - 1 ? b.len : sizeof res->error - 1;
            memcpy(res->error, b.data, n);
            res->error[n] = '\0';
        }
        sk_buf_release(&b);
    }
    call_free(ac);
}
