/*
 * demo_sim.h - the simulator's target role for the demo benchmark: a
 * responder for sk_sim (llm/sim.h) that answers chat requests about demo
 * items the way the simulated target would (bench/demo.h).
 *
 * A request is recognised as a demo task when its user message contains a
 * line "Task id: <id>" naming an item of the loaded splits; the skill is
 * whatever the system prompt holds.  Other requests fall through to the
 * fallback responder given at creation (e.g. the simulated optimizer), or
 * get a 404-style error when there is none.
 *
 * Ownership: the responder owns the loaded items; free with
 * sk_demo_sim_free after the server that uses it has stopped.
 */
#ifndef SK_DEMO_SIM_H
#define SK_DEMO_SIM_H

#include <stdint.h>

#include "common.h"
#include "llm/sim.h"

struct sk_demo_sim;

/* Loads data_dir/{train,val,test}/items.json. */
int sk_demo_sim_new(const char *data_dir, uint64_t seed,
                    sk_sim_responder_fn fallback, void *fallback_ud,
                    struct sk_demo_sim **out, struct sk_error *err);
void sk_demo_sim_free(struct sk_demo_sim *d); /* NULL ok */

/* The responder (ud = the struct sk_demo_sim). */
int sk_demo_sim_respond(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply);

#endif /* SK_DEMO_SIM_H */
