/*
 * main.c - skillopt's entry point: global flags, then dispatch through the
 * command table.  Each command lives in its own cmd_<name>.c file, parses
 * its own options and prints its own usage.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"
#include "skillopt.h"

static const char help_usage[] =
    "usage: skillopt help [COMMAND]\n"
    "\n"
    "Shows the list of commands, or the full help of one command.\n";

static const char version_usage[] = "usage: skillopt version\n"
                                    "\n"
                                    "Prints the program version.\n";

/* Sorted by name. */
static const struct sk_command commands[] = {
    {"config", cmd_config, "resolve, validate and print a configuration",
     cmd_config_usage},
    {"data", cmd_data, "check, materialize and prepare benchmark data",
     cmd_data_usage},
    {"demo", cmd_demo, "train a skill offline against the bundled simulator",
     cmd_demo_usage},
    {"eval", cmd_eval, "score one skill on one split", cmd_eval_usage},
    {"help", cmd_help, "show help for skillopt or one command", help_usage},
    {"llm", cmd_llm, "check that the optimizer and target models answer",
     cmd_llm_usage},
    {"train", cmd_train, "train (or resume training) a skill document",
     cmd_train_usage},
    {"ui", cmd_ui, "serve the dashboard over a directory of runs",
     cmd_ui_usage},
    {"version", cmd_version, "print the version", version_usage},
};

const struct sk_command *cli_find_command(const char *name)
{
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void cli_error(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sk_log_redact(msg, sizeof msg);
    fprintf(stderr, "skillopt: error: %s\n", msg);
}

int cli_exit_for(int status)
{
    switch (status) {
    case SK_OK:
        return SK_EXIT_OK;
    case SK_ECONFIG:
    case SK_EDATA:
    case SK_EPARSE:
    case SK_ENOTFOUND:
    case SK_ETOOBIG:
        return SK_EXIT_CONFIG;
    case SK_EINVAL:
        return SK_EXIT_USAGE;
    default:
        return SK_EXIT_RUN;
    }
}

static void print_main_help(FILE *fp)
{
    size_t i;
    fprintf(fp,
            "usage: skillopt [--version] [--help] [--log-level LEVEL] COMMAND "
            "[ARGS]\n"
            "\n"
            "skillopt trains an agent's skill document (a markdown file such "
            "as\nSKILL.md) against a frozen target model, keeping only edits "
            "that\nraise a held-out score.\n"
            "\n"
            "Commands:\n");
    for (i = 0; i < SK_ARRAY_LEN(commands); i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n"
                "Run 'skillopt help COMMAND' for the options of a command.\n"
                "Log level (error, warning, info, debug): --log-level or the "
                "SKILLOPT_LOG\nvariable; the default is warning.\n"
                "Exit codes: 0 ok, 1 run failed, 2 usage, 3 config or data "
                "error,\n"
                "            4 provider error, 5 budget exhausted.\n");
}

int cmd_help(int argc, char **argv)
{
    const struct sk_command *c;
    if (argc < 2) {
        print_main_help(stdout);
        return SK_EXIT_OK;
    }
    if (argc > 2) {
        cli_error("help takes at most one command name");
        return SK_EXIT_USAGE;
    }
    c = cli_find_command(argv[1]);
    if (!c) {
        cli_error("unknown command '%s' (see 'skillopt --help')", argv[1]);
        return SK_EXIT_USAGE;
    }
    fputs(c->usage, stdout);
    return SK_EXIT_OK;
}

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        cli_error("version takes no arguments");
        return SK_EXIT_USAGE;
    }
    printf("skillopt %s\n", sk_version());
    return SK_EXIT_OK;
}

/* "error" | "warning" | "info" | "debug" -> level; -1 if unknown. */
static int parse_level(const char *s)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    size_t i;
    for (i = 0; i < SK_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    if (strcmp(s, "warn") == 0)
        return SK_LOG_WARN;
    return -1;
}

int main(int argc, char **argv)
{
    const struct sk_command *c;
    const char *env = getenv("SKILLOPT_LOG");

    /* The level comes from SKILLOPT_LOG, then a leading --log-level. */
    if (env && *env && parse_level(env) >= 0)
        sk_log_set_level((enum sk_log_level)parse_level(env));
    while (argc >= 2 && strncmp(argv[1], "--log-level", 11) == 0) {
        const char *v = argv[1][11] == '=' ? argv[1] + 12
                        : argc >= 3        ? argv[2]
                                           : "";
        int level = parse_level(v);
        if (level < 0) {
            cli_error("--log-level: expected error, warning, info or debug");
            return SK_EXIT_USAGE;
        }
        sk_log_set_level((enum sk_log_level)level);
        if (argv[1][11] == '=') {
            argv++;
            argc--;
        } else {
            argv += 2;
            argc -= 2;
        }
    }
    if (argc < 2) {
        print_main_help(stderr);
        return SK_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_main_help(stdout);
        return SK_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
        return cmd_version(1, argv + 1);
    c = cli_find_command(argv[1]);
    if (!c) {
        cli_error("unknown command '%s' (see 'skillopt --help')", argv[1]);
        return SK_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
