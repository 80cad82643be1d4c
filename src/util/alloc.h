/*
 * alloc.h - the one allocation gateway of libskillopt.
 *
 * Library code allocates only through these functions (checksrc rejects bare
 * malloc/free elsewhere).  They behave like their libc namesakes and return
 * NULL on failure; callers turn that into SK_ENOMEM.  Tests can make the
 * Nth allocation from now fail and can count live blocks to find leaks.
 * jansson is routed through the same gateway, so its allocations count too.
 */
#ifndef SK_ALLOC_H
#define SK_ALLOC_H

#include <stddef.h>

void *sk_malloc(size_t size);
void *sk_calloc(size_t n, size_t size);
void *sk_realloc(void *ptr, size_t size);
char *sk_strdup(const char *s);
char *sk_strndup(const char *s, size_t n);
void sk_free(void *ptr); /* accepts NULL */

/*
 * Fault injection for tests: the nth allocation call from now (1-based)
 * fails and so does every later one until the next call of this function;
 * n == 0 turns injection off.
 */
void sk_alloc_fail_at(long n);
/* Whether an injected failure has fired since the last sk_alloc_fail_at. */
int sk_alloc_failed(void);
/* Allocation calls since the last sk_alloc_fail_at (or program start). */
long sk_alloc_calls(void);
/* Blocks currently allocated through the gateway (malloc minus free). */
long sk_alloc_live(void);

#endif /* SK_ALLOC_H */
