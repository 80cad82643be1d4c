/*
 * jsonparse.h - the one way skillopt parses JSON text with jansson.
 *
 * jansson 2.14 leaves its json_error_t untouched when some allocations
 * fail, so reading it afterwards reads uninitialised memory (valgrind found
 * this in several modules).  sk_json_loadb zeroes it first, and sk_json_oom
 * tells an allocation failure from a syntax error.  Values returned are new
 * references.
 */
#ifndef SK_JSONPARSE_H
#define SK_JSONPARSE_H

#include <stddef.h>

#include <jansson.h>

/* json_loadb with *jerr always initialised; NULL on failure. */
json_t *sk_json_loadb(const char *text, size_t len, size_t flags,
                      json_error_t *jerr);

/* 1 if the failed parse described by jerr ran out of memory. */
int sk_json_oom(const json_error_t *jerr);

#endif /* SK_JSONPARSE_H */
