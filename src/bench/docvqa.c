/*
 * docvqa.c - PLACEHOLDER being replaced (issue 5): the docvqa benchmark.
 */
#include "common.h"

#include "bench/benches.h"

static int build(const struct json_t *item, const char *skill,
                 const struct sk_bench_ctx *ctx, char **system, char **user,
                 struct sk_error *err)
{
    (void)item;
    (void)skill;
    (void)ctx;
    *system = *user = NULL;
    return sk_error_set(err, SK_ECONFIG, "docvqa: not available in this build");
}

static int score(const struct json_t *item, const char *response,
                 const struct sk_bench_ctx *ctx, struct json_t *result,
                 struct sk_error *err)
{
    (void)item;
    (void)response;
    (void)ctx;
    (void)result;
    return sk_error_set(err, SK_ECONFIG, "docvqa: not available in this build");
}

const struct sk_bench sk_bench_docvqa = {"docvqa", build, score,
                                         NULL,     NULL,  NULL};
