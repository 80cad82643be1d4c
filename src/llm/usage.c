/*
 * usage.c - the ledger (see usage.h): per (role, stage) counters, prices
 * from a built-in table merged with the user's pricing YAML, and the run's
 * budget of reservations.  One mutex guards everything mutable.  Nothing
 * here makes a request or decides whether one is worth making.
 */
#include "common.h"

#include "llm/usage.h"

#include <jansson.h>
#include <libfyaml.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/yaml.h"
#include "util/alloc.h"
#include "util/fs.h"

#define PRICING_MAX_BYTES (1u << 20)

struct price_row {
    const char *name;
    struct sk_price price;
};

/*
 * List prices in USD per million tokens (input, cached input, output) as
 * of 2026.  They change: users override or extend them with llm.pricing.
 * Dated variants (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929) match by
 * longest prefix, so the smaller siblings that would otherwise match a
 * dearer prefix (o3-mini under o3) are listed too.
 */
static const struct price_row builtin_prices[] = {
    {"gpt-4o", {2.5, 1.25, 10}},
    {"gpt-4o-mini", {0.15, 0.075, 0.6}},
    {"gpt-4.1", {2, 0.5, 8}},
    {"gpt-4.1-mini", {0.4, 0.1, 1.6}},
    {"gpt-4.1-nano", {0.1, 0.025, 0.4}},
    {"o3", {2, 0.5, 8}},
    {"o3-mini", {1.1, 0.55, 4.4}},
    {"o4-mini", {1.1, 0.275, 4.4}},
    {"gpt-5", {1.25, 0.125, 10}},
    {"gpt-5-mini", {0.25, 0.025, 2}},
    {"gpt-5-nano", {0.05, 0.005, 0.4}},
    {"claude-sonnet-4-5", {3, 0.3, 15}},
    {"claude-sonnet-4-6", {3, 0.3, 15}},
    {"claude-opus-4-1", {15, 1.5, 75}},
    {"claude-haiku-4-5", {1, 0.1, 5}},
    {"sim-", {0, 0, 0}}, /* the built-in simulator: free */
};

struct user_price {
    char *name;
    struct sk_price price;
};

struct stage_row {
    int role;
    char *stage;
    struct sk_stage_usage u;
};

struct reservation {
    uint64_t ticket; /* 0: free slot */
    uint64_t prompt_est, completion_max;
    uint64_t tokens; /* prompt_est + completion_max */
    double cost;     /* at the model's price; 0 when unknown */
};

struct sk_ledger {
    pthread_mutex_t lock;
    double max_cost;     /* 0: no cap */
    uint64_t max_tokens; /* 0: no cap */
    struct user_price *user;
    size_t n_user;
    /* budget state */
    double spent_cost;
    uint64_t spent_tokens;
    double reserved_cost;
    uint64_t reserved_tokens;
    struct reservation *res;
    size_t n_res, cap_res;
    uint64_t next_ticket;
    /* accounting, in first-use order */
    struct stage_row *rows;
    size_t n_rows, cap_rows;
};

/* ---- prices ------------------------------------------------------------ */

/*
 * name matches model as a prefix when it is all of it, or is followed by
 * '-' in model (so "o3" does not price "o3x"), or itself ends in '-'.
 */
static size_t prefix_len(const char *name, const char *model)
{
    size_t n = strlen(name);
    if (n == 0 || strncmp(name, model, n) != 0)
        return 0;
    if (model[n] == '\0' || model[n] == '-' || name[n - 1] == '-')
        return n;
    return 0;
}

static int find_price(const struct sk_ledger *l, const char *model,
                      struct sk_price *out)
{
    size_t i, best = 0, n;
    const struct sk_price *p = NULL;

    if (!model || !*model)
        return SK_ENOTFOUND;
    /* user entries first, so that they win ties with the built-ins */
    for (i = 0; l && i < l->n_user; i++) {
        n = prefix_len(l->user[i].name, model);
        if (n > best) {
            best = n;
            p = &l->user[i].price;
        }
    }
    for (i = 0; i < SK_ARRAY_LEN(builtin_prices); i++) {
        n = prefix_len(builtin_prices[i].name, model);
        if (n > best) {
            best = n;
            p = &builtin_prices[i].price;
        }
    }
    if (!p)
        return SK_ENOTFOUND;
    *out = *p;
    return SK_OK;
}

/* Returns SK_OK, or SK_ENOTFOUND with *out zeroed. */
int sk_ledger_price(const struct sk_ledger *l, const char *model,
                    struct sk_price *out)
{
    memset(out, 0, sizeof *out);
    return find_price(l, model, out);
}

static double usage_cost(const struct sk_price *p, uint64_t prompt,
                         uint64_t cached, uint64_t completion)
{
    uint64_t fresh = prompt > cached ? prompt - cached : 0;
    if (cached > prompt)
        cached = prompt;
    return ((double)fresh * p->input_per_mtok +
            (double)cached * p->cached_per_mtok +
            (double)completion * p->output_per_mtok) /
           1e6;
}

/* ---- pricing YAML ------------------------------------------------------ */

/* path:line:col of a scalar node (libfyaml gives no marks for the others:
 * then just the path). */
static void node_loc(const char *path, struct fy_node *n, char *buf,
                     size_t size)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    if (m)
        snprintf(buf, size, "%s:%d:%d", path, m->line + 1, m->column + 1);
    else
        snprintf(buf, size, "%s", path);
}

static int scalar_is(struct fy_node *n, const char *s)
{
    size_t len = 0;
    const char *t = fy_node_get_scalar(n, &len);
    return t && len == strlen(s) && memcmp(t, s, len) == 0;
}

static int read_number(const char *path, struct fy_node *v, const char *what,
                       double *out, struct sk_error *err)
{
    char loc[1024], text[64], *end;
    size_t len = 0;
    const char *t;
    double d;

    node_loc(path, v, loc, sizeof loc);
    if (!v || !fy_node_is_scalar(v))
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %s: expected a number of USD per million "
                            "tokens",
                            loc, what);
    t = fy_node_get_scalar(v, &len);
    if (!t || len == 0 || len >= sizeof text)
        return sk_error_set(err, SK_ECONFIG, "%s: %s: expected a number", loc,
                            what);
    memcpy(text, t, len);
    text[len] = '\0';
    d = strtod(text, &end);
    if (*end != '\0' || !isfinite(d) || d < 0)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %s: '%s' is not a non-negative number", loc,
                            what, text);
    *out = d;
    return SK_OK;
}

/* Adds or replaces a user price. */
static int put_user_price(struct sk_ledger *l, const char *name, size_t len,
                          const struct sk_price *p)
{
    struct user_price *grown;
    size_t i;
    for (i = 0; i < l->n_user; i++)
        if (strlen(l->user[i].name) == len &&
            memcmp(l->user[i].name, name, len) == 0) {
            l->user[i].price = *p;
            return SK_OK;
        }
    grown = sk_realloc(l->user, (l->n_user + 1) * sizeof *grown);
    if (!grown)
        return SK_ENOMEM;
    l->user = grown;
    l->user[l->n_user].name = sk_strndup(name, len);
    if (!l->user[l->n_user].name)
        return SK_ENOMEM;
    l->user[l->n_user].price = *p;
    l->n_user++;
    return SK_OK;
}

static int read_model(struct sk_ledger *l, const char *path, struct fy_node *k,
                      struct fy_node *v, struct sk_error *err)
{
    char loc[1024];
    void *it = NULL;
    struct fy_node_pair *p;
    struct sk_price price;
    int have_in = 0, have_cached = 0, have_out = 0, rc;
    size_t len = 0;
    const char *name;

    node_loc(path, k, loc, sizeof loc);
    name = fy_node_is_scalar(k) ? fy_node_get_scalar(k, &len) : NULL;
    if (!name || len == 0)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: model names must be plain text", loc);
    if (!v || !fy_node_is_mapping(v))
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %.*s: expected {input: X, cached_input: Y, "
                            "output: Z}",
                            loc, (int)len, name);
    memset(&price, 0, sizeof price);
    while ((p = fy_node_mapping_iterate(v, &it)) != NULL) {
        struct fy_node *pk = fy_node_pair_key(p), *pv = fy_node_pair_value(p);
        if (pk && fy_node_is_scalar(pk) && scalar_is(pk, "input")) {
            rc = read_number(path, pv, "input", &price.input_per_mtok, err);
            have_in = 1;
        } else if (pk && fy_node_is_scalar(pk) &&
                   scalar_is(pk, "cached_input")) {
            rc = read_number(path, pv, "cached_input", &price.cached_per_mtok,
                             err);
            have_cached = 1;
        } else if (pk && fy_node_is_scalar(pk) && scalar_is(pk, "output")) {
            rc = read_number(path, pv, "output", &price.output_per_mtok, err);
            have_out = 1;
        } else {
            size_t kl = 0;
            const char *ks =
                pk && fy_node_is_scalar(pk) ? fy_node_get_scalar(pk, &kl) : "";
            node_loc(path, pk, loc, sizeof loc);
            return sk_error_set(err, SK_ECONFIG,
                                "%s: %.*s: unknown key '%.*s' (expected "
                                "input, cached_input, output)",
                                loc, (int)len, name, (int)kl, ks ? ks : "");
        }
        if (rc != SK_OK)
            return rc;
    }
    if (!have_in || !have_out)
        return sk_error_set(err, SK_ECONFIG,
                            "%s: %.*s: both input and output prices are "
                            "required",
                            loc, (int)len, name);
    /* no cached price: the provider gives no discount */
    if (!have_cached)
        price.cached_per_mtok = price.input_per_mtok;
    if (put_user_price(l, name, len, &price) != SK_OK)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    return SK_OK;
}

static int parse_pricing(struct sk_ledger *l, const char *path,
                         const char *text, size_t len, struct sk_error *err)
{
    struct fy_document *doc = NULL;
    struct fy_node *root, *models = NULL;
    struct fy_node_pair *p;
    void *it = NULL;
    char loc[1024];
    int rc = SK_OK;

    rc = sk_yaml_parse(path, text, len, &doc, err);
    if (rc != SK_OK)
        goto out;
    root = fy_document_root(doc);
    if (!root || (fy_node_is_scalar(root) && fy_node_is_null(root)))
        goto out; /* an empty file adds nothing */
    if (!fy_node_is_mapping(root)) {
        node_loc(path, root, loc, sizeof loc);
        rc = sk_error_set(err, SK_ECONFIG,
                          "%s: expected a mapping with a 'models' key", loc);
        goto out;
    }
    while ((p = fy_node_mapping_iterate(root, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        if (k && fy_node_is_scalar(k) && scalar_is(k, "models")) {
            models = fy_node_pair_value(p);
            if (models && !fy_node_is_mapping(models) &&
                !(fy_node_is_scalar(models) && fy_node_is_null(models))) {
                node_loc(path, k, loc, sizeof loc);
                rc = sk_error_set(err, SK_ECONFIG,
                                  "%s: models: expected a mapping of model "
                                  "names to prices",
                                  loc);
                goto out;
            }
        } else {
            size_t kl = 0;
            const char *ks =
                k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &kl) : "";
            node_loc(path, k, loc, sizeof loc);
            rc = sk_error_set(err, SK_ECONFIG,
                              "%s: unknown key '%.*s' (expected 'models')", loc,
                              (int)kl, ks ? ks : "");
            goto out;
        }
    }
    if (!models || !fy_node_is_mapping(models))
        goto out;
    it = NULL;
    while ((p = fy_node_mapping_iterate(models, &it)) != NULL) {
        rc = read_model(l, path, fy_node_pair_key(p), fy_node_pair_value(p),
                        err);
        if (rc != SK_OK)
            goto out;
    }
out:
    if (doc)
        fy_document_destroy(doc);
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

int sk_ledger_new(const char *pricing_path, double max_cost_usd,
                  uint64_t max_tokens, struct sk_ledger **out,
                  struct sk_error *err)
{
    struct sk_ledger *l;
    struct sk_buf text;
    int rc;

    *out = NULL;
    if (!isfinite(max_cost_usd) || max_cost_usd < 0)
        return sk_error_set(err, SK_ECONFIG,
                            "llm.max_cost_usd must be a non-negative number");
    l = sk_calloc(1, sizeof *l);
    if (!l)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    if (pthread_mutex_init(&l->lock, NULL) != 0) {
        sk_free(l);
        return sk_error_set(err, SK_ENOMEM, "ledger: no mutex");
    }
    l->max_cost = max_cost_usd;
    l->max_tokens = max_tokens;
    l->next_ticket = 1;
    if (pricing_path && *pricing_path) {
        sk_buf_init(&text, PRICING_MAX_BYTES);
        rc = sk_fs_read(pricing_path, PRICING_MAX_BYTES, &text, err);
        if (rc == SK_OK)
            rc = parse_pricing(l, pricing_path, sk_buf_cstr(&text), text.len,
                               err);
        sk_buf_release(&text);
        if (rc != SK_OK) {
            sk_ledger_free(l);
            return rc;
        }
    }
    *out = l;
    return SK_OK;
}

void sk_ledger_free(struct sk_ledger *l)
{
    size_t i;
    if (!l)
        return;
    for (i = 0; i < l->n_user; i++)
        sk_free(l->user[i].name);
    sk_free(l->user);
    for (i = 0; i < l->n_rows; i++)
        sk_free(l->rows[i].stage);
    sk_free(l->rows);
    sk_free(l->res);
    pthread_mutex_destroy(&l->lock);
    sk_free(l);
}

/* ---- budget ------------------------------------------------------------- */

/* Dollars with cents; amounts under a cent get more digits, so that a
 * small non-zero spend never reads as $0.00. */
static void fmt_usd(char *buf, size_t size, double v)
{
    snprintf(buf, size, v >= 0.01 || v == 0 ? "$%.2f" : "$%.4f", v);
}

/* a > b, ignoring the rounding noise of summing many small products. */
static int cost_exceeds(double a, double b)
{
    return a > b + 1e-9 * (b > 1 ? b : 1);
}

static struct reservation *new_reservation(struct sk_ledger *l)
{
    size_t i;
    for (i = 0; i < l->n_res; i++)
        if (l->res[i].ticket == 0)
            return &l->res[i];
    if (l->n_res == l->cap_res) {
        size_t cap = l->cap_res ? l->cap_res * 2 : 16;
        struct reservation *grown = sk_realloc(l->res, cap * sizeof *grown);
        if (!grown)
            return NULL;
        l->res = grown;
        l->cap_res = cap;
    }
    return &l->res[l->n_res++];
}

/*
 * Refuses (SK_LLM_EBUDGET, nothing reserved) when spent + reserved + this
 * request's worst case would pass a cap; a request that lands exactly on
 * a cap is allowed.  With a cost cap, a model without a price is refused.
 */
int sk_ledger_reserve(struct sk_ledger *l, const char *model,
                      uint64_t est_prompt_tokens, uint64_t max_completion,
                      uint64_t *ticket, struct sk_error *err)
{
    struct sk_price price;
    struct reservation *r;
    uint64_t tokens = est_prompt_tokens + max_completion;
    double cost = 0;
    int priced, rc = SK_OK;

    *ticket = 0;
    priced = find_price(l, model, &price) == SK_OK;
    if (priced)
        cost = usage_cost(&price, est_prompt_tokens, 0, max_completion);
    pthread_mutex_lock(&l->lock);
    if (l->max_cost > 0 && !priced) {
        rc = sk_error_set(err, SK_LLM_EBUDGET,
                          "budget: no price for model %s: add it to "
                          "llm.pricing or remove llm.max_cost_usd",
                          model && *model ? model : "(unnamed)");
        goto out;
    }
    if (l->max_tokens > 0 &&
        l->spent_tokens + l->reserved_tokens + tokens > l->max_tokens) {
        rc = sk_error_set(
            err, SK_LLM_EBUDGET,
            "budget: this request could bring the run to %llu tokens of its "
            "%llu-token cap (spent %llu, reserved %llu)",
            (unsigned long long)(l->spent_tokens + l->reserved_tokens + tokens),
            (unsigned long long)l->max_tokens,
            (unsigned long long)l->spent_tokens,
            (unsigned long long)l->reserved_tokens);
        goto out;
    }
    if (l->max_cost > 0 &&
        cost_exceeds(l->spent_cost + l->reserved_cost + cost, l->max_cost)) {
        char total[32], cap[32], spent[32], reserved[32];
        fmt_usd(total, sizeof total, l->spent_cost + l->reserved_cost + cost);
        fmt_usd(cap, sizeof cap, l->max_cost);
        fmt_usd(spent, sizeof spent, l->spent_cost);
        fmt_usd(reserved, sizeof reserved, l->reserved_cost);
        rc = sk_error_set(err, SK_LLM_EBUDGET,
                          "budget: this request could bring the run to %s of "
                          "its %s cap (spent %s, reserved %s)",
                          total, cap, spent, reserved);
        goto out;
    }
    r = new_reservation(l);
    if (!r) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    r->ticket = l->next_ticket++;
    r->prompt_est = est_prompt_tokens;
    r->completion_max = max_completion;
    r->tokens = tokens;
    r->cost = cost;
    l->reserved_tokens += tokens;
    l->reserved_cost += cost;
    *ticket = r->ticket;
out:
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* Finds or appends the row of (role, stage); NULL on SK_ENOMEM. */
static struct stage_row *stage_row(struct sk_ledger *l, int role,
                                   const char *stage)
{
    struct stage_row *r;
    size_t i;
    if (!stage)
        stage = "unknown";
    for (i = 0; i < l->n_rows; i++)
        if (l->rows[i].role == role && strcmp(l->rows[i].stage, stage) == 0)
            return &l->rows[i];
    if (l->n_rows == l->cap_rows) {
        size_t cap = l->cap_rows ? l->cap_rows * 2 : 8;
        struct stage_row *grown = sk_realloc(l->rows, cap * sizeof *grown);
        if (!grown)
            return NULL;
        l->rows = grown;
        l->cap_rows = cap;
    }
    r = &l->rows[l->n_rows];
    memset(r, 0, sizeof *r);
    r->role = role;
    r->stage = sk_strdup(stage);
    if (!r->stage)
        return NULL;
    l->n_rows++;
    return r;
}

/*
 * Releases the reservation (an unknown ticket, e.g. 0, releases nothing)
 * and charges the real usage.  A successful reply without usage is charged
 * the reservation's worst case (prompt estimate + completion cap) and
 * counted in usage_estimated, so the budget never under-counts; a failed
 * call is charged only the tokens it reports.  Counting is best effort: if
 * a new stage row cannot be allocated the budget is still charged.
 */
void sk_ledger_settle(struct sk_ledger *l, uint64_t ticket, enum sk_role role,
                      const char *stage, const char *model,
                      const struct sk_llm_result *res)
{
    struct reservation *rv = NULL;
    struct stage_row *row;
    struct sk_price price;
    uint64_t prompt = res->usage.prompt_tokens;
    uint64_t completion = res->usage.completion_tokens;
    uint64_t cached = res->usage.cached_tokens;
    uint64_t reasoning = res->usage.reasoning_tokens;
    int priced = find_price(l, model, &price) == SK_OK;
    int estimated = 0;
    double cost;
    size_t i;

    pthread_mutex_lock(&l->lock);
    for (i = 0; ticket != 0 && i < l->n_res; i++)
        if (l->res[i].ticket == ticket) {
            rv = &l->res[i];
            break;
        }
    if (rv) {
        l->reserved_tokens -= rv->tokens;
        l->reserved_cost -= rv->cost;
        if (l->reserved_cost < 0 || l->reserved_tokens == 0)
            l->reserved_cost = 0; /* no drift once nothing is reserved */
    }
    if (res->status == SK_OK && !res->usage.usage_known && rv) {
        prompt = rv->prompt_est;
        completion = rv->completion_max;
        cached = reasoning = 0;
        estimated = 1;
    } else if (!res->usage.usage_known) {
        prompt = completion = cached = reasoning = 0;
    }
    if (rv)
        rv->ticket = 0;
    cost = priced ? usage_cost(&price, prompt, cached, completion) : 0;
    l->spent_tokens += prompt + completion;
    l->spent_cost += cost;
    row = stage_row(l, (int)role, stage);
    if (row) {
        row->u.calls++;
        if (res->status != SK_OK)
            row->u.errors++;
        if (res->attempts > 1)
            row->u.retries += (uint64_t)(res->attempts - 1);
        row->u.prompt_tokens += prompt;
        row->u.completion_tokens += completion;
        row->u.cached_tokens += cached;
        row->u.reasoning_tokens += reasoning;
        row->u.usage_estimated += (uint64_t)estimated;
        row->u.latency_s += res->latency_s;
        row->u.cost_usd += cost;
        if (!priced)
            row->u.cost_unknown = 1;
    }
    pthread_mutex_unlock(&l->lock);
}

/*
 * A hit sends no request: it is counted in cache_hits only, adds no calls,
 * tokens or cost, and does not touch the budget.
 */
void sk_ledger_cache_hit(struct sk_ledger *l, enum sk_role role,
                         const char *stage, const struct sk_llm_result *res)
{
    struct stage_row *row;
    (void)res;
    pthread_mutex_lock(&l->lock);
    row = stage_row(l, (int)role, stage);
    if (row)
        row->u.cache_hits++;
    pthread_mutex_unlock(&l->lock);
}

/* ---- reports ------------------------------------------------------------ */

static void add_usage(struct sk_stage_usage *to, const struct sk_stage_usage *u)
{
    to->calls += u->calls;
    to->errors += u->errors;
    to->cache_hits += u->cache_hits;
    to->retries += u->retries;
    to->prompt_tokens += u->prompt_tokens;
    to->completion_tokens += u->completion_tokens;
    to->cached_tokens += u->cached_tokens;
    to->reasoning_tokens += u->reasoning_tokens;
    to->usage_estimated += u->usage_estimated;
    to->latency_s += u->latency_s;
    to->cost_usd += u->cost_usd;
    to->cost_unknown |= u->cost_unknown;
}

static void get_locked(const struct sk_ledger *l, int role, const char *stage,
                       struct sk_stage_usage *out)
{
    size_t i;
    memset(out, 0, sizeof *out);
    for (i = 0; i < l->n_rows; i++) {
        if (role != SK_ROLE_COUNT && l->rows[i].role != role)
            continue;
        if (stage && strcmp(l->rows[i].stage, stage) != 0)
            continue;
        add_usage(out, &l->rows[i].u);
    }
}

void sk_ledger_get(const struct sk_ledger *l, int role, const char *stage,
                   struct sk_stage_usage *out)
{
    /* the lock is state, not value: locking does not change the ledger */
    pthread_mutex_t *lock = (pthread_mutex_t *)&l->lock;
    pthread_mutex_lock(lock);
    get_locked(l, role, stage, out);
    pthread_mutex_unlock(lock);
}

static json_t *usage_json(const struct sk_stage_usage *u)
{
    json_t *o = json_object();
    int bad = !o;
    /* rounded to a micro-dollar / microsecond so that sums print cleanly */
    double cost = round(u->cost_usd * 1e6) / 1e6;
    double lat = round(u->latency_s * 1e6) / 1e6;

#define PUT(k, v) bad |= !o || json_object_set_new(o, k, v) != 0
    PUT("calls", json_integer((json_int_t)u->calls));
    PUT("prompt_tokens", json_integer((json_int_t)u->prompt_tokens));
    PUT("completion_tokens", json_integer((json_int_t)u->completion_tokens));
    PUT("total_tokens",
        json_integer((json_int_t)(u->prompt_tokens + u->completion_tokens)));
    PUT("cached_tokens", json_integer((json_int_t)u->cached_tokens));
    PUT("reasoning_tokens", json_integer((json_int_t)u->reasoning_tokens));
    PUT("cache_hits", json_integer((json_int_t)u->cache_hits));
    PUT("retries", json_integer((json_int_t)u->retries));
    PUT("errors", json_integer((json_int_t)u->errors));
    PUT("usage_estimated", json_integer((json_int_t)u->usage_estimated));
    PUT("latency_s", json_real(lat));
    PUT("cost_usd", u->cost_unknown ? json_null() : json_real(cost));
#undef PUT
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * Stages are merged across roles and listed in first-use order, then
 * "_total".  Appends to out; SK_ENOMEM or SK_ETOOBIG leave out unchanged.
 */
int sk_ledger_summary_json(const struct sk_ledger *l, struct sk_buf *out)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&l->lock;
    json_t *root = json_object(), *o;
    struct sk_stage_usage u;
    char *text = NULL;
    size_t i, j;
    int rc = SK_OK;

    if (!root)
        return SK_ENOMEM;
    pthread_mutex_lock(lock);
    for (i = 0; i < l->n_rows && rc == SK_OK; i++) {
        const char *stage = l->rows[i].stage;
        for (j = 0; j < i; j++)
            if (strcmp(l->rows[j].stage, stage) == 0)
                break;
        if (j < i)
            continue; /* listed with its first row */
        get_locked(l, SK_ROLE_COUNT, stage, &u);
        o = usage_json(&u);
        if (!o || json_object_set_new(root, stage, o) != 0)
            rc = SK_ENOMEM;
    }
    if (rc == SK_OK) {
        get_locked(l, SK_ROLE_COUNT, NULL, &u);
        o = usage_json(&u);
        if (!o || json_object_set_new(root, "_total", o) != 0)
            rc = SK_ENOMEM;
    }
    pthread_mutex_unlock(lock);
    if (rc == SK_OK) {
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                    JSON_REAL_PRECISION(12));
        if (!text)
            rc = SK_ENOMEM;
    }
    if (rc == SK_OK)
        rc = sk_buf_puts(out, text);
    sk_free(text);
    json_decref(root);
    return rc;
}
