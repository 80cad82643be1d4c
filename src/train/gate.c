/*
 * gate.c - validation gate: metric projection, semantic density, the
 * accept/reject decision and the selection cache (algorithm.md 6.1-6.3).
 * No I/O; the rollout that produces the scores happens elsewhere.
 */
#include "common.h"

#include "train/gate.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "skill/skill.h"
#include "util/alloc.h"
#include "util/buf.h"

static const char *const default_words[] = {
    "MUST",    "ALWAYS", "NEVER",  "ONLY",   "CRITICAL", "IMPORTANT",
    "RESOLVE", "PREFER", "ENSURE", "STRICT", "VERIFY"};

#define KELVIN "\xE2\x84\xAA"  /* U+212A, lowercases to ASCII 'k' */
#define I_DOT_ABOVE "\xC4\xB0" /* U+0130, lowercases to 'i' + U+0307 */

void sk_gate_opts_init(struct sk_gate_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->metric = SK_GATE_HARD;
    o->mixed_weight = 0.5;
    o->density_weight = 0.05;
}

void sk_gate_state_init(struct sk_gate_state *s)
{
    memset(s, 0, sizeof(*s));
    s->current_score = -1.0;
    s->best_score = -1.0;
    snprintf(s->current_origin, sizeof(s->current_origin), "initial_skill");
    snprintf(s->best_origin, sizeof(s->best_origin), "initial_skill");
}

int sk_gate_metric_parse(const char *name, enum sk_gate_metric *out,
                         struct sk_error *err)
{
    if (name && strcmp(name, "hard") == 0)
        *out = SK_GATE_HARD;
    else if (name && strcmp(name, "soft") == 0)
        *out = SK_GATE_SOFT;
    else if (name && strcmp(name, "mixed") == 0)
        *out = SK_GATE_MIXED;
    else
        return sk_error_set(err, SK_ECONFIG,
                            "unknown gate metric '%s'; expected 'hard', "
                            "'soft', or 'mixed'",
                            name ? name : "(null)");
    return SK_OK;
}

const char *sk_gate_metric_name(enum sk_gate_metric m)
{
    switch (m) {
    case SK_GATE_SOFT:
        return "soft";
    case SK_GATE_MIXED:
        return "mixed";
    case SK_GATE_HARD:
    default:
        return "hard";
    }
}

const char *sk_gate_action_name(enum sk_gate_action a)
{
    switch (a) {
    case SK_GATE_ACCEPT:
        return "accept";
    case SK_GATE_ACCEPT_NEW_BEST:
        return "accept_new_best";
    case SK_GATE_FORCE_ACCEPT:
        return "force_accept";
    case SK_GATE_REJECT:
    default:
        return "reject";
    }
}

/*
 * One kind's pass of the reference's block stripping, made linear: o holds
 * the kept text (never a whole start marker), in[i..n) the rest.  After a
 * cut, a start marker may straddle the seam, so the tail of o is checked
 * before searching the input.  An end marker cannot overlap a start marker
 * (it would have to begin with the start's '<'), so it is searched in the
 * input only.
 */
static int strip_kind(const char *in, size_t n, const char *sm, const char *em,
                      struct sk_buf *o)
{
    size_t ls = strlen(sm), le = strlen(em), i = 0;

    for (;;) {
        size_t tail = o->len < ls - 1 ? o->len : ls - 1;
        size_t mend = 0, q = 0, s_out = 0;
        const char *p, *e;
        int in_seam = 0;
        int rc;

        if (tail > 0) {
            char tmp[128];
            size_t k = n - i < ls - 1 ? n - i : ls - 1;
            memcpy(tmp, o->data + o->len - tail, tail);
            memcpy(tmp + tail, in + i, k);
            p = memmem(tmp, tail + k, sm, ls);
            if (p && (size_t)(p - tmp) < tail) {
                s_out = o->len - tail + (size_t)(p - tmp);
                mend = i + ls - (tail - (size_t)(p - tmp));
                in_seam = 1;
            }
        }
        if (!in_seam) {
            p = memmem(in + i, n - i, sm, ls);
            if (!p)
                return sk_buf_append(o, in + i, n - i);
            q = (size_t)(p - in);
            mend = q + ls;
        }
        if (in_seam)
            sk_buf_truncate(o, s_out);
        else if ((rc = sk_buf_append(o, in + i, q - i)) != SK_OK)
            return rc;
        e = memmem(in + mend, n - mend, em, le);
        if (!e) /* orphan start: drop the marker, stop this kind */
            return sk_buf_append(o, in + mend, n - mend);
        i = (size_t)(e - in) + le;
    }
}

/*
 * Python's lower() restricted to what can become [a-z0-9]: returns the
 * lowercase ASCII letter/digit at s[*i] and advances *i, or 0 for a
 * separator (advancing past it).  U+0130 yields 'i' and leaves its
 * combining dot to act as the next separator (*pending_sep).
 */
static char lower_alnum(const char *s, size_t n, size_t *i, int *pending_sep)
{
    unsigned char c = (unsigned char)s[*i];

    if (*pending_sep) {
        *pending_sep = 0;
        return 0; /* the U+0307 after 'i': no advance, already past it */
    }
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        (*i)++;
        return (char)c;
    }
    if (c >= 'A' && c <= 'Z') {
        (*i)++;
        return (char)(c - 'A' + 'a');
    }
    if (n - *i >= 3 && memcmp(s + *i, KELVIN, 3) == 0) {
        *i += 3;
        return 'k';
    }
    if (n - *i >= 2 && memcmp(s + *i, I_DOT_ABOVE, 2) == 0) {
        *i += 2;
        *pending_sep = 1;
        return 'i';
    }
    (*i)++;
    return 0;
}

/* Lowercased word into a new string, or NULL in *out when no token can
 * ever equal it (it holds something lower() does not map into [a-z0-9]). */
static int normalise_word(const char *w, char **out)
{
    size_t n = strlen(w), i = 0, k = 0;
    int pend = 0;
    char *r = sk_malloc(n + 1);

    *out = NULL;
    if (!r)
        return SK_ENOMEM;
    while (i < n || pend) {
        char c = lower_alnum(w, n, &i, &pend);
        if (!c) {
            sk_free(r);
            return SK_OK;
        }
        r[k++] = c;
    }
    r[k] = '\0';
    if (k == 0) {
        sk_free(r);
        return SK_OK;
    }
    *out = r;
    return SK_OK;
}

int sk_gate_density(const char *text, size_t len, const char *const *words,
                    size_t n_words, double *out)
{
    struct sk_buf a, b;
    char **norm = NULL;
    char *tok = NULL;
    size_t i, nw, total = 0, hits = 0;
    int rc = SK_OK;

    sk_buf_init(&a, SK_BUF_UNLIMITED);
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    *out = 0.0;
    if (skill_lstrip(text, len) >= len)
        return SK_OK;
    if (!words) {
        words = default_words;
        n_words = SK_ARRAY_LEN(default_words);
    }
    nw = n_words;
    norm = sk_calloc(nw + 1, sizeof(*norm));
    tok = sk_malloc(len + 1);
    if (!norm || !tok) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (i = 0; i < nw; i++)
        if ((rc = normalise_word(words[i] ? words[i] : "", &norm[i])) != SK_OK)
            goto out;
    rc = strip_kind(text, len, SK_SLOW_UPDATE_START, SK_SLOW_UPDATE_END, &a);
    if (rc == SK_OK)
        rc = strip_kind(a.data ? a.data : "", a.len, SK_APPENDIX_START,
                        SK_APPENDIX_END, &b);
    if (rc != SK_OK)
        goto out;
    {
        const char *s = b.data ? b.data : "";
        size_t n = b.len, k = 0, j;
        int pend = 0;

        i = 0;
        while (i < n || pend || k) {
            char c = (i < n || pend) ? lower_alnum(s, n, &i, &pend) : 0;
            if (c) {
                tok[k++] = c;
                continue;
            }
            if (k == 0)
                continue;
            total++;
            for (j = 0; j < nw; j++)
                if (norm[j] && strlen(norm[j]) == k &&
                    memcmp(norm[j], tok, k) == 0) {
                    hits++;
                    break;
                }
            k = 0;
        }
    }
    if (total)
        *out = (double)hits / (double)total;
out:
    if (norm)
        for (i = 0; i < nw; i++)
            sk_free(norm[i]);
    sk_free(norm);
    sk_free(tok);
    sk_buf_release(&a);
    sk_buf_release(&b);
    return rc;
}

int sk_gate_score(const struct sk_gate_opts *o, double hard, double soft,
                  const char *text, size_t len, double *out)
{
    double score, w, d;
    int rc;

    switch (o->metric) {
    case SK_GATE_SOFT:
        score = soft;
        break;
    case SK_GATE_MIXED:
        w = o->mixed_weight;
        w = w < 0.0 ? 0.0 : (w > 1.0 ? 1.0 : w);
        score = (1.0 - w) * hard + w * soft;
        break;
    case SK_GATE_HARD:
    default:
        score = hard;
        break;
    }
    if (o->use_density) {
        rc = sk_gate_density(text ? text : "", text ? len : 0, o->leading_words,
                             o->n_leading_words, &d);
        if (rc != SK_OK)
            return rc;
        score += o->density_weight * d;
    }
    *out = score;
    return SK_OK;
}

enum sk_gate_action sk_gate_decide(struct sk_gate_state *s, double c,
                                   long global_step, int use_gate,
                                   int *new_best)
{
    enum sk_gate_action a;
    int best = 0;

    if (!use_gate) {
        a = SK_GATE_FORCE_ACCEPT;
        s->current_score = c;
        if (c > s->best_score) {
            s->best_score = c;
            s->best_step = global_step;
            best = 1;
        }
    } else if (c > s->current_score) {
        s->current_score = c;
        if (c > s->best_score) {
            a = SK_GATE_ACCEPT_NEW_BEST;
            s->best_score = c;
            s->best_step = global_step;
            best = 1;
        } else {
            a = SK_GATE_ACCEPT;
        }
    } else {
        a = SK_GATE_REJECT;
    }
    if (a != SK_GATE_REJECT)
        snprintf(s->current_origin, sizeof(s->current_origin), "step_%04ld",
                 global_step);
    if (a == SK_GATE_ACCEPT_NEW_BEST ||
        (a == SK_GATE_FORCE_ACCEPT && s->best_step == global_step))
        memcpy(s->best_origin, s->current_origin, sizeof(s->best_origin));
    if (new_best)
        *new_best = best;
    return a;
}

/* ---- selection cache ------------------------------------------------ */

void sk_sel_cache_init(struct sk_sel_cache *c)
{
    memset(c, 0, sizeof(*c));
}

void sk_sel_cache_release(struct sk_sel_cache *c)
{
    size_t i;
    for (i = 0; i < c->len; i++)
        sk_free(c->items[i].hash);
    sk_free(c->items);
    sk_sel_cache_init(c);
}

static struct sk_sel_entry *find(const struct sk_sel_cache *c, const char *hash)
{
    size_t i;
    for (i = 0; i < c->len; i++)
        if (strcmp(c->items[i].hash, hash) == 0)
            return &c->items[i];
    return NULL;
}

int sk_sel_cache_put(struct sk_sel_cache *c, const char *hash, double hard,
                     double soft)
{
    struct sk_sel_entry *e = find(c, hash);
    char *key;

    if (e) {
        e->hard = hard;
        e->soft = soft;
        return SK_OK;
    }
    if (c->len == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct sk_sel_entry *n = sk_realloc(c->items, ncap * sizeof(*n));
        if (!n)
            return SK_ENOMEM;
        c->items = n;
        c->cap = ncap;
    }
    key = sk_strdup(hash);
    if (!key)
        return SK_ENOMEM;
    c->items[c->len].hash = key;
    c->items[c->len].hard = hard;
    c->items[c->len].soft = soft;
    c->len++;
    return SK_OK;
}

int sk_sel_cache_get(const struct sk_sel_cache *c, const char *hash,
                     double *hard, double *soft)
{
    const struct sk_sel_entry *e = find(c, hash);
    if (!e)
        return 0;
    if (hard)
        *hard = e->hard;
    if (soft)
        *soft = e->soft;
    return 1;
}

int sk_sel_cache_rebuild(struct sk_sel_cache *c, const struct json_t *history,
                         struct sk_error *err)
{
    size_t i;
    int rc;

    sk_sel_cache_release(c);
    if (!json_is_array(history))
        return sk_error_set(err, SK_EINVAL, "history is not a JSON array");
    for (i = 0; i < json_array_size(history); i++) {
        const json_t *row = json_array_get(history, i);
        const json_t *h = json_object_get(row, "candidate_hash");
        const json_t *sh = json_object_get(row, "selection_hard");
        const json_t *ss = json_object_get(row, "selection_soft");

        if (!json_is_object(row) || !json_is_string(h) ||
            json_string_length(h) == 0 || !json_is_number(sh))
            continue;
        rc = sk_sel_cache_put(c, json_string_value(h), json_number_value(sh),
                              json_is_number(ss) ? json_number_value(ss) : 0.0);
        if (rc != SK_OK) {
            sk_sel_cache_release(c);
            return sk_error_set(err, rc, "selection cache: out of memory");
        }
    }
    return SK_OK;
}
