/*
 * cmd_config.c - `skillopt config`: resolve, validate and print a config.
 */
#include "common.h"

#include <stdio.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "util/buf.h"

const char cmd_config_usage[] =
    "usage: skillopt config --config FILE [--cfg-options KEY=VALUE ...]\n"
    "                       [--KEY VALUE ...] [--print] [--json] "
    "[--show-origin]\n"
    "\n"
    "Loads FILE with its _base_ chain, applies the overrides and checks every\n"
    "value.  Without --print it only reports whether the configuration is\n"
    "valid.\n"
    "\n"
    "  --config FILE        YAML configuration (the reference's format)\n"
    "  --cfg-options K=V    override section.key or a flat key; repeatable\n"
    "  --KEY VALUE          one-key override, e.g. --batch_size 8 or\n"
    "                       --batch-size=8 (wins over --cfg-options)\n"
    "  --print              print the resolved configuration as YAML\n"
    "  --json               print it as the flat JSON object of config.json\n"
    "  --show-origin        with --print: say where each value came from\n"
    "\n"
    "API keys are printed as \"<redacted>\".  Exit status: 0 valid, 2 bad\n"
    "command line, 3 invalid configuration.\n";

int cmd_config(int argc, char **argv)
{
    static const char *const switches[] = {"print", "json", "show-origin",
                                           "show_origin", NULL};
    struct cfgargs a;
    struct sk_config_args ca;
    struct sk_config cfg;
    struct sk_error err;
    struct sk_buf out;
    unsigned flags = 0;
    int rc, code;

    code = cfgargs_parse(argc, argv, switches, NULL, &a);
    if (code != SK_EXIT_OK)
        goto out_args;
    if (!a.config) {
        cli_error("config: --config FILE is required");
        code = SK_EXIT_USAGE;
        goto out_args;
    }
    ca.path = a.config;
    ca.cfg_options = a.cfg_options;
    ca.n_cfg_options = a.n_cfg_options;
    ca.flag_names = a.flag_names;
    ca.flag_values = a.flag_values;
    ca.n_flags = a.n_flags;
    sk_config_init(&cfg);
    rc = sk_config_load(&ca, &cfg, &err);
    if (rc != SK_OK) {
        cli_error("%s", err.msg);
        code = cli_exit_for(rc);
        goto out_args;
    }
    if (cfgargs_has(argc, argv, "json"))
        flags |= SK_CONFIG_PRINT_JSON;
    if (cfgargs_has(argc, argv, "show-origin") ||
        cfgargs_has(argc, argv, "show_origin"))
        flags |= SK_CONFIG_PRINT_ORIGIN;
    if (cfgargs_has(argc, argv, "print") || (flags & SK_CONFIG_PRINT_JSON)) {
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        rc = sk_config_print(&cfg, flags, &out);
        if (rc == SK_OK)
            fwrite(sk_buf_cstr(&out), 1, out.len, stdout);
        else
            cli_error("config: %s", sk_strerror(rc));
        sk_buf_release(&out);
        code = rc == SK_OK ? SK_EXIT_OK : SK_EXIT_RUN;
    } else {
        printf("%s: valid\n", cfg.path);
        code = SK_EXIT_OK;
    }
    sk_config_release(&cfg);
out_args:
    cfgargs_release(&a);
    return code;
}
