/*
 * convo.h - the growing message list of a multi-turn episode and the
 * target call that sends it (role target, stage "rollout", through the
 * client's cache and budget).
 *
 * Ownership: a convo owns the texts pushed into it (sk_convo_push takes
 * them, freeing them even on failure); sk_convo_release frees them all.
 */
#ifndef SK_BENCH_CONVO_H
#define SK_BENCH_CONVO_H

#include <stddef.h>

#include "common.h"

struct sk_llm_client;
struct sk_llm_message;

struct sk_convo {
    struct sk_llm_message *msgs;
    char **texts;
    size_t n, cap;
};

/* Zero-initialise with memset or {0}; nothing to set up. */
void sk_convo_release(struct sk_convo *cv);

/* Appends a message of role ("user", "assistant") taking text (freed on
 * failure).  SK_OK or SK_ENOMEM. */
int sk_convo_push(struct sk_convo *cv, const char *role, char *text_take);

/* sk_convo_push of a copy of text. */
int sk_convo_push_copy(struct sk_convo *cv, const char *role, const char *text);

/*
 * Sends system + the messages to the target; *text gets the reply (new
 * string, "" for an empty one).  A failed call returns its status (an
 * enum sk_llm_err) with err naming the item and the turn; SK_ENOMEM.
 */
int sk_convo_ask(struct sk_llm_client *c, const char *system,
                 const struct sk_convo *cv, long max_tokens, char **text,
                 const char *id, long turn, struct sk_error *err);

#endif /* SK_BENCH_CONVO_H */
