/*
 * test_officeqa.c - OfficeQA: the scorer and loader against vectors made
 * by the reference's own code (tests/fixtures/officeqa/gen.py), the
 * numeric rule, prompt snapshots, the document tools' refusals, the tool
 * loop through the real client and the simulator (escape attempts, the
 * turn budget, provider failures, the real shared items), and the corpus
 * builder on the shared PDFs.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/benches.h"
#include "bench/doctools.h"
#include "bench/officeqa.h"
#include "bench/score.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "testutil.h"
#include "train/bench.h"
#include "train/rollout.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define SECRET "TOP-SECRET-CONTENT-7c1f"

/* ---- helpers ----------------------------------------------------------- */

static json_t *load_vectors(void)
{
    char *path = tu_source_path("tests/fixtures/officeqa/vectors.json");
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    if (!v)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return v;
}

static void assert_double_is(double got, const char *want_repr)
{
    char *end;
    double want;
    errno = 0;
    want = strtod(want_repr, &end);
    assert_int_equal(errno, 0);
    assert_true(*end == '\0');
    if (memcmp(&got, &want, sizeof got) != 0)
        fail_msg("got %.17g, reference %s", got, want_repr);
}

static char *shared_path(const char *rel)
{
    const char *sh = getenv("SKILLOPT_SHARED_DIR");
    return sk_fs_join(sh && *sh ? sh : "../shared", rel);
}

static void assert_strs(char **got, size_t n, const json_t *want)
{
    size_t i;
    if (n != json_array_size(want))
        fail_msg("%zu items, reference %zu", n, json_array_size(want));
    for (i = 0; i < n; i++)
        assert_string_equal(got[i], json_string_value(json_array_get(want, i)));
}

/* ---- scorer and loader ------------------------------------------------- */

static void test_officeqa__evaluate_matches_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *cases = json_object_get(v, "cases"), *c;
    size_t i;
    (void)state;
    assert_true(json_array_size(cases) >= 200);
    json_array_foreach(cases, i, c)
    {
        const json_t *resp = json_object_get(c, "response");
        const json_t *gold = json_object_get(c, "gold");
        const json_t *why = json_object_get(c, "fail_reason");
        const char *ex = json_string_value(json_object_get(c, "extracted"));
        struct sk_officeqa_result r;
        struct sk_buf n, e;
        int present;

        assert_int_equal(sk_officeqa_evaluate(json_string_value(resp),
                                              json_string_length(resp),
                                              json_string_value(gold),
                                              json_string_length(gold), &r),
                         SK_OK);
        if (strcmp(r.predicted, ex) != 0)
            fail_msg("case %zu: extracted '%s', reference '%s'", i, r.predicted,
                     ex);
        sk_buf_init(&e, SK_BUF_UNLIMITED);
        assert_int_equal(sk_officeqa_extract(json_string_value(resp),
                                             json_string_length(resp), &present,
                                             &e),
                         SK_OK);
        assert_int_equal(present, json_is_true(json_object_get(c, "present")));
        sk_buf_init(&n, SK_BUF_UNLIMITED);
        assert_int_equal(sk_officeqa_normalize(ex, strlen(ex), &n), SK_OK);
        if (strcmp(sk_buf_cstr(&n),
                   json_string_value(json_object_get(c, "norm_pred"))) != 0)
            fail_msg("case %zu: normalized '%s'", i, sk_buf_cstr(&n));
        sk_buf_reset(&n);
        assert_int_equal(sk_officeqa_normalize(json_string_value(gold),
                                               json_string_length(gold), &n),
                         SK_OK);
        assert_string_equal(sk_buf_cstr(&n),
                            json_string_value(json_object_get(c, "norm_gold")));
        assert_double_is(r.em, json_string_value(json_object_get(c, "em")));
        assert_double_is(r.f1, json_string_value(json_object_get(c, "f1")));
        assert_int_equal(r.hard,
                         json_integer_value(json_object_get(c, "hard")));
        assert_true(r.soft == r.f1);
        assert_int_equal(r.answered, *ex != '\0');
        if (json_is_null(why) || strcmp(json_string_value(why), "") == 0)
            assert_null(r.fail_reason);
        else if (!r.fail_reason ||
                 strcmp(r.fail_reason, json_string_value(why)) != 0)
            fail_msg("case %zu: fail_reason %s", i,
                     r.fail_reason ? r.fail_reason : "(null)");
        sk_buf_release(&n);
        sk_buf_release(&e);
        sk_officeqa_result_release(&r);
    }
    json_decref(v);
}

static void test_officeqa__list_fields_match_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *lists = json_object_get(v, "lists"), *c;
    size_t i;
    (void)state;
    assert_true(json_array_size(lists) >= 25);
    json_array_foreach(lists, i, c)
    {
        char **out;
        size_t n;
        struct sk_error err;
        if (sk_officeqa_parse_list(json_object_get(c, "value"), &out, &n,
                                   &err) != SK_OK)
            fail_msg("list %zu: %s", i, err.msg);
        assert_strs(out, n, json_object_get(c, "out"));
        sk_officeqa_strs_free(out, n);
    }
    json_decref(v);
}

static void test_officeqa__rows_match_reference(void **state)
{
    json_t *v = load_vectors();
    const json_t *rows = json_object_get(v, "rows"), *c;
    size_t i;
    (void)state;
    json_array_foreach(rows, i, c)
    {
        const json_t *want = json_object_get(c, "out");
        struct sk_officeqa_item it;
        struct sk_error err;
        sk_officeqa_item_init(&it);
        if (sk_officeqa_item_from_json(json_object_get(c, "row"), &it, &err) !=
            SK_OK)
            fail_msg("row %zu: %s", i, err.msg);
        assert_string_equal(it.id,
                            json_string_value(json_object_get(want, "id")));
        assert_string_equal(
            it.question, json_string_value(json_object_get(want, "question")));
        assert_string_equal(it.ground_truth, json_string_value(json_object_get(
                                                 want, "ground_truth")));
        assert_string_equal(it.task_type, json_string_value(json_object_get(
                                              want, "task_type")));
        assert_strs(it.source_files, it.n_source_files,
                    json_object_get(want, "source_files"));
        assert_strs(it.source_docs, it.n_source_docs,
                    json_object_get(want, "source_docs"));
        sk_officeqa_item_release(&it);
    }
    json_decref(v);
}

static void test_officeqa__item_rejects_bad_fields(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"id\": \"x\", \"question\": {\"a\": 1}}",
        "{\"id\": [1], \"question\": \"q\"}",
        "{\"id\": \"x\", \"source_files\": [{\"a\": 1}]}",
        "{\"id\": \"x\", \"source_docs\": {\"a\": 1}}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        struct sk_officeqa_item it;
        struct sk_error err;
        sk_officeqa_item_init(&it);
        assert_non_null(o);
        assert_int_equal(sk_officeqa_item_from_json(o, &it, &err), SK_EDATA);
        assert_null(it.id);
        json_decref(o);
    }
}

/* The stricter rule, logged as em_numeric (ours, not the reference's). */
static void test_officeqa__numeric_rule(void **state)
{
    static const struct {
        const char *resp, *gold;
        double em, num;
    } t[] = {
        {"<answer>5.0</answer>", "5", 0, 1},
        {"<answer>(3.2)</answer>", "-3.2", 0, 1},
        {"<answer>(3.2)</answer>", "3.2", 1, 0},
        {"<answer>12.5%</answer>", "12.5", 0, 1},
        {"<answer>$1,234.50 million</answer>", "1234.5", 0, 1},
        {"<answer>\xE2\x88\x92"
         "4.5</answer>",
         "-4.5", 0, 1},
        {"<answer>997.3 billion</answer>", "997.3", 1, 1},
        {"<answer>997.4</answer>", "997.3", 0, 0},
        {"<answer>4962.46</answer>", "4,962.46", 1, 1},
        {"<answer>March 1942</answer>", "march 1942", 1, 1},
        {"<answer>1.2.3</answer>", "1.2.3", 1, 1},
        {"<answer>-</answer>", "-", 1, 1},
        {"<answer>3069</answer>", "3,069.0", 0, 1},
        {"no answer 5", "5", 0, 0},
        {"<answer>  </answer>", "", 0, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct sk_officeqa_result r;
        assert_int_equal(sk_officeqa_evaluate(t[i].resp, strlen(t[i].resp),
                                              t[i].gold, strlen(t[i].gold), &r),
                         SK_OK);
        if (r.em != t[i].em || r.em_numeric != t[i].num)
            fail_msg("case %zu: em %g numeric %g", i, r.em, r.em_numeric);
        sk_officeqa_result_release(&r);
    }
}

static int sweep_evaluate(void *ctx)
{
    struct sk_officeqa_result r;
    int rc;
    (void)ctx;
    rc = sk_officeqa_evaluate("x <answer>$1,234.5 million</answer>", 35,
                              "1,234.6", 7, &r);
    if (rc == SK_OK)
        sk_officeqa_result_release(&r);
    return rc;
}

static void test_officeqa__evaluate_survives_alloc_failures(void **state)
{
    (void)state;
    assert_true(tu_alloc_sweep(sweep_evaluate, NULL) > 1);
}

/* ---- a corpus for the tools ------------------------------------------- */

struct corpus {
    char *dir;    /* scratch: root/ and outside/ */
    char *root;   /* the document root */
    char *secret; /* outside/secret.txt (absolute) */
};

static void corpus_make(struct corpus *c)
{
    struct sk_buf b;
    char *p, *out;
    int i, fd;

    c->dir = tu_mkdtemp();
    c->root = sk_fs_join(c->dir, "root");
    out = sk_fs_join(c->dir, "outside");
    assert_int_equal(mkdir(c->root, 0755), 0);
    assert_int_equal(mkdir(out, 0755), 0);
    c->secret = tu_write(out, "secret.txt", SECRET "\n");
    sk_free(tu_write(out, "link.txt", SECRET " via link\n"));
    /* doc.txt: 10000 numbered lines of 60 bytes */
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 1; i <= 10000; i++)
        assert_int_equal(
            sk_buf_printf(&b, "Line %05d: receipts %-40d\n", i, i * 7), SK_OK);
    sk_free(tu_write(c->root, "doc.txt", sk_buf_cstr(&b)));
    sk_buf_release(&b);
    sk_free(tu_write(c->root, "other.txt", "other " SECRET "\n"));
    sk_free(tu_write(c->root, "sub_dummy.txt", "x\n"));
    /* link.txt (a source name) points outside; outdir/ too */
    p = sk_fs_join(c->root, "link.txt");
    {
        char *t = sk_fs_join(out, "link.txt");
        assert_int_equal(symlink(t, p), 0);
        sk_free(t);
    }
    sk_free(p);
    p = sk_fs_join(c->root, "outdir");
    assert_int_equal(symlink(out, p), 0);
    sk_free(p);
    /* huge.txt: a sparse file past the size cap */
    p = sk_fs_join(c->root, "huge.txt");
    fd = open(p, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)SK_DOCTOOLS_MAX_FILE + 1), 0);
    close(fd);
    sk_free(p);
    /* a pdftotext-style name for a ".txt" source, in a subdirectory */
    p = sk_fs_join(c->root, "sub");
    assert_int_equal(mkdir(p, 0755), 0);
    sk_free(tu_write(p, "bulletin.pdftotext.txt",
                     "Bulletin\nNational defense 2,602\nend\n"));
    sk_free(p);
    sk_free(out);
}

static void corpus_free(struct corpus *c)
{
    tu_rmtree(c->dir);
    sk_free(c->dir);
    sk_free(c->root);
    sk_free(c->secret);
}

static const char *const corpus_sources[] = {"doc.txt", "link.txt", "huge.txt",
                                             "bulletin.txt", "missing.txt"};

/* One request straight through the tools: the result, *failed. */
static char *tool(const struct sk_doctools *dt, const char *req, int *failed)
{
    struct sk_buf name, out;
    sk_buf_init(&name, SK_BUF_UNLIMITED);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    assert_int_equal(sk_doctools_run(dt, req, strlen(req), &name, &out, failed),
                     SK_OK);
    sk_buf_release(&name);
    if (out.len == 0)
        return sk_strdup("");
    return sk_buf_detach(&out, NULL);
}

static void test_officeqa__tools_files_and_refusals(void **state)
{
    struct corpus c;
    struct sk_doctools *dt;
    struct sk_error err;
    const char *roots[2];
    char req[512];
    size_t i;
    static const struct {
        const char *req; /* '@': the secret's absolute path */
        int failed;
        const char *want; /* substring of the result */
    } t[] = {
        {"{\"name\": \"read\", \"path\": \"../outside/secret.txt\"}", 1,
         "\"..\" is not allowed"},
        {"{\"name\": \"read\", \"path\": \"@\"}", 1,
         "absolute paths are not allowed"},
        {"{\"name\": \"read\", \"path\": \"link.txt\"}", 1,
         "resolves outside the document roots"},
        {"{\"name\": \"read\", \"path\": \"outdir/secret.txt\"}", 1,
         "resolves outside the document roots"},
        {"{\"name\": \"read\", \"path\": \"doc.txt\\u0000/../x\"}", 1,
         "NUL byte"},
        {"{\"name\": \"read\", \"path\": \"sub/../doc.txt\"}", 1,
         "\"..\" is not allowed"},
        {"{\"name\": \"grep\", \"pattern\": \"secret\", \"path\": "
         "\"other.txt\"}",
         1, "not one of this question's documents"},
        {"{\"name\": \"read\", \"path\": \"huge.txt\"}", 1, "too large"},
        {"{\"name\": \"read\", \"path\": \"missing.txt\"}", 1,
         "not in the local corpus"},
        {"{\"name\": \"read\", \"path\": \"nosuch.txt\"}", 1,
         "no such document"},
        {"{\"name\": \"read\", \"path\": \"sub\"}", 1, "a directory"},
        {"{\"name\": \"read\"}", 1, "needs a \"path\""},
        {"{\"name\": \"read\", \"path\": \"doc.txt\", \"start\": \"x\"}", 1,
         "whole numbers"},
        {"{\"name\": \"grep\", \"pattern\": \"\"}", 1, "non-empty"},
        {"{\"name\": \"rm\", \"path\": \"doc.txt\"}", 1, "unknown tool"},
        {"not json", 1, "one JSON object"},
        {"{\"path\": \"doc.txt\"}", 1, "one JSON object"},
        {"{\"name\": \"grep\", \"pattern\": \"SECRET\"}", 0, "[no matches]"},
        {"{\"name\": \"list\"}", 0,
         "doc.txt\nhuge.txt\nsub/bulletin.pdftotext.txt"},
        {"{\"name\": \"glob\", \"pattern\": \"*bulletin*\"}", 0,
         "sub/bulletin.pdftotext.txt"},
        {"{\"name\": \"glob\", \"pattern\": \"nomatch*\"}", 0,
         "[no matches; list shows all 3 documents]"},
        {"{\"name\": \"read\", \"path\": \"sub/bulletin.pdftotext.txt\", "
         "\"start\": 2, \"limit\": 1}",
         0,
         "National defense 2,602\n[sub/bulletin.pdftotext.txt lines 2-2 "
         "of 3]"},
        {"{\"name\": \"read\", \"path\": \"bulletin.txt\", \"start\": 0, "
         "\"limit\": -5}",
         0, "Bulletin\n[sub/bulletin.pdftotext.txt lines 1-1 of 3]"},
        {"{\"name\": \"read\", \"arguments\": {\"path\": "
         "\"bulletin.pdftotext.txt\", \"start\": \"3\"}}",
         0, "end\n[sub/bulletin.pdftotext.txt lines 3-3 of 3]"},
        {"{\"name\": \"read\", \"path\": \"doc.txt\", \"start\": 20000}", 0,
         "[line 20000 is past the end: doc.txt has 10000 lines]"},
        {"{\"name\": \"grep\", \"pattern\": \"NATIONAL DEFENSE\", \"path\": "
         "\"./sub/bulletin.pdftotext.txt\"}",
         0, "2: National defense 2,602"},
        {"{\"name\": \"grep\", \"pattern\": \"defense\"}", 0,
         "sub/bulletin.pdftotext.txt:2: National defense 2,602"},
        {"```json\n{\"name\": \"grep\", \"pattern\": \"receipts 7 \", "
         "\"path\": \"doc.txt\"}\n```",
         0, "1: Line 00001: receipts 7"},
    };
    (void)state;
    corpus_make(&c);
    roots[0] = c.root;
    roots[1] = "/nonexistent/officeqa/root";
    assert_int_equal(sk_doctools_open(roots, 2, corpus_sources, 5, &dt, &err),
                     SK_OK);
    assert_int_equal(sk_doctools_n_roots(dt), 1);
    assert_int_equal(sk_doctools_n_files(dt), 3);
    assert_string_equal(sk_doctools_file(dt, 0), "doc.txt");
    assert_string_equal(sk_doctools_file(dt, 2), "sub/bulletin.pdftotext.txt");
    /* link.txt escapes, so it is missing like missing.txt */
    assert_int_equal(sk_doctools_n_missing(dt), 2);
    assert_string_equal(sk_doctools_missing(dt, 0), "link.txt");
    assert_string_equal(sk_doctools_missing(dt, 1), "missing.txt");
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        int failed = -1;
        char *res;
        const char *at = strchr(t[i].req, '@');
        if (at)
            snprintf(req, sizeof req, "%.*s%s%s", (int)(at - t[i].req),
                     t[i].req, c.secret, at + 1);
        else
            snprintf(req, sizeof req, "%s", t[i].req);
        res = tool(dt, req, &failed);
        if (failed != t[i].failed || !strstr(res, t[i].want))
            fail_msg("request %zu (%s): failed %d, result:\n%s", i, req, failed,
                     res);
        if (failed && strncmp(res, "error: ", 7) != 0)
            fail_msg("request %zu: an error without the prefix: %s", i, res);
        if (strstr(res, SECRET))
            fail_msg("request %zu leaked the secret: %s", i, res);
        sk_free(res);
    }
    sk_doctools_free(dt);
    corpus_free(&c);
}

/* A huge window comes back cut to 4000 code points, on a line boundary
 * note; grep stops at 20 matches; invalid bytes become U+FFFD. */
static void test_officeqa__tools_bound_their_output(void **state)
{
    struct corpus c;
    struct sk_doctools *dt;
    struct sk_error err;
    const char *roots[1];
    const char *srcs[] = {"doc.txt", "bad.txt"};
    char *res, *foot;
    int failed;
    (void)state;
    corpus_make(&c);
    sk_free(tu_write(c.root, "bad.txt", "ok \xFF\xFE caf\xC3\xA9 \xE2\x82\n"));
    roots[0] = c.root;
    assert_int_equal(sk_doctools_open(roots, 1, srcs, 2, &dt, &err), SK_OK);
    res = tool(dt,
               "{\"name\": \"read\", \"path\": \"doc.txt\", \"start\": 1, "
               "\"limit\": 1000000000}",
               &failed);
    assert_int_equal(failed, 0);
    foot = strstr(res, "[doc.txt lines 1-65 of 10000; cut at 4000 characters]");
    assert_non_null(foot);
    /* 64 whole 62-byte lines, 32 bytes of the 65th, the added newline */
    assert_int_equal((size_t)(foot - res), 4000 + 1);
    assert_int_equal(sk_score_cp_count(res, (size_t)(foot - res)), 4001);
    sk_free(res);
    res = tool(dt,
               "{\"name\": \"grep\", \"pattern\": \"line\", \"path\": "
               "\"doc.txt\"}",
               &failed);
    assert_int_equal(failed, 0);
    assert_non_null(strstr(res, "\n20: Line 00020"));
    assert_null(strstr(res, "21: Line"));
    assert_non_null(strstr(res, "[stopped at 20 matches]"));
    sk_free(res);
    res = tool(dt, "{\"name\": \"read\", \"path\": \"bad.txt\"}", &failed);
    assert_string_equal(res, "ok \xEF\xBF\xBD\xEF\xBF\xBD caf\xC3\xA9 "
                             "\xEF\xBF\xBD\xEF\xBF\xBD\n"
                             "[bad.txt lines 1-1 of 1]");
    sk_free(res);
    {
        /* an over-long request is refused before parsing */
        struct sk_buf big;
        sk_buf_init(&big, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_buf_puts(&big, "{\"name\": \"grep\", \"pattern\": \""), SK_OK);
        while (big.len < SK_DOCTOOLS_MAX_REQUEST + 10)
            assert_int_equal(sk_buf_putc(&big, 'a'), SK_OK);
        assert_int_equal(sk_buf_puts(&big, "\"}"), SK_OK);
        res = tool(dt, sk_buf_cstr(&big), &failed);
        assert_int_equal(failed, 1);
        assert_non_null(strstr(res, "too long"));
        sk_free(res);
        sk_buf_release(&big);
    }
    sk_doctools_free(dt);
    corpus_free(&c);
}

static void test_officeqa__tools_without_documents(void **state)
{
    struct sk_doctools *dt;
    struct sk_error err;
    const char *src[] = {"a.txt"};
    char *res;
    int failed;
    (void)state;
    /* no root at all */
    assert_int_equal(sk_doctools_open(NULL, 0, src, 1, &dt, &err), SK_OK);
    res = tool(dt, "{\"name\": \"list\"}", &failed);
    assert_int_equal(failed, 1);
    assert_non_null(strstr(res, "no document corpus"));
    sk_free(res);
    sk_doctools_free(dt);
    /* a root without the sources */
    {
        char *dir = tu_mkdtemp();
        const char *roots[1];
        roots[0] = dir;
        assert_int_equal(sk_doctools_open(roots, 1, src, 1, &dt, &err), SK_OK);
        res = tool(dt, "{\"name\": \"grep\", \"pattern\": \"x\"}", &failed);
        assert_int_equal(failed, 1);
        assert_non_null(strstr(res, "none of this question's source "
                                    "documents is in the local corpus "
                                    "(a.txt)"));
        sk_free(res);
        sk_doctools_free(dt);
        tu_rmtree(dir);
        sk_free(dir);
    }
}

static void test_officeqa__tool_blocks(void **state)
{
    const char *text = "a <TOOL>{1}</tool> b <tool>{2}</Tool><tool>{3}";
    const char *body;
    size_t pos = 0, len = strlen(text), bl;
    int closed;
    (void)state;
    assert_true(sk_doctools_next_block(text, len, &pos, &body, &bl, &closed));
    assert_int_equal(bl, 3);
    assert_memory_equal(body, "{1}", 3);
    assert_true(closed);
    assert_true(sk_doctools_next_block(text, len, &pos, &body, &bl, &closed));
    assert_memory_equal(body, "{2}", 3);
    assert_true(sk_doctools_next_block(text, len, &pos, &body, &bl, &closed));
    assert_memory_equal(body, "{3}", 3);
    assert_false(closed);
    assert_false(sk_doctools_next_block(text, len, &pos, &body, &bl, &closed));
}

struct sweep_tools {
    const char *root;
};

static int sweep_tools(void *ctx)
{
    struct sweep_tools *s = ctx;
    struct sk_doctools *dt;
    struct sk_buf name, out;
    const char *roots[1];
    static const char *const reqs[] = {
        "{\"name\": \"list\"}",
        "{\"name\": \"read\", \"path\": \"doc.txt\", \"start\": 5}",
        "{\"name\": \"grep\", \"pattern\": \"defense\"}",
        "{\"name\": \"read\", \"path\": \"link.txt\"}",
        "{\"name\": \"read\", \"path\": \"bulletin.txt\"}",
    };
    size_t i;
    int rc, failed;
    roots[0] = s->root;
    rc = sk_doctools_open(roots, 1, corpus_sources, 5, &dt, NULL);
    if (rc != SK_OK)
        return rc;
    sk_buf_init(&name, SK_BUF_UNLIMITED);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    for (i = 0; rc == SK_OK && i < sizeof reqs / sizeof reqs[0]; i++)
        rc =
            sk_doctools_run(dt, reqs[i], strlen(reqs[i]), &name, &out, &failed);
    sk_buf_release(&name);
    sk_buf_release(&out);
    sk_doctools_free(dt);
    return rc;
}

static void test_officeqa__tools_survive_alloc_failures(void **state)
{
    struct corpus c;
    struct sweep_tools s;
    (void)state;
    corpus_make(&c);
    s.root = c.root;
    assert_true(tu_alloc_sweep(sweep_tools, &s) > 1);
    corpus_free(&c);
}

/* ---- prompts ------------------------------------------------------------ */

static const char skill[] = "# Skill under test\n\n- Rule one.\n- Rule two.\n";
static const char snap_item[] =
    "{\"id\": \"UID0001\", \"uid\": \"UID0001\", \"question\": \"What were "
    "the total expenditures (in millions of nominal dollars) for U.S "
    "national defense in the calendar year of 1940?\", \"answer\": "
    "\"2,602\", \"category\": \"hard\", \"source_files\": [\"bulletin.txt\", "
    "\"doc.txt\", \"missing.txt\"], \"source_docs\": "
    "\"https://fraser.stlouisfed.org/title/treasury-bulletin-407/"
    "january-1941-6529?page=15\\nhttps://fraser.stlouisfed.org/title/"
    "treasury-bulletin-407/january-1941-6529?page=16 \"}";

static void load_cfg(struct sk_config *cfg, const char *const *opts, size_t n)
{
    struct sk_config_args a;
    struct sk_error err;
    char *dir = tu_mkdtemp();
    char *p = tu_write(dir, "c.yaml",
                       "model:\n  backend: sim\n  optimizer_backend: sim\n"
                       "  target_backend: sim\n  target: sim-target\n"
                       "env:\n  name: officeqa\n");
    memset(&a, 0, sizeof a);
    a.path = p;
    a.cfg_options = opts;
    a.n_cfg_options = n;
    sk_config_init(cfg);
    if (sk_config_load(&a, cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_free(p);
    tu_rmtree(dir);
    sk_free(dir);
}

static void check_snapshot(const char *name, const char *got)
{
    char rel[128], *path, *want;
    snprintf(rel, sizeof rel, "tests/fixtures/officeqa/%s.txt", name);
    path = tu_source_path(rel);
    if (getenv("SKILLOPT_BLESS") && *getenv("SKILLOPT_BLESS") == '1') {
        assert_int_equal(sk_fs_write_atomic(path, got, strlen(got), NULL),
                         SK_OK);
        sk_free(path);
        return;
    }
    want = tu_read(path, NULL);
    if (!want)
        fail_msg("%s: missing snapshot (record with SKILLOPT_BLESS=1)", path);
    if (strcmp(want, got) != 0)
        fail_msg("%s differs from the rendered prompt:\n%s", path, got);
    sk_free(want);
    sk_free(path);
}

static void test_officeqa__prompt_snapshots(void **state)
{
    struct corpus c;
    struct sk_config cfg;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    char opt[600], *sys, *user;
    const char *opts[2];
    json_t *item = json_loads(snap_item, 0, NULL);
    (void)state;
    assert_non_null(item);
    corpus_make(&c);
    snprintf(opt, sizeof opt, "env.data_dirs=%s", c.root);
    opts[0] = opt;
    opts[1] = "env.max_tool_turns=12";
    load_cfg(&cfg, opts, 2);
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    if (sk_bench_officeqa.build(item, skill, &ctx, &sys, &user, &err) != SK_OK)
        fail_msg("%s", err.msg);
    check_snapshot("tools.system", sys);
    check_snapshot("tools.user", user);
    assert_non_null(strstr(sys, "at most\n12 replies"));
    sk_free(sys);
    sk_free(user);
    sk_config_release(&cfg);
    opts[1] = "env.use_local_tools=false";
    load_cfg(&cfg, opts, 2);
    if (sk_bench_officeqa.build(item, skill, &ctx, &sys, &user, &err) != SK_OK)
        fail_msg("%s", err.msg);
    check_snapshot("single.system", sys);
    check_snapshot("single.user", user);
    assert_null(strstr(user, "doc.txt"));
    sk_free(sys);
    sk_free(user);
    sk_config_release(&cfg);
    json_decref(item);
    corpus_free(&c);
}

static void test_officeqa__build_refuses(void **state)
{
    struct sk_config cfg;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    char *sys = (char *)"x", *user = (char *)"x";
    const char *opts[1];
    json_t *item = json_loads(snap_item, 0, NULL);
    json_t *noq = json_pack("{s:s, s:s}", "id", "x", "answer", "5");
    json_t *noa = json_pack("{s:s, s:s}", "id", "x", "question", "q?");
    (void)state;
    memset(&ctx, 0, sizeof ctx);
    opts[0] = "env.data_dirs=/nonexistent/officeqa/docs";
    load_cfg(&cfg, opts, 1);
    ctx.cfg = &cfg;
    unsetenv("OFFICEQA_DOCS_DIR");
    /* no document directory: the run cannot ask anything */
    assert_int_equal(
        sk_bench_officeqa.build(item, skill, &ctx, &sys, &user, &err),
        SK_ENOTFOUND);
    assert_null(sys);
    assert_null(user);
    assert_non_null(strstr(err.msg, "officeqa-corpus"));
    /* a missing question or gold is bad data */
    assert_int_equal(
        sk_bench_officeqa.build(noq, skill, &ctx, &sys, &user, &err), SK_EDATA);
    assert_int_equal(
        sk_bench_officeqa.build(noa, skill, &ctx, &sys, &user, &err), SK_EDATA);
    assert_non_null(strstr(err.msg, "no answer"));
    sk_config_release(&cfg);
    opts[0] = "env.search_mode=online";
    load_cfg(&cfg, opts, 1);
    assert_int_equal(
        sk_bench_officeqa.build(item, skill, &ctx, &sys, &user, &err),
        SK_ECONFIG);
    sk_config_release(&cfg);
    /* $OFFICEQA_DOCS_DIR is a root too */
    {
        struct corpus c;
        corpus_make(&c);
        opts[0] = "env.max_tool_turns=3";
        load_cfg(&cfg, opts, 1);
        setenv("OFFICEQA_DOCS_DIR", c.root, 1);
        assert_int_equal(
            sk_bench_officeqa.build(item, skill, &ctx, &sys, &user, &err),
            SK_OK);
        assert_non_null(strstr(user, "- doc.txt\n- sub/bulletin.pdftotext.txt"
                                     "\n- missing.txt (not in"));
        unsetenv("OFFICEQA_DOCS_DIR");
        sk_free(sys);
        sk_free(user);
        sk_config_release(&cfg);
        corpus_free(&c);
    }
    json_decref(item);
    json_decref(noq);
    json_decref(noa);
}

/* ---- the tool loop through the simulator -------------------------------- */

struct script {
    pthread_mutex_t mu;
    json_t *bodies;             /* every request body received, as text */
    json_t *items;              /* the items (real-data run), for the golds */
    const char *const *replies; /* fixed replies by turn (escape run) */
    size_t n_replies;
    int mode; /* 0: replies[]; 1: read then answer (real items);
                 2: always ask a tool; 3: fail the second call */
    unsigned calls;
};

/* The messages of a chat request; counts assistant turns. */
static json_t *messages(const struct sk_sim_request *req, size_t *n_asst)
{
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL), *m, *ms;
    size_t i;
    *n_asst = 0;
    ms = json_incref(json_object_get(b, "messages"));
    json_array_foreach(ms, i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        *n_asst += r && strcmp(r, "assistant") == 0;
    }
    json_decref(b);
    return ms;
}

/* The first user message (the rollout's prompt), borrowed from ms. */
static const char *first_user(const json_t *ms)
{
    size_t i;
    const json_t *m;
    json_array_foreach(ms, i, m)
    {
        const char *r = json_string_value(json_object_get(m, "role"));
        if (r && strcmp(r, "user") == 0)
            return json_string_value(json_object_get(m, "content"));
    }
    return "";
}

/* Real items: turn 1 reads the first listed document (or lists), turn 2
 * answers - the gold for even items, "0" for odd ones. */
static char *real_reply(struct script *s, const json_t *ms, size_t turn)
{
    const char *user = first_user(ms), *doc;
    struct sk_buf b;
    size_t i;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (turn == 0) {
        doc = strstr(user, "## Documents you may open\n\n- ");
        if (doc)
            doc += strlen("## Documents you may open\n\n- ");
        if (doc && strcspn(doc, "\n") < strcspn(doc, "(")) {
            const char *p = doc;
            size_t n = strcspn(p, "\n ");
            assert_int_equal(sk_buf_printf(&b,
                                           "Let me look.\n<tool>{\"name\": "
                                           "\"read\", \"path\": \"%.*s\", "
                                           "\"start\": 1, \"limit\": 5}"
                                           "</tool>",
                                           (int)n, p),
                             SK_OK);
        } else {
            assert_int_equal(sk_buf_puts(&b, "<tool>{\"name\": \"list\"}"
                                             "</tool>"),
                             SK_OK);
        }
        return sk_buf_detach(&b, NULL);
    }
    for (i = 0; i < json_array_size(s->items); i++) {
        const json_t *it = json_array_get(s->items, i);
        const char *q = json_string_value(json_object_get(it, "question"));
        const char *a = json_string_value(json_object_get(it, "answer"));
        char stripped[4096];
        size_t bq, eq;
        sk_score_strip(q, strlen(q), &bq, &eq);
        snprintf(stripped, sizeof stripped, "%.*s", (int)(eq - bq), q + bq);
        if (strstr(user, stripped)) {
            assert_int_equal(sk_buf_printf(&b, "Done.\n<answer>%s</answer>",
                                           i % 2 == 0 ? a : "0"),
                             SK_OK);
            return sk_buf_detach(&b, NULL);
        }
    }
    fail_msg("no item for the prompt:\n%s", user);
    return NULL;
}

static int script_respond(void *ud, const struct sk_sim_request *req,
                          struct sk_sim_reply *reply)
{
    struct script *s = ud;
    size_t turn;
    json_t *ms = messages(req, &turn);
    char *text = NULL;
    unsigned call;

    pthread_mutex_lock(&s->mu);
    json_array_append_new(s->bodies, json_stringn(req->body, req->body_len));
    call = ++s->calls;
    pthread_mutex_unlock(&s->mu);
    if (s->mode == 0)
        text = sk_strdup(turn < s->n_replies ? s->replies[turn]
                                             : "<answer>none</answer>");
    else if (s->mode == 1)
        text = real_reply(s, ms, turn);
    else if (s->mode == 2)
        text = sk_strdup("<tool>{\"name\": \"list\"}</tool> <answer>42"
                         "</answer>");
    else if (turn >= 1) {
        json_decref(ms);
        (void)call;
        reply->status = 500;
        reply->body = sk_strdup("{\"error\": {\"message\": \"scripted "
                                "failure\"}}");
        reply->body_len = strlen(reply->body);
        return 0;
    } else {
        text = sk_strdup("<tool>{\"name\": \"list\"}</tool>");
    }
    json_decref(ms);
    reply->body = sk_sim_chat_completion("sim-target", text, 10, 10);
    reply->body_len = strlen(reply->body);
    sk_free(text);
    return 0;
}

struct env {
    char *dir;
    struct sk_config cfg;
    struct sk_llm_client *c;
    struct script s;
};

static void env_open(struct env *e, const char *const *opts, size_t n, int mode)
{
    struct sk_llm_client_opts o;
    struct sk_error err;
    e->dir = tu_mkdtemp();
    load_cfg(&e->cfg, opts, n);
    memset(&e->s, 0, sizeof e->s);
    pthread_mutex_init(&e->s.mu, NULL);
    e->s.bodies = json_array();
    e->s.mode = mode;
    memset(&o, 0, sizeof o);
    o.sim_responder = script_respond;
    o.sim_ud = &e->s;
    if (sk_llm_client_new(&e->cfg, &o, &e->c, &err) != SK_OK)
        fail_msg("%s", err.msg);
}

static void env_close(struct env *e)
{
    sk_llm_client_free(e->c);
    sk_config_release(&e->cfg);
    json_decref(e->s.bodies);
    pthread_mutex_destroy(&e->s.mu);
    tu_rmtree(e->dir);
    sk_free(e->dir);
}

static int run(struct env *e, json_t *items, json_t **rows,
               struct sk_rollout_stats *st, struct sk_error *err)
{
    struct sk_rollout_opts o;
    char *out = sk_fs_join(e->dir, "out");
    int rc;
    memset(&o, 0, sizeof o);
    o.cfg = &e->cfg;
    o.workers = 8;
    o.max_completion_tokens = 256;
    rc = sk_rollout_run_opts(e->c, &sk_bench_officeqa, skill, items, out, &o,
                             rows, st, err);
    sk_free(out);
    return rc;
}

/* out/predictions/<id>/conversation.json, parsed. */
static json_t *conversation(struct env *e, const char *id)
{
    struct sk_buf b;
    json_t *v;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s/out/predictions/", e->dir), SK_OK);
    assert_int_equal(sk_rollout_pred_dir(id, &b), SK_OK);
    assert_int_equal(sk_buf_puts(&b, "/conversation.json"), SK_OK);
    v = json_load_file(sk_buf_cstr(&b), 0, NULL);
    if (!v)
        fail_msg("%s: missing or not JSON", sk_buf_cstr(&b));
    sk_buf_release(&b);
    return v;
}

static void test_officeqa__episode_refuses_escapes(void **state)
{
    struct corpus c;
    struct env e;
    struct sk_error err;
    struct sk_rollout_stats st;
    json_t *items, *rows = NULL, *conv, *t, *row;
    char opt[600], turn1[2048];
    const char *opts[1];
    const char *replies[5];
    static const char *const want[] = {
        "\"..\" is not allowed",
        "absolute paths are not allowed",
        "resolves outside the document roots",
        "not one of this question's documents",
        "NUL byte",
        "\"..\" is not allowed",
        "resolves outside the document roots",
        "too large",
        NULL, /* huge window: ok, cut */
        NULL, /* grep for the secret everywhere: no matches */
        "one JSON object",
        "no closing </tool>",
    };
    size_t i, k = 0, n_tools = 0;
    (void)state;
    corpus_make(&c);
    snprintf(opt, sizeof opt, "env.data_dirs=%s", c.root);
    opts[0] = opt;
    env_open(&e, opts, 1, 0);
    snprintf(turn1, sizeof turn1,
             "Trying.\n<tool>{\"name\": \"read\", \"path\": "
             "\"../outside/secret.txt\"}</tool>\n"
             "<tool>{\"name\": \"read\", \"path\": \"%s\"}</tool>\n"
             "<tool>{\"name\": \"read\", \"path\": \"link.txt\"}</tool>\n"
             "<tool>{\"name\": \"grep\", \"pattern\": \"SECRET\", \"path\": "
             "\"other.txt\"}</tool>",
             c.secret);
    replies[0] = turn1;
    replies[1] = "<tool>{\"name\": \"read\", \"path\": "
                 "\"doc.txt\\u0000../x\"}</tool>"
                 "<tool>{\"name\": \"read\", \"path\": \"sub/../doc.txt\"}"
                 "</tool><tool>{\"name\": \"read\", \"path\": "
                 "\"outdir/secret.txt\"}</tool>"
                 "<tool>{\"name\": \"read\", \"path\": \"huge.txt\"}</tool>"
                 "<tool>{\"name\": \"list\"}</tool>";
    replies[2] = "<tool>{\"name\": \"read\", \"path\": \"doc.txt\", "
                 "\"limit\": 99999999999}</tool>"
                 "<tool>{\"name\": \"grep\", \"pattern\": \"secret\"}</tool>"
                 "<tool>read doc.txt</tool><tool>{\"name\": \"list\"}";
    replies[3] = "The receipts are 2,602.\n<answer>2,602</answer>";
    e.s.replies = replies;
    e.s.n_replies = 4;
    items = json_array();
    json_array_append_new(
        items,
        json_pack("{s:s, s:s, s:s, s:s, s:[s,s,s,s,s]}", "id", "UID0001",
                  "question", "Receipts?", "answer", "2,602", "category",
                  "hard", "source_files", corpus_sources[0], corpus_sources[1],
                  corpus_sources[2], corpus_sources[3], corpus_sources[4]));
    if (run(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    row = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    assert_int_equal(json_integer_value(json_object_get(row, "n_turns")), 4);
    assert_string_equal(json_string_value(json_object_get(row, "task_type")),
                        "hard");
    assert_true(json_is_true(json_object_get(row, "agent_ok")));
    conv = conversation(&e, "UID0001");
    /* assistant 1, 4 tools, assistant 2, 5 tools, assistant 3, 3 tools,
     * assistant 4, verification */
    assert_int_equal(json_array_size(conv), 4 + 13 + 1);
    json_array_foreach(conv, i, t)
    {
        const char *role = json_string_value(json_object_get(t, "role"));
        const char *content = json_string_value(json_object_get(t, "content"));
        if (strcmp(role, "assistant") == 0) {
            assert_int_equal(json_integer_value(json_object_get(t, "turn")),
                             ++k);
            continue;
        }
        if (strcmp(role, "tool") != 0)
            continue;
        if (n_tools == 8) { /* the fifth block of reply 2 */
            assert_non_null(strstr(content, "only 4 tool requests"));
            n_tools++;
            continue;
        }
        {
            size_t w = n_tools > 8 ? n_tools - 1 : n_tools;
            n_tools++;
            if (w == 8) {
                assert_non_null(strstr(content, "; cut at 4000 characters]"));
                assert_false(json_is_true(json_object_get(t, "error")));
            } else if (w == 9) {
                assert_non_null(strstr(content, "[no matches]"));
                assert_non_null(strstr(content, "huge.txt skipped"));
            } else {
                assert_true(json_is_true(json_object_get(t, "error")));
                if (!strstr(content, want[w]))
                    fail_msg("tool turn %zu: %s", w, content);
            }
        }
    }
    assert_int_equal(n_tools, 13);
    /* nothing of the secret ever reached the model or the record */
    for (i = 0; i < json_array_size(e.s.bodies); i++)
        assert_null(
            strstr(json_string_value(json_array_get(e.s.bodies, i)), SECRET));
    {
        char *dump = json_dumps(conv, 0);
        assert_null(strstr(dump, SECRET));
        sk_free(dump);
    }
    /* the model saw its results: the second call carries the first's */
    assert_non_null(
        strstr(json_string_value(json_array_get(e.s.bodies, 1)),
               "<tool_result name=\\\"read\\\" status=\\\"error\\\">"));
    json_decref(conv);
    json_decref(rows);
    json_decref(items);
    env_close(&e);
    corpus_free(&c);
}

static void test_officeqa__episode_turn_budget(void **state)
{
    struct corpus c;
    struct env e;
    struct sk_error err;
    struct sk_rollout_stats st;
    json_t *items, *rows = NULL, *row;
    char opt[600];
    const char *opts[2];
    (void)state;
    corpus_make(&c);
    snprintf(opt, sizeof opt, "env.data_dirs=%s", c.root);
    opts[0] = opt;
    opts[1] = "env.max_tool_turns=3";
    env_open(&e, opts, 2, 2);
    items = json_array();
    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:[s]}", "id", "b1",
                                           "question", "q?", "answer", "42",
                                           "source_files", "doc.txt"));
    if (run(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    row = json_array_get(rows, 0);
    /* every reply asked for a tool, the last one with an <answer> too */
    assert_int_equal(e.s.calls, 3);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 0);
    assert_int_equal(json_integer_value(json_object_get(row, "n_turns")), 3);
    assert_string_equal(json_string_value(json_object_get(row, "fail_reason")),
                        "Exceeded tool-turn budget (3)");
    assert_string_equal(
        json_string_value(json_object_get(row, "predicted_answer")), "");
    assert_string_equal(json_string_value(json_object_get(row, "task_type")),
                        "officeqa");
    /* the next-to-last results warned that one reply was left */
    assert_non_null(strstr(json_string_value(json_array_get(e.s.bodies, 2)),
                           "the next is your last"));
    json_decref(rows);
    json_decref(items);
    env_close(&e);
    corpus_free(&c);
}

static void test_officeqa__episode_provider_failure(void **state)
{
    struct corpus c;
    struct env e;
    struct sk_error err;
    struct sk_rollout_stats st;
    json_t *items, *rows = NULL, *row;
    char opt[600];
    const char *opts[2];
    int rc;
    (void)state;
    corpus_make(&c);
    snprintf(opt, sizeof opt, "env.data_dirs=%s", c.root);
    opts[0] = opt;
    opts[1] = "llm.retries=1";
    env_open(&e, opts, 2, 3);
    items = json_array();
    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:[s]}", "id", "f1",
                                           "question", "q?", "answer", "42",
                                           "source_files", "doc.txt"));
    rc = run(&e, items, &rows, &st, &err);
    assert_int_equal(rc, SK_LLM_EPROVIDER);
    assert_int_equal(st.errors, 1);
    row = json_array_get(rows, 0);
    assert_false(json_is_true(json_object_get(row, "agent_ok")));
    assert_non_null(strstr(
        json_string_value(json_object_get(row, "fail_reason")), "turn 2"));
    assert_non_null(strstr(err.msg, "f1"));
    json_decref(rows);
    json_decref(items);
    env_close(&e);
    corpus_free(&c);
}

static void test_officeqa__single_shot(void **state)
{
    struct env e;
    struct sk_error err;
    struct sk_rollout_stats st;
    json_t *items, *rows = NULL, *row, *conv;
    const char *opts[2] = {"env.use_local_tools=false",
                           "env.data_dirs=/nonexistent/officeqa"};
    const char *replies[1] = {"<tool>{\"name\": \"list\"}</tool>"
                              "<answer>$2,602 million</answer>"};
    (void)state;
    env_open(&e, opts, 2, 0);
    e.s.replies = replies;
    e.s.n_replies = 1;
    items = json_array();
    json_array_append_new(items, json_loads(snap_item, 0, NULL));
    if (run(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    row = json_array_get(rows, 0);
    /* one call, no tools run, the answer scored (a tool block is just
     * text in this mode) */
    assert_int_equal(e.s.calls, 1);
    assert_int_equal(json_integer_value(json_object_get(row, "hard")), 1);
    assert_false(json_is_true(json_object_get(row, "use_local_tools")));
    conv = conversation(&e, "UID0001");
    assert_int_equal(json_array_size(conv), 2);
    json_decref(conv);
    json_decref(rows);
    json_decref(items);
    env_close(&e);
}

/* The real shared items over the shared pdftotext corpus. */
static void test_officeqa__episode_real_items(void **state)
{
    char *data = shared_path("data/officeqa"), *text_dir, *p;
    struct env e;
    struct sk_error err;
    struct sk_rollout_stats st;
    json_t *items, *rows = NULL, *row;
    char opt[1024];
    const char *opts[1];
    const char *split[2] = {"train", "val"};
    size_t i, k, read_ok = 0, missing = 0;
    (void)state;
    text_dir = sk_fs_join(data, "pdf_text");
    if (!sk_fs_is_dir(text_dir)) {
        sk_free(data);
        sk_free(text_dir);
        skip();
    }
    items = json_array();
    for (k = 0; k < 2; k++) {
        char rel[64];
        json_t *part;
        snprintf(rel, sizeof rel, "%s/items.json", split[k]);
        p = sk_fs_join(data, rel);
        part = json_load_file(p, 0, NULL);
        assert_non_null(part);
        json_array_extend(items, part);
        json_decref(part);
        sk_free(p);
    }
    assert_int_equal(json_array_size(items), 74);
    snprintf(opt, sizeof opt, "env.data_dirs=%s", text_dir);
    opts[0] = opt;
    env_open(&e, opts, 1, 1);
    e.s.items = items;
    if (run(&e, items, &rows, &st, &err) != SK_OK)
        fail_msg("rollout: %s", err.msg);
    assert_int_equal(st.sent, 74);
    assert_int_equal(st.errors, 0);
    for (i = 0; i < 74; i++) {
        const json_t *it = json_array_get(items, i);
        const char *id = json_string_value(json_object_get(it, "id"));
        json_t *conv, *tool_turn;
        const char *content;
        row = json_array_get(rows, i);
        assert_string_equal(json_string_value(json_object_get(row, "id")), id);
        assert_int_equal(json_integer_value(json_object_get(row, "hard")),
                         i % 2 == 0);
        assert_string_equal(
            json_string_value(json_object_get(row, "task_type")),
            json_string_value(json_object_get(it, "category")));
        assert_int_equal(json_integer_value(json_object_get(row, "n_turns")),
                         2);
        conv = conversation(&e, id);
        tool_turn = json_array_get(conv, 1);
        assert_string_equal(
            json_string_value(json_object_get(tool_turn, "role")), "tool");
        content = json_string_value(json_object_get(tool_turn, "content"));
        if (json_array_size(json_object_get(it, "local_pdfs")) > 0 &&
            strstr(content, "lines 1-5 of")) {
            /* the first five lines of the shared text file */
            char *name = NULL, *want;
            const char *f = json_string_value(
                json_array_get(json_object_get(it, "source_files"), 0));
            struct sk_buf w;
            size_t nl = 0, j;
            sk_buf_init(&w, SK_BUF_UNLIMITED);
            assert_int_equal(sk_buf_printf(&w, "%.*s.pdftotext.txt",
                                           (int)(strlen(f) - 4), f),
                             SK_OK);
            name = sk_fs_join(text_dir, sk_buf_cstr(&w));
            want = tu_read(name, NULL);
            assert_non_null(want);
            for (j = 0; want[j] && nl < 5; j++)
                nl += want[j] == '\n';
            assert_memory_equal(content, want, j);
            read_ok++;
            sk_free(want);
            sk_free(name);
            sk_buf_release(&w);
        } else {
            assert_true(json_is_true(json_object_get(tool_turn, "error")));
            assert_non_null(strstr(content, "local corpus"));
            missing++;
        }
        json_decref(conv);
    }
    /* UID0019, UID0165, UID0070, UID0159 have their issue here */
    assert_int_equal(read_ok, 4);
    assert_int_equal(missing, 70);
    assert_true(st.hard_mean == 0.5);
    json_decref(rows);
    json_decref(items);
    env_close(&e);
    sk_free(data);
    sk_free(text_dir);
}

/* ---- the corpus builder ------------------------------------------------- */

static int have_pdftotext(void)
{
    const char *path = getenv("PATH");
    char buf[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/pdftotext", (int)n, path);
        if (access(buf, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static void test_officeqa__build_corpus(void **state)
{
    char *data = shared_path("data/officeqa"), *pdfs, *text, *dir, *out;
    struct sk_officeqa_corpus_stats st;
    struct sk_error err;
    static const char *const stems[] = {
        "treasury_bulletin_1939_01", "treasury_bulletin_2000_09",
        "treasury_bulletin_2010_03", "treasury_bulletin_2014_12",
        "treasury_bulletin_2016_09"};
    size_t i;
    (void)state;
    pdfs = sk_fs_join(data, "pdfs");
    text = sk_fs_join(data, "pdf_text");
    if (!have_pdftotext() || !sk_fs_is_dir(pdfs)) {
        sk_free(data);
        sk_free(pdfs);
        sk_free(text);
        skip();
    }
    dir = tu_mkdtemp();
    out = sk_fs_join(dir, "corpus/text");
    sk_officeqa_corpus_stats_init(&st);
    if (sk_officeqa_build_corpus(pdfs, out, &st, &err) != SK_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(st.pdfs, 7);
    assert_int_equal(st.converted, 5);
    assert_int_equal(st.up_to_date, 0);
    assert_int_equal(st.no_text, 2);
    assert_int_equal(st.failed, 0);
    assert_string_equal(st.no_text_names[0], "treasury_bulletin_2003_06.pdf");
    assert_string_equal(st.no_text_names[1], "treasury_bulletin_2023_03.pdf");
    for (i = 0; i < 5; i++) {
        char name[128], *a, *b, *pa, *pb;
        size_t la, lb;
        snprintf(name, sizeof name, "%s.txt", stems[i]);
        pa = sk_fs_join(out, name);
        snprintf(name, sizeof name, "%s.pdftotext.txt", stems[i]);
        pb = sk_fs_join(text, name);
        a = tu_read(pa, &la);
        b = tu_read(pb, &lb);
        assert_non_null(a);
        assert_non_null(b);
        /* the same text as the shared `pdftotext -layout` dump */
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        sk_free(a);
        sk_free(b);
        sk_free(pa);
        sk_free(pb);
    }
    {
        char *scan = sk_fs_join(out, "treasury_bulletin_2003_06.txt");
        assert_false(sk_fs_exists(scan));
        sk_free(scan);
    }
    /* again: everything up to date, the scans still reported */
    assert_int_equal(sk_officeqa_build_corpus(pdfs, out, &st, &err), SK_OK);
    assert_int_equal(st.converted, 0);
    assert_int_equal(st.up_to_date, 5);
    assert_int_equal(st.no_text, 2);
    sk_officeqa_corpus_stats_release(&st);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(out);
    sk_free(data);
    sk_free(pdfs);
    sk_free(text);
}

static void test_officeqa__build_corpus_failures(void **state)
{
    char *dir = tu_mkdtemp(), *pdfs, *out, *one;
    struct sk_officeqa_corpus_stats st;
    struct sk_error err;
    (void)state;
    pdfs = sk_fs_join(dir, "pdfs");
    out = sk_fs_join(dir, "out");
    assert_int_equal(mkdir(pdfs, 0755), 0);
    sk_free(tu_write(pdfs, "broken.PDF", "this is not a PDF\n"));
    sk_free(tu_write(pdfs, "notes.txt", "ignored\n"));
    sk_officeqa_corpus_stats_init(&st);
    /* no such input directory */
    one = sk_fs_join(dir, "nope");
    assert_int_equal(sk_officeqa_build_corpus(one, out, &st, &err),
                     SK_ENOTFOUND);
    sk_free(one);
    /* the program cannot be run */
    setenv("PDFTOTEXT", "/nonexistent/bin/pdftotext", 1);
    assert_int_equal(sk_officeqa_build_corpus(pdfs, out, &st, &err),
                     SK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "poppler-utils"));
    unsetenv("PDFTOTEXT");
    if (have_pdftotext()) {
        /* a broken PDF fails alone and is named */
        assert_int_equal(sk_officeqa_build_corpus(pdfs, out, &st, &err),
                         SK_EIO);
        assert_int_equal(st.pdfs, 1);
        assert_int_equal(st.failed, 1);
        assert_string_equal(st.failed_names[0], "broken.PDF");
        assert_non_null(strstr(err.msg, "broken.PDF"));
        one = sk_fs_join(out, "broken.txt");
        assert_false(sk_fs_exists(one));
        sk_free(one);
    }
    sk_officeqa_corpus_stats_release(&st);
    tu_rmtree(dir);
    sk_free(dir);
    sk_free(pdfs);
    sk_free(out);
}

/* The better numeric rule is off by default (the reference's string match,
 * so numbers stay comparable) and on with env.officeqa_numeric_em. */
static void test_officeqa__numeric_em_option(void **state)
{
    static const struct {
        const char *reply, *gold;
        int hard_default, hard_numeric;
    } cases[] = {
        {"<answer>5.0</answer>", "5", 0, 1},
        {"<answer>(3.2)</answer>", "-3.2", 0, 1},
        {"<answer>12.5%</answer>", "12.5", 0, 1},
        {"<answer>1,234.5</answer>", "1234.5", 1, 1},
        {"<answer>5.1</answer>", "5", 0, 0},
        {"<answer>five</answer>", "5", 0, 0},
    };
    struct sk_config cfg;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    size_t i;
    int on;
    (void)state;

    sk_config_init(&cfg);
    assert_int_equal(sk_config_defaults(&cfg, &err), SK_OK);
    cfg.use_local_tools = 0;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = &cfg;
    for (on = 0; on < 2; on++) {
        cfg.officeqa_numeric_em = on;
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            json_t *item = json_pack("{s:s, s:s, s:s, s:[s]}", "id", "n1",
                                     "question", "How much?", "answer",
                                     cases[i].gold, "source_files", "a.txt");
            json_t *row = json_object();
            assert_int_equal(
                sk_bench_officeqa.score(item, cases[i].reply, &ctx, row, &err),
                SK_OK);
            assert_int_equal(json_integer_value(json_object_get(row, "hard")),
                             on ? cases[i].hard_numeric
                                : cases[i].hard_default);
            json_decref(item);
            json_decref(row);
        }
    }
    sk_config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_officeqa__evaluate_matches_reference),
        cmocka_unit_test(test_officeqa__numeric_em_option),
        cmocka_unit_test(test_officeqa__list_fields_match_reference),
        cmocka_unit_test(test_officeqa__rows_match_reference),
        cmocka_unit_test(test_officeqa__item_rejects_bad_fields),
        cmocka_unit_test(test_officeqa__numeric_rule),
        cmocka_unit_test(test_officeqa__evaluate_survives_alloc_failures),
        cmocka_unit_test(test_officeqa__tools_files_and_refusals),
        cmocka_unit_test(test_officeqa__tools_bound_their_output),
        cmocka_unit_test(test_officeqa__tools_without_documents),
        cmocka_unit_test(test_officeqa__tool_blocks),
        cmocka_unit_test(test_officeqa__tools_survive_alloc_failures),
        cmocka_unit_test(test_officeqa__prompt_snapshots),
        cmocka_unit_test(test_officeqa__build_refuses),
        cmocka_unit_test(test_officeqa__episode_refuses_escapes),
        cmocka_unit_test(test_officeqa__episode_turn_budget),
        cmocka_unit_test(test_officeqa__episode_provider_failure),
        cmocka_unit_test(test_officeqa__single_shot),
        cmocka_unit_test(test_officeqa__episode_real_items),
        cmocka_unit_test(test_officeqa__build_corpus),
        cmocka_unit_test(test_officeqa__build_corpus_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
