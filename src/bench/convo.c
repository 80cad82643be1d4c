/*
 * convo.c - episode message lists and the target call (see convo.h).
 */
#include "common.h"

#include "bench/convo.h"

#include <string.h>

#include "llm/client.h"
#include "llm/llm.h"
#include "util/alloc.h"

int sk_convo_push(struct sk_convo *cv, const char *role, char *text_take)
{
    if (!text_take)
        return SK_ENOMEM;
    if (cv->n == cv->cap) {
        size_t cap = cv->cap ? cv->cap * 2 : 16;
        struct sk_llm_message *m = sk_realloc(cv->msgs, cap * sizeof *m);
        char **t;
        if (!m) {
            sk_free(text_take);
            return SK_ENOMEM;
        }
        cv->msgs = m;
        t = sk_realloc(cv->texts, cap * sizeof *t);
        if (!t) {
            sk_free(text_take);
            return SK_ENOMEM;
        }
        cv->texts = t;
        cv->cap = cap;
    }
    memset(&cv->msgs[cv->n], 0, sizeof cv->msgs[cv->n]);
    cv->msgs[cv->n].role = role;
    cv->msgs[cv->n].content = text_take;
    cv->texts[cv->n] = text_take;
    cv->n++;
    return SK_OK;
}

int sk_convo_push_copy(struct sk_convo *cv, const char *role, const char *text)
{
    return sk_convo_push(cv, role, sk_strdup(text));
}

void sk_convo_release(struct sk_convo *cv)
{
    size_t i;
    for (i = 0; i < cv->n; i++)
        sk_free(cv->texts[i]);
    sk_free(cv->msgs);
    sk_free(cv->texts);
    memset(cv, 0, sizeof *cv);
}

int sk_convo_ask(struct sk_llm_client *c, const char *system,
                 const struct sk_convo *cv, long max_tokens, char **text,
                 const char *id, long turn, struct sk_error *err)
{
    struct sk_llm_request req;
    struct sk_llm_result res;
    int st;

    memset(&req, 0, sizeof req);
    req.role = SK_ROLE_TARGET;
    req.stage = "rollout";
    req.system = system;
    req.messages = cv->msgs;
    req.n_messages = cv->n;
    req.max_tokens = max_tokens;
    sk_llm_result_init(&res);
    st = sk_llm_call(c, &req, &res);
    *text = NULL;
    if (st != SK_OK) {
        sk_error_set(err, st, "item %s, turn %ld: %s", id, turn,
                     res.error[0] ? res.error : sk_strerror(st));
    } else {
        *text = res.text ? res.text : sk_strdup("");
        res.text = NULL;
        if (!*text)
            st = sk_error_set(err, SK_ENOMEM, "out of memory");
    }
    sk_llm_result_release(&res);
    return st;
}
