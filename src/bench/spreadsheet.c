/*
 * spreadsheet.c - PLACEHOLDER, replaced by the real benchmark.
 */
#include "common.h"

#include <jansson.h>

#include "bench/benches.h"

static int build(const json_t *item, const char *skill,
                 const struct sk_bench_ctx *ctx, char **system, char **user,
                 struct sk_error *err)
{
    (void)item;
    (void)skill;
    (void)ctx;
    *system = NULL;
    *user = NULL;
    return sk_error_set(err, SK_ECONFIG, "spreadsheetbench: not built yet");
}

static int score(const json_t *item, const char *response,
                 const struct sk_bench_ctx *ctx, json_t *result,
                 struct sk_error *err)
{
    (void)item;
    (void)response;
    (void)ctx;
    (void)result;
    return sk_error_set(err, SK_ECONFIG, "spreadsheetbench: not built yet");
}

const struct sk_bench sk_bench_spreadsheet = {
    .name = "spreadsheetbench", .build = build, .score = score};
