/*
 * cfgargs.h - parsing of --config, --cfg-options and one-key overrides.
 *
 * The struct borrows argv strings; the few it creates (names split at '=')
 * are owned and freed by cfgargs_release.
 */
#ifndef SK_CFGARGS_H
#define SK_CFGARGS_H

#include <stddef.h>

#define CFGARGS_MAX_VALUED 8

struct cfgargs {
    const char *config;       /* --config FILE, or NULL */
    const char **cfg_options; /* every --cfg-options item, in order */
    size_t n_cfg_options;
    const char **flag_names; /* one-key overrides */
    const char **flag_values;
    size_t n_flags;
    const char *valued[CFGARGS_MAX_VALUED]; /* command options with values */
    char **owned;
    size_t n_owned;
};

/*
 * Parses argv[1..].  switches: NULL-terminated names of the command's
 * value-less options (skipped here; test them with cfgargs_has).  valued:
 * NULL-terminated names of the command's options that take a value; their
 * values land in a->valued[] at the same index.  Everything else of the
 * form --NAME VALUE or --NAME=VALUE is a config override.  Returns an exit
 * code (SK_EXIT_OK on success) after printing any error.
 */
int cfgargs_parse(int argc, char **argv, const char *const *switches,
                  const char *const *valued, struct cfgargs *a);
void cfgargs_release(struct cfgargs *a);
struct sk_config;
/*
 * Loads a->config with a's overrides into cfg (initialised here).  On
 * failure prints the error and returns the exit code; SK_EXIT_OK otherwise.
 * cmd names the command for the "--config is required" message.
 */
int cfgargs_load_config(const struct cfgargs *a, const char *cmd,
                        struct sk_config *cfg);
struct sk_split_opts;
/* Fills split options from a loaded config (strings borrowed from it). */
void cfgargs_split_opts(const struct sk_config *cfg, struct sk_split_opts *o);
/* 1 if --name appears in argv. */
int cfgargs_has(int argc, char **argv, const char *name);

#endif /* SK_CFGARGS_H */
