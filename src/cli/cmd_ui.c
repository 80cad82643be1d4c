/*
 * cmd_ui.c - `skillopt ui`: the dashboard over every run under a
 * directory, served until SIGINT or SIGTERM; and the live view that
 * `skillopt train --ui` and `skillopt demo` start on their own run
 * (cli_ui_start_run).  The server itself is ui/server.h.
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ui/server.h"

#define UI_PORT_TRIES 21 /* the default port, then the next 20 */

const char cmd_ui_usage[] =
    "usage: skillopt ui --runs DIR [--host ADDR] [--port N]\n"
    "\n"
    "Serves the dashboard for every training run under DIR (run\n"
    "directories up to three levels down) until Ctrl-C: the runs with\n"
    "their status and scores, each run's validation curve, steps, edits,\n"
    "skill versions, rollouts and configuration, updated live while a run\n"
    "trains.  Read-only.\n"
    "\n"
    "  --runs DIR    the directory holding the runs (e.g. outputs)\n"
    "  --host ADDR   address to listen on (default 127.0.0.1; anything\n"
    "                else exposes the runs to the network)\n"
    "  --port N      port (default 7860, or the next free one up to 7880;\n"
    "                0 picks any free port)\n"
    "\n"
    "Prints the URL to open.  `skillopt train --ui` and `skillopt demo`\n"
    "serve their own run the same way while it trains.\n";

/* 0..65535 from text; -1 otherwise. */
static int parse_port(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

int cmd_ui(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"runs", required_argument, NULL, 'r'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct sk_ui_opts o;
    struct sk_ui *ui = NULL;
    struct sk_error err;
    sigset_t block, old;
    char url[300];
    int c, port_given = 0;

    memset(&o, 0, sizeof o);
    o.port = SK_UI_DEFAULT_PORT;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            o.runs_dir = optarg;
            break;
        case 'H':
            o.host = optarg;
            break;
        case 'p':
            o.port = parse_port(optarg);
            port_given = 1;
            if (o.port < 0) {
                cli_error("ui: --port wants a number from 0 to 65535");
                return SK_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(cmd_ui_usage, stdout);
            return SK_EXIT_OK;
        case ':':
            cli_error("ui: %s needs a value", argv[optind - 1]);
            return SK_EXIT_USAGE;
        default:
            cli_error("ui: unknown option '%s' (see 'skillopt help ui')",
                      argv[optind - 1]);
            return SK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("ui: unexpected argument '%s'", argv[optind]);
        return SK_EXIT_USAGE;
    }
    if (!o.runs_dir) {
        cli_error("ui: --runs DIR is required");
        return SK_EXIT_USAGE;
    }
    o.port_tries = port_given ? 1 : UI_PORT_TRIES;

    /* The server's threads inherit the blocked set, so the signals come
     * to this thread, which waits for them below. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (sk_ui_start(&o, &ui, &err) != SK_OK) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        cli_error("%s", err.msg);
        return err.code == SK_EINVAL ? SK_EXIT_USAGE : SK_EXIT_RUN;
    }
    sk_ui_url(ui, url, sizeof url);
    printf("skillopt ui: serving the runs under %s at %s\n", o.runs_dir, url);
    printf("press Ctrl-C to stop\n");
    fflush(stdout);
    sigwait(&block, &c);
    sk_ui_stop(ui);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return SK_EXIT_OK;
}

struct sk_ui *cli_ui_start_run(const char *out_root)
{
    struct sk_ui_opts o;
    struct sk_ui *ui = NULL;
    struct sk_error err;
    char url[300];

    memset(&o, 0, sizeof o);
    o.single_run = out_root;
    o.port = SK_UI_DEFAULT_PORT;
    o.port_tries = UI_PORT_TRIES;
    if (sk_ui_start(&o, &ui, &err) != SK_OK) {
        fprintf(stderr, "skillopt: warning: dashboard not started: %s\n",
                err.msg);
        return NULL;
    }
    sk_ui_url(ui, url, sizeof url);
    printf("dashboard: %s (live while the run trains)\n", url);
    fflush(stdout);
    return ui;
}
