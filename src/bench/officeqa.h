/*
 * officeqa.h - OfficeQA (questions over U.S. Treasury Bulletins): the
 * item normalisation of the reference loader, its scorer (first <answer>,
 * the reference's normalisation, EM and token F1) reproduced bit for bit
 * with the CPython string semantics of score.h, a stricter numeric match
 * logged beside it, and the text-corpus builder (pdftotext per PDF).
 * The benchmark itself (prompts, the tool loop) is sk_bench_officeqa
 * (benches.h); the tools are doctools.h.
 *
 * Ownership: text arguments are borrowed UTF-8; structs own their strings
 * and are emptied with their _release; sk_buf outputs are appended to.
 */
#ifndef SK_OFFICEQA_H
#define SK_OFFICEQA_H

#include <stddef.h>

#include "common.h"

struct sk_buf;
struct json_t;

/* Model replies per item when env.max_tool_turns is null (the value of
 * configs/officeqa/default.yaml). */
#define SK_OFFICEQA_TOOL_TURNS 24
/* Tool blocks run per reply; later ones get a tool error. */
#define SK_OFFICEQA_TOOLS_PER_REPLY 4
/* Documents named in the user prompt. */
#define SK_OFFICEQA_FILES_SHOWN 20

/* An item as the reference's loader normalises a row. */
struct sk_officeqa_item {
    char *id;           /* str(uid or id), stripped */
    char *question;     /* stripped */
    char *ground_truth; /* ground_truth, else answer, stripped */
    char *task_type;    /* category, else difficulty, else "officeqa" */
    char **source_files;
    size_t n_source_files;
    char **source_docs; /* page URLs */
    size_t n_source_docs;
};

void sk_officeqa_item_init(struct sk_officeqa_item *it);
void sk_officeqa_item_release(struct sk_officeqa_item *it);

/*
 * Fills *it (init'ed or released) from one items.json object (or a CSV
 * row turned into an object of strings).  Scalars are read as Python's
 * str() reads them (an integer id 7 is "7"); "or" fallbacks skip empty
 * values as the reference does.  Does not require a question or a gold
 * (the benchmark does).  SK_EDATA for a non-object or a field that is an
 * object or array where text is expected; SK_ENOMEM.  *it is empty on
 * failure.
 */
int sk_officeqa_item_from_json(const struct json_t *obj,
                               struct sk_officeqa_item *it,
                               struct sk_error *err);

/*
 * The reference's list fields (source_files, source_docs): null -> [];
 * a JSON list -> its items as text, stripped, empty ones dropped; text
 * (stripped) -> a JSON list it parses to, else its lines (str.splitlines)
 * when it holds a "\n", else its comma-separated parts when it holds ","
 * and does not end in ".txt" (any case), else itself; empty -> [].
 * *out is a new array of new strings (NULL when *n is 0).  SK_EDATA for
 * an object, or a list item that is an object or array; SK_ENOMEM.
 */
int sk_officeqa_parse_list(const struct json_t *v, char ***out, size_t *n,
                           struct sk_error *err);
void sk_officeqa_strs_free(char **v, size_t n);

/*
 * The reference's normalize_answer: lower() then strip(); delete ','; delete
 * ASCII punctuation except '.', '-' and '%'; replace the whole words
 * million(s), billion(s), dollar(s), nominal by a space; collapse
 * whitespace.  Appends to out; SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_officeqa_normalize(const char *s, size_t len, struct sk_buf *out);

/*
 * The final answer of a reply: *present is 1 when "<answer>" appears in
 * its lower-cased text; then the first <answer>(.*?)</answer> (tags as
 * re.IGNORECASE matches them), stripped, is appended to out, or, without
 * a complete pair, the last non-empty line stripped.  Nothing is
 * appended when *present is 0.  SK_OK, SK_ENOMEM or SK_ETOOBIG.
 */
int sk_officeqa_extract(const char *text, size_t len, int *present,
                        struct sk_buf *out);

struct sk_officeqa_result {
    int answered;      /* a non-empty final answer was extracted */
    double em;         /* normalised strings equal; 0 when not answered */
    double f1;         /* token F1 of the normalised strings */
    int hard;          /* int(em) */
    double soft;       /* f1 */
    double em_numeric; /* equal values (scored with env.officeqa_numeric_em) */
    char *predicted;   /* the extracted answer ("" when not answered) */
    char *fail_reason; /* "predicted '...' but expected '...'" when
                          answered with em 0, else NULL */
};

/*
 * Scores a reply against the gold as the reference's rollout does: no
 * <answer>, or an empty answer, scores 0 without comparing.  em_numeric:
 * when the answer and the gold both read as one number (ignoring "$",
 * ",", "%", the scale words, surrounding whitespace; "(x)" and U+2212 as
 * minus), 1.0 when the two values are equal ("5.0" = "5", "(3.2)" =
 * "-3.2"), else 0.0; otherwise em.  SK_OK or SK_ENOMEM (then res is
 * empty).  Release res with sk_officeqa_result_release.
 */
int sk_officeqa_evaluate(const char *response, size_t len, const char *gold,
                         size_t glen, struct sk_officeqa_result *res);
void sk_officeqa_result_release(struct sk_officeqa_result *res);

/* What sk_officeqa_build_corpus did. */
struct sk_officeqa_corpus_stats {
    size_t pdfs;          /* *.pdf files found */
    size_t converted;     /* text written by this call */
    size_t up_to_date;    /* text already newer than its PDF */
    size_t no_text;       /* no text layer (scans): nothing written */
    size_t failed;        /* pdftotext failed */
    char **no_text_names; /* PDF file names, n = no_text */
    char **failed_names;  /* n = failed */
};

void sk_officeqa_corpus_stats_init(struct sk_officeqa_corpus_stats *st);
void sk_officeqa_corpus_stats_release(struct sk_officeqa_corpus_stats *st);

/*
 * Builds the text corpus of OfficeQA from PDFs: for each pdf_dir/<stem>.pdf
 * (not recursive, name order, ".pdf" in any case) runs `pdftotext -q
 * -layout -enc UTF-8` (the program named by $PDFTOTEXT, else pdftotext on
 * PATH) into out_dir/<stem>.txt, created atomically (temporary file +
 * rename); out_dir is created.  A text file newer than its PDF is kept.
 * A PDF whose text is only whitespace (a scan without a text layer) gets
 * no text file and is listed in st->no_text_names.  Returns SK_OK (st
 * filled, st may hold no-text PDFs); SK_ENOTFOUND when pdf_dir is missing
 * or pdftotext cannot be run (err says to install poppler-utils); SK_EIO
 * when some PDF failed to convert (the others are done; st lists it) or
 * out_dir cannot be written; SK_ENOMEM.
 */
int sk_officeqa_build_corpus(const char *pdf_dir, const char *out_dir,
                             struct sk_officeqa_corpus_stats *st,
                             struct sk_error *err);

#endif /* SK_OFFICEQA_H */
