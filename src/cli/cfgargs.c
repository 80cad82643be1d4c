/*
 * cfgargs.c - the command-line grammar shared by commands that take a
 * configuration: --config FILE, --cfg-options K=V [K=V ...] (repeatable),
 * and one-key overrides in either spelling (--batch_size 8, --batch-size=8).
 * Commands pass the names of their own switches so they are not mistaken
 * for config overrides.
 */
#include "common.h"
#include "cli/cfgargs.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "data/split.h"
#include "util/alloc.h"

void cfgargs_release(struct cfgargs *a)
{
    size_t i;
    for (i = 0; i < a->n_owned; i++)
        sk_free(a->owned[i]);
    sk_free(a->cfg_options);
    sk_free(a->flag_names);
    sk_free(a->flag_values);
    sk_free(a->owned);
    memset(a, 0, sizeof *a);
}

static int is_switch(const char *name, const char *const *switches)
{
    size_t i;
    for (i = 0; switches && switches[i]; i++)
        if (strcmp(switches[i], name) == 0)
            return 1;
    return 0;
}

int cfgargs_parse(int argc, char **argv, const char *const *switches,
                  const char *const *valued, struct cfgargs *a)
{
    int i;
    size_t cap = (size_t)argc + 1;

    memset(a, 0, sizeof *a);
    a->cfg_options = sk_calloc(cap, sizeof(char *));
    a->flag_names = sk_calloc(cap, sizeof(char *));
    a->flag_values = sk_calloc(cap, sizeof(char *));
    a->owned = sk_calloc(cap, sizeof(char *));
    if (!a->cfg_options || !a->flag_names || !a->flag_values || !a->owned) {
        cli_error("out of memory");
        return SK_EXIT_RUN;
    }
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *name, *eq, *value;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            cli_error("unexpected argument '%s'", arg);
            return SK_EXIT_USAGE;
        }
        name = arg + 2;
        if (strcmp(name, "config") == 0 || strncmp(name, "config=", 7) == 0) {
            if (name[6] == '=')
                a->config = name + 7;
            else if (i + 1 < argc)
                a->config = argv[++i];
            else {
                cli_error("--config needs a file");
                return SK_EXIT_USAGE;
            }
            continue;
        }
        if (strcmp(name, "cfg-options") == 0 ||
            strcmp(name, "cfg_options") == 0) {
            int n = 0;
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                a->cfg_options[a->n_cfg_options++] = argv[++i];
                n++;
            }
            if (n == 0) {
                cli_error("--cfg-options needs KEY=VALUE items");
                return SK_EXIT_USAGE;
            }
            continue;
        }
        if (is_switch(name, switches))
            continue; /* the command reads it with cfgargs_has */
        eq = strchr(name, '=');
        if (eq) {
            size_t nl = (size_t)(eq - name);
            char *copy = sk_strndup(name, nl);
            if (!copy) {
                cli_error("out of memory");
                return SK_EXIT_RUN;
            }
            a->owned[a->n_owned++] = copy;
            name = copy;
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            cli_error("--%s needs a value", name);
            return SK_EXIT_USAGE;
        }
        if (is_switch(name, valued)) {
            /* a command option with a value, not a config override */
            size_t k;
            for (k = 0; valued[k]; k++)
                if (strcmp(valued[k], name) == 0)
                    a->valued[k] = value;
            continue;
        }
        a->flag_names[a->n_flags] = name;
        a->flag_values[a->n_flags] = value;
        a->n_flags++;
    }
    return SK_EXIT_OK;
}

int cfgargs_has(int argc, char **argv, const char *name)
{
    int i;
    for (i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0)
            return 1;
    return 0;
}

int cfgargs_load_config(const struct cfgargs *a, const char *cmd,
                        struct sk_config *cfg)
{
    struct sk_config_args ca;
    struct sk_error err;
    int rc;

    sk_config_init(cfg);
    if (!a->config) {
        cli_error("%s: --config FILE is required", cmd);
        return SK_EXIT_USAGE;
    }
    memset(&ca, 0, sizeof ca);
    ca.path = a->config;
    ca.cfg_options = a->cfg_options;
    ca.n_cfg_options = a->n_cfg_options;
    ca.flag_names = a->flag_names;
    ca.flag_values = a->flag_values;
    ca.n_flags = a->n_flags;
    rc = sk_config_load(&ca, cfg, &err);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        return cli_exit_for(rc);
    }
    return SK_EXIT_OK;
}

void cfgargs_split_opts(const struct sk_config *c, struct sk_split_opts *o)
{
    sk_split_opts_init(o);
    o->mode = c->split_mode;
    o->split_dir = c->split_dir;
    o->data_path = c->data_path;
    o->split_ratio = c->split_ratio;
    o->split_seed = c->split_seed;
    o->seed = c->seed;
    o->limit = (long)c->limit;
    o->split_output_dir = c->split_output_dir;
    o->out_root = c->out_root;
    o->env_name = c->env;
}
