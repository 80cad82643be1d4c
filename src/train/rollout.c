/*
 * rollout.c - one rollout pass: resume from results.jsonl, one batch of
 * target calls for the rest, scoring through the benchmark table, and the
 * per-item records.  It does not decide what to do with a failed run; it
 * reports statuses and counts to the trainer.
 */
#include "common.h"

#include "train/rollout.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/score.h"
#include "llm/client.h"
#include "train/bench.h"
#include "train/rundir.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"

/* Bytes of an id kept before the hash suffix when it must be rewritten. */
#define ID_KEEP 64
#define ID_MAX_PLAIN 100

static int id_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int sk_rollout_pred_dir(const char *id, struct sk_buf *out)
{
    size_t n = strlen(id), i, mark = out->len;
    char hex[17];
    int plain = n > 0 && n <= ID_MAX_PLAIN && id[0] != '.', rc;

    for (i = 0; plain && i < n; i++)
        plain = id_char_ok((unsigned char)id[i]);
    if (plain)
        return sk_buf_append(out, id, n);
    rc = sk_text_hash16(id, n, hex);
    for (i = 0; rc == SK_OK && i < n && i < ID_KEEP; i++)
        rc = sk_buf_putc(
            out, (id_char_ok((unsigned char)id[i]) && !(i == 0 && id[i] == '.'))
                     ? id[i]
                     : '_');
    if (rc == SK_OK)
        rc = sk_buf_printf(out, "-%s", hex);
    if (rc != SK_OK)
        sk_buf_truncate(out, mark);
    return rc;
}

/* Per-item state of one run. */
struct slot {
    char *id;     /* str(item["id"]) */
    json_t *row;  /* result row (owned) once known */
    char *system; /* prompts, when the item is sent */
    char *user;
    struct sk_llm_image *imgs; /* images sent with the user message */
    size_t n_imgs;
    char *dir;   /* predictions/<dir>/ of a sent item (made by prepare) */
    int sent;    /* index into the batch + 1, 0 when not sent */
    int persist; /* append the row to results.jsonl */
    /* episodes (bench->episode) */
    char *final;        /* the episode's last reply */
    char *verification; /* the episode's own verification turn, or NULL */
    json_t *turns;      /* its turns for conversation.json */
    int ep_status;      /* SK_OK or the failed call's status */
    struct sk_error ep_err;
};

/* The skeleton row with the reference's defaults, keys in their order. */
static json_t *base_row(const struct sk_bench *bench, const json_t *item,
                        const char *id)
{
    const char *q = json_string_value(json_object_get(item, "question"));
    const char *type = json_string_value(json_object_get(item, "task_type"));
    const json_t *golds = json_object_get(item, "answers");
    json_t *row;

    if (!type)
        type = json_string_value(json_object_get(item, "family"));
    row = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:i, s:f, s:s, s:o, "
                    "s:s, s:s, s:b, s:i}",
                    "id", id, "question", q ? q : "", "task_type",
                    type ? type : bench->name, "task_description", q ? q : "",
                    "em", 0.0, "f1", 0.0, "hard", 0, "soft", 0.0,
                    "predicted_answer", "", "gold_answers",
                    json_is_array(golds) ? json_deep_copy(golds) : json_array(),
                    "response", "", "fail_reason", "", "agent_ok", 0, "n_turns",
                    0);
    return row;
}

/* Turns row into an error row with fail_reason "error: msg". */
static int mark_error(json_t *row, const char *msg)
{
    struct sk_buf b;
    int rc;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_buf_printf(&b, "error: %s", msg);
    if (rc == SK_OK && json_object_set_new(row, "fail_reason",
                                           json_string(sk_buf_cstr(&b))) != 0)
        rc = SK_ENOMEM;
    sk_buf_release(&b);
    return rc;
}

/* The verification report appended to the conversation after scoring. */
static int verification(const json_t *row, struct sk_buf *out)
{
    const json_t *golds = json_object_get(row, "gold_answers"), *v;
    const char *pred =
        json_string_value(json_object_get(row, "predicted_answer"));
    const char **g = NULL;
    char num[32];
    size_t n = json_array_size(golds), i;
    int rc;

    if (n) {
        g = sk_calloc(n, sizeof *g);
        if (!g)
            return SK_ENOMEM;
    }
    json_array_foreach(golds, i, v) g[i] =
        json_is_string(v) ? json_string_value(v) : "";
    rc = sk_buf_printf(out,
                       "Scoring of this answer against the gold answers\n"
                       "Question: %s\nPredicted answer: ",
                       json_string_value(json_object_get(row, "question")));
    if (rc == SK_OK)
        rc = sk_score_py_repr(pred ? pred : "", pred ? strlen(pred) : 0, out);
    if (rc == SK_OK)
        rc = sk_buf_puts(out, "\nGold answers: ");
    if (rc == SK_OK)
        rc = sk_score_py_list_repr(g, n, out);
    sk_py_float_repr(json_number_value(json_object_get(row, "em")), num,
                     sizeof num);
    if (rc == SK_OK && json_is_number(json_object_get(row, "anls")))
        rc = sk_buf_printf(out, "\nANLS: %.4f (exact when at least 0.999)",
                           json_number_value(json_object_get(row, "anls")));
    else if (rc == SK_OK)
        rc = sk_buf_printf(out, "\nExact match: %s\nF1: %.4f", num,
                           json_number_value(json_object_get(row, "f1")));
    sk_free(g);
    return rc;
}

/* Writes text to dir/name. */
static int write_text(const char *dir, const char *name, const char *text,
                      struct sk_error *err)
{
    char *p = sk_fs_join(dir, name);
    int rc;

    if (!p)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    /* made durable with results.jsonl (append_rows) */
    rc = sk_fs_write_atomic_nosync(p, text, strlen(text), err);
    sk_free(p);
    return rc;
}

/* Assistant turns of an episode (its n_turns). */
static size_t assistant_turns(const json_t *turns)
{
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(turns, i, t)
    {
        const char *r = json_string_value(json_object_get(t, "role"));
        n += r && strcmp(r, "assistant") == 0;
    }
    return n;
}

/*
 * Writes the item's prompts into its predictions directory and, when
 * response is given, scores it into row and writes conversation.json.
 */
static int record_item(const struct sk_bench *bench,
                       const struct sk_bench_ctx *ctx, const json_t *item,
                       struct slot *s, const char *response,
                       struct sk_error *err)
{
    struct sk_buf d, ver;
    const char *dir = s->dir;
    const char *fr;
    json_t *conv = NULL;
    int rc;

    sk_buf_init(&d, SK_BUF_UNLIMITED);
    sk_buf_init(&ver, SK_BUF_UNLIMITED);
    rc = write_text(dir, "target_system_prompt.txt", s->system, err);
    if (rc == SK_OK)
        rc = write_text(dir, "target_user_prompt.txt", s->user, err);
    if (rc != SK_OK)
        goto out;
    if (!response) {
        /* an episode that failed for its own reason keeps its turns */
        if (!s->persist || !s->turns)
            goto out;
        fr = json_string_value(json_object_get(s->row, "fail_reason"));
        rc = SK_ENOMEM;
        conv = json_deep_copy(s->turns);
        if (!conv || json_array_append_new(conv, json_pack("{s:s, s:s}", "role",
                                                           "system", "content",
                                                           fr ? fr : "")) != 0)
            goto oom;
        if (json_object_set_new(
                s->row, "n_turns",
                json_integer((json_int_t)assistant_turns(s->turns))))
            goto oom;
        goto write;
    }
    rc = bench->score(item, response, ctx, s->row, err);
    if (rc != SK_OK)
        goto out;
    rc = SK_ENOMEM;
    if (json_object_set_new(s->row, "response", json_string(response)) ||
        json_object_set_new(s->row, "agent_ok", json_true()) ||
        json_object_set_new(
            s->row, "n_turns",
            json_integer(s->turns ? (json_int_t)assistant_turns(s->turns) : 1)))
        goto oom;
    if ((s->verification ? sk_buf_puts(&ver, s->verification)
         : bench->verify ? bench->verify(item, s->row, ctx, &ver)
                         : verification(s->row, &ver)) != SK_OK)
        goto oom;
    if (s->turns) {
        /* the episode's turns, then the verification turn */
        conv = json_deep_copy(s->turns);
        if (!conv || json_array_append_new(
                         conv, json_pack("{s:s, s:s}", "role", "system",
                                         "content", sk_buf_cstr(&ver))) != 0)
            goto oom;
    } else {
        conv = json_pack("[{s:s, s:i, s:s}, {s:s, s:s}]", "role", "assistant",
                         "turn", 1, "content", response, "role", "system",
                         "content", sk_buf_cstr(&ver));
    }
write:
    if (!conv || sk_json_dump_py(conv, 2, &d) != SK_OK)
        goto oom;
    rc = write_text(dir, "conversation.json", sk_buf_cstr(&d), err);
    goto out;
oom:
    sk_error_set(err, rc, "out of memory");
out:
    json_decref(conv);
    sk_buf_release(&d);
    sk_buf_release(&ver);
    return rc;
}

/*
 * Makes sure results.jsonl belongs to this skill and benchmark (deleting it
 * otherwise) and records both in rollout_meta.json.
 */
static int check_meta(const char *out_dir, const char *bench, const char *skill,
                      const char *results_path, struct sk_error *err)
{
    char hex[17], *path = sk_fs_join(out_dir, SK_ROLLOUT_META);
    json_t *meta = NULL, *fresh = NULL;
    const char *h, *b;
    int rc;

    if (!path)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    rc = sk_text_hash16(skill, strlen(skill), hex);
    if (rc != SK_OK) {
        sk_error_set(err, rc, "out of memory");
        goto out;
    }
    rc = sk_json_read_file(path, &meta, err);
    if (rc != SK_OK && rc != SK_ENOTFOUND && rc != SK_EPARSE)
        goto out;
    h = json_string_value(json_object_get(meta, "skill_hash"));
    b = json_string_value(json_object_get(meta, "benchmark"));
    if (h && b && strcmp(h, hex) == 0 && strcmp(b, bench) == 0) {
        rc = SK_OK;
        goto out;
    }
    if (sk_fs_exists(results_path)) {
        sk_warn("%s: made with another skill or benchmark (or unknown); "
                "discarding it",
                results_path);
        if (unlink(results_path) != 0) {
            rc = sk_error_set(err, SK_EIO, "%s: %s", results_path,
                              strerror(errno));
            goto out;
        }
    }
    fresh = json_pack("{s:s, s:s}", "skill_hash", hex, "benchmark", bench);
    if (!fresh) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = sk_json_write_file(path, fresh, err);
out:
    json_decref(meta);
    json_decref(fresh);
    sk_free(path);
    return rc;
}

/*
 * Reads results.jsonl into cache (id -> first row with that id).  Lines
 * that do not parse (a torn last line) or lack a string id are skipped.
 * *nl_missing is set when the file does not end in a newline.
 */
static int load_cache(const char *path, json_t *cache, int *nl_missing,
                      struct sk_error *err)
{
    struct sk_buf b;
    const char *p, *end, *e;
    int rc;

    *nl_missing = 0;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    rc = sk_fs_read(path, SK_ROLLOUT_MAX_RESULTS, &b, err);
    if (rc == SK_ENOTFOUND) {
        rc = SK_OK;
        goto out;
    }
    if (rc != SK_OK)
        goto out;
    *nl_missing = b.len > 0 && b.data[b.len - 1] != '\n';
    p = sk_buf_cstr(&b);
    end = p + b.len;
    for (; p < end; p = e + 1) {
        json_t *row;
        const char *id;
        e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        row = json_loadb(p, (size_t)(e - p), 0, NULL);
        id = json_string_value(json_object_get(row, "id"));
        if (json_is_object(row) && id && !json_object_get(cache, id) &&
            json_object_set(cache, id, row) != 0) {
            json_decref(row);
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
        json_decref(row);
    }
out:
    sk_buf_release(&b);
    return rc;
}

/* Appends the persisted rows of slots, in order, and fsyncs the file. */
static int append_rows(const char *path, struct slot *slots, size_t n,
                       int nl_missing, struct sk_error *err)
{
    struct sk_buf b;
    size_t i, off;
    int fd = -1, rc = SK_OK;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (nl_missing)
        rc = sk_buf_putc(&b, '\n');
    for (i = 0; rc == SK_OK && i < n; i++) {
        if (!slots[i].persist)
            continue;
        rc = sk_json_dump_py(slots[i].row, -1, &b);
        if (rc == SK_OK)
            rc = sk_buf_putc(&b, '\n');
    }
    if (rc != SK_OK) {
        sk_error_set(err, rc, "%s: %s", path, sk_strerror(rc));
        goto out;
    }
    if (b.len == 0)
        goto out;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        goto io;
    for (off = 0; off < b.len;) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto io;
        off += (size_t)w;
    }
    /* one syncfs also makes the items' predictions/ files durable, which
     * were written without fsync: far cheaper than six fsyncs per item */
    if (syncfs(fd) != 0)
        goto io;
    goto out;
io:
    rc = sk_error_set(err, SK_EIO, "%s: %s", path, strerror(errno));
out:
    if (fd >= 0 && close(fd) != 0 && rc == SK_OK)
        rc = sk_error_set(err, SK_EIO, "%s: %s", path, strerror(errno));
    sk_buf_release(&b);
    return rc;
}

/* Reads the ids of items into slots; SK_EDATA on a missing or repeated
 * id. */
static int read_ids(const json_t *items, struct slot *slots,
                    struct sk_error *err)
{
    json_t *seen = json_object();
    struct sk_buf b;
    size_t i;
    int rc = seen ? SK_OK : SK_ENOMEM;

    sk_buf_init(&b, SK_BUF_UNLIMITED);
    for (i = 0; rc == SK_OK && i < json_array_size(items); i++) {
        sk_buf_reset(&b);
        rc = sk_bench_item_id(json_array_get(items, i), &b, err);
        if (rc != SK_OK)
            break;
        if (json_object_get(seen, sk_buf_cstr(&b))) {
            rc = sk_error_set(err, SK_EDATA, "duplicate item id %s",
                              sk_buf_cstr(&b));
            break;
        }
        slots[i].id = sk_strdup(sk_buf_cstr(&b));
        if (!slots[i].id ||
            json_object_set_new(seen, slots[i].id, json_true()) != 0)
            rc = SK_ENOMEM;
    }
    if (rc == SK_ENOMEM)
        sk_error_set(err, rc, "out of memory");
    json_decref(seen);
    sk_buf_release(&b);
    return rc;
}

/* Makes the predictions/<dir>/ of slot s under pred_root. */
static int make_item_dir(const char *pred_root, struct slot *s,
                         struct sk_error *err)
{
    struct sk_buf d;
    int rc;

    sk_buf_init(&d, SK_BUF_UNLIMITED);
    rc = sk_rollout_pred_dir(s->id, &d);
    if (rc == SK_OK && !(s->dir = sk_fs_join(pred_root, sk_buf_cstr(&d))))
        rc = SK_ENOMEM;
    sk_buf_release(&d);
    if (rc != SK_OK)
        return sk_error_set(err, rc, "out of memory");
    return sk_fs_mkdirs(s->dir, err);
}

/* Builds the prompts of each item not in the cache. */
static int prepare(const struct sk_bench *bench, const char *skill,
                   const json_t *items, const struct sk_bench_ctx *ctx,
                   const char *pred_root, json_t *cache, struct slot *slots,
                   size_t n, size_t *n_send, struct sk_rollout_stats *st,
                   struct sk_error *err)
{
    size_t i;
    int rc;

    *n_send = 0;
    for (i = 0; i < n; i++) {
        const json_t *item = json_array_get(items, i);
        json_t *hit = json_object_get(cache, slots[i].id);
        struct sk_error e;
        if (hit) {
            slots[i].row = json_incref(hit);
            st->cached++;
            continue;
        }
        slots[i].row = base_row(bench, item, slots[i].id);
        if (!slots[i].row)
            return sk_error_set(err, SK_ENOMEM, "out of memory");
        memset(&e, 0, sizeof e);
        rc = bench->build(item, skill, ctx, &slots[i].system, &slots[i].user,
                          &e);
        if (rc == SK_OK && bench->images)
            rc = bench->images(item, ctx, &slots[i].imgs, &slots[i].n_imgs, &e);
        if (rc == SK_ENOMEM || rc == SK_EIO || rc == SK_ENOTFOUND ||
            rc == SK_EPARSE || rc == SK_ETOOBIG || rc == SK_ECONFIG) {
            /* template, setting or system trouble: no item can be asked */
            return sk_error_set(err, rc, "%s", e.msg);
        }
        if (rc != SK_OK) {
            st->invalid++;
            slots[i].persist = 1;
            rc = mark_error(slots[i].row, e.msg);
            if (rc != SK_OK)
                return sk_error_set(err, rc, "out of memory");
            continue;
        }
        rc = make_item_dir(pred_root, &slots[i], err);
        if (rc != SK_OK)
            return rc;
        slots[i].sent = (int)++*n_send;
    }
    return SK_OK;
}

/* Sends the prepared items in one batch and records every outcome. */
struct episode_pool {
    struct sk_llm_client *client;
    const struct sk_bench *bench;
    const struct sk_bench_ctx *ctx;
    const json_t *items;
    struct slot *slots;
    size_t n;
    long max_tokens;
    pthread_mutex_t mu;
    size_t next; /* next slot to take */
};

static void *episode_worker(void *arg)
{
    struct episode_pool *p = arg;
    for (;;) {
        struct slot *s;
        size_t i;
        pthread_mutex_lock(&p->mu);
        while (p->next < p->n && !p->slots[p->next].sent)
            p->next++;
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            return NULL;
        s = &p->slots[i];
        sk_error_clear(&s->ep_err);
        {
            struct sk_bench_episode ep;
            memset(&ep, 0, sizeof ep);
            ep.client = p->client;
            ep.item = json_array_get(p->items, i);
            ep.system = s->system;
            ep.user = s->user;
            ep.max_tokens = p->max_tokens;
            ep.item_dir = s->dir;
            ep.row = s->row;
            s->ep_status = p->bench->episode(&ep, p->ctx, &s->ep_err);
            s->final = ep.final;
            s->turns = ep.turns;
            s->verification = ep.verification;
        }
    }
}

/* Runs the episodes of the sent slots, up to `workers` at once. */
static void run_episodes(struct episode_pool *p, long workers)
{
    pthread_t tid[64];
    size_t k, started = 0, n_threads;

    n_threads = workers > 0 ? (size_t)workers : 16;
    if (n_threads > 64)
        n_threads = 64;
    pthread_mutex_init(&p->mu, NULL);
    for (k = 1; k < n_threads; k++)
        if (pthread_create(&tid[started], NULL, episode_worker, p) == 0)
            started++;
    episode_worker(p);
    for (k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    pthread_mutex_destroy(&p->mu);
}

static int ask_and_record(struct sk_llm_client *client,
                          const struct sk_bench *bench,
                          const struct sk_bench_ctx *ctx, const char *skill,
                          const json_t *items, long max_tokens, long workers,
                          struct slot *slots, size_t n, size_t n_send,
                          int *first_fail, int *budget,
                          struct sk_rollout_stats *st, struct sk_error *err)
{
    struct sk_llm_request *reqs = NULL;
    struct sk_llm_message *msgs = NULL;
    struct sk_llm_result *res = NULL;
    size_t i, k;
    int rc = SK_OK;

    if (n_send) {
        reqs = sk_calloc(n_send, sizeof *reqs);
        msgs = sk_calloc(n_send, sizeof *msgs);
        res = sk_calloc(n_send, sizeof *res);
    }
    if (n_send && (!reqs || !msgs || !res)) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (!slots[i].sent)
            continue;
        k = (size_t)slots[i].sent - 1;
        msgs[k].role = "user";
        msgs[k].content = slots[i].user;
        msgs[k].images = slots[i].imgs;
        msgs[k].n_images = slots[i].n_imgs;
        reqs[k].role = SK_ROLE_TARGET;
        reqs[k].stage = "rollout";
        reqs[k].system = slots[i].system;
        reqs[k].messages = &msgs[k];
        reqs[k].n_messages = 1;
        reqs[k].max_tokens = max_tokens;
        reqs[k].skill = skill; /* an agent CLI gets it as its own file */
    }
    for (k = 0; k < n_send; k++)
        sk_llm_result_init(&res[k]);
    st->sent = n_send;
    if (n_send && bench->episode) {
        /* multi-turn episodes: each its own conversation, many at once */
        struct episode_pool pool;
        memset(&pool, 0, sizeof pool);
        pool.client = client;
        pool.bench = bench;
        pool.ctx = ctx;
        pool.items = items;
        pool.slots = slots;
        pool.n = n;
        pool.max_tokens = max_tokens;
        run_episodes(&pool, workers);
        for (i = 0; i < n; i++) {
            if (!slots[i].sent)
                continue;
            k = (size_t)slots[i].sent - 1;
            res[k].status = slots[i].ep_status;
            if (slots[i].ep_status == SK_OK) {
                res[k].text = slots[i].final;
                slots[i].final = NULL;
            } else {
                const char *m = slots[i].ep_err.msg[0]
                                    ? slots[i].ep_err.msg
                                    : sk_strerror(slots[i].ep_status);
                size_t ml = strlen(m);
                if (ml >= sizeof res[k].error)
                    ml = sizeof res[k].error - 1;
                memcpy(res[k].error, m, ml);
                res[k].error[ml] = '\0';
            }
        }
    } else if (n_send) {
        sk_llm_call_batch(client, reqs, n_send, res);
    }
    for (i = 0; rc == SK_OK && i < n; i++) {
        const struct sk_llm_result *r;
        if (!slots[i].sent)
            continue;
        r = &res[slots[i].sent - 1];
        if (bench->episode && r->status == SK_EDATA) {
            /* the item failed for its own reason (its input, its
             * environment, no sandbox): a persisted row, the run goes on */
            st->invalid++;
            slots[i].persist = 1;
            rc = mark_error(slots[i].row, r->error);
            if (rc == SK_OK)
                rc = record_item(bench, ctx, json_array_get(items, i),
                                 &slots[i], NULL, err);
            continue;
        }
        if (bench->episode && r->status != SK_OK &&
            r->status > SK_LLM_EPROVIDER) {
            /* not a provider's status: out of memory, a write failed */
            rc = sk_error_set(err, r->status, "item %s: %s", slots[i].id,
                              r->error);
            break;
        }
        if (r->status != SK_OK) {
            st->errors++;
            if (*first_fail == SK_OK) {
                *first_fail = r->status;
                sk_error_set(err, r->status, "item %s: %s", slots[i].id,
                             r->error);
            }
            if (r->status == SK_LLM_EBUDGET && !*budget) {
                *budget = 1;
                sk_error_set(err, r->status, "item %s: %s", slots[i].id,
                             r->error);
            }
            rc = mark_error(slots[i].row,
                            r->error[0] ? r->error : sk_strerror(r->status));
            if (rc == SK_OK)
                rc = record_item(bench, ctx, json_array_get(items, i),
                                 &slots[i], NULL, err);
            continue;
        }
        slots[i].persist = 1;
        if (r->trace && !slots[i].turns) {
            /* an agent CLI answered: its trajectory is the conversation */
            slots[i].turns = r->trace;
            res[slots[i].sent - 1].trace = NULL;
        }
        if (r->trace_summary &&
            write_text(slots[i].dir, "agent_trace_summary.txt",
                       r->trace_summary, err) != SK_OK)
            sk_warn("%s", err->msg);
        rc = record_item(bench, ctx, json_array_get(items, i), &slots[i],
                         r->text ? r->text : "", err);
    }
out:
    for (k = 0; res && k < n_send; k++)
        sk_llm_result_release(&res[k]);
    sk_free(reqs);
    sk_free(msgs);
    sk_free(res);
    return rc;
}

/* compute_score over the rows (2.4). */
static int mean_scores(struct slot *slots, size_t n,
                       struct sk_rollout_stats *st)
{
    double *h = NULL, *s = NULL;
    size_t i;

    if (n) {
        h = sk_calloc(n, sizeof *h);
        s = sk_calloc(n, sizeof *s);
        if (!h || !s) {
            sk_free(h);
            sk_free(s);
            return SK_ENOMEM;
        }
    }
    for (i = 0; i < n; i++) {
        h[i] = json_number_value(json_object_get(slots[i].row, "hard"));
        s[i] = json_number_value(json_object_get(slots[i].row, "soft"));
    }
    sk_score_mean(h, s, n, &st->hard_mean, &st->soft_mean);
    sk_free(h);
    sk_free(s);
    return SK_OK;
}

int sk_rollout_run(struct sk_llm_client *client, const struct sk_bench *bench,
                   const char *skill, const struct json_t *items,
                   const char *out_dir, const char *prompts_dir,
                   long max_completion_tokens, struct json_t **results_out,
                   struct sk_rollout_stats *stats, struct sk_error *err)
{
    struct sk_rollout_opts o;
    memset(&o, 0, sizeof o);
    o.prompts_dir = prompts_dir;
    o.max_completion_tokens = max_completion_tokens;
    return sk_rollout_run_opts(client, bench, skill, items, out_dir, &o,
                               results_out, stats, err);
}

int sk_rollout_run_opts(struct sk_llm_client *client,
                        const struct sk_bench *bench, const char *skill,
                        const struct json_t *items, const char *out_dir,
                        const struct sk_rollout_opts *o,
                        struct json_t **results_out,
                        struct sk_rollout_stats *stats, struct sk_error *err)
{
    struct sk_bench_ctx ctx;
    long max_completion_tokens = o->max_completion_tokens;
    struct sk_rollout_stats st;
    struct slot *slots = NULL;
    json_t *cache = NULL, *rows = NULL;
    char *results_path = NULL, *pred_root = NULL;
    size_t n, i, n_send = 0;
    int rc, nl_missing = 0, first_fail = SK_OK, budget = 0;

    *results_out = NULL;
    memset(&st, 0, sizeof st);
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = o->cfg;
    ctx.prompts_dir = o->prompts_dir;
    ctx.seed = o->seed;
    ctx.data = bench ? bench->data : NULL;
    ctx.train = o->train;
    if (!json_is_array(items) || !bench || !out_dir) {
        rc = sk_error_set(err, SK_EINVAL, "rollout: bad arguments");
        goto done;
    }
    if (!skill)
        skill = "";
    n = json_array_size(items);
    st.items = n;
    if (n) {
        slots = sk_calloc(n, sizeof *slots);
    }
    results_path = sk_fs_join(out_dir, SK_ROLLOUT_RESULTS);
    pred_root = sk_fs_join(out_dir, SK_ROLLOUT_PREDICTIONS);
    cache = json_object();
    rows = json_array();
    if ((n && !slots) || !results_path || !pred_root || !cache || !rows) {
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    rc = read_ids(items, slots, err);
    if (rc == SK_OK)
        rc = sk_fs_mkdirs(out_dir, err);
    if (rc == SK_OK)
        rc = check_meta(out_dir, bench->name, skill, results_path, err);
    if (rc == SK_OK)
        rc = load_cache(results_path, cache, &nl_missing, err);
    if (rc == SK_OK)
        rc = prepare(bench, skill, items, &ctx, pred_root, cache, slots, n,
                     &n_send, &st, err);
    if (rc == SK_OK)
        rc = ask_and_record(client, bench, &ctx, skill, items,
                            max_completion_tokens, o->workers, slots, n, n_send,
                            &first_fail, &budget, &st, err);
    if (rc == SK_OK)
        rc = append_rows(results_path, slots, n, nl_missing, err);
    if (rc == SK_OK && mean_scores(slots, n, &st) != SK_OK)
        rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    for (i = 0; rc == SK_OK && i < n; i++)
        if (json_array_append(rows, slots[i].row) != 0)
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
    if (rc != SK_OK)
        goto out;
    *results_out = rows;
    rows = NULL;
    /* err already names the failure (ask_and_record) */
    if (budget)
        rc = SK_LLM_EBUDGET;
    else if (n > 0 && st.errors == n)
        rc = first_fail;
out:
    for (i = 0; slots && i < n; i++) {
        sk_free(slots[i].id);
        sk_free(slots[i].dir);
        sk_free(slots[i].system);
        sk_free(slots[i].user);
        sk_bench_images_free(slots[i].imgs, slots[i].n_imgs);
        sk_free(slots[i].final);
        sk_free(slots[i].verification);
        json_decref(slots[i].turns);
        json_decref(slots[i].row);
    }
    sk_free(slots);
    sk_free(results_path);
    sk_free(pred_root);
    json_decref(cache);
    json_decref(rows);
done:
    if (stats)
        *stats = st;
    return rc;
}

json_t *sk_rollout_by_type(const json_t *rows)
{
    json_t *tot = json_object(), *out = json_object(), *r;
    const char *key;
    json_t *v;
    size_t i;

    if (!tot || !out)
        goto fail;
    if (json_object_set_new(tot, "overall", json_pack("[i, f]", 0, 0.0)) != 0)
        goto fail;
    json_array_foreach(rows, i, r)
    {
        const char *tt = json_string_value(json_object_get(r, "task_type"));
        const char *keys[2];
        double h = json_number_value(json_object_get(r, "hard"));
        int k;
        keys[0] = tt ? tt : "other";
        keys[1] = "overall";
        for (k = 0; k < 2; k++) {
            json_t *b = json_object_get(tot, keys[k]);
            if (!b) {
                b = json_pack("[i, f]", 0, 0.0);
                if (!b || json_object_set_new(tot, keys[k], b) != 0)
                    goto fail;
            }
            if (json_array_set_new(
                    b, 0,
                    json_integer(json_integer_value(json_array_get(b, 0)) +
                                 1)) != 0 ||
                json_array_set_new(
                    b, 1,
                    json_real(json_real_value(json_array_get(b, 1)) + h)) != 0)
                goto fail;
            if (strcmp(keys[0], "overall") == 0)
                break;
        }
    }
    json_object_foreach(tot, key, v)
    {
        json_int_t n = json_integer_value(json_array_get(v, 0));
        double h = json_real_value(json_array_get(v, 1));
        if (json_object_set_new(out, key,
                                json_pack("{s:I, s:f}", "total", n, "hard_acc",
                                          h / (double)(n > 1 ? n : 1))) != 0)
            goto fail;
    }
    json_decref(tot);
    return out;
fail:
    json_decref(tot);
    json_decref(out);
    return NULL;
}
