/*
 * ssb_exec.h - runs model-written Python for SpreadsheetBench: one script
 * on one input workbook, in a fresh work directory inside the sandbox
 * (sandbox/sandbox.h), the saved workbook copied out.
 *
 * The script sees INPUT_PATH and OUTPUT_PATH as globals set by a runner
 * we write next to it (the model's own assignments to them are neutered
 * first, as the reference does), so it is run unchanged: no re-indenting,
 * line numbers in tracebacks are the model's.
 *
 * Ownership: options and paths are borrowed; results own their text
 * (ssb_exec_result_release).  Thread-safe: each run has its own directory.
 */
#ifndef SK_BENCH_SSB_EXEC_H
#define SK_BENCH_SSB_EXEC_H

#include <stddef.h>

#include "common.h"

struct sk_config;
struct sk_buf;

/* Largest workbook copied in or out, in bytes. */
#define SSB_MAX_WORKBOOK (64u << 20)
/* Bytes of a script's output kept for feedback (its end). */
#define SSB_FEEDBACK_OUTPUT 3000

/* How scripts run: interpreter, limits, sandbox or not. */
struct ssb_exec_opts {
    const char *python; /* interpreter (env.python) */
    double timeout_s;   /* wall clock per run (env.code_timeout) */
    long cpu_s, mem_mb, fsize_mb, nproc;
    int unsafe;        /* env.unsafe_no_sandbox */
    const char *bwrap; /* NULL: from PATH */
};

/* Fills o from cfg (NULL: the defaults). */
void ssb_exec_opts_from_config(struct ssb_exec_opts *o,
                               const struct sk_config *cfg);

struct ssb_exec_result {
    int ok;       /* exited 0 and saved the output workbook */
    char *how;    /* when !ok: "exit status 2", "timed out after 120 s",
                     "no output workbook was saved", ... */
    char *output; /* stdout then stderr, the last SSB_FEEDBACK_OUTPUT
                     bytes, valid UTF-8 */
    double wall_s;
};

void ssb_exec_result_init(struct ssb_exec_result *r);
void ssb_exec_result_release(struct ssb_exec_result *r);

/*
 * Writes the script with its INPUT_PATH / OUTPUT_PATH assignment lines
 * replaced by "pass" at the same indentation (so blocks stay valid and
 * line numbers stay put).  Appends to out; SK_OK or SK_ENOMEM/SK_ETOOBIG.
 */
int ssb_neuter_paths(const char *code, struct sk_buf *out);

/*
 * The first fenced code block of a reply: the text after the line that
 * opens the first ``` fence up to the next ```, trimmed; the whole reply
 * trimmed when there is no complete fence (the reference's rule).  New
 * string in *code (sk_free); SK_OK or SK_ENOMEM.
 */
int ssb_extract_code(const char *reply, char **code);

/*
 * Runs code as a script on a copy of input (a workbook) and, when it
 * succeeds, copies the workbook it saved to pred (created or replaced;
 * removed first, so a failed run never leaves an older file behind).
 * The scratch directory is removed afterwards.  Returns SK_OK with r
 * telling how it went (a script that fails is r->ok 0, not an error);
 * SK_EDATA when input cannot be read or no sandbox could be made (err
 * says which and what to do); SK_EIO when the scratch directory or pred
 * cannot be written; SK_ENOMEM.
 */
int ssb_exec_run(const struct ssb_exec_opts *o, const char *code,
                 const char *input, const char *pred, struct ssb_exec_result *r,
                 struct sk_error *err);

/*
 * A persistent work directory for the ReAct mode: input.xlsx copied in,
 * scripts written and run there (ssb_workdir_run: script named relative
 * to the directory, INPUT_PATH input.xlsx, OUTPUT_PATH output.xlsx).
 */
struct ssb_workdir {
    char *path;
};

int ssb_workdir_open(struct ssb_workdir *w, const char *input,
                     struct sk_error *err);
/* Removes the directory; NULL-safe on a closed one. */
void ssb_workdir_close(struct ssb_workdir *w);
/*
 * Writes name (a plain relative path inside the directory: no "..", not
 * absolute, at most 4 levels) with text.  SK_EINVAL for a refused name
 * (err says why; the caller reports it to the model), SK_EIO, SK_ENOMEM.
 */
int ssb_workdir_write(struct ssb_workdir *w, const char *name, const char *text,
                      size_t len, struct sk_error *err);
/* Runs script (a name as for ssb_workdir_write) like ssb_exec_run, with
 * the output left in the directory as output.xlsx. */
int ssb_workdir_run(struct ssb_workdir *w, const struct ssb_exec_opts *o,
                    const char *script, struct ssb_exec_result *r,
                    struct sk_error *err);

#endif /* SK_BENCH_SSB_EXEC_H */
