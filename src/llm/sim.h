/*
 * sim.h - an OpenAI-compatible HTTP server inside the process, on
 * 127.0.0.1 and a random port (libmicrohttpd), reached through the same
 * client code as any provider.  It is a test instrument: the demo and the
 * tests use it because no model can run on these machines.
 *
 * Answers come from a pluggable responder; the server adds faults at
 * configured rates from a seeded generator: latency, 429 with Retry-After,
 * 500/503, stalls, truncated bodies, malformed JSON, <think> blocks and
 * empty content.  Tests also use it as a fake provider: a responder sees
 * the exact method, path, headers and body and returns any status,
 * headers and body.
 *
 * Ownership: the server copies its options; requests passed to the
 * responder are borrowed for the duration of the callback; the responder
 * fills a reply whose strings the server frees (sk_malloc'd).
 */
#ifndef SK_SIM_H
#define SK_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sk_sim_request {
    const char *method;
    const char *path;  /* "/v1/chat/completions" (no query string) */
    const char *query; /* raw query string or "" */
    const char *const *header_names; /* lower-case */
    const char *const *header_values;
    size_t n_headers;
    const char *body;
    size_t body_len;
};

struct sk_sim_reply {
    int status;          /* 0: 200 */
    char *content_type;  /* NULL: application/json */
    char **header_names; /* extra headers (sk_malloc'd, freed by sim) */
    char **header_values;
    size_t n_headers;
    char *body; /* sk_malloc'd, freed by the server */
    size_t body_len;
};

/* Returns 0, or non-zero to make the server answer 500. */
typedef int (*sk_sim_responder_fn)(void *ud, const struct sk_sim_request *req,
                                   struct sk_sim_reply *reply);

struct sk_sim_faults {
    uint64_t seed;
    double latency_ms_mean; /* exponential latency added to every reply */
    double latency_ms_min;
    double rate_429; /* with Retry-After: retry_after_s */
    double retry_after_s;
    double rate_500;
    double rate_503;
    double rate_stall; /* send nothing for stall_ms, then reply */
    double stall_ms;
    double rate_truncate;  /* Content-Length larger than the body sent */
    double rate_malformed; /* a 200 whose body is not JSON */
    double rate_think;     /* wrap content in <think>...</think> + answer */
    double rate_empty;     /* empty content */
};

struct sk_sim;

/*
 * Starts the server.  responder NULL: the built-in echo responder (answers
 * chat completions, Anthropic Messages and OpenAI Responses requests with
 * a deterministic text derived from the request and real-looking usage;
 * see sim_agent.h for tool calls and event streams).  faults NULL: none.
 */
int sk_sim_start(sk_sim_responder_fn responder, void *ud,
                 const struct sk_sim_faults *faults, struct sk_sim **out,
                 struct sk_error *err);
void sk_sim_stop(struct sk_sim *s); /* NULL ok */
int sk_sim_port(const struct sk_sim *s);
/* "http://127.0.0.1:PORT/v1" into buf. */
void sk_sim_base_url(const struct sk_sim *s, char *buf, size_t cap);
/* Requests received so far (faulted ones included). */
uint64_t sk_sim_requests(const struct sk_sim *s);

/* Helper for responders: a chat.completion JSON body with content and
 * usage, sk_malloc'd. */
char *sk_sim_chat_completion(const char *model, const char *content,
                             uint64_t prompt_tokens,
                             uint64_t completion_tokens);

#endif /* SK_SIM_H */
