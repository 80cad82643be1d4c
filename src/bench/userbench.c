/*
 * userbench.c - PLACEHOLDER being replaced (issue 5): benchmarks described
 * in YAML.
 */
#include "common.h"

#include "bench/benches.h"

int sk_userbench_open(const char *path, const char *name,
                      const struct sk_bench **out, struct sk_error *err)
{
    (void)name;
    *out = NULL;
    return sk_error_set(err, SK_ECONFIG,
                        "%s: benchmarks in YAML are not available in this "
                        "build",
                        path);
}

void sk_userbench_free(const struct sk_bench *b)
{
    (void)b;
}
