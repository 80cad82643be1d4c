/*
 * result.c - lifecycle of struct sk_llm_result.  A result owns its strings;
 * init allocates nothing, release frees them and leaves an empty result.
 */
#include "common.h"

#include "llm/llm.h"

#include <jansson.h>
#include <string.h>

#include "util/alloc.h"

void sk_llm_result_init(struct sk_llm_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = SK_OK;
}

void sk_llm_result_release(struct sk_llm_result *r)
{
    if (!r)
        return;
    sk_free(r->text);
    sk_free(r->reasoning);
    sk_free(r->finish_reason);
    sk_free(r->refusal);
    json_decref(r->trace);
    sk_free(r->trace_summary);
    sk_llm_result_init(r);
}
