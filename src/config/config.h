/*
 * config.h - the resolved configuration of a run.
 *
 * One table (options.def) lists every key: its section, its reference flat
 * name, type, default, bounds and help.  sk_config_load reads a YAML file
 * with its _base_ chain, applies --cfg-options and one-key flags, checks
 * every value and fills a plain struct whose fields are named after the
 * reference's flat keys (cfg->batch_size, cfg->edit_budget, cfg->env, ...).
 *
 * Ownership: struct sk_config owns every string and list it holds;
 * sk_config_release frees them.  Arguments are borrowed.  Errors name the
 * file, line and column of the offending key (or the command-line option).
 */
#ifndef SK_CONFIG_H
#define SK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "util/buf.h"

enum sk_opt_type {
    SK_OPT_INT,   /* int64_t */
    SK_OPT_FLOAT, /* double */
    SK_OPT_BOOL,  /* int, 0 or 1 */
    SK_OPT_STR,   /* char *, never NULL unless the option is null */
    SK_OPT_ENUM,  /* char *, the canonical spelling after aliases */
    SK_OPT_LIST   /* struct sk_strlist */
};

#define SK_OPTF_SECRET 0x01      /* never printed or logged */
#define SK_OPTF_NULLABLE 0x02    /* null is a valid value (is_null[]) */
#define SK_OPTF_UNSUPPORTED 0x04 /* accepted; a non-default value warns */
#define SK_OPTF_RETIRED 0x08     /* accepted and ignored, with a warning */
#define SK_OPTF_DERIVED 0x10     /* computed at start-up; a set value warns */
#define SK_OPTF_LOOSE 0x20       /* quoted numbers/bools accepted (ref YAML) */

struct sk_strlist {
    char **v; /* n owned strings */
    size_t n;
};

#define SK_CT_INT int64_t
#define SK_CT_FLOAT double
#define SK_CT_BOOL int
#define SK_CT_STR char *
#define SK_CT_ENUM char *
#define SK_CT_LIST struct sk_strlist

enum sk_opt_id {
#define X(sec, key, flat, type, def, lo, hi, ch, fl, help) SK_OPT_##flat,
#include "config/options.def"
#undef X
    SK_OPT_COUNT
};

struct sk_option {
    const char *section; /* "model", "train", ... */
    const char *key;     /* key within the section */
    const char *flat;    /* the reference's flat name */
    enum sk_opt_type type;
    const char *def; /* default, as a plain YAML scalar */
    double min, max; /* numeric bounds (inclusive) */
    const char *choices;
    unsigned flags; /* SK_OPTF_* */
    const char *help;
    size_t offset; /* of the field in struct sk_config */
};

/* The option table, indexed by enum sk_opt_id. */
extern const struct sk_option sk_options[SK_OPT_COUNT];

struct sk_config {
#define X(sec, key, flat, type, def, lo, hi, ch, fl, help) SK_CT_##type flat;
#include "config/options.def"
#undef X
    unsigned char is_null[SK_OPT_COUNT]; /* 1: the option is null */
    char *origin[SK_OPT_COUNT]; /* "file:line:col", "--cfg-options k=v",
                                   "--flag", or NULL for the default */
    char *path;                 /* the config file as given */
};

/* What the command line asked for.  All borrowed. */
struct sk_config_args {
    const char *path;               /* --config FILE */
    const char *const *cfg_options; /* "key=value" items, in order */
    size_t n_cfg_options;
    const char *const *flag_names; /* "batch_size" or "batch-size" */
    const char *const *flag_values;
    size_t n_flags;
};

/* Zeroes c; allocates nothing. */
void sk_config_init(struct sk_config *c);
/* Frees what c holds and zeroes it. */
void sk_config_release(struct sk_config *c);

/*
 * Loads and validates a configuration into c (which must be initialised;
 * its previous contents are released).  Precedence: flags > cfg-options >
 * child YAML > base YAML > table defaults.  Warnings go to the log.  On
 * failure c is left empty and err says what and where: SK_ECONFIG for bad
 * content, SK_ENOTFOUND for a missing file, SK_EINVAL for a malformed
 * command-line item, SK_ENOMEM.
 */
int sk_config_load(const struct sk_config_args *a, struct sk_config *c,
                   struct sk_error *err);

/* Loads only the table defaults (no file). */
int sk_config_defaults(struct sk_config *c, struct sk_error *err);

/* Finds an option by section and key (accepting reference aliases). */
int sk_option_find(const char *section, const char *key);
/* Finds an option by flat name or legacy flag name ("backend", "env"). */
int sk_option_find_flat(const char *name);

#define SK_CONFIG_PRINT_ORIGIN 0x1 /* trailing "# from" comments */
#define SK_CONFIG_PRINT_JSON 0x2   /* flat JSON object instead of YAML */

/*
 * Appends the resolved configuration to out: structured YAML that loads
 * back to the same values, or a flat JSON object (the reference's
 * config.json shape).  Secrets are printed as "<redacted>".
 */
int sk_config_print(const struct sk_config *c, unsigned flags,
                    struct sk_buf *out);

#endif /* SK_CONFIG_H */
