/*
 * fuzz_docvqa.c - libFuzzer target for the DocVQA reader and scorer.
 *
 * Input: a model response, then NUL-separated gold cells.  Each gold cell
 * is read three ways: as a loader answer cell (Python literal), as the
 * evaluator's gold list of a JSON string, and as CSV text.  Invariants:
 * ANLS is in [0, 1], hard is exactly ANLS >= 0.999 and a failure reason
 * exists exactly when ANLS is 0; a literal that parses prints a repr that
 * parses back to the same repr; every list holds at least one gold.
 */
#include "common.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench/docvqa.h"
#include "bench/pylit.h"
#include "data/split.h"
#include "util/alloc.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void free_list(char **v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sk_free(v[i]);
    sk_free(v);
}

/* repr(parse(s)) is a fixed point of parse-then-repr. */
static void check_literal(const char *s, size_t len)
{
    struct sk_pylit *v = NULL, *w = NULL;
    struct sk_buf a, b;
    if (sk_pylit_parse(s, len, &v) != SK_OK)
        return;
    sk_buf_init(&a, SK_BUF_UNLIMITED);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_pylit_repr(v, &a) != SK_OK || sk_pylit_str(v, &b) != SK_OK)
        abort();
    /* "inf" and "nan" print as names, which are no literals */
    if (sk_pylit_parse(a.data, a.len, &w) == SK_OK) {
        sk_buf_reset(&b);
        if (sk_pylit_repr(w, &b) != SK_OK || a.len != b.len ||
            memcmp(a.data, b.data, a.len) != 0)
            abort();
    }
    sk_pylit_free(w);
    sk_pylit_free(v);
    sk_buf_release(&a);
    sk_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *cells[8];
    char **golds, **list;
    struct sk_docvqa_result r;
    json_t *arr = NULL, *js;
    char *copy = sk_malloc(size + 1);
    size_t n = 0, i, ng, nl, rlen;

    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    rlen = strlen(copy);
    for (i = rlen; i < size && n < SK_ARRAY_LEN(cells); i++)
        if (copy[i] == '\0')
            cells[n++] = copy + i + 1;
    for (i = 0; i < n; i++) {
        check_literal(cells[i], strlen(cells[i]));
        if (sk_docvqa_parse_answers(cells[i], strlen(cells[i]), &list, &nl) !=
            SK_OK)
            abort();
        free_list(list, nl);
        js = json_string(cells[i]); /* NULL for invalid UTF-8 */
        if (js) {
            if (sk_docvqa_gold_list(js, &list, &nl) != SK_OK || nl < 1)
                abort();
            free_list(list, nl);
            json_decref(js);
        }
        if (sk_split_parse_csv("f.csv", cells[i], strlen(cells[i]), &arr,
                               NULL) == SK_OK) {
            if (!json_is_array(arr))
                abort();
            json_decref(arr);
            arr = NULL;
        }
    }
    golds = (char **)cells;
    ng = n;
    if (sk_docvqa_evaluate(copy, rlen, (const char *const *)golds, ng, NULL,
                           &r) != SK_OK)
        abort();
    if (!(r.anls >= 0.0 && r.anls <= 1.0) ||
        r.hard != (r.anls >= SK_DOCVQA_HARD_MIN) ||
        (r.anls <= 0.0) != (r.fail_reason != NULL) || !r.predicted)
        abort();
    sk_docvqa_result_release(&r);
    check_literal(copy, rlen);
    sk_free(copy);
    return 0;
}
