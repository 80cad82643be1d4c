/*
 * agent_call.h - one model call answered by an agent CLI (Codex, Claude
 * Code, Cursor, Copilot) instead of an HTTP provider: the request becomes
 * a workspace (the skill where the CLI reads skills, the rest as task.md)
 * and a short prompt on stdin; the CLI's final answer, usage and
 * trajectory become the result.  The run happens on a thread of its own,
 * so a batch runs as many agents at once as its role allows.
 *
 * Ownership: the call copies what it needs from the request; the caller
 * owns the call until sk_agent_call_finish, which frees it.
 */
#ifndef SK_LLM_AGENT_CALL_H
#define SK_LLM_AGENT_CALL_H

#include "common.h"

struct sk_config;
struct sk_role_cfg;
struct sk_llm_request;
struct sk_llm_result;
struct sk_agent_call;

/* 1 when backend is run by an agent CLI. */
int sk_agent_call_backend(const char *backend);

/*
 * Starts the call: workspace under parent (a new directory named after
 * key there; parent NULL: $TMPDIR), then the CLI on a thread.  done(ud) is
 * called from that thread when it ends (after which sk_agent_call_done is
 * 1).  SK_OK, or SK_ENOMEM / SK_EIO / SK_ECONFIG with err set (nothing
 * started).
 */
int sk_agent_call_start(const struct sk_config *cfg,
                        const struct sk_role_cfg *role,
                        const struct sk_llm_request *req, const char *parent,
                        const char *key, void (*done)(void *ud), void *ud,
                        struct sk_agent_call **out, struct sk_error *err);

/* 1 once the CLI has ended (the result is ready). */
int sk_agent_call_done(struct sk_agent_call *ac);

/*
 * Waits for the call, moves its outcome into res (text, usage, trace,
 * trace_summary, or the failure's status and message) and frees ac.
 */
void sk_agent_call_finish(struct sk_agent_call *ac, struct sk_llm_result *res);

/*
 * The task text for req: its system prompt with the skill's section
 * ("## Skill" + the skill) taken out when req->skill is set (the skill
 * goes to its own file), then every message.  New string in *out.
 */
int sk_agent_call_task(const struct sk_llm_request *req, char **out);

#endif /* SK_LLM_AGENT_CALL_H */
