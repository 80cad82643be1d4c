/*
 * cli.h - what the command files of src/cli/ share: exit codes, the
 * command table entry and small helpers.  Only src/cli/ prints errors and
 * exits; the library reports through struct sk_error.
 */
#ifndef SK_CLI_H
#define SK_CLI_H

#include "common.h"

/* Exit codes (contract: documented in README.md). */
enum sk_exit {
    SK_EXIT_OK = 0,       /* success */
    SK_EXIT_RUN = 1,      /* the run failed */
    SK_EXIT_USAGE = 2,    /* bad command line */
    SK_EXIT_CONFIG = 3,   /* bad configuration, data or skill file */
    SK_EXIT_PROVIDER = 4, /* a model provider failed */
    SK_EXIT_BUDGET = 5    /* a cost or token budget ran out */
};

struct sk_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;               /* one line for `skillopt --help` */
    const char *usage;                 /* full text for `skillopt help X` */
};

/* Looks a command up by name; NULL if unknown. */
const struct sk_command *cli_find_command(const char *name);

/* Prints "skillopt: error: msg" (redacted) to stderr. */
void cli_error(const char *fmt, ...) SK_PRINTF(1, 2);

/* Maps a library status to the exit code a user should see. */
int cli_exit_for(int status);

int cmd_config(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_llm(int argc, char **argv);
int cmd_ui(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);

extern const char cmd_config_usage[];
extern const char cmd_demo_usage[];
extern const char cmd_train_usage[];
extern const char cmd_data_usage[];
extern const char cmd_eval_usage[];
extern const char cmd_llm_usage[];
extern const char cmd_ui_usage[];

struct sk_config;

/* Switches of the training commands. */
struct cli_train_flags {
    int dry_run; /* print the plan and estimates, call nothing */
    int quiet;   /* errors and the final summary only */
    int ui;      /* serve the run on the dashboard while it trains */
};

/*
 * Runs (or resumes) a training for a loaded configuration: checks the
 * benchmark, skill and splits, builds the client (the demo simulator for
 * env demo), shows progress and prints the summary.  out_root overrides
 * the configured one when not NULL.  Returns the exit code.
 */
int cli_train_run(const struct sk_config *c, const char *out_root,
                  const struct cli_train_flags *f);

struct sk_ui;

/*
 * Serves out_root on the dashboard (127.0.0.1, port 7860 or the next free
 * one up to 7880) and prints the URL on stdout.  NULL, after a warning on
 * stderr, when it cannot start: the run goes on without it.  Stop it with
 * sk_ui_stop (ui/server.h).
 */
struct sk_ui *cli_ui_start_run(const char *out_root);

#endif /* SK_CLI_H */
