/*
 * cmd_demo.c - `skillopt demo`: the whole training loop offline, in under a
 * minute, on the bundled synthetic benchmark (data/demo) with both model
 * roles played by the built-in simulator.  It shows what a real run does
 * (a rising validation curve, rejected edits, the slow-update block, test
 * scores) without a provider or a key.
 *
 * The demo files are found through $SKILLOPT_HOME, else the directory
 * above the executable (build/skillopt in a checkout), else the current
 * directory: the first that holds configs/demo.yaml.
 */
#include "common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

const char cmd_demo_usage[] =
    "usage: skillopt demo [--out_root DIR] [--quiet] [--no-ui]\n"
    "                     [--cfg-options K=V ...] [--KEY VALUE ...]\n"
    "\n"
    "Trains the bundled demo skill (skills/demo/initial.md) on a small\n"
    "synthetic benchmark (data/demo: five task families, each with a trap\n"
    "that one rule in the skill fixes).  Both the target and the optimizer\n"
    "are played by skillopt's built-in simulator (backend sim): a test\n"
    "instrument that answers the way a model would, so you can watch the\n"
    "loop work offline.  It is not a language model.  To train against a\n"
    "real provider use `skillopt train` (see README.md, \"Models\").\n"
    "\n"
    "Prints the baseline, best and test scores and the path of\n"
    "best_skill.md.  DIR defaults to outputs/demo_<time>.  While it trains\n"
    "the run is served on the dashboard (the URL is printed; see\n"
    "`skillopt help ui`); --no-ui turns that off.\n";

/* 1 if dir/configs/demo.yaml exists. */
static int is_home(const char *dir)
{
    char *p = sk_fs_join(dir, "configs/demo.yaml");
    int ok = p && sk_fs_exists(p);
    sk_free(p);
    return ok;
}

static char *find_home(void)
{
    const char *env = getenv("SKILLOPT_HOME");
    char exe[PATH_MAX], *slash;
    ssize_t n;

    if (env && *env)
        return is_home(env) ? sk_strdup(env) : NULL;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0'; /* the executable's directory */
            slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                if (is_home(exe))
                    return sk_strdup(exe);
            }
        }
    }
    return is_home(".") ? sk_strdup(".") : NULL;
}

/* "<key>=<home>/<rest>" */
static char *item(const char *key, const char *home, const char *rest)
{
    struct sk_buf b;
    char *s = NULL;
    sk_buf_init(&b, 8192);
    if (sk_buf_printf(&b, "%s=%s/%s", key, home, rest) == SK_OK)
        s = sk_buf_detach(&b, NULL);
    sk_buf_release(&b);
    return s;
}

int cmd_demo(int argc, char **argv)
{
    static const char *const switches[] = {"quiet", "no-ui", "no_ui", NULL};
    static const char *const valued[] = {"out_root", "out-root", NULL};
    struct cli_train_flags f;
    struct cfgargs a;
    struct sk_config cfg;
    char *home = NULL, *conf = NULL, *extra[2] = {NULL, NULL}, ts[32], def[64];
    const char **opts = NULL, **user_opts;
    const char *out_root;
    time_t now = time(NULL);
    struct tm tm;
    size_t i;
    int code;

    sk_config_init(&cfg);
    memset(&f, 0, sizeof f);
    f.quiet = cfgargs_has(argc, argv, "quiet");
    f.ui =
        !cfgargs_has(argc, argv, "no-ui") && !cfgargs_has(argc, argv, "no_ui");
    code = cfgargs_parse(argc, argv, switches, valued, &a);
    if (code != SK_EXIT_OK)
        goto out;
    if (a.config) {
        cli_error("demo: --config is not used (the demo has its own); use "
                  "`skillopt train --config FILE`");
        code = SK_EXIT_USAGE;
        goto out;
    }
    home = find_home();
    if (!home) {
        cli_error("demo: cannot find configs/demo.yaml (looked in "
                  "$SKILLOPT_HOME, next to the executable and in the current "
                  "directory); run it from the skillopt checkout or set "
                  "SKILLOPT_HOME");
        code = SK_EXIT_CONFIG;
        goto out;
    }
    conf = sk_fs_join(home, "configs/demo.yaml");
    extra[0] = item("env.split_dir", home, "data/demo");
    extra[1] = item("env.skill_init", home, "skills/demo/initial.md");
    opts = sk_calloc(a.n_cfg_options + 2, sizeof *opts);
    if (!conf || !extra[0] || !extra[1] || !opts) {
        cli_error("out of memory");
        code = SK_EXIT_RUN;
        goto out;
    }
    /* the demo's data paths first; the user's overrides win */
    opts[0] = extra[0];
    opts[1] = extra[1];
    for (i = 0; i < a.n_cfg_options; i++)
        opts[i + 2] = a.cfg_options[i];
    user_opts = a.cfg_options;
    a.cfg_options = opts; /* borrowed by the load only */
    a.n_cfg_options += 2;
    a.config = conf;
    code = cfgargs_load_config(&a, "demo", &cfg);
    a.n_cfg_options -= 2;
    a.cfg_options = user_opts;
    if (code != SK_EXIT_OK)
        goto out;
    out_root = a.valued[0] ? a.valued[0] : a.valued[1];
    if (!out_root) {
        localtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y%m%d_%H%M%S", &tm);
        snprintf(def, sizeof def, "outputs/demo_%s", ts);
        out_root = def;
    }
    if (!f.quiet)
        printf("skillopt demo: both models are played by the built-in "
               "simulator (offline, no keys).\n");
    code = cli_train_run(&cfg, out_root, &f);
out:
    sk_config_release(&cfg);
    cfgargs_release(&a);
    sk_free((void *)opts);
    sk_free(home);
    sk_free(conf);
    sk_free(extra[0]);
    sk_free(extra[1]);
    return code;
}
