/*
 * pool.c - pools of external environment processes, the registry of the
 * pools a run uses, and sessions (one episode each): reset and step
 * requests, their replies checked against protocol version 1, the time
 * limits, and what happens to a process after a failure.  Framing, the
 * handshake and killing live in proc.c.
 */
#include "common.h"

#include "envproto/envproto.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envproto/proc.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"

extern char **environ;

/* Grace given to an idle process to exit after close, ms. */
#define CLOSE_GRACE_MS 1000
/* Longest command label in messages, bytes. */
#define LABEL_MAX 200

struct sk_env_pool {
    char **argv; /* argc strings + NULL */
    size_t argc;
    char **envp; /* the scrubbed environment + NULL */
    char *label; /* "python3 env.py" */
    long size;   /* most processes alive at once */
    long live;   /* alive or being started */
    long started;
    int probed;             /* one process passed its handshake */
    struct env_proc **idle; /* processes waiting for a session */
    size_t n_idle, cap_idle;
    long sessions; /* open now */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sk_env_pool *next; /* registry */
};

struct sk_env_session {
    struct sk_env_pool *pool;
    struct env_proc *proc;
    struct sk_env_limits lim;
    long used_ms; /* environment time so far */
    long steps;   /* steps sent */
    int failed;   /* a request failed: only close is left */
};

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void sk_env_obs_init(struct sk_env_obs *o)
{
    memset(o, 0, sizeof *o);
}

void sk_env_obs_release(struct sk_env_obs *o)
{
    sk_free(o->observation);
    json_decref(o->info);
    sk_env_obs_init(o);
}

/* The length of s cut to at most max bytes without splitting a UTF-8
 * sequence. */
static int utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

/* Makes b valid UTF-8 for JSON: bytes that are not (a tail cut in the
 * middle of a character, binary output) and NULs become '?'. */
static void make_valid(struct sk_buf *b)
{
    size_t i = 0;
    while (i < b->len) {
        uint32_t cp;
        size_t k =
            sk_utf8_decode((const unsigned char *)b->data + i, b->len - i, &cp);
        if (k == 0 || cp == 0) {
            b->data[i++] = '?';
            continue;
        }
        i += k;
    }
}

/* ---- the environment given to processes -------------------------------- */

static int name_is(const char *entry, const char *name, size_t n)
{
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* Is NAME (of "NAME=value") one of the names listed in pass? */
static int listed(const char *entry, const char *pass)
{
    size_t n = strcspn(entry, "=");
    while (pass && *pass) {
        size_t k = strcspn(pass, ",: ");
        if (k == n && k > 0 && strncmp(pass, entry, n) == 0)
            return 1;
        pass += k;
        if (*pass)
            pass++;
    }
    return 0;
}

static int allowed(const char *entry, const char *pass)
{
    static const char *const names[] = {
        "PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH", "ALFWORLD_DATA"};
    size_t i;
    if (!strchr(entry, '='))
        return 0;
    /* set below to fixed values */
    if (name_is(entry, "PYTHONUNBUFFERED", 16) ||
        name_is(entry, "PYTHONIOENCODING", 16))
        return 0;
    for (i = 0; i < SK_ARRAY_LEN(names); i++)
        if (name_is(entry, names[i], strlen(names[i])))
            return 1;
    if (strncmp(entry, "LC_", 3) == 0)
        return 1;
    return listed(entry, pass);
}

static void strv_free(char **v)
{
    size_t i;
    for (i = 0; v && v[i]; i++)
        sk_free(v[i]);
    sk_free(v);
}

/* The allow-listed part of this process's environment plus the fixed
 * Python settings, as a new NULL-terminated vector. */
static char **scrubbed_env(void)
{
    const char *pass = getenv(SK_ENV_PASSTHROUGH_VAR);
    size_t n = 0, k = 0, i;
    char **v;

    for (i = 0; environ && environ[i]; i++)
        n++;
    v = sk_calloc(n + 3, sizeof *v);
    if (!v)
        return NULL;
    for (i = 0; environ && environ[i]; i++) {
        if (!allowed(environ[i], pass))
            continue;
        if (!(v[k++] = sk_strdup(environ[i])))
            goto oom;
    }
    /* replies must not wait in a Python process's stdout buffer */
    if (!(v[k++] = sk_strdup("PYTHONUNBUFFERED=1")) ||
        !(v[k++] = sk_strdup("PYTHONIOENCODING=utf-8")))
        goto oom;
    return v;
oom:
    strv_free(v);
    return NULL;
}

/* ---- pools ------------------------------------------------------------- */

int sk_env_pool_new(const char *const *argv, size_t argc, long size,
                    struct sk_env_pool **out, struct sk_error *err)
{
    struct sk_env_pool *p;
    struct sk_buf lb;
    size_t i;

    *out = NULL;
    if (!argv || argc == 0 || !argv[0])
        return sk_error_set(err, SK_EINVAL, "no environment command");
    p = sk_calloc(1, sizeof *p);
    if (!p)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    p->argc = argc;
    p->size = size < 1 ? 1 : size;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    sk_buf_init(&lb, LABEL_MAX);
    p->argv = sk_calloc(argc + 1, sizeof *p->argv);
    for (i = 0; p->argv && i < argc; i++) {
        if (!(p->argv[i] = sk_strdup(argv[i] ? argv[i] : "")))
            goto oom;
        if (i)
            (void)sk_buf_putc(&lb, ' ');
        (void)sk_buf_puts(&lb, p->argv[i]); /* cut at LABEL_MAX */
    }
    if (!p->argv || sk_buf_reserve(&lb, 1) != SK_OK)
        goto oom;
    p->label = sk_buf_detach(&lb, NULL);
    p->envp = scrubbed_env();
    if (!p->label || !p->envp)
        goto oom;
    *out = p;
    return SK_OK;
oom:
    sk_buf_release(&lb);
    sk_env_pool_free(p);
    return sk_error_set(err, SK_ENOMEM, "out of memory");
}

void sk_env_pool_free(struct sk_env_pool *p)
{
    size_t i;
    if (!p)
        return;
    for (i = 0; i < p->n_idle; i++)
        env_proc_close(p->idle[i], CLOSE_GRACE_MS);
    sk_free(p->idle);
    strv_free(p->argv);
    strv_free(p->envp);
    sk_free(p->label);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    sk_free(p);
}

const char *sk_env_pool_label(const struct sk_env_pool *p)
{
    return p->label;
}

void sk_env_pool_counts(struct sk_env_pool *p, long *started, long *live)
{
    pthread_mutex_lock(&p->mu);
    if (started)
        *started = p->started;
    if (live)
        *live = p->live;
    pthread_mutex_unlock(&p->mu);
}

/* "env.env_step_timeout = 60 s" style text for ms. */
static void limit_text(char *buf, size_t cap, const char *key, long ms)
{
    if (ms % 1000 == 0)
        snprintf(buf, cap, "%s = %ld s", key, ms / 1000);
    else
        snprintf(buf, cap, "%s = %.3g s", key, (double)ms / 1000.0);
}

/* Hands an idle process back (the pool lock is held).  A process that
 * cannot be queued is closed. */
static void push_idle(struct sk_env_pool *p, struct env_proc *proc)
{
    if (p->n_idle == p->cap_idle) {
        size_t cap = p->cap_idle ? p->cap_idle * 2 : 8;
        struct env_proc **v = sk_realloc(p->idle, cap * sizeof *v);
        if (!v) {
            env_proc_close(proc, 0);
            p->live--;
            pthread_cond_broadcast(&p->cv);
            return;
        }
        p->idle = v;
        p->cap_idle = cap;
    }
    p->idle[p->n_idle++] = proc;
    pthread_cond_broadcast(&p->cv);
}

/* Starts one process (a slot in live is already reserved). */
static int start_one(struct sk_env_pool *p, long timeout_ms,
                     struct env_proc **out, struct sk_error *err)
{
    char limit[96];
    int rc;
    limit_text(limit, sizeof limit, "env.env_step_timeout", timeout_ms);
    rc = env_proc_start(p->argv, p->envp, timeout_ms, limit, out, err);
    pthread_mutex_lock(&p->mu);
    if (rc == SK_OK) {
        p->started++;
        p->probed = 1;
    } else {
        p->live--;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int sk_env_pool_probe(struct sk_env_pool *p, long timeout_ms,
                      struct sk_error *err)
{
    struct env_proc *proc = NULL;
    struct sk_error e;
    int rc;

    pthread_mutex_lock(&p->mu);
    if (p->probed) {
        pthread_mutex_unlock(&p->mu);
        return SK_OK;
    }
    p->live++;
    pthread_mutex_unlock(&p->mu);
    sk_error_clear(&e);
    rc = start_one(p, timeout_ms, &proc, &e);
    if (rc == SK_ENOMEM)
        return sk_error_set(err, rc, "out of memory");
    if (rc != SK_OK)
        return sk_error_set(err, SK_ECONFIG,
                            "env.env_command (%s): cannot start the "
                            "environment: %s",
                            p->label, e.msg);
    pthread_mutex_lock(&p->mu);
    push_idle(p, proc);
    pthread_mutex_unlock(&p->mu);
    return SK_OK;
}

/* ---- the registry ------------------------------------------------------ */

/* Benchmark tables are static, so the pools of a run are kept here, the
 * one piece of mutable global state of this module. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sk_env_pool *reg_head;
static int reg_hooked;

static int same_argv(const struct sk_env_pool *p, const char *const *argv,
                     size_t argc)
{
    size_t i;
    if (p->argc != argc)
        return 0;
    for (i = 0; i < argc; i++)
        if (strcmp(p->argv[i], argv[i] ? argv[i] : "") != 0)
            return 0;
    return 1;
}

int sk_env_pool_shared(const char *const *argv, size_t argc, long size,
                       struct sk_env_pool **out, struct sk_error *err)
{
    struct sk_env_pool *p;
    int rc = SK_OK;

    *out = NULL;
    if (!argv || argc == 0 || !argv[0])
        return sk_error_set(err, SK_EINVAL, "no environment command");
    pthread_mutex_lock(&reg_mu);
    for (p = reg_head; p && !same_argv(p, argv, argc); p = p->next)
        ;
    if (p) {
        pthread_mutex_lock(&p->mu);
        p->size = size < 1 ? 1 : size;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    } else {
        rc = sk_env_pool_new(argv, argc, size, &p, err);
        if (rc == SK_OK) {
            p->next = reg_head;
            reg_head = p;
            if (!reg_hooked) {
                /* no environment process outlives skillopt */
                reg_hooked = 1;
                atexit(sk_env_shutdown_all);
            }
        }
    }
    pthread_mutex_unlock(&reg_mu);
    *out = p;
    return rc;
}

void sk_env_shutdown_all(void)
{
    struct sk_env_pool *p, *next;
    pthread_mutex_lock(&reg_mu);
    p = reg_head;
    reg_head = NULL;
    pthread_mutex_unlock(&reg_mu);
    for (; p; p = next) {
        long open;
        next = p->next;
        pthread_mutex_lock(&p->mu);
        open = p->sessions;
        pthread_mutex_unlock(&p->mu);
        if (open == 0)
            sk_env_pool_free(p);
        /* else: exiting mid-run; the processes see their stdin close */
    }
}

/* ---- sessions ---------------------------------------------------------- */

int sk_env_session_open(struct sk_env_pool *p, const struct sk_env_limits *lim,
                        struct sk_env_session **out, struct sk_error *err)
{
    struct sk_env_session *s;
    struct env_proc *proc = NULL;
    struct sk_error e;
    int rc;

    *out = NULL;
    s = sk_calloc(1, sizeof *s);
    if (!s)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    s->pool = p;
    s->lim = *lim;
    if (s->lim.step_ms <= 0)
        s->lim.step_ms = 60000;
    pthread_mutex_lock(&p->mu);
    p->sessions++;
    for (;;) {
        while (p->n_idle == 0 && p->live >= p->size)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->n_idle) {
            p->live++; /* a slot for a new process */
            break;
        }
        proc = p->idle[--p->n_idle];
        if (env_proc_healthy(proc))
            break;
        /* it died or printed stray output while idle: not this item's
         * fault, so a fresh process serves it */
        sk_warn("environment process %ld (%s) exited or printed stray "
                "output while idle; starting a new one",
                env_proc_pid(proc), p->label);
        env_proc_close(proc, 0);
        proc = NULL;
        p->live--;
    }
    pthread_mutex_unlock(&p->mu);
    if (!proc) {
        sk_error_clear(&e);
        rc = start_one(p, s->lim.step_ms, &proc, &e);
        if (rc != SK_OK) {
            pthread_mutex_lock(&p->mu);
            p->sessions--;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            sk_free(s);
            if (rc == SK_ENOMEM)
                return sk_error_set(err, rc, "out of memory");
            return sk_error_set(err, SK_EDATA,
                                "could not start the environment (%s): %s",
                                p->label, e.msg);
        }
    }
    s->proc = proc;
    *out = s;
    return SK_OK;
}

long sk_env_session_pid(const struct sk_env_session *s)
{
    return env_proc_pid(s->proc);
}

/* The time the next request may take, and the limit that sets it. */
static long request_budget(const struct sk_env_session *s, char *limit,
                           size_t cap)
{
    long t = s->lim.step_ms;
    limit_text(limit, cap, "env.env_step_timeout", s->lim.step_ms);
    if (s->lim.episode_ms > 0 && s->lim.episode_ms - s->used_ms < t) {
        t = s->lim.episode_ms - s->used_ms;
        limit_text(limit, cap, "the rest of env.env_episode_timeout",
                   s->lim.episode_ms);
    }
    return t;
}

/* A reply that breaks the protocol: the process is killed. */
static int bad_reply(struct sk_env_session *s, const char *what,
                     const char *why, struct sk_error *err)
{
    env_proc_kill(s->proc);
    s->failed = 1;
    return sk_error_set(err, SK_EDATA,
                        "environment broke the protocol during %s: %s", what,
                        why);
}

/* Sends req and checks the common part of the reply: an object that is
 * not an error, with a text observation and an object info. */
static int exchange(struct sk_env_session *s, json_t *req, const char *what,
                    json_t **reply, struct sk_env_obs *out,
                    struct sk_error *err)
{
    char limit[96];
    long t, t0;
    const json_t *e, *obs, *info;
    int rc;

    *reply = NULL;
    if (s->failed)
        return sk_error_set(err, SK_EDATA,
                            "the environment session already failed");
    t = request_budget(s, limit, sizeof limit);
    if (t <= 0) {
        s->failed = 1;
        return sk_error_set(err, SK_EDATA,
                            "environment used up env.env_episode_timeout "
                            "(%ld s of environment time) before %s",
                            s->lim.episode_ms / 1000, what);
    }
    t0 = now_ms();
    rc = env_proc_request(s->proc, req, what, t, limit, reply, err);
    s->used_ms += now_ms() - t0;
    if (rc != SK_OK) {
        s->failed = 1;
        return rc;
    }
    e = json_object_get(*reply, "error");
    if (e && !json_is_null(e)) {
        s->failed = 1;
        if (!json_is_string(e))
            return bad_reply(s, what, "\"error\" is not a string", err);
        /* the process answered in protocol: it stays usable */
        return sk_error_set(
            err, SK_EDATA, "environment reported an error for %s: %.*s", what,
            utf8_cut(json_string_value(e), 300), json_string_value(e));
    }
    obs = json_object_get(*reply, "observation");
    if (!json_is_string(obs))
        return bad_reply(s, what, "\"observation\" is missing or not a string",
                         err);
    info = json_object_get(*reply, "info");
    if (info && !json_is_null(info) && !json_is_object(info))
        return bad_reply(s, what, "\"info\" is not an object", err);
    out->info = json_is_object(info) ? json_deep_copy(info) : json_object();
    out->observation = sk_strdup(json_string_value(obs));
    if (!out->info || !out->observation)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

int sk_env_reset(struct sk_env_session *s, const struct json_t *item,
                 int64_t seed, long max_steps, struct sk_env_obs *out,
                 struct sk_error *err)
{
    json_t *copy = item ? json_deep_copy(item) : json_object();
    json_t *req = NULL, *reply = NULL;
    int rc;

    sk_env_obs_release(out);
    if (copy)
        req = json_pack("{s:s, s:o, s:I, s:I}", "type", "reset", "item", copy,
                        "seed", (json_int_t)seed, "max_steps",
                        (json_int_t)max_steps);
    if (!req) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    s->steps = 0;
    rc = exchange(s, req, "the reset", &reply, out, err);
out:
    json_decref(req);
    json_decref(reply);
    if (rc != SK_OK)
        sk_env_obs_release(out);
    return rc;
}

int sk_env_step(struct sk_env_session *s, const char *action,
                struct sk_env_obs *out, struct sk_error *err)
{
    json_t *req, *reply = NULL;
    const json_t *done, *reward;
    char what[48];
    int rc;

    sk_env_obs_release(out);
    snprintf(what, sizeof what, "step %ld", ++s->steps);
    req = json_pack("{s:s, s:s}", "type", "step", "action", action);
    if (!req)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = exchange(s, req, what, &reply, out, err);
    if (rc != SK_OK)
        goto out;
    done = json_object_get(reply, "done");
    reward = json_object_get(reply, "reward");
    if (!json_is_boolean(done))
        rc = bad_reply(s, what, "\"done\" is missing or not true/false", err);
    else if (reward && !json_is_null(reward) && !json_is_number(reward))
        rc = bad_reply(s, what, "\"reward\" is not a number", err);
    if (rc != SK_OK)
        goto out;
    out->done = json_is_true(done);
    out->reward = json_is_number(reward) ? json_number_value(reward) : 0.0;
out:
    json_decref(req);
    json_decref(reply);
    if (rc != SK_OK)
        sk_env_obs_release(out);
    return rc;
}

void sk_env_session_close(struct sk_env_session *s, char **stderr_tail)
{
    struct sk_env_pool *p;
    struct sk_buf t;

    if (!s)
        return;
    p = s->pool;
    if (stderr_tail) {
        sk_buf_init(&t, SK_BUF_UNLIMITED);
        if (env_proc_stderr_tail(s->proc, SK_ENV_STDERR_TAIL, &t) == SK_OK &&
            sk_buf_reserve(&t, 1) == SK_OK) {
            make_valid(&t);
            *stderr_tail = sk_buf_detach(&t, NULL);
        } else
            *stderr_tail = NULL;
        sk_buf_release(&t);
    }
    if (env_proc_broken(s->proc)) {
        env_proc_close(s->proc, 0);
        pthread_mutex_lock(&p->mu);
        p->live--;
    } else {
        /* the next session sees only what it makes the process write */
        env_proc_stderr_mark(s->proc);
        pthread_mutex_lock(&p->mu);
        push_idle(p, s->proc);
    }
    p->sessions--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    sk_free(s);
}
