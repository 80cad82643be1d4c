/*
 * bench.c - prompt building and scoring for the searchqa and demo
 * benchmarks.  Model calls and files are the rollout's business
 * (rollout.c); this file only turns items into text and text into scores.
 */
#include "common.h"

#include "train/bench.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "bench/demo.h"
#include "bench/score.h"
#include "bench/searchqa.h"
#include "bench/benches.h"
#include "config/config.h"
#include "llm/llm.h"
#include "train/prompt.h"
#include "util/alloc.h"
#include "util/buf.h"

int sk_bench_skill_section(const char *skill, struct sk_buf *out)
{
    size_t start = 0, end = 0, mark = out->len;
    int rc;

    if (skill)
        sk_score_strip(skill, strlen(skill), &start, &end);
    if (end <= start)
        return SK_OK;
    rc = sk_buf_puts(out, "## Skill\n");
    if (rc == SK_OK)
        rc = sk_buf_append(out, skill + start, end - start);
    if (rc == SK_OK)
        rc = sk_buf_puts(out, "\n\n");
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

int sk_bench_item_id(const struct json_t *item, struct sk_buf *out,
                     struct sk_error *err)
{
    const json_t *id = json_object_get(item, "id");
    int rc;

    if (json_is_string(id))
        rc = sk_buf_append(out, json_string_value(id), json_string_length(id));
    else if (json_is_integer(id))
        rc = sk_buf_printf(out, "%" PRId64, (int64_t)json_integer_value(id));
    else
        return sk_error_set(err, SK_EDATA, "item has no string or integer id");
    if (rc != SK_OK)
        return sk_error_set(err, rc, "item id: %s", sk_strerror(rc));
    return SK_OK;
}

int sk_bench_render(const char *bench, const char *name,
                    const char *prompts_dir, const struct sk_prompt_var *vars,
                    size_t n, char **out, struct sk_error *err)
{
    struct sk_buf tmpl, text;
    int rc;

    *out = NULL;
    sk_buf_init(&tmpl, SK_BENCH_MAX_PROMPT);
    sk_buf_init(&text, SK_BENCH_MAX_PROMPT);
    rc = sk_prompt_lookup(name, bench, prompts_dir, &tmpl, err);
    if (rc != SK_OK)
        goto out;
    rc = sk_prompt_render(sk_buf_cstr(&tmpl), tmpl.len, vars, n, &text, err);
    if (rc != SK_OK)
        goto out;
    /* an empty prompt still comes back as a string */
    rc = sk_buf_reserve(&text, 1);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "%s/%s: %s", bench, name, sk_strerror(rc));
        goto out;
    }
    *out = sk_buf_detach(&text, NULL);
out:
    sk_buf_release(&tmpl);
    sk_buf_release(&text);
    return rc;
}

/* The system prompt of bench: its rollout_system template with the skill
 * section. */
static int build_system(const char *bench, const char *skill,
                        const char *prompts_dir, char **out,
                        struct sk_error *err)
{
    struct sk_buf sec;
    struct sk_prompt_var var;
    int rc;

    *out = NULL;
    sk_buf_init(&sec, SK_BENCH_MAX_PROMPT);
    rc = sk_bench_skill_section(skill, &sec);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "skill section: %s", sk_strerror(rc));
        goto out;
    }
    var.name = "skill_section";
    var.value = sk_buf_cstr(&sec);
    var.len = sec.len;
    rc = sk_bench_render(bench, "rollout_system", prompts_dir, &var, 1, out,
                         err);
out:
    sk_buf_release(&sec);
    return rc;
}

static int searchqa_build(const struct json_t *item, const char *skill,
                          const struct sk_bench_ctx *ctx, char **system,
                          char **user, struct sk_error *err)
{
    const char *prompts_dir = ctx ? ctx->prompts_dir : NULL;
    struct sk_searchqa_item it;
    struct sk_prompt_var vars[2];
    int rc;

    *system = NULL;
    *user = NULL;
    sk_searchqa_item_init(&it);
    rc = sk_searchqa_item_from_json(item, &it, err);
    if (rc != SK_OK)
        goto out;
    if (!it.context) {
        /* the reference fails these items when it cuts the context */
        rc = sk_error_set(err, SK_EDATA, "item %s has a null context", it.id);
        goto out;
    }
    vars[0] = sk_prompt_str("question", it.question);
    vars[1] = sk_prompt_str("context", it.context);
    rc = build_system("searchqa", skill, prompts_dir, system, err);
    if (rc == SK_OK)
        rc = sk_bench_render("searchqa", "rollout_user", prompts_dir, vars, 2,
                             user, err);
out:
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
    sk_searchqa_item_release(&it);
    return rc;
}

/* Sets key on obj to v (a new reference, NULL after a failed allocation). */
static int set_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? SK_OK : SK_ENOMEM;
}

/* A JSON array of the n strings. */
static json_t *str_array(const char *const *s, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(s[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

/* Sets the score fields shared by both benchmarks. */
static int set_scores(json_t *res, json_t *hard, double soft, double em,
                      double f1, const char *pred, const char *const *golds,
                      size_t n, const char *fail_reason)
{
    int rc = set_new(res, "em", json_real(em));
    if (rc == SK_OK)
        rc = set_new(res, "f1", json_real(f1));
    if (rc == SK_OK)
        rc = set_new(res, "hard", hard);
    else
        json_decref(hard);
    if (rc == SK_OK)
        rc = set_new(res, "soft", json_real(soft));
    if (rc == SK_OK)
        rc = set_new(res, "predicted_answer", json_string(pred));
    if (rc == SK_OK)
        rc = set_new(res, "gold_answers", str_array(golds, n));
    if (rc == SK_OK)
        rc = set_new(res, "fail_reason",
                     json_string(fail_reason ? fail_reason : ""));
    return rc;
}

static int searchqa_score(const struct json_t *item, const char *response,
                          const struct sk_bench_ctx *ctx, struct json_t *result,
                          struct sk_error *err)
{
    struct sk_searchqa_item it;
    struct sk_searchqa_result r;
    int rc;

    (void)ctx;
    sk_searchqa_item_init(&it);
    memset(&r, 0, sizeof r);
    rc = sk_searchqa_item_from_json(item, &it, err);
    if (rc != SK_OK)
        goto out;
    rc =
        sk_searchqa_evaluate(response, strlen(response),
                             (const char *const *)it.answers, it.n_answers, &r);
    if (rc == SK_OK)
        rc = set_scores(result, json_integer(r.hard), r.soft, r.em, r.f1,
                        r.predicted ? r.predicted : "",
                        (const char *const *)it.answers, it.n_answers,
                        r.fail_reason);
    if (rc == SK_OK)
        rc = set_new(result, "sub_em", json_real(r.sub_em));
    if (rc != SK_OK)
        sk_error_set(err, rc, "scoring item %s: %s", it.id, sk_strerror(rc));
out:
    sk_searchqa_result_release(&r);
    sk_searchqa_item_release(&it);
    return rc;
}

/* The demo item's id, question and gold answers (borrowed from item). */
struct demo_item {
    const char *question;
    const char **golds; /* owned array of borrowed strings */
    size_t n;
};

static int demo_item_read(const json_t *item, struct demo_item *d,
                          struct sk_error *err)
{
    const json_t *ans = json_object_get(item, "answers"), *v;
    size_t i;

    memset(d, 0, sizeof *d);
    d->question = json_string_value(json_object_get(item, "question"));
    if (!d->question)
        return sk_error_set(err, SK_EDATA, "demo item without a question");
    if (ans && !json_is_array(ans))
        return sk_error_set(err, SK_EDATA, "demo item: answers not a list");
    d->n = json_array_size(ans);
    if (d->n == 0)
        return SK_OK;
    d->golds = sk_calloc(d->n, sizeof *d->golds);
    if (!d->golds)
        return sk_error_set(err, SK_ENOMEM, "demo item: out of memory");
    json_array_foreach(ans, i, v)
    {
        d->golds[i] = json_string_value(v);
        if (!d->golds[i]) {
            sk_free(d->golds);
            d->golds = NULL;
            return sk_error_set(err, SK_EDATA,
                                "demo item: answer not a string");
        }
    }
    return SK_OK;
}

static int demo_build(const struct json_t *item, const char *skill,
                      const struct sk_bench_ctx *ctx, char **system,
                      char **user, struct sk_error *err)
{
    const char *prompts_dir = ctx ? ctx->prompts_dir : NULL;
    struct demo_item d;
    struct sk_buf id;
    struct sk_prompt_var vars[2];
    int rc;

    *system = NULL;
    *user = NULL;
    sk_buf_init(&id, 4096);
    rc = sk_bench_item_id(item, &id, err);
    if (rc == SK_OK)
        rc = demo_item_read(item, &d, err);
    if (rc != SK_OK)
        goto out;
    sk_free(d.golds);
    vars[0] = sk_prompt_str("id", sk_buf_cstr(&id));
    vars[1] = sk_prompt_str("question", d.question);
    rc = build_system("demo", skill, prompts_dir, system, err);
    if (rc == SK_OK)
        rc = sk_bench_render("demo", "rollout_user", prompts_dir, vars, 2, user,
                             err);
    if (rc != SK_OK) {
        sk_free(*system);
        *system = NULL;
    }
out:
    sk_buf_release(&id);
    return rc;
}

static int demo_score(const struct json_t *item, const char *response,
                      const struct sk_bench_ctx *ctx, struct json_t *result,
                      struct sk_error *err)
{
    struct demo_item d;
    struct sk_buf pred, why;
    double hard = 0.0, soft = 0.0, h, s;
    size_t i;
    int rc;

    (void)ctx;
    sk_buf_init(&pred, SK_BUF_UNLIMITED);
    sk_buf_init(&why, SK_BUF_UNLIMITED);
    rc = demo_item_read(item, &d, err);
    if (rc != SK_OK)
        goto out;
    rc = sk_score_extract_answer(response, strlen(response), &pred);
    /* the best gold wins: hard first, then soft */
    for (i = 0; rc == SK_OK && i < d.n; i++) {
        sk_demo_score(sk_buf_cstr(&pred), d.golds[i], &h, &s);
        if (h > hard || (h == hard && s > soft)) {
            hard = h;
            soft = s;
        }
    }
    if (rc == SK_OK && hard < 1.0) {
        rc = sk_buf_printf(&why, "EM=0: predicted '%s' but expected ",
                           sk_buf_cstr(&pred));
        if (rc == SK_OK)
            rc = sk_score_py_list_repr(d.golds, d.n, &why);
    }
    if (rc == SK_OK)
        rc = set_scores(result, json_integer(hard >= 1.0), soft, hard, soft,
                        sk_buf_cstr(&pred), d.golds, d.n, sk_buf_cstr(&why));
    if (rc != SK_OK)
        sk_error_set(err, rc, "scoring a demo item: %s", sk_strerror(rc));
    sk_free(d.golds);
out:
    sk_buf_release(&pred);
    sk_buf_release(&why);
    return rc;
}

static const struct sk_bench demo_bench = {
    .name = "demo", .build = demo_build, .score = demo_score};
static const struct sk_bench searchqa_bench = {
    .name = "searchqa", .build = searchqa_build, .score = searchqa_score};

/* Every benchmark built in; the others live in src/bench/<name>.c. */
static const struct sk_bench *const benches[] = {
    &demo_bench,        &searchqa_bench,    &sk_bench_livemath,
    &sk_bench_docvqa,   &sk_bench_officeqa, &sk_bench_spreadsheet,
    &sk_bench_alfworld, &sk_bench_external,
};

int sk_bench_preflight(const struct sk_bench *b, const struct sk_config *cfg,
                       struct sk_error *err)
{
    return b && b->preflight ? b->preflight(b, cfg, err) : SK_OK;
}

const struct sk_bench *sk_bench_find(const char *name)
{
    size_t i;

    for (i = 0; name && i < sizeof benches / sizeof benches[0]; i++)
        if (strcmp(benches[i]->name, name) == 0)
            return benches[i];
    return NULL;
}

int sk_bench_open(const struct sk_config *cfg, const struct sk_bench **out,
                  struct sk_error *err)
{
    *out = NULL;
    if (*cfg->benchmark)
        return sk_userbench_open(cfg->benchmark, cfg->env, out, err);
    *out = sk_bench_find(cfg->env);
    if (!*out)
        return sk_error_set(err, SK_ECONFIG,
                            "env.name: unknown benchmark '%s' (built in: demo, "
                            "searchqa, livemathematicianbench, docvqa, "
                            "officeqa; or describe one in YAML with "
                            "env.benchmark)",
                            cfg->env);
    return SK_OK;
}

void sk_bench_close(const struct sk_bench *b)
{
    size_t i;
    if (!b)
        return;
    for (i = 0; i < sizeof benches / sizeof benches[0]; i++)
        if (benches[i] == b)
            return; /* built in */
    sk_userbench_free(b);
}

void sk_bench_images_free(struct sk_llm_image *imgs, size_t n)
{
    size_t i;
    for (i = 0; imgs && i < n; i++)
        sk_free((void *)imgs[i].data);
    sk_free(imgs);
}
