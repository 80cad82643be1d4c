/*
 * test_jsonx.c - JSON extraction from model replies: the reference's pinned
 * precedence (algorithm.md 10.3/10.4, tests/test_json_utils.py), reasoning
 * blocks, each repair, each limit, truncation and allocation failures.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/jsonx.h"

typedef int (*extract_fn)(const char *, size_t, struct json_t **,
                          struct sk_error *);

struct ok_case {
    const char *text;
    const char *want; /* expected value as JSON text */
};

struct bad_case {
    const char *text;
    const char *reason; /* substring of err.msg */
};

static void check_ok(extract_fn fn, const struct ok_case *c)
{
    struct sk_error err;
    json_t *got = NULL, *want;
    json_error_t jerr;
    int rc;

    sk_error_clear(&err);
    rc = fn(c->text, strlen(c->text), &got, &err);
    if (rc != SK_OK)
        fail_msg("input <<%s>>: rc %d (%s)", c->text, rc, err.msg);
    want = json_loads(c->want, JSON_DECODE_ANY, &jerr);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *s = json_dumps(got, JSON_ENCODE_ANY);
        fail_msg("input <<%s>>: got %s, want %s", c->text, s ? s : "?",
                 c->want);
    }
    json_decref(want);
    json_decref(got);
}

static void check_bad(extract_fn fn, const char *text, size_t len, int want_rc,
                      const char *reason)
{
    struct sk_error err;
    json_t *got = (json_t *)&err; /* must be reset to NULL */
    int rc;

    sk_error_clear(&err);
    rc = fn(text, len, &got, &err);
    if (rc != want_rc)
        fail_msg("input <<%.200s>>: rc %d, want %d (%s)", text, rc, want_rc,
                 err.msg);
    assert_null(got);
    assert_int_equal(err.code, want_rc);
    if (!strstr(err.msg, reason))
        fail_msg("input <<%.200s>>: reason \"%s\" lacks \"%s\"", text, err.msg,
                 reason);
}

static void run_ok(extract_fn fn, const struct ok_case *c, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        check_ok(fn, &c[i]);
}

static void run_bad(extract_fn fn, const struct bad_case *c, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        check_bad(fn, c[i].text, strlen(c[i].text), SK_EPARSE, c[i].reason);
}

/* Pinned by the reference's TestExtractJson. */
static void test_jsonx__reference_objects(void **state)
{
    static const struct ok_case ok[] = {
        {"Some text\n```json\n{\"key\": \"value\", \"num\": 42}\n```\nmore",
         "{\"key\": \"value\", \"num\": 42}"},
        {"The result is {\"answer\": \"yes\", \"score\": 0.95}.",
         "{\"answer\": \"yes\", \"score\": 0.95}"},
        /* fence beats bare */
        {"```json\n{\"source\": \"fence\"}\n```\nThen also {\"source\": "
         "\"bare\"}",
         "{\"source\": \"fence\"}"},
        /* broken fence falls back to bare */
        {"```json\nnot json at all\n```\nAnswer: {\"fallback\": \"yes\"}",
         "{\"fallback\": \"yes\"}"},
        {"```json\n{\"outer\": {\"inner\": [1, 2, 3]}}\n```",
         "{\"outer\": {\"inner\": [1, 2, 3]}}"},
        {"{\"empty\": {}}", "{\"empty\": {}}"},
        {"{\"message\": \"hello\\nworld\"}",
         "{\"message\": \"hello\\nworld\"}"},
        /* a ```json fence may hold any value, as in the reference */
        {"```json\n[1, 2]\n```", "[1, 2]"},
        {"```json\n\"just a string\"\n```", "\"just a string\""},
        /* Python's json keeps the last duplicate key; so do we */
        {"{\"a\": 1, \"a\": 2}", "{\"a\": 2}"},
        /* greedy span: first '{' to last '}' */
        {"x {\"a\": {\"b\": 1}} y", "{\"a\": {\"b\": 1}}"},
    };
    static const struct bad_case bad[] = {
        {"", "no JSON object found"},
        {"Just plain text without JSON.", "no JSON object found"},
        {"{broken", "object is truncated"},
        {"```\nplain code block\n```", "no JSON object found"},
    };
    (void)state;
    run_ok(sk_extract_json, ok, SK_ARRAY_LEN(ok));
    run_bad(sk_extract_json, bad, SK_ARRAY_LEN(bad));
}

/* Fences beyond the reference: "JSON" in any case and plain ``` blocks. */
static void test_jsonx__fences(void **state)
{
    static const struct ok_case ok[] = {
        {"```JSON\n{\"a\": 1}\n```", "{\"a\": 1}"},
        {"```\n{\"from\": \"fence\"}\n```\nalso {\"from\": \"bare\"}",
         "{\"from\": \"fence\"}"},
        /* a ```json fence wins over an earlier plain one */
        {"```\n{\"p\": 1}\n```\n```json\n{\"j\": 2}\n```", "{\"j\": 2}"},
        /* a plain fence holding a non-object is passed over */
        {"```\n[1]\n```\nThe answer: {\"a\": 1}", "{\"a\": 1}"},
        /* the closing fence of a ```python block opens nothing */
        {"```python\nx = 1\n```\n{\"wrong\": 1}\n```\n{\"right\": 2}\n```",
         "{\"right\": 2}"},
        /* a fenced body with one malformed object is the repair target */
        {"```json\n{\"a\": 1,}\n```\nand {\"b\": 2}", "{\"a\": 1}"},
    };
    static const struct bad_case bad[] = {
        {"```json\n{\"a\": 1 \"b\": 2}\n```",
         "fenced block is not valid JSON and no single object could be "
         "repaired: line 1 col"},
        /* fenced body with junk around its one object: not JSON-like */
        {"```json\nnote: {\"a\": 1,}\n```",
         "fenced block is not valid JSON and no JSON object found"},
    };
    (void)state;
    run_ok(sk_extract_json, ok, SK_ARRAY_LEN(ok));
    run_bad(sk_extract_json, bad, SK_ARRAY_LEN(bad));
}

/* Repair only a single unambiguous, JSON-looking object (10.3 steps 3-5). */
static void test_jsonx__candidate_selection(void **state)
{
    static const struct ok_case ok[] = {
        {"{\"a\":1,}", "{\"a\": 1}"},
        {"{\"edit\": \"add\", \"text\": \"x\",}",
         "{\"edit\": \"add\", \"text\": \"x\"}"},
        {"{\"msg\": \"it's a test\",}", "{\"msg\": \"it's a test\"}"},
        {"{\"code\": \"use `backtick` here\",}",
         "{\"code\": \"use `backtick` here\"}"},
        /* a '{' inside a quoted string never opens an object */
        {"note \"{wrong: 1}\" then actual {\"edit\": \"right\",}",
         "{\"edit\": \"right\"}"},
        /* an unterminated last object is ignored */
        {"{\"a\": 1,} then {\"b\": ", "{\"a\": 1}"},
    };
    static const struct bad_case bad[] = {
        {"{\"first\": true,} noise {\"second\": true,}",
         "2 top-level objects and none is valid JSON"},
        {"The literal string \"{op: delete}\" appears in prose, not as JSON.",
         "no JSON object found"},
        {"The literal string '{op: delete}' appears in prose, not JSON.",
         "not followed by a quoted key"},
        {"The inline code `{op: delete}` appears in prose, not JSON.",
         "not followed by a quoted key"},
        {"The literal string 'set it to {x: 1}' appears in prose.",
         "not followed by a quoted key"},
        {"A bare mapping {op: delete} written in prose.",
         "not followed by a quoted key"},
        {"label is \"set it to {x: 1}\" done", "no JSON object found"},
        {"{\"a\": 1 \"b\": 2}",
         "no single object could be repaired: line 1 col"},
    };
    (void)state;
    run_ok(sk_extract_json, ok, SK_ARRAY_LEN(ok));
    run_bad(sk_extract_json, bad, SK_ARRAY_LEN(bad));
}

/* Each of our own repairs. */
static void test_jsonx__repairs(void **state)
{
    static const struct ok_case ok[] = {
        /* trailing commas, also in nested arrays and objects */
        {"{\"a\": [1, 2,], \"b\": {\"c\": 3,},\n}",
         "{\"a\": [1, 2], \"b\": {\"c\": 3}}"},
        /* raw newline, tab, CR and other control characters in strings */
        {"{\"a\": \"line1\nline2\tend\r\x01\"}",
         "{\"a\": \"line1\\nline2\\tend\\r\\u0001\"}"},
        /* typographic double quotes as delimiters */
        {"{\xe2\x80\x9c"
         "a\xe2\x80\x9d: \xe2\x80\x9c"
         "b\xe2\x80\x9d}",
         "{\"a\": \"b\"}"},
        /* ... but inside an ASCII-quoted string they are content */
        {"{\"a\": \"say \xe2\x80\x9chi\xe2\x80\x9d\",}",
         "{\"a\": \"say \xe2\x80\x9chi\xe2\x80\x9d\"}"},
        /* single typographic quotes are never delimiters */
        {"{\"a\": \"it\xe2\x80\x99s \xe2\x80\x98x\xe2\x80\x99\",}",
         "{\"a\": \"it\xe2\x80\x99s \xe2\x80\x98x\xe2\x80\x99\"}"},
        /* unescaped inner quotes */
        {"{\"text\": \"He said \"hi\" to me\", \"n\": 1}",
         "{\"text\": \"He said \\\"hi\\\" to me\", \"n\": 1}"},
        {"{\"t\": \"a \"quoted\", word\"}",
         "{\"t\": \"a \\\"quoted\\\", word\"}"},
        /* invalid escapes keep their backslash */
        {"{\"re\": \"\\d+\\.\\w\"}", "{\"re\": \"\\\\d+\\\\.\\\\w\"}"},
        {"{\"u\": \"\\u00e9 \\uZZ\"}", "{\"u\": \"\\u00e9 \\\\uZZ\"}"},
    };
    static const struct bad_case bad[] = {
        /* a smart-quoted string that never closes is truncation */
        {"{\"a\": \xe2\x80\x9cx}", "object is truncated"},
        /* the candidate scan follows ASCII quotes only (as the reference),
         * so a smart-opened string closed by '"' hides the closing brace */
        {"{\"a\": \xe2\x80\x9cmixed\"}", "object is truncated"},
        {"{\xe2\x80\x98"
         "a\xe2\x80\x99: 1}",
         "not followed by a quoted key"},
    };
    (void)state;
    run_ok(sk_extract_json, ok, SK_ARRAY_LEN(ok));
    run_bad(sk_extract_json, bad, SK_ARRAY_LEN(bad));
}

/* Never auto-close: unbalanced braces or open strings are refused. */
static void test_jsonx__truncated(void **state)
{
    static const struct bad_case bad[] = {
        {"{\"a\": 1, \"b\": ", "object is truncated"},
        {"Here you go: {\"edits\": [{\"op\": \"add\"", "object is truncated"},
        {"{\"a\": \"unterminated}", "object is truncated"},
        {"```json\n{\"a\": {\"b\": 1}\n```", "object is truncated"},
    };
    (void)state;
    run_bad(sk_extract_json, bad, SK_ARRAY_LEN(bad));
}

/* <think>/<thinking>/<reasoning> blocks are removed before extraction. */
static void test_jsonx__reasoning_blocks(void **state)
{
    static const struct ok_case ok[] = {
        {"<think>\nMaybe {\"draft\": 1}?\n</think>\n{\"final\": 2}",
         "{\"final\": 2}"},
        {"<THINKING>{\"x\": 1}</Thinking>\n{\"y\": 2}", "{\"y\": 2}"},
        {"  <reasoning>[1] {\"r\": 0}</reasoning>{\"y\": 3}", "{\"y\": 3}"},
        {"<think>a</think>\n<think>{\"b\": 1}</think>\n{\"c\": 2}",
         "{\"c\": 2}"},
        /* the API dropped the opening tag: leading orphan closing tag */
        {"so the draft is {\"draft\": 1}\n</think>\n{\"final\": 2}",
         "{\"final\": 2}"},
        {"draft {\"d\": 1}.</think>  \n{\"final\": 2}", "{\"final\": 2}"},
        /* tags quoted inside JSON strings are content, not reasoning */
        {"{\"note\": \"wrap it in <think>x</think>\"}",
         "{\"note\": \"wrap it in <think>x</think>\"}"},
        {"{\"note\": \"ends with </think>\"}",
         "{\"note\": \"ends with </think>\"}"},
    };
    static const struct bad_case bad[] = {
        {"<think>\nlet me see {\"a\": 1}", "reply ends inside a <think> block"},
        {"{\"a\": 1}\n<think>\nmore", "reply ends inside a <think> block"},
        {"<thinking>\nhm", "reply ends inside a <thinking> block"},
        {"<think>\n{\"a\": 1}\n</think>\n", "no JSON object found"},
    };
    static const struct ok_case ok_arr[] = {
        {"<think>\n[1]\n</think>\n[2]", "[2]"},
    };
    (void)state;
    run_ok(sk_extract_json, ok, SK_ARRAY_LEN(ok));
    run_bad(sk_extract_json, bad, SK_ARRAY_LEN(bad));
    run_ok(sk_extract_json_array, ok_arr, SK_ARRAY_LEN(ok_arr));
    check_bad(sk_extract_json_array, "<think>\n[1]", 11, SK_EPARSE,
              "reply ends inside a <think> block");
}

/* Builds prefix + n copies of unit + suffix into b. */
static void build(struct sk_buf *b, const char *prefix, const char *unit,
                  size_t n, const char *suffix)
{
    size_t i;
    sk_buf_init(b, SK_BUF_UNLIMITED);
    assert_int_equal(sk_buf_puts(b, prefix), SK_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(sk_buf_puts(b, unit), SK_OK);
    assert_int_equal(sk_buf_puts(b, suffix), SK_OK);
}

/* Nesting deeper than 64 levels: the given text nested n levels. */
static void nest(struct sk_buf *b, size_t n)
{
    size_t i;
    sk_buf_init(b, SK_BUF_UNLIMITED);
    for (i = 0; i < n; i++)
        assert_int_equal(sk_buf_puts(b, "{\"a\":"), SK_OK);
    assert_int_equal(sk_buf_putc(b, '1'), SK_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(sk_buf_putc(b, '}'), SK_OK);
}

static void test_jsonx__limits(void **state)
{
    struct sk_buf b;
    struct sk_error err;
    json_t *v = NULL;
    char *big;
    (void)state;

    /* 64 levels pass, 65 and 2000 fail softly with the reason */
    nest(&b, 64);
    assert_int_equal(sk_extract_json(b.data, b.len, &v, &err), SK_OK);
    json_decref(v);
    sk_buf_release(&b);
    nest(&b, 65);
    check_bad(sk_extract_json, b.data, b.len, SK_EPARSE,
              "nesting deeper than 64");
    sk_buf_release(&b);
    nest(&b, 2000);
    check_bad(sk_extract_json, b.data, b.len, SK_EPARSE,
              "nesting deeper than 64");
    sk_buf_release(&b);
    build(&b, "```json\n", "[", 2000, "\n```");
    check_bad(sk_extract_json, b.data, b.len, SK_EPARSE,
              "nesting deeper than 64");
    sk_buf_release(&b);
    build(&b, "", "[", 2000, "");
    {
        size_t i;
        for (i = 0; i < 2000; i++)
            assert_int_equal(sk_buf_putc(&b, ']'), SK_OK);
    }
    check_bad(sk_extract_json_array, b.data, b.len, SK_EPARSE,
              "nesting deeper than 64");
    sk_buf_release(&b);

    /* 100 digits pass (as a real), 101 and a 5000-digit integer fail */
    build(&b, "{\"n\": 0.", "1", 99, "}");
    assert_int_equal(sk_extract_json(b.data, b.len, &v, &err), SK_OK);
    assert_true(json_is_real(json_object_get(v, "n")));
    json_decref(v);
    sk_buf_release(&b);
    build(&b, "{\"n\": 0.", "1", 100, "}");
    check_bad(sk_extract_json, b.data, b.len, SK_EPARSE,
              "number longer than 100 digits");
    sk_buf_release(&b);
    build(&b, "{\"n\": ", "7", 5000, "}");
    check_bad(sk_extract_json, b.data, b.len, SK_EPARSE,
              "number longer than 100 digits");
    sk_buf_release(&b);
    build(&b, "[", "7", 5000, "]");
    check_bad(sk_extract_json_array, b.data, b.len, SK_EPARSE,
              "number longer than 100 digits");
    sk_buf_release(&b);
    /* digits inside strings are not numbers */
    build(&b, "{\"s\": \"", "7", 5000, "\"}");
    assert_int_equal(sk_extract_json(b.data, b.len, &v, &err), SK_OK);
    assert_int_equal(json_string_length(json_object_get(v, "s")), 5000);
    json_decref(v);
    sk_buf_release(&b);

    /* input size */
    big = sk_malloc(SK_JSONX_MAX_INPUT + 1);
    assert_non_null(big);
    memset(big, ' ', SK_JSONX_MAX_INPUT + 1);
    memcpy(big, "{\"a\": 1}", 8);
    check_bad(sk_extract_json, big, SK_JSONX_MAX_INPUT + 1, SK_ETOOBIG,
              "limit");
    check_bad(sk_extract_json_array, big, SK_JSONX_MAX_INPUT + 1, SK_ETOOBIG,
              "limit");
    assert_int_equal(sk_extract_json(big, SK_JSONX_MAX_INPUT, &v, &err), SK_OK);
    json_decref(v);
    sk_free(big);
}

/* Pinned by the reference's TestExtractJsonArray. */
static void test_jsonx__reference_arrays(void **state)
{
    static const struct ok_case ok[] = {
        {"```json\n[\"a\", \"b\", \"c\"]\n```", "[\"a\", \"b\", \"c\"]"},
        {"The items are [1, 2, 3].", "[1, 2, 3]"},
        {"```json\n[\"from_fence\"]\n```\nalso [\"from_bare\"]",
         "[\"from_fence\"]"},
        {"```json\nnot json at all\n```\nvalues: [42]", "[42]"},
        {"```json\n[[1, 2], [3, 4]]\n```", "[[1, 2], [3, 4]]"},
        {"[]", "[]"},
        {"[{\"x\": 1}, {\"x\": 2}]", "[{\"x\": 1}, {\"x\": 2}]"},
        {"Use [not JSON] as prose. Final answer: [1, 2, 3]", "[1, 2, 3]"},
        {"Explanation uses {placeholder, final answer [1, 2]", "[1, 2]"},
        /* a '[' inside a quoted string never opens an array */
        {"label is \"set it to [x]\" and [5]", "[5]"},
        /* an unmatched '{' later does not hide anything either */
        {"[9] then {oops", "[9]"},
        /* a fenced object is passed over (the reference would return it) */
        {"```json\n{\"a\": 1}\n```\n[7]", "[7]"},
        {"```\n[\"plain\"]\n```", "[\"plain\"]"},
    };
    static const struct bad_case bad[] = {
        {"no brackets here", "no JSON array found"},
        {"", "no JSON array found"},
        {"[1, 2, ", "array is truncated"},
        /* a bare object, and arrays nested in objects, never count */
        {"{\"this is an object\": true}", "no JSON array found"},
        {"{\"items\": [1, 2, 3]}", "no JSON array found"},
        /* exactly one parsing array */
        {"First candidate [1], second candidate [2]",
         "2 or more top-level arrays are valid JSON"},
        {"label is \"set it to [x]\" done", "no JSON array found"},
        {"[not json] and [also not]", "no top-level array is valid JSON"},
        {"```json\n[1,\n```", "fenced block is not valid JSON and"},
    };
    (void)state;
    run_ok(sk_extract_json_array, ok, SK_ARRAY_LEN(ok));
    run_bad(sk_extract_json_array, bad, SK_ARRAY_LEN(bad));
}

/*
 * Pathological 1 MiB inputs finish promptly (a quadratic scan would take
 * minutes and hit the ctest timeout) and fail with the expected reason.
 */
static void test_jsonx__linear_on_hostile_input(void **state)
{
    static const struct {
        const char *unit, *suffix, *obj_reason, *arr_reason;
    } c[] = {
        {"{", " final answer [1, 2]", "object is truncated", NULL},
        {"{\"a\": 1}", "", "top-level objects", "no JSON array found"},
        {"\"{", "", "object is truncated", "no JSON array found"},
        {"```json\n", "", "no JSON object found", "no JSON array found"},
        {"```\n", "", "no JSON object found", "no JSON array found"},
        {"<think>\n</think>\n", "", "no JSON object found",
         "no JSON array found"},
        {"</think>\n", "", "no JSON object found", "no JSON array found"},
        {"[1] ", "", "no JSON object found", "top-level arrays"},
        {"[", "", "no JSON object found", "array is truncated"},
        {"{\"a\": \"b\", ", "}", "nesting deeper", NULL},
        {"\" \" ,", "", "no JSON object found", "no JSON array found"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(c); i++) {
        struct sk_buf b;
        size_t reps = (1u << 20) / strlen(c[i].unit);
        build(&b, "", c[i].unit, reps, c[i].suffix);
        if (c[i].obj_reason)
            check_bad(sk_extract_json, b.data, b.len, SK_EPARSE,
                      c[i].obj_reason);
        if (c[i].arr_reason)
            check_bad(sk_extract_json_array, b.data, b.len, SK_EPARSE,
                      c[i].arr_reason);
        sk_buf_release(&b);
    }
}

struct sweep_ctx {
    extract_fn fn;
    const char *text;
    json_t *want; /* parsed before the sweep so it allocates nothing */
};

static int sweep_body(void *arg)
{
    const struct sweep_ctx *c = arg;
    json_t *got = NULL;
    int rc = c->fn(c->text, strlen(c->text), &got, NULL);
    if (rc != SK_OK)
        return rc;
    assert_true(json_equal(got, c->want));
    json_decref(got);
    return 0;
}

/*
 * Fails every allocation in turn on inputs that take each route (strip,
 * fence, greedy, repair, smart quotes, array brace table).  Tokens stay
 * under 16 bytes: jansson 2.14 silently drops bytes when growing its token
 * buffer fails, which no caller can detect.
 */
static void test_jsonx__alloc_failure_sweep(void **state)
{
    static const struct ok_case c[] = {
        {"<think>\nhm {\"q\": 0}\n</think>\n{\"a\": [1, 2]}",
         "{\"a\": [1, 2]}"},
        {"```json\n{\"k\": \"v\"}\n```", "{\"k\": \"v\"}"},
        {"{\"a\": 1,}", "{\"a\": 1}"},
        {"```json\n{\"k\": \"v\",}\n```\nx {\"b\": 1}", "{\"k\": \"v\"}"},
        {"{\"a\": \xe2\x80\x9c"
         "b\xe2\x80\x9d, \"c\": \"\n\"}",
         "{\"a\": \"b\", \"c\": \"\\n\"}"},
        {"A {\"z\": [2]} and [1, {\"y\": 3}]", "[1, {\"y\": 3}]"},
        {"<think>\n[0]\n</think>\n```\n[5]\n```", "[5]"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(c); i++) {
        struct sweep_ctx ctx;
        ctx.fn = c[i].want[0] == '[' ? sk_extract_json_array : sk_extract_json;
        ctx.text = c[i].text;
        ctx.want = json_loads(c[i].want, 0, NULL);
        assert_non_null(ctx.want);
        assert_true(tu_alloc_sweep(sweep_body, &ctx) > 1);
        json_decref(ctx.want);
    }
}

static void test_jsonx__bad_arguments(void **state)
{
    struct sk_error err;
    json_t *v = NULL;
    (void)state;
    assert_int_equal(sk_extract_json(NULL, 3, &v, &err), SK_EINVAL);
    assert_int_equal(sk_extract_json("{}", 2, NULL, &err), SK_EINVAL);
    assert_int_equal(sk_extract_json(NULL, 0, &v, NULL), SK_EPARSE);
    assert_null(v);
    /* the length bounds the text: no NUL terminator is needed */
    assert_int_equal(sk_extract_json("{\"a\": 1}XYZ", 8, &v, &err), SK_OK);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonx__reference_objects),
        cmocka_unit_test(test_jsonx__fences),
        cmocka_unit_test(test_jsonx__candidate_selection),
        cmocka_unit_test(test_jsonx__repairs),
        cmocka_unit_test(test_jsonx__truncated),
        cmocka_unit_test(test_jsonx__reasoning_blocks),
        cmocka_unit_test(test_jsonx__limits),
        cmocka_unit_test(test_jsonx__reference_arrays),
        cmocka_unit_test(test_jsonx__linear_on_hostile_input),
        cmocka_unit_test(test_jsonx__alloc_failure_sweep),
        cmocka_unit_test(test_jsonx__bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
