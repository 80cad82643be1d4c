/*
 * fuzz_edit.c - libFuzzer target for edit application and block rewrites.
 *
 * Input: skill text, a NUL byte, then a JSON array of edit objects.  When
 * the rest is not a JSON array it is read as lines in threes (op selector
 * byte, target, content).  Invariants: application succeeds; applying the
 * edits one by one gives the same text; a skipped edit leaves the text
 * unchanged; every protected region of the text before an edit is still
 * there, byte-identical and in order, after it; the report dumps to valid
 * JSON; slow-update and appendix rewrites leave exactly one block.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "skill/edit.h"
#include "skill/skill.h"
#include "util/alloc.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            abort();                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Regions of before appear in after, in order, byte for byte. */
static void check_regions_kept(const char *before, size_t blen,
                               const char *after, size_t alen)
{
    struct sk_region_list l;
    size_t i, pos = 0;
    sk_region_list_init(&l);
    CHECK(sk_skill_regions(before, blen, &l) == SK_OK);
    /* Regions of different kinds may overlap: check each kind in turn. */
    for (i = 0; i < l.len; i++) {
        const struct sk_region *r = &l.items[i];
        const char *hit;
        if (r->kind != SK_REGION_SLOW_UPDATE)
            continue;
        hit = memmem(after + pos, alen - pos, before + r->start,
                     r->end - r->start);
        CHECK(hit != NULL);
        pos = (size_t)(hit - after) + (r->end - r->start);
    }
    pos = 0;
    for (i = 0; i < l.len; i++) {
        const struct sk_region *r = &l.items[i];
        const char *hit;
        if (r->kind != SK_REGION_APPENDIX)
            continue;
        hit = memmem(after + pos, alen - pos, before + r->start,
                     r->end - r->start);
        CHECK(hit != NULL);
        pos = (size_t)(hit - after) + (r->end - r->start);
    }
    sk_region_list_release(&l);
}

static size_t count(const char *s, size_t n, const char *needle)
{
    size_t c = 0, nl = strlen(needle);
    const char *p = s;
    while ((p = memmem(p, n - (size_t)(p - s), needle, nl)) != NULL) {
        c++;
        p += nl;
    }
    return c;
}

static void edits_from_lines(const char *p, size_t n, struct sk_edit_list *l)
{
    static const char *ops[] = {"append", "insert_after", "replace", "delete",
                                "zap"};
    char *copy = sk_malloc(n + 1), *fields[3];
    size_t k = 0, start = 0, i;
    if (!copy)
        return;
    /* The rest may hold NUL bytes: copy all of it, then cut lines. */
    memcpy(copy, p, n);
    copy[n] = '\0';
    for (i = 0; i <= n && l->len < 16; i++) {
        if (i < n && copy[i] != '\n')
            continue;
        copy[i] = '\0';
        fields[k++] = copy + start;
        start = i + 1;
        if (k == 3) {
            /* Invalid UTF-8 is refused with SK_EINVAL; that is fine. */
            (void)sk_edit_list_add(l, ops[(unsigned char)fields[0][0] % 5],
                                   fields[1], fields[2]);
            k = 0;
        }
    }
    sk_free(copy);
}

static void check_blocks(const char *text, size_t len, const char *content)
{
    struct sk_note_list nl;
    char *out = NULL;
    size_t n = 0;
    CHECK(sk_skill_replace_slow_update(text, len, content, strlen(content),
                                       &out, &n) == SK_OK);
    CHECK(count(out, n, SK_SLOW_UPDATE_START) == 1);
    CHECK(count(out, n, SK_SLOW_UPDATE_END) == 1);
    CHECK(n >= 25 && !memcmp(out + n - 25, SK_SLOW_UPDATE_END "\n", 25));
    sk_free(out);
    sk_note_list_init(&nl);
    CHECK(sk_note_list_add(&nl, content, strlen(content)) == SK_OK);
    CHECK(sk_skill_appendix_merge(text, len, &nl, &out, &n) == SK_OK);
    CHECK(count(out, n, SK_APPENDIX_START) == 1);
    CHECK(count(out, n, SK_APPENDIX_END) == 1);
    sk_free(out);
    sk_note_list_release(&nl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nul = memchr(in, '\0', size);
    size_t slen = nul ? (size_t)(nul - in) : size;
    const char *rest = nul ? nul + 1 : in + size;
    size_t rlen = size - slen - (nul ? 1 : 0);
    struct sk_edit_list l;
    struct sk_apply_report r, r1;
    char *all = NULL, *cur, *dump = NULL;
    size_t alen = 0, clen, i;
    json_t *a;

    sk_edit_list_init(&l);
    a = json_loadb(rest, rlen, 0, NULL);
    if (a && json_is_array(a))
        CHECK(sk_edit_list_from_json(&l, a, NULL) == SK_OK);
    else
        edits_from_lines(rest, rlen, &l);
    json_decref(a);

    sk_apply_report_init(&r);
    CHECK(sk_edit_apply(in, slen, &l, &all, &alen, &r, NULL) == SK_OK);
    CHECK(r.len == l.len);
    CHECK(sk_apply_report_dumps(&r, &dump, NULL) == SK_OK);
    a = json_loads(dump, 0, NULL);
    CHECK(a && json_array_size(a) == r.len);
    json_decref(a);
    sk_free(dump);

    /* One at a time on the running text. */
    cur = sk_strndup(in, slen);
    CHECK(cur != NULL);
    clen = slen;
    for (i = 0; i < l.len; i++) {
        struct sk_edit_list one;
        char *next = NULL;
        size_t nlen = 0;
        one.items = &l.items[i];
        one.len = one.cap = 1;
        sk_apply_report_init(&r1);
        CHECK(sk_edit_apply(cur, clen, &one, &next, &nlen, &r1, NULL) == SK_OK);
        CHECK(r1.len == 1 && !strcmp(r1.rows[0].status, r.rows[i].status));
        if (strncmp(r1.rows[0].status, "applied", 7) != 0)
            CHECK(nlen == clen && !memcmp(next, cur, clen));
        check_regions_kept(cur, clen, next, nlen);
        sk_apply_report_release(&r1);
        sk_free(cur);
        cur = next;
        clen = nlen;
    }
    CHECK(clen == alen && !memcmp(cur, all, alen));
    check_blocks(in, slen, l.len ? l.items[0].content : "");
    sk_free(cur);
    sk_free(all);
    sk_apply_report_release(&r);
    sk_edit_list_release(&l);
    return 0;
}
