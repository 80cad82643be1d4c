/*
 * fuzz_livemath.c - libFuzzer target for the LiveMath item reader, the
 * choice shuffle, the prompts and the label parser.
 *
 * Input: a JSON item, a NUL byte, then the target's reply.  Invariants:
 * a readable item shuffles (or has over 7 choices), builds both prompts
 * and scores to hard == soft in {0, 1}; the parser's verdict does not
 * depend on the room for its output, the documented room never cuts it,
 * and an accepted label is the normalized form of one of the labels.
 */
#include "common.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench/benches.h"
#include "bench/choice.h"
#include "bench/livemath.h"
#include "util/alloc.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(const struct sk_livemath_item *it, const char *answer)
{
    const char **labels = sk_calloc(it->n_choices + 1, sizeof(*labels));
    const char **texts = sk_calloc(it->n_choices + 1, sizeof(*texts));
    size_t i, longest = strlen(answer), cap;
    char *out, *small, norm[4096];
    int ok, hit = 0;

    if (!labels || !texts)
        abort();
    for (i = 0; i < it->n_choices; i++) {
        labels[i] = it->choices[i].label;
        texts[i] = it->choices[i].text;
        if (strlen(labels[i]) > longest)
            longest = strlen(labels[i]);
    }
    cap = 3 * longest + 1;
    out = sk_malloc(cap + 8);
    small = sk_malloc(cap);
    if (!out || !small)
        abort();
    memset(out, 'x', cap + 8);
    ok = sk_choice_parse(answer, labels, texts, it->n_choices, out, cap + 8);
    if (strlen(out) >= cap)
        abort(); /* more than the documented room */
    if (sk_choice_parse(answer, labels, texts, it->n_choices, small, cap) !=
            ok ||
        strcmp(small, out) != 0 ||
        sk_choice_parse(answer, labels, texts, it->n_choices, NULL, 0) != ok)
        abort();
    for (i = 0; ok && i < it->n_choices && strlen(labels[i]) < 1000; i++) {
        sk_choice_normalize(labels[i], norm, sizeof norm);
        hit |= strcmp(norm, out) == 0;
    }
    if (ok && !hit && longest < 1000)
        abort();
    sk_free(out);
    sk_free(small);
    sk_free(labels);
    sk_free(texts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    struct sk_livemath_item it;
    struct sk_bench_ctx ctx;
    struct sk_error err;
    json_t *item = json_loadb((const char *)data, jlen, 0, NULL), *row;
    char *resp, *sys = NULL, *user = NULL;
    int rc;

    if (!item)
        return 0;
    resp =
        sk_strndup(nul ? (const char *)nul + 1 : "", nul ? size - jlen - 1 : 0);
    if (!resp)
        abort();
    memset(&ctx, 0, sizeof ctx);
    ctx.seed = (int64_t)(size * 2654435761u) - 1000;
    sk_livemath_item_init(&it);
    rc = sk_livemath_item_from_json(item, &it, &err);
    if (rc == SK_OK) {
        check_parse(&it, resp);
        rc = sk_livemath_shuffle(&it, ctx.seed, &err);
        if (rc != SK_OK && !(rc == SK_EDATA && it.n_choices > 7))
            abort();
        rc = sk_bench_livemath.build(item, "skill", &ctx, &sys, &user, &err);
        if ((rc == SK_OK) != (it.n_choices <= 7) ||
            (rc == SK_OK && (!sys || !user)))
            abort();
        /* replies come out of JSON, so they are valid UTF-8 */
        row = sk_utf8_valid(resp, strlen(resp), NULL) ? json_object() : NULL;
        rc = row ? sk_bench_livemath.score(item, resp, &ctx, row, &err) : 0;
        if (row && (rc == SK_OK) != (it.n_choices <= 7))
            abort();
        if (row && rc == SK_OK) {
            json_int_t h = json_integer_value(json_object_get(row, "hard"));
            double s = json_real_value(json_object_get(row, "soft"));
            if ((h != 0 && h != 1) || s != (double)h)
                abort();
        }
        json_decref(row);
    } else if (rc != SK_EDATA) {
        abort();
    }
    sk_free(sys);
    sk_free(user);
    sk_livemath_item_release(&it);
    sk_free(resp);
    json_decref(item);
    return 0;
}
