/*
 * client.h - model calls for the rest of the program: one object that
 * owns the request engine, the two resolved roles, the response cache, the
 * ledger (accounting and budget) and, for the `sim` backend, the
 * in-process simulator.
 *
 * A call goes: canonical request -> cache lookup (a hit costs nothing) ->
 * budget reservation (refused: SK_LLM_EBUDGET, nothing is sent) -> provider
 * request -> engine (retries, rate limits) -> provider parse -> ledger
 * settlement -> cache store.  Batches are submitted at once and their
 * results come back in submission order, whatever order replies arrive in.
 * Every failure is a status on the result (never an empty answer); each
 * request leaves one redacted line in <run_dir>/llm_requests.jsonl when a
 * run directory is given (in the order requests finish) and is reported to
 * the optional progress hook.
 *
 * Ownership: the client borrows the config for its lifetime; results are
 * the caller's (sk_llm_result_release).
 */
#ifndef SK_CLIENT_H
#define SK_CLIENT_H

#include <stddef.h>

#include "common.h"
#include "llm/llm.h"
#include "llm/sim.h"

struct sk_config;
struct sk_ledger;

struct sk_llm_client_opts {
    const char *run_dir;    /* cache and request log live here; NULL: none
                               (the cache then needs llm.cache_path, or is
                               off) */
    sk_getenv_fn getenv_fn; /* NULL: getenv */
    void *getenv_ud;
    sk_sim_responder_fn sim_responder; /* for the sim backend; NULL: echo */
    void *sim_ud;
};

struct sk_llm_client;

/*
 * Resolves both roles, opens the cache and the ledger and starts the
 * engine (and the simulator if a role uses it).  Configuration problems
 * (missing key or endpoint, bad pricing file) are reported here, before
 * any work: SK_ECONFIG / SK_LLM_EAUTH with err naming the setting.
 */
int sk_llm_client_new(const struct sk_config *cfg,
                      const struct sk_llm_client_opts *opts,
                      struct sk_llm_client **out, struct sk_error *err);
void sk_llm_client_free(struct sk_llm_client *c); /* NULL ok */

/* One call; blocks.  Returns res->status. */
int sk_llm_call(struct sk_llm_client *c, const struct sk_llm_request *req,
                struct sk_llm_result *res);

/*
 * n calls at once; res[i] answers reqs[i].  Returns SK_OK when every call
 * succeeded, else the status of the first failed one (all results are
 * filled either way).
 */
int sk_llm_call_batch(struct sk_llm_client *c,
                      const struct sk_llm_request *reqs, size_t n,
                      struct sk_llm_result *res);

/*
 * Called once per finished request of sk_llm_call / sk_llm_call_batch
 * (cache hits, refusals and failures included), when its result is final
 * (parsed, settled in the ledger, cached).  done/total count within the
 * current batch (total 1 for sk_llm_call); done runs 1..total in the order
 * requests finish, which is the order replies arrive, not submission order.
 * It runs on the thread that called sk_llm_call[_batch], so batches run
 * from several threads call it concurrently: it must be quick and
 * thread-safe.  req and res are borrowed for the duration of the call.
 */
typedef void (*sk_llm_progress_fn)(void *ud, const struct sk_llm_request *req,
                                   const struct sk_llm_result *res, size_t done,
                                   size_t total);

/* Installs the completion hook (NULL fn removes it); takes effect for the
 * requests that finish after it returns.  Safe from any thread. */
void sk_llm_client_set_progress(struct sk_llm_client *c, sk_llm_progress_fn fn,
                                void *ud);

const struct sk_role_cfg *sk_llm_client_role(const struct sk_llm_client *c,
                                             enum sk_role role);
struct sk_ledger *sk_llm_client_ledger(struct sk_llm_client *c);
/* The simulator, when a role uses it; NULL otherwise. */
struct sk_sim *sk_llm_client_sim(struct sk_llm_client *c);

/*
 * Unusable replies: a stage that cannot use a reply (it does not parse or
 * lacks the fields the stage needs) reports its text here before its retry
 * or fallback, so the caller can keep and count it.  The hook is called on
 * the reporting thread; NULL fn removes it.
 */
typedef void (*sk_llm_unusable_fn)(void *ud, const char *stage,
                                   const char *text);
void sk_llm_client_set_unusable_hook(struct sk_llm_client *c,
                                     sk_llm_unusable_fn fn, void *ud);
void sk_llm_client_note_unusable(struct sk_llm_client *c, const char *stage,
                                 const char *text);

/* The exit code a command should use for a failed call's status:
 * 5 for SK_LLM_EBUDGET, 4 for other provider failures. */
int sk_llm_exit_code(int status);

#endif /* SK_CLIENT_H */
