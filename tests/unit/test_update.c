/*
 * test_update.c - the rewrite modes' UPDATE phase and the appendix
 * consolidation call (train/update) against the in-process simulator with
 * a scripted responder, plus the demo optimizer answering the real
 * requests.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench/demo.h"
#include "bench/demo_opt.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/prompt.h"
#include "train/update.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define GARBAGE "The skill reads fine to me; no JSON today."

static char *tmpdir;

/* Scripted replies: slot i answers the i-th request (the last repeats);
 * a non-zero status answers with that HTTP error instead. */
static struct {
    pthread_mutex_t mu;
    const char *replies[4];
    int status[4];
    size_t n_replies;
    size_t n;           /* requests seen */
    json_t *last_msgs;  /* messages of the last request */
    json_t *first_msgs; /* messages of the first request */
} sc;

static void script(size_t n, const char *r0, const char *r1)
{
    pthread_mutex_lock(&sc.mu);
    memset(sc.replies, 0, sizeof sc.replies);
    memset(sc.status, 0, sizeof sc.status);
    sc.replies[0] = r0;
    sc.replies[1] = r1;
    sc.n_replies = n;
    sc.n = 0;
    json_decref(sc.last_msgs);
    json_decref(sc.first_msgs);
    sc.last_msgs = sc.first_msgs = NULL;
    pthread_mutex_unlock(&sc.mu);
}

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    memset(&sc, 0, sizeof sc);
    pthread_mutex_init(&sc.mu, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(sc.last_msgs);
    json_decref(sc.first_msgs);
    pthread_mutex_destroy(&sc.mu);
    tu_rmtree(tmpdir);
    sk_free(tmpdir);
    return 0;
}

static int responder(void *ud, const struct sk_sim_request *req,
                     struct sk_sim_reply *reply)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *msgs = json_object_get(body, "messages");
    size_t slot;
    int status;
    (void)ud;
    pthread_mutex_lock(&sc.mu);
    slot = sc.n++;
    json_decref(sc.last_msgs);
    sc.last_msgs = json_incref(msgs);
    if (slot == 0)
        sc.first_msgs = json_incref(msgs);
    if (slot >= sc.n_replies)
        slot = sc.n_replies - 1;
    status = sc.status[slot];
    pthread_mutex_unlock(&sc.mu);
    if (status) {
        reply->status = status;
        reply->body = sk_strdup("{\"error\":{\"message\":\"scripted\"}}");
    } else {
        reply->body =
            sk_sim_chat_completion("sim-opt", sc.replies[slot], 10, 5);
    }
    reply->body_len = strlen(reply->body);
    json_decref(body);
    return 0;
}

/* One attempt per call, so a scripted 500 does not wait for backoff. */
static const char sim_yaml[] = "model:\n  backend: sim\n  optimizer: sim-opt\n"
                               "  target: sim-target\n  optimizer_backend: "
                               "sim\n  target_backend: sim\n"
                               "llm:\n  retries: 1\n";

struct env {
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct sk_demo_opt *demo;
};

static void env_open_with(struct env *e, sk_sim_responder_fn fn, void *ud)
{
    struct sk_config_args a;
    struct sk_llm_client_opts o;
    struct sk_error err;
    char *path = tu_write(tmpdir, "cfg.yaml", sim_yaml);
    memset(&a, 0, sizeof a);
    a.path = path;
    sk_config_init(&e->cfg);
    if (sk_config_load(&a, &e->cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(path);
    memset(&o, 0, sizeof o);
    o.sim_responder = fn;
    o.sim_ud = ud;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
}

static void env_open(struct env *e)
{
    e->demo = NULL;
    env_open_with(e, responder, NULL);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    sk_demo_opt_free(e->demo);
}

/* Content of message i of msgs (negative: from the end). */
static const char *msg_text(const json_t *msgs, long i, const char *role)
{
    const json_t *m;
    if (i < 0)
        i += (long)json_array_size(msgs);
    m = json_array_get(msgs, (size_t)i);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "role")), role);
    return json_string_value(json_object_get(m, "content"));
}

static char *template_text(const char *name)
{
    struct sk_buf b;
    struct sk_error err;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_prompt_lookup(name, NULL, NULL, &b, &err), SK_OK);
    return sk_buf_detach(&b, NULL);
}

static char *pf_path(const char *dir, const char *name)
{
    char *p = sk_fs_join(dir, name);
    assert_non_null(p);
    return p;
}

/* The selected patch of the rewrite tests (non-ASCII on purpose). */
static const char selected_json[] =
    "{\"reasoning\": \"ranked\", \"revise_suggestions\": ["
    "{\"type\": \"add_rule\", \"title\": \"Dates\", \"instruction\": "
    "\"Write dates as YYYY-MM-DD \\u2014 always\", \"priority_hint\": "
    "\"high\", \"support_count\": 3}]}";

/* How sk_json_dump_py(indent 2) shows its suggestions. */
static const char suggestions_dump[] =
    "[\n  {\n    \"type\": \"add_rule\",\n    \"title\": \"Dates\",\n"
    "    \"instruction\": \"Write dates as YYYY-MM-DD \xe2\x80\x94 always\",\n"
    "    \"priority_hint\": \"high\",\n    \"support_count\": 3\n  }\n]";

static json_t *selected_patch(void)
{
    json_t *s = json_loads(selected_json, 0, NULL);
    assert_non_null(s);
    return s;
}

static void test_update__rewrite_success(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *sel = selected_patch(), *rec = NULL;
    char *cand = NULL, *want, *sys, *pf = pf_path(tmpdir, "pf_ok");
    const char *user;
    size_t npf = 0;
    (void)state;
    env_open(&e);
    script(1,
           "{\"reasoning\": \"did it\", \"change_summary\": \"one\", "
           "\"new_skill\": \"# Skill\\n\\n- Dates: YYYY-MM-DD.  \\n\\n \\t\", "
           "\"extra\": 1}",
           NULL);
    assert_int_equal(sk_update_rewrite(e.c, "# Old skill\n", sel,
                                       "Step 1: rejected the units rule.", NULL,
                                       &cand, &rec, &npf, pf, &err),
                     SK_OK);
    assert_int_equal(sc.n, 1);
    assert_string_equal(cand, "# Skill\n\n- Dates: YYYY-MM-DD.\n");
    assert_string_equal(json_string_value(json_object_get(rec, "new_skill")),
                        cand);
    assert_string_equal(json_string_value(json_object_get(rec, "reasoning")),
                        "did it");
    /* a change_summary that is not a list becomes [] */
    assert_true(json_is_array(json_object_get(rec, "change_summary")));
    assert_int_equal(json_array_size(json_object_get(rec, "change_summary")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(rec, "extra")), 1);
    assert_null(json_object_get(rec, "error"));
    assert_int_equal(npf, 0);
    assert_false(sk_fs_exists(pf));

    /* the request: rewrite template, then the user message in order */
    assert_int_equal(json_array_size(sc.last_msgs), 2);
    sys = template_text("rewrite_skill");
    assert_string_equal(msg_text(sc.last_msgs, 0, "system"), sys);
    user = msg_text(sc.last_msgs, 1, "user");
    want = NULL;
    {
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_buf_printf(&b,
                          "## Current Skill\n# Old skill\n\n\n"
                          "## Selected Revise Suggestions (1 total)\n%s\n\n"
                          "## Previous Steps in This Epoch\n"
                          "Step 1: rejected the units rule.\n\n",
                          suggestions_dump),
            SK_OK);
        want = sk_buf_detach(&b, NULL);
    }
    assert_int_equal(strncmp(user, want, strlen(want)), 0);
    assert_non_null(strstr(user + strlen(want), "`new_skill`"));
    sk_free(want);
    sk_free(sys);
    sk_free(cand);
    json_decref(rec);

    /* a list change_summary is kept; a blank step buffer adds no section */
    script(1,
           "{\"reasoning\": \"r\", \"change_summary\": [\"a\", \"b\"], "
           "\"new_skill\": \"# S\"}",
           NULL);
    assert_int_equal(sk_update_rewrite(e.c, "# Old skill\n", sel, " \n\t", NULL,
                                       &cand, &rec, NULL, NULL, &err),
                     SK_OK);
    assert_string_equal(cand, "# S\n");
    assert_int_equal(json_array_size(json_object_get(rec, "change_summary")),
                     2);
    assert_null(strstr(msg_text(sc.last_msgs, 1, "user"), "## Previous Steps"));
    sk_free(cand);
    json_decref(rec);

    sk_free(pf);
    json_decref(sel);
    env_close(&e);
}

static void test_update__rewrite_no_suggestions(void **state)
{
    static const char *const patches[] = {
        NULL,
        "{\"reasoning\": \"r\", \"revise_suggestions\": []}",
        "{\"reasoning\": \"r\", \"revise_suggestions\": \"x\"}",
        "{\"edits\": [{\"op\": \"append\", \"content\": \"c\"}]}",
        "[1]",
    };
    struct env e;
    struct sk_error err;
    size_t i, npf = 0;
    (void)state;
    env_open(&e);
    script(1, "{\"new_skill\": \"# S\"}", NULL);
    for (i = 0; i < SK_ARRAY_LEN(patches); i++) {
        json_t *sel = patches[i] ? json_loads(patches[i], 0, NULL) : NULL;
        json_t *rec = NULL;
        char *cand = (char *)"x";
        assert_true(!patches[i] || sel);
        assert_int_equal(sk_update_rewrite(e.c, "# Old\n", sel, NULL, NULL,
                                           &cand, &rec, &npf, tmpdir, &err),
                         SK_OK);
        assert_null(cand);
        assert_true(json_is_string(json_object_get(rec, "error")));
        json_decref(rec);
        json_decref(sel);
    }
    assert_int_equal(sc.n, 0);
    assert_int_equal(npf, 0);
    env_close(&e);
}

static void test_update__rewrite_blank_new_skill(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *sel = selected_patch(), *rec = NULL;
    char *cand = NULL;
    size_t npf = 0;
    (void)state;
    env_open(&e);
    script(1, "{\"reasoning\": \"nothing to do\", \"new_skill\": \" \\n \"}",
           NULL);
    assert_int_equal(sk_update_rewrite(e.c, "# Old\n", sel, NULL, NULL, &cand,
                                       &rec, &npf, tmpdir, &err),
                     SK_OK);
    assert_int_equal(sc.n, 1); /* usable but blank: no retry */
    assert_null(cand);
    assert_int_equal(npf, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "reasoning")),
                        "nothing to do");
    assert_non_null(
        strstr(json_string_value(json_object_get(rec, "error")), "blank"));
    json_decref(rec);
    json_decref(sel);
    env_close(&e);
}

static void test_update__rewrite_bad_then_good(void **state)
{
    static const char *const bad[] = {
        GARBAGE,
        "{\"reasoning\": \"forgot the skill\"}",
        "{\"reasoning\": \"r\", \"new_skill\": 5}",
        "```json\n[\"not\", \"an\", \"object\"]\n```",
    };
    struct env e;
    struct sk_error err;
    json_t *sel = selected_patch();
    char *reminder = template_text("format_reminder");
    size_t i;
    (void)state;
    env_open(&e);
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        char dir[64], *pf, *f1, *f2, *saved;
        json_t *rec = NULL;
        char *cand = NULL;
        size_t npf = 0;
        snprintf(dir, sizeof dir, "pf_bad_good_%zu", i);
        pf = pf_path(tmpdir, dir);
        f1 = pf_path(pf, "rewrite_1.txt");
        f2 = pf_path(pf, "rewrite_2.txt");
        script(2, bad[i],
               "{\"reasoning\": \"r\", \"change_summary\": [\"x\"], "
               "\"new_skill\": \"# New\\n\"}");
        assert_int_equal(sk_update_rewrite(e.c, "# Old\n", sel, NULL, NULL,
                                           &cand, &rec, &npf, pf, &err),
                         SK_OK);
        assert_int_equal(sc.n, 2);
        assert_string_equal(cand, "# New\n");
        assert_null(json_object_get(rec, "error"));
        assert_int_equal(npf, 1);
        /* the retry shows the bad reply and then the reminder */
        assert_int_equal(json_array_size(sc.last_msgs), 4);
        assert_string_equal(msg_text(sc.last_msgs, 1, "user"),
                            msg_text(sc.first_msgs, 1, "user"));
        assert_string_equal(msg_text(sc.last_msgs, 2, "assistant"), bad[i]);
        assert_string_equal(msg_text(sc.last_msgs, 3, "user"), reminder);
        saved = tu_read(f1, NULL);
        assert_non_null(saved);
        assert_string_equal(saved, bad[i]);
        assert_false(sk_fs_exists(f2));
        sk_free(saved);
        sk_free(f1);
        sk_free(f2);
        sk_free(pf);
        sk_free(cand);
        json_decref(rec);
    }
    sk_free(reminder);
    json_decref(sel);
    env_close(&e);
}

static void test_update__rewrite_bad_twice(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *sel = selected_patch(), *rec = NULL;
    char *cand = NULL, *pf = pf_path(tmpdir, "pf/nested");
    char *f1 = pf_path(pf, "rewrite_1.txt"), *f2 = pf_path(pf, "rewrite_2.txt");
    char *t1, *t2;
    size_t npf = 3; /* counts are added */
    (void)state;
    env_open(&e);
    script(2, GARBAGE, "{\"still\": \"no skill\"}");
    assert_int_equal(sk_update_rewrite(e.c, "# Old\n", sel, NULL, NULL, &cand,
                                       &rec, &npf, pf, &err),
                     SK_OK);
    assert_int_equal(sc.n, 2);
    assert_null(cand);
    assert_int_equal(npf, 5);
    assert_non_null(json_string_value(json_object_get(rec, "error")));
    assert_null(json_object_get(rec, "new_skill"));
    t1 = tu_read(f1, NULL);
    t2 = tu_read(f2, NULL);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_string_equal(t1, GARBAGE);
    assert_string_equal(t2, "{\"still\": \"no skill\"}");
    sk_free(t1);
    sk_free(t2);
    sk_free(f1);
    sk_free(f2);
    sk_free(pf);
    json_decref(rec);

    /* no directory: nothing saved, still counted */
    script(2, GARBAGE, GARBAGE);
    npf = 0;
    assert_int_equal(sk_update_rewrite(e.c, "# Old\n", sel, NULL, NULL, &cand,
                                       &rec, &npf, NULL, &err),
                     SK_OK);
    assert_null(cand);
    assert_int_equal(npf, 2);
    json_decref(rec);
    json_decref(sel);
    env_close(&e);
}

static void test_update__rewrite_provider_error(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *sel = selected_patch(), *rec = NULL;
    char *cand = NULL, *pf = pf_path(tmpdir, "pf_500");
    const char *why;
    size_t npf = 0;
    (void)state;
    env_open(&e);
    script(1, NULL, NULL);
    sc.status[0] = 500;
    assert_int_equal(sk_update_rewrite(e.c, "# Old\n", sel, NULL, NULL, &cand,
                                       &rec, &npf, pf, &err),
                     SK_OK);
    assert_int_equal(sc.n, 1); /* a failed call gets no format retry */
    assert_null(cand);
    assert_int_equal(npf, 0);
    assert_false(sk_fs_exists(pf));
    why = json_string_value(json_object_get(rec, "error"));
    assert_non_null(why);
    assert_non_null(strstr(why, "call failed"));
    assert_int_equal(json_object_size(rec), 1);
    json_decref(rec);
    json_decref(sel);
    sk_free(pf);
    env_close(&e);
}

static void test_update__rewrite_bad_args(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *sel = selected_patch(), *rec = (json_t *)sel;
    char *cand = (char *)"x";
    (void)state;
    env_open(&e);
    script(1, "{\"new_skill\": \"# S\"}", NULL);
    assert_int_equal(sk_update_rewrite(e.c, NULL, sel, NULL, NULL, &cand, &rec,
                                       NULL, NULL, &err),
                     SK_EINVAL);
    assert_null(cand);
    assert_null(rec);
    assert_int_equal(sk_update_rewrite(NULL, "# S", sel, NULL, NULL, &cand,
                                       &rec, NULL, NULL, &err),
                     SK_EINVAL);
    assert_int_equal(sc.n, 0);
    json_decref(sel);
    env_close(&e);
}

/* ---- full rewrite pick ------------------------------------------------ */

static void test_update__full_rewrite_pick(void **state)
{
    static const struct {
        const char *merged; /* NULL: no patch */
        const char *want;   /* candidate, NULL: none */
        long index;         /* selected item, -1: null */
    } rows[] = {
        {"{\"reasoning\": \"m\", \"skill_candidates\": [\"# A\", 3, null, "
         "{\"title\": \"blank\", \"new_skill\": \" \\n\\t\"}, "
         "{\"title\": \"num\", \"new_skill\": 7}, "
         "{\"title\": \"none\"}, "
         "{\"title\": \"good\", \"new_skill\": \"# S\\n\\n- r  \\n\\n\"}, "
         "{\"title\": \"later\", \"new_skill\": \"# T\"}]}",
         "# S\n\n- r\n", 6},
        {"{\"skill_candidates\": [{\"new_skill\": \"\"}, \"# A\"]}", NULL, -1},
        {"{\"skill_candidates\": []}", NULL, -1},
        {"{\"skill_candidates\": {\"new_skill\": \"# A\"}}", NULL, -1},
        {"{\"revise_suggestions\": [{\"new_skill\": \"# A\"}]}", NULL, -1},
        {NULL, NULL, -1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(rows); i++) {
        json_t *m = rows[i].merged ? json_loads(rows[i].merged, 0, NULL) : NULL;
        json_t *rec = NULL, *sel;
        char *cand = (char *)"x";
        assert_true(!rows[i].merged || m);
        assert_int_equal(sk_update_full_rewrite_pick(m, &cand, &rec), SK_OK);
        assert_int_equal(json_object_size(rec), 2);
        sel = json_object_get(rec, "selected_candidate");
        if (rows[i].want) {
            assert_non_null(cand);
            assert_string_equal(cand, rows[i].want);
            assert_true(json_equal(
                sel, json_array_get(json_object_get(m, "skill_candidates"),
                                    (size_t)rows[i].index)));
        } else {
            assert_null(cand);
            assert_true(json_is_null(sel));
        }
        if (m)
            assert_true(json_equal(json_object_get(rec, "merged_patch"), m));
        else
            assert_true(json_is_null(json_object_get(rec, "merged_patch")));
        sk_free(cand);
        json_decref(rec);
        json_decref(m);
    }
}

static int pick_sweep(void *ud)
{
    json_t *rec = NULL;
    char *cand = NULL;
    int rc = sk_update_full_rewrite_pick(ud, &cand, &rec);
    if (rc == SK_OK && (!cand || !rec))
        rc = 1; /* must not pass silently */
    if (rc != SK_OK && (cand || rec))
        rc = 2;
    sk_free(cand);
    json_decref(rec);
    return rc;
}

static void test_update__full_rewrite_pick_alloc_failures(void **state)
{
    json_t *m = json_loads("{\"reasoning\": \"m\", \"skill_candidates\": "
                           "[{\"title\": \"b\", \"new_skill\": \"\"}, "
                           "{\"title\": \"g\", \"change_summary\": [\"x\"], "
                           "\"new_skill\": \"# S \\n\"}]}",
                           0, NULL);
    (void)state;
    assert_non_null(m);
    assert_true(tu_alloc_sweep(pick_sweep, m) > 3);
    json_decref(m);
}

/* ---- appendix consolidation ----------------------------------------- */

static const char notes_json[] =
    "[\"Check the units.\", \"check the units\", \"Use two decimals.\", "
    "\"Write ISO dates.\", \"Give one answer.\"]";

struct consolidate_case {
    const char *reply; /* scripted reply; NULL: HTTP 500 */
    long threshold;
    const char *want; /* compact JSON of *out */
    int consolidated;
    size_t calls;
};

static void run_consolidate(struct env *e, const struct consolidate_case *k)
{
    struct sk_error err;
    json_t *notes = json_loads(notes_json, 0, NULL), *out = NULL;
    char *got;
    int cons = -1;
    assert_non_null(notes);
    script(1, k->reply ? k->reply : "", NULL);
    if (!k->reply)
        sc.status[0] = 500;
    assert_int_equal(sk_update_consolidate_notes(e->c, notes, k->threshold,
                                                 NULL, &out, &cons, &err),
                     SK_OK);
    got = json_dumps(out, JSON_COMPACT);
    assert_non_null(got);
    assert_string_equal(got, k->want);
    assert_int_equal(cons, k->consolidated);
    assert_int_equal(sc.n, k->calls);
    assert_true(out != notes);
    sk_free(got);
    json_decref(out);
    json_decref(notes);
}

static const char notes_compact[] =
    "[\"Check the units.\",\"check the units\",\"Use two decimals.\","
    "\"Write ISO dates.\",\"Give one answer.\"]";

static void test_update__consolidate_cases(void **state)
{
    static const struct consolidate_case cases[] = {
        /* adopted: strings and note/content objects, blanks dropped */
        {"{\"appendix_notes\": [\" Check the units. \", {\"note\": \"Use two "
         "decimals.\"}, \"  \", {\"content\": \"Write ISO dates.\"}]}",
         3, "[\"Check the units.\",\"Use two decimals.\",\"Write ISO dates.\"]",
         1, 1},
        /* one fewer is enough */
        {"{\"appendix_notes\": [\"a\", \"b\", \"c\", \"d\"]}", 4,
         "[\"a\",\"b\",\"c\",\"d\"]", 1, 1},
        /* not shorter: kept */
        {"{\"appendix_notes\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 3,
         notes_compact, 0, 1},
        {"{\"appendix_notes\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}", 3,
         notes_compact, 0, 1},
        /* empty (or only blanks): kept, and no retry */
        {"{\"appendix_notes\": []}", 3, notes_compact, 0, 1},
        {"{\"appendix_notes\": [\" \", {\"note\": \"\"}]}", 3, notes_compact, 0,
         1},
        /* one string is a list of one */
        {"{\"appendix_notes\": \"Check units and decimals.\"}", 2,
         "[\"Check units and decimals.\"]", 1, 1},
        /* threshold not exceeded, or off: no call */
        {"{\"appendix_notes\": [\"a\"]}", 5, notes_compact, 0, 0},
        {"{\"appendix_notes\": [\"a\"]}", 0, notes_compact, 0, 0},
        {"{\"appendix_notes\": [\"a\"]}", -1, notes_compact, 0, 0},
        /* failed call: kept, no retry */
        {NULL, 3, notes_compact, 0, 1},
        /* unusable twice: kept after one retry */
        {GARBAGE, 3, notes_compact, 0, 2},
        {"{\"notes\": [\"a\"]}", 3, notes_compact, 0, 2},
    };
    struct env e;
    size_t i;
    (void)state;
    env_open(&e);
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        run_consolidate(&e, &cases[i]);
    }
    env_close(&e);
}

static void test_update__consolidate_request(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *notes = json_loads("[\"Check the units.\", 7, \"Use \\u00e9.\", "
                               "\"Write ISO dates.\"]",
                               0, NULL);
    json_t *out = NULL;
    char *sys = template_text("appendix_consolidate"), *got;
    const char *user;
    int cons = -1;
    (void)state;
    env_open(&e);
    script(2, GARBAGE, "{\"appendix_notes\": [\"Check units; ISO dates.\"]}");
    assert_non_null(notes);
    assert_int_equal(
        sk_update_consolidate_notes(e.c, notes, 2, NULL, &out, &cons, &err),
        SK_OK);
    assert_int_equal(cons, 1);
    got = json_dumps(out, JSON_COMPACT);
    assert_string_equal(got, "[\"Check units; ISO dates.\"]");
    sk_free(got);
    assert_int_equal(sc.n, 2);
    assert_string_equal(msg_text(sc.first_msgs, 0, "system"), sys);
    user = msg_text(sc.first_msgs, 1, "user");
    /* non-string notes are not shown; non-ASCII is kept */
    assert_int_equal(
        strncmp(
            user,
            "## Current Execution Notes (3 total)\n[\n  \"Check the "
            "units.\",\n  \"Use \xc3\xa9.\",\n  \"Write ISO dates.\"\n]\n\n",
            strlen("## Current Execution Notes (3 total)\n[\n  \"Check "
                   "the units.\",\n  \"Use \xc3\xa9.\",\n  \"Write ISO "
                   "dates.\"\n]\n\n")),
        0);
    assert_non_null(strstr(user, "`appendix_notes`"));
    assert_string_equal(msg_text(sc.last_msgs, 2, "assistant"), GARBAGE);
    json_decref(out);

    /* no call: the string notes come back as they were */
    assert_int_equal(
        sk_update_consolidate_notes(e.c, notes, 3, NULL, &out, &cons, &err),
        SK_OK);
    got = json_dumps(out, JSON_COMPACT);
    assert_string_equal(got, "[\"Check the units.\",\"Use \xc3\xa9.\","
                             "\"Write ISO dates.\"]");
    assert_int_equal(cons, 0);
    assert_int_equal(sc.n, 2);
    sk_free(got);
    json_decref(out);

    assert_int_equal(sk_update_consolidate_notes(e.c, sc.first_msgs, 3, NULL,
                                                 NULL, &cons, &err),
                     SK_EINVAL);
    out = (json_t *)notes;
    assert_int_equal(sk_update_consolidate_notes(e.c,
                                                 json_object_get(notes, "x"), 3,
                                                 NULL, &out, &cons, &err),
                     SK_EINVAL);
    assert_null(out);
    json_decref(notes);
    sk_free(sys);
    env_close(&e);
}

struct consolidate_sweep {
    struct sk_llm_client *c;
    json_t *notes;
};

static int consolidate_sweep_body(void *ud)
{
    struct consolidate_sweep *s = ud;
    json_t *out = NULL;
    int cons = -1;
    int rc = sk_update_consolidate_notes(s->c, s->notes, 10, NULL, &out, &cons,
                                         NULL);
    if (rc == SK_OK && (json_array_size(out) != 2 || cons != 0))
        rc = 1;
    if (rc != SK_OK && out)
        rc = 2;
    json_decref(out);
    return rc;
}

/* The no-call path allocates only locally, so it can be swept. */
static void test_update__consolidate_alloc_failures(void **state)
{
    struct env e;
    struct consolidate_sweep s;
    (void)state;
    env_open(&e);
    s.c = e.c;
    s.notes = json_loads("[\"a\", 1, \"b\"]", 0, NULL);
    assert_non_null(s.notes);
    assert_true(tu_alloc_sweep(consolidate_sweep_body, &s) > 1);
    json_decref(s.notes);
    env_close(&e);
}

/* ---- the demo optimizer answers the real requests ---------------------- */

static void test_update__demo_optimizer(void **state)
{
    const struct sk_demo_family *dates = sk_demo_family_find("dates");
    struct env e;
    struct sk_error err;
    struct sk_buf sb;
    json_t *sel, *rec = NULL, *notes, *out = NULL;
    char *cand = NULL;
    size_t npf = 0;
    int cons = -1;
    (void)state;
    assert_non_null(dates);
    e.demo = sk_demo_opt_new(4);
    assert_non_null(e.demo);
    env_open_with(&e, sk_demo_opt_respond, e.demo);
    sk_buf_init(&sb, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_buf_printf(&sb,
                      "{\"revise_suggestions\": [{\"type\": \"add_rule\", "
                      "\"instruction\": \"Add the rule: %s\"}]}",
                      dates->rule),
        SK_OK);
    sel = json_loads(sk_buf_cstr(&sb), 0, NULL);
    assert_non_null(sel);
    assert_int_equal(sk_update_rewrite(e.c, "# Skill\n\n- Be brief.\n", sel,
                                       "Step 1: nothing rejected.", NULL, &cand,
                                       &rec, &npf, NULL, &err),
                     SK_OK);
    assert_non_null(cand);
    assert_int_equal(strncmp(cand, "# Skill\n\n- Be brief.", 20), 0);
    assert_non_null(strstr(cand, dates->rule));
    assert_null(strstr(cand, "Step 1"));
    assert_int_equal(cand[strlen(cand) - 1], '\n');
    assert_int_equal(npf, 0);
    sk_free(cand);
    json_decref(rec);
    json_decref(sel);
    sk_buf_release(&sb);

    notes = json_loads("[\"Check units.\", \"CHECK UNITS.\", \"Use ISO.\"]", 0,
                       NULL);
    assert_non_null(notes);
    assert_int_equal(
        sk_update_consolidate_notes(e.c, notes, 2, NULL, &out, &cons, &err),
        SK_OK);
    assert_int_equal(cons, 1);
    assert_int_equal(json_array_size(out), 2);
    assert_string_equal(json_string_value(json_array_get(out, 1)), "Use ISO.");
    json_decref(out);
    json_decref(notes);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update__rewrite_success),
        cmocka_unit_test(test_update__rewrite_no_suggestions),
        cmocka_unit_test(test_update__rewrite_blank_new_skill),
        cmocka_unit_test(test_update__rewrite_bad_then_good),
        cmocka_unit_test(test_update__rewrite_bad_twice),
        cmocka_unit_test(test_update__rewrite_provider_error),
        cmocka_unit_test(test_update__rewrite_bad_args),
        cmocka_unit_test(test_update__full_rewrite_pick),
        cmocka_unit_test(test_update__full_rewrite_pick_alloc_failures),
        cmocka_unit_test(test_update__consolidate_cases),
        cmocka_unit_test(test_update__consolidate_request),
        cmocka_unit_test(test_update__consolidate_alloc_failures),
        cmocka_unit_test(test_update__demo_optimizer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
