/*
 * cmd_data.c - `skillopt data`: check a split directory (every problem
 * at once) or a configuration's data and skill as a run would load them;
 * materialize a split directory from an id manifest and upstream rows;
 * build the OfficeQA text corpus from PDFs.  It catches bad data before
 * any model is paid for.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/officeqa.h"
#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "data/check.h"
#include "data/materialize.h"
#include "data/split.h"
#include "skill/skill.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

/* Problem lines shown per kind unless --max-lines says otherwise. */
#define DEFAULT_MAX_LINES 20
/* Missing manifest ids listed by materialize. */
#define MISSING_SHOWN 20

const char cmd_data_usage[] =
    "usage: skillopt data check SPLIT_DIR [--bench NAME] [--data-root DIR]\n"
    "                           [--docs DIR] [--max-lines N]\n"
    "       skillopt data check --config FILE [--cfg-options KEY=VALUE ...]\n"
    "                           [--KEY VALUE ...]\n"
    "       skillopt data materialize BENCH --manifest DIR --source "
    "PATH_OR_URL\n"
    "                           --out SPLIT_DIR [--id-field NAME]\n"
    "                           [--format json|jsonl|csv] [--sha256 HEX]\n"
    "                           [--token-env VAR] [--max-bytes N]\n"
    "                           [--timeout SECONDS] [--force]\n"
    "       skillopt data officeqa-corpus --pdfs DIR --out DIR\n"
    "\n"
    "check SPLIT_DIR reads SPLIT_DIR/{train,val,test} (the first *.json of\n"
    "each folder, else its first *.csv) and reports every problem at once:\n"
    "items missing a field their benchmark needs or holding the wrong type,\n"
    "ids repeated within a split or shared by two splits, empty splits, and\n"
    "missing files (DocVQA image_path and SpreadsheetBench task folders,\n"
    "relative to --data-root, default the working directory; OfficeQA\n"
    "source_files in the --docs corpus).  Benchmarks: searchqa, officeqa,\n"
    "docvqa, livemathematicianbench, spreadsheetbench, demo, generic (ids\n"
    "only); without --bench the benchmark is guessed from the fields and\n"
    "the report says so.  At most --max-lines lines per kind of problem\n"
    "are shown (default 20, 0 = all).\n"
    "\n"
    "check --config loads the configuration, the splits and the initial\n"
    "skill (env.skill_init) the way `skillopt train` will, prints what it\n"
    "found, then checks the items against env.name's benchmark.  Unlike\n"
    "the reference, a duplicate id, an id found in two splits, an empty\n"
    "train or val split, an item without an id or an unreadable skill file\n"
    "is an error, reported with the file it is in.  In ratio mode the\n"
    "generated split files are written, as a run would write them.\n"
    "\n"
    "materialize builds SPLIT_DIR from one of the reference's id manifests\n"
    "(data/<bench>_id_split: {train,val,test}/items.json) and the upstream\n"
    "rows: a file, a directory of files, or an http(s) URL (downloaded,\n"
    "with progress on a terminal; --sha256 verifies the file, --token-env\n"
    "names a variable holding a bearer token for gated datasets).  Rows\n"
    "are JSON arrays, JSON Lines or CSV with a header.  BENCH: searchqa\n"
    "(rows keyed by \"key\" or \"id\"), officeqa (officeqa_full.csv keyed\n"
    "by \"uid\"), livemathematicianbench (qa_<month>_final.json files, id\n"
    "<month>:<no>), docvqa (\"questionId\"), spreadsheetbench, generic\n"
    "(\"id\", or --id-field).  Every manifest id must be found once; items\n"
    "are written in manifest order with a split_manifest.json, and on any\n"
    "failure (missing ids are listed) nothing is left at SPLIT_DIR.  An\n"
    "existing SPLIT_DIR is replaced only with --force.\n"
    "\n"
    "officeqa-corpus converts every DIR/*.pdf to text (pdftotext) into the\n"
    "--out corpus directory used by the OfficeQA tools.\n"
    "\n"
    "Exit status: 0 all good, 1 a download or conversion failed, 2 bad\n"
    "command line, 3 problems in the data, configuration or skill file.\n";

/* One --name option of a subcommand. */
struct opt {
    const char *name;   /* without the dashes */
    const char **value; /* for options with a value */
    int *flag;          /* for switches */
};

/*
 * Parses argv[1..] into opts and up to max_pos positional arguments.
 * Returns SK_EXIT_OK or SK_EXIT_USAGE after printing the error.
 */
static int parse_opts(const char *cmd, int argc, char **argv,
                      const struct opt *opts, const char **pos, int max_pos,
                      int *n_pos)
{
    int i;
    *n_pos = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        const struct opt *o;
        size_t n;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*n_pos >= max_pos) {
                cli_error("%s: unexpected argument '%s'", cmd, a);
                return SK_EXIT_USAGE;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        a += 2;
        eq = strchr(a, '=');
        n = eq ? (size_t)(eq - a) : strlen(a);
        for (o = opts; o->name; o++)
            if (strlen(o->name) == n && strncmp(o->name, a, n) == 0)
                break;
        if (!o->name) {
            cli_error("%s: unknown option '--%.*s' (see 'skillopt help "
                      "data')",
                      cmd, (int)n, a);
            return SK_EXIT_USAGE;
        }
        if (o->flag) {
            if (eq) {
                cli_error("%s: --%s takes no value", cmd, o->name);
                return SK_EXIT_USAGE;
            }
            *o->flag = 1;
        } else if (eq) {
            *o->value = eq + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            cli_error("%s: --%s needs a value", cmd, o->name);
            return SK_EXIT_USAGE;
        }
    }
    return SK_EXIT_OK;
}

/* Non-negative decimal integer option; SK_EXIT_USAGE when malformed. */
static int parse_count(const char *cmd, const char *name, const char *text,
                       unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!text)
        return SK_EXIT_OK;
    *out = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-') {
        cli_error("%s: --%s must be a non-negative integer, got '%s'", cmd,
                  name, text);
        return SK_EXIT_USAGE;
    }
    return SK_EXIT_OK;
}

static int print_buf(struct sk_buf *b)
{
    fwrite(sk_buf_cstr(b), 1, b->len, stdout);
    return fflush(stdout) == 0 ? SK_EXIT_OK : SK_EXIT_RUN;
}

/* ---- check --config ----------------------------------------------------- */

static int check_config(const struct sk_config *c)
{
    struct sk_split_opts o;
    struct sk_splits s;
    struct sk_error err;
    struct sk_region_list regions;
    struct sk_check_opts co;
    struct sk_check_report rep;
    struct sk_buf out;
    char *text = NULL;
    size_t len = 0, i;
    int rc, k, code = SK_EXIT_OK;

    cfgargs_split_opts(c, &o);
    sk_splits_init(&s);
    sk_check_report_init(&rep);
    sk_buf_init(&out, SK_BUF_UNLIMITED);
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
    /* The configured benchmark decides the schema; one the checker does
     * not know (a YAML benchmark, ALFWorld) gets the id-only checks. */
    memset(&co, 0, sizeof co);
    co.bench = sk_check_bench_name(c->env) ? c->env : "generic";
    co.keep_per_kind = DEFAULT_MAX_LINES;
    rc = sk_data_check_splits(&s, &co, &rep, &err);
    if (rc == SK_OK)
        rc = sk_check_report_format_problems(&rep, DEFAULT_MAX_LINES, &out);
    if (rc != SK_OK) {
        cli_error("%s", rc == SK_ENOMEM ? "out of memory" : err.msg);
        code = cli_exit_for(rc);
        goto out;
    }
    printf("config: %s\n", c->path);
    printf("benchmark: %s\n", *c->env ? c->env : "(none)");
    printf("splits (%s mode):\n", c->split_mode);
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        printf("  %-5s %6zu items  %s\n",
               sk_split_kind_name((enum sk_split_kind)k),
               sk_splits_count(&s, (enum sk_split_kind)k),
               s.paths[k] ? s.paths[k] : "");
    if (!text) {
        printf("skill: (none: env.skill_init is empty, training starts from "
               "a blank skill)\n");
    } else {
        printf("skill: %s (%zu bytes, %zu protected block%s)\n", c->skill_init,
               len, regions.len, regions.len == 1 ? "" : "s");
        for (i = 0; i < regions.len; i++)
            printf("  %s block at bytes %zu-%zu%s\n",
                   regions.items[i].kind == SK_REGION_SLOW_UPDATE
                       ? "slow-update"
                       : "appendix",
                   regions.items[i].start, regions.items[i].end,
                   regions.items[i].closed ? ""
                                           : " (no end marker: protects to "
                                             "the end)");
    }
    printf("items checked as %s\n", rep.bench);
    code = print_buf(&out);
    if (code == SK_EXIT_OK && sk_check_report_total(&rep))
        code = SK_EXIT_CONFIG;
out:
    sk_buf_release(&out);
    sk_check_report_release(&rep);
    sk_splits_release(&s);
    sk_region_list_release(&regions);
    sk_free(text);
    return code;
}

/* ---- check SPLIT_DIR ---------------------------------------------------- */

static int check_dir(int argc, char **argv)
{
    const char *bench = NULL, *root = NULL, *docs = NULL, *max = NULL;
    const char *pos[1];
    const struct opt opts[] = {{"bench", &bench, NULL},
                               {"data-root", &root, NULL},
                               {"docs", &docs, NULL},
                               {"max-lines", &max, NULL},
                               {NULL, NULL, NULL}};
    unsigned long long max_lines = DEFAULT_MAX_LINES;
    struct sk_check_opts co;
    struct sk_check_report rep;
    struct sk_error err;
    struct sk_buf out;
    int n_pos, code, rc;

    code = parse_opts("data check", argc, argv, opts, pos, 1, &n_pos);
    if (code == SK_EXIT_OK)
        code = parse_count("data check", "max-lines", max, &max_lines);
    if (code != SK_EXIT_OK)
        return code;
    if (n_pos != 1) {
        cli_error("data check: expected a split directory or --config FILE "
                  "(see 'skillopt help data')");
        return SK_EXIT_USAGE;
    }
    if (bench && !sk_check_bench_name(bench)) {
        cli_error("data check: unknown benchmark '%s' (known: %s)", bench,
                  sk_check_bench_names());
        return SK_EXIT_USAGE;
    }
    if (docs && !*docs)
        docs = NULL;
    memset(&co, 0, sizeof co);
    co.bench = bench;
    co.data_root = root;
    co.docs_dir = docs;
    co.keep_per_kind = (size_t)max_lines;
    if (docs && !sk_fs_is_dir(docs)) {
        cli_error("data check: --docs %s: not a directory", docs);
        return SK_EXIT_CONFIG;
    }
    sk_buf_init(&out, SK_BUF_UNLIMITED);
    rc = sk_data_check_dir(pos[0], &co, &rep, &err);
    if (rc == SK_OK)
        rc = sk_check_report_format(&rep, (size_t)max_lines, &out);
    if (rc != SK_OK) {
        cli_error("%s", rc == SK_ENOMEM ? "out of memory" : err.msg);
        code = cli_exit_for(rc);
    } else {
        code = print_buf(&out);
        if (code == SK_EXIT_OK && sk_check_report_total(&rep))
            code = SK_EXIT_CONFIG;
    }
    sk_buf_release(&out);
    sk_check_report_release(&rep);
    return code;
}

/* ---- materialize -------------------------------------------------------- */

static void print_missing(const struct sk_materialize_result *res)
{
    size_t i;
    for (i = 0; i < res->n_missing && i < MISSING_SHOWN; i++) {
        const char *tab = strchr(res->missing[i], '\t');
        fprintf(stderr, "  %.*s: %s\n", (int)(tab - res->missing[i]),
                res->missing[i], tab + 1);
    }
    if (res->n_missing > MISSING_SHOWN)
        fprintf(stderr, "  ... and %zu more\n", res->n_missing - MISSING_SHOWN);
}

static int materialize(int argc, char **argv)
{
    const char *manifest = NULL, *source = NULL, *out = NULL, *id = NULL;
    const char *format = NULL, *sha = NULL, *token_env = NULL;
    const char *max_bytes = NULL, *timeout = NULL;
    const char *pos[1];
    int force = 0;
    const struct opt opts[] = {{"manifest", &manifest, NULL},
                               {"source", &source, NULL},
                               {"out", &out, NULL},
                               {"id-field", &id, NULL},
                               {"format", &format, NULL},
                               {"sha256", &sha, NULL},
                               {"token-env", &token_env, NULL},
                               {"max-bytes", &max_bytes, NULL},
                               {"timeout", &timeout, NULL},
                               {"force", NULL, &force},
                               {NULL, NULL, NULL}};
    unsigned long long cap = 0, secs = 0;
    size_t out_len;
    struct sk_materialize_opts mo;
    struct sk_materialize_result res;
    struct sk_error err;
    int n_pos, code, rc, k;

    code = parse_opts("data materialize", argc, argv, opts, pos, 1, &n_pos);
    if (code == SK_EXIT_OK)
        code = parse_count("data materialize", "max-bytes", max_bytes, &cap);
    if (code == SK_EXIT_OK)
        code = parse_count("data materialize", "timeout", timeout, &secs);
    if (code != SK_EXIT_OK)
        return code;
    if (n_pos != 1 || !manifest || !source || !out) {
        cli_error("data materialize: expected BENCH --manifest DIR --source "
                  "PATH_OR_URL --out SPLIT_DIR (see 'skillopt help data')");
        return SK_EXIT_USAGE;
    }
    out_len = strlen(out);
    memset(&mo, 0, sizeof mo);
    mo.bench = pos[0];
    mo.manifest_dir = manifest;
    mo.source = source;
    mo.out_dir = out;
    mo.id_field = id;
    mo.format = format;
    mo.force = force;
    sk_fetch_opts_init(&mo.fetch);
    mo.fetch.sha256 = sha;
    mo.fetch.max_bytes = cap;
    mo.fetch.total_timeout_s = (long)secs;
    mo.fetch.progress = isatty(STDERR_FILENO) ? stderr : NULL;
    if (token_env) {
        const char *t = getenv(token_env);
        if (!t || !*t) {
            cli_error("data materialize: --token-env %s: the variable is not "
                      "set",
                      token_env);
            return SK_EXIT_USAGE;
        }
        sk_log_add_secret(t);
        mo.fetch.bearer_token = t;
    }
    sk_materialize_result_init(&res);
    rc = sk_materialize(&mo, &res, &err);
    if (rc != SK_OK) {
        cli_error("data materialize: %s", err.msg);
        print_missing(&res);
        sk_materialize_result_release(&res);
        return cli_exit_for(rc);
    }
    printf("materialized %s from %s: %zu file%s, %zu rows read\n",
           sk_check_bench_name(pos[0]) ? sk_check_bench_name(pos[0]) : pos[0],
           source, res.files_read, res.files_read == 1 ? "" : "s",
           res.rows_read);
    if (res.sha256[0])
        printf("source sha256: %s\n", res.sha256);
    while (out_len > 1 && out[out_len - 1] == '/')
        out_len--; /* "out/" prints as "out" */
    for (k = 0; k < SK_SPLIT_COUNT; k++)
        printf("  %-5s %6zu items  %.*s/%s/items.json\n",
               sk_split_kind_name((enum sk_split_kind)k), res.counts[k],
               (int)out_len, out, sk_split_kind_name((enum sk_split_kind)k));
    printf("wrote %.*s/split_manifest.json\n", (int)out_len, out);
    sk_materialize_result_release(&res);
    return fflush(stdout) == 0 ? SK_EXIT_OK : SK_EXIT_RUN;
}

/* ---- officeqa-corpus ---------------------------------------------------- */

static void print_names(const char *what, char **names, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        printf("  %s: %s\n", what, names[i]);
}

static int officeqa_corpus(int argc, char **argv)
{
    const char *pdfs = NULL, *out = NULL;
    const char *pos[1];
    const struct opt opts[] = {
        {"pdfs", &pdfs, NULL}, {"out", &out, NULL}, {NULL, NULL, NULL}};
    struct sk_officeqa_corpus_stats st;
    struct sk_error err;
    int n_pos, code, rc;

    code = parse_opts("data officeqa-corpus", argc, argv, opts, pos, 0, &n_pos);
    if (code != SK_EXIT_OK)
        return code;
    if (!pdfs || !out) {
        cli_error("data officeqa-corpus: expected --pdfs DIR --out DIR (see "
                  "'skillopt help data')");
        return SK_EXIT_USAGE;
    }
    sk_officeqa_corpus_stats_init(&st);
    rc = sk_officeqa_build_corpus(pdfs, out, &st, &err);
    printf("%zu PDF%s in %s: %zu converted, %zu up to date, %zu without a "
           "text layer, %zu failed\n",
           st.pdfs, st.pdfs == 1 ? "" : "s", pdfs, st.converted, st.up_to_date,
           st.no_text, st.failed);
    print_names("no text (a scan?)", st.no_text_names, st.no_text);
    print_names("failed", st.failed_names, st.failed);
    fflush(stdout);
    sk_officeqa_corpus_stats_release(&st);
    if (rc != SK_OK) {
        cli_error("data officeqa-corpus: %s", err.msg);
        return cli_exit_for(rc);
    }
    return SK_EXIT_OK;
}

/* Whether the command line has --config (the configuration form). */
static int has_config(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 ||
            strncmp(argv[i], "--config=", 9) == 0)
            return 1;
    return 0;
}

int cmd_data(int argc, char **argv)
{
    struct cfgargs a;
    struct sk_config cfg;
    int code;

    if (argc >= 2 && strcmp(argv[1], "materialize") == 0)
        return materialize(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "officeqa-corpus") == 0)
        return officeqa_corpus(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        cli_error("data: expected a subcommand: check, materialize or "
                  "officeqa-corpus (see 'skillopt help data')");
        return SK_EXIT_USAGE;
    }
    if (!has_config(argc, argv))
        return check_dir(argc - 1, argv + 1);
    sk_config_init(&cfg);
    code = cfgargs_parse(argc - 1, argv + 1, NULL, NULL, &a);
    if (code == SK_EXIT_OK)
        code = cfgargs_load_config(&a, "data check", &cfg);
    if (code == SK_EXIT_OK)
        code = check_config(&cfg);
    sk_config_release(&cfg);
    cfgargs_release(&a);
    return code;
}
