/*
 * train_overhead.c - how close a simulated training run comes to the
 * critical path of its model calls.
 *
 * Runs the demo benchmark for 4 epochs x 10 steps (batch 40, selection
 * 200, test 40) against the simulator in a child process that answers
 * every request after exactly -l ms.  The child records when it answers
 * each request and for which role; the trainer's phase events say which
 * phase was running.  From these the program counts the rounds of calls
 * the run made and the rounds its dependency chain required, and prints
 * wall time against the required rounds x latency, CPU time and peak RSS.
 * See bench/README.md.
 *
 *   build/bench_train_overhead [--root DIR] [--tmp DIR] [-l 500] [--keep]
 *
 * --root is the source tree (configs/, data/demo/, skills/); --tmp is where
 * the data set and run directory go (default /tmp); --keep keeps them.
 * Rounds are told apart by gaps over half the latency, so -l must be well
 * above the time a round takes to send (tens of ms); below ~50 ms rounds
 * split and the counts are wrong.
 */
#include "common.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/demo_opt.h"
#include "bench/demo_sim.h"
#include "config/config.h"
#include "data/split.h"
#include "llm/client.h"
#include "llm/sim.h"
#include "train/rundir.h"
#include "train/trainer.h"
#include "util/alloc.h"
#include "util/fs.h"
#include "util/log.h"

#define N_TRAIN 400 /* 4 epochs x 10 steps x batch 40 */
#define N_VAL 200
#define N_TEST 40
#define SEED 42 /* train.seed of configs/demo.yaml */
#define MAX_KINDS 16

/* One reply of the simulator: when it went out and to which role. */
struct rec {
    double t;       /* CLOCK_MONOTONIC seconds, shared by both processes */
    int32_t target; /* 1: a demo task (target), 0: an optimizer request */
    int32_t pad;
};

/* One trainer phase, from its phase_start / phase_end events. */
struct phase {
    char name[24];
    long step, epoch;
    double t0, t1; /* t1 < 0 while open */
};

struct phases {
    pthread_mutex_t mu; /* events may come from the engine's thread */
    struct phase *v;
    size_t n, cap;
    int oom;
};

/* Per phase name: what the run did and what its dependencies required. */
struct kind {
    const char *name;
    long instances, calls, rounds, required;
    double wall;
    double lead;   /* phase start to the first request sent */
    double spread; /* first to last reply within each round */
    double gaps;   /* last reply of a round to the next round's send */
    double tail;   /* last reply to phase end */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- data set --------------------------------------------------------- */

/* dst/split/items.json: n items cycling over root/data/demo/split's, with
 * new ids (the simulated target's answers depend on the id, not on the
 * question, so repeated questions are fresh items). */
static int write_split(const char *root, const char *dst, const char *split,
                       size_t n, struct sk_error *err)
{
    char src[4096], out[4096], id[32];
    json_t *in = NULL, *items = json_array(), *it;
    size_t i;
    int rc;

    snprintf(src, sizeof src, "%s/data/demo/%s/items.json", root, split);
    snprintf(out, sizeof out, "%s/%s/items.json", dst, split);
    rc = sk_json_read_file(src, &in, err);
    if (rc != SK_OK)
        goto out;
    rc = SK_ENOMEM;
    if (!items || json_array_size(in) == 0) {
        sk_error_set(err, SK_EDATA, "%s: no items", src);
        goto out;
    }
    for (i = 0; i < n; i++) {
        it = json_deep_copy(json_array_get(in, i % json_array_size(in)));
        snprintf(id, sizeof id, "%s-%04zu", split, i);
        if (!it || json_object_set_new(it, "id", json_string(id)) != 0 ||
            json_array_append_new(items, it) != 0) {
            json_decref(it);
            sk_error_set(err, SK_ENOMEM, "out of memory");
            goto out;
        }
    }
    rc = sk_json_write_file(out, items, err);
out:
    json_decref(in);
    json_decref(items);
    return rc;
}

/* ---- the simulator (child process) ------------------------------------ */

static _Thread_local int tl_optimizer; /* set when the fallback answered */
static int rec_fd = -1;

static int opt_wrap(void *ud, const struct sk_sim_request *req,
                    struct sk_sim_reply *reply)
{
    tl_optimizer = 1;
    return sk_demo_opt_respond(ud, req, reply);
}

/* The demo target, falling back to the optimizer; logs one struct rec. */
static int sim_wrap(void *ud, const struct sk_sim_request *req,
                    struct sk_sim_reply *reply)
{
    struct rec r;
    int rc;

    tl_optimizer = 0;
    rc = sk_demo_sim_respond(ud, req, reply);
    memset(&r, 0, sizeof r);
    r.t = now_s();
    r.target = !tl_optimizer;
    if (write(rec_fd, &r, sizeof r) != (ssize_t)sizeof r)
        rc = 1; /* the server answers 500 and the run shows it */
    return rc;
}

/* Forks the simulator (before any thread exists); writes its port. */
static pid_t start_sim(const char *data, double latency_ms,
                       const char *rec_path, int *port)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        struct sk_sim_faults f;
        struct sk_demo_opt *opt = sk_demo_opt_new(SEED);
        struct sk_demo_sim *demo = NULL;
        struct sk_sim *s;
        struct sk_error err;
        int p;

        close(fds[0]);
        rec_fd = open(rec_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (rec_fd < 0 || !opt ||
            sk_demo_sim_new(data, SEED, opt_wrap, opt, &demo, &err) != SK_OK) {
            fprintf(stderr, "sim: cannot start\n");
            _exit(1);
        }
        memset(&f, 0, sizeof f);
        f.seed = SEED;
        f.latency_ms_min = latency_ms; /* constant: no exponential part */
        if (sk_sim_start(sim_wrap, demo, &f, &s, &err) != SK_OK) {
            fprintf(stderr, "sim: %s\n", err.msg);
            _exit(1);
        }
        p = sk_sim_port(s);
        if (write(fds[1], &p, sizeof p) != (ssize_t)sizeof p)
            _exit(1);
        for (;;)
            pause();
    }
    close(fds[1]);
    if (pid < 0 || read(fds[0], port, sizeof *port) != (ssize_t)sizeof *port) {
        close(fds[0]);
        return -1;
    }
    close(fds[0]);
    return pid;
}

/* ---- phase events (parent) -------------------------------------------- */

static void on_event(void *ud, const char *type, const struct json_t *fields)
{
    struct phases *ph = ud;
    const char *name = json_string_value(json_object_get(fields, "phase"));
    double t = now_s();
    size_t i;

    if (!name)
        return;
    pthread_mutex_lock(&ph->mu);
    if (strcmp(type, "phase_start") == 0) {
        if (ph->n == ph->cap) {
            size_t cap = ph->cap ? 2 * ph->cap : 256;
            struct phase *v = sk_realloc(ph->v, cap * sizeof *v);
            if (!v) {
                ph->oom = 1;
                goto out;
            }
            ph->v = v;
            ph->cap = cap;
        }
        memset(&ph->v[ph->n], 0, sizeof ph->v[ph->n]);
        snprintf(ph->v[ph->n].name, sizeof ph->v[ph->n].name, "%s", name);
        ph->v[ph->n].step =
            (long)json_integer_value(json_object_get(fields, "step"));
        ph->v[ph->n].epoch =
            (long)json_integer_value(json_object_get(fields, "epoch"));
        ph->v[ph->n].t0 = t;
        ph->v[ph->n].t1 = -1;
        ph->n++;
    } else if (strcmp(type, "phase_end") == 0) {
        for (i = ph->n; i-- > 0;)
            if (ph->v[i].t1 < 0 && strcmp(ph->v[i].name, name) == 0) {
                ph->v[i].t1 = t;
                break;
            }
    }
out:
    pthread_mutex_unlock(&ph->mu);
}

/* ---- analysis --------------------------------------------------------- */

static int cmp_rec(const void *a, const void *b)
{
    double x = ((const struct rec *)a)->t, y = ((const struct rec *)b)->t;
    return (x > y) - (x < y);
}

/* Levels of a hierarchical merge of n patches, bs at a time (merge.c). */
static long merge_levels(long n, long bs)
{
    long l = 0;
    while (n > 1) {
        n = (n + bs - 1) / bs;
        l++;
    }
    return l;
}

/* The history row of step g, or NULL. */
static const json_t *history_row(const json_t *hist, long g)
{
    size_t i;
    const json_t *row;
    json_array_foreach(hist, i, row)
    {
        if (json_integer_value(json_object_get(row, "step")) == g)
            return row;
    }
    return NULL;
}

static struct kind *kind_get(struct kind *k, size_t *n, const char *name)
{
    size_t i;
    for (i = 0; i < *n; i++)
        if (strcmp(k[i].name, name) == 0)
            return &k[i];
    if (*n == MAX_KINDS)
        return &k[MAX_KINDS - 1];
    memset(&k[*n], 0, sizeof k[*n]);
    k[*n].name = name;
    return &k[(*n)++];
}

/* Reads the simulator's records, sorted by time; *n gets the count. */
static struct rec *load_recs(const char *path, size_t *n)
{
    struct sk_buf b;
    struct rec *r = NULL;
    struct sk_error err;

    *n = 0;
    sk_buf_init(&b, SK_BUF_UNLIMITED);
    if (sk_fs_read(path, SK_BUF_UNLIMITED, &b, &err) == SK_OK &&
        b.len >= sizeof *r) {
        *n = b.len / sizeof *r;
        r = sk_malloc(*n * sizeof *r);
        if (r) {
            memcpy(r, b.data, *n * sizeof *r);
            qsort(r, *n, sizeof *r, cmp_rec);
        } else {
            *n = 0;
        }
    }
    sk_buf_release(&b);
    return r;
}

/* Calls and attempts per stage from llm_requests.jsonl. */
static void print_stages(const char *run)
{
    char *path = sk_fs_join(run, "llm_requests.jsonl"), line[16384];
    json_t *count = json_object(), *v;
    const char *stage;
    FILE *fp = path ? fopen(path, "r") : NULL;
    long attempts = 0, calls = 0;

    while (fp && count && fgets(line, sizeof line, fp)) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        const char *s = json_string_value(json_object_get(o, "stage"));
        if (s) {
            json_int_t c = json_integer_value(json_object_get(count, s));
            json_object_set_new(count, s, json_integer(c + 1));
            attempts +=
                (long)json_integer_value(json_object_get(o, "attempts"));
            calls++;
        }
        json_decref(o);
    }
    printf("calls by stage:");
    json_object_foreach(count, stage, v)
    {
        printf(" %s=%lld", stage, (long long)json_integer_value(v));
    }
    printf(" (total %ld, %ld attempts)\n", calls, attempts);
    if (fp)
        fclose(fp);
    json_decref(count);
    sk_free(path);
}

/*
 * Assigns each reply to the phase running when its request was sent,
 * groups a phase's replies into rounds (a gap over half the latency starts
 * a new one) and counts the rounds the dependencies require:
 *   - aggregate: the failure and success merge hierarchies are
 *     independent, so only the deeper one counts, plus the final merge
 *     and any format-retry rounds;
 *   - slow_update, test_eval: their target rollouts are independent of one
 *     another, so they make one round, plus the optimizer's rounds;
 *   - every other phase: the rounds it made (each depends on the last).
 * strict gets the bound without two dependencies the brief's model keeps:
 * the baseline evaluation (independent of step 1 until its gate) and the
 * meta skill call (independent of the slow update's call).
 */
static void analyse(const struct phases *ph, const struct rec *r, size_t nr,
                    const json_t *hist, long merge_bs, double lat_s,
                    double wall, double *bound, double *strict)
{
    struct kind kinds[MAX_KINDS], *k;
    size_t nk = 0, i, j, assigned = 0;
    long rounds = 0, required = 0, saved = 0, mixed = 0;
    double in_phases = 0;

    for (i = 0; i < ph->n; i++) {
        const struct phase *p = &ph->v[i];
        long nclu = 0, tclu = 0, oclu = 0, calls = 0, req;
        double last = -1, first = -1;
        int cur_target = 0, cur_opt = 0;

        k = kind_get(kinds, &nk, p->name);
        k->instances++;
        if (p->t1 >= 0) {
            k->wall += p->t1 - p->t0;
            in_phases += p->t1 - p->t0;
        }
        for (j = 0; j < nr; j++) {
            double sent = r[j].t - lat_s / 2; /* inside send..receive */
            if (sent < p->t0 || (p->t1 >= 0 && sent > p->t1))
                continue;
            calls++;
            if (last < 0) {
                k->lead += r[j].t - lat_s - p->t0;
            } else if (r[j].t - last > lat_s / 2) {
                k->spread += last - first;
                k->gaps += r[j].t - lat_s - last;
            }
            if (last < 0 || r[j].t - last > lat_s / 2) {
                first = r[j].t;
                tclu += cur_target;
                oclu += cur_opt;
                mixed += cur_target && cur_opt;
                nclu++;
                cur_target = cur_opt = 0;
            }
            cur_target |= r[j].target != 0;
            cur_opt |= r[j].target == 0;
            last = r[j].t;
        }
        tclu += cur_target;
        oclu += cur_opt;
        mixed += cur_target && cur_opt;
        if (last >= 0) {
            k->spread += last - first;
            if (p->t1 >= 0)
                k->tail += p->t1 - last;
        }
        assigned += (size_t)calls;
        req = nclu;
        if (strcmp(p->name, "aggregate") == 0) {
            const json_t *row = history_row(hist, p->step);
            long lf = merge_levels((long)json_integer_value(json_object_get(
                                       row, "n_failure_patches")),
                                   merge_bs);
            long ls = merge_levels((long)json_integer_value(json_object_get(
                                       row, "n_success_patches")),
                                   merge_bs);
            if (nclu >= lf + ls)
                req = (lf > ls ? lf : ls) + (nclu - lf - ls);
        } else if (strcmp(p->name, "slow_update") == 0 ||
                   strcmp(p->name, "test_eval") == 0) {
            req = (tclu > 0) + oclu;
        }
        if (strcmp(p->name, "meta_skill") == 0 ||
            strcmp(p->name, "baseline") == 0)
            saved += nclu > 0;
        k->calls += calls;
        k->rounds += nclu;
        k->required += req;
        rounds += nclu;
        required += req;
    }
    *bound = (double)required * lat_s;
    *strict = (double)(required - saved) * lat_s;
    printf("rounds: executed %ld (x latency = %.1f s), required %ld; "
           "replies %zu, %zu outside phases%s\n",
           rounds, (double)rounds * lat_s, required, nr, nr - assigned,
           mixed ? " (WARNING: mixed-role rounds)" : "");
    printf("%-16s %4s %5s %6s %8s %7s %7s %6s %6s %6s %6s\n", "phase", "n",
           "calls", "rounds", "required", "wall_s", "beyond", "lead", "spread",
           "gaps", "tail");
    for (i = 0; i < nk; i++)
        printf("%-16s %4ld %5ld %6ld %8ld %7.2f %7.2f %6.2f %6.2f %6.2f "
               "%6.2f\n",
               kinds[i].name, kinds[i].instances, kinds[i].calls,
               kinds[i].rounds, kinds[i].required, kinds[i].wall,
               kinds[i].wall - (double)kinds[i].rounds * lat_s, kinds[i].lead,
               kinds[i].spread, kinds[i].gaps, kinds[i].tail);
    printf("%-16s %4s %5s %6s %8s %7.2f %7.2f\n", "(between phases)", "", "",
           "", "", wall - in_phases, wall - in_phases);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *root = ".";
    double lat = 500, t0, wall = 0, bound = 0, strict = 0;
    const char *tmp_root = "/tmp";
    char tmpl[4096], *tmp;
    char data[4200], run[4200], recs[4200], cfgpath[4200], skill[4200];
    char opt[16][4400];
    const char *opts[16];
    struct sk_config cfg;
    struct sk_config_args a;
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_llm_client_opts lo;
    struct sk_llm_client *client = NULL;
    struct sk_train_opts to;
    struct sk_train_result res;
    struct sk_error err;
    struct phases ph;
    struct rusage self, kids;
    struct rec *r = NULL;
    json_t *hist = NULL;
    size_t nr = 0, no = 0;
    int keep = 0, port = 0, rc = 1, i;
    pid_t pid = -1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root = argv[++i];
        else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc)
            tmp_root = argv[++i];
        else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
            lat = strtod(argv[++i], NULL);
    }
    sk_config_init(&cfg);
    sk_splits_init(&s);
    memset(&ph, 0, sizeof ph);
    pthread_mutex_init(&ph.mu, NULL);
    sk_log_set_level(SK_LOG_WARN);
    snprintf(tmpl, sizeof tmpl, "%s/skillopt-train-overhead.XXXXXX", tmp_root);
    tmp = mkdtemp(tmpl);
    if (!tmp) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data, sizeof data, "%s/data", tmp);
    snprintf(run, sizeof run, "%s/run", tmp);
    snprintf(recs, sizeof recs, "%s/sim_replies.bin", tmp);
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/demo.yaml", root);
    snprintf(skill, sizeof skill, "%s/skills/demo/initial.md", root);
    if (write_split(root, data, "train", N_TRAIN, &err) != SK_OK ||
        write_split(root, data, "val", N_VAL, &err) != SK_OK ||
        write_split(root, data, "test", N_TEST, &err) != SK_OK) {
        fprintf(stderr,
                "data: %s (run from the source tree or pass "
                "--root)\n",
                err.msg);
        goto out;
    }
    pid = start_sim(data, lat, recs, &port);
    if (pid < 0) {
        fprintf(stderr, "cannot start the simulator\n");
        goto out;
    }

    /* Both roles reach the forked simulator as an OpenAI-compatible
     * server: the sim backend's llm.sim_latency_ms is an exponential mean,
     * and the bound needs every call to take the same time. */
    snprintf(opt[no++], sizeof opt[0], "train.num_epochs=4");
    snprintf(opt[no++], sizeof opt[0], "train.batch_size=40");
    snprintf(opt[no++], sizeof opt[0], "env.split_dir=%s", data);
    snprintf(opt[no++], sizeof opt[0], "env.skill_init=%s", skill);
    snprintf(opt[no++], sizeof opt[0], "model.backend=openai_compatible");
    snprintf(opt[no++], sizeof opt[0],
             "model.optimizer_backend=openai_compatible");
    snprintf(opt[no++], sizeof opt[0],
             "model.target_backend=openai_compatible");
    snprintf(opt[no++], sizeof opt[0],
             "llm.optimizer_base_url=http://127.0.0.1:%d/v1", port);
    snprintf(opt[no++], sizeof opt[0],
             "llm.target_base_url=http://127.0.0.1:%d/v1", port);
    snprintf(opt[no++], sizeof opt[0], "llm.max_in_flight=256");
    snprintf(opt[no++], sizeof opt[0], "llm.cache=off");
    snprintf(opt[no++], sizeof opt[0], "gradient.analyst_workers=64");
    /* the whole selection set in flight at once */
    snprintf(opt[no++], sizeof opt[0], "env.workers=256");
    for (i = 0; i < (int)no; i++)
        opts[i] = opt[i];
    memset(&a, 0, sizeof a);
    a.path = cfgpath;
    a.cfg_options = opts;
    a.n_cfg_options = no;
    if (sk_config_load(&a, &cfg, &err) != SK_OK) {
        fprintf(stderr, "config: %s\n", err.msg);
        goto out;
    }
    sk_split_opts_init(&so);
    so.mode = cfg.split_mode;
    so.split_dir = cfg.split_dir;
    so.seed = cfg.seed;
    so.env_name = cfg.env;
    if (sk_splits_load(&so, &s, &err) != SK_OK) {
        fprintf(stderr, "splits: %s\n", err.msg);
        goto out;
    }
    memset(&lo, 0, sizeof lo);
    lo.run_dir = run;
    if (sk_fs_mkdirs(run, &err) != SK_OK ||
        sk_llm_client_new(&cfg, &lo, &client, &err) != SK_OK) {
        fprintf(stderr, "client: %s\n", err.msg);
        goto out;
    }
    memset(&to, 0, sizeof to);
    to.cfg = &cfg;
    to.splits = &s;
    to.skill_init_path = cfg.skill_init;
    to.out_root = run;
    to.client = client;
    to.on_event = on_event;
    to.event_ud = &ph;
    t0 = now_s();
    if (sk_train_run(&to, &res, &err) != SK_OK) {
        fprintf(stderr, "train: %s\n", err.msg);
        goto out;
    }
    wall = now_s() - t0;
    sk_llm_client_free(client);
    client = NULL;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    pid = -1;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);

    printf("run: 4 epochs x %ld steps, batch 40, selection %zu, test %zu, "
           "%.0f ms per call; %ld accepted, %ld rejected, %ld skipped\n",
           res.total_steps / 4, sk_splits_count(&s, SK_SPLIT_VAL),
           sk_splits_count(&s, SK_SPLIT_TEST), lat, res.accepts, res.rejects,
           res.skips);
    {
        char *hp = sk_fs_join(run, "history.json");
        if (!hp || sk_json_read_file(hp, &hist, &err) != SK_OK) {
            fprintf(stderr, "history.json: unreadable\n");
            sk_free(hp);
            goto out;
        }
        sk_free(hp);
    }
    r = load_recs(recs, &nr);
    print_stages(run);
    analyse(&ph, r, nr, hist, (long)cfg.merge_batch_size, lat / 1000.0, wall,
            &bound, &strict);
    printf("wall_s=%.2f bound_s=%.1f ratio=%.3f (strict bound %.1f s: "
           "%.3f)\n",
           wall, bound, bound > 0 ? wall / bound : 0, strict,
           strict > 0 ? wall / strict : 0);
    printf("cpu_s trainer=%.2f simulator=%.2f total=%.2f; peak_rss_mb "
           "trainer=%.1f simulator=%.1f\n",
           tv_s(self.ru_utime) + tv_s(self.ru_stime),
           tv_s(kids.ru_utime) + tv_s(kids.ru_stime),
           tv_s(self.ru_utime) + tv_s(self.ru_stime) + tv_s(kids.ru_utime) +
               tv_s(kids.ru_stime),
           (double)self.ru_maxrss / 1024.0, (double)kids.ru_maxrss / 1024.0);
    rc = ph.oom ? 1 : 0;
out:
    sk_llm_client_free(client);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    sk_splits_release(&s);
    sk_config_release(&cfg);
    json_decref(hist);
    sk_free(r);
    sk_free(ph.v);
    pthread_mutex_destroy(&ph.mu);
    if (keep)
        printf("kept %s\n", tmp);
    else
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
