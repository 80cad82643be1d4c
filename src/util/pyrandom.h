/*
 * pyrandom.h - a bit-exact copy of CPython's random.Random for int seeds.
 *
 * MT19937 seeded like random.Random(seed) (init_by_array over the 32-bit
 * little-endian words of |seed|), plus the derived draws the trainer needs:
 * getrandbits, random(), _randbelow, shuffle and sample(range(n), k) as in
 * CPython 3.11, so a given seed yields the same batches as the reference.
 * The generator is a plain value: no allocation except inside
 * sk_pyrandom_sample, not thread-safe, any number of independent copies.
 */
#ifndef SK_PYRANDOM_H
#define SK_PYRANDOM_H

#include <stddef.h>
#include <stdint.h>

#define SK_PYRANDOM_N 624

struct sk_pyrandom {
    uint32_t mt[SK_PYRANDOM_N]; /* MT19937 state words */
    int index;                  /* next word to temper; N forces a twist */
};

/*
 * Puts r in the state of Python's random.Random(seed).  A negative seed
 * uses its absolute value as CPython does (INT64_MIN included), so seeds s
 * and -s give the same stream.  Cannot fail.
 */
void sk_pyrandom_seed(struct sk_pyrandom *r, int64_t seed);

/*
 * Puts r in the state of random.Random(n) for a non-negative seed up to
 * 2**64 - 1 (LiveMath seeds with 64-bit hash prefixes).  Cannot fail.
 */
void sk_pyrandom_seed_u64(struct sk_pyrandom *r, uint64_t n);

/* Next 32-bit output (CPython genrand_uint32, == getrandbits(32)). */
uint32_t sk_pyrandom_u32(struct sk_pyrandom *r);

/*
 * getrandbits(k) for 1 <= k <= 64: one word per 32 bits, the first word
 * drawn being the least significant, the last one shifted right to fit.
 * k outside 1..64 returns 0 and consumes nothing.
 */
uint64_t sk_pyrandom_getrandbits(struct sk_pyrandom *r, int k);

/* random.random(): a double in [0, 1) with 53 random bits. */
double sk_pyrandom_random(struct sk_pyrandom *r);

/*
 * _randbelow_with_getrandbits(n): uniform in [0, n) by rejection sampling
 * on getrandbits(bit_length(n)).  n must be >= 1; n == 0 returns 0 and
 * consumes nothing.
 */
uint64_t sk_pyrandom_randbelow(struct sk_pyrandom *r, uint64_t n);

/*
 * random.shuffle on an array of n elements of elem_size bytes each
 * (Fisher-Yates from the end).  Elements are moved bytewise; no allocation.
 */
void sk_pyrandom_shuffle(struct sk_pyrandom *r, void *base, size_t n,
                         size_t elem_size);

/*
 * random.sample(range(n), k) written into out[0..k-1], with CPython 3.11's
 * choice between the pool algorithm (n <= setsize) and the rejection set.
 * Returns SK_OK, SK_EINVAL if k > n (r untouched), or SK_ENOMEM (out and r
 * then hold unspecified values).  Temporary memory is freed before return.
 */
int sk_pyrandom_sample(struct sk_pyrandom *r, size_t n, size_t k, size_t *out);

#endif /* SK_PYRANDOM_H */
