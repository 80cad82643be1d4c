/*
 * cmd_data.c - `skillopt data check`: load a configuration, its data splits
 * and its initial skill exactly as a run would, and report what was found.
 * It catches bad data before any model is paid for.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "data/split.h"
#include "skill/skill.h"
#include "util/alloc.h"

const char cmd_data_usage[] =
    "usage: skillopt data check --config FILE [--cfg-options KEY=VALUE ...]\n"
    "                           [--KEY VALUE ...]\n"
    "\n"
    "Loads the configuration, the train/val/test splits and the initial\n"
    "skill (env.skill_init) the way `skillopt train` will, and prints what\n"
    "it found: items per split, the files they came from, the skill's size\n"
    "and its protected blocks.  Unlike the reference, a duplicate id, an id\n"
    "found in two splits, an empty train or val split, an item without an\n"
    "id or an unreadable skill file is an error, reported with the file it\n"
    "is in.  In ratio mode the generated split files are written, as a run\n"
    "would write them.\n"
    "\n"
    "Exit status: 0 all good, 2 bad command line, 3 bad configuration, data\n"
    "or skill file.\n";

static int check(const struct sk_config *c)
{
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    struct sk_region_list regions;
    char *text = NULL;
    size_t len = 0, i;
    int rc, k;

    cfgargs_split_opts(c, &o);
    sk_splits_init(&s);
    rc = sk_splits_load(&o, &s, &err);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        return cli_exit_for(rc);
    }
    if (c->train_size > 0 &&
        (size_t)c->train_size != sk_splits_count(&s, SK_SPLIT_TRAIN)) {
        cli_error("%s: train.train_size is %lld but the train split (%s) has "
                  "%zu items; set train_size to 0 to use the split's size",
                  c->origin[SK_OPT_train_size] ? c->origin[SK_OPT_train_size]
                                               : "(default)",
                  (long long)c->train_size, s.paths[SK_SPLIT_TRAIN],
                  sk_splits_count(&s, SK_SPLIT_TRAIN));
        sk_splits_release(&s);
        return SK_EXIT_CONFIG;
    }
    /* Everything is loaded before anything is printed, so a failure
     * never follows a half-successful report. */
    sk_region_list_init(&regions);
    if (*c->skill_init) {
        rc = sk_skill_load(c->skill_init, &text, &len, &err);
        if (rc != SK_OK) {
            sk_splits_release(&s);
            cli_error("env.skill_init: %s", err.msg);
            return cli_exit_for(rc == SK_ENOTFOUND ? SK_EDATA : rc);
        }
        rc = sk_skill_regions(text, len, &regions);
        if (rc != SK_OK) {
            sk_splits_release(&s);
            sk_free(text);
            cli_error("%s", sk_strerror(rc));
            return SK_EXIT_RUN;
        }
    }
    printf("config: %s\n", c->path);
    printf("benchmark: %s\n", *c->env ? c->env : "(none)");
    printf("splits (%s mode):\n", c->split_mode);
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        printf("  %-5s %6zu items  %s\n",
               sk_split_kind_name((enum sk_split_kind)k),
               sk_splits_count(&s, (enum sk_split_kind)k),
               s.paths[k] ? s.paths[k] : "");
    sk_splits_release(&s);
    if (!text) {
        printf("skill: (none: env.skill_init is empty, training starts from "
               "a blank skill)\n");
        return SK_EXIT_OK;
    }
    printf("skill: %s (%zu bytes, %zu protected block%s)\n", c->skill_init, len,
           regions.len, regions.len == 1 ? "" : "s");
    for (i = 0; i < regions.len; i++)
        printf("  %s block at bytes %zu-%zu%s\n",
               regions.items[i].kind == SK_REGION_SLOW_UPDATE ? "slow-update"
                                                              : "appendix",
               regions.items[i].start, regions.items[i].end,
               regions.items[i].closed ? ""
                                       : " (no end marker: protects to the "
                                         "end)");
    sk_region_list_release(&regions);
    sk_free(text);
    return SK_EXIT_OK;
}

int cmd_data(int argc, char **argv)
{
    struct cfgargs a;
    struct sk_config cfg;
    int code;

    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        cli_error("data: expected a subcommand: check (see 'skillopt help "
                  "data')");
        return SK_EXIT_USAGE;
    }
    sk_config_init(&cfg);
    code = cfgargs_parse(argc - 1, argv + 1, NULL, NULL, &a);
    if (code == SK_EXIT_OK)
        code = cfgargs_load_config(&a, "data check", &cfg);
    if (code == SK_EXIT_OK)
        code = check(&cfg);
    sk_config_release(&cfg);
    cfgargs_release(&a);
    return code;
}
