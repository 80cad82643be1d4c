/*
 * test_merge.c - aggregation and selection (train/merge, train/select)
 * against the in-process simulator with a scripted responder: request
 * counts per merge level, group order under skewed latencies, the format
 * retry and fallbacks, the final merge cases, ranking walks and the
 * autonomous learning-rate coercion.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/merge.h"
#include "train/select.h"
#include "util/alloc.h"
#include "util/buf.h"

static char *tmpdir;

enum reply_kind {
    R_CONCAT,  /* merge: concatenate the patches' edits, in order */
    R_FIXED,   /* the fixed text, always */
    R_BAD_ONCE /* "not json" on a first attempt, else the fixed text */
};

struct script {
    pthread_mutex_t mu;
    enum reply_kind kind;
    const char *fixed;
    int skew; /* delay early groups longer than late ones */
    size_t n;
    char *users[16]; /* last user message of each request, arrival order */
    size_t n_msgs[16];
    char *assistant[16];
    long done[16]; /* first edit index of each concat reply, completion order */
    size_t n_done;
};

static struct script sc;

/* Forgets the recorded requests. */
static void sc_forget(void)
{
    size_t i;
    for (i = 0; i < 16; i++) {
        sk_free(sc.users[i]);
        sk_free(sc.assistant[i]);
        sc.users[i] = sc.assistant[i] = NULL;
    }
    sc.n = 0;
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
    sc_forget();
    pthread_mutex_destroy(&sc.mu);
    tu_rmtree(tmpdir);
    sk_free(tmpdir);
    return 0;
}

/* The edits of every patch in the JSON after "merge level L)\n". */
static char *concat_reply(const char *user, long *first_idx)
{
    const char *p = strstr(user, "merge level ");
    json_t *patches, *items = json_array(), *patch, *e, *out;
    size_t i, j;
    char *s;
    *first_idx = 0;
    p = p ? strchr(p, '\n') : NULL;
    patches = p ? json_loads(p + 1, 0, NULL) : NULL;
    json_array_foreach(patches, i, patch)
    {
        json_array_foreach(json_object_get(patch, "edits"), j, e)
        {
            if (json_array_size(items) == 0)
                sscanf(json_string_value(json_object_get(e, "content")), "e%ld",
                       first_idx);
            json_array_append(items, e);
        }
    }
    out = json_pack("{s:s, s:o}", "reasoning", "merged", "edits", items);
    s = json_dumps(out, 0);
    json_decref(out);
    json_decref(patches);
    return s;
}

static int responder(void *ud, const struct sk_sim_request *req,
                     struct sk_sim_reply *reply)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *msgs = json_object_get(body, "messages"), *m;
    const char *user = "", *asst = NULL, *role;
    char *text = NULL;
    size_t i, n_user_asst = 0, slot;
    long first = 0;
    (void)ud;
    json_array_foreach(msgs, i, m)
    {
        role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "user") == 0) {
            user = json_string_value(json_object_get(m, "content"));
            n_user_asst++;
        } else if (role && strcmp(role, "assistant") == 0) {
            asst = json_string_value(json_object_get(m, "content"));
            n_user_asst++;
        }
    }
    pthread_mutex_lock(&sc.mu);
    slot = sc.n++;
    if (slot < 16) {
        sc.users[slot] = sk_strdup(user);
        sc.n_msgs[slot] = n_user_asst;
        sc.assistant[slot] = asst ? sk_strdup(asst) : NULL;
    }
    pthread_mutex_unlock(&sc.mu);
    if (sc.kind == R_CONCAT) {
        char *s = concat_reply(user, &first);
        text = sk_strdup(s);
        sk_free(s); /* jansson allocates through sk_malloc */
        if (sc.skew) {
            /* 80 ms between groups: enough to reorder the replies even
             * under valgrind on a loaded machine */
            struct timespec ts = {0, (30 - first) * 10000000L};
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&sc.mu);
        if (sc.n_done < 16)
            sc.done[sc.n_done++] = first;
        pthread_mutex_unlock(&sc.mu);
    } else if (sc.kind == R_BAD_ONCE && n_user_asst == 1) {
        text = sk_strdup("not json");
    } else {
        text = sk_strdup(sc.fixed);
    }
    reply->body = sk_sim_chat_completion("sim-opt", text, 10, 5);
    reply->body_len = strlen(reply->body);
    sk_free(text);
    json_decref(body);
    return 0;
}

static const char sim_yaml[] = "model:\n  backend: sim\n  optimizer: sim-opt\n"
                               "  target: sim-target\n  optimizer_backend: "
                               "sim\n  target_backend: sim\n";

struct env {
    struct sk_config cfg;
    struct sk_llm_client *c;
};

static void env_open(struct env *e)
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
    o.sim_responder = responder;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
}

/* n patches, patch i holding one edit with content "e<first + i>". */
static json_t *patches(size_t n, size_t first)
{
    json_t *a = json_array();
    size_t i;
    char content[32];
    for (i = 0; i < n; i++) {
        snprintf(content, sizeof content, "e%zu", first + i);
        json_array_append_new(a, json_pack("{s:s, s:[{s:s, s:s, s:i}]}",
                                           "reasoning", "r", "edits", "op",
                                           "append", "content", content,
                                           "support_count", 1));
    }
    return a;
}

static void assert_edits(const json_t *patch, size_t first, size_t n,
                         long level)
{
    const json_t *edits = json_object_get(patch, "edits"), *e;
    size_t i;
    char want[32];
    assert_int_equal(json_array_size(edits), n);
    json_array_foreach(edits, i, e)
    {
        snprintf(want, sizeof want, "e%zu", first + i);
        assert_string_equal(json_string_value(json_object_get(e, "content")),
                            want);
        if (level >= 0)
            assert_int_equal(
                json_integer_value(json_object_get(e, "merge_level")), level);
    }
}

static const char *reasoning(const json_t *p)
{
    const char *r = json_string_value(json_object_get(p, "reasoning"));
    return r ? r : "(none)";
}

static void test_merge__single_patch_no_call(void **state)
{
    struct env e;
    struct sk_merge_stats st;
    struct sk_error err;
    json_t *f = patches(1, 0), *empty = json_array(), *out;
    (void)state;
    env_open(&e);
    assert_int_equal(sk_merge_patches(e.c, f, empty, SK_UPDATE_PATCH, "S", NULL,
                                      8, NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_true(json_equal(out, json_array_get(f, 0)));
    assert_int_equal(sc.n, 0);
    assert_int_equal(st.n_calls, 0);
    /* the caller's patches are not modified */
    assert_null(json_object_get(
        json_array_get(json_object_get(json_array_get(f, 0), "edits"), 0),
        "merge_level"));
    json_decref(out);
    json_decref(f);
    json_decref(empty);
    env_close(&e);
}

static void test_merge__levels_and_group_order(void **state)
{
    struct env e;
    struct sk_merge_stats st;
    struct sk_error err;
    json_t *f = patches(20, 0), *out;
    size_t i, n8 = 0, n3 = 0;
    (void)state;
    sc.kind = R_CONCAT;
    sc.skew = 1;
    env_open(&e);
    assert_int_equal(sk_merge_patches(e.c, f, NULL, SK_UPDATE_PATCH, "SKILL",
                                      "## Meta\nm", 8, NULL, NULL, 0, &out, &st,
                                      &err),
                     SK_OK);
    /* 20 -> groups of 8, 8, 4 (3 calls) -> 3 -> 1 call */
    assert_int_equal(sc.n, 4);
    assert_int_equal(st.n_calls, 4);
    assert_int_equal(st.n_levels, 2);
    assert_int_equal(st.n_fallbacks, 0);
    assert_int_equal(st.final_call, 0);
    assert_string_equal(reasoning(out), "merged");
    /* level 1 replies arrived out of order (e16's group first) ... */
    assert_int_equal(sc.n_done, 4);
    assert_int_equal(sc.done[0], 16);
    /* ... yet every edit is in group order */
    assert_edits(out, 0, 20, 2);
    for (i = 0; i < sc.n; i++) {
        const char *u = sc.users[i];
        assert_true(
            strncmp(u, "## Meta\nm\n\n## Current Skill\nSKILL\n\n", 35) == 0);
        if (strstr(u, "## Patches to merge (8 total, merge level 1)\n[\n  {\n"
                      "    \"reasoning\": \"r\",\n"))
            n8++;
        if (strstr(u, "## Patches to merge (3 total, merge level 2)\n["))
            n3++;
    }
    assert_int_equal(n8, 2);
    assert_int_equal(n3, 1);
    json_decref(out);
    json_decref(f);
    env_close(&e);
}

static void test_merge__singleton_group_passes_through(void **state)
{
    struct env e;
    struct sk_merge_stats st;
    struct sk_error err;
    json_t *f = patches(3, 0), *out;
    (void)state;
    sc.kind = R_CONCAT;
    env_open(&e);
    /* batch size 1 is clamped to 2: [e0 e1] [e2] -> 1 call, then 2 -> 1 */
    assert_int_equal(sk_merge_patches(e.c, f, NULL, SK_UPDATE_PATCH, "S", NULL,
                                      1, NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_int_equal(sc.n, 2);
    assert_non_null(strstr(sc.users[0], "(2 total, merge level 1)"));
    assert_non_null(strstr(sc.users[1], "(2 total, merge level 2)"));
    assert_edits(out, 0, 3, 2);
    json_decref(out);
    json_decref(f);
    env_close(&e);
}

static void test_merge__retry_then_fallback(void **state)
{
    struct env e;
    struct sk_merge_stats st;
    struct sk_error err;
    json_t *f = patches(2, 0), *out;
    (void)state;
    /* keep a merge_level already present on a fallback item */
    json_object_set_new(
        json_array_get(json_object_get(json_array_get(f, 1), "edits"), 0),
        "merge_level", json_integer(7));
    sc.kind = R_FIXED;
    sc.fixed = "{\"reasoning\": \"x\", \"edits\": [1, 2]}";
    env_open(&e);
    assert_int_equal(sk_merge_patches(e.c, f, NULL, SK_UPDATE_PATCH, "S", NULL,
                                      8, NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_int_equal(sc.n, 2);
    assert_int_equal(st.n_retries, 1);
    assert_int_equal(st.n_fallbacks, 1);
    /* the retry carries the bad reply and the format reminder */
    assert_int_equal(sc.n_msgs[1], 3);
    assert_string_equal(sc.assistant[1], sc.fixed);
    assert_non_null(strstr(sc.users[1], "could not be used"));
    assert_string_equal(reasoning(out), "fallback concatenation");
    assert_edits(out, 0, 2, -1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(out, "edits"), 0), "merge_level")),
        1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(out, "edits"), 1), "merge_level")),
        7);
    json_decref(out);
    json_decref(f);
    env_close(&e);
}

static void test_merge__retry_succeeds(void **state)
{
    struct env e;
    struct sk_merge_stats st;
    struct sk_error err;
    json_t *f = patches(2, 0), *out;
    (void)state;
    sc.kind = R_BAD_ONCE;
    sc.fixed = "```json\n{\"reasoning\": \"ok\", \"edits\": [{\"op\": "
               "\"append\", \"content\": \"e5\", \"merge_level\": 9}]}\n```";
    env_open(&e);
    assert_int_equal(sk_merge_patches(e.c, f, NULL, SK_UPDATE_PATCH, "S", NULL,
                                      8, NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_int_equal(sc.n, 2);
    assert_int_equal(st.n_retries, 1);
    assert_int_equal(st.n_fallbacks, 0);
    /* accepted items get this level's merge_level */
    assert_string_equal(reasoning(out), "ok");
    assert_edits(out, 5, 1, 1);
    json_decref(out);
    json_decref(f);
    env_close(&e);
}

static void test_merge__final_cases(void **state)
{
    struct env e;
    struct sk_merge_stats st;
    struct sk_error err;
    json_t *f = patches(1, 0), *s = patches(2, 1), *none = json_array();
    json_t *empty_patch =
        json_pack("[{s:s, s:[]}]", "reasoning", "nothing", "edits");
    json_t *out;
    (void)state;
    sc.kind = R_FIXED;
    sc.fixed = "no json here";
    env_open(&e);

    /* neither side has items: no call */
    assert_int_equal(sk_merge_patches(e.c, empty_patch, none, SK_UPDATE_PATCH,
                                      "S", NULL, 8, NULL, NULL, 0, &out, &st,
                                      &err),
                     SK_OK);
    assert_string_equal(reasoning(out), "no updates from either group");
    assert_int_equal(json_array_size(json_object_get(out, "edits")), 0);
    assert_int_equal(sc.n, 0);
    json_decref(out);

    /* only failure has items: returned as is */
    assert_int_equal(sk_merge_patches(e.c, f, empty_patch, SK_UPDATE_PATCH, "S",
                                      NULL, 8, NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_true(json_equal(out, json_array_get(f, 0)));
    assert_int_equal(sc.n, 0);
    json_decref(out);

    /* only success has items (2 patches: one group call, falls back) */
    assert_int_equal(sk_merge_patches(e.c, NULL, s, SK_UPDATE_PATCH, "S", NULL,
                                      8, NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_string_equal(reasoning(out), "fallback concatenation");
    assert_edits(out, 1, 2, 1);
    assert_int_equal(st.final_call, 0);
    assert_int_equal(sc.n, 2);
    json_decref(out);

    /* both: the success merge (2 requests) then the final (2 requests) */
    sc_forget();
    assert_int_equal(sk_merge_patches(e.c, f, s, SK_UPDATE_PATCH, "S", NULL, 8,
                                      NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_int_equal(sc.n, 4);
    assert_int_equal(st.final_call, 1);
    assert_int_equal(st.n_fallbacks, 2);
    assert_string_equal(reasoning(out),
                        "fallback: failure first, then success");
    assert_edits(out, 0, 3, -1);
    assert_non_null(strstr(sc.users[2],
                           "## Current Skill\nS\n\n## Two pre-merged patch "
                           "groups to combine\nGroup 1 (failure-driven, HIGH "
                           "priority): 1 edits\nGroup 2 (success-driven, lower "
                           "priority): 2 edits\n\n[\n  {\n"));
    json_decref(out);

    /* an accepted final reply is returned without merge_level */
    sc.fixed = "{\"reasoning\": \"final\", \"edits\": [{\"op\": \"append\", "
               "\"content\": \"e9\"}]}";
    assert_int_equal(sk_merge_patches(e.c, f, s, SK_UPDATE_PATCH, "S", NULL, 8,
                                      NULL, NULL, 0, &out, &st, &err),
                     SK_OK);
    assert_string_equal(reasoning(out), "final");
    assert_edits(out, 9, 1, 0);
    json_decref(out);

    json_decref(f);
    json_decref(s);
    json_decref(none);
    json_decref(empty_patch);
    env_close(&e);
}

static json_t *pool(size_t n)
{
    json_t *p = json_pack("{s:s, s:[]}", "reasoning", "merged", "edits");
    size_t i;
    char content[32];
    for (i = 0; i < n; i++) {
        snprintf(content, sizeof content, "e%zu", i);
        json_array_append_new(json_object_get(p, "edits"),
                              json_pack("{s:s, s:s, s:s, s:i}", "op", "replace",
                                        "target", "it's", "content", content,
                                        "support_count", (int)i + 1));
    }
    return p;
}

static void test_select__within_budget_and_zero_budget(void **state)
{
    struct env e;
    struct sk_error err;
    json_t *m = pool(3), *out;
    (void)state;
    sc.kind = R_FIXED;
    sc.fixed = "{\"selected_indices\": [0]}";
    env_open(&e);
    assert_int_equal(sk_rank_and_select(e.c, m, 3, SK_UPDATE_PATCH, "S", NULL,
                                        NULL, NULL, 0, &out, &err),
                     SK_OK);
    assert_true(json_equal(out, m));
    json_decref(out);
    /* 11.4 fixed: budget 0 selects nothing, without a call */
    assert_int_equal(sk_rank_and_select(e.c, m, 0, SK_UPDATE_PATCH, "S", NULL,
                                        NULL, NULL, 0, &out, &err),
                     SK_OK);
    assert_int_equal(json_array_size(json_object_get(out, "edits")), 0);
    assert_string_equal(reasoning(out),
                        "merged [budget 0: selected 0/3 edits]");
    json_decref(out);
    assert_int_equal(sc.n, 0);
    assert_int_equal(sk_rank_and_select(e.c, m, -1, SK_UPDATE_PATCH, "S", NULL,
                                        NULL, NULL, 0, &out, &err),
                     SK_EINVAL);
    json_decref(m);
    env_close(&e);
}

static void test_select__walk_indices(void **state)
{
    static const struct {
        const char *reply;
        long k;
        const char *want; /* contents kept, "" for fallback */
        const char *suffix;
    } cases[] = {
        {"{\"reasoning\": \"r\", \"selected_indices\": [7, 1, 1, -1, \"2\", "
         "2.0, true, 0, 3]}",
         2, "e1,e0", " [optimizer-ranked: selected 2/5 edits]"},
        {"{\"selected_indices\": [4]}", 3, "e4",
         " [optimizer-ranked: selected 1/5 edits]"},
        {"{\"selected_indices\": []}", 2, "e0,e1",
         " [fallback truncated 5->2 edits]"},
        {"{\"selected_indices\": [9, 5]}", 2, "e0,e1",
         " [fallback truncated 5->2 edits]"},
        {"{\"selected\": [1]}", 1, "e0", " [fallback truncated 5->1 edits]"},
        {"garbage", 3, "e0,e1,e2", " [fallback truncated 5->3 edits]"},
    };
    struct env e;
    struct sk_error err;
    json_t *m = pool(5), *out, *it;
    size_t i, j;
    char got[64], want_reason[128];
    (void)state;
    sc.kind = R_FIXED;
    env_open(&e);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sc.fixed = cases[i].reply;
        assert_int_equal(sk_rank_and_select(e.c, m, cases[i].k, SK_UPDATE_PATCH,
                                            "S", NULL, NULL, NULL, 0, &out,
                                            &err),
                         SK_OK);
        got[0] = '\0';
        json_array_foreach(json_object_get(out, "edits"), j, it)
        {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s", j ? "," : "",
                     json_string_value(json_object_get(it, "content")));
        }
        assert_string_equal(got, cases[i].want);
        snprintf(want_reason, sizeof want_reason, "merged%s", cases[i].suffix);
        assert_string_equal(reasoning(out), want_reason);
        assert_int_equal(json_object_get(out, "ranking_details") != NULL,
                         strstr(cases[i].suffix, "ranked") != NULL);
        json_decref(out);
    }
    /* one call per case, plus the format retry the "garbage" reply got */
    assert_int_equal(sc.n, sizeof cases / sizeof cases[0] + 1);
    /* the pool lines: Python repr strings, two spaces between fields */
    assert_non_null(strstr(sc.users[0],
                           "## Current Skill\nS\n\n## Edits Pool (5 edits, "
                           "budget=2)\n[0] op=replace  target=\"it's\"  "
                           "content='e0'  support=1\n[1] op=replace"));
    assert_non_null(strstr(sc.users[0],
                           "support=5\n\nSelect the 2 most important edits. "
                           "Return their 0-based indices in priority order."));
    json_decref(m);
    env_close(&e);
}

static void test_select__describe_modes(void **state)
{
    struct sk_buf b;
    json_t *sug = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "add", "title",
                            "T", "instruction", "do\nit", "priority_hint",
                            "high", "support_count", 2);
    json_t *full =
        json_pack("{s:s, s:[s], s:s, s:s}", "title", "C", "change_summary", "x",
                  "source_type", "failure", "new_skill", "  body \n");
    json_t *odd =
        json_pack("{s:n, s:f, s:b}", "op", "content", 2.5, "support_count", 1);
    (void)state;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(
        sk_select_describe_item(sug, SK_UPDATE_REWRITE_FROM_SUGGESTIONS, &b),
        SK_OK);
    assert_string_equal(b.data, "type=add  title='T'  instruction='do\\nit'  "
                                "priority=high  support=2");
    sk_buf_reset(&b);
    assert_int_equal(
        sk_select_describe_item(full, SK_UPDATE_FULL_REWRITE_MINIBATCH, &b),
        SK_OK);
    assert_string_equal(b.data, "title='C'  change_summary=['x']  "
                                "source=failure  new_skill_preview='body'");
    sk_buf_reset(&b);
    assert_int_equal(sk_select_describe_item(odd, SK_UPDATE_PATCH, &b), SK_OK);
    assert_string_equal(b.data, "op=None  content=2.5  support=True");
    sk_buf_release(&b);
    json_decref(sug);
    json_decref(full);
    json_decref(odd);
}

static void test_lr__coerce_table(void **state)
{
    static const struct {
        const char *json; /* a one-element array holding the value */
        int ok;
        long long want;
    } cases[] = {
        {"[true]", 0, 0},
        {"[false]", 0, 0},
        {"[3]", 1, 3},
        {"[-2]", 1, 0},
        {"[2.0]", 1, 2},
        {"[2.5]", 1, 2},
        {"[-2.5]", 1, 0},
        {"[\"about 3 edits\"]", 1, 3},
        {"[\"  -4 \"]", 1, 0},
        {"[\"none\"]", 0, 0},
        {"[\"   \"]", 0, 0},
        {"[null]", 0, 0},
        {"[{}]", 0, 0},
        {"[[]]", 0, 0},
        {"[[4, 5]]", 1, 4},
        {"[{\"n\": 6}]", 1, 6},
        {"[1e-05]", 1, 1},
        {"[99999999999999999999999.0]", 1, LLONG_MAX},
        {"[\"123456789012345678901234\"]", 1, LLONG_MAX},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *a = json_loads(cases[i].json, 0, NULL);
        long long v = -1;
        int ok;
        assert_non_null(a);
        ok = sk_lr_coerce(json_array_get(a, 0), &v);
        if (ok != cases[i].ok || (ok && v != cases[i].want))
            fail_msg("case %s: ok %d value %lld", cases[i].json, ok, v);
        json_decref(a);
    }
}

static void test_lr__record_and_history(void **state)
{
    static const struct {
        const char *reply;
        long long lr, raw;
        int clamped, fallback;
    } cases[] = {
        {"{\"learning_rate\": 5, \"reasoning\": \"r\", \"confidence\": "
         "\"high\", \"risk_notes\": [\"x\"]}",
         3, 5, 1, 0},
        {"{\"learning_rate\": true}", 0, 0, 0, 1},
        {"{\"learning_rate\": \"about 2 edits\"}", 2, 2, 0, 0},
        {"{\"learning_rate\": 0}", 0, 0, 0, 0},
        {"not json at all", 0, 0, 0, 1},
    };
    struct env e;
    struct sk_error err;
    struct sk_lr_opts o;
    struct sk_buf line;
    static const char hist[] =
        "{\"step\": 4, \"epoch\": 1, \"learning_rate\": 3, "
        "\"raw_learning_rate\": 5, \"available_update_items\": 3, "
        "\"clamped\": true, \"fallback\": false, \"reasoning\": \"r\", "
        "\"confidence\": \"high\", \"risk_notes\": [\"x\"], "
        "\"raw_response\": \"{\\\"learning_rate\\\": 5, ";
    json_t *m = pool(3), *rec;
    size_t i;
    (void)state;
    sc.kind = R_FIXED;
    env_open(&e);
    memset(&o, 0, sizeof o);
    o.skill = "S";
    o.merged = m;
    o.mode = SK_UPDATE_PATCH;
    o.rollout_n = 10;
    o.rollout_hard = 0.25;
    o.rollout_soft = 1.0 / 3.0;
    o.step_buffer = "step 1: rejected";
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sc.fixed = cases[i].reply;
        assert_int_equal(sk_autonomous_lr(e.c, &o, &rec, &err), SK_OK);
        assert_int_equal(
            json_integer_value(json_object_get(rec, "learning_rate")),
            cases[i].lr);
        assert_int_equal(
            json_integer_value(json_object_get(rec, "raw_learning_rate")),
            cases[i].raw);
        assert_int_equal(json_is_true(json_object_get(rec, "clamped")),
                         cases[i].clamped);
        assert_int_equal(json_is_true(json_object_get(rec, "fallback")),
                         cases[i].fallback);
        assert_int_equal(
            json_integer_value(json_object_get(rec, "available_update_items")),
            3);
        assert_string_equal(
            json_string_value(json_object_get(rec, "raw_response")),
            cases[i].reply);
        assert_null(json_object_get(rec, "error"));
        if (i == 0) {
            sk_buf_init(&line, SK_BUF_UNLIMITED);
            assert_int_equal(sk_lr_history_line(rec, 4, 1, &line), SK_OK);
            assert_true(strncmp(line.data, hist, strlen(hist)) == 0);
            assert_int_equal(line.data[line.len - 1], '\n');
            sk_buf_release(&line);
        } else {
            assert_string_equal(
                json_string_value(json_object_get(rec, "reasoning")), "");
            assert_int_equal(
                json_array_size(json_object_get(rec, "risk_notes")), 0);
        }
        json_decref(rec);
    }
    assert_non_null(strstr(sc.users[0],
                           "## Current Skill\nS\n\n## Current Step Evidence\n"
                           "rollout_n=10\nrollout_hard=0.250000\n"
                           "rollout_soft=0.333333\nproposed_update_items=3\n"
                           "update_item_type=edits\n\n## Proposed Update "
                           "Items\n[0] op=replace"));
    assert_non_null(strstr(sc.users[0],
                           "\n\nDecide how many proposed update items should "
                           "be applied now.\n\n## Previous Steps in This "
                           "Epoch\nstep 1: rejected"));
    json_decref(m);
    env_close(&e);
}

/* Paths without model calls, under allocation failure (client unused). */
static int sweep_body(void *ctx)
{
    json_t *one = ctx, *m = pool(3), *out = NULL, *rec;
    struct sk_buf b;
    int rc;
    if (!m)
        return SK_ENOMEM;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_merge_patches(NULL, one, NULL, SK_UPDATE_PATCH, "S", NULL, 8, NULL,
                          NULL, 0, &out, NULL, NULL);
    json_decref(out);
    if (rc == SK_OK)
        rc = sk_merge_patches(NULL, NULL, NULL, SK_UPDATE_PATCH, "S", NULL, 8,
                              NULL, NULL, 0, &out, NULL, NULL);
    json_decref(out);
    if (rc == SK_OK)
        rc = sk_rank_and_select(NULL, m, 0, SK_UPDATE_PATCH, "S", NULL, NULL,
                                NULL, 0, &out, NULL);
    json_decref(out);
    if (rc == SK_OK)
        rc = sk_rank_and_select(NULL, m, 3, SK_UPDATE_PATCH, "S", NULL, NULL,
                                NULL, 0, &out, NULL);
    json_decref(out);
    if (rc == SK_OK)
        rc = sk_select_describe_item(
            json_array_get(json_object_get(m, "edits"), 0), SK_UPDATE_PATCH,
            &b);
    if (rc == SK_OK) {
        rec = json_pack("{s:i}", "learning_rate", 1);
        rc = rec ? sk_lr_history_line(rec, 1, 0, &b) : SK_ENOMEM;
        json_decref(rec);
    }
    sk_buf_release(&b);
    json_decref(m);
    return rc;
}

static void test_merge__alloc_failures(void **state)
{
    json_t *one = patches(1, 0);
    (void)state;
    assert_true(tu_alloc_sweep(sweep_body, one) >= 20);
    json_decref(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge__single_patch_no_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merge__levels_and_group_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_merge__singleton_group_passes_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge__retry_then_fallback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merge__retry_succeeds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merge__final_cases, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_select__within_budget_and_zero_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select__walk_indices, setup,
                                        teardown),
        cmocka_unit_test(test_select__describe_modes),
        cmocka_unit_test(test_lr__coerce_table),
        cmocka_unit_test(test_merge__alloc_failures),
        cmocka_unit_test_setup_teardown(test_lr__record_and_history, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
