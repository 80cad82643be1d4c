/*
 * test_split.c - benchmark splits: counts, aliases, both load modes, the
 * Python-identical ratio shuffle (tests/fixtures/split, from gen.py), every
 * data error, CSV split folders (csv_vectors.json from csv_gen.py, read by
 * Python's csv module), allocation failures, and the shipped searchqa data.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/split.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/fs.h"

/* ---- helpers ---------------------------------------------------------- */

struct file_spec {
    const char *name; /* relative to the temp dir */
    const char *text;
};

static char *make_tree(const struct file_spec *files)
{
    char *dir = tu_mkdtemp();
    for (; files && files->name; files++)
        sk_free(tu_write(dir, files->name, files->text));
    return dir;
}

static char *path_in(const char *dir, const char *rel)
{
    char *p = sk_fs_join(dir, rel);
    assert_non_null(p);
    return p;
}

/* Joins the ids of split k with ',' ("-" when empty) into buf. */
static void ids_of(const struct sk_splits *s, enum sk_split_kind k, char *buf,
                   size_t cap)
{
    size_t i, n = sk_splits_count(s, k), len = 0;
    buf[0] = '\0';
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
                                sk_split_item_id(s, k, i));
    if (n == 0)
        snprintf(buf, cap, "-");
    assert_true(len < cap);
}

static char *fixture_text(void)
{
    char *path = tu_source_path("tests/fixtures/split/expected.txt");
    char *text = tu_read(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    sk_free(path);
    return text;
}

/* Cuts the next line off *p (NUL-terminating it); NULL at the end. */
static char *next_line(char **p)
{
    char *line = *p, *nl;
    if (!line || !*line)
        return NULL;
    nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

static const char items3[] =
    "[{\"id\": \"x1\"}, {\"id\": \"x2\"}, {\"id\": \"x3\"}]";

/* ---- counts, names, ratio text ----------------------------------------- */

static void test_split__counts_reference_vectors(void **state)
{
    static const struct {
        size_t total;
        long w[3];
        size_t want[3];
    } cases[] = {
        {100, {2, 1, 7}, {20, 10, 70}}, {37, {2, 1, 7}, {7, 4, 26}},
        {3, {2, 1, 7}, {1, 0, 2}},      {0, {2, 1, 7}, {0, 0, 0}},
        {2, {1, 1, 1}, {1, 1, 0}},      {4, {1, 2, 1}, {1, 2, 1}},
        {1, {1, 1, 2}, {0, 0, 1}},
    };
    size_t i, got[3];
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_split_counts(cases[i].total, cases[i].w, got);
        assert_memory_equal(got, cases[i].want, sizeof got);
    }
}

static void test_split__counts_match_python_table(void **state)
{
    char *text = fixture_text(), *line, *cur = text;
    int n = 0;
    (void)state;
    while ((line = next_line(&cur)) != NULL) {
        unsigned long long total, c[3];
        long w[3];
        size_t got[3];
        int i;
        if (strncmp(line, "counts ", 7) != 0)
            continue;
        assert_int_equal(sscanf(line + 7, "%llu %ld %ld %ld %llu %llu %llu",
                                &total, &w[0], &w[1], &w[2], &c[0], &c[1],
                                &c[2]),
                         7);
        sk_split_counts((size_t)total, w, got);
        for (i = 0; i < 3; i++)
            if (got[i] != c[i])
                fail_msg("counts(%llu, %ld:%ld:%ld)[%d] = %zu, want %llu",
                         total, w[0], w[1], w[2], i, got[i], c[i]);
        n++;
    }
    assert_true(n > 200);
    sk_free(text);
}

static void test_split__name_aliases(void **state)
{
    static const struct {
        const char *name;
        int rc;
        enum sk_split_kind kind;
    } cases[] = {
        {"train", SK_OK, SK_SPLIT_TRAIN},
        {"val", SK_OK, SK_SPLIT_VAL},
        {"valid_seen", SK_OK, SK_SPLIT_VAL},
        {"selection", SK_OK, SK_SPLIT_VAL},
        {"test", SK_OK, SK_SPLIT_TEST},
        {"valid_unseen", SK_OK, SK_SPLIT_TEST},
        {"validation", SK_EINVAL, SK_SPLIT_TRAIN},
        {"Train", SK_EINVAL, SK_SPLIT_TRAIN},
        {"", SK_EINVAL, SK_SPLIT_TRAIN},
        {NULL, SK_EINVAL, SK_SPLIT_TRAIN},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        enum sk_split_kind k = SK_SPLIT_TRAIN;
        assert_int_equal(sk_split_name_parse(cases[i].name, &k), cases[i].rc);
        assert_int_equal(k, cases[i].kind);
    }
    assert_string_equal(sk_split_kind_name(SK_SPLIT_VAL), "val");
    assert_string_equal(sk_split_kind_name(SK_SPLIT_TEST), "test");
}

static void test_split__ratio_parse(void **state)
{
    static const struct {
        const char *text;
        int rc;
        long w[3];
    } cases[] = {
        {"2:1:7", SK_OK, {2, 1, 7}},
        {" 3 : 1 : 1 ", SK_OK, {3, 1, 1}},
        {"1000000:1:1", SK_OK, {1000000, 1, 1}},
        {"2:1", SK_EDATA, {0}},
        {"2:1:7:1", SK_EDATA, {0}},
        {"2:0:7", SK_EDATA, {0}},
        {"-2:1:7", SK_EDATA, {0}},
        {"a:b:c", SK_EDATA, {0}},
        {"2.5:1:7", SK_EDATA, {0}},
        {"2::1:7", SK_EDATA, {0}},
        {"1000001:1:1", SK_EDATA, {0}},
        {"99999999999999999999:1:1", SK_EDATA, {0}},
        {"", SK_EDATA, {0}},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        long w[3] = {0, 0, 0};
        struct sk_error err;
        int rc = sk_split_ratio_parse(cases[i].text, w, &err);
        if (rc != cases[i].rc)
            fail_msg("ratio \"%s\": rc %d, want %d", cases[i].text, rc,
                     cases[i].rc);
        if (rc == SK_OK)
            assert_memory_equal(w, cases[i].w, sizeof w);
        else
            assert_non_null(strstr(err.msg, cases[i].text));
    }
}

/* ---- split_dir mode ----------------------------------------------------- */

static void test_split__split_dir_loads_first_json(void **state)
{
    static const struct file_spec files[] = {
        {"d/train/b.json", "[{\"id\": \"b1\"}]"},
        {"d/train/a.json",
         "[{\"id\": \"t1\", \"q\": \"caf\xc3\xa9\"}, {\"id\": 7}, "
         "{\"id\": 1.5}, {\"id\": 1e20}, {\"id\": 3.0}, {\"id\": -0.0001}]"},
        {"d/train/.hidden.json", "[{\"id\": \"h\"}]"},
        {"d/val/items.json", "[{\"id\": \"v1\"}, {\"id\": \"v2\"}]"},
        {"d/val/notes.txt", "not json"},
        {"d/test/items.json", "[]"},
        {NULL, NULL},
    };
    static const char *const want_train[] = {"t1",    "7",   "1.5",
                                             "1e+20", "3.0", "-0.0001"};
    char *dir = make_tree(files), *sd = path_in(dir, "d"), *want;
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    size_t i;
    (void)state;
    sk_split_opts_init(&o);
    o.mode = "split_dir";
    o.split_dir = sd;
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_OK);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TRAIN), 6);
    for (i = 0; i < SK_ARRAY_LEN(want_train); i++)
        assert_string_equal(sk_split_item_id(&s, SK_SPLIT_TRAIN, i),
                            want_train[i]);
    assert_null(sk_split_item_id(&s, SK_SPLIT_TRAIN, 6));
    assert_null(sk_splits_item(&s, SK_SPLIT_TRAIN, 6));
    assert_string_equal(
        json_string_value(json_object_get(
            (json_t *)sk_splits_item(&s, SK_SPLIT_TRAIN, 0), "q")),
        "caf\xc3\xa9");
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_VAL), 2);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TEST), 0);
    want = path_in(sd, "train/a.json");
    assert_string_equal(s.paths[SK_SPLIT_TRAIN], want);
    assert_string_equal(s.split_dir, sd);
    sk_free(want);
    sk_splits_release(&s);

    /* limit keeps the first items of every split; mode is case-blind. */
    o.mode = " Split_Dir ";
    o.limit = 1;
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_OK);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TRAIN), 1);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_VAL), 1);
    assert_string_equal(sk_split_item_id(&s, SK_SPLIT_VAL, 0), "v1");
    assert_null(sk_split_item_id(&s, SK_SPLIT_VAL, 1));
    sk_splits_release(&s);
    sk_splits_release(NULL);
    tu_rmtree(dir);
    sk_free(sd);
    sk_free(dir);
}

/* ---- ratio mode --------------------------------------------------------- */

static void check_case_line(const char *line)
{
    char file[64], ratio[32], want[3][1024], got[1024], *dir, *out, *src;
    char *manifest_path, *manifest_text, *want_manifest;
    long long seed;
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    size_t cnt[3];
    int k;
    assert_int_equal(sscanf(line, "case %63s %lld %31s %1023s %1023s %1023s",
                            file, &seed, ratio, want[0], want[1], want[2]),
                     6);
    dir = tu_mkdtemp();
    out = path_in(dir, "out");
    {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fixtures/split/%s", file);
        src = tu_source_path(rel);
    }
    sk_split_opts_init(&o);
    o.mode = "ratio";
    o.data_path = src;
    o.split_ratio = ratio;
    o.split_seed = seed;
    o.seed = 999; /* must be ignored: split_seed is set */
    o.split_output_dir = out;
    if (sk_splits_load(&o, &s, &err) != SK_OK)
        fail_msg("%s: %s", line, err.msg);
    for (k = 0; k < 3; k++) {
        ids_of(&s, (enum sk_split_kind)k, got, sizeof got);
        if (strcmp(got, want[k]) != 0)
            fail_msg("%s seed %lld %s: %s = %s, want %s", file, seed, ratio,
                     sk_split_kind_name((enum sk_split_kind)k), got, want[k]);
        cnt[k] = sk_splits_count(&s, (enum sk_split_kind)k);
    }
    for (k = 0; k < 3; k++) {
        char rel[32], *p;
        snprintf(rel, sizeof rel, "%s/items.json",
                 sk_split_kind_name((enum sk_split_kind)k));
        p = path_in(out, rel);
        assert_string_equal(s.paths[k], p);
        sk_free(p);
    }
    /* The manifest is byte-identical to the reference's json.dump(indent=2)
     * output (source_data_path is absolute; src already is). */
    manifest_path = path_in(out, "split_manifest.json");
    manifest_text = tu_read(manifest_path, NULL);
    assert_non_null(manifest_text);
    want_manifest = sk_malloc(4096);
    snprintf(want_manifest, 4096,
             "{\n  \"source_data_path\": \"%s\",\n  \"split_mode\": "
             "\"ratio\",\n  \"split_ratio\": \"%s\",\n  \"split_seed\": "
             "%lld,\n  \"counts\": {\n    \"train\": %zu,\n    \"val\": "
             "%zu,\n    \"test\": %zu\n  }\n}",
             src, ratio, seed, cnt[0], cnt[1], cnt[2]);
    assert_true(src[0] == '/');
    assert_string_equal(manifest_text, want_manifest);
    sk_free(want_manifest);
    sk_free(manifest_text);
    sk_free(manifest_path);
    sk_splits_release(&s);
    tu_rmtree(dir);
    sk_free(src);
    sk_free(out);
    sk_free(dir);
}

static void test_split__ratio_matches_python_shuffle(void **state)
{
    char *text = fixture_text(), *line, *cur = text;
    int n = 0;
    (void)state;
    while ((line = next_line(&cur)) != NULL) {
        if (strncmp(line, "case ", 5) != 0)
            continue;
        check_case_line(line);
        n++;
    }
    assert_int_equal(n, 6);
    sk_free(text);
}

/* split_seed 0 falls back to seed; the output dir is derived from out_root,
 * env name, ratio and seed; non-ASCII text is written unescaped. */
static void test_split__ratio_derived_dir_and_seed_fallback(void **state)
{
    char *dir = tu_mkdtemp(), *src, *gen, *items, *text, got[1024];
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    (void)state;
    src = tu_source_path("tests/fixtures/split/raw12.jsonl");
    sk_split_opts_init(&o);
    o.data_path = src; /* mode NULL = ratio */
    o.split_ratio = "1:1:1";
    o.seed = 123;
    o.out_root = dir;
    o.env_name = "myenv";
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_OK);
    gen = path_in(dir, "_generated_splits/myenv_1-1-1_seed123");
    assert_string_equal(s.split_dir, gen);
    ids_of(&s, SK_SPLIT_TRAIN, got, sizeof got);
    assert_string_equal(got, "l07,l05,l09,l02");
    ids_of(&s, SK_SPLIT_VAL, got, sizeof got);
    assert_string_equal(got, "l03,l08,l11,l10");
    items = path_in(gen, "train/items.json");
    text = tu_read(items, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"q7 \xc3\xa9\xe4\xb8\xad\""));
    assert_non_null(strstr(text, "[\n  {\n    \"id\": \"l07\",\n"));
    sk_free(text);
    sk_free(items);
    sk_splits_release(&s);

    /* Without env_name or split_output_dir there is no place to write. */
    o.env_name = NULL;
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "env_name"));
    tu_rmtree(dir);
    sk_free(gen);
    sk_free(src);
    sk_free(dir);
}

/* Relative data_path and out_root resolve against the working directory
 * and are normalised like os.path.abspath; the ratio defaults to 2:1:7. */
static void test_split__relative_paths_are_made_absolute(void **state)
{
    char *dir = tu_mkdtemp(), *raw, *want_dir, *mpath, *m;
    char old[4096], cwd[4096], want[8192];
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    (void)state;
    raw = tu_write(dir, "sub/raw.json",
                   "[{\"id\": 1}, {\"id\": 2}, {\"id\": 3}, {\"id\": 4}, "
                   "{\"id\": 5}, {\"id\": 6}, {\"id\": 7}, {\"id\": 8}, "
                   "{\"id\": 9}, {\"id\": 10}]");
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    assert_non_null(getcwd(cwd, sizeof cwd));
    sk_split_opts_init(&o);
    o.mode = "ratio";
    o.data_path = "sub/./../sub//raw.json";
    o.split_seed = 5;
    o.env_name = "e";
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_OK);
    assert_int_equal(chdir(old), 0);
    snprintf(want, sizeof want, "%s/_generated_splits/e_2-1-7_seed5", cwd);
    want_dir = sk_strdup(want);
    assert_string_equal(s.split_dir, want_dir);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TRAIN), 2);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_VAL), 1);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TEST), 7);
    mpath = path_in(want_dir, "split_manifest.json");
    m = tu_read(mpath, NULL);
    assert_non_null(m);
    snprintf(want, sizeof want, "\"source_data_path\": \"%s/sub/raw.json\"",
             cwd);
    assert_non_null(strstr(m, want));
    assert_non_null(strstr(m, "\"split_ratio\": \"2:1:7\""));
    sk_free(m);
    sk_free(mpath);
    sk_free(want_dir);
    sk_splits_release(&s);
    tu_rmtree(dir);
    sk_free(raw);
    sk_free(dir);
}

/* ---- error cases -------------------------------------------------------- */

struct error_case {
    const char *what;
    struct file_spec files[6];
    const char *mode;
    const char *ratio; /* ratio mode: data_path is "raw" below the dir */
    int rc;
    const char *file;  /* path below the temp dir the message must name */
    const char *extra; /* another substring the message must contain */
};

#define T(x) "d/train/items.json", x
#define V(x) "d/val/items.json", x
#define E(x) "d/test/items.json", x

static const struct error_case error_cases[] = {
    {"leak train/val",
     {{T("[{\"id\": \"a\"}, {\"id\": \"b\"}]")},
      {V("[{\"id\": \"c\"}, {\"id\": \"b\"}]")},
      {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/val/items.json",
     "item 1 has id \"b\""},
    {"leak train/test numeric id",
     {{T("[{\"id\": 5}]")}, {V("[{\"id\": \"v\"}]")}, {E("[{\"id\": \"5\"}]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/test/items.json",
     "train split"},
    {"duplicate in split",
     {{T("[{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"a\"}]")},
      {V("[{\"id\": \"v\"}]")},
      {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/train/items.json",
     "items 0 and 2"},
    {"empty val",
     {{T("[{\"id\": \"a\"}]")}, {V("[]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/val/items.json",
     "empty"},
    {"empty train",
     {{T("[]")}, {V("[{\"id\": \"v\"}]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/train/items.json",
     "empty"},
    {"not an array",
     {{T("{\"id\": \"a\"}")}, {V("[{\"id\": \"v\"}]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/train/items.json",
     "got a JSON object"},
    {"item not object",
     {{T("[{\"id\": \"a\"}, \"b\"]")}, {V("[{\"id\": \"v\"}]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/train/items.json",
     "item 1 is a JSON"},
    {"missing id",
     {{T("[{\"id\": \"a\"}]")}, {V("[{\"x\": 1}]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/val/items.json",
     "item 0 has no"},
    {"boolean id",
     {{T("[{\"id\": true}]")}, {V("[{\"id\": \"v\"}]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/train/items.json",
     "item 0 has no"},
    {"empty string id",
     {{T("[{\"id\": \"a\"}]")}, {V("[{\"id\": \"\"}]")}, {E("[]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/val/items.json",
     "item 0 has no"},
    {"missing test dir",
     {{T("[{\"id\": \"a\"}]")}, {V("[{\"id\": \"v\"}]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/test",
     "missing 'test/'"},
    {"no json in dir",
     {{T("[{\"id\": \"a\"}]")},
      {V("[{\"id\": \"v\"}]")},
      {"d/test/items.txt", "[]"},
      {"d/test/.x.json", "[]"}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/test",
     "no .json file"},
    {"bad json line:col",
     {{T("[{\"id\": \"a\"}]")}, {V("[\n {\"id\": \"v\"},\n {oops}\n]")}},
     "split_dir",
     NULL,
     SK_EDATA,
     "d/val/items.json:3:",
     "invalid JSON"},
    {"bad mode",
     {{NULL, NULL}},
     "shuffle",
     NULL,
     SK_ECONFIG,
     NULL,
     "'shuffle'"},
    {"ratio malformed",
     {{"raw", items3}},
     "ratio",
     "2:1",
     SK_EDATA,
     NULL,
     "\"2:1\""},
    {"ratio non-positive",
     {{"raw", items3}},
     "ratio",
     "2:0:7",
     SK_EDATA,
     NULL,
     "positive"},
    {"ratio empty val",
     {{"raw", items3}},
     "ratio",
     "2:1:7",
     SK_EDATA,
     "out/val/items.json",
     "empty"},
    {"raw jsonl bad line",
     {{"raw", "{\"id\": \"a\"}\n\n{\"id\": \"b\"}\n{\"id\": \n"}},
     "ratio",
     "1:1:1",
     SK_EDATA,
     "raw:4:",
     "invalid JSON"},
    {"raw duplicate ids",
     {{"raw", "[{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"a\"}]"}},
     "ratio",
     "1:1:1",
     SK_EDATA,
     "raw",
     "duplicate id \"a\""},
    {"raw item not object",
     {{"raw", "{\"data\": [{\"id\": \"a\"}, 3]}"}},
     "ratio",
     "1:1:1",
     SK_EDATA,
     "raw",
     "item 1 is a JSON number"},
    {"raw empty",
     {{"raw", " \n "}},
     "ratio",
     "1:1:1",
     SK_EDATA,
     "raw",
     "no raw items"},
    {"raw dir is a split dir",
     {{"raw/train/items.json", "[]"}},
     "ratio",
     "1:1:1",
     SK_ECONFIG,
     "raw",
     "split_dir"},
    {"raw dir with two files",
     {{"raw/a.json", items3}, {"raw/b.jsonl", items3}},
     "ratio",
     "1:1:1",
     SK_EDATA,
     "raw",
     "found 2"},
    {"raw missing",
     {{NULL, NULL}},
     "ratio",
     "1:1:1",
     SK_ENOTFOUND,
     "raw",
     NULL},
};

static void test_split__errors_name_the_file(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(error_cases); i++) {
        const struct error_case *c = &error_cases[i];
        char *dir = make_tree(c->files), *sd = path_in(dir, "d");
        char *raw = path_in(dir, "raw"), *out = path_in(dir, "out");
        struct sk_split_opts o;
        struct sk_splits s;
        struct sk_error err;
        int rc;
        sk_split_opts_init(&o);
        o.mode = c->mode;
        o.split_dir = sd;
        o.data_path = raw;
        o.split_ratio = c->ratio;
        o.split_seed = 42;
        o.split_output_dir = out;
        memset(&err, 0, sizeof err);
        rc = sk_splits_load(&o, &s, &err);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc, err.msg);
        if (c->file) {
            char *want = path_in(dir, c->file);
            if (!strstr(err.msg, want))
                fail_msg("%s: message \"%s\" does not name %s", c->what,
                         err.msg, want);
            sk_free(want);
        }
        if (c->extra && !strstr(err.msg, c->extra))
            fail_msg("%s: message \"%s\" lacks \"%s\"", c->what, err.msg,
                     c->extra);
        /* On failure nothing is left owned by s. */
        assert_null(s.items[0]);
        assert_null(s.split_dir);
        tu_rmtree(dir);
        sk_free(sd);
        sk_free(raw);
        sk_free(out);
        sk_free(dir);
    }
}

static void test_split__bad_options(void **state)
{
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    (void)state;
    sk_split_opts_init(&o);
    o.mode = "split_dir";
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "split_dir"));
    o.mode = "ratio";
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "data_path"));
    o.mode = "split_dir";
    o.split_dir = "/nonexistent";
    o.limit = -1;
    assert_int_equal(sk_splits_load(&o, &s, &err), SK_ECONFIG);
    assert_non_null(strstr(err.msg, "limit"));
}

/* ---- CSV split folders -------------------------------------------------- */

/* sk_split_parse_csv agrees with csv.DictReader on every vector
 * (tests/fixtures/split/csv_gen.py). */
static void test_split__csv_matches_python(void **state)
{
    char *path = tu_source_path("tests/fixtures/split/csv_vectors.json");
    json_t *cases = json_load_file(path, 0, NULL), *c;
    size_t i;
    (void)state;
    assert_non_null(cases);
    assert_true(json_array_size(cases) >= 20);
    json_array_foreach(cases, i, c)
    {
        const char *text = json_string_value(json_object_get(c, "text"));
        json_t *got = NULL;
        struct sk_error err;
        memset(&err, 0, sizeof err);
        if (sk_split_parse_csv("v.csv", text, strlen(text), &got, &err) !=
            SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        if (!json_equal(got, json_object_get(c, "items"))) {
            char *g = json_dumps(got, JSON_ENCODE_ANY);
            fail_msg("case %zu: got %s", i, g);
        }
        json_decref(got);
    }
    json_decref(cases);
    sk_free(path);
}

static void test_split__csv_bom_and_errors(void **state)
{
    static const struct {
        const char *text;
        size_t len;
        const char *where; /* substring of the message */
    } bad[] = {
        {"id,q\nq1,\"open\nq2,x\n", 19, "v.csv:2: a quoted field"},
        {"id,q\nq1,x\nq2,\"a\"\"\n", 19, "v.csv:3:"},
        {"id,q\nq1,caf\xe9\n", 13, "v.csv:2: a field is not valid UTF-8"},
        {"id,q\nq1,a\0b\n", 12, "v.csv:2:"},
    };
    json_t *got = NULL;
    struct sk_error err;
    size_t i;
    (void)state;
    /* a byte order mark is not part of the first key */
    assert_int_equal(
        sk_split_parse_csv("v.csv", "\xef\xbb\xbfid,q\nq1,x\n", 13, &got, &err),
        SK_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(got, 0), "id")), "q1");
    json_decref(got);
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        memset(&err, 0, sizeof err);
        got = NULL;
        assert_int_equal(
            sk_split_parse_csv("v.csv", bad[i].text, bad[i].len, &got, &err),
            SK_EDATA);
        assert_null(got);
        if (!strstr(err.msg, bad[i].where))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].where);
    }
}

/* A folder without *.json is read from its first *.csv; *.json wins. */
static void test_split__csv_split_dir(void **state)
{
    static const struct file_spec files[] = {
        {"d/train/b.csv", "id,q\nlater,x\n"},
        {"d/train/a.csv", "questionId,q\r\n1,\"x, y\"\r\n2,z\r\n"},
        {"d/val/items.json", "[{\"id\": \"v1\"}]"},
        {"d/val/items.csv", "id\nnot-read\n"},
        {"d/test/t.csv", "id,q\nt1,\"multi\nline\"\n"},
        {NULL, NULL},
    };
    char *dir = make_tree(files), *sd = path_in(dir, "d"), *want;
    char *fx = tu_source_path("tests/fixtures/docvqa/csv");
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    (void)state;
    sk_split_opts_init(&o);
    o.mode = "split_dir";
    o.split_dir = sd;
    if (sk_splits_load(&o, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TRAIN), 2);
    assert_string_equal(sk_split_item_id(&s, SK_SPLIT_TRAIN, 0), "1");
    assert_string_equal(sk_split_item_id(&s, SK_SPLIT_TRAIN, 1), "2");
    assert_string_equal(json_string_value(json_object_get(
                            sk_splits_item(&s, SK_SPLIT_TRAIN, 0), "q")),
                        "x, y");
    want = path_in(sd, "train/a.csv");
    assert_string_equal(s.paths[SK_SPLIT_TRAIN], want);
    sk_free(want);
    assert_string_equal(sk_split_item_id(&s, SK_SPLIT_VAL, 0), "v1");
    assert_string_equal(json_string_value(json_object_get(
                            sk_splits_item(&s, SK_SPLIT_TEST, 0), "q")),
                        "multi\nline");
    sk_splits_release(&s);

    /* the DocVQA fixture in its CSV form: ids from questionId */
    o.split_dir = fx;
    if (sk_splits_load(&o, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TRAIN), 4);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_VAL), 3);
    assert_int_equal(sk_splits_count(&s, SK_SPLIT_TEST), 3);
    assert_string_equal(sk_split_item_id(&s, SK_SPLIT_TEST, 2), "dv-303");
    assert_string_equal(json_string_value(json_object_get(
                            sk_splits_item(&s, SK_SPLIT_TRAIN, 1), "answer")),
                        "['$1,234.50', '1,234.50']");
    sk_splits_release(&s);
    tu_rmtree(dir);
    sk_free(fx);
    sk_free(sd);
    sk_free(dir);
}

/* CSV data errors name the file; a CSV row without an id is refused. */
static void test_split__csv_errors_name_the_file(void **state)
{
    static const struct file_spec unterminated[] = {
        {"d/train/items.csv", "id,q\na,\"never closed\n"},
        {"d/val/items.json", "[{\"id\": \"v\"}]"},
        {"d/test/items.json", "[]"},
        {NULL, NULL},
    };
    static const struct file_spec no_id[] = {
        {"d/train/items.csv", "id,q\na,x\n,y\n"},
        {"d/val/items.json", "[{\"id\": \"v\"}]"},
        {"d/test/items.json", "[]"},
        {NULL, NULL},
    };
    static const struct file_spec none[] = {
        {"d/train/items.csv", "id\na\n"},
        {"d/val/items.json", "[{\"id\": \"v\"}]"},
        {"d/test/notes.txt", "x"},
        {NULL, NULL},
    };
    const struct file_spec *trees[] = {unterminated, no_id, none};
    const char *want[] = {"d/train/items.csv:2: a quoted field",
                          "d/train/items.csv: item 1 has no",
                          "no .json file (and no .csv file)"};
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(trees); i++) {
        char *dir = make_tree(trees[i]), *sd = path_in(dir, "d");
        struct sk_split_opts o;
        struct sk_splits s;
        struct sk_error err;
        sk_split_opts_init(&o);
        o.mode = "split_dir";
        o.split_dir = sd;
        memset(&err, 0, sizeof err);
        assert_int_equal(sk_splits_load(&o, &s, &err), SK_EDATA);
        if (!strstr(err.msg, want[i]))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, want[i]);
        tu_rmtree(dir);
        sk_free(sd);
        sk_free(dir);
    }
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep_ctx {
    struct sk_split_opts o;
};

static int sweep_load(void *p)
{
    struct sweep_ctx *c = p;
    struct sk_splits s;
    int rc = sk_splits_load(&c->o, &s, NULL);
    if (rc == SK_OK) {
        if (sk_splits_count(&s, SK_SPLIT_TRAIN) == 0)
            rc = SK_EDATA;
        sk_splits_release(&s);
    }
    return rc;
}

static void test_split__alloc_failure_sweep(void **state)
{
    static const struct file_spec files[] = {
        {"d/train/items.json",
         "[{\"id\": \"a\", \"x\": [1, 2]}, {\"id\": 2}, {\"id\": 2.5}]"},
        {"d/val/items.json", "[{\"id\": \"v\"}]"},
        {"d/test/items.json", "[{\"id\": \"t\"}]"},
        {"raw/data.jsonl", "{\"id\": \"a\"}\n{\"id\": \"b\"}\n{\"id\": \"c\"}\n"
                           "{\"id\": \"d\"}\n{\"id\": \"e\"}\n"},
        {"c/train/x.csv", "questionId,q\r\n1,\"a,\nb\"\r\n2,c\r\n"},
        {"c/val/x.csv", "id,q\nv,w\n"},
        {"c/test/x.csv", "id\n"},
        {NULL, NULL},
    };
    char *dir = make_tree(files), *sd = path_in(dir, "d");
    char *csv_dir = path_in(dir, "c");
    char *raw = path_in(dir, "raw"), *out = path_in(dir, "out");
    struct sweep_ctx c;
    (void)state;
    sk_split_opts_init(&c.o);
    c.o.mode = "split_dir";
    c.o.split_dir = sd;
    c.o.limit = 2;
    assert_true(tu_alloc_sweep(sweep_load, &c) > 10);
    c.o.split_dir = csv_dir;
    c.o.limit = 0;
    assert_true(tu_alloc_sweep(sweep_load, &c) > 10);
    sk_split_opts_init(&c.o);
    c.o.mode = "ratio";
    c.o.data_path = raw;
    c.o.split_ratio = "1:1:1";
    c.o.seed = 3;
    c.o.out_root = dir;
    c.o.env_name = "sweep";
    assert_true(tu_alloc_sweep(sweep_load, &c) > 10);
    tu_rmtree(dir);
    sk_free(csv_dir);
    sk_free(sd);
    sk_free(raw);
    sk_free(out);
    sk_free(dir);
}

/* ---- shipped data ------------------------------------------------------- */

static void test_split__real_searchqa(void **state)
{
    const char *shared = getenv("SKILLOPT_SHARED_DIR");
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    char *sd;
    (void)state;
    if (!shared || !*shared)
        skip();
    sd = sk_fs_join(shared, "data/searchqa");
    if (!sk_fs_is_dir(sd)) {
        sk_free(sd);
        skip();
    }
    sk_split_opts_init(&o);
    o.mode = "split_dir";
    o.split_dir = sd;
    if (sk_splits_load(&o, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_true(sk_splits_count(&s, SK_SPLIT_TRAIN) > 0);
    assert_true(sk_splits_count(&s, SK_SPLIT_VAL) > 0);
    assert_true(sk_splits_count(&s, SK_SPLIT_TEST) > 0);
    assert_non_null(strstr(s.paths[SK_SPLIT_VAL], "val/items.json"));
    assert_true(strlen(sk_split_item_id(&s, SK_SPLIT_TRAIN, 0)) > 0);
    sk_splits_release(&s);
    sk_free(sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split__counts_reference_vectors),
        cmocka_unit_test(test_split__counts_match_python_table),
        cmocka_unit_test(test_split__name_aliases),
        cmocka_unit_test(test_split__ratio_parse),
        cmocka_unit_test(test_split__split_dir_loads_first_json),
        cmocka_unit_test(test_split__ratio_matches_python_shuffle),
        cmocka_unit_test(test_split__ratio_derived_dir_and_seed_fallback),
        cmocka_unit_test(test_split__relative_paths_are_made_absolute),
        cmocka_unit_test(test_split__errors_name_the_file),
        cmocka_unit_test(test_split__bad_options),
        cmocka_unit_test(test_split__csv_matches_python),
        cmocka_unit_test(test_split__csv_bom_and_errors),
        cmocka_unit_test(test_split__csv_split_dir),
        cmocka_unit_test(test_split__csv_errors_name_the_file),
        cmocka_unit_test(test_split__alloc_failure_sweep),
        cmocka_unit_test(test_split__real_searchqa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
