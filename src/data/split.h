/*
 * split.h - benchmark data splits (train / val / test) for dataset envs.
 *
 * Two modes, as in the reference's SplitDataLoader: "split_dir" reads
 * split_dir/{train,val,test}/ (first *.json of each, a JSON array of
 * objects with an "id"; a folder without *.json may hold a CSV file
 * instead, see sk_split_parse_csv); "ratio" shuffles one raw JSON/JSONL file
 * with CPython's random.Random(split_seed), cuts it train:val:test, writes the
 * split directory plus split_manifest.json, then loads it like split_dir.
 * Unlike the reference, bad data is an error (SK_EDATA) rather than a
 * silent fallback: leaked or duplicate ids, items without an id, empty
 * train or val splits, unknown split names.
 *
 * Ownership: options are borrowed for the duration of sk_splits_load.
 * struct sk_splits owns its JSON arrays, ids and paths; every pointer
 * returned by the accessors is borrowed from it and lives until
 * sk_splits_release.
 */
#ifndef SK_SPLIT_H
#define SK_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct json_t;

enum sk_split_kind {
    SK_SPLIT_TRAIN = 0,
    SK_SPLIT_VAL = 1,  /* selection set, "valid_seen" */
    SK_SPLIT_TEST = 2, /* held-out set, "valid_unseen" */
    SK_SPLIT_COUNT = 3
};

/* Largest split or raw data file read, in bytes. */
#define SK_SPLIT_MAX_FILE ((size_t)512 * 1024 * 1024)
/* Largest single ratio part, so n * part stays exact in a double. */
#define SK_SPLIT_MAX_RATIO_PART 1000000L

struct sk_split_opts {
    const char *mode;        /* "split_dir" | "ratio"; NULL/"" = "ratio" */
    const char *split_dir;   /* split_dir mode: directory with train/ ... */
    const char *data_path;   /* ratio mode: raw JSON/JSONL file or dir */
    const char *split_ratio; /* "train:val:test"; NULL/"" = "2:1:7" */
    int64_t split_seed;      /* ratio shuffle seed; 0 = use seed */
    int64_t seed;            /* the run's train seed */
    long limit;              /* > 0 keeps the first limit items per split */
    const char *split_output_dir; /* ratio output dir; NULL/"" = derived */
    const char *out_root;         /* base of the derived dir; NULL = cwd */
    const char *env_name;         /* derived dir name prefix; needed without
                                     split_output_dir in ratio mode */
};

struct sk_splits {
    struct json_t *items[SK_SPLIT_COUNT]; /* owned JSON arrays of objects */
    char **ids[SK_SPLIT_COUNT];           /* owned: ids[k][i] = id of item i */
    char *paths[SK_SPLIT_COUNT];          /* owned: file each split came from */
    char *split_dir; /* owned: directory the splits came from */
};

/* Sets opts to the reference defaults (all NULL/0).  Cannot fail. */
void sk_split_opts_init(struct sk_split_opts *o);

/* Empties s without allocating.  Cannot fail. */
void sk_splits_init(struct sk_splits *s);

/*
 * Loads the three splits described by o into out (which need not be
 * initialised; it is overwritten).  In ratio mode the split directory is
 * (re)written first.  Returns SK_OK; SK_EDATA for bad data (message names
 * the file and item index or id); SK_ECONFIG for unusable options;
 * SK_ENOMEM; SK_EIO / SK_ETOOBIG / SK_ENOTFOUND from file access.  On
 * failure out is left empty (released) and err says why.
 */
int sk_splits_load(const struct sk_split_opts *o, struct sk_splits *out,
                   struct sk_error *err);

/* Frees everything s owns and re-initialises it.  NULL is fine. */
void sk_splits_release(struct sk_splits *s);

/* Number of items in split k (after limit). */
size_t sk_splits_count(const struct sk_splits *s, enum sk_split_kind k);

/* Item i of split k (borrowed JSON object), NULL if out of range. */
struct json_t *sk_splits_item(const struct sk_splits *s, enum sk_split_kind k,
                              size_t i);

/*
 * Id of item i of split k as a string, the way Python's str() renders it
 * (numbers become "42" or "1.5"); borrowed; NULL if out of range.
 */
const char *sk_split_item_id(const struct sk_splits *s, enum sk_split_kind k,
                             size_t i);

/*
 * Parses the CSV text of a split folder (its first *.csv by name, used
 * when the folder has no *.json) into *out, a new JSON array with one
 * object per record.  The format is RFC 4180 as Python's csv module reads
 * it: ',' separates fields, records end with CRLF, LF or CR, '"' quotes a
 * field (which may then hold commas, quotes written "" and line breaks,
 * kept as they are), text after a closing quote joins the field and a
 * quote inside an unquoted field is literal.  A leading UTF-8 byte order
 * mark is skipped.  The first non-blank record is the header: its fields
 * are the keys, and every value is a string.  Blank lines are skipped; a
 * record shorter than the header leaves the last keys out, extra fields
 * are dropped (csv.DictReader's None keys).  When the header has no "id"
 * column but a "questionId" one, each object also gets "id" = questionId
 * (DocVQA's CSV, whose reference loader takes the id from there).
 * SK_EDATA names path:line for a quoted field left open at the end or a
 * field that is not UTF-8 (or holds NUL); SK_ENOMEM.  path is only used in
 * messages.
 */
int sk_split_parse_csv(const char *path, const char *text, size_t len,
                       struct json_t **out, struct sk_error *err);

/*
 * Maps a split name to its kind: "train"; "valid_seen", "selection", "val"
 * -> val; "valid_unseen", "test" -> test.  Anything else is SK_EINVAL
 * (the reference silently used val).
 */
int sk_split_name_parse(const char *name, enum sk_split_kind *out);

/* Directory name of a kind: "train", "val" or "test". */
const char *sk_split_kind_name(enum sk_split_kind k);

/*
 * Parses "train:val:test" (three positive decimal integers, each at most
 * SK_SPLIT_MAX_RATIO_PART, spaces around parts allowed) into w.
 * SK_EDATA with a message quoting text otherwise.
 */
int sk_split_ratio_parse(const char *text, long w[SK_SPLIT_COUNT],
                         struct sk_error *err);

/*
 * Largest-remainder split of total items by weights w: floor(total*w/sum)
 * each, leftovers one at a time to the largest fractional part (ties:
 * larger weight, then lower index).  Computed in doubles exactly like the
 * reference so that the counts match it bit for bit.
 */
void sk_split_counts(size_t total, const long w[SK_SPLIT_COUNT],
                     size_t out[SK_SPLIT_COUNT]);

#endif /* SK_SPLIT_H */
