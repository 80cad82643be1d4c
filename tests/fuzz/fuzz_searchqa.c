/*
 * fuzz_searchqa.c - libFuzzer target for the SearchQA scorer.
 *
 * Input: a model response, then NUL-separated gold answers.  Invariants:
 * scores are 0/1 (EM, sub-EM) or in [0, 1] (F1); EM implies F1 == 1; a
 * failure reason exists exactly when EM is 0; the context cut of the
 * response keeps at most max code points plus the truncation tail.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "bench/score.h"
#include "bench/searchqa.h"
#include "util/alloc.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *golds[16];
    struct sk_searchqa_result r;
    struct sk_buf cut;
    char *copy = sk_malloc(size + 1);
    size_t n = 0, i, rlen, max;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    rlen = strlen(copy);
    for (i = rlen; i < size && n < SK_ARRAY_LEN(golds); i++)
        if (copy[i] == '\0')
            golds[n++] = copy + i + 1;
    if (sk_searchqa_evaluate(copy, rlen, golds, n, &r) != SK_OK)
        abort();
    if ((r.em != 0.0 && r.em != 1.0) || (r.sub_em != 0.0 && r.sub_em != 1.0) ||
        !(r.f1 >= 0.0 && r.f1 <= 1.0) || (r.em == 1.0 && r.f1 != 1.0) ||
        (r.em == 1.0) != (r.fail_reason == NULL) || r.hard != (int)r.em)
        abort();
    sk_searchqa_result_release(&r);
    max = size ? (size_t)data[0] % 64 : 0;
    sk_buf_init(&cut, SK_BUF_UNLIMITED);
    if (sk_searchqa_cut_context(copy, rlen, max, &cut) != SK_OK)
        abort();
    if (sk_score_cp_count(sk_buf_cstr(&cut), cut.len) > max + 15)
        abort();
    sk_buf_release(&cut);
    sk_free(copy);
    return 0;
}
