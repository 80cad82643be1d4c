/*
 * test_pyrandom.c - sk_pyrandom against vectors produced by CPython 3.11
 * (tests/fixtures/pyrandom/vectors.txt, regenerate with gen.py there).
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/alloc.h"
#include "util/pyrandom.h"

/* Same polynomial hash as gen.py's list_hash. */
static uint64_t list_hash(const size_t *xs, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;
    for (i = 0; i < n; i++)
        h = h * 1099511628211ULL + (uint64_t)xs[i] + 1;
    return h;
}

/* A cursor over one whitespace-separated fixture line. */
struct line {
    char *p;
    int lineno;
};

static char *next_tok(struct line *l)
{
    char *s = l->p, *e;
    while (*s == ' ')
        s++;
    if (!*s)
        fail_msg("vectors.txt:%d: line ends early", l->lineno);
    e = s;
    while (*e && *e != ' ')
        e++;
    if (*e)
        *e++ = '\0';
    l->p = e;
    return s;
}

static int64_t tok_i64(struct line *l)
{
    char *s = next_tok(l), *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        fail_msg("vectors.txt:%d: bad integer %s", l->lineno, s);
    return (int64_t)v;
}

static uint64_t tok_u64(struct line *l)
{
    char *s = next_tok(l), *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        fail_msg("vectors.txt:%d: bad integer %s", l->lineno, s);
    return (uint64_t)v;
}

static double tok_hexdouble(struct line *l)
{
    char *s = next_tok(l), *end;
    double v = strtod(s, &end);
    if (*end)
        fail_msg("vectors.txt:%d: bad float %s", l->lineno, s);
    return v;
}

struct counts {
    int u32, bits, random, below, shuffle, shufhash, sample;
};

static void check_u32(struct line *l, struct counts *c)
{
    struct sk_pyrandom r;
    int i;
    sk_pyrandom_seed(&r, tok_i64(l));
    for (i = 0; i < 8; i++)
        assert_int_equal(sk_pyrandom_u32(&r), tok_u64(l));
    c->u32++;
}

static void check_bits(struct line *l, struct counts *c)
{
    struct sk_pyrandom r;
    int k;
    sk_pyrandom_seed(&r, tok_i64(l));
    for (k = 1; k <= 64; k++) {
        uint64_t want = tok_u64(l), got = sk_pyrandom_getrandbits(&r, k);
        if (got != want)
            fail_msg("vectors.txt:%d: getrandbits(%d) = %" PRIu64
                     ", want %" PRIu64,
                     l->lineno, k, got, want);
    }
    c->bits++;
}

static void check_random(struct line *l, struct counts *c)
{
    struct sk_pyrandom r;
    int i;
    sk_pyrandom_seed(&r, tok_i64(l));
    for (i = 0; i < 8; i++) {
        double want = tok_hexdouble(l), got = sk_pyrandom_random(&r);
        /* Bitwise equality: the hex text is exact. */
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("vectors.txt:%d: random() = %a, want %a", l->lineno, got,
                     want);
    }
    c->random++;
}

static void check_below(struct line *l, struct counts *c)
{
    struct sk_pyrandom r;
    uint64_t n;
    int i;
    sk_pyrandom_seed(&r, tok_i64(l));
    n = tok_u64(l);
    for (i = 0; i < 8; i++) {
        uint64_t want = tok_u64(l), got = sk_pyrandom_randbelow(&r, n);
        if (got != want)
            fail_msg("vectors.txt:%d: randbelow(%" PRIu64 ") = %" PRIu64
                     ", want %" PRIu64,
                     l->lineno, n, got, want);
    }
    c->below++;
}

static size_t *iota(size_t n)
{
    size_t *xs = sk_malloc((n ? n : 1) * sizeof *xs), i;
    assert_non_null(xs);
    for (i = 0; i < n; i++)
        xs[i] = i;
    return xs;
}

static void check_shuffle(struct line *l, struct counts *c)
{
    struct sk_pyrandom r;
    size_t n, i, *xs;
    sk_pyrandom_seed(&r, tok_i64(l));
    n = (size_t)tok_u64(l);
    xs = iota(n);
    sk_pyrandom_shuffle(&r, xs, n, sizeof *xs);
    for (i = 0; i < n; i++) {
        size_t want = (size_t)tok_u64(l);
        if (xs[i] != want)
            fail_msg("vectors.txt:%d: shuffle(%zu)[%zu] = %zu, want %zu",
                     l->lineno, n, i, xs[i], want);
    }
    sk_free(xs);
    c->shuffle++;
}

static void check_shufhash(struct line *l, struct counts *c)
{
    int64_t seed = tok_i64(l);
    size_t n;
    for (n = 1; n <= 1000; n++) {
        struct sk_pyrandom r;
        size_t *xs = iota(n);
        uint64_t want = tok_u64(l), got;
        sk_pyrandom_seed(&r, seed);
        sk_pyrandom_shuffle(&r, xs, n, sizeof *xs);
        got = list_hash(xs, n);
        sk_free(xs);
        if (got != want)
            fail_msg("vectors.txt:%d: seed %" PRId64 " shuffle(range(%zu)) "
                     "hash %" PRIu64 ", want %" PRIu64,
                     l->lineno, seed, n, got, want);
    }
    c->shufhash++;
}

static void check_sample(struct line *l, struct counts *c)
{
    struct sk_pyrandom r;
    size_t n, k, i, *out;
    sk_pyrandom_seed(&r, tok_i64(l));
    n = (size_t)tok_u64(l);
    k = (size_t)tok_u64(l);
    out = sk_malloc((k ? k : 1) * sizeof *out);
    assert_non_null(out);
    assert_int_equal(sk_pyrandom_sample(&r, n, k, out), SK_OK);
    for (i = 0; i < k; i++) {
        size_t want = (size_t)tok_u64(l);
        if (out[i] != want)
            fail_msg("vectors.txt:%d: sample(range(%zu), %zu)[%zu] = %zu, "
                     "want %zu",
                     l->lineno, n, k, i, out[i], want);
    }
    sk_free(out);
    c->sample++;
}

/* Runs every fixture line of the given kind (NULL: all kinds). */
static void run_vectors(const char *only, struct counts *c)
{
    char *path = tu_source_path("tests/fixtures/pyrandom/vectors.txt");
    char *text = tu_read(path, NULL), *p, *nl;
    int lineno = 0;
    if (!text)
        fail_msg("cannot read %s", path);
    memset(c, 0, sizeof *c);
    for (p = text; *p; p = nl) {
        struct line l;
        char *kind;
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        else
            nl = p + strlen(p);
        lineno++;
        if (*p == '#' || !*p)
            continue;
        l.p = p;
        l.lineno = lineno;
        kind = next_tok(&l);
        if (only && strcmp(kind, only) != 0)
            continue;
        if (!strcmp(kind, "u32"))
            check_u32(&l, c);
        else if (!strcmp(kind, "bits"))
            check_bits(&l, c);
        else if (!strcmp(kind, "random"))
            check_random(&l, c);
        else if (!strcmp(kind, "below"))
            check_below(&l, c);
        else if (!strcmp(kind, "shuffle"))
            check_shuffle(&l, c);
        else if (!strcmp(kind, "shufhash"))
            check_shufhash(&l, c);
        else if (!strcmp(kind, "sample"))
            check_sample(&l, c);
        else
            fail_msg("vectors.txt:%d: unknown kind %s", lineno, kind);
        if (*l.p && strspn(l.p, " ") != strlen(l.p))
            fail_msg("vectors.txt:%d: trailing values", lineno);
    }
    sk_free(text);
    sk_free(path);
}

static void test_pyrandom__shuffle_42_known_answer(void **state)
{
    static const size_t want[10] = {7, 3, 2, 8, 5, 6, 9, 4, 0, 1};
    struct sk_pyrandom r;
    size_t xs[10], i;
    (void)state;
    for (i = 0; i < 10; i++)
        xs[i] = i;
    sk_pyrandom_seed(&r, 42);
    sk_pyrandom_shuffle(&r, xs, 10, sizeof xs[0]);
    assert_memory_equal(xs, want, sizeof want);
}

static void test_pyrandom__u32_vectors(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("u32", &c);
    assert_true(c.u32 >= 20);
}

static void test_pyrandom__getrandbits_vectors(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("bits", &c);
    assert_true(c.bits >= 20);
}

static void test_pyrandom__random_vectors(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("random", &c);
    assert_true(c.random >= 20);
}

static void test_pyrandom__randbelow_vectors(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("below", &c);
    assert_true(c.below >= 20 * 12);
}

static void test_pyrandom__shuffle_full_lists(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("shuffle", &c);
    assert_true(c.shuffle >= 20 * 7);
}

static void test_pyrandom__shuffle_hashes_1_to_1000(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("shufhash", &c);
    assert_true(c.shufhash >= 20);
}

static void test_pyrandom__sample_vectors(void **state)
{
    struct counts c;
    (void)state;
    run_vectors("sample", &c);
    assert_true(c.sample >= 20 * 16);
}

/* The hash comparison must notice a single swapped pair or a different
 * seed, otherwise the 1..1000 sweep would prove nothing. */
static void test_pyrandom__hash_detects_changes(void **state)
{
    struct sk_pyrandom r;
    size_t *xs = iota(100), *ys = iota(100), t;
    uint64_t h;
    (void)state;
    sk_pyrandom_seed(&r, 42);
    sk_pyrandom_shuffle(&r, xs, 100, sizeof *xs);
    h = list_hash(xs, 100);
    t = xs[10];
    xs[10] = xs[11];
    xs[11] = t;
    assert_true(list_hash(xs, 100) != h);
    sk_pyrandom_seed(&r, 43);
    sk_pyrandom_shuffle(&r, ys, 100, sizeof *ys);
    assert_true(list_hash(ys, 100) != h);
    sk_free(xs);
    sk_free(ys);
}

static void test_pyrandom__negative_seed_is_abs(void **state)
{
    struct sk_pyrandom a, b;
    int i;
    (void)state;
    sk_pyrandom_seed(&a, -7);
    sk_pyrandom_seed(&b, 7);
    for (i = 0; i < 1000; i++)
        assert_int_equal(sk_pyrandom_u32(&a), sk_pyrandom_u32(&b));
    /* INT64_MIN must not overflow; its stream differs from INT64_MAX's. */
    sk_pyrandom_seed(&a, INT64_MIN);
    sk_pyrandom_seed(&b, INT64_MAX);
    assert_true(sk_pyrandom_u32(&a) != sk_pyrandom_u32(&b));
}

static void test_pyrandom__edge_arguments(void **state)
{
    struct sk_pyrandom r, before;
    size_t out[4] = {99, 99, 99, 99}, one = 5;
    (void)state;
    sk_pyrandom_seed(&r, 1);
    before = r;
    assert_int_equal(sk_pyrandom_getrandbits(&r, 0), 0);
    assert_int_equal(sk_pyrandom_getrandbits(&r, 65), 0);
    assert_int_equal(sk_pyrandom_randbelow(&r, 0), 0);
    assert_int_equal(sk_pyrandom_randbelow(&r, 1), 0);
    assert_int_equal(sk_pyrandom_sample(&r, 3, 4, out), SK_EINVAL);
    assert_int_equal(out[0], 99);
    sk_pyrandom_shuffle(&r, &one, 1, sizeof one);
    sk_pyrandom_shuffle(&r, NULL, 0, sizeof one);
    assert_int_equal(one, 5);
    /* None of the above draws: randbelow(1) uses getrandbits(1)... */
    assert_true(memcmp(&r, &before, sizeof r) != 0);
    /* ...exactly once, since 0 < 1 is never rejected. */
    sk_pyrandom_getrandbits(&before, 1);
    assert_memory_equal(&r, &before, sizeof r);
}

static int sweep_sample(void *ctx)
{
    struct sk_pyrandom r;
    size_t out[100];
    int rc;
    (void)ctx;
    sk_pyrandom_seed(&r, 42);
    rc = sk_pyrandom_sample(&r, 1000, 100, out);
    if (rc == SK_OK)
        rc = sk_pyrandom_sample(&r, 100000, 100, out);
    return rc;
}

static void test_pyrandom__sample_alloc_failure(void **state)
{
    (void)state;
    assert_int_equal(tu_alloc_sweep(sweep_sample, NULL), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyrandom__shuffle_42_known_answer),
        cmocka_unit_test(test_pyrandom__u32_vectors),
        cmocka_unit_test(test_pyrandom__getrandbits_vectors),
        cmocka_unit_test(test_pyrandom__random_vectors),
        cmocka_unit_test(test_pyrandom__randbelow_vectors),
        cmocka_unit_test(test_pyrandom__shuffle_full_lists),
        cmocka_unit_test(test_pyrandom__shuffle_hashes_1_to_1000),
        cmocka_unit_test(test_pyrandom__sample_vectors),
        cmocka_unit_test(test_pyrandom__hash_detects_changes),
        cmocka_unit_test(test_pyrandom__negative_seed_is_abs),
        cmocka_unit_test(test_pyrandom__edge_arguments),
        cmocka_unit_test(test_pyrandom__sample_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
