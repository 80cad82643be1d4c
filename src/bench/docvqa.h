/*
 * docvqa.h - DocVQA: questions about one scanned document page, answered
 * from the page image and scored with ANLS (anls.h) as the reference's
 * evaluator does.
 *
 * Items come from items.json or, as the reference's loader wants, a CSV
 * file of the split folder (data/split.h); both give objects with:
 *   "id"          string or integer (CSV: questionId when there is no id),
 *   "question"    string; a "document_path:<path>" suffix is cut off and
 *                 used as the image path when "image_path" is blank,
 *   "image_path"  PNG or JPEG file (see sk_docvqa_image_resolve),
 *   "answers"     the gold answers, any JSON value, read by the
 *                 evaluator's rules (sk_docvqa_gold_list); without it,
 *   "answer" / "ground_truth"  a string holding a Python list literal
 *                 ("['a', 'b']", the reference CSV's form, read as its
 *                 loader does: sk_docvqa_parse_answers), or any JSON value
 *                 read by the evaluator's rules,
 *   "topic" / "category"  the task type (default "docvqa").
 * Structs own their strings; release them with the matching _release.
 * Text arguments are borrowed; sk_buf outputs are appended to.
 */
#ifndef SK_DOCVQA_H
#define SK_DOCVQA_H

#include <stddef.h>

#include "common.h"

struct sk_buf;
struct json_t;
struct sk_config;
struct sk_llm_image;

/* Largest image file sent, in bytes (base64 makes it a third larger). */
#define SK_DOCVQA_MAX_IMAGE ((size_t)20 * 1024 * 1024)
/* hard = 1 when ANLS reaches this (the reference's cut). */
#define SK_DOCVQA_HARD_MIN 0.999

struct sk_docvqa_item {
    char *id;           /* str(item["id"]) */
    char *question;     /* stripped, without the document_path: suffix */
    char *image_path;   /* as written in the item; "" when there is none */
    char *task_type;    /* topic, else category, else "docvqa" */
    char **golds;       /* the gold list the scorer uses (n_golds >= 1) */
    size_t n_golds;     /* [""] when the item lists no answer */
    char *answers_text; /* str(item["answers"]) of the reference, for
                           the failure reason */
};

struct sk_docvqa_result {
    double anls;       /* max over the golds, in [0, 1] */
    int hard;          /* anls >= SK_DOCVQA_HARD_MIN */
    char *predicted;   /* the extracted answer */
    char *fail_reason; /* "predicted '...' but expected one of [...]" when
                          anls <= 0, else NULL */
};

/* Empties the struct; allocates nothing. */
void sk_docvqa_item_init(struct sk_docvqa_item *it);
/* Frees what the struct holds and re-inits it. */
void sk_docvqa_item_release(struct sk_docvqa_item *it);

/*
 * Fills *it (init'ed or released) from one item object.  Returns SK_OK;
 * SK_EDATA when the id or the question is missing, blank or not a string
 * (message in err); SK_ENOMEM.  On failure *it is left empty.
 */
int sk_docvqa_item_from_json(const struct json_t *obj,
                             struct sk_docvqa_item *it, struct sk_error *err);

/*
 * The evaluator's gold list of raw (a JSON value, NULL for a missing
 * one): null -> [""]; a string is stripped, and when it starts with '['
 * or '{' parsed as JSON, else as a Python literal (pylit.h), the result
 * read again (unparsable: [the stripped string]); a blank string -> [""];
 * an object gives its "answers", "ground_truth" or "answer" value read
 * again, else [str(object)]; an array gives str() of each element, except
 * that an object element gives its "text", "answer" or "value" read again
 * (else str(element)); an empty array -> [""]; numbers and booleans ->
 * [str(x)].  *out is a new array of *n >= 1 new strings (free each, then
 * the array).  SK_OK or SK_ENOMEM.
 */
int sk_docvqa_gold_list(const struct json_t *raw, char ***out, size_t *n);

/*
 * The reference loader's reading of an answer cell: stripped; blank -> no
 * answer; else ast.literal_eval: a list gives the stripped str() of its
 * elements, blank ones dropped; another value its stripped str(); a text
 * that is no literal (of the pylit.h subset) itself.  *out is a new array
 * of *n new strings (NULL when *n is 0).  SK_OK or SK_ENOMEM.
 */
int sk_docvqa_parse_answers(const char *text, size_t len, char ***out,
                            size_t *n);

/*
 * The reference's answer extraction: the text between the last "<answer>"
 * and the last "</answer>" (ASCII case-insensitive, found in str.lower()
 * of the text and cut at those positions of the original, as Python does)
 * when the closing tag comes after the opening one, stripped; else the
 * last non-blank line (str.splitlines), stripped; else "".  Appends to
 * out.  SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_docvqa_extract_answer(const char *text, size_t len, struct sk_buf *out);

/*
 * Scores a model response against golds: extraction, ANLS, hard and the
 * failure reason (answers_text is what it quotes; NULL: the golds' repr).
 * *res must be released afterwards, also on failure.  SK_OK or SK_ENOMEM.
 */
int sk_docvqa_evaluate(const char *response, size_t len,
                       const char *const *golds, size_t n,
                       const char *answers_text, struct sk_docvqa_result *res);

/* Frees what the result holds and zeroes it. */
void sk_docvqa_result_release(struct sk_docvqa_result *res);

/*
 * "image/png" or "image/jpeg" when data starts with the PNG signature or
 * the JPEG SOI marker (FF D8 FF); NULL for anything else.  The file name
 * is never consulted.
 */
const char *sk_docvqa_image_mime(const unsigned char *data, size_t len);

/*
 * The file an item's image_path names, into *out (new string): an
 * absolute path as it is; with env.data_root set, data_root/path; else
 * path relative to the working directory (the reference's reading) when
 * such a file exists, else relative to the data's directory (the parent
 * of env.split_dir in split_dir mode, the directory of env.data_path in
 * ratio mode) when that exists.  cfg may be NULL (working directory
 * only).  SK_EDATA (naming the places tried) when there is no such file
 * or path is blank; SK_ENOMEM.
 */
int sk_docvqa_image_resolve(const char *path, const struct sk_config *cfg,
                            char **out, struct sk_error *err);

/*
 * Reads the image file at path (at most SK_DOCVQA_MAX_IMAGE bytes) into
 * *img: data (new, sk_free), mime from the content, detail as given
 * (borrowed; NULL for none), url NULL.  SK_EDATA for a file that is
 * missing, unreadable, too large or neither PNG nor JPEG; SK_ENOMEM.
 */
int sk_docvqa_image_load(const char *path, const char *detail,
                         struct sk_llm_image *img, struct sk_error *err);

#endif /* SK_DOCVQA_H */
