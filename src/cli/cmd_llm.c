/*
 * cmd_llm.c - `skillopt llm check`: send one short request to each role
 * and report what answered, so a provider setup can be verified before a
 * run spends anything.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include "cli/cfgargs.h"
#include "cli/cli.h"
#include "config/config.h"
#include "llm/client.h"
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

int cmd_llm(int argc, char **argv)
{
    static const char *const valued[] = {"role", "prompt", NULL};
    struct cfgargs a;
    struct sk_config cfg;
    struct sk_llm_client *c = NULL;
    struct sk_error err;
    const char *prompt;
    int code, st, worst = SK_OK, r;

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
