/*
 * alloc.c - allocation gateway with fault injection and live-block counts.
 *
 * The counters are atomics because the request engine's thread allocates
 * too.  Injection is a test facility; in production fail_at stays 0 and the
 * cost is one relaxed atomic load per call.
 */
#include "common.h"
#include "util/alloc.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static long fail_at; /* 0: off; else the call number that starts failing */
static long calls;   /* calls since the last sk_alloc_fail_at */
static long live;    /* blocks handed out and not yet freed */
static int fired;    /* an injected failure happened */

static int should_fail(void)
{
    long n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    long at = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);
    if (at > 0 && n >= at) {
        __atomic_store_n(&fired, 1, __ATOMIC_RELAXED);
        return 1;
    }
    return 0;
}

void *sk_malloc(size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = malloc(size ? size : 1);
    if (p)
        __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
    return p;
}

void *sk_calloc(size_t n, size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = calloc(n ? n : 1, size ? size : 1);
    if (p)
        __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
    return p;
}

void *sk_realloc(void *ptr, size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = realloc(ptr, size ? size : 1);
    if (p && !ptr)
        __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
    return p;
}

char *sk_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = sk_malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *sk_strdup(const char *s)
{
    return sk_strndup(s, strlen(s));
}

void sk_free(void *ptr)
{
    if (!ptr)
        return;
    __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
    free(ptr);
}

void sk_alloc_fail_at(long n)
{
    __atomic_store_n(&calls, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fired, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_at, n, __ATOMIC_RELAXED);
}

int sk_alloc_failed(void)
{
    return __atomic_load_n(&fired, __ATOMIC_RELAXED);
}

long sk_alloc_calls(void)
{
    return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}

long sk_alloc_live(void)
{
    return __atomic_load_n(&live, __ATOMIC_RELAXED);
}

/*
 * jansson has its own allocator hooks; installing ours before main() means
 * every JSON value is counted and can be made to fail, with no init call
 * for callers to forget.
 */
__attribute__((constructor)) static void install_json_hooks(void)
{
    json_set_alloc_funcs(sk_malloc, sk_free);
}
