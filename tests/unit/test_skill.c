/*
 * test_skill.c - skill load/save, protected regions, slow-update block and
 * appendix.  Parity vectors (tests/fixtures/skill/blocks.json) come from
 * the Python reference via tests/fixtures/edit/gen_vectors.py.
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

#include "skill/skill.h"
#include "testutil.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

#define SU_S SK_SLOW_UPDATE_START
#define SU_E SK_SLOW_UPDATE_END
#define AP_S SK_APPENDIX_START
#define AP_E SK_APPENDIX_END

static void write_bytes(const char *path, const char *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void test_skill__roundtrip_byte_exact(void **state)
{
    static const char *cases[] = {
        "# Skill\r\n\r\nUse CRLF.\r\n",
        "no trailing newline",
        "\xef\xbb\xbf# BOM kept\n\n\n\ntrailing\n\n\n",
        "",
        "mixed\r\nends\rold mac\n",
        "\t \xe2\x80\x83 caf\xc3\xa9 \xf0\x9f\x98\x80\n",
    };
    char *dir = tu_mkdtemp(), *in, *out;
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *text = NULL, *back;
        size_t n = 99, bn = 0;
        struct sk_error err;
        in = tu_write(dir, "in.md", "");
        size_t want = strlen(cases[i]);
        write_bytes(in, cases[i], want);
        assert_int_equal(sk_skill_load(in, &text, &n, &err), SK_OK);
        assert_int_equal(n, want);
        assert_memory_equal(text, cases[i], n);
        assert_int_equal(text[n], '\0');
        out = tu_write(dir, "out.md", "old");
        assert_int_equal(sk_skill_save(out, text, n, &err), SK_OK);
        back = tu_read(out, &bn);
        assert_non_null(back);
        assert_int_equal(bn, want);
        assert_memory_equal(back, cases[i], bn);
        sk_free(back);
        sk_free(text);
        sk_free(in);
        sk_free(out);
    }
    tu_rmtree(dir);
    sk_free(dir);
}

static void test_skill__load_errors(void **state)
{
    static const struct {
        const char *data;
        size_t len;
        const char *offset; /* expected in the message */
    } bad[] = {
        {"ab\0cd", 5, "offset 2"},
        {"ok\xff", 3, "offset 2"},
        {"x\xc0\xaf", 3, "offset 1"},           /* overlong */
        {"xy\xed\xa0\x80", 5, "offset 2"},      /* surrogate */
        {"\xe2\x82", 2, "offset 0"},            /* truncated */
        {"abc\xf4\x90\x80\x80", 7, "offset 3"}, /* > U+10FFFF */
        {"abcd\x80", 5, "offset 4"},            /* lone continuation */
    };
    char *dir = tu_mkdtemp(), *path, *text = (char *)"keep", *missing;
    struct sk_error err;
    size_t i;
    (void)state;
    path = tu_write(dir, "bin.md", "");
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        write_bytes(path, bad[i].data, bad[i].len);
        assert_int_equal(sk_skill_load(path, &text, NULL, &err), SK_EDATA);
        assert_non_null(strstr(err.msg, path));
        if (!strstr(err.msg, bad[i].offset))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].offset);
        assert_string_equal(text, "keep");
    }
    missing = sk_fs_join(dir, "nope.md");
    assert_int_equal(sk_skill_load(missing, &text, NULL, &err), SK_ENOTFOUND);
    sk_free(missing);
    {
        /* One byte over the cap. */
        struct sk_buf b;
        sk_buf_init(&b, SK_BUF_UNLIMITED);
        assert_int_equal(sk_buf_reserve(&b, SK_SKILL_MAX_BYTES + 1), SK_OK);
        memset(b.data, 'a', SK_SKILL_MAX_BYTES + 1);
        write_bytes(path, b.data, SK_SKILL_MAX_BYTES + 1);
        assert_int_equal(sk_skill_load(path, &text, NULL, &err), SK_ETOOBIG);
        write_bytes(path, b.data, SK_SKILL_MAX_BYTES);
        assert_int_equal(sk_skill_load(path, &text, NULL, &err), SK_OK);
        sk_free(text);
        sk_buf_release(&b);
    }
    sk_free(path);
    tu_rmtree(dir);
    sk_free(dir);
}

struct region_case {
    const char *text;
    size_t n;
    size_t want[4][4]; /* start, end, kind, closed */
};

static void test_skill__regions(void **state)
{
    /* Offsets: SU_S is 26 bytes, SU_E 24, AP_S 23, AP_E 21. */
    static const struct region_case cases[] = {
        {"plain", 0, {{0}}},
        {"ab" SU_S "x" SU_E "cd", 1, {{2, 53, 0, 1}}},
        /* Two pairs, both listed. */
        {SU_S SU_E "-" SU_S SU_E, 2, {{0, 50, 0, 1}, {51, 101, 0, 1}}},
        /* Orphan start: to the end.  Stray end: nothing. */
        {SU_E "a" SU_S "bc", 1, {{25, 53, 0, 0}}},
        /* A second start before the end is swallowed. */
        {SU_S "a" SU_S "b" SU_E, 1, {{0, 78, 0, 1}}},
        /* Kinds are independent and may interleave. */
        {AP_S SU_S AP_E SU_E, 2, {{0, 70, 1, 1}, {23, 94, 0, 1}}},
        {"x" AP_S "y" AP_E "z" SU_S, 2, {{1, 46, 1, 1}, {47, 73, 0, 0}}},
    };
    struct sk_region_list l;
    size_t i, j;
    (void)state;
    sk_region_list_init(&l);
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        const char *t = cases[i].text;
        size_t len = strlen(t);
        assert_int_equal(sk_skill_regions(t, len, &l), SK_OK);
        if (l.len != cases[i].n)
            fail_msg("case %zu: %zu regions", i, l.len);
        for (j = 0; j < l.len; j++) {
            if (l.items[j].start != cases[i].want[j][0] ||
                l.items[j].end != cases[i].want[j][1] ||
                (size_t)l.items[j].kind != cases[i].want[j][2])
                fail_msg("case %zu region %zu: [%zu,%zu) kind %d", i, j,
                         l.items[j].start, l.items[j].end, l.items[j].kind);
            assert_int_equal(l.items[j].closed, cases[i].want[j][3]);
            /* The span queries agree with the list. */
            assert_true(skill_span_protected(t, len, l.items[j].start,
                                             l.items[j].start + 1));
            assert_true(skill_span_protected(t, len, l.items[j].end - 1,
                                             l.items[j].end));
        }
        assert_int_equal(skill_first_protected(t, len),
                         l.len ? l.items[0].start : len);
    }
    sk_region_list_release(&l);
}

static void test_skill__python_strip(void **state)
{
    static const struct {
        const char *s;
        size_t l, r; /* lstrip offset, rstrip length */
    } cases[] = {
        {"", 0, 0},
        {" \t\n\v\f\r", 6, 0},
        {"\x1c\x1d\x1e\x1f"
         "a",
         4, 5},
        {"\xc2\xa0x\xc2\x85", 2, 3},         /* U+00A0, U+0085 */
        {"\xe3\x80\x80y\xe2\x80\xa9", 3, 4}, /* U+3000, U+2029 */
        {"z\xe2\x80\x8b", 0, 4},             /* U+200B is not space */
        {"z\xff ", 0, 2},                    /* invalid byte stops */
        {"\x80 ", 0, 1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        size_t n = strlen(cases[i].s);
        assert_int_equal(skill_lstrip(cases[i].s, n), cases[i].l);
        assert_int_equal(skill_rstrip(cases[i].s, n), cases[i].r);
    }
}

static json_t *load_blocks(void)
{
    char *path = tu_source_path("tests/fixtures/skill/blocks.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s: %s", path, jerr.text);
    sk_free(path);
    return root;
}

static void test_skill__slow_update_reference(void **state)
{
    json_t *root = load_blocks(), *c;
    size_t i;
    (void)state;
    json_array_foreach(json_object_get(root, "slow"), i, c)
    {
        const char *s = json_string_value(json_object_get(c, "skill"));
        const char *content = json_string_value(json_object_get(c, "content"));
        char *out = NULL;
        size_t n = 0;
        assert_int_equal(sk_skill_replace_slow_update(
                             s, strlen(s), content, strlen(content), &out, &n),
                         SK_OK);
        if (strcmp(out, json_string_value(json_object_get(c, "result"))))
            fail_msg("slow case %zu: [%s]", i, out);
        assert_int_equal(n, strlen(out));
        sk_free(out);
        assert_int_equal(sk_skill_inject_slow_update(s, strlen(s), &out, &n),
                         SK_OK);
        assert_string_equal(out,
                            json_string_value(json_object_get(c, "inject")));
        sk_free(out);
    }
    assert_true(i >= 6);
    json_decref(root);
}

static void test_skill__appendix_reference(void **state)
{
    json_t *root = load_blocks(), *c;
    size_t i;
    (void)state;
    json_array_foreach(json_object_get(root, "appendix"), i, c)
    {
        const char *s = json_string_value(json_object_get(c, "skill"));
        json_t *notes = json_object_get(c, "notes"), *v;
        json_t *existing = json_object_get(c, "existing");
        struct sk_note_list nl, got;
        char *out = NULL;
        size_t j;
        sk_note_list_init(&nl);
        sk_note_list_init(&got);
        json_array_foreach(notes, j, v)
        {
            const char *t = json_string_value(v);
            assert_int_equal(sk_note_list_add(&nl, t, strlen(t)), SK_OK);
        }
        assert_int_equal(sk_skill_appendix_merge(s, strlen(s), &nl, &out, NULL),
                         SK_OK);
        if (strcmp(out, json_string_value(json_object_get(c, "result"))))
            fail_msg("appendix case %zu: [%s]", i, out);
        sk_free(out);
        assert_int_equal(sk_skill_appendix_notes(s, strlen(s), &got), SK_OK);
        assert_int_equal(got.len, json_array_size(existing));
        for (j = 0; j < got.len; j++)
            assert_string_equal(got.items[j],
                                json_string_value(json_array_get(existing, j)));
        assert_int_equal(sk_skill_inject_appendix(s, strlen(s), &out, NULL),
                         SK_OK);
        assert_string_equal(out,
                            json_string_value(json_object_get(c, "inject")));
        sk_free(out);
        sk_note_list_release(&nl);
        sk_note_list_release(&got);
    }
    assert_true(i >= 5);
    json_decref(root);
}

/* 11.14: only the seams where a block was cut are normalised. */
static void test_skill__seam_only_newlines(void **state)
{
    static const struct {
        const char *in;
        const char *want_slow; /* after replace_slow_update(.., "g") */
    } cases[] = {
        {"a\n\n\n\nb\n\n" SU_S "\nold\n" SU_E "\n\n\n\nc\n",
         "a\n\n\n\nb\n\nc\n\n" SU_S "\ng\n" SU_E "\n"},
        {"keep\n\n\n\nthis\n", "keep\n\n\n\nthis\n\n" SU_S "\ng\n" SU_E "\n"},
        {"x\n\n\n" SU_E "\n\n\ny\n\n\n\nz",
         "x\n\ny\n\n\n\nz\n\n" SU_S "\ng\n" SU_E "\n"},
        /* Two adjacent removals merge into one seam. */
        {"p\n\n" SU_S SU_E "\n\n" SU_S SU_E "\n\nq\n\n\nr",
         "p\n\nq\n\n\nr\n\n" SU_S "\ng\n" SU_E "\n"},
        /* A single newline at the seam is left alone. */
        {"p" SU_S "o" SU_E "\nq", "p\nq\n\n" SU_S "\ng\n" SU_E "\n"},
        /* Orphan start: marker only, the text after it stays. */
        {"a\n\n" SU_S "\n\n\nrest\n\n\nend " SU_S " x",
         "a\n\nrest\n\n\nend  x\n\n" SU_S "\ng\n" SU_E "\n"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *out = NULL;
        assert_int_equal(sk_skill_replace_slow_update(cases[i].in,
                                                      strlen(cases[i].in),
                                                      " g ", 3, &out, NULL),
                         SK_OK);
        if (strcmp(out, cases[i].want_slow))
            fail_msg("case %zu: [%s]", i, out);
        sk_free(out);
    }
    {
        const char *in = "r1\n\n\n\nr2\n\n" AP_S "\n- old\n" AP_E "\n\n\n"
                         "tail\n";
        struct sk_note_list nl;
        char *out = NULL;
        sk_note_list_init(&nl);
        assert_int_equal(sk_note_list_add(&nl, "new", 3), SK_OK);
        assert_int_equal(
            sk_skill_appendix_merge(in, strlen(in), &nl, &out, NULL), SK_OK);
        assert_string_equal(out, "r1\n\n\n\nr2\n\ntail\n\n" AP_S
                                 "\n" SK_APPENDIX_HEADING
                                 "\n- old\n- new\n" AP_E "\n");
        sk_free(out);
        sk_note_list_release(&nl);
    }
}

static void test_skill__appendix_rules(void **state)
{
    const char *in = "b\n" AP_S "\n## Execution Notes Appendix\n- A one\n"
                     "-two\n" AP_E "\nmid\n" AP_S "\n*  three \n" AP_E "\n";
    static const char *new_notes[] = {
        "a   ONE.",      /* duplicate of "A one" */
        "Three;",        /* duplicate of "three" */
        " ... ",         /* empty key */
        "four\t\nlines", /* collapsed */
        "x " AP_E " y",  /* markers never enter the block */
        "Four lines -",  /* duplicate after right-trim */
    };
    struct sk_note_list nl, got;
    char *out = NULL, *again = NULL;
    size_t i;
    (void)state;
    sk_note_list_init(&nl);
    sk_note_list_init(&got);
    assert_int_equal(sk_skill_appendix_notes(in, strlen(in), &got), SK_OK);
    /* Every closed region contributes. */
    assert_int_equal(got.len, 3);
    assert_string_equal(got.items[0], "A one");
    assert_string_equal(got.items[1], "two");
    assert_string_equal(got.items[2], "three");
    for (i = 0; i < SK_ARRAY_LEN(new_notes); i++)
        assert_int_equal(
            sk_note_list_add(&nl, new_notes[i], strlen(new_notes[i])), SK_OK);
    assert_int_equal(sk_skill_appendix_merge(in, strlen(in), &nl, &out, NULL),
                     SK_OK);
    assert_string_equal(out, "b\n\nmid\n\n" AP_S "\n" SK_APPENDIX_HEADING
                             "\n- A one\n- two\n- three\n- four lines\n"
                             "- x y\n" AP_E "\n");
    /* Merging the same notes again changes nothing. */
    assert_int_equal(
        sk_skill_appendix_merge(out, strlen(out), &nl, &again, NULL), SK_OK);
    assert_string_equal(again, out);
    sk_free(again);
    assert_true(sk_skill_has_appendix(out, strlen(out)));
    assert_int_equal(sk_skill_inject_appendix(out, strlen(out), &again, NULL),
                     SK_OK);
    assert_string_equal(again, out);
    sk_free(again);
    sk_free(out);
    sk_note_list_release(&nl);
    sk_note_list_release(&got);
}

static size_t count_str(const char *s, const char *needle)
{
    size_t c = 0, n = strlen(needle);
    while ((s = strstr(s, needle)) != NULL) {
        c++;
        s += n;
    }
    return c;
}

/*
 * Collapsing whitespace in a note can form a marker ("START  -->" becomes
 * "START -->") and deleting a marker can bring two spaces together; either
 * way the block must still hold exactly one marker of each kind.  The
 * first row is the fuzz_edit crash (tests/fuzz/corpus/fuzz_edit/
 * regress_appendix_merge_1): its skill text and the first edit's content.
 */
static void test_skill__appendix_merge_marker_from_collapse(void **state)
{
    static const struct {
        const char *text;
        const char *note;
        const char *want_notes; /* bullet lines of the result */
    } cases[] = {
        {"tex\xffw" SU_S " s\n", "conta <!-- APPENDIX_START  --> s",
         "- conta s\n"},
        {"t", "x <!--\tAPPENDIX_END -->\n<!-- SLOW_UPDATE_END\n--> y",
         "- x y\n"},
        {"t",
         "y <!--\xe3\x80\x80"
         "APPENDIX_START -->",
         "- y\n"},
        {"t", "a <!-- APPENDIX_START " AP_E " --> b", "- a b\n"},
        {"t", "<!-- APPENDIX_START " AP_E " -->", ""},
        {"t\n" AP_S "\n- keep <!--  APPENDIX_END -->  me\n" AP_E "\n", "",
         "- keep me\n"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct sk_note_list nl;
        struct sk_buf want;
        const char *t = cases[i].text;
        char *out = NULL;
        size_t n = 0, tl = skill_rstrip(t, strlen(t));
        sk_note_list_init(&nl);
        sk_buf_init(&want, SK_BUF_UNLIMITED);
        assert_int_equal(
            sk_note_list_add(&nl, cases[i].note, strlen(cases[i].note)), SK_OK);
        assert_int_equal(sk_skill_appendix_merge(t, strlen(t), &nl, &out, &n),
                         SK_OK);
        assert_int_equal(count_str(out, AP_S), 1);
        assert_int_equal(count_str(out, AP_E), 1);
        /* The text before the block is the input minus its appendix. */
        if (!strstr(t, AP_S))
            assert_int_equal(sk_buf_append(&want, t, tl), SK_OK);
        else
            assert_int_equal(sk_buf_puts(&want, "t"), SK_OK);
        assert_int_equal(sk_buf_printf(&want, "\n\n%s\n%s\n%s%s\n", AP_S,
                                       SK_APPENDIX_HEADING, cases[i].want_notes,
                                       AP_E),
                         SK_OK);
        assert_int_equal(n, want.len);
        assert_memory_equal(out, want.data, n);
        sk_free(out);
        sk_buf_release(&want);
        sk_note_list_release(&nl);
    }
}

static void test_skill__slow_update_content(void **state)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"none", ""},
        {"a " SU_S "\n  guide\n\n" SU_E, "guide"},
        {SU_S " orphan", ""},
        {SU_S "\xe3\x80\x80x y\n" SU_E SU_S "second" SU_E, "x y"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char *out = NULL;
        assert_int_equal(sk_skill_slow_update_content(
                             cases[i].in, strlen(cases[i].in), &out),
                         SK_OK);
        assert_string_equal(out, cases[i].want);
        sk_free(out);
    }
}

static void test_skill__inject_idempotent(void **state)
{
    char *once = NULL, *twice = NULL;
    (void)state;
    assert_int_equal(sk_skill_inject_slow_update("body \n\n", 7, &once, NULL),
                     SK_OK);
    assert_string_equal(once, "body\n\n" SU_S "\n" SU_E "\n");
    assert_true(sk_skill_has_slow_update(once, strlen(once)));
    assert_int_equal(
        sk_skill_inject_slow_update(once, strlen(once), &twice, NULL), SK_OK);
    assert_string_equal(twice, once);
    sk_free(once);
    sk_free(twice);
    assert_int_equal(sk_skill_inject_slow_update("", 0, &once, NULL), SK_OK);
    assert_string_equal(once, "\n\n" SU_S "\n" SU_E "\n");
    sk_free(once);
}

struct save_ctx {
    const char *path;
    const char *text;
};

static int sweep_save(void *p)
{
    struct save_ctx *c = p;
    char back[64];
    size_t n;
    FILE *fp;
    int rc = sk_skill_save(c->path, c->text, strlen(c->text), NULL);
    /* Read with stdio: the gateway is failing during the sweep. */
    fp = fopen(c->path, "rb");
    assert_non_null(fp);
    n = fread(back, 1, sizeof back - 1, fp);
    fclose(fp);
    back[n] = '\0';
    /*
     * Either the old file or the new one, never half.  (sk_fs_write_atomic
     * can report a failure to fsync the directory after the rename.)
     */
    if (rc == SK_OK || strcmp(back, "old\n") != 0)
        assert_string_equal(back, c->text);
    return rc;
}

static int sweep_blocks(void *p)
{
    const char *in = p;
    struct sk_note_list nl;
    char *a = NULL, *b = NULL, *c = NULL;
    int rc;
    sk_note_list_init(&nl);
    rc = sk_note_list_add(&nl, "note one", 8);
    if (rc == SK_OK)
        rc = sk_note_list_add(&nl, "Note One.", 9);
    if (rc == SK_OK)
        rc = sk_skill_appendix_merge(in, strlen(in), &nl, &a, NULL);
    if (rc == SK_OK)
        rc = sk_skill_replace_slow_update(a, strlen(a), "new", 3, &b, NULL);
    if (rc == SK_OK)
        rc = sk_skill_slow_update_content(b, strlen(b), &c);
    if (rc == SK_OK)
        assert_string_equal(c, "new");
    sk_free(a);
    sk_free(b);
    sk_free(c);
    sk_note_list_release(&nl);
    return rc;
}

static void test_skill__alloc_failure_sweep(void **state)
{
    char *dir = tu_mkdtemp();
    struct save_ctx c;
    (void)state;
    c.path = tu_write(dir, "skill.md", "old\n");
    c.text = "new text\r\nno newline";
    assert_true(tu_alloc_sweep(sweep_save, &c) >= 1);
    sk_free((char *)c.path);
    tu_rmtree(dir);
    sk_free(dir);
    assert_true(tu_alloc_sweep(sweep_blocks,
                               (void *)("body\n\n" AP_S "\n- a\n" AP_E
                                        "\n\n" SU_S "\nold\n" SU_E "\n")) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skill__roundtrip_byte_exact),
        cmocka_unit_test(test_skill__load_errors),
        cmocka_unit_test(test_skill__regions),
        cmocka_unit_test(test_skill__python_strip),
        cmocka_unit_test(test_skill__slow_update_reference),
        cmocka_unit_test(test_skill__appendix_reference),
        cmocka_unit_test(test_skill__seam_only_newlines),
        cmocka_unit_test(test_skill__appendix_rules),
        cmocka_unit_test(test_skill__appendix_merge_marker_from_collapse),
        cmocka_unit_test(test_skill__slow_update_content),
        cmocka_unit_test(test_skill__inject_idempotent),
        cmocka_unit_test(test_skill__alloc_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
