/*
 * test_materialize.c - `skillopt data materialize` (data/materialize.h,
 * rows.h, fetch.h): the split items match what the reference's own code
 * makes from the same upstream rows (tests/fixtures/data, from gen.py);
 * missing and duplicate ids; CSV and JSON Lines edge cases; nothing is
 * left behind on failure; and downloads from a fake HTTP server on
 * 127.0.0.1 (libmicrohttpd in this process): success, 404, a truncated
 * body, checksums, the size cap, a token, a redirect, progress.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "data/fetch.h"
#include "data/materialize.h"
#include "data/rows.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/sha256.h"

#define FIX "tests/fixtures/data/"

static const char *const splits[] = {"train", "val", "test"};

/* ---- helpers ------------------------------------------------------------ */

static char *fix(const char *rel)
{
    struct sk_buf b;
    char *base = tu_source_path(FIX);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s%s", base, rel), SK_OK);
    sk_free(base);
    return sk_buf_detach(&b, NULL);
}

static json_t *load(const char *path)
{
    json_error_t e;
    json_t *v = json_load_file(path, 0, &e);
    if (!v)
        fail_msg("%s: %s", path, e.text);
    return v;
}

/* Asserts out_dir/<split>/items.json equal expected_<name>/ for each. */
static void assert_same_items(const char *out_dir, const char *name)
{
    size_t k;
    for (k = 0; k < 3; k++) {
        char rel[256], *want_p, *got_p;
        json_t *want, *got;
        snprintf(rel, sizeof rel, "expected_%s/%s/items.json", name, splits[k]);
        want_p = fix(rel);
        snprintf(rel, sizeof rel, "%s/items.json", splits[k]);
        got_p = sk_fs_join(out_dir, rel);
        want = load(want_p);
        got = load(got_p);
        if (!json_equal(want, got)) {
            char *a = json_dumps(got, JSON_INDENT(1));
            fail_msg("%s: differs from %s:\n%s", got_p, want_p, a);
        }
        json_decref(want);
        json_decref(got);
        sk_free(want_p);
        sk_free(got_p);
    }
}

/* Entries of dir other than "." and "..". */
static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

struct run {
    struct sk_materialize_opts o;
    struct sk_materialize_result res;
    struct sk_error err;
    char *tmp; /* scratch dir; out is tmp/out */
    char *out;
    char *manifest, *source;
};

static void run_init(struct run *r, const char *bench, const char *manifest,
                     const char *source)
{
    memset(r, 0, sizeof *r);
    r->tmp = tu_mkdtemp();
    r->out = sk_fs_join(r->tmp, "out");
    r->manifest = manifest ? fix(manifest) : NULL;
    r->source = source && !sk_fetch_is_url(source) && source[0] != '/'
                    ? fix(source)
                    : (source ? sk_strdup(source) : NULL);
    r->o.bench = bench;
    r->o.manifest_dir = r->manifest;
    r->o.source = r->source;
    r->o.out_dir = r->out;
    sk_fetch_opts_init(&r->o.fetch);
    sk_materialize_result_init(&r->res);
}

static int run_go(struct run *r)
{
    return sk_materialize(&r->o, &r->res, &r->err);
}

static void run_release(struct run *r)
{
    sk_materialize_result_release(&r->res);
    tu_rmtree(r->tmp);
    sk_free(r->tmp);
    sk_free(r->out);
    sk_free(r->manifest);
    sk_free(r->source);
}

/* A failed run left nothing in the scratch dir. */
static void assert_nothing_left(const struct run *r)
{
    assert_false(sk_fs_exists(r->out));
    assert_int_equal(count_entries(r->tmp), 0);
}

/* ---- local sources ------------------------------------------------------ */

static void test_materialize__searchqa_jsonl(void **state)
{
    struct run r;
    char *meta_p, *text;
    char hex[65];
    size_t len;
    json_t *meta;
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", "searchqa_rows.jsonl");
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "searchqa");
    assert_int_equal(r.res.counts[0], 3);
    assert_int_equal(r.res.counts[1], 2);
    assert_int_equal(r.res.counts[2], 2);
    assert_int_equal(r.res.rows_read, 9);
    assert_int_equal(r.res.files_read, 1);
    text = tu_read(r.source, &len);
    assert_int_equal(sk_sha256_hex(text, len, hex), SK_OK);
    sk_free(text);
    assert_string_equal(r.res.sha256, hex);
    meta_p = sk_fs_join(r.out, "split_manifest.json");
    meta = load(meta_p);
    assert_string_equal(json_string_value(json_object_get(meta, "benchmark")),
                        "searchqa");
    assert_string_equal(json_string_value(json_object_get(meta, "source")),
                        r.source);
    assert_string_equal(
        json_string_value(json_object_get(meta, "source_sha256")), hex);
    assert_string_equal(
        json_string_value(json_object_get(meta, "source_dataset")),
        "lucadiliello/searchqa");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(meta, "counts"), "val")),
                     2);
    text = json_dumps(json_object_get(meta, "item_fields"), JSON_COMPACT);
    assert_string_equal(text, "[\"id\",\"question\",\"context\",\"answers\"]");
    sk_free(text);
    json_decref(meta);
    sk_free(meta_p);
    /* only the output directory is left in the scratch dir */
    assert_int_equal(count_entries(r.tmp), 1);
    run_release(&r);
}

static void test_materialize__searchqa_dir(void **state)
{
    struct run r;
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", "searchqa_dir");
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "searchqa");
    assert_int_equal(r.res.files_read, 2); /* a JSON array + JSON Lines */
    assert_string_equal(r.res.sha256, "");
    run_release(&r);
}

static void test_materialize__officeqa_csv(void **state)
{
    struct run r;
    (void)state;
    run_init(&r, "officeqa", "manifest_officeqa", "officeqa_full.csv");
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "officeqa");
    assert_int_equal(r.res.rows_read, 5);
    run_release(&r);
}

static void test_materialize__livemath_dir(void **state)
{
    struct run r;
    (void)state;
    run_init(&r, "livemath", "manifest_livemath", "livemath_src");
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "livemath");
    assert_int_equal(r.res.files_read, 2); /* notes.json is not read */
    run_release(&r);
}

static void test_materialize__missing_ids(void **state)
{
    struct run r;
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", "searchqa_partial.jsonl");
    assert_int_equal(run_go(&r), SK_EDATA);
    assert_non_null(strstr(r.err.msg, "2 of 7 manifest ids are not in "));
    assert_non_null(strstr(r.err.msg, "nothing was written"));
    assert_int_equal(r.res.n_missing, 2);
    assert_int_equal(r.res.n_manifest, 7);
    /* listed in manifest order, with their split */
    assert_string_equal(r.res.missing[0],
                        "train\t5ea5c0a0000000000000000000000002");
    assert_string_equal(r.res.missing[1],
                        "test\t5ea5c0a0000000000000000000000006");
    assert_nothing_left(&r);
    run_release(&r);
}

/* A scratch manifest and source, for the error cases. */
static void write_case(const char *dir, const char *train, const char *val,
                       const char *test, const char *src_name, const char *src)
{
    sk_free(tu_write(dir, "m/train/items.json", train));
    sk_free(tu_write(dir, "m/val/items.json", val));
    sk_free(tu_write(dir, "m/test/items.json", test));
    if (src_name)
        sk_free(tu_write(dir, src_name, src));
}

struct err_case {
    const char *bench;
    const char *train, *val, *test;
    const char *meta; /* m/split_manifest.json or NULL */
    const char *src_name, *src;
    int rc;
    const char *msg;
};

static const struct err_case err_cases[] = {
    {"searchqa", "[{\"id\":\"a\"},{\"id\":\"b\"}]", "[{\"id\":\"a\"}]", "[]",
     NULL, "s.jsonl", "", SK_EDATA,
     "the manifest repeats 1 id: \"a\" (train/val)"},
    {"searchqa", "[{\"id\":\"a\"}]", "[{\"name\":\"b\"}]", "[]", NULL,
     "s.jsonl", "", SK_EDATA, "manifest item 0 has no usable \"id\""},
    {"searchqa", "[{\"id\":\"a\"}]", "[]", "[]",
     "{\"counts\":{\"train\":1,\"val\":2}}", "s.jsonl", "", SK_EDATA,
     "counts.val is 2 but val/items.json has 0 items"},
    {"searchqa", "{\"id\":\"a\"}", "[]", "[]", NULL, "s.jsonl", "", SK_EDATA,
     "expected a JSON array of manifest items"},
    {"searchqa", "[{\"id\":\"a\"}]", "[]", "[]", NULL, "s.jsonl",
     "{\"key\":\"a\",\"question\":\"q\",\"context\":\"c\",\"answers\":[]}\n"
     "{\"key\":\"a\",\"question\":\"q\",\"context\":\"c\",\"answers\":[]}\n",
     SK_EDATA, "s.jsonl:2: id \"a\" was already read at "},
    {"searchqa", "[{\"id\":\"a\"}]", "[]", "[]", NULL, "s.jsonl",
     "{\"key\":\"a\",\"question\":\"q\",\"answers\":[]}\n", SK_EDATA,
     "s.jsonl:1: the row of id \"a\" has no \"context\""},
    {"searchqa", "[{\"id\":\"a\"}]", "[]", "[]", NULL, "s.jsonl",
     "{\"key\":\"b\"}\n\n[1]\n", SK_EDATA,
     "s.jsonl:3: expected a JSON object per line"},
    {"searchqa", "[{\"id\":\"a\"}]", "[]", "[]", NULL, "s.jsonl",
     "{\"key\":\"b\"}\n{\"key\":\"a\",\"quest", SK_EDATA,
     "s.jsonl:2: invalid JSON (premature end of input near '\"quest'); the "
     "file may be truncated"},
    {"searchqa", "[{\"id\":\"a\"}]", "[]", "[]", NULL, "s.json",
     "[{\"key\":\"b\"}, 3]", SK_EDATA, "s.json: item 1 is not a JSON object"},
    {"generic", "[{\"id\":\"1\"}]", "[]", "[]", NULL, "s.csv",
     "id,h\n1,\"open\n", SK_EDATA,
     "s.csv:2: a quoted field is not closed at the end of the file"},
    {"generic", "[{\"id\":\"1\"}]", "[]", "[]", NULL, "s.csv", "id,h\n1,\xff\n",
     SK_EDATA, "s.csv:2: field \"h\" is not valid UTF-8"},
    {"squad", "[]", "[]", "[]", NULL, NULL, NULL, SK_EINVAL,
     "unknown benchmark \"squad\" (known: searchqa, "},
    {"generic", "[]", "[]", "[]", NULL, NULL, NULL, SK_ENOTFOUND,
     "no-such-source: no such file or directory"},
};

static void test_materialize__errors(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(err_cases); i++) {
        const struct err_case *c = &err_cases[i];
        char *dir = tu_mkdtemp();
        char *m, *src, *out;
        struct sk_materialize_opts o;
        struct sk_materialize_result res;
        struct sk_error err;
        int rc;
        write_case(dir, c->train, c->val, c->test, c->src_name, c->src);
        if (c->meta)
            sk_free(tu_write(dir, "m/split_manifest.json", c->meta));
        m = sk_fs_join(dir, "m");
        src = sk_fs_join(dir, c->src_name ? c->src_name : "no-such-source");
        out = sk_fs_join(dir, "out");
        memset(&o, 0, sizeof o);
        o.bench = c->bench;
        o.manifest_dir = m;
        o.source = src;
        o.out_dir = out;
        rc = sk_materialize(&o, &res, &err);
        if (rc != c->rc || !strstr(err.msg, c->msg))
            fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, rc, err.msg,
                     c->rc, c->msg);
        assert_false(sk_fs_exists(out));
        assert_int_equal(count_entries(dir), c->src_name ? 2 : 1);
        sk_materialize_result_release(&res);
        sk_free(m);
        sk_free(src);
        sk_free(out);
        tu_rmtree(dir);
        sk_free(dir);
    }
}

/* CSV records as Python's csv.DictReader reads them (values checked
 * against CPython 3.11 by hand). */
static const struct {
    const char *csv; /* after the header "id,h2,h3\n" unless it has one */
    const char *h2;  /* NULL: key absent */
    const char *h3;
} csv_cases[] = {
    {"1,\"b,c\",d\r\n", "b,c", "d"},
    {"1,\"he said \"\"hi\"\"\",z\n", "he said \"hi\"", "z"},
    {"1,\"multi\r\nline\",z\n", "multi\r\nline", "z"},
    {"1,\"ab\"cd,z\n", "abcd", "z"},
    {"\n\n1,y,z\n\n", "y", "z"},
    {"1,y\n", "y", NULL},
    {"1,y,z,w\n", "y", "z"},
    {"1,a\"b,z\n", "a\"b", "z"},
    {"1,y,\n", "y", ""},
    {"1,\"\",z", "", "z"},
    {"1,caf\xc3\xa9,\xe2\x80\x94", "caf\xc3\xa9", "\xe2\x80\x94"},
    /* not the reference: a byte order mark is dropped from the header */
    {"\xEF\xBB\xBFid,h2,h3\n1,y,z\n", "y", "z"},
    {"id,h2,h3\r1,y,z\r", "y", "z"},
};

static void test_materialize__csv_rows(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(csv_cases); i++) {
        char *dir = tu_mkdtemp();
        struct sk_buf text;
        struct sk_materialize_opts o;
        struct sk_materialize_result res;
        struct sk_error err;
        char *m, *src, *out, *items_p;
        json_t *items, *item;
        sk_buf_init(&text, SK_BUF_UNLIMITED);
        if (strncmp(csv_cases[i].csv, "id,", 3) != 0 &&
            strncmp(csv_cases[i].csv, "\xEF", 1) != 0)
            sk_buf_puts(&text, "id,h2,h3\n");
        sk_buf_puts(&text, csv_cases[i].csv);
        write_case(dir, "[{\"id\":\"1\"}]", "[]", "[]", "rows.csv",
                   sk_buf_cstr(&text));
        sk_buf_release(&text);
        m = sk_fs_join(dir, "m");
        src = sk_fs_join(dir, "rows.csv");
        out = sk_fs_join(dir, "out");
        memset(&o, 0, sizeof o);
        o.bench = "generic";
        o.manifest_dir = m;
        o.source = src;
        o.out_dir = out;
        if (sk_materialize(&o, &res, &err) != SK_OK)
            fail_msg("case %zu: %s", i, err.msg);
        items_p = sk_fs_join(out, "train/items.json");
        items = load(items_p);
        item = json_array_get(items, 0);
        assert_string_equal(json_string_value(json_object_get(item, "id")),
                            "1");
        if (csv_cases[i].h2)
            assert_string_equal(json_string_value(json_object_get(item, "h2")),
                                csv_cases[i].h2);
        else
            assert_null(json_object_get(item, "h2"));
        if (csv_cases[i].h3)
            assert_string_equal(json_string_value(json_object_get(item, "h3")),
                                csv_cases[i].h3);
        else
            assert_null(json_object_get(item, "h3"));
        json_decref(items);
        sk_free(items_p);
        sk_materialize_result_release(&res);
        sk_free(m);
        sk_free(src);
        sk_free(out);
        tu_rmtree(dir);
        sk_free(dir);
    }
}

/* Other benchmarks: the row under the manifest id, then the manifest's
 * fields the row lacks. */
static void test_materialize__generic_merge(void **state)
{
    char *dir = tu_mkdtemp();
    struct sk_materialize_opts o;
    struct sk_materialize_result res;
    struct sk_error err;
    char *m, *src, *out, *p, *text;
    json_t *items;
    (void)state;
    write_case(dir,
               "[{\"id\":\"7\",\"questionId\":\"7\",\"docId\":\"3\","
               "\"image_path\":\"data/docvqa_images/q7_d3.png\"}]",
               "[{\"id\":\"8\",\"image_path\":\"m.png\"}]", "[]", "rows.csv",
               "questionId,question,answers,image_path\n"
               "8,Who?,\"['x', 'y']\",row.png\n"
               "7,When?,['1999'],\n"
               "9,Other,[],\n");
    m = sk_fs_join(dir, "m");
    src = sk_fs_join(dir, "rows.csv");
    out = sk_fs_join(dir, "out");
    memset(&o, 0, sizeof o);
    o.bench = "docvqa";
    o.manifest_dir = m;
    o.source = src;
    o.out_dir = out;
    if (sk_materialize(&o, &res, &err) != SK_OK)
        fail_msg("%s", err.msg);
    p = sk_fs_join(out, "train/items.json");
    items = load(p);
    text = json_dumps(items, JSON_COMPACT);
    /* the empty image_path of the row wins over the manifest's */
    assert_string_equal(text,
                        "[{\"id\":\"7\",\"questionId\":\"7\",\"question\":"
                        "\"When?\",\"answers\":\"['1999']\","
                        "\"image_path\":\"\",\"docId\":\"3\"}]");
    sk_free(text);
    json_decref(items);
    sk_free(p);
    p = sk_fs_join(out, "val/items.json");
    items = load(p);
    text = json_dumps(items, JSON_COMPACT);
    assert_string_equal(text,
                        "[{\"id\":\"8\",\"questionId\":\"8\",\"question\":"
                        "\"Who?\",\"answers\":\"['x', 'y']\","
                        "\"image_path\":\"row.png\"}]");
    sk_free(text);
    json_decref(items);
    sk_free(p);
    sk_materialize_result_release(&res);
    /* --id-field: another column holds the id */
    tu_rmtree(out);
    sk_free(tu_write(dir, "rows.csv", "qid,id,question\n7,x,Q7\n8,y,Q8\n"));
    o.bench = "generic";
    o.id_field = "qid";
    if (sk_materialize(&o, &res, &err) != SK_OK)
        fail_msg("%s", err.msg);
    p = sk_fs_join(out, "val/items.json");
    items = load(p);
    text = json_dumps(items, JSON_COMPACT);
    /* the row's own "id" column gives way to the manifest id */
    assert_string_equal(text,
                        "[{\"id\":\"8\",\"qid\":\"8\",\"question\":\"Q8\","
                        "\"image_path\":\"m.png\"}]");
    sk_free(text);
    json_decref(items);
    sk_free(p);
    sk_materialize_result_release(&res);
    sk_free(m);
    sk_free(src);
    sk_free(out);
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_materialize__existing_out(void **state)
{
    struct run r;
    char *old;
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", "searchqa_rows.jsonl");
    old = tu_write(r.out, "old.txt", "keep me");
    assert_int_equal(run_go(&r), SK_EINVAL);
    assert_non_null(strstr(r.err.msg, "already exists (use --force"));
    assert_true(sk_fs_exists(old));
    r.o.force = 1;
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_false(sk_fs_exists(old)); /* replaced as a whole */
    assert_same_items(r.out, "searchqa");
    assert_int_equal(count_entries(r.tmp), 1);
    sk_free(old);
    run_release(&r);
}

static void test_materialize__local_checksum(void **state)
{
    struct run r;
    char hex[65], was;
    char *text;
    size_t len;
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", "searchqa_rows.jsonl");
    text = tu_read(r.source, &len);
    assert_int_equal(sk_sha256_hex(text, len, hex), SK_OK);
    sk_free(text);
    was = hex[0];
    hex[0] = was == 'a' ? 'b' : 'a';
    r.o.fetch.sha256 = hex;
    assert_int_equal(run_go(&r), SK_EDATA);
    assert_non_null(strstr(r.err.msg, "checksum mismatch"));
    assert_nothing_left(&r);
    hex[0] = was;
    sk_materialize_result_release(&r.res);
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    sk_materialize_result_release(&r.res);
    tu_rmtree(r.out);
    r.o.fetch.sha256 = "abc";
    assert_int_equal(run_go(&r), SK_EINVAL);
    assert_non_null(strstr(r.err.msg, "64 hexadecimal digits"));
    run_release(&r);
}

/* ---- the fake HTTP server ----------------------------------------------- */

struct server {
    struct MHD_Daemon *d;
    int port;
    char *rows; /* searchqa_rows.jsonl */
    size_t rows_len;
    char *csv; /* officeqa_full.csv */
    size_t csv_len;
    char base[64];
};

static struct server srv;

struct trunc {
    const char *data;
    size_t len;
};

static struct trunc trunc_body;

static ssize_t trunc_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    const struct trunc *t = cls;
    size_t n;
    if (pos >= t->len / 2)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = t->len / 2 - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **req)
{
    static int first;
    (void)cls;
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_len;
    if (*req == NULL) {
        *req = &first;
        return MHD_YES;
    }
    if (strcmp(url, "/data/rows.jsonl") == 0)
        return reply(c, 200, srv.rows, srv.rows_len);
    if (strcmp(url, "/officeqa_full.csv") == 0)
        return reply(c, 200, srv.csv, srv.csv_len);
    if (strcmp(url, "/gated/rows.jsonl") == 0) {
        const char *auth =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!auth || strcmp(auth, "Bearer sekrit-token-123") != 0)
            return reply(c, 401, "no", 2);
        return reply(c, 200, srv.rows, srv.rows_len);
    }
    if (strcmp(url, "/moved") == 0) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            0, (void *)"", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret;
        MHD_add_response_header(resp, "Location", "/data/rows.jsonl");
        ret = MHD_queue_response(c, 302, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (strcmp(url, "/trunc.jsonl") == 0) {
        struct MHD_Response *resp;
        enum MHD_Result ret;
        trunc_body.data = srv.rows;
        trunc_body.len = srv.rows_len;
        /* the announced length is the whole file; half is sent */
        resp = MHD_create_response_from_callback(
            srv.rows_len, 1024, trunc_reader, &trunc_body, NULL);
        ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (strcmp(url, "/boom") == 0)
        return reply(c, 503, "busy", 4);
    return reply(c, 404, "not found", 9);
}

static int server_start(void **state)
{
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;
    char *p;
    (void)state;
    p = fix("searchqa_rows.jsonl");
    srv.rows = tu_read(p, &srv.rows_len);
    sk_free(p);
    p = fix("officeqa_full.csv");
    srv.csv = tu_read(p, &srv.csv_len);
    sk_free(p);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                             on_request, NULL, MHD_OPTION_SOCK_ADDR,
                             (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!srv.d || !srv.rows || !srv.csv)
        return -1;
    info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
    srv.port = info ? (int)info->port : 0;
    snprintf(srv.base, sizeof srv.base, "http://127.0.0.1:%d", srv.port);
    return srv.port ? 0 : -1;
}

static int server_stop(void **state)
{
    (void)state;
    if (srv.d)
        MHD_stop_daemon(srv.d);
    sk_free(srv.rows);
    sk_free(srv.csv);
    memset(&srv, 0, sizeof srv);
    return 0;
}

static char *url(const char *path)
{
    struct sk_buf b;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_printf(&b, "%s%s", srv.base, path), SK_OK);
    return sk_buf_detach(&b, NULL);
}

static void test_materialize__http_jsonl(void **state)
{
    struct run r;
    char *u = url("/data/rows.jsonl"), *meta_p;
    char hex[65];
    json_t *meta;
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", u);
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "searchqa");
    assert_int_equal(sk_sha256_hex(srv.rows, srv.rows_len, hex), SK_OK);
    assert_string_equal(r.res.sha256, hex);
    meta_p = sk_fs_join(r.out, "split_manifest.json");
    meta = load(meta_p);
    assert_string_equal(json_string_value(json_object_get(meta, "source")), u);
    json_decref(meta);
    sk_free(meta_p);
    /* the download itself is gone */
    assert_int_equal(count_entries(r.tmp), 1);
    assert_int_equal(count_entries(r.out), 4);
    run_release(&r);
    sk_free(u);
}

static void test_materialize__http_csv_checksum(void **state)
{
    struct run r;
    char *u = url("/officeqa_full.csv");
    char hex[65];
    (void)state;
    assert_int_equal(sk_sha256_hex(srv.csv, srv.csv_len, hex), SK_OK);
    run_init(&r, "officeqa", "manifest_officeqa", u);
    r.o.fetch.sha256 = hex;
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "officeqa");
    tu_rmtree(r.out);
    sk_materialize_result_release(&r.res);
    hex[10] = hex[10] == '0' ? '1' : '0';
    assert_int_equal(run_go(&r), SK_EDATA);
    assert_non_null(strstr(r.err.msg, "checksum mismatch: expected sha256 "));
    assert_non_null(strstr(r.err.msg, "the download was discarded"));
    assert_nothing_left(&r);
    run_release(&r);
    sk_free(u);
}

static const struct {
    const char *path;
    int rc;
    const char *msg;
} http_errors[] = {
    {"/nothing-here.jsonl", SK_ENOTFOUND, ": HTTP 404 (not found)"},
    {"/trunc.jsonl", SK_EIO, ": the body ended early after "},
    {"/boom", SK_EIO, "/boom: HTTP 503"},
    {"/gated/rows.jsonl", SK_EIO,
     "HTTP 401 (access denied; a gated dataset "
     "needs a token: --token-env VAR)"},
};

static void test_materialize__http_errors(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(http_errors); i++) {
        struct run r;
        char *u = url(http_errors[i].path);
        int rc;
        run_init(&r, "searchqa", "manifest_searchqa", u);
        rc = run_go(&r);
        if (rc != http_errors[i].rc || !strstr(r.err.msg, http_errors[i].msg))
            fail_msg("%s: got %d \"%s\"", http_errors[i].path, rc, r.err.msg);
        assert_nothing_left(&r);
        run_release(&r);
        sk_free(u);
    }
}

static void test_materialize__http_token_redirect_cap(void **state)
{
    struct run r;
    char *u = url("/gated/rows.jsonl"), *moved = url("/moved");
    (void)state;
    run_init(&r, "searchqa", "manifest_searchqa", u);
    r.o.fetch.bearer_token = "sekrit-token-123";
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "searchqa");
    run_release(&r);
    run_init(&r, "searchqa", "manifest_searchqa", moved);
    if (run_go(&r) != SK_OK)
        fail_msg("%s", r.err.msg);
    assert_same_items(r.out, "searchqa");
    tu_rmtree(r.out);
    sk_materialize_result_release(&r.res);
    r.o.fetch.max_bytes = 100;
    assert_int_equal(run_go(&r), SK_ETOOBIG);
    assert_non_null(strstr(r.err.msg, "larger than the cap of 100 bytes"));
    assert_nothing_left(&r);
    run_release(&r);
    sk_free(u);
    sk_free(moved);
}

/* sk_fetch_url itself: the file, its digest, progress, and cleanliness. */
static void test_materialize__fetch(void **state)
{
    char *dir = tu_mkdtemp(), *dest = sk_fs_join(dir, "rows.jsonl");
    char *u = url("/data/rows.jsonl"), *bad = url("/trunc.jsonl");
    char *text, *log = NULL, hex[65], refused[64];
    size_t len, loglen = 0;
    struct sk_fetch_opts o;
    struct sk_fetch_result res;
    struct sk_error err;
    FILE *fp;
    (void)state;
    sk_fetch_opts_init(&o);
    fp = open_memstream(&log, &loglen);
    o.progress = fp;
    assert_int_equal(sk_fetch_url(u, dest, &o, &res, &err), SK_OK);
    fclose(fp);
    text = tu_read(dest, &len);
    assert_int_equal(len, srv.rows_len);
    assert_memory_equal(text, srv.rows, len);
    sk_free(text);
    assert_int_equal(sk_sha256_hex(srv.rows, srv.rows_len, hex), SK_OK);
    assert_string_equal(res.sha256, hex);
    assert_int_equal(res.bytes, srv.rows_len);
    assert_int_equal(res.http_status, 200);
    assert_non_null(strstr(log, "\rdownloading: "));
    assert_int_equal(log[loglen - 1], '\n');
    free(log); /* open_memstream's buffer */
    /* the file's own digest agrees */
    assert_int_equal(sk_fetch_file_sha256(dest, hex, NULL, &err), SK_OK);
    assert_string_equal(res.sha256, hex);
    /* a failure leaves no file behind and keeps what was there */
    o.progress = NULL;
    assert_int_equal(sk_fetch_url(bad, dest, &o, &res, &err), SK_EIO);
    assert_int_equal(count_entries(dir), 1);
    tu_rmtree(dest);
    assert_int_equal(sk_fetch_url(bad, dest, &o, &res, &err), SK_EIO);
    assert_int_equal(count_entries(dir), 0);
    /* not a URL; a port nobody listens on */
    assert_int_equal(sk_fetch_url("ftp://x/y", dest, &o, &res, &err),
                     SK_EINVAL);
    snprintf(refused, sizeof refused, "http://127.0.0.1:1/x");
    assert_int_equal(sk_fetch_url(refused, dest, &o, &res, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "GET http://127.0.0.1:1/x: "));
    assert_int_equal(count_entries(dir), 0);
    assert_true(sk_fetch_is_url("HTTPS://x"));
    assert_false(sk_fetch_is_url("file:///x"));
    assert_true(sk_fetch_sha256_valid(hex));
    assert_false(sk_fetch_sha256_valid("12"));
    sk_free(u);
    sk_free(bad);
    sk_free(dest);
    tu_rmtree(dir);
    sk_free(dir);
}

/* ---- allocation failures ------------------------------------------------ */

struct sweep_ctx {
    struct sk_materialize_opts o;
    int expect; /* the status of a run without failures */
};

static int sweep_body(void *p)
{
    struct sweep_ctx *c = p;
    struct sk_materialize_result res;
    struct sk_error err;
    int rc = sk_materialize(&c->o, &res, &err);
    sk_materialize_result_release(&res);
    if (rc == SK_OK)
        tu_rmtree(c->o.out_dir);
    return rc == c->expect ? 0 : rc;
}

static void test_materialize__alloc_failures(void **state)
{
    static const char *const cases[][3] = {
        {"searchqa", "manifest_searchqa", "searchqa_rows.jsonl"},
        {"searchqa", "manifest_searchqa", "searchqa_partial.jsonl"},
        {"officeqa", "manifest_officeqa", "officeqa_full.csv"},
        {"livemath", "manifest_livemath", "livemath_src"},
        {"searchqa", "manifest_searchqa", "searchqa_dir"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct run r;
        struct sweep_ctx c;
        run_init(&r, cases[i][0], cases[i][1], cases[i][2]);
        c.o = r.o;
        c.expect = i == 1 ? SK_EDATA : SK_OK;
        assert_true(tu_alloc_sweep(sweep_body, &c) > 10);
        assert_int_equal(count_entries(r.tmp), 0);
        run_release(&r);
    }
}

int main(void)
{
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_materialize__searchqa_jsonl),
        cmocka_unit_test(test_materialize__searchqa_dir),
        cmocka_unit_test(test_materialize__officeqa_csv),
        cmocka_unit_test(test_materialize__livemath_dir),
        cmocka_unit_test(test_materialize__missing_ids),
        cmocka_unit_test(test_materialize__errors),
        cmocka_unit_test(test_materialize__csv_rows),
        cmocka_unit_test(test_materialize__generic_merge),
        cmocka_unit_test(test_materialize__existing_out),
        cmocka_unit_test(test_materialize__local_checksum),
        cmocka_unit_test(test_materialize__alloc_failures),
    };
    const struct CMUnitTest http[] = {
        cmocka_unit_test(test_materialize__http_jsonl),
        cmocka_unit_test(test_materialize__http_csv_checksum),
        cmocka_unit_test(test_materialize__http_errors),
        cmocka_unit_test(test_materialize__http_token_redirect_cap),
        cmocka_unit_test(test_materialize__fetch),
    };
    int failed = cmocka_run_group_tests_name("local", local, NULL, NULL);
    failed +=
        cmocka_run_group_tests_name("http", http, server_start, server_stop);
    return failed;
}
