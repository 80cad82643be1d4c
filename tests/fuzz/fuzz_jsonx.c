/*
 * fuzz_jsonx.c - libFuzzer target for JSON extraction from model replies.
 *
 * Feeds the input to both extractors; each must return a value or a clean
 * error, never crash, leak or take super-linear time.
 */
#include "common.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sk_error err;
    json_t *v = NULL;

    if (sk_extract_json((const char *)data, size, &v, &err) == SK_OK)
        json_decref(v);
    v = NULL;
    if (sk_extract_json_array((const char *)data, size, &v, &err) == SK_OK)
        json_decref(v);
    return 0;
}
