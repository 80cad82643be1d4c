/*
 * test_envproto.c - the external environment protocol against the test
 * world tests/fixtures/textenv/textenv.py: handshake, reset, step and
 * close; refusal of other protocol versions and of programs that cannot
 * start; every way an environment can misbehave (crash, exit, hang,
 * garbage, huge lines, errors, bad replies, stray lines, slowness,
 * chatter) failing the item with the right reason and its stderr; the
 * pool replacing a broken process; timeouts killing the process group
 * (grandchild included); the scrubbed environment; several sessions at
 * once; the registry.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "envproto/envproto.h"
#include "testutil.h"
#include "util/alloc.h"

/* The interpreter for textenv.py: /usr/bin/python3 when present. */
static const char *python(void)
{
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                 : "python3";
}

/* A pool running textenv.py with extra arguments (NULL-terminated). */
static struct sk_env_pool *pool_new(long size, ...)
{
    const char *argv[8];
    char *script = tu_source_path("tests/fixtures/textenv/textenv.py");
    struct sk_env_pool *p = NULL;
    struct sk_error err;
    size_t n = 0;
    va_list ap;
    const char *a;

    argv[n++] = python();
    argv[n++] = script;
    va_start(ap, size);
    while ((a = va_arg(ap, const char *)) != NULL && n < 8)
        argv[n++] = a;
    va_end(ap);
    if (sk_env_pool_new(argv, n, size, &p, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(script);
    return p;
}

/* A simple game (pick_and_place_simple) with an optional misbehave mode
 * given as JSON text. */
static json_t *game(const char *misbehave)
{
    json_t *it =
        json_pack("{s:s, s:s, s:{s:[s], s:s}, s:{s:s, s:s}}", "id", "g1",
                  "task_type", "pick_and_place_simple", "goal", "objects",
                  "apple 1", "target", "coffeetable 1", "objects", "apple 1",
                  "countertop 1", "mug 1", "cabinet 1");
    assert_non_null(it);
    if (misbehave)
        json_object_set_new(it, "misbehave", json_loads(misbehave, 0, NULL));
    return it;
}

static const char *const plan[] = {
    "go to countertop 1", "take apple 1 from countertop 1", "go to living room",
    "go to coffeetable 1", "put apple 1 on coffeetable 1"};

static struct sk_env_limits limits(long step_ms, long episode_ms)
{
    struct sk_env_limits l;
    l.step_ms = step_ms;
    l.episode_ms = episode_ms;
    return l;
}

/* 1 when pid is gone or a zombie (dead, not reaped by its new parent). */
static int proc_dead(long pid)
{
    char path[64], buf[512];
    FILE *f;
    size_t n;
    const char *rp;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return 1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    rp = strrchr(buf, ')');
    return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static int wait_dead(long pid, int ms)
{
    while (!proc_dead(pid)) {
        struct timespec ts = {0, 20 * 1000000L};
        if (ms <= 0)
            return 0;
        nanosleep(&ts, NULL);
        ms -= 20;
    }
    return 1;
}

static void test_envproto__handshake_reset_step_close(void **state)
{
    struct sk_env_pool *p = pool_new(1, NULL);
    struct sk_env_limits lim = limits(20000, 0);
    struct sk_env_session *s;
    struct sk_env_obs o;
    struct sk_error err;
    json_t *it = game(NULL);
    char *tail = NULL;
    long started, live, pid;
    size_t i;
    (void)state;
    sk_env_obs_init(&o);
    {
        char *script = tu_source_path("tests/fixtures/textenv/textenv.py");
        char label[1024];
        snprintf(label, sizeof label, "%s %s", python(), script);
        assert_string_equal(sk_env_pool_label(p), label);
        sk_free(script);
    }
    /* nothing starts before the probe or the first session */
    sk_env_pool_counts(p, &started, &live);
    assert_int_equal(started, 0);
    assert_int_equal(sk_env_pool_probe(p, 20000, &err), SK_OK);
    assert_int_equal(sk_env_pool_probe(p, 20000, &err), SK_OK);
    sk_env_pool_counts(p, &started, &live);
    assert_int_equal(started, 1);
    assert_int_equal(live, 1);
    if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    pid = sk_env_session_pid(s);
    if (sk_env_reset(s, it, 7, 50, &o, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_non_null(strstr(o.observation, "Your task is to: put an apple in "
                                          "coffeetable 1."));
    assert_string_equal(json_string_value(json_object_get(o.info, "task")),
                        "put an apple in coffeetable 1.");
    assert_true(json_array_size(json_object_get(o.info, "admissible_actions")) >
                3);
    assert_int_equal(o.done, 0);
    for (i = 0; i < SK_ARRAY_LEN(plan); i++) {
        if (sk_env_step(s, plan[i], &o, &err) != SK_OK)
            fail_msg("step %zu: %s", i, err.msg);
        assert_int_equal(o.done, i + 1 == SK_ARRAY_LEN(plan));
        assert_true(o.reward == (i + 1 == SK_ARRAY_LEN(plan) ? 1.0 : 0.0));
    }
    assert_true(json_is_true(json_object_get(o.info, "won")));
    assert_string_equal(o.observation,
                        "You put the apple 1 on the coffeetable 1.");
    /* an unknown action is the game's business, not an error */
    assert_int_equal(sk_env_step(s, "dance", &o, &err), SK_OK);
    assert_string_equal(o.observation, "Nothing happens.");
    sk_env_session_close(s, &tail);
    /* the first session gets what the process wrote since it started */
    assert_non_null(strstr(tail, "textenv: started"));
    sk_free(tail);
    /* the process is reused, and its old stderr is not shown again */
    if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sk_env_session_pid(s), pid);
    assert_int_equal(sk_env_reset(s, it, 7, 50, &o, &err), SK_OK);
    sk_env_session_close(s, &tail);
    assert_string_equal(tail, "");
    sk_free(tail);
    sk_env_pool_counts(p, &started, &live);
    assert_int_equal(started, 1);
    sk_env_obs_release(&o);
    json_decref(it);
    /* closing the pool ends the process */
    sk_env_pool_free(p);
    assert_true(wait_dead(pid, 3000));
}

/* Programs that cannot serve: the probe refuses them with a setting error
 * naming env.env_command and the reason. */
static void test_envproto__start_failures(void **state)
{
    static const struct {
        const char *arg; /* textenv option, or a program of its own */
        int own;         /* arg is the program */
        const char *want;
        const char *want2;
    } cases[] = {
        {"--protocol", 0, "speaks protocol version 2.0", "major version 1"},
        {"--bad-hello", 0, "not a JSON object: 'hello there'", NULL},
        {"--exit-at-start", 0, "exited with status 7 during the hello",
         "exiting before the hello"},
        {"no-such-program-skillopt", 1, "not found on PATH", NULL},
        {"tests/fixtures/textenv/train/items.json", 1,
         "is not an executable file", NULL},
        {"/nonexistent/dir/env", 1, "No such file", NULL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_env_pool *p = NULL;
        struct sk_error err;
        long started, live;
        if (cases[i].own) {
            const char *argv[1];
            argv[0] = cases[i].arg;
            assert_int_equal(sk_env_pool_new(argv, 1, 2, &p, &err), SK_OK);
        } else if (strcmp(cases[i].arg, "--protocol") == 0) {
            p = pool_new(2, "--protocol", "2.0", NULL);
        } else {
            p = pool_new(2, cases[i].arg, NULL);
        }
        assert_int_equal(sk_env_pool_probe(p, 20000, &err), SK_ECONFIG);
        if (!strstr(err.msg, "env.env_command") ||
            !strstr(err.msg, cases[i].want) ||
            (cases[i].want2 && !strstr(err.msg, cases[i].want2)))
            fail_msg("case %zu: %s", i, err.msg);
        sk_env_pool_counts(p, &started, &live);
        assert_int_equal(started, 0);
        assert_int_equal(live, 0);
        /* a session then fails as an item failure, not a crash */
        {
            struct sk_env_limits lim = limits(20000, 0);
            struct sk_env_session *s = NULL;
            assert_int_equal(sk_env_session_open(p, &lim, &s, &err), SK_EDATA);
            assert_null(s);
            assert_non_null(strstr(err.msg, "could not start the environment"));
        }
        sk_env_pool_free(p);
    }
    /* another minor version is fine */
    {
        struct sk_env_pool *p = pool_new(1, "--protocol", "1.7", NULL);
        struct sk_error err;
        assert_int_equal(sk_env_pool_probe(p, 20000, &err), SK_OK);
        sk_env_pool_free(p);
    }
}

/* One misbehaving item per row: the request where it fails, the reason,
 * what its stderr shows, and whether the process survives. */
static void test_envproto__misbehaviour_fails_the_item(void **state)
{
    static const struct {
        const char *mode;
        long fail_step; /* 0: the reset fails; -1: nothing fails */
        const char *want;
        const char *tail; /* in the stderr tail, or NULL */
        int survives;     /* the process is reused after */
    } cases[] = {
        {"{\"crash_at\": 2}", 2,
         "environment was killed by signal 6 (SIGABRT) during step 2; "
         "stderr: 'textenv: crashing on purpose at step 2'",
         "crashing on purpose", 0},
        {"{\"exit_at\": 0}", 0,
         "environment exited with status 5 during the reset",
         "exiting on purpose at step 0", 0},
        {"{\"garbage_at\": 1}", 1,
         "environment broke the protocol during step 1: its reply is not a "
         "JSON object: 'this is not json at all'",
         NULL, 0},
        {"{\"huge_at\": 1}", 1,
         "environment broke the protocol during step 1: a line longer than "
         "1048576 bytes: '{\"observation\": \"yyyy",
         NULL, 0},
        {"{\"error_at\": 1}", 1,
         "environment reported an error for step 1: scripted failure at "
         "step 1",
         NULL, 1},
        {"{\"bad_reply_at\": 3}", 3,
         "environment broke the protocol during step 3: \"done\" is "
         "missing or not true/false",
         NULL, 0},
        {"{\"two_lines_at\": 1}", 2,
         "environment broke the protocol before step 2: it printed output "
         "no request asked for: '{\"observation\": \"You arrive",
         NULL, 0},
        {"{\"chatter\": 300}", -1, NULL, "textenv chatter xxxx", 1},
        /* stderr that is not UTF-8 comes back usable in JSON */
        {"{\"bad_bytes\": true}", -1, NULL, "\n???bad bytes\n", 1},
    };
    struct sk_env_pool *p = pool_new(1, NULL);
    struct sk_env_limits lim = limits(20000, 0);
    size_t i;
    long started = 0, live;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_env_session *s;
        struct sk_env_obs o;
        struct sk_error err;
        json_t *it = game(cases[i].mode);
        char *tail = NULL;
        long before, k, pid;
        int rc;

        sk_env_obs_init(&o);
        sk_env_pool_counts(p, &before, &live);
        if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        pid = sk_env_session_pid(s);
        rc = sk_env_reset(s, it, 0, 50, &o, &err);
        for (k = 1; rc == SK_OK && k <= 5; k++)
            rc = sk_env_step(s, plan[k - 1], &o, &err);
        if (cases[i].fail_step < 0) {
            if (rc != SK_OK)
                fail_msg("case %zu: %s", i, err.msg);
        } else {
            assert_int_equal(rc, SK_EDATA);
            assert_int_equal(k - 1, cases[i].fail_step);
            if (strncmp(err.msg, cases[i].want, strlen(cases[i].want)) != 0)
                fail_msg("case %zu: got '%s'", i, err.msg);
            /* a failed session refuses further requests */
            assert_int_equal(sk_env_step(s, "look", &o, &err), SK_EDATA);
        }
        sk_env_session_close(s, &tail);
        assert_non_null(tail);
        assert_true(strlen(tail) <= SK_ENV_STDERR_TAIL);
        if (cases[i].tail && !strstr(tail, cases[i].tail))
            fail_msg("case %zu: stderr tail '%s'", i, tail);
        sk_free(tail);
        if (!cases[i].survives)
            assert_true(wait_dead(pid, 3000));
        /* the next item works, on a fresh process when this one broke */
        sk_env_obs_release(&o);
        json_decref(it);
        it = game(NULL);
        if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        assert_true((sk_env_session_pid(s) == pid) == cases[i].survives);
        if (sk_env_reset(s, it, 0, 50, &o, &err) != SK_OK)
            fail_msg("case %zu, next item: %s", i, err.msg);
        sk_env_session_close(s, NULL);
        sk_env_pool_counts(p, &started, &live);
        assert_int_equal(started, before + (cases[i].survives ? 0 : 1) +
                                      (before == 0 ? 1 : 0));
        assert_int_equal(live, 1);
        sk_env_obs_release(&o);
        json_decref(it);
    }
    sk_env_pool_free(p);
}

/* A hung step is cut at the step limit and the whole process group dies,
 * the grandchild it started included; a slow episode is cut at the
 * episode limit. */
static void test_envproto__timeouts_kill_the_group(void **state)
{
    struct sk_env_pool *p = pool_new(1, NULL);
    struct sk_env_limits lim = limits(1000, 0);
    struct sk_env_session *s;
    struct sk_env_obs o;
    struct sk_error err;
    json_t *it = game("{\"hang_at\": 1}");
    char *tail = NULL;
    const char *g;
    long pid, gpid, k;
    int rc;
    (void)state;
    sk_env_obs_init(&o);
    /* started beforehand with a generous limit: only the step is timed */
    assert_int_equal(sk_env_pool_probe(p, 20000, &err), SK_OK);
    if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    pid = sk_env_session_pid(s);
    assert_int_equal(sk_env_reset(s, it, 0, 50, &o, &err), SK_OK);
    assert_int_equal(sk_env_step(s, plan[0], &o, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "environment did not answer step 1 "
                                    "within env.env_step_timeout = 1 s; its "
                                    "process group was killed"));
    sk_env_session_close(s, &tail);
    g = strstr(tail, "grandchild pid ");
    assert_non_null(g);
    gpid = strtol(g + strlen("grandchild pid "), NULL, 10);
    assert_true(gpid > 1);
    assert_true(wait_dead(pid, 3000));
    assert_true(wait_dead(gpid, 3000));
    sk_free(tail);
    json_decref(it);
    /* the episode limit counts environment time across requests */
    lim = limits(20000, 1200);
    it = game("{\"slow\": 0.5}");
    if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    pid = sk_env_session_pid(s);
    rc = sk_env_reset(s, it, 0, 50, &o, &err);
    assert_int_equal(rc, SK_OK);
    for (k = 1; rc == SK_OK && k <= 5; k++)
        rc = sk_env_step(s, plan[k - 1], &o, &err);
    assert_int_equal(rc, SK_EDATA);
    assert_true(k - 1 >= 2);
    if (!strstr(err.msg, "env.env_episode_timeout"))
        fail_msg("%s", err.msg);
    sk_env_session_close(s, NULL);
    assert_true(wait_dead(pid, 3000));
    sk_env_obs_release(&o);
    json_decref(it);
    sk_env_pool_free(p);
}

/* The environment sees no API keys: only the allow-list, the names in
 * $SKILLOPT_ENV_PASSTHROUGH and the fixed Python settings. */
static void test_envproto__environment_scrubbed(void **state)
{
    static const char *const want[] = {"PATH", "MY_PASSED_VAR",
                                       "PYTHONUNBUFFERED", "PYTHONIOENCODING",
                                       "LC_ALL"};
    static const char *const never[] = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY",
                                        "AZURE_OPENAI_API_KEY", "MY_OTHER_VAR",
                                        SK_ENV_PASSTHROUGH_VAR};
    struct sk_env_pool *p;
    struct sk_env_limits lim = limits(20000, 0);
    struct sk_env_session *s;
    struct sk_env_obs o;
    struct sk_error err;
    json_t *it = game("{\"report_env\": true}"), *names, *v;
    size_t i, k;
    (void)state;
    sk_env_obs_init(&o);
    setenv("OPENAI_API_KEY", "sk-test-not-a-real-key", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test", 1);
    setenv("AZURE_OPENAI_API_KEY", "azure-test", 1);
    setenv("MY_PASSED_VAR", "1", 1);
    setenv("MY_OTHER_VAR", "1", 1);
    setenv("LC_ALL", "C.UTF-8", 1);
    setenv(SK_ENV_PASSTHROUGH_VAR, "FOO, MY_PASSED_VAR:BAR", 1);
    p = pool_new(1, NULL);
    unsetenv("OPENAI_API_KEY");
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("AZURE_OPENAI_API_KEY");
    unsetenv("MY_PASSED_VAR");
    unsetenv("MY_OTHER_VAR");
    unsetenv("LC_ALL");
    unsetenv(SK_ENV_PASSTHROUGH_VAR);
    if (sk_env_session_open(p, &lim, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    if (sk_env_reset(s, it, 0, 50, &o, &err) != SK_OK)
        fail_msg("%s", err.msg);
    names = json_object_get(o.info, "environ");
    assert_true(json_is_array(names));
    for (k = 0; k < SK_ARRAY_LEN(want); k++) {
        int seen = 0;
        json_array_foreach(names, i, v) seen |=
            strcmp(json_string_value(v), want[k]) == 0;
        if (!seen)
            fail_msg("%s missing from the environment", want[k]);
    }
    for (k = 0; k < SK_ARRAY_LEN(never); k++)
        json_array_foreach(names, i,
                           v) if (strcmp(json_string_value(v), never[k]) == 0)
            fail_msg("%s leaked into the environment", never[k]);
    sk_env_session_close(s, NULL);
    sk_env_obs_release(&o);
    json_decref(it);
    sk_env_pool_free(p);
}

/* ---- several sessions at once ------------------------------------------ */

struct runner {
    struct sk_env_pool *pool;
    long pid;
    int rc;
    int won;
    char msg[1024];
};

static void *run_game(void *arg)
{
    struct runner *r = arg;
    struct sk_env_limits lim = limits(20000, 0);
    struct sk_env_session *s;
    struct sk_env_obs o;
    struct sk_error err;
    json_t *it = game("{\"slow\": 0.05}");
    size_t k;
    sk_env_obs_init(&o);
    r->rc = sk_env_session_open(r->pool, &lim, &s, &err);
    if (r->rc == SK_OK) {
        r->pid = sk_env_session_pid(s);
        r->rc = sk_env_reset(s, it, 0, 50, &o, &err);
        for (k = 0; r->rc == SK_OK && k < SK_ARRAY_LEN(plan); k++)
            r->rc = sk_env_step(s, plan[k], &o, &err);
        r->won = r->rc == SK_OK && json_is_true(json_object_get(o.info, "won"));
        sk_env_session_close(s, NULL);
    }
    if (r->rc != SK_OK)
        snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    sk_env_obs_release(&o);
    json_decref(it);
    return NULL;
}

static void test_envproto__concurrent_sessions(void **state)
{
    struct sk_env_pool *p = pool_new(2, NULL);
    struct runner r[6];
    pthread_t t[6];
    long started, live, pids[6];
    size_t i, k, distinct = 0;
    (void)state;
    for (i = 0; i < 6; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].pool = p;
        assert_int_equal(pthread_create(&t[i], NULL, run_game, &r[i]), 0);
    }
    for (i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < 6; i++) {
        if (r[i].rc != SK_OK)
            fail_msg("game %zu: %s", i, r[i].msg);
        assert_true(r[i].won);
        for (k = 0; k < distinct && pids[k] != r[i].pid; k++)
            ;
        if (k == distinct)
            pids[distinct++] = r[i].pid;
    }
    /* at most `size` processes, reused across the six games */
    assert_true(distinct >= 1 && distinct <= 2);
    sk_env_pool_counts(p, &started, &live);
    assert_true(started <= 2);
    assert_int_equal(live, started);
    sk_env_pool_free(p);
    for (i = 0; i < distinct; i++)
        assert_true(wait_dead(pids[i], 3000));
}

/* A process that died while idle is replaced before the next item. */
static void test_envproto__dead_idle_process_replaced(void **state)
{
    struct sk_env_pool *p = pool_new(1, NULL);
    struct sk_env_limits lim = limits(20000, 0);
    struct sk_env_session *s;
    struct sk_env_obs o;
    struct sk_error err;
    json_t *it = game(NULL);
    long pid;
    (void)state;
    sk_env_obs_init(&o);
    assert_int_equal(sk_env_pool_probe(p, 20000, &err), SK_OK);
    assert_int_equal(sk_env_session_open(p, &lim, &s, &err), SK_OK);
    pid = sk_env_session_pid(s);
    sk_env_session_close(s, NULL);
    kill((pid_t)pid, SIGKILL);
    while (!proc_dead(pid)) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(sk_env_session_open(p, &lim, &s, &err), SK_OK);
    assert_true(sk_env_session_pid(s) != pid);
    if (sk_env_reset(s, it, 0, 50, &o, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_env_session_close(s, NULL);
    sk_env_obs_release(&o);
    json_decref(it);
    sk_env_pool_free(p);
}

static void test_envproto__registry(void **state)
{
    char *script = tu_source_path("tests/fixtures/textenv/textenv.py");
    const char *a1[2], *a2[4];
    struct sk_env_pool *p1, *p1b, *p2;
    struct sk_env_limits lim = limits(20000, 0);
    struct sk_env_session *s;
    struct sk_error err;
    long pid;
    (void)state;
    a1[0] = a2[0] = python();
    a1[1] = a2[1] = script;
    a2[2] = "--name";
    a2[3] = "other";
    assert_int_equal(sk_env_pool_shared(a1, 2, 2, &p1, &err), SK_OK);
    assert_int_equal(sk_env_pool_shared(a1, 2, 3, &p1b, &err), SK_OK);
    assert_ptr_equal(p1, p1b);
    assert_int_equal(sk_env_pool_shared(a2, 4, 2, &p2, &err), SK_OK);
    assert_ptr_not_equal(p1, p2);
    assert_int_equal(sk_env_pool_shared(a1, 0, 2, &p2, &err), SK_EINVAL);
    assert_int_equal(sk_env_session_open(p1, &lim, &s, &err), SK_OK);
    pid = sk_env_session_pid(s);
    sk_env_session_close(s, NULL);
    sk_env_shutdown_all();
    assert_true(wait_dead(pid, 3000));
    /* a fresh registry after the shutdown */
    assert_int_equal(sk_env_pool_shared(a1, 2, 2, &p2, &err), SK_OK);
    sk_env_shutdown_all();
    sk_free(script);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envproto__handshake_reset_step_close),
        cmocka_unit_test(test_envproto__start_failures),
        cmocka_unit_test(test_envproto__misbehaviour_fails_the_item),
        cmocka_unit_test(test_envproto__timeouts_kill_the_group),
        cmocka_unit_test(test_envproto__environment_scrubbed),
        cmocka_unit_test(test_envproto__concurrent_sessions),
        cmocka_unit_test(test_envproto__dead_idle_process_replaced),
        cmocka_unit_test(test_envproto__registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
