/*
 * cmd_config.c - `skillopt config`: resolve, validate and print a config.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "util/buf.h"

const char cmd_config_usage[] =
    "usage: skillopt config --config FILE [--cfg-options KEY=VALUE ...]\n"
    "                       [--KEY VALUE ...] [--print] [--json] "
    "[--show-origin]\n"
    "       skillopt config --keys\n"
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
    "  --keys               list every key: type, default and meaning\n"
    "\n"
    "API keys are printed as \"<redacted>\".  Exit status: 0 valid, 2 bad\n"
    "command line, 3 invalid configuration.\n";

static const char *type_name(const struct sk_option *o)
{
    switch (o->type) {
    case SK_OPT_INT:
        return "int";
    case SK_OPT_FLOAT:
        return "number";
    case SK_OPT_BOOL:
        return "bool";
    case SK_OPT_STR:
        return "string";
    case SK_OPT_ENUM:
        return "choice";
    case SK_OPT_LIST:
        return "list";
    }
    return "?";
}

/* Prints the canonical names (or, with aliases set, the aliases) of an
 * enum's "a|b>a" choices string. */
static void print_choices(const char *choices, int aliases)
{
    const char *p = choices;
    int first = 1;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        const char *gt = memchr(p, '>', len);
        if ((gt != NULL) == aliases) {
            size_t n = gt ? (size_t)(gt - p) : len;
            printf("%s%s%.*s%s", first ? "" : ", ", n ? "" : "\"", (int)n, p,
                   n ? "" : "\"");
            first = 0;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
}

/* The option table as a reference list (it also feeds docs/config.md). */
static void print_keys(void)
{
    const char *section = "";
    int i;
    for (i = 0; i < SK_OPT_COUNT; i++) {
        const struct sk_option *o = &sk_options[i];
        if (strcmp(section, o->section) != 0) {
            section = o->section;
            printf("%s%s:\n", i ? "\n" : "", section);
        }
        printf("  %s: %s, default %s", o->key, type_name(o),
               *o->def ? o->def : "\"\"");
        if (strcmp(o->key, o->flat) != 0)
            printf(" (flat key: %s)", o->flat);
        printf("\n      %s", o->help);
        if (o->flags & SK_OPTF_SECRET)
            printf("; secret: never printed");
        if (o->flags & (SK_OPTF_UNSUPPORTED | SK_OPTF_RETIRED))
            printf("; ignored");
        printf("\n");
        if (o->type == SK_OPT_ENUM) {
            printf("      one of: ");
            print_choices(o->choices, 0);
            if (strchr(o->choices, '>')) {
                printf("\n      aliases: ");
                print_choices(o->choices, 1);
            }
            printf("\n");
        }
    }
}

int cmd_config(int argc, char **argv)
{
    static const char *const switches[] = {"print", "json", "show-origin",
                                           "show_origin", NULL};
    struct cfgargs a;
    struct sk_config cfg;
    struct sk_buf out;
    unsigned flags = 0;
    int rc, code;

    if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
        print_keys();
        return SK_EXIT_OK;
    }
    sk_config_init(&cfg);
    code = cfgargs_parse(argc, argv, switches, NULL, &a);
    if (code == SK_EXIT_OK)
        code = cfgargs_load_config(&a, "config", &cfg);
    if (code != SK_EXIT_OK)
        goto out_args;
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
out_args:
    sk_config_release(&cfg);
    cfgargs_release(&a);
    return code;
}
