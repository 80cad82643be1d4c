/*
 * userbench.h - the text side of the benchmarks users describe in YAML
 * (benches.h, docs/benchmarks.md): finding the answer in a reply, the
 * scorers, and the external scorer command.  userbench.c reads the YAML
 * and turns it into a struct sk_bench with these; the tests call them
 * directly.
 *
 * Ownership: the structs own their strings and the compiled pattern (freed
 * by the matching _release); text arguments are borrowed and UTF-8;
 * struct sk_buf outputs are appended to.  Nothing keeps global state.
 */
#ifndef SK_USERBENCH_H
#define SK_USERBENCH_H

#include <regex.h>
#include <stddef.h>

#include "common.h"

struct json_t;
struct sk_buf;

/* Where the answer is in the reply (extract.mode). */
enum sk_ub_mode {
    SK_UB_TAG = 0,   /* <tag>...</tag>, first or last occurrence */
    SK_UB_REGEX,     /* POSIX ERE, first capture group (else whole match) */
    SK_UB_LAST_LINE, /* the last non-empty line */
    SK_UB_JSON,      /* a field of the reply's JSON object (dotted path) */
    SK_UB_FULL       /* the whole reply */
};

/* What to take when the mode finds nothing (extract.fallback). */
enum sk_ub_fallback {
    SK_UB_FB_NONE = 0, /* no answer: the prediction is "" */
    SK_UB_FB_LAST_LINE,
    SK_UB_FB_FULL
};

struct sk_ub_extract {
    enum sk_ub_mode mode;
    enum sk_ub_fallback fallback;
    char *tag;  /* tag: element name; NULL means "answer" */
    int last;   /* tag, regex: take the last occurrence, else the first */
    regex_t re; /* regex: the compiled pattern, valid when has_re */
    int has_re; /* re must be regfree'd */
    char *path; /* json: "answer", "result.values.0" */
};

/* Sets x to mode tag, tag "answer", last occurrence, no fallback.  Cannot
 * fail; allocates nothing. */
void sk_ub_extract_init(struct sk_ub_extract *x);
/* Frees what x holds and re-initialises it. */
void sk_ub_extract_release(struct sk_ub_extract *x);

/*
 * Compiles pattern as a POSIX extended regular expression into x (mode
 * becomes regex).  Returns SK_OK; SK_EPARSE with regerror's text in err;
 * SK_ENOMEM.
 */
int sk_ub_extract_set_regex(struct sk_ub_extract *x, const char *pattern,
                            int ignore_case, struct sk_error *err);

/*
 * Finds the answer in text[0..len): appends it, without surrounding
 * whitespace, to out and sets *found to 1.  When neither the mode nor the
 * fallback finds one, appends nothing, sets *found to 0 and appends a short
 * reason to why ("no <answer>...</answer> in the reply").  A fallback that
 * fires also sets *found to 1 and notes itself in why.  Returns SK_OK,
 * SK_ENOMEM or SK_ETOOBIG (out's or why's cap).
 */
int sk_ub_extract_run(const struct sk_ub_extract *x, const char *text,
                      size_t len, struct sk_buf *out, int *found,
                      struct sk_buf *why);

/* The scorer (scorer.type). */
enum sk_ub_kind {
    SK_UB_EM = 0,   /* SQuAD exact match (SearchQA's normalisation) */
    SK_UB_F1,       /* SQuAD token F1 */
    SK_UB_ANLS,     /* DocVQA's ANLS (anls.h) */
    SK_UB_NUMERIC,  /* numbers equal within a tolerance */
    SK_UB_CHOICE,   /* the option label LiveMath's parser reads (choice.h) */
    SK_UB_CONTAINS, /* some gold is a case-insensitive substring */
    SK_UB_COMMAND   /* an external program prints the score */
};

/* Largest scorer command output kept, in bytes. */
#define SK_UB_MAX_OUTPUT (64u * 1024u)

struct sk_ub_scorer {
    enum sk_ub_kind kind;
    double threshold; /* hard = score >= threshold */
    double abs_tol;   /* numeric: |p - g| <= abs_tol ... */
    double rel_tol;   /* ... or |p - g| <= rel_tol * |g| */
    char **argv;      /* command: argv, NULL-terminated (owned) */
    char *cwd;        /* command: its working directory, NULL: ours */
    long timeout_ms;  /* command: killed after this long */
};

/* What one item is scored against (all borrowed). */
struct sk_ub_gold {
    const char *const *golds; /* gold answers; choice: the gold labels */
    size_t n;
    const char *const *labels; /* choice: option labels ("A", ...) */
    const char *const *texts;  /* choice: option texts */
    size_t n_choices;
    const char *id;            /* command: the item's id */
    const struct json_t *item; /* command: the whole item */
};

struct sk_ub_result {
    double score; /* soft, in [0, 1] */
    int hard;     /* 0 or 1 */
    double em;    /* em, f1 scorers: SQuAD EM; others: hard */
    double f1;    /* em, f1 scorers: SQuAD F1; others: score */
    char *detail; /* why hard is 0 (the fail_reason), else NULL */
    char *parsed; /* choice: the label read; numeric: the value read;
                     NULL otherwise or when nothing was read */
};

/* Zeroes the scorer (kind em, threshold 1).  Cannot fail. */
void sk_ub_scorer_init(struct sk_ub_scorer *s);
void sk_ub_scorer_release(struct sk_ub_scorer *s);
/* Frees what r holds and zeroes it. */
void sk_ub_result_release(struct sk_ub_result *r);

/*
 * Parses a number the numeric scorer's way: every ',', '$' and '%' is
 * removed, then surrounding whitespace; what is left must be a decimal
 * number strtod reads whole ([+-] digits [. digits] [e [+-] digits]; no
 * hex, inf or nan).  Returns 1 and *out, or 0.
 */
int sk_ub_parse_number(const char *s, double *out);

/*
 * Scores the prediction pred (already extracted) against g with s.  *out
 * must be zeroed or released before; on SK_OK it holds the score, hard
 * and, when hard is 0, the failure's description.  Returns SK_OK;
 * SK_EDATA when the scorer cannot score (a gold that is not a number for
 * numeric, no choices for choice, the command failing, timing out or
 * printing something else than a score), with err saying why; SK_ENOMEM.
 */
int sk_ub_score(const struct sk_ub_scorer *s, const char *pred,
                const struct sk_ub_gold *g, struct sk_ub_result *out,
                struct sk_error *err);

/*
 * Runs argv (argv[0] looked up in PATH when it has no '/'; no shell) in
 * cwd (NULL: ours) in its own process group, writes input to its stdin
 * (then closes it) and collects its stdout into out (at most
 * SK_UB_MAX_OUTPUT bytes) within timeout_ms.  Returns SK_OK when it exits
 * with status 0; SK_EIO when it cannot be started, exits otherwise, is
 * killed, or is still running at the deadline (then its process group is
 * killed), with err giving the status and the end of its stderr;
 * SK_ETOOBIG for more output than the cap; SK_ENOMEM.
 */
int sk_ub_command_run(char *const *argv, const char *cwd, const char *input,
                      size_t len, long timeout_ms, struct sk_buf *out,
                      struct sk_error *err);

/*
 * Reads a scorer command's output: one number in [0, 1] (the score), or a
 * JSON object {"soft": x} with optional "hard" (0, 1, false or true) and
 * "reason" (a string), surrounded by whitespace at most.  Sets *soft,
 * *hard (-1 when not given) and *reason (new string or NULL).  Returns
 * SK_OK, SK_EPARSE (err quotes the output) or SK_ENOMEM.
 */
int sk_ub_command_parse(const char *text, size_t len, double *soft, int *hard,
                        char **reason, struct sk_error *err);

#endif /* SK_USERBENCH_H */
