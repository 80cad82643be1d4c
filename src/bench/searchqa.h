/*
 * searchqa.h - SearchQA items and scorer (SQuAD-style EM / token F1).
 *
 * Reproduces the reference's searchqa evaluator and context cut with the
 * CPython string semantics of score.h.  Items are read from the jansson
 * objects of data/searchqa_split/<split>/items.json, whose fields are:
 *   "id"       string (an integer is accepted and printed in decimal),
 *   "question" string (required),
 *   "context"  string of "[DOC] ..." snippets (optional, default ""; null
 *              gives a NULL context: 118 of the real items have it, and
 *              the reference rollout turns them into "error: ..." rows),
 *   "answers"  array of gold strings (optional, default []).
 * Structs own their strings; release them with the matching _release.
 * Text arguments are borrowed UTF-8; sk_buf outputs are appended to.
 */
#ifndef SK_SEARCHQA_H
#define SK_SEARCHQA_H

#include <stddef.h>

#include "common.h"

struct sk_buf;
struct json_t;

/* Context budget of the reference rollout, in code points. */
#define SK_SEARCHQA_CONTEXT_CHARS 6000

struct sk_searchqa_item {
    char *id;       /* str(item["id"]) */
    char *question; /* the Jeopardy clue */
    char *context;  /* already cut to SK_SEARCHQA_CONTEXT_CHARS */
    char **answers; /* n_answers gold strings */
    size_t n_answers;
};

/* Per-response scores, as the reference's evaluate() plus hard/soft. */
struct sk_searchqa_result {
    double em;         /* 1.0 when some gold matches after normalize */
    double f1;         /* best token F1 over the golds */
    double sub_em;     /* substring match either way (logged only) */
    int hard;          /* int(em) */
    double soft;       /* f1 */
    char *predicted;   /* extracted answer */
    char *fail_reason; /* "EM=0: predicted '...' but expected [...]", or
                          NULL when em is 1 */
};

/* Empties the struct; allocates nothing. */
void sk_searchqa_item_init(struct sk_searchqa_item *it);
/* Frees what the struct holds and re-inits it. */
void sk_searchqa_item_release(struct sk_searchqa_item *it);

/*
 * Fills *it (which must be init'ed or released) from one items.json object,
 * cutting the context.  Returns SK_OK, SK_EDATA for a missing question or a
 * field of the wrong type (message in err), or SK_ENOMEM; on failure *it is
 * left empty.
 */
int sk_searchqa_item_from_json(const struct json_t *obj,
                               struct sk_searchqa_item *it,
                               struct sk_error *err);

/*
 * The reference's context cut: unchanged when at most max_chars code
 * points; else the "[DOC]"-separated pieces that fit in max_chars (the
 * first kept piece loses its "[DOC]" prefix, as in the reference); else the
 * first max_chars code points plus "\n...[truncated]".  Appends to out.
 * Returns SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_searchqa_cut_context(const char *ctx, size_t len, size_t max_chars,
                            struct sk_buf *out);

/*
 * SQuAD normalisation: str.lower(), drop ASCII punctuation, replace the
 * whole words a/an/the by a space, join str.split() tokens with one space.
 * Appends to out.  Returns SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_searchqa_normalize(const char *s, size_t len, struct sk_buf *out);

/*
 * The three metrics of an already-extracted answer against n golds,
 * exactly as the reference's exact_match / f1_score / sub_em.  Any of the
 * out-pointers may be NULL.  Returns SK_OK or SK_ENOMEM.
 */
int sk_searchqa_metrics(const char *pred, size_t len, const char *const *golds,
                        size_t n, double *em, double *f1, double *sub_em);

/*
 * Scores a model response: extracts the answer (score.h), computes the
 * metrics and the failure reason.  *res must be released afterwards, also
 * on failure.  Returns SK_OK or SK_ENOMEM.
 */
int sk_searchqa_evaluate(const char *response, size_t len,
                         const char *const *golds, size_t n,
                         struct sk_searchqa_result *res);

/* Frees what the result holds and zeroes it. */
void sk_searchqa_result_release(struct sk_searchqa_result *res);

#endif /* SK_SEARCHQA_H */
