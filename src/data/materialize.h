/*
 * materialize.h - builds a runnable split directory from one of the
 * reference's id manifests (data/<bench>_id_split/{train,val,test}/
 * items.json) and the benchmark's upstream raw rows.
 *
 * The source is a local file, a directory of files, or an http(s) URL
 * (downloaded with fetch.h).  Rows are read from JSON arrays, JSON Lines
 * or CSV with a header; each benchmark knows which field holds the
 * manifest id and how its rows become items.  Every manifest id must be
 * found exactly once; the output is written in manifest order into a
 * temporary directory that is renamed to out_dir only on success, so a
 * failure never leaves a partial split directory.
 *
 * Ownership: options are borrowed; struct sk_materialize_result owns its
 * strings (sk_materialize_result_release).
 */
#ifndef SK_MATERIALIZE_H
#define SK_MATERIALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "data/fetch.h"
#include "data/split.h"

struct sk_materialize_opts {
    const char *bench;          /* see sk_materialize_bench_names */
    const char *manifest_dir;   /* has {train,val,test}/items.json */
    const char *source;         /* file, directory or http(s) URL */
    const char *out_dir;        /* split directory to create */
    const char *id_field;       /* source field holding the id; NULL: bench's */
    const char *format;         /* "json" | "jsonl" | "csv"; NULL: detect */
    int force;                  /* replace an existing out_dir */
    struct sk_fetch_opts fetch; /* downloads; fetch.sha256 also checks a
                                   local source file */
};

struct sk_materialize_result {
    size_t counts[SK_SPLIT_COUNT]; /* items written per split */
    size_t files_read;             /* source files read */
    size_t rows_read;              /* source rows seen */
    char sha256[65];               /* of the source file; "" for a dir */
    char **missing;    /* "split<TAB>id" of ids not found, manifest order */
    size_t n_missing;  /* how many (all of them are listed) */
    size_t n_manifest; /* manifest ids in all three splits */
};

/* Empties r.  Allocates nothing. */
void sk_materialize_result_init(struct sk_materialize_result *r);
/* Frees what r owns and re-initialises it. */
void sk_materialize_result_release(struct sk_materialize_result *r);

/* "searchqa, officeqa, ..." for messages (static string). */
const char *sk_materialize_bench_names(void);

/*
 * Builds o->out_dir.  Returns SK_OK with res filled; otherwise nothing is
 * left at out_dir (nor any temporary file) and err says why:
 * SK_EINVAL (unknown bench, out_dir exists without force, bad options),
 * SK_EDATA (bad manifest, duplicate ids, a source row lacking a field the
 * benchmark needs, manifest ids missing from the source: res->missing
 * lists them, checksum mismatch), SK_ENOTFOUND (manifest or source
 * absent, HTTP 404), SK_EIO, SK_ETOOBIG, SK_ENOMEM.
 */
int sk_materialize(const struct sk_materialize_opts *o,
                   struct sk_materialize_result *res, struct sk_error *err);

#endif /* SK_MATERIALIZE_H */
