/*
 * livemath.h - LiveMathematicianBench (benchmarks.md 5): theorem-based
 * multiple-choice questions, choices shuffled per item and seed exactly as
 * the reference does, replies scored by the reference's label parser
 * (choice.h).  The benchmark itself is sk_bench_livemath (benches.h).
 *
 * Items come in the normalized form of a split directory, {id, question,
 * choices:[{label,text}], correct_choice:{label,text}, theorem, sketch,
 * theorem_type:[...], ...}, used as they are (as the reference's
 * split_dir loader does), or in one of the reference's raw forms, which
 * sk_livemath_item_from_json normalizes as its load_items does (see
 * docs/benchmarks.md).
 *
 * Ownership: JSON passed in is borrowed; every string in the structs below
 * is owned by the struct and freed by its release function.
 */
#ifndef SK_LIVEMATH_H
#define SK_LIVEMATH_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;

/* The reference's labels: shuffled choices are relabelled A, B, ... G. */
#define SK_LIVEMATH_LABELS "ABCDEFG"
#define SK_LIVEMATH_MAX_CHOICES 7

struct sk_livemath_choice {
    char *label;
    char *text;
};

struct sk_livemath_item {
    char *id;        /* str(item["id"]) */
    char *question;  /* as given (normalized form) or stripped (raw) */
    char *theorem;   /* "" when absent */
    char *sketch;    /* "" when absent */
    char *task_type; /* the first theorem_type, or "math_mcq" */
    struct sk_livemath_choice *choices;
    size_t n_choices;
    struct sk_livemath_choice correct; /* correct_choice */
};

/* Empties it without allocating.  Cannot fail. */
void sk_livemath_item_init(struct sk_livemath_item *it);
/* Frees what it holds and empties it.  NULL is fine. */
void sk_livemath_item_release(struct sk_livemath_item *it);

/*
 * Reads item into out (initialised; previous contents released).  Returns
 * SK_OK; SK_EDATA (err names the id and the field) for an item that is
 * not an object, has no id, has fields of the wrong type, more than 7
 * unlabelled choices, or ends up without a question, a choice or a
 * correct label; SK_ENOMEM.  On failure out is left empty.
 */
int sk_livemath_item_from_json(const struct json_t *item,
                               struct sk_livemath_item *out,
                               struct sk_error *err);

/*
 * The reference's per-item shuffle: random.Random(int(sha256(
 * f"{seed}:{id}").hexdigest()[:16], 16)).shuffle(choices), then the
 * choices are relabelled A, B, ... in their new order and correct is
 * remapped to the choice whose normalized label was the correct one (left
 * as it was when no choice has it).  Returns SK_OK, SK_EDATA for more
 * than 7 choices (the reference has only labels A-G) or SK_ENOMEM; it is
 * unchanged on failure.
 */
int sk_livemath_shuffle(struct sk_livemath_item *it, int64_t seed,
                        struct sk_error *err);

struct sk_livemath_result {
    int correct;            /* 1 when the parsed label is the correct one */
    char *extracted;        /* the reply's answer (last <answer>, else line) */
    char *predicted_label;  /* the parsed label, normalized (maybe "") */
    char *predicted_answer; /* predicted_label, or extracted when empty */
    char *predicted_text;   /* text of that choice, stripped, or "" */
    char *correct_label;    /* normalized */
    char *correct_text;     /* stripped */
    char *fail_reason;      /* the reference's "MCQ=0: ..."; NULL if right */
};

/*
 * Scores response (len bytes) against it as the reference's evaluate()
 * does.  Returns SK_OK with r filled, or SK_ENOMEM (r then holds nothing
 * to free).
 */
int sk_livemath_evaluate(const struct sk_livemath_item *it,
                         const char *response, size_t len,
                         struct sk_livemath_result *r);
void sk_livemath_result_release(struct sk_livemath_result *r);

#endif /* SK_LIVEMATH_H */
