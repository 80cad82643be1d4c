/*
 * test_rundir.c - run directory layout, Python-identical JSON output,
 * runtime/resume state, history truncation on resume, events.jsonl.
 * Expected texts in tests/fixtures/rundir/ were written by CPython 3.11
 * (the gen_*.py scripts next to them).
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config/config.h"
#include "testutil.h"
#include "train/events.h"
#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

/* Joins dir/rel into a new string, aborting the test on failure. */
static char *join(const char *dir, const char *rel)
{
    char *p = sk_fs_join(dir, rel);
    assert_non_null(p);
    return p;
}

static char *fixture_text(const char *name, size_t *len)
{
    char rel[128], *path, *text;
    snprintf(rel, sizeof rel, "tests/fixtures/rundir/%s", name);
    path = tu_source_path(rel);
    text = tu_read(path, len);
    assert_non_null(text);
    sk_free(path);
    return text;
}

/* ---- layout ---- */

static void test_rundir__layout_paths(void **state)
{
    struct sk_rundir rd;
    char *dir = tu_mkdtemp(), *root = join(dir, "out"), *p, *want;
    struct {
        long step;
        int batch, success;
        long index;
        const char *rel;
    } patches[] = {
        {5, -1, 0, 7, "steps/step_0005/patches/minibatch_fail_007.json"},
        {5, 1, 1, 12,
         "steps/step_0005/batch_1/patches/minibatch_succ_012.json"},
        {12345, -1, 1, 1234,
         "steps/step_12345/patches/minibatch_succ_1234.json"},
    };
    size_t i;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, root, NULL), SK_OK);
    assert_true(sk_fs_is_dir(root));

    assert_int_equal(sk_rundir_skill_path(&rd, 3, 0, &p, NULL), SK_OK);
    want = join(root, "skills/skill_v0003.md");
    assert_string_equal(p, want);
    sk_free(want);
    sk_free(p);
    want = join(root, "skills");
    assert_false(sk_fs_exists(want)); /* create = 0 makes nothing */
    assert_int_equal(sk_rundir_skill_path(&rd, 0, 1, &p, NULL), SK_OK);
    assert_true(sk_fs_is_dir(want));
    assert_false(sk_fs_exists(p)); /* only the directory of a file */
    sk_free(want);
    sk_free(p);

    assert_int_equal(sk_rundir_step_dir(&rd, 12, -1, 1, &p, NULL), SK_OK);
    want = join(root, "steps/step_0012");
    assert_string_equal(p, want);
    assert_true(sk_fs_is_dir(p));
    sk_free(want);
    sk_free(p);
    assert_int_equal(sk_rundir_step_dir(&rd, 12, 2, 1, &p, NULL), SK_OK);
    want = join(root, "steps/step_0012/batch_2");
    assert_string_equal(p, want);
    assert_true(sk_fs_is_dir(p));
    sk_free(want);
    sk_free(p);

    assert_int_equal(
        sk_rundir_step_file(&rd, 3, -1, "merged_patch.json", 0, &p, NULL),
        SK_OK);
    want = join(root, "steps/step_0003/merged_patch.json");
    assert_string_equal(p, want);
    sk_free(want);
    sk_free(p);

    for (i = 0; i < SK_ARRAY_LEN(patches); i++) {
        assert_int_equal(sk_rundir_patch_path(
                             &rd, patches[i].step, patches[i].batch,
                             patches[i].success, patches[i].index, 1, &p, NULL),
                         SK_OK);
        want = join(root, patches[i].rel);
        assert_string_equal(p, want);
        sk_free(want);
        want = sk_fs_dirname(p);
        assert_true(sk_fs_is_dir(want));
        sk_free(want);
        sk_free(p);
    }

    assert_int_equal(
        sk_rundir_epoch_dir(&rd, SK_RUNDIR_SLOW_UPDATE, 2, 1, &p, NULL), SK_OK);
    want = join(root, "slow_update/epoch_02");
    assert_string_equal(p, want);
    assert_true(sk_fs_is_dir(p));
    sk_free(want);
    sk_free(p);
    assert_int_equal(
        sk_rundir_epoch_dir(&rd, SK_RUNDIR_META_SKILL, 10, 0, &p, NULL), SK_OK);
    want = join(root, "meta_skill/epoch_10");
    assert_string_equal(p, want);
    assert_false(sk_fs_exists(p));
    sk_free(want);
    sk_free(p);

    assert_int_equal(sk_rundir_path(&rd, SK_RUNDIR_HISTORY, 0, &p, NULL),
                     SK_OK);
    want = join(root, "history.json");
    assert_string_equal(p, want);
    sk_free(want);
    sk_free(p);

    sk_rundir_release(&rd);
    sk_free(root);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- JSON output ---- */

/* Every line of float_repr.txt: the double's bits and CPython's repr. */
static void test_rundir__python_float_repr(void **state)
{
    char *text = fixture_text("float_repr.txt", NULL), *line, *next;
    size_t n = 0;
    (void)state;

    for (line = text; *line; line = next) {
        char got[40], want[40];
        unsigned long long bits;
        double v;

        next = strchr(line, '\n');
        assert_non_null(next);
        *next++ = '\0';
        assert_int_equal(sscanf(line, "%llx %39s", &bits, want), 2);
        memcpy(&v, &bits, sizeof v);
        sk_py_float_repr(v, got, sizeof got);
        if (strcmp(got, want) != 0)
            fail_msg("bits %016llx: got %s, CPython %s", bits, got, want);
        n++;
    }
    assert_true(n >= 8000);

    {
        char b[40];
        sk_py_float_repr(NAN, b, sizeof b);
        assert_string_equal(b, "NaN");
        sk_py_float_repr(-INFINITY, b, sizeof b);
        assert_string_equal(b, "-Infinity");
    }
    sk_free(text);
}

static void test_rundir__dump_matches_python(void **state)
{
    char *input = fixture_text("dump_input.json", NULL);
    char *indent2 = fixture_text("dump_indent2.json", NULL);
    char *compact = fixture_text("dump_compact.json", NULL);
    char *dir = tu_mkdtemp(), *path = join(dir, "sub/x.json"), *got;
    struct sk_buf b;
    json_error_t jerr;
    json_t *v;
    (void)state;

    v = json_loads(input, 0, &jerr);
    assert_non_null(v);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_json_dump_py(v, 2, &b), SK_OK);
    assert_string_equal(sk_buf_cstr(&b), indent2);
    sk_buf_reset(&b);
    assert_int_equal(sk_json_dump_py(v, -1, &b), SK_OK);
    assert_string_equal(sk_buf_cstr(&b), compact);
    sk_buf_release(&b);

    /* The file writer makes the directory and writes the same bytes. */
    assert_int_equal(sk_json_write_file(path, v, NULL), SK_OK);
    got = tu_read(path, NULL);
    assert_string_equal(got, indent2);
    sk_free(got);

    /* A cap on the buffer is reported, not overrun. */
    sk_buf_init(&b, 16);
    assert_int_equal(sk_json_dump_py(v, 2, &b), SK_ETOOBIG);
    sk_buf_release(&b);

    json_decref(v);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(input);
    sk_free(indent2);
    sk_free(compact);
}

/* ---- runtime_state.json ---- */

static void fill_state(struct sk_runtime_state *st)
{
    sk_runtime_state_init(st);
    st->last_completed_step = 7;
    st->current_skill_path = sk_strdup("OUT/skills/skill_v0007.md");
    st->current_score = 0.0;
    st->current_origin = sk_strdup("step_0007");
    st->best_skill_path = sk_strdup("OUT/best_skill.md");
    st->best_score = 5.0 / 6.0;
    st->best_step = 5;
    st->best_origin = sk_strdup("slow_update_epoch_01");
}

static void test_rundir__runtime_state_round_trip(void **state)
{
    char *dir = tu_mkdtemp(), *want = fixture_text("runtime_state.json", NULL);
    char *path, *got;
    struct sk_runtime_state st, back;
    struct sk_rundir rd;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    fill_state(&st);
    assert_int_equal(sk_runtime_state_write(&rd, &st, NULL), SK_OK);
    path = join(dir, "runtime_state.json");
    got = tu_read(path, NULL);
    assert_string_equal(got, want); /* byte-identical to the reference */
    sk_free(got);

    sk_runtime_state_init(&back);
    assert_int_equal(sk_runtime_state_read(&rd, &back, NULL), SK_OK);
    assert_int_equal(back.last_completed_step, 7);
    /* 11.6: a stored 0.0 stays 0.0 (the reference made it -1.0). */
    assert_true(back.current_score == 0.0);
    assert_true(back.best_score == 5.0 / 6.0);
    assert_int_equal(back.best_step, 5);
    assert_string_equal(back.current_skill_path, st.current_skill_path);
    assert_string_equal(back.best_skill_path, st.best_skill_path);
    assert_string_equal(back.current_origin, "step_0007");
    assert_string_equal(back.best_origin, "slow_update_epoch_01");

    /* best_score 0.0 stays 0.0 too (the reference took current_score). */
    sk_runtime_state_release(&st);
    sk_runtime_state_init(&st);
    st.last_completed_step = 2;
    st.current_score = 0.25;
    st.best_score = 0.0;
    assert_int_equal(sk_runtime_state_write(&rd, &st, NULL), SK_OK);
    assert_int_equal(sk_runtime_state_read(&rd, &back, NULL), SK_OK);
    assert_true(back.best_score == 0.0);
    assert_true(back.current_score == 0.25);
    /* NULL paths are written as the reference computes them. */
    got = join(dir, "skills/skill_v0002.md");
    assert_string_equal(back.current_skill_path, got);
    sk_free(got);
    got = join(dir, "best_skill.md");
    assert_string_equal(back.best_skill_path, got);
    sk_free(got);
    /* NULL origins are written as null and read back with defaults. */
    assert_string_equal(back.current_origin, "step_0002");
    assert_string_equal(back.best_origin, "step_0002");

    sk_runtime_state_release(&back);
    sk_runtime_state_release(&st);
    sk_rundir_release(&rd);
    sk_free(path);
    sk_free(want);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_rundir__runtime_state_defaults(void **state)
{
    char *dir = tu_mkdtemp(), *p;
    struct sk_runtime_state st;
    struct sk_rundir rd;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    sk_runtime_state_init(&st);
    p = tu_write(dir, "runtime_state.json", "{\"last_completed_step\": 4}");
    sk_free(p);
    assert_int_equal(sk_runtime_state_read(&rd, &st, NULL), SK_OK);
    assert_int_equal(st.last_completed_step, 4);
    assert_true(st.current_score == -1.0);
    assert_true(st.best_score == -1.0);
    assert_int_equal(st.best_step, 4);
    assert_string_equal(st.current_origin, "step_0004");
    assert_string_equal(st.best_origin, "step_0004");

    p = tu_write(dir, "runtime_state.json",
                 "{\"last_completed_step\": 0, \"current_score\": 0.0, "
                 "\"best_score\": null, \"best_step\": 3.0}");
    sk_free(p);
    assert_int_equal(sk_runtime_state_read(&rd, &st, NULL), SK_OK);
    assert_true(st.current_score == 0.0);
    assert_true(st.best_score == 0.0); /* null -> current score */
    assert_int_equal(st.best_step, 3);
    assert_string_equal(st.current_origin, "initial_skill");
    p = join(dir, "skills/skill_v0000.md");
    assert_string_equal(st.current_skill_path, p);
    sk_free(p);

    sk_runtime_state_release(&st);
    sk_rundir_release(&rd);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_rundir__runtime_state_corrupt_is_reported(void **state)
{
    static const char *bad[] = {
        "{\"last_completed_step\": 3, \"current_score\": ",
        "",
        "[1, 2]",
        "{\"last_completed_step\": \"3\"}",
        "{\"current_score\": \"0.5\"}",
        "{\"best_step\": 2.5}",
        "{\"current_origin\": 7}",
    };
    char *dir = tu_mkdtemp(), *p;
    struct sk_runtime_state st;
    struct sk_rundir rd;
    struct sk_error err;
    size_t i;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    sk_runtime_state_init(&st);
    /* Absent: a fresh run. */
    assert_int_equal(sk_runtime_state_read(&rd, &st, &err), SK_ENOTFOUND);
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        p = tu_write(dir, "runtime_state.json", bad[i]);
        sk_free(p);
        sk_error_clear(&err);
        if (sk_runtime_state_read(&rd, &st, &err) != SK_EPARSE)
            fail_msg("case %zu: not reported as corrupt", i);
        assert_non_null(strstr(err.msg, "runtime_state.json"));
        assert_null(st.current_origin);
    }
    sk_runtime_state_release(&st);
    sk_rundir_release(&rd);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- resume_state.json ---- */

static void test_rundir__resume_state(void **state)
{
    char *dir = tu_mkdtemp(), *p;
    struct sk_rundir rd;
    struct sk_error err;
    json_t *st, *back = NULL;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    assert_int_equal(sk_resume_state_read(&rd, 3, &back, NULL), SK_ENOTFOUND);
    st = json_pack("{s:i, s:[{s:i, s:s}]}", "scheduler_step", 3, "step_buffer",
                   "step", 3, "action", "reject");
    assert_non_null(st);
    assert_int_equal(sk_resume_state_write(&rd, 3, st, NULL), SK_OK);
    assert_int_equal(sk_resume_state_read(&rd, 3, &back, NULL), SK_OK);
    assert_true(json_equal(back, st));
    json_decref(back);
    /* Written for another step: stale, reported as not available. */
    assert_int_equal(sk_resume_state_read(&rd, 4, &back, &err), SK_ENOTFOUND);
    assert_null(back);
    assert_non_null(strstr(err.msg, "step 3"));
    p = tu_write(dir, "resume_state.json", "{\"state\": {}}");
    sk_free(p);
    assert_int_equal(sk_resume_state_read(&rd, 3, &back, &err), SK_EPARSE);
    assert_non_null(strstr(err.msg, "resume_state.json"));
    json_decref(st);
    sk_rundir_release(&rd);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- history.json ---- */

static json_t *row(long step, double score)
{
    json_t *r =
        json_pack("{s:i, s:i, s:f, s:s}", "step", (json_int_t)step, "epoch", 1,
                  "current_score", score, "action", "accept");
    assert_non_null(r);
    return r;
}

static void test_rundir__history_truncated_on_resume(void **state)
{
    char *dir = tu_mkdtemp(), *path, *text;
    struct sk_history h;
    struct sk_rundir rd;
    struct sk_error err;
    size_t dropped = 99;
    json_t *r, *back;
    long s;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    path = join(dir, "history.json");
    sk_history_init(&h);
    /* Absent: empty, no error. */
    assert_int_equal(sk_history_load(&rd, 0, &h, &dropped, NULL), SK_OK);
    assert_int_equal(sk_history_len(&h), 0);
    assert_int_equal(dropped, 0);
    for (s = 1; s <= 3; s++) {
        r = row(s, 0.5);
        assert_int_equal(sk_history_append(&rd, &h, r, NULL), SK_OK);
        json_decref(r);
    }
    /* The crash came after step 3's row and before runtime_state said 3:
     * the resume starts at 3 and its row must not appear twice. */
    assert_int_equal(sk_history_load(&rd, 3, &h, &dropped, NULL), SK_OK);
    assert_int_equal(sk_history_len(&h), 2);
    assert_int_equal(dropped, 1);
    r = row(3, 0.0);
    assert_int_equal(sk_history_append(&rd, &h, r, NULL), SK_OK);
    json_decref(r);
    assert_int_equal(sk_json_read_file(path, &back, NULL), SK_OK);
    assert_int_equal(json_array_size(back), 3);
    for (s = 0; s < 3; s++)
        assert_int_equal(json_integer_value(
                             json_object_get(json_array_get(back, s), "step")),
                         s + 1);
    json_decref(back);
    text = tu_read(path, NULL);
    assert_non_null(strstr(text, "\"current_score\": 0.0,\n"));
    sk_free(text);

    /* resume_from <= 0 keeps everything. */
    assert_int_equal(sk_history_load(&rd, 0, &h, &dropped, NULL), SK_OK);
    assert_int_equal(sk_history_len(&h), 3);

    text = tu_write(dir, "history.json", "[{\"epoch\": 1}]");
    sk_free(text);
    assert_int_equal(sk_history_load(&rd, 2, &h, NULL, &err), SK_EPARSE);
    assert_non_null(strstr(err.msg, "history.json"));
    assert_int_equal(sk_history_len(&h), 0);
    text = tu_write(dir, "history.json", "{}");
    sk_free(text);
    assert_int_equal(sk_history_load(&rd, 2, &h, NULL, &err), SK_EPARSE);

    sk_history_release(&h);
    sk_rundir_release(&rd);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

/* A directory squatting on the temporary name makes the write fail
 * (works as root, where a read-only directory would not). */
static char *block_tmp(const char *dir, const char *name)
{
    char rel[128], *p;
    snprintf(rel, sizeof rel, "%s.tmp.%ld", name, (long)getpid());
    p = join(dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    return p;
}

static void test_rundir__failed_write_keeps_old_file(void **state)
{
    char *dir = tu_mkdtemp(), *hpath, *spath, *before, *after, *blk;
    struct sk_runtime_state st;
    struct sk_history h;
    struct sk_rundir rd;
    struct sk_error err;
    json_t *r;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    hpath = join(dir, "history.json");
    spath = join(dir, "runtime_state.json");
    sk_history_init(&h);
    r = row(1, 0.5);
    assert_int_equal(sk_history_append(&rd, &h, r, NULL), SK_OK);
    json_decref(r);
    fill_state(&st);
    assert_int_equal(sk_runtime_state_write(&rd, &st, NULL), SK_OK);

    before = tu_read(hpath, NULL);
    blk = block_tmp(dir, "history.json");
    r = row(2, 0.7);
    assert_int_equal(sk_history_append(&rd, &h, r, &err), SK_EIO);
    json_decref(r);
    assert_non_null(strstr(err.msg, "history.json"));
    assert_int_equal(sk_history_len(&h), 1); /* memory matches the disk */
    after = tu_read(hpath, NULL);
    assert_string_equal(after, before);
    sk_free(after);
    sk_free(before);
    rmdir(blk);
    sk_free(blk);

    before = tu_read(spath, NULL);
    blk = block_tmp(dir, "runtime_state.json");
    st.last_completed_step = 8;
    assert_int_equal(sk_runtime_state_write(&rd, &st, &err), SK_EIO);
    after = tu_read(spath, NULL);
    assert_string_equal(after, before);
    sk_free(after);
    sk_free(before);
    rmdir(blk);
    sk_free(blk);

    sk_runtime_state_release(&st);
    sk_history_release(&h);
    sk_rundir_release(&rd);
    sk_free(hpath);
    sk_free(spath);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- config.json ---- */

static void test_rundir__config_json(void **state)
{
    char *dir = tu_mkdtemp(), *path;
    struct sk_config c;
    struct sk_rundir rd;
    struct sk_buf b;
    json_t *printed, *extra, *back;
    const char *key, *last = NULL;
    json_t *v;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    sk_config_init(&c);
    assert_int_equal(sk_config_defaults(&c, NULL), SK_OK);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_config_print(&c, SK_CONFIG_PRINT_JSON, &b), SK_OK);
    printed = json_loads(b.data, 0, NULL);
    assert_non_null(printed);
    sk_buf_release(&b);

    extra = json_pack("{s:i, s:i, s:i}", "train_size", 40, "steps_per_epoch", 3,
                      "zz_derived_key", 9);
    assert_non_null(extra);
    assert_int_equal(sk_rundir_write_config(&rd, &c, extra, NULL), SK_OK);
    path = join(dir, "config.json");
    assert_int_equal(sk_json_read_file(path, &back, NULL), SK_OK);
    /* Every printed key is there, extras override in place, new keys
     * come last. */
    json_object_foreach(printed, key, v)
    {
        json_t *want = json_object_get(extra, key);
        assert_non_null(json_object_get(back, key));
        assert_true(json_equal(json_object_get(back, key), want ? want : v));
    }
    {
        /* Printed keys keep their order (an overridden key stays put). */
        void *a = json_object_iter(printed), *z = json_object_iter(back);
        for (; a; a = json_object_iter_next(printed, a),
                  z = json_object_iter_next(back, z)) {
            assert_non_null(z);
            assert_string_equal(json_object_iter_key(a),
                                json_object_iter_key(z));
        }
    }
    json_object_foreach(back, key, v) last = key;
    assert_string_equal(last, "zz_derived_key");
    assert_int_equal(json_object_size(back), json_object_size(printed) + 1);
    json_decref(back);

    json_decref(extra);
    extra = json_array();
    assert_int_equal(sk_rundir_write_config(&rd, &c, extra, NULL), SK_EINVAL);
    json_decref(extra);
    json_decref(printed);
    sk_config_release(&c);
    sk_free(path);
    sk_rundir_release(&rd);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- events.jsonl ---- */

static struct timespec fixed_clock(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    ts.tv_sec = 1764050843; /* 2025-11-25T06:07:23Z per CPython */
    ts.tv_nsec = 123999999;
    return ts;
}

struct emit_ctx {
    struct sk_events *ev;
    int id;
};

static void *emit_thread(void *arg)
{
    struct emit_ctx *c = arg;
    int i;
    for (i = 0; i < 200; i++) {
        json_t *f = json_pack("{s:i, s:i, s:s}", "thread", c->id, "i", i, "pad",
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        if (!f || sk_events_emit(c->ev, SK_EVENT_ROLLOUT_PROGRESS, f, NULL))
            abort();
        json_decref(f);
    }
    return NULL;
}

static void test_rundir__events_lines_parse_back(void **state)
{
    char *dir = tu_mkdtemp(), *path = join(dir, "events.jsonl"), *text;
    char *line, *next;
    struct sk_events *ev;
    struct emit_ctx ctx[4];
    pthread_t th[4];
    json_t *f, *v;
    size_t n = 0, i;
    (void)state;

    assert_int_equal(sk_events_open(path, &ev, NULL), SK_OK);
    sk_events_set_clock(ev, fixed_clock, NULL);
    f = json_pack("{s:s, s:i, s:s, s:f}", "phase", "rollout", "step", 3, "type",
                  "ignored", "seconds", 0.0);
    assert_non_null(f);
    assert_int_equal(sk_events_emit(ev, SK_EVENT_PHASE_END, f, NULL), SK_OK);
    json_decref(f);
    assert_int_equal(sk_events_emit(ev, SK_EVENT_RUN_START, NULL, NULL), SK_OK);
    f = json_array();
    assert_int_equal(sk_events_emit(ev, SK_EVENT_GATE, f, NULL), SK_EINVAL);
    json_decref(f);
    sk_events_set_clock(ev, NULL, NULL);
    for (i = 0; i < 4; i++) {
        ctx[i].ev = ev;
        ctx[i].id = (int)i;
        assert_int_equal(pthread_create(&th[i], NULL, emit_thread, &ctx[i]), 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(sk_events_emit(ev, SK_EVENT_RUN_END, NULL, NULL), SK_OK);
    sk_events_close(ev);

    text = tu_read(path, NULL);
    assert_non_null(text);
    assert_memory_equal(text,
                        "{\"ts\": \"2025-11-25T06:07:23.123Z\", \"type\": "
                        "\"phase_end\", \"phase\": \"rollout\", \"step\": 3, "
                        "\"seconds\": 0.0}\n",
                        strlen("{\"ts\": \"2025-11-25T06:07:23.123Z\", "
                               "\"type\": \"phase_end\", \"phase\": "
                               "\"rollout\", \"step\": 3, \"seconds\": "
                               "0.0}\n"));
    for (line = text; *line; line = next) {
        const char *ts;
        next = strchr(line, '\n');
        assert_non_null(next);
        *next++ = '\0';
        v = json_loads(line, 0, NULL);
        assert_non_null(v);
        ts = json_string_value(json_object_get(v, "ts"));
        assert_non_null(ts);
        assert_int_equal(strlen(ts), 24); /* YYYY-MM-DDTHH:MM:SS.mmmZ */
        assert_int_equal(ts[10], 'T');
        assert_int_equal(ts[19], '.');
        assert_int_equal(ts[23], 'Z');
        assert_non_null(json_string_value(json_object_get(v, "type")));
        json_decref(v);
        n++;
    }
    assert_int_equal(n, 2 + 4 * 200 + 1);
    sk_free(text);

    /* Reopening appends. */
    assert_int_equal(sk_events_open(path, &ev, NULL), SK_OK);
    assert_int_equal(sk_events_emit(ev, SK_EVENT_SPEND, NULL, NULL), SK_OK);
    assert_int_equal(sk_events_sync(ev, NULL), SK_OK);
    sk_events_close(ev);
    text = tu_read(path, NULL);
    for (n = 0, line = text; (line = strchr(line, '\n')) != NULL; line++)
        n++;
    assert_int_equal(n, 2 + 4 * 200 + 2);
    sk_free(text);
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- allocation-failure sweeps ---- */

struct sweep_ctx {
    struct sk_rundir *rd;
    long step;
};

static int sweep_runtime_state(void *arg)
{
    struct sweep_ctx *c = arg;
    struct sk_runtime_state st, back;
    int rc;

    fill_state(&st);
    /* fill_state's own strdups may have failed under injection. */
    if (!st.current_skill_path || !st.current_origin || !st.best_skill_path ||
        !st.best_origin) {
        sk_runtime_state_release(&st);
        return SK_ENOMEM;
    }
    sk_free(st.current_skill_path);
    st.current_skill_path = NULL; /* exercise the computed path too */
    rc = sk_runtime_state_write(c->rd, &st, NULL);
    sk_runtime_state_init(&back);
    if (rc == SK_OK)
        rc = sk_runtime_state_read(c->rd, &back, NULL);
    if (rc == SK_OK && back.current_score != 0.0)
        rc = SK_EINVAL;
    sk_runtime_state_release(&back);
    sk_runtime_state_release(&st);
    return rc;
}

static int sweep_history(void *arg)
{
    struct sweep_ctx *c = arg;
    struct sk_history h;
    json_t *r;
    int rc;

    sk_history_init(&h);
    rc = sk_history_load(c->rd, c->step, &h, NULL, NULL);
    if (rc == SK_OK) {
        r = json_pack("{s:i, s:f, s:s}", "step", (json_int_t)c->step,
                      "current_score", 0.5, "action", "reject");
        rc = r ? sk_history_append(c->rd, &h, r, NULL) : SK_ENOMEM;
        json_decref(r);
    }
    sk_history_release(&h);
    return rc;
}

static void test_rundir__allocation_failure_sweep(void **state)
{
    char *dir = tu_mkdtemp(), *path;
    struct sk_rundir rd;
    struct sweep_ctx c;
    json_t *back;
    long s;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, dir, NULL), SK_OK);
    c.rd = &rd;
    c.step = 1;
    assert_true(tu_alloc_sweep(sweep_runtime_state, &c) > 3);
    /* The history file always holds whole, unduplicated rows. */
    for (s = 1; s <= 3; s++) {
        c.step = s;
        assert_true(tu_alloc_sweep(sweep_history, &c) > 3);
    }
    path = join(dir, "history.json");
    assert_int_equal(sk_json_read_file(path, &back, NULL), SK_OK);
    assert_int_equal(json_array_size(back), 3);
    json_decref(back);
    sk_free(path);
    sk_rundir_release(&rd);
    tu_rmtree(dir);
    sk_free(dir);
}

/* Temporary files of interrupted atomic writes go; everything else stays. */
static void test_rundir__clean_tmp(void **state)
{
    struct sk_rundir rd;
    char *dir = tu_mkdtemp(), *root = join(dir, "out"), *sub;
    static const char *const gone[] = {"history.json.tmp.123",
                                       "skills/skill_v0001.md.tmp.9"};
    static const char *const kept[] = {"history.json", "notes.tmp.x",
                                       "skills/a.tmp.", "skills/x.tmp.12b",
                                       "skills/skill_v0001.md"};
    size_t i;
    (void)state;

    assert_int_equal(sk_rundir_open(&rd, root, NULL), SK_OK);
    sub = join(root, "skills");
    assert_int_equal(sk_fs_mkdirs(sub, NULL), SK_OK);
    for (i = 0; i < 2; i++)
        sk_free(tu_write(root, gone[i], "x"));
    for (i = 0; i < 5; i++)
        sk_free(tu_write(root, kept[i], "x"));
    assert_int_equal(sk_rundir_clean_tmp(&rd), 2);
    for (i = 0; i < 2; i++) {
        char *p = join(root, gone[i]);
        assert_false(sk_fs_exists(p));
        sk_free(p);
    }
    for (i = 0; i < 5; i++) {
        char *p = join(root, kept[i]);
        assert_true(sk_fs_exists(p));
        sk_free(p);
    }
    sk_rundir_release(&rd);
    tu_rmtree(dir);
    sk_free(sub);
    sk_free(root);
    sk_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rundir__layout_paths),
        cmocka_unit_test(test_rundir__clean_tmp),
        cmocka_unit_test(test_rundir__python_float_repr),
        cmocka_unit_test(test_rundir__dump_matches_python),
        cmocka_unit_test(test_rundir__runtime_state_round_trip),
        cmocka_unit_test(test_rundir__runtime_state_defaults),
        cmocka_unit_test(test_rundir__runtime_state_corrupt_is_reported),
        cmocka_unit_test(test_rundir__resume_state),
        cmocka_unit_test(test_rundir__history_truncated_on_resume),
        cmocka_unit_test(test_rundir__failed_write_keeps_old_file),
        cmocka_unit_test(test_rundir__config_json),
        cmocka_unit_test(test_rundir__events_lines_parse_back),
        cmocka_unit_test(test_rundir__allocation_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
