/*
 * cmd_config.c - `skillopt config`: resolve, validate and print a config.
 */
#include "common.h"

#include <stdio.h>

#include "cli/cli.h"

const char cmd_config_usage[] =
    "usage: skillopt config --config FILE [--cfg-options K=V ...] "
    "[--KEY VALUE ...] --print\n";

int cmd_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("config: not implemented yet");
    return SK_EXIT_RUN;
}
