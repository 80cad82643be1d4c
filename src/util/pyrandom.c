/*
 * pyrandom.c - CPython-compatible Mersenne Twister and the random.Random
 * methods the trainer relies on.  The state layout and every draw follow
 * CPython 3.11 (Modules/_randommodule.c, Lib/random.py) so that sequences
 * match Python bit for bit; this file does not do float-based sampling.
 */
#include "common.h"

#include "util/pyrandom.h"

#include <math.h>
#include <string.h>

#include "util/alloc.h"

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

static void init_genrand(struct sk_pyrandom *r, uint32_t s)
{
    int i;
    r->mt[0] = s;
    for (i = 1; i < SK_PYRANDOM_N; i++)
        r->mt[i] =
            1812433253U * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->index = SK_PYRANDOM_N;
}

static void init_by_array(struct sk_pyrandom *r, const uint32_t *key,
                          size_t len)
{
    size_t i = 1, j = 0, k;
    uint32_t *mt = r->mt;
    init_genrand(r, 19650218U);
    for (k = SK_PYRANDOM_N > len ? SK_PYRANDOM_N : len; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) +
                key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= SK_PYRANDOM_N) {
            mt[0] = mt[SK_PYRANDOM_N - 1];
            i = 1;
        }
        if (j >= len)
            j = 0;
    }
    for (k = SK_PYRANDOM_N - 1; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) -
                (uint32_t)i;
        i++;
        if (i >= SK_PYRANDOM_N) {
            mt[0] = mt[SK_PYRANDOM_N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000U; /* assures a non-zero initial state */
}

void sk_pyrandom_seed(struct sk_pyrandom *r, int64_t seed)
{
    /* Negate in unsigned arithmetic so INT64_MIN maps to 2**63. */
    sk_pyrandom_seed_u64(r, seed < 0 ? 0 - (uint64_t)seed : (uint64_t)seed);
}

void sk_pyrandom_seed_u64(struct sk_pyrandom *r, uint64_t n)
{
    uint32_t key[2];
    size_t len = 1;
    key[0] = (uint32_t)n;
    key[1] = (uint32_t)(n >> 32);
    /* CPython uses as many words as the bit length needs, at least one. */
    if (key[1] != 0)
        len = 2;
    init_by_array(r, key, len);
}

static void twist(struct sk_pyrandom *r)
{
    static const uint32_t mag01[2] = {0U, MT_MATRIX_A};
    uint32_t *mt = r->mt, y;
    int kk;
    for (kk = 0; kk < SK_PYRANDOM_N - MT_M; kk++) {
        y = (mt[kk] & MT_UPPER) | (mt[kk + 1] & MT_LOWER);
        mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1U];
    }
    for (; kk < SK_PYRANDOM_N - 1; kk++) {
        y = (mt[kk] & MT_UPPER) | (mt[kk + 1] & MT_LOWER);
        mt[kk] = mt[kk + (MT_M - SK_PYRANDOM_N)] ^ (y >> 1) ^ mag01[y & 1U];
    }
    y = (mt[SK_PYRANDOM_N - 1] & MT_UPPER) | (mt[0] & MT_LOWER);
    mt[SK_PYRANDOM_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1U];
    r->index = 0;
}

uint32_t sk_pyrandom_u32(struct sk_pyrandom *r)
{
    uint32_t y;
    if (r->index >= SK_PYRANDOM_N)
        twist(r);
    y = r->mt[r->index++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

uint64_t sk_pyrandom_getrandbits(struct sk_pyrandom *r, int k)
{
    uint64_t lo, hi;
    if (k <= 0 || k > 64)
        return 0;
    if (k <= 32)
        return sk_pyrandom_u32(r) >> (32 - k);
    /* Little-endian words: the first draw is the low word, the second is
     * cut down to the k - 32 remaining bits. */
    lo = sk_pyrandom_u32(r);
    hi = sk_pyrandom_u32(r) >> (64 - k);
    return (hi << 32) | lo;
}

double sk_pyrandom_random(struct sk_pyrandom *r)
{
    uint32_t a = sk_pyrandom_u32(r) >> 5, b = sk_pyrandom_u32(r) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

static int bit_length(uint64_t n)
{
    int k = 0;
    while (n) {
        k++;
        n >>= 1;
    }
    return k;
}

uint64_t sk_pyrandom_randbelow(struct sk_pyrandom *r, uint64_t n)
{
    int k;
    uint64_t v;
    if (n == 0)
        return 0;
    k = bit_length(n);
    do
        v = sk_pyrandom_getrandbits(r, k);
    while (v >= n);
    return v;
}

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    while (size--) {
        unsigned char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

void sk_pyrandom_shuffle(struct sk_pyrandom *r, void *base, size_t n,
                         size_t elem_size)
{
    unsigned char *p = base;
    size_t i, j;
    if (n < 2)
        return;
    for (i = n - 1; i >= 1; i--) {
        j = (size_t)sk_pyrandom_randbelow(r, (uint64_t)i + 1);
        if (j != i)
            swap_bytes(p + i * elem_size, p + j * elem_size, elem_size);
    }
}

/*
 * random.sample's threshold between its two algorithms: 21 plus
 * 4**ceil(log(3k, 4)) when k > 5.  math.log(x, 4) is log(x) / log(4) in
 * CPython; the power saturates at SIZE_MAX, which only means "pool".
 */
static size_t sample_setsize(size_t k)
{
    size_t setsize = 21;
    double e;
    int i;
    if (k <= 5)
        return setsize;
    e = ceil(log(3.0 * (double)k) / log(4.0));
    if (e >= 31)
        return SIZE_MAX;
    {
        uint64_t p = 1;
        for (i = 0; i < (int)e; i++)
            p *= 4;
        if (p > SIZE_MAX - setsize)
            return SIZE_MAX;
        setsize += (size_t)p;
    }
    return setsize;
}

static int sample_pool(struct sk_pyrandom *r, size_t n, size_t k, size_t *out)
{
    size_t *pool, i, j;
    if (n > SIZE_MAX / sizeof *pool)
        return SK_ENOMEM;
    pool = sk_malloc(n * sizeof *pool);
    if (!pool)
        return SK_ENOMEM;
    for (i = 0; i < n; i++)
        pool[i] = i;
    for (i = 0; i < k; i++) {
        j = (size_t)sk_pyrandom_randbelow(r, n - i);
        out[i] = pool[j];
        pool[j] = pool[n - i - 1];
    }
    sk_free(pool);
    return SK_OK;
}

/* Open-addressing set of indexes, stored as value + 1 so 0 means empty. */
static int set_add(uint64_t *slots, size_t mask, uint64_t v)
{
    size_t h = (size_t)((v * 0x9e3779b97f4a7c15ULL) >> 17) & mask;
    while (slots[h]) {
        if (slots[h] == v + 1)
            return 0;
        h = (h + 1) & mask;
    }
    slots[h] = v + 1;
    return 1;
}

static int sample_set(struct sk_pyrandom *r, size_t n, size_t k, size_t *out)
{
    uint64_t *slots;
    size_t cap = 16, i, j;
    /* Keep the load factor at or below one half. */
    while (cap < 2 * k) {
        if (cap > SIZE_MAX / 2 / sizeof *slots)
            return SK_ENOMEM;
        cap *= 2;
    }
    slots = sk_calloc(cap, sizeof *slots);
    if (!slots)
        return SK_ENOMEM;
    for (i = 0; i < k; i++) {
        do
            j = (size_t)sk_pyrandom_randbelow(r, n);
        while (!set_add(slots, cap - 1, j));
        out[i] = j;
    }
    sk_free(slots);
    return SK_OK;
}

int sk_pyrandom_sample(struct sk_pyrandom *r, size_t n, size_t k, size_t *out)
{
    if (k > n)
        return SK_EINVAL;
    if (n <= sample_setsize(k))
        return sample_pool(r, n, k, out);
    return sample_set(r, n, k, out);
}
