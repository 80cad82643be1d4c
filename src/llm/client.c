/*
 * client.c - the path of a model call: cache, budget, provider, engine,
 * ledger (see client.h).  The client adds no policy of its own beyond
 * ordering: retries and rate limits live in the engine, prices and caps in
 * the ledger, wire formats in the providers.
 */
#include "common.h"
#include "llm/agent_call.h"
#include "llm/client.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config/config.h"
#include "llm/cache.h"
#include "llm/http.h"
#include "llm/usage.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/log.h"

struct sk_llm_client {
    const struct sk_config *cfg;
    struct sk_role_cfg roles[SK_ROLE_COUNT];
    struct sk_engine *engine;
    struct sk_cache *cache;
    struct sk_ledger *ledger;
    struct sk_sim *sim;
    FILE *reqlog;    /* <run_dir>/llm_requests.jsonl or NULL */
    char *agent_dir; /* <run_dir>/agent_runs: agent-CLI workspaces, or NULL */
    pthread_mutex_t log_mu;
    pthread_mutex_t mu;          /* guards the four fields below */
    pthread_cond_t completed_cv; /* broadcast when the engine ends a call */
    uint64_t completed;          /* calls the engine has ended so far */
    sk_llm_progress_fn progress; /* completion hook or NULL */
    void *progress_ud;
    sk_llm_unusable_fn unusable; /* unusable-reply hook or NULL */
    void *unusable_ud;
};

/*
 * How long a batch sleeps at most between looks at its calls.  The engine
 * reports a completion just before it marks the call done, so a waiter can
 * miss that one wake-up; the bound keeps such a call from waiting longer.
 */
#define COMPLETION_SLICE_NS 20000000L

/* What one call of a batch carries between submission and completion. */
struct pending {
    struct sk_http_call *call;   /* NULL when answered without a request */
    struct sk_agent_call *agent; /* an agent CLI's run instead of a call */
    char key[65];
    uint64_t ticket;
    int reserved;
    int finished; /* finish_one has run */
};

static const char *env_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

/* Engine observer: wakes the batches waiting for any of their calls. */
static void on_engine_event(void *ud, const struct sk_http_event *ev)
{
    struct sk_llm_client *c = ud;
    if (ev->kind != SK_HTTP_EV_DONE)
        return;
    pthread_mutex_lock(&c->mu);
    c->completed++;
    pthread_cond_broadcast(&c->completed_cv);
    pthread_mutex_unlock(&c->mu);
}

/* Agent runs end on threads of their own: wake the batches the same way. */
static void on_agent_done(void *ud)
{
    struct sk_llm_client *c = ud;
    pthread_mutex_lock(&c->mu);
    c->completed++;
    pthread_cond_broadcast(&c->completed_cv);
    pthread_mutex_unlock(&c->mu);
}

static int uses_sim(const struct sk_config *cfg)
{
    return strcmp(cfg->optimizer_backend, "sim") == 0 ||
           strcmp(cfg->target_backend, "sim") == 0 ||
           strcmp(cfg->model_backend, "sim") == 0;
}

/* The simulator's faults from llm.sim_*: the fault rate is spread over
 * the kinds a real provider shows, in fixed proportions. */
static void sim_faults(const struct sk_config *cfg, struct sk_sim_faults *f)
{
    double r = cfg->sim_fault_rate;
    memset(f, 0, sizeof *f);
    f->seed = (uint64_t)(cfg->sim_seed ? cfg->sim_seed : cfg->seed);
    f->latency_ms_mean = cfg->sim_latency_ms;
    f->rate_429 = 0.35 * r;
    f->retry_after_s = 1;
    f->rate_500 = 0.15 * r;
    f->rate_503 = 0.15 * r;
    f->rate_truncate = 0.1 * r;
    f->rate_malformed = 0.1 * r;
    f->rate_stall = 0.05 * r;
    f->stall_ms = 1500;
    f->rate_think = 0.1 * r;
}

/* Settles one reply stored by an earlier process of the run. */
static void count_prior(void *ud, const char *stage, const char *model,
                        const struct sk_usage *u)
{
    struct sk_llm_client *c = ud;
    struct sk_llm_result r;
    sk_llm_result_init(&r);
    r.usage = *u;
    /* only the target answers rollouts */
    sk_ledger_settle(c->ledger, 0,
                     strcmp(stage, "rollout") == 0 ? SK_ROLE_TARGET
                                                   : SK_ROLE_OPTIMIZER,
                     stage, model, &r);
    sk_llm_result_release(&r);
}

static int open_cache(struct sk_llm_client *c, const char *run_dir,
                      struct sk_error *err)
{
    enum sk_cache_mode mode;
    char *path = NULL;
    int rc;

    if (sk_cache_mode_parse(c->cfg->cache, &mode) != SK_OK)
        return sk_error_set(err, SK_ECONFIG, "llm.cache: unknown mode '%s'",
                            c->cfg->cache);
    if (*c->cfg->cache_path)
        path = sk_strdup(c->cfg->cache_path);
    else if (run_dir)
        path = sk_fs_join(run_dir, "llm_cache.sqlite");
    else if (mode == SK_CACHE_REPLAY)
        return sk_error_set(err, SK_ECONFIG,
                            "llm.cache is replay but there is no run "
                            "directory and no llm.cache_path to replay from");
    else
        mode = SK_CACHE_OFF; /* nowhere to keep it */
    if ((*c->cfg->cache_path || run_dir) && !path)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_cache_open(path ? path : "", mode, &c->cache, err);
    sk_free(path);
    return rc;
}

static int open_reqlog(struct sk_llm_client *c, const char *run_dir,
                       struct sk_error *err)
{
    char *path;
    if (!run_dir)
        return SK_OK;
    path = sk_fs_join(run_dir, "llm_requests.jsonl");
    if (!path)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    c->reqlog = fopen(path, "ae");
    if (!c->reqlog) {
        int rc =
            sk_error_set(err, SK_EIO, "%s: cannot open for appending", path);
        sk_free(path);
        return rc;
    }
    sk_free(path);
    return SK_OK;
}

int sk_llm_client_new(const struct sk_config *cfg,
                      const struct sk_llm_client_opts *opts,
                      struct sk_llm_client **out, struct sk_error *err)
{
    struct sk_llm_client *c;
    struct sk_engine_opts eo;
    pthread_condattr_t ca;
    sk_getenv_fn getenv_fn =
        opts && opts->getenv_fn ? opts->getenv_fn : env_getenv;
    void *ud = opts ? opts->getenv_ud : NULL;
    const char *run_dir = opts ? opts->run_dir : NULL;
    int i, rc;

    *out = NULL;
    c = sk_calloc(1, sizeof *c);
    if (!c)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    c->cfg = cfg;
    pthread_mutex_init(&c->log_mu, NULL);
    pthread_mutex_init(&c->mu, NULL);
    /* Waits are bounded on the monotonic clock: wall-clock jumps must not
     * stall a batch. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->completed_cv, &ca);
    pthread_condattr_destroy(&ca);
    for (i = 0; i < SK_ROLE_COUNT; i++)
        sk_role_cfg_init(&c->roles[i]);
    for (i = 0; i < SK_ROLE_COUNT; i++) {
        rc = sk_role_cfg_resolve(cfg, (enum sk_role)i, getenv_fn, ud,
                                 &c->roles[i], err);
        if (rc != SK_OK)
            goto fail;
    }
    if (uses_sim(cfg)) {
        struct sk_sim_faults f;
        char base[128];
        sim_faults(cfg, &f);
        rc = sk_sim_start(opts ? opts->sim_responder : NULL,
                          opts ? opts->sim_ud : NULL, &f, &c->sim, err);
        if (rc != SK_OK)
            goto fail;
        sk_sim_base_url(c->sim, base, sizeof base);
        for (i = 0; i < SK_ROLE_COUNT; i++)
            if (strcmp(c->roles[i].backend, "sim") == 0) {
                sk_free(c->roles[i].base_url);
                c->roles[i].base_url = sk_strdup(base);
                if (!c->roles[i].base_url) {
                    rc = sk_error_set(err, SK_ENOMEM, "out of memory");
                    goto fail;
                }
            }
    }
    rc = sk_ledger_new(*cfg->pricing ? cfg->pricing : NULL, cfg->max_cost_usd,
                       (uint64_t)cfg->max_run_tokens, &c->ledger, err);
    if (rc != SK_OK)
        goto fail;
    rc = open_cache(c, run_dir, err);
    if (rc != SK_OK)
        goto fail;
    rc = open_reqlog(c, run_dir, err);
    if (rc != SK_OK)
        goto fail;
    if (run_dir && !(c->agent_dir = sk_fs_join(run_dir, "agent_runs"))) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto fail;
    }
    if (run_dir && !*cfg->cache_path) {
        /* the run's own cache holds every reply an earlier process of the
         * run paid for: count it, so that accounting and the budget span
         * the whole run, not this process */
        rc = sk_cache_foreach_usage(c->cache, count_prior, c, err);
        if (rc != SK_OK)
            goto fail;
    }
    memset(&eo, 0, sizeof eo);
    eo.max_in_flight = (int)cfg->max_in_flight;
    eo.rpm = cfg->rpm;
    eo.tpm = cfg->tpm;
    eo.seed = (uint64_t)cfg->seed;
    eo.observer = on_engine_event;
    eo.observer_ud = c;
    rc = sk_engine_new(&eo, &c->engine, err);
    if (rc != SK_OK)
        goto fail;
    *out = c;
    return SK_OK;
fail:
    sk_llm_client_free(c);
    return rc;
}

void sk_llm_client_free(struct sk_llm_client *c)
{
    int i;
    if (!c)
        return;
    sk_engine_free(c->engine);
    sk_sim_stop(c->sim);
    sk_cache_close(c->cache);
    sk_ledger_free(c->ledger);
    if (c->reqlog)
        fclose(c->reqlog);
    sk_free(c->agent_dir);
    for (i = 0; i < SK_ROLE_COUNT; i++)
        sk_role_cfg_release(&c->roles[i]);
    pthread_mutex_destroy(&c->log_mu);
    pthread_cond_destroy(&c->completed_cv);
    pthread_mutex_destroy(&c->mu);
    sk_free(c);
}

const struct sk_role_cfg *sk_llm_client_role(const struct sk_llm_client *c,
                                             enum sk_role role)
{
    return &c->roles[role];
}

struct sk_ledger *sk_llm_client_ledger(struct sk_llm_client *c)
{
    return c->ledger;
}

struct sk_sim *sk_llm_client_sim(struct sk_llm_client *c)
{
    return c->sim;
}

void sk_llm_client_set_progress(struct sk_llm_client *c, sk_llm_progress_fn fn,
                                void *ud)
{
    pthread_mutex_lock(&c->mu);
    c->progress = fn;
    c->progress_ud = fn ? ud : NULL;
    pthread_mutex_unlock(&c->mu);
}

int sk_llm_exit_code(int status)
{
    if (status == SK_OK)
        return 0;
    return status == SK_LLM_EBUDGET ? 5 : 4;
}

static void set_error(struct sk_llm_result *res, int status, const char *fmt,
                      ...) SK_PRINTF(3, 4);

static void set_error(struct sk_llm_result *res, int status, const char *fmt,
                      ...)
{
    va_list ap;
    res->status = status;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    sk_log_redact(res->error, sizeof res->error);
}

/* One redacted JSON line per request in llm_requests.jsonl. */
static void log_request(struct sk_llm_client *c,
                        const struct sk_llm_request *req,
                        const struct sk_llm_result *res)
{
    const struct sk_role_cfg *rc = &c->roles[req->role];
    json_t *o;
    char *line;
    char buf[8192];

    if (!c->reqlog)
        return;
    o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:b, s:f, "
                  "s:I, s:I, s:I, s:I, s:s}",
                  "time", (json_int_t)time(NULL), "role",
                  req->role == SK_ROLE_OPTIMIZER ? "optimizer" : "target",
                  "stage", req->stage ? req->stage : "", "backend", rc->backend,
                  "model", rc->model, "status", res->status, "attempts",
                  res->attempts, "http_status", (json_int_t)res->http_status,
                  "cache_hit", res->cache_hit, "latency_s", res->latency_s,
                  "prompt_tokens", (json_int_t)res->usage.prompt_tokens,
                  "completion_tokens", (json_int_t)res->usage.completion_tokens,
                  "cached_tokens", (json_int_t)res->usage.cached_tokens,
                  "reasoning_tokens", (json_int_t)res->usage.reasoning_tokens,
                  "error", res->error);
    if (!o)
        return;
    line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line)
        return;
    snprintf(buf, sizeof buf, "%s", line);
    sk_free(line);
    sk_log_redact(buf, sizeof buf);
    pthread_mutex_lock(&c->log_mu);
    fputs(buf, c->reqlog);
    fputc('\n', c->reqlog);
    fflush(c->reqlog);
    pthread_mutex_unlock(&c->log_mu);
}

static long completion_cap(const struct sk_role_cfg *rc,
                           const struct sk_llm_request *req)
{
    if (req->max_tokens > 0)
        return req->max_tokens;
    return rc->max_tokens > 0 ? rc->max_tokens : 16384;
}

/*
 * Starts one call: cache, budget, provider request, engine.  When the call
 * is answered without a request (cache hit, refusal by the budget, a
 * provider or cache error) res is final and p->call stays NULL.
 */
static void start_one(struct sk_llm_client *c, const struct sk_llm_request *req,
                      struct sk_llm_result *res, struct pending *p)
{
    const struct sk_role_cfg *rc = &c->roles[req->role];
    struct sk_role_cfg keyed;
    struct sk_http_request *hr = NULL;
    struct sk_error err;
    char *canonical;
    uint64_t est;
    long cap = completion_cap(rc, req);
    int st;

    memset(p, 0, sizeof *p);
    /* The simulator listens on a new port each run; its replies are keyed
     * without the port so that a recorded run can be replayed. */
    keyed = *rc;
    if (strcmp(rc->backend, "sim") == 0)
        keyed.base_url = (char *)"sim";
    canonical = sk_provider_canonical(&keyed, req);
    if (!canonical) {
        set_error(res, SK_ENOMEM, "out of memory");
        return;
    }
    est = strlen(canonical) / 4 + 1;
    st = sk_cache_key(keyed.backend, keyed.base_url, keyed.model, canonical,
                      req->sample_index, p->key);
    sk_free(canonical);
    if (st != SK_OK) {
        set_error(res, st, "cache key: %s", sk_strerror(st));
        return;
    }
    sk_error_clear(&err);
    st = sk_cache_get(c->cache, p->key, res, &err);
    if (st == SK_OK) {
        res->cache_hit = 1;
        sk_ledger_cache_hit(c->ledger, req->role, req->stage, res);
        return;
    }
    if (st != SK_ENOTFOUND) {
        set_error(res, st, "%s", err.msg);
        return;
    }
    st = sk_ledger_reserve(c->ledger, rc->model, est, (uint64_t)cap, &p->ticket,
                           &err);
    if (st != SK_OK) {
        set_error(res, st, "%s", err.msg);
        return;
    }
    p->reserved = 1;
    if (sk_agent_call_backend(rc->backend)) {
        /* an agent CLI answers: its run goes on a thread of its own */
        if (c->agent_dir)
            (void)sk_fs_mkdirs(c->agent_dir, NULL);
        st = sk_agent_call_start(c->cfg, rc, req, c->agent_dir, p->key,
                                 on_agent_done, c, &p->agent, &err);
        if (st != SK_OK)
            set_error(res, st, "%s", err.msg);
        return;
    }
    st = sk_provider_build(rc, req, &hr, &err);
    if (st != SK_OK) {
        set_error(res, st, "%s", err.msg);
        return;
    }
    hr->connect_timeout_ms = (long)c->cfg->connect_timeout * 1000;
    hr->stall_timeout_ms = (long)c->cfg->stall_timeout * 1000;
    hr->total_timeout_ms =
        req->timeout_ms > 0 ? req->timeout_ms : rc->timeout_ms;
    hr->max_attempts = (int)c->cfg->retries;
    hr->est_tokens = est + (uint64_t)cap;
    st = sk_engine_submit(c->engine, hr, &p->call);
    if (st != SK_OK)
        set_error(res, st, "engine: %s", sk_strerror(st));
}

/* 1 when a call got a 2xx reply that could not be read. */
static int resp_ok_garbled(const struct sk_llm_result *res)
{
    return res->http_status >= 200 && res->http_status < 300 &&
           (res->status == SK_LLM_EREPLY || res->status == SK_LLM_EPROVIDER);
}

/* Sends a started call's request again (its reservation is kept). */
static int resubmit(struct sk_llm_client *c, const struct sk_llm_request *req,
                    struct pending *p)
{
    const struct sk_role_cfg *rc = &c->roles[req->role];
    struct sk_http_request *hr = NULL;
    struct sk_error err;
    long cap = completion_cap(rc, req);
    int st = sk_provider_build(rc, req, &hr, &err);

    if (st != SK_OK)
        return st;
    hr->connect_timeout_ms = (long)c->cfg->connect_timeout * 1000;
    hr->stall_timeout_ms = (long)c->cfg->stall_timeout * 1000;
    hr->total_timeout_ms =
        req->timeout_ms > 0 ? req->timeout_ms : rc->timeout_ms;
    hr->max_attempts = (int)c->cfg->retries;
    hr->est_tokens = (uint64_t)cap;
    return sk_engine_submit(c->engine, hr, &p->call);
}

/* Completes one started call: waits, reads the reply, settles. */
static void finish_one(struct sk_llm_client *c,
                       const struct sk_llm_request *req,
                       struct sk_llm_result *res, struct pending *p)
{
    const struct sk_role_cfg *rc = &c->roles[req->role];
    const struct sk_http_response *resp;
    struct sk_error err;
    int garbled = 0;

    if (p->agent) {
        sk_agent_call_finish(p->agent, res);
        p->agent = NULL;
    }
again:
    if (p->call) {
        resp = sk_http_call_wait(p->call);
        res->attempts = resp->attempts;
        res->latency_s = resp->elapsed_s;
        res->http_status = resp->status;
        switch (resp->outcome) {
        case SK_HTTP_OK:
        case SK_HTTP_STATUS:
            sk_provider_parse(rc, resp, res);
            break;
        case SK_HTTP_TIMEOUT:
            set_error(res, SK_LLM_ETIMEOUT,
                      "%s %s: timed out after %d attempt%s", rc->backend,
                      rc->model, resp->attempts,
                      resp->attempts == 1 ? "" : "s");
            break;
        case SK_HTTP_TOOBIG:
            set_error(res, SK_LLM_EREPLY, "%s %s: reply larger than the cap",
                      rc->backend, rc->model);
            break;
        case SK_HTTP_TRANSPORT:
        case SK_HTTP_CANCELLED:
        default:
            set_error(res, SK_LLM_ETRANSPORT, "%s %s: %s after %d attempt%s",
                      rc->backend, rc->model,
                      resp->error[0] ? resp->error : "no reply", resp->attempts,
                      resp->attempts == 1 ? "" : "s");
            break;
        }
        sk_http_call_free(p->call);
        p->call = NULL;
        /* A 2xx body that does not parse (cut short, mangled by a proxy)
         * is a transport fault, not an answer: ask again, within the same
         * attempt budget, before reporting it. */
        if (res->status != SK_OK && resp_ok_garbled(res) &&
            ++garbled < (int)c->cfg->retries && resubmit(c, req, p) == SK_OK) {
            sk_debug("%s: unreadable reply, asking again",
                     req->stage ? req->stage : "llm");
            sk_llm_result_release(res);
            sk_llm_result_init(res);
            goto again;
        }
    }
    if (p->reserved) {
        sk_ledger_settle(c->ledger, p->ticket, req->role, req->stage, rc->model,
                         res);
        p->reserved = 0;
    }
    if (res->status == SK_OK && !res->cache_hit) {
        sk_error_clear(&err);
        if (sk_cache_put(c->cache, p->key, req->stage, rc->model, res, &err) !=
            SK_OK)
            sk_warn("response cache: %s", err.msg);
    }
    if (res->status != SK_OK)
        sk_debug("%s call failed: %s", req->stage ? req->stage : "llm",
                 res->error);
    log_request(c, req, res);
    p->finished = 1;
}

/* Tells the hook (read under the lock, called outside it) that one request
 * of a batch is final. */
static void report(struct sk_llm_client *c, const struct sk_llm_request *req,
                   const struct sk_llm_result *res, size_t done, size_t total)
{
    sk_llm_progress_fn fn;
    void *ud;
    pthread_mutex_lock(&c->mu);
    fn = c->progress;
    ud = c->progress_ud;
    pthread_mutex_unlock(&c->mu);
    if (fn)
        fn(ud, req, res, done, total);
}

/* Sleeps until the engine ends another call than the `seen` first ones, or
 * for at most COMPLETION_SLICE_NS. */
static void wait_completion(struct sk_llm_client *c, uint64_t seen)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_nsec += COMPLETION_SLICE_NS;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (c->completed == seen)
        if (pthread_cond_timedwait(&c->completed_cv, &c->mu, &dl) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&c->mu);
}

/* Requests of a role allowed in flight at once (0: no limit): the
 * optimizer's gradient.analyst_workers, the target's env.workers. */
static long role_limit(const struct sk_llm_client *c, enum sk_role role)
{
    if (role == SK_ROLE_OPTIMIZER)
        return (long)c->cfg->analyst_workers;
    return c->cfg->is_null[SK_OPT_workers] ? 0 : (long)c->cfg->workers;
}

/* Starts the batch's next calls, in order, while their role's limit
 * allows; *next is the first call not started yet. */
static void start_more(struct sk_llm_client *c,
                       const struct sk_llm_request *reqs, size_t n,
                       struct sk_llm_result *res, struct pending *p,
                       size_t *next, size_t inflight[SK_ROLE_COUNT])
{
    while (*next < n) {
        size_t i = *next;
        enum sk_role role = reqs[i].role;
        long lim = role_limit(c, role);
        if (lim > 0 && inflight[role] >= (size_t)lim)
            break;
        sk_llm_result_init(&res[i]);
        start_one(c, &reqs[i], &res[i], &p[i]);
        if (p[i].call || p[i].agent)
            inflight[role]++;
        (*next)++;
    }
}

int sk_llm_call_batch(struct sk_llm_client *c,
                      const struct sk_llm_request *reqs, size_t n,
                      struct sk_llm_result *res)
{
    struct pending *p;
    size_t i, done = 0, next = 0, inflight[SK_ROLE_COUNT] = {0};
    int first = SK_OK;

    p = sk_calloc(n ? n : 1, sizeof *p);
    if (!p) {
        for (i = 0; i < n; i++) {
            sk_llm_result_init(&res[i]);
            set_error(&res[i], SK_ENOMEM, "out of memory");
            report(c, &reqs[i], &res[i], i + 1, n);
        }
        return SK_ENOMEM;
    }
    /* Everything the role limits allow is submitted before anything is
     * awaited, so the engine sees as much of the batch as it may run. */
    start_more(c, reqs, n, res, p, &next, inflight);
    /* Calls are finished in the order they complete (answers without a
     * request first), so that progress reflects the replies received, not
     * the slowest call at the head of the batch.  All of it happens on this
     * thread: `done` needs no atomics, and the ledger, cache and request
     * log see each call once. */
    while (done < n) {
        uint64_t seen;
        size_t before = done;
        pthread_mutex_lock(&c->mu);
        seen = c->completed;
        pthread_mutex_unlock(&c->mu);
        for (i = 0; i < next; i++) {
            int had_call = p[i].call != NULL || p[i].agent != NULL;
            if (p[i].finished || (p[i].call && !sk_http_call_done(p[i].call)) ||
                (p[i].agent && !sk_agent_call_done(p[i].agent)))
                continue;
            finish_one(c, &reqs[i], &res[i], &p[i]);
            if (had_call)
                inflight[reqs[i].role]--;
            report(c, &reqs[i], &res[i], ++done, n);
        }
        start_more(c, reqs, n, res, p, &next, inflight);
        if (done == before)
            wait_completion(c, seen);
    }
    for (i = 0; i < n; i++)
        if (res[i].status != SK_OK && first == SK_OK)
            first = res[i].status;
    sk_free(p);
    return first;
}

int sk_llm_call(struct sk_llm_client *c, const struct sk_llm_request *req,
                struct sk_llm_result *res)
{
    return sk_llm_call_batch(c, req, 1, res);
}

void sk_llm_client_set_unusable_hook(struct sk_llm_client *c,
                                     sk_llm_unusable_fn fn, void *ud)
{
    pthread_mutex_lock(&c->mu);
    c->unusable = fn;
    c->unusable_ud = ud;
    pthread_mutex_unlock(&c->mu);
}

void sk_llm_client_note_unusable(struct sk_llm_client *c, const char *stage,
                                 const char *text)
{
    sk_llm_unusable_fn fn;
    void *ud;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    fn = c->unusable;
    ud = c->unusable_ud;
    pthread_mutex_unlock(&c->mu);
    if (fn)
        fn(ud, stage ? stage : "llm", text ? text : "");
}
