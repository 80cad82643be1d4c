/*
 * demo_opt.h - the simulator's optimizer role for the demo benchmark: a
 * responder for sk_sim (llm/sim.h) that answers the optimizer's chat
 * requests (analysts, merges, ranking, step size, slow update, meta skill,
 * skill rewrite, appendix consolidation) with well-formed JSON replies
 * derived from what it is shown, using the demo families' rules
 * (bench/demo.h).
 *
 * The stage is recognised from the reply schema its system prompt asks
 * for; a request it does not recognise gets a 400 error body.  Replies are
 * deterministic in (seed, system prompt, first user message): the draws
 * that sometimes propose a harmful or unmatched edit come from a hash of
 * that text.  A test instrument, not a model.
 *
 * Ownership: the responder holds only its seed; free it with
 * sk_demo_opt_free after the server that uses it has stopped.
 */
#ifndef SK_DEMO_OPT_H
#define SK_DEMO_OPT_H

#include <stdint.h>

#include "common.h"
#include "llm/sim.h"

struct sk_demo_opt {
    uint64_t seed; /* mixed into every per-request draw */
};

/* Returns a new responder state, or NULL when out of memory. */
struct sk_demo_opt *sk_demo_opt_new(uint64_t seed);
void sk_demo_opt_free(struct sk_demo_opt *o); /* NULL ok */

/*
 * The responder (ud = the struct sk_demo_opt).  Fills reply with a chat
 * completion (200) for a recognised optimizer request, or a 400 error body
 * otherwise.  Returns 0, or 1 when out of memory (the server answers 500).
 */
int sk_demo_opt_respond(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply);

#endif /* SK_DEMO_OPT_H */
