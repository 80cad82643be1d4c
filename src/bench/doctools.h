/*
 * doctools.h - read-only document tools for a model working through a text
 * protocol (OfficeQA's tool loop): list / glob, read a line window, grep.
 *
 * A toolbox is opened over some document roots and the names of the files
 * one question may use.  Only regular files inside a root whose resolved
 * name is one of those names can be read; everything the model asks for
 * is checked again when it asks (no absolute paths, no "..", no NUL, the
 * realpath must stay inside a root, size capped), and every refusal or bad
 * request becomes a tool error the model reads, never a failure of the
 * caller.  The model asks with <tool>{"name": ...}</tool> blocks in its
 * reply (docs/benchmarks.md, OfficeQA).
 *
 * Ownership: arguments are borrowed; a toolbox owns its copies and is
 * freed with sk_doctools_free.  A toolbox is read-only once open, so one
 * may serve several threads.  Results are appended to caller buffers.
 */
#ifndef SK_DOCTOOLS_H
#define SK_DOCTOOLS_H

#include <stddef.h>

#include "common.h"

struct sk_buf;

#define SK_DOCTOOLS_READ_CHARS 4000 /* code points of one read result */
#define SK_DOCTOOLS_READ_LINES 80   /* default read window */
#define SK_DOCTOOLS_GREP_MATCHES 20
#define SK_DOCTOOLS_GREP_LINE_CHARS 400 /* each grep line is cut here */
#define SK_DOCTOOLS_GLOB_MATCHES 50
#define SK_DOCTOOLS_MAX_FILE ((size_t)64 << 20) /* bytes of one document */
#define SK_DOCTOOLS_MAX_REQUEST 8192            /* bytes of one <tool> body */
#define SK_DOCTOOLS_MAX_PATTERN 1000            /* bytes of a grep pattern */
#define SK_DOCTOOLS_MAX_DEPTH 16    /* directory levels walked under a root */
#define SK_DOCTOOLS_MAX_WALK 200000 /* directory entries looked at, in all */

struct sk_doctools;

/*
 * Opens a toolbox.  roots are directories as configured (relative to the
 * working directory; "~/" is the home directory); those that do not exist
 * are skipped, a root with a "transformed" subdirectory stands for that
 * subdirectory, and roots resolving to the same place count once.
 * sources are the file names the question may use: a file matches when
 * its name is the source name, or, for a source "X.txt", "X.pdftotext.txt"
 * (what `pdftotext` dumps are often called).  The roots are walked once
 * (symlinked directories are not entered) for matching regular files whose
 * realpath stays inside their root; when two roots hold the same relative
 * path the first root wins.  Returns SK_OK or SK_ENOMEM; *out is NULL on
 * failure.
 */
int sk_doctools_open(const char *const *roots, size_t n_roots,
                     const char *const *sources, size_t n_sources,
                     struct sk_doctools **out, struct sk_error *err);
void sk_doctools_free(struct sk_doctools *dt); /* NULL ok */

/* Roots that exist (after the rules above). */
size_t sk_doctools_n_roots(const struct sk_doctools *dt);

/* The files the model may open, as it must name them (relative to their
 * root), sorted by root then path; borrowed. */
size_t sk_doctools_n_files(const struct sk_doctools *dt);
const char *sk_doctools_file(const struct sk_doctools *dt, size_t i);

/* Source names with no matching file in any root; borrowed. */
size_t sk_doctools_n_missing(const struct sk_doctools *dt);
const char *sk_doctools_missing(const struct sk_doctools *dt, size_t i);

/*
 * Finds the next tool block of a reply at or after *pos: "<tool>" (ASCII
 * letters in any case) up to the next "</tool>", or to the end of text
 * when it is not closed.  Returns 1 with *body / *body_len the inside, and
 * *closed, and moves *pos past the block; 0 when there is none.
 */
int sk_doctools_next_block(const char *text, size_t len, size_t *pos,
                           const char **body, size_t *body_len, int *closed);

/*
 * Runs one tool request, the text of a block: a JSON object with "name"
 * (list, glob, read, grep) and its arguments (glob: pattern; read: path,
 * start, limit; grep: pattern, path - optional: every file).  The tool's
 * name (or "?" when unreadable) is appended to name and the result text
 * to out; *failed is 1 when the result is a tool error (a refused path, a
 * bad request, a missing document), whose text then starts with "error: ".
 * Results are valid UTF-8 (invalid bytes and NUL become U+FFFD) and
 * bounded by the limits above.  Returns SK_OK, or SK_ENOMEM / SK_ETOOBIG
 * from the buffers (then out may hold part of a result).
 */
int sk_doctools_run(const struct sk_doctools *dt, const char *req, size_t len,
                    struct sk_buf *name, struct sk_buf *out, int *failed);

#endif /* SK_DOCTOOLS_H */
