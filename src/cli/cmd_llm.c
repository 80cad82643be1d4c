/*
 * cmd_llm.c - `skillopt llm check`: send one short request to each role
 * and report what answered, so a provider setup can be verified before a
 * run spends anything.  Also the hidden `skillopt llm sim`, which serves
 * the simulator on 127.0.0.1 for tests that drive the real agent CLIs.
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "llm/sim_agent.h"
#include "llm/usage.h"

const char cmd_llm_usage[] =
    "usage: skillopt llm check --config FILE [--cfg-options KEY=VALUE ...]\n"
    "                          [--KEY VALUE ...] [--role optimizer|target]\n"
    "                          [--prompt TEXT]\n"
    "\n"
    "Resolves the optimizer and target roles (backend, model, endpoint, key)\n"
    "from the configuration and the environment, sends each one short\n"
    "request and prints who answered, how fast, and what it cost.  Nothing\n"
    "is cached.  Use it to check keys, endpoints and model names before a\n"
    "run.\n"
    "\n"
    "Exit status: 0 every role answered, 2 bad command line, 3 bad\n"
    "configuration (e.g. a missing key), 4 a provider failed, 5 over "
    "budget.\n";

static const char *role_name(enum sk_role r)
{
    return r == SK_ROLE_OPTIMIZER ? "optimizer" : "target";
}

static int check_role(struct sk_llm_client *c, enum sk_role role,
                      const char *prompt)
{
    const struct sk_role_cfg *rc = sk_llm_client_role(c, role);
    struct sk_llm_message msg = {"user", prompt, NULL, 0};
    struct sk_llm_request req;
    struct sk_llm_result res;
    struct sk_stage_usage u;
    int st;

    memset(&req, 0, sizeof req);
    req.role = role;
    req.stage = "check";
    req.messages = &msg;
    req.n_messages = 1;
    req.max_tokens = 64;
    st = sk_llm_call(c, &req, &res);
    printf("%s: %s %s at %s\n", role_name(role), rc->backend, rc->model,
           *rc->base_url ? rc->base_url : "(default endpoint)");
    if (st == SK_OK) {
        sk_ledger_get(sk_llm_client_ledger(c), (int)role, "check", &u);
        printf("  ok in %.2f s (%d attempt%s): %llu prompt + %llu completion "
               "tokens",
               res.latency_s, res.attempts, res.attempts == 1 ? "" : "s",
               (unsigned long long)res.usage.prompt_tokens,
               (unsigned long long)res.usage.completion_tokens);
        if (u.cost_unknown)
            printf(", cost unknown (no price for %s)\n", rc->model);
        else
            printf(", $%.6f\n", u.cost_usd);
        printf("  reply: %.120s\n", res.text);
    } else {
        printf("  FAILED\n");
        cli_error("%s: %s", role_name(role), res.error);
    }
    sk_llm_result_release(&res);
    return st;
}

/* `llm sim`: what its responder needs. */
struct sim_serve {
    struct sk_sim_agent agent;
    struct sk_sim_script script;
    FILE *log;            /* NULL: no request log */
    const char *dump_dir; /* NULL: request bodies are not kept */
    unsigned n;           /* requests seen (numbers the dumps) */
    pthread_mutex_t mu;
};

/* Answers through the agent responder and logs "METHOD PATH STATUS". */
static int sim_serve_respond(void *ud, const struct sk_sim_request *req,
                             struct sk_sim_reply *reply)
{
    struct sim_serve *sv = ud;
    int rc = sk_sim_agent_respond(&sv->agent, req, reply);

    pthread_mutex_lock(&sv->mu);
    sv->n++;
    if (sv->dump_dir) {
        char path[4096];
        FILE *f;
        snprintf(path, sizeof path, "%s/%03u.json", sv->dump_dir, sv->n);
        f = fopen(path, "wb");
        if (f) {
            fwrite(req->body, 1, req->body_len, f);
            fclose(f);
        }
    }
    if (sv->log) {
        fprintf(sv->log, "%s %s%s%s %d\n", req->method, req->path,
                *req->query ? "?" : "", req->query,
                rc              ? 500
                : reply->status ? reply->status
                                : 200);
        fflush(sv->log);
    }
    pthread_mutex_unlock(&sv->mu);
    return rc;
}

static const char sim_usage[] =
    "usage: skillopt llm sim [--agent script|echo] [--skill PATH]\n"
    "                        [--task PATH] [--answer-file PATH]\n"
    "                        [--fail-status N] [--log FILE] [--dump-dir DIR]\n"
    "                        [--timeout S]\n"
    "\n"
    "Test instrument (hidden): serves the simulator on 127.0.0.1 and a free\n"
    "port, prints its URL (without /v1) and answers chat completions,\n"
    "Anthropic Messages and OpenAI Responses requests, streamed or not,\n"
    "with the scripted agent of sim_agent.h (default) or the echo agent,\n"
    "until SIGINT or SIGTERM or --timeout seconds (default 600).  --log\n"
    "appends \"METHOD PATH STATUS\" per request; --dump-dir keeps each\n"
    "request body as NNN.json.\n";

/* A whole number in [lo, hi] from text; -1 otherwise. */
static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    return v;
}

static int cmd_llm_sim(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"agent", required_argument, NULL, 'a'},
        {"skill", required_argument, NULL, 's'},
        {"task", required_argument, NULL, 't'},
        {"answer-file", required_argument, NULL, 'f'},
        {"fail-status", required_argument, NULL, 'F'},
        {"log", required_argument, NULL, 'l'},
        {"dump-dir", required_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct sim_serve sv;
    struct sk_sim *sim = NULL;
    struct sk_error err;
    struct timespec limit = {600, 0};
    sigset_t block, old;
    const char *log_path = NULL;
    long v;
    int c, code = SK_EXIT_OK;

    memset(&sv, 0, sizeof sv);
    sv.agent.fn = sk_sim_script_agent;
    sv.agent.ud = &sv.script;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (strcmp(optarg, "echo") == 0)
                sv.agent.fn = NULL;
            else if (strcmp(optarg, "script") != 0) {
                cli_error("llm sim: --agent must be script or echo");
                return SK_EXIT_USAGE;
            }
            break;
        case 's':
            sv.script.skill_path = optarg;
            break;
        case 't':
            sv.script.task_path = optarg;
            break;
        case 'f':
            sv.script.answer_file = optarg;
            break;
        case 'F':
            v = parse_long(optarg, 400, 599);
            if (v < 0) {
                cli_error("llm sim: --fail-status wants 400..599");
                return SK_EXIT_USAGE;
            }
            sv.script.fail_status = (int)v;
            break;
        case 'l':
            log_path = optarg;
            break;
        case 'd':
            sv.dump_dir = optarg;
            break;
        case 'T':
            v = parse_long(optarg, 1, 86400);
            if (v < 0) {
                cli_error("llm sim: --timeout wants 1..86400 seconds");
                return SK_EXIT_USAGE;
            }
            limit.tv_sec = (time_t)v;
            break;
        case 'h':
            fputs(sim_usage, stdout);
            return SK_EXIT_OK;
        case ':':
            cli_error("llm sim: %s needs a value", argv[optind - 1]);
            return SK_EXIT_USAGE;
        default:
            cli_error("llm sim: unknown option '%s'", argv[optind - 1]);
            return SK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("llm sim: unexpected argument '%s'", argv[optind]);
        return SK_EXIT_USAGE;
    }
    if (sv.script.fail_status && !sv.agent.fn) {
        cli_error("llm sim: --fail-status needs --agent script");
        return SK_EXIT_USAGE;
    }
    if (log_path) {
        sv.log = fopen(log_path, "a");
        if (!sv.log) {
            cli_error("llm sim: cannot open %s: %s", log_path, strerror(errno));
            return SK_EXIT_RUN;
        }
    }
    pthread_mutex_init(&sv.mu, NULL);
    /* The server's threads inherit the blocked set, so the signals come
     * to this thread, which waits for them below. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (sk_sim_start(sim_serve_respond, &sv, NULL, &sim, &err) != SK_OK) {
        cli_error("%s", err.msg);
        code = SK_EXIT_RUN;
        goto out;
    }
    printf("http://127.0.0.1:%d\n", sk_sim_port(sim));
    fflush(stdout);
    while (sigtimedwait(&block, NULL, &limit) < 0 && errno == EINTR)
        ;
    sk_sim_stop(sim);
out:
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_destroy(&sv.mu);
    if (sv.log)
        fclose(sv.log);
    return code;
}

int cmd_llm(int argc, char **argv)
{
    static const char *const valued[] = {"role", "prompt", NULL};
    struct cfgargs a;
    struct sk_config cfg;
    struct sk_llm_client *c = NULL;
    struct sk_error err;
    const char *prompt;
    int code, st, worst = SK_OK, r;

    if (argc >= 2 && strcmp(argv[1], "sim") == 0)
        return cmd_llm_sim(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        cli_error("llm: expected a subcommand: check (see 'skillopt help "
                  "llm')");
        return SK_EXIT_USAGE;
    }
    sk_config_init(&cfg);
    code = cfgargs_parse(argc - 1, argv + 1, NULL, valued, &a);
    if (code == SK_EXIT_OK)
        code = cfgargs_load_config(&a, "llm check", &cfg);
    if (code != SK_EXIT_OK)
        goto out;
    if (a.valued[0] && strcmp(a.valued[0], "optimizer") != 0 &&
        strcmp(a.valued[0], "target") != 0) {
        cli_error("llm check: --role must be optimizer or target");
        code = SK_EXIT_USAGE;
        goto out;
    }
    prompt = a.valued[1] ? a.valued[1] : "Reply with the single word OK.";
    st = sk_llm_client_new(&cfg, NULL, &c, &err);
    if (st != SK_OK) {
        cli_error("%s", err.msg);
        code = st == SK_ENOMEM ? SK_EXIT_RUN : SK_EXIT_CONFIG;
        goto out;
    }
    for (r = 0; r < SK_ROLE_COUNT; r++) {
        if (a.valued[0] && strcmp(a.valued[0], role_name((enum sk_role)r)))
            continue;
        st = check_role(c, (enum sk_role)r, prompt);
        if (st != SK_OK && worst != SK_LLM_EBUDGET)
            worst = st;
    }
    code = worst == SK_OK ? SK_EXIT_OK : sk_llm_exit_code(worst);
out:
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    cfgargs_release(&a);
    return code;
}
