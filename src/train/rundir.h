/*
 * rundir.h - the run directory (out_root) of a training run: path helpers
 * in the reference's layout (algorithm.md 8.1), JSON files written the way
 * CPython's json.dump(indent=2, ensure_ascii=False) writes them, and the
 * resume files: runtime_state.json, resume_state.json and history.json.
 *
 * Every file is written atomically (sk_fs_write_atomic): a failed write
 * leaves the previous file.  Paths returned through char ** belong to the
 * caller (sk_free).  JSON values passed in are borrowed; JSON values
 * returned through struct json_t ** are new references (json_decref).
 */
#ifndef SK_RUNDIR_H
#define SK_RUNDIR_H

#include <stddef.h>

#include "common.h"

struct json_t;
struct sk_buf;
struct sk_config;

/* File names at the top of out_root (reference names, 8.1 and 8.3). */
#define SK_RUNDIR_CONFIG "config.json"
#define SK_RUNDIR_RUNTIME_STATE "runtime_state.json"
#define SK_RUNDIR_RESUME_STATE "resume_state.json" /* ours, fixes 11.21 */
#define SK_RUNDIR_HISTORY "history.json"
#define SK_RUNDIR_BEST_SKILL "best_skill.md"
#define SK_RUNDIR_SUMMARY "summary.json"
#define SK_RUNDIR_LR_HISTORY "lr_history.jsonl"
#define SK_RUNDIR_EVENTS "events.jsonl" /* ours, see events.h */
#define SK_RUNDIR_PID "skillopt.pid"    /* ours: pid of the training process */

/* Largest JSON file the readers here accept. */
#define SK_RUNDIR_MAX_JSON (256u << 20)

struct sk_rundir {
    char *root; /* out_root as given (not made absolute), owned */
};

/* Sets rd up empty.  Allocates nothing. */
void sk_rundir_init(struct sk_rundir *rd);
/*
 * Takes a copy of root and creates the directory (mkdir -p).  Returns
 * SK_OK, SK_ENOMEM or SK_EIO (err names the path); on failure rd stays
 * empty.
 */
int sk_rundir_open(struct sk_rundir *rd, const char *root,
                   struct sk_error *err);
/*
 * Removes the temporary files ("<name>.tmp.<pid>") that atomic writes of a
 * killed process left under the run directory.  Returns how many went.
 */
size_t sk_rundir_clean_tmp(const struct sk_rundir *rd);

/* Frees what rd holds; rd may then be reused after sk_rundir_init. */
void sk_rundir_release(struct sk_rundir *rd);

/*
 * Path helpers.  Each stores a new string in *out (out_root joined with the
 * relative path shown) and returns SK_OK, SK_ENOMEM, or SK_EIO when create
 * is set and the directory cannot be made; *out is NULL on failure.  With
 * create set, a helper returning a directory creates it, and a helper
 * returning a file creates the file's directory.  Padding follows the
 * reference: steps 4 digits, epochs 2, minibatches 3.
 */

/* <rel> (any relative path; an absolute rel is returned as is). */
int sk_rundir_path(const struct sk_rundir *rd, const char *rel, int create,
                   char **out, struct sk_error *err);
/* skills/skill_vNNNN.md */
int sk_rundir_skill_path(const struct sk_rundir *rd, long step, int create,
                         char **out, struct sk_error *err);
/* steps/step_NNNN, or steps/step_NNNN/batch_<batch> when batch >= 0 (the
 * reference uses batch dirs only when accumulation > 1). */
int sk_rundir_step_dir(const struct sk_rundir *rd, long step, int batch,
                       int create, char **out, struct sk_error *err);
/* <step dir as above>/<name>, e.g. "merged_patch.json", "rollout". */
int sk_rundir_step_file(const struct sk_rundir *rd, long step, int batch,
                        const char *name, int create, char **out,
                        struct sk_error *err);
/* <step dir>/patches/minibatch_{fail,succ}_NNN.json */
int sk_rundir_patch_path(const struct sk_rundir *rd, long step, int batch,
                         int success, long index, int create, char **out,
                         struct sk_error *err);

enum sk_rundir_epoch_kind {
    SK_RUNDIR_SLOW_UPDATE = 0, /* slow_update/epoch_EE */
    SK_RUNDIR_META_SKILL       /* meta_skill/epoch_EE */
};

/* slow_update/epoch_EE or meta_skill/epoch_EE. */
int sk_rundir_epoch_dir(const struct sk_rundir *rd,
                        enum sk_rundir_epoch_kind kind, long epoch, int create,
                        char **out, struct sk_error *err);

/*
 * Python float repr, which is what json.dump prints for a float: the
 * shortest digits that read back to v, fixed notation with ".0" for
 * integral values when the decimal exponent is in [-5, 16), else
 * "1e+16"/"1e-07" style.  NaN and infinities give "NaN", "Infinity",
 * "-Infinity" as Python does.  buf gets at most 32 bytes incl. the NUL;
 * returns the length written.
 */
size_t sk_py_float_repr(double v, char *buf, size_t size);

/*
 * Appends v as CPython's json.dumps(v, ensure_ascii=False) text: with
 * indent >= 0 as json.dump(..., indent=indent) (",\n" separators, ": "),
 * with indent < 0 on one line with ", " and ": ".  Object keys keep their
 * insertion order.  Returns SK_OK, SK_ENOMEM, SK_ETOOBIG (out's cap) or
 * SK_EINVAL for a value nested deeper than 512.  On failure out may hold
 * a partial text (callers discard it).
 */
int sk_json_dump_py(const struct json_t *v, int indent, struct sk_buf *out);

/*
 * Writes v to path atomically as json.dump(v, f, indent=2,
 * ensure_ascii=False) does (no trailing newline, like Python).  Creates
 * the parent directory.  Returns SK_OK, SK_ENOMEM or SK_EIO; on failure
 * the previous file at path is untouched.
 */
int sk_json_write_file(const char *path, const struct json_t *v,
                       struct sk_error *err);

/* sk_json_write_file on out_root/rel. */
int sk_rundir_write_json(const struct sk_rundir *rd, const char *rel,
                         const struct json_t *v, struct sk_error *err);

/*
 * Reads and parses a JSON file.  Returns SK_OK with *out set, SK_ENOTFOUND
 * when the file does not exist, SK_EPARSE when it does not parse (err
 * names the file, line and column), SK_ETOOBIG over SK_RUNDIR_MAX_JSON,
 * SK_EIO or SK_ENOMEM.
 */
int sk_json_read_file(const char *path, struct json_t **out,
                      struct sk_error *err);

/*
 * Writes config.json: the flat configuration (sk_config_print's JSON form,
 * secrets already redacted) with extra's keys set on top, as the reference
 * stores its derived keys (train_size, steps_per_epoch, batches_per_epoch,
 * samples_per_epoch, skill_update_mode, lr_control_mode).  An extra key
 * that already exists keeps its position; new ones are appended.  extra
 * may be NULL; when given it must be an object (else SK_EINVAL).
 */
int sk_rundir_write_config(const struct sk_rundir *rd,
                           const struct sk_config *c,
                           const struct json_t *extra, struct sk_error *err);

/*
 * runtime_state.json (8.3), field for field.  Written after the baseline,
 * each step, each epoch-end update, the promotion and at the end.
 */
struct sk_runtime_state {
    long last_completed_step;
    char *current_skill_path; /* owned; NULL -> skills/skill_v<last>.md */
    double current_score;
    char *current_origin;  /* owned; "initial_skill", "step_0003", ... */
    char *best_skill_path; /* owned; NULL -> <out_root>/best_skill.md */
    double best_score;
    long best_step;
    char *best_origin; /* owned */
};

/* Zeroes st (NULL strings).  Allocates nothing. */
void sk_runtime_state_init(struct sk_runtime_state *st);
/* Frees the strings st holds and re-inits it. */
void sk_runtime_state_release(struct sk_runtime_state *st);

/*
 * Writes runtime_state.json with the reference's keys in its order.  NULL
 * paths are written as the reference computes them; NULL origins as
 * null.  Scores are always written as floats (0 -> 0.0).  Returns SK_OK,
 * SK_ENOMEM or SK_EIO; the previous file is kept on failure.
 */
int sk_runtime_state_write(const struct sk_rundir *rd,
                           const struct sk_runtime_state *st,
                           struct sk_error *err);

/*
 * Reads runtime_state.json into st (released first).  Numbers are taken
 * exactly as stored: a 0.0 score stays 0.0 (the reference's `x or
 * default` turned it into the default, 11.6).  A key that is absent or
 * null gets the reference's default: last_completed_step 0, current path
 * skills/skill_v<last>.md, best path <out_root>/best_skill.md,
 * current_score -1.0, best_score current_score, best_step last,
 * current_origin "step_<last>" ("initial_skill" for 0), best_origin
 * current_origin.  Returns SK_ENOTFOUND when the file is absent (a fresh
 * run), SK_EPARSE when it does not parse, is not an object or a key has
 * the wrong type (err names the file: a corrupt state is never taken for
 * a fresh run), SK_EIO, SK_ETOOBIG or SK_ENOMEM.  On failure st is empty.
 */
int sk_runtime_state_read(const struct sk_rundir *rd,
                          struct sk_runtime_state *st, struct sk_error *err);

/*
 * resume_state.json: what a resume needs beyond runtime_state.json and the
 * reference does not keep (11.21): the trainer's opaque object holding,
 * e.g., the scheduler position and the epoch's step buffer.  Stored as
 * {"last_completed_step": step, "state": state}.  The trainer writes it
 * together with runtime_state.json for the same step.
 */
int sk_resume_state_write(const struct sk_rundir *rd, long step,
                          const struct json_t *state, struct sk_error *err);

/*
 * Reads resume_state.json.  Returns SK_OK with *state (new reference) only
 * when it was written for expect_step; SK_ENOTFOUND when it is absent or
 * for another step (a crash between the two writes: the caller rebuilds
 * what it can, as the reference does); SK_EPARSE when corrupt (err names
 * the file); SK_EIO, SK_ETOOBIG, SK_ENOMEM.
 */
int sk_resume_state_read(const struct sk_rundir *rd, long expect_step,
                         struct json_t **state, struct sk_error *err);

/*
 * history.json: the array of step records.  The records are the trainer's
 * objects (8.2 fields); this module only needs their integer "step".
 */
struct sk_history {
    struct json_t *rows; /* array, owned; NULL until load or first append */
};

/* Sets h up empty.  Allocates nothing. */
void sk_history_init(struct sk_history *h);
/* Drops h's rows (json_decref) and re-inits it. */
void sk_history_release(struct sk_history *h);

/*
 * Loads history.json into h (released first).  An absent file gives an
 * empty history.  When resume_from > 0, rows with step >= resume_from are
 * dropped (in memory; the next append rewrites the file): they belong to
 * a step that crashed before runtime_state.json recorded it and will be
 * rerun, which in the reference duplicated the row (11.21).  *dropped
 * (may be NULL) gets how many rows went.  Returns SK_OK, SK_EPARSE (not an
 * array, a row not an object or without an integer step; err names the
 * file), SK_EIO, SK_ETOOBIG or SK_ENOMEM; h is empty on failure.
 */
int sk_history_load(const struct sk_rundir *rd, long resume_from,
                    struct sk_history *h, size_t *dropped,
                    struct sk_error *err);

/*
 * Appends row (borrowed, a reference is added) and rewrites history.json
 * atomically.  All or nothing: on failure h and the file are as before.
 * Returns SK_OK, SK_EINVAL (row not an object), SK_ENOMEM or SK_EIO.
 */
int sk_history_append(const struct sk_rundir *rd, struct sk_history *h,
                      struct json_t *row, struct sk_error *err);

/* Number of rows. */
size_t sk_history_len(const struct sk_history *h);

#endif /* SK_RUNDIR_H */
