/*
 * test_ui.c - the dashboard server (ui/server.h) over HTTP with libcurl
 * and raw sockets: the run list and its status rules, a run's state, the
 * file and directory endpoints, every path-traversal form we know of,
 * the size cap, methods, malformed and slow requests, the event stream
 * (live updates, resume, the stream cap, clients that go away), the
 * embedded files, the Host check, single-run mode and busy ports.
 *
 * One real training run of the demo (sk_train_run against the simulator)
 * provides the finished run; the other runs are written by hand so that
 * each status rule is exercised with known values.
 */
#include "common.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bench/demo_opt.h"
#include "bench/demo_sim.h"
#include "config/config.h"
#include "data/split.h"
#include "llm/client.h"
#include "testutil.h"
#include "train/rollout.h"
#include "train/trainer.h"
#include "ui/server.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"

static char *tmp;  /* everything lives here */
static char *runs; /* tmp/runs: the served directory */
static char *demo; /* runs/exp/demo: the trained run */
static struct sk_train_result demo_res;
static struct sk_ui *ui;
static int port;

/* ---- HTTP helpers ------------------------------------------------------- */

struct resp {
    CURLcode code;
    long status;
    struct sk_buf body;
    struct sk_buf headers;
};

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    return sk_buf_append(ud, p, size * n) == SK_OK ? size * n : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static CURL *new_handle(const char *target, struct resp *r)
{
    char url[8192];
    CURL *h = curl_easy_init();

    assert_non_null(h);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, target);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* send "/../" as is */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    return h;
}

static void resp_init(struct resp *r)
{
    memset(r, 0, sizeof *r);
    sk_buf_init(&r->body, (size_t)64 << 20);
    sk_buf_init(&r->headers, 1 << 20);
}

static void resp_release(struct resp *r)
{
    sk_buf_release(&r->body);
    sk_buf_release(&r->headers);
}

/* method NULL: GET.  extra: one more request header or NULL. */
static void request(const char *method, const char *target, const char *extra,
                    struct resp *r)
{
    struct curl_slist *hdrs = NULL;
    CURL *h;

    resp_init(r);
    h = new_handle(target, r);
    if (method && strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (method && strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "a=1");
    else if (method)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (extra) {
        hdrs = curl_slist_append(NULL, extra);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    }
    r->code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
}

static void get(const char *target, struct resp *r)
{
    request(NULL, target, NULL, r);
    assert_int_equal(r->code, CURLE_OK);
}

/* The value of header name (case-insensitive), copied into out. */
static int header(const struct resp *r, const char *name, char *out, size_t cap)
{
    const char *p = sk_buf_cstr(&r->headers);
    size_t n = strlen(name);

    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

static json_t *get_json(const char *target, long want_status)
{
    struct resp r;
    json_t *v;
    char ct[128];

    get(target, &r);
    if (r.status != want_status)
        fail_msg("%s: status %ld, want %ld: %s", target, r.status, want_status,
                 sk_buf_cstr(&r.body));
    assert_true(header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/json");
    v = json_loadb(sk_buf_cstr(&r.body), r.body.len, 0, NULL);
    if (!v)
        fail_msg("%s: not JSON: %.200s", target, sk_buf_cstr(&r.body));
    resp_release(&r);
    return v;
}

/* The row of /api/runs for id (new reference), or NULL. */
static json_t *run_row(const char *id)
{
    json_t *all = get_json("/api/runs", 200), *row, *found = NULL;
    size_t i;

    json_array_foreach(json_object_get(all, "runs"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "id")), id) == 0)
            found = json_incref(row);
    }
    json_decref(all);
    return found;
}

/* ---- raw sockets -------------------------------------------------------- */

static int raw_connect(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void raw_send(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the server may close early: that is an answer */
        p += w;
        n -= (size_t)w;
    }
}

/* Reads until the peer closes or timeout_s passes; the text read. */
static char *raw_read(int fd, double timeout_s)
{
    struct sk_buf b;
    double end = now_s() + timeout_s;
    char chunk[4096];

    sk_buf_init(&b, 1 << 20);
    while (now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            break;
        sk_buf_append(&b, chunk, (size_t)n);
    }
    if (!b.data)
        sk_buf_puts(&b, "");
    return sk_buf_detach(&b, NULL);
}

/* ---- fixtures ------------------------------------------------------------ */

static char *path_in(const char *dir, const char *rel)
{
    char *p = sk_fs_join(dir, rel);
    assert_non_null(p);
    return p;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    sk_free(tu_write(dir, rel, text));
}

static void append_line(const char *dir, const char *rel, const char *line)
{
    char *p = path_in(dir, rel);
    FILE *fp = fopen(p, "a");
    assert_non_null(fp);
    fputs(line, fp);
    fputc('\n', fp);
    fclose(fp);
    sk_free(p);
}

static int demo_respond(void *ud, const struct sk_sim_request *req,
                        struct sk_sim_reply *reply)
{
    return sk_demo_sim_respond(ud, req, reply);
}

/* One epoch of the demo into out (as tests/unit/test_trainer.c does). */
static void train_demo(const char *out)
{
    struct sk_config cfg;
    struct sk_config_args a;
    struct sk_split_opts so;
    struct sk_splits s;
    struct sk_llm_client *client = NULL;
    struct sk_llm_client_opts lo;
    struct sk_demo_opt *opt;
    struct sk_demo_sim *sim = NULL;
    struct sk_train_opts to;
    struct sk_error err;
    const char *opts[3];
    char *conf = tu_source_path("configs/demo.yaml");
    char *data = tu_source_path("data/demo");
    char *skill = tu_source_path("skills/demo/initial.md");
    char o1[4096], o2[4096];

    snprintf(o1, sizeof o1, "env.split_dir=%s", data);
    snprintf(o2, sizeof o2, "env.skill_init=%s", skill);
    opts[0] = o1;
    opts[1] = o2;
    opts[2] = "train.num_epochs=1";
    memset(&a, 0, sizeof a);
    a.path = conf;
    a.cfg_options = opts;
    a.n_cfg_options = 3;
    sk_config_init(&cfg);
    sk_splits_init(&s);
    if (sk_config_load(&a, &cfg, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_split_opts_init(&so);
    so.mode = cfg.split_mode;
    so.split_dir = cfg.split_dir;
    so.seed = cfg.seed;
    if (sk_splits_load(&so, &s, &err) != SK_OK)
        fail_msg("%s", err.msg);
    opt = sk_demo_opt_new((uint64_t)cfg.seed);
    assert_non_null(opt);
    assert_int_equal(sk_demo_sim_new(cfg.split_dir, (uint64_t)cfg.seed,
                                     sk_demo_opt_respond, opt, &sim, &err),
                     SK_OK);
    memset(&lo, 0, sizeof lo);
    lo.run_dir = out;
    lo.sim_responder = demo_respond;
    lo.sim_ud = sim;
    assert_int_equal(sk_fs_mkdirs(out, &err), SK_OK);
    assert_int_equal(sk_llm_client_new(&cfg, &lo, &client, &err), SK_OK);
    memset(&to, 0, sizeof to);
    to.cfg = &cfg;
    to.splits = &s;
    to.skill_init_path = cfg.skill_init;
    to.out_root = out;
    to.client = client;
    if (sk_train_run(&to, &demo_res, &err) != SK_OK)
        fail_msg("%s", err.msg);
    sk_llm_client_free(client);
    sk_demo_sim_free(sim);
    sk_demo_opt_free(opt);
    sk_splits_release(&s);
    sk_config_release(&cfg);
    sk_free(conf);
    sk_free(data);
    sk_free(skill);
}

static long dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return (long)pid;
}

#define TS0 "2026-11-25T10:00:00.000Z"
#define START_LIVE                                                             \
    "{\"ts\": \"" TS0 "\", \"type\": \"run_start\", \"total_steps\": 12, "     \
    "\"benchmark\": \"searchqa\", \"target_model\": \"t-model\", "             \
    "\"optimizer_model\": \"o-model\"}"

static int setup(void **state)
{
    char pidtext[32];
    char *p;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmp = tu_mkdtemp();
    runs = path_in(tmp, "runs");
    demo = path_in(runs, "exp/demo");
    train_demo(demo);
    write_file(tmp, "secret.txt", "TOPSECRET\n");
    /* links out of the run */
    p = path_in(tmp, "secret.txt");
    {
        char *l1 = path_in(demo, "leak"), *l2 = path_in(demo, "leakdir");
        assert_int_equal(symlink(p, l1), 0);
        assert_int_equal(symlink(tmp, l2), 0);
        sk_free(l1);
        sk_free(l2);
    }
    sk_free(p);
    /* a link inside the run is fine */
    {
        char *l = path_in(demo, "best_link.md");
        assert_int_equal(symlink("best_skill.md", l), 0);
        sk_free(l);
    }
    write_file(demo, "notes/inert.md",
               "<script>alert(1)</script><img src=x onerror=alert(2)>\n");

    /* live: our own pid, no run_end; resumed once */
    write_file(runs, "live/events.jsonl", "");
    append_line(runs, "live/events.jsonl", START_LIVE);
    append_line(runs, "live/events.jsonl",
                "{\"ts\": \"2026-11-25T10:00:01.000Z\", \"type\": \"gate\", "
                "\"step\": 1, \"previous_score\": 0.25, \"current_score\": "
                "0.5}");
    append_line(runs, "live/events.jsonl",
                "{\"ts\": \"2026-11-25T10:00:02.000Z\", \"type\": \"run_end\", "
                "\"status\": \"interrupted\", \"best_score\": 0.5}");
    append_line(runs, "live/events.jsonl", START_LIVE);
    append_line(runs, "live/events.jsonl",
                "{\"ts\": \"2026-11-25T10:01:40.500Z\", \"type\": \"spend\", "
                "\"total_tokens\": 1000, \"cost_usd\": 0.12}");
    write_file(runs, "live/runtime_state.json",
               "{\"last_completed_step\": 3, \"best_score\": 0.75}");
    snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
    write_file(runs, "live/skillopt.pid", pidtext);

    /* dead: the same files, a pid that is gone */
    write_file(runs, "dead/events.jsonl", START_LIVE "\n");
    snprintf(pidtext, sizeof pidtext, "%ld\n", dead_pid());
    write_file(runs, "dead/skillopt.pid", pidtext);

    /* ended by the budget; and failed */
    write_file(runs, "budget/events.jsonl",
               START_LIVE "\n{\"ts\": \"" TS0 "\", \"type\": \"run_end\", "
                          "\"status\": \"budget\", \"best_score\": 0.4}\n");
    write_file(runs, "failed/events.jsonl",
               START_LIVE "\n{\"ts\": \"" TS0 "\", \"type\": \"run_end\", "
                          "\"status\": \"failed\", \"best_score\": -1.0}\n");
    /* not runs: too deep, hidden, no marker file */
    write_file(runs, "a/b/c/d/history.json", "[]");
    write_file(runs, ".hidden/history.json", "[]");
    write_file(runs, "empty/readme.txt", "no run here");
    {
        struct sk_ui_opts o;
        struct sk_error err;
        memset(&o, 0, sizeof o);
        o.runs_dir = runs;
        o.port = 0;
        if (sk_ui_start(&o, &ui, &err) != SK_OK)
            fail_msg("%s", err.msg);
        port = sk_ui_port(ui);
        assert_true(port > 0);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sk_ui_stop(ui);
    tu_rmtree(tmp);
    sk_free(tmp);
    sk_free(runs);
    sk_free(demo);
    curl_global_cleanup();
    return 0;
}

/* ---- the run list -------------------------------------------------------- */

static void test_ui__runs_lists_demo(void **state)
{
    json_t *all = get_json("/api/runs", 200), *row = NULL, *r;
    size_t i;
    const char *ids[16];
    size_t n = 0;

    (void)state;
    json_array_foreach(json_object_get(all, "runs"), i, r)
    {
        ids[n++] = json_string_value(json_object_get(r, "id"));
        if (strcmp(ids[n - 1], "exp/demo") == 0)
            row = r;
    }
    /* sorted; too deep, hidden and marker-less directories left out */
    assert_int_equal(n, 5);
    assert_string_equal(ids[0], "budget");
    assert_string_equal(ids[1], "dead");
    assert_string_equal(ids[2], "exp/demo");
    assert_string_equal(ids[3], "failed");
    assert_string_equal(ids[4], "live");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "status")),
                        "finished");
    assert_string_equal(json_string_value(json_object_get(row, "benchmark")),
                        "demo");
    assert_string_equal(json_string_value(json_object_get(row, "target_model")),
                        "sim-target");
    assert_true(fabs(json_number_value(json_object_get(row, "best_score")) -
                     demo_res.best_score) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(row, "baseline_score")) -
                     demo_res.baseline_score) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(row, "test_hard")) -
                     demo_res.test_hard) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(row, "steps_done")),
                     demo_res.steps_done);
    assert_int_equal(json_integer_value(json_object_get(row, "total_steps")),
                     demo_res.total_steps);
    assert_true(json_is_string(json_object_get(row, "started")));
    assert_true(json_number_value(json_object_get(row, "duration_s")) >= 0);
    assert_true(json_integer_value(json_object_get(row, "tokens")) > 0);
    assert_true(json_is_number(json_object_get(row, "cost_usd")));
    json_decref(all);
}

static void test_ui__status_rules(void **state)
{
    static const struct {
        const char *id, *status;
    } cases[] = {{"live", "running"},
                 {"dead", "interrupted"},
                 {"budget", "budget"},
                 {"failed", "failed"}};
    json_t *row;
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        row = run_row(cases[i].id);
        assert_non_null(row);
        assert_string_equal(json_string_value(json_object_get(row, "status")),
                            cases[i].status);
        json_decref(row);
    }
    /* the live run's figures come from its files */
    row = run_row("live");
    assert_string_equal(json_string_value(json_object_get(row, "benchmark")),
                        "searchqa");
    assert_true(json_number_value(json_object_get(row, "baseline_score")) ==
                0.25);
    assert_true(json_number_value(json_object_get(row, "best_score")) == 0.75);
    assert_true(json_number_value(json_object_get(row, "cost_usd")) == 0.12);
    assert_int_equal(json_integer_value(json_object_get(row, "tokens")), 1000);
    assert_int_equal(json_integer_value(json_object_get(row, "steps_done")), 3);
    assert_int_equal(json_integer_value(json_object_get(row, "total_steps")),
                     12);
    assert_string_equal(json_string_value(json_object_get(row, "started")),
                        TS0);
    assert_true(json_number_value(json_object_get(row, "duration_s")) == 100.5);
    assert_true(json_is_null(json_object_get(row, "test_hard")));
    json_decref(row);
    /* best_score -1 means unknown */
    row = run_row("failed");
    assert_true(json_is_null(json_object_get(row, "best_score")));
    json_decref(row);
}

/* A run appearing after the server started is found. */
static void test_ui__new_run_found(void **state)
{
    json_t *row;

    (void)state;
    assert_null(run_row("later/one"));
    write_file(runs, "later/one/history.json", "[]");
    row = run_row("later/one");
    assert_non_null(row);
    assert_string_equal(json_string_value(json_object_get(row, "status")),
                        "interrupted");
    json_decref(row);
}

/* ---- one run ------------------------------------------------------------- */

static void test_ui__run_state(void **state)
{
    json_t *v = get_json("/api/run?run=exp%2Fdemo", 200), *hist, *last;
    char *want;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(v, "id")),
                        "exp/demo");
    assert_string_equal(json_string_value(json_object_get(v, "status")),
                        "finished");
    hist = json_object_get(v, "history");
    assert_int_equal(json_array_size(hist), demo_res.steps_done);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(hist, 0), "step")),
        1);
    assert_true(json_is_object(json_object_get(v, "summary")));
    assert_true(json_is_object(json_object_get(v, "config")));
    assert_true(json_is_object(json_object_get(v, "runtime_state")));
    last = json_object_get(v, "last_event");
    assert_string_equal(json_string_value(json_object_get(last, "type")),
                        "run_end");
    json_decref(v);
    /* the history is the file's own text, numbers as the trainer wrote
     * them (0.225, not 0.22500000000000001) */
    {
        struct resp r;
        char *p = path_in(demo, "history.json");
        want = tu_read(p, NULL);
        get("/api/run?run=exp/demo", &r);
        assert_non_null(strstr(sk_buf_cstr(&r.body), want));
        assert_null(strstr(sk_buf_cstr(&r.body), "0000000001"));
        resp_release(&r);
        sk_free(want);
        sk_free(p);
    }

    /* a run without the files: nulls and an empty history */
    v = get_json("/api/run?run=dead", 200);
    assert_true(json_is_null(json_object_get(v, "summary")));
    assert_true(json_is_null(json_object_get(v, "config")));
    assert_int_equal(json_array_size(json_object_get(v, "history")), 0);
    json_decref(v);
}

/* Files that do not parse give null / [] and a warning, never bad JSON;
 * a history is checked row by row, whatever its layout. */
static void test_ui__run_bad_files(void **state)
{
    static const struct {
        const char *history, *summary;
        size_t rows;
        size_t warnings;
    } cases[] = {
        {"[{\"step\": 1}, {\"step\": 2}]", "{}", 2, 0},
        {" [\n {\"step\": 1} ,\n{\"step\":2} ,3, \"x\", [1, {}]\n]\n", "{}", 5,
         0},
        {"[]", "{}", 0, 0},
        {"[{\"step\": 1}, {\"step\": NaN}]", "{\"a\": 1", 0, 2},
        {"[{\"step\": 1},]", "[]", 0, 2},
        {"[{\"step\": 1}", "{} {}", 0, 2},
        {"[{\"step\": 1}] x", "{}", 0, 1},
        {"{\"step\": 1}", "{}", 0, 1},
        {"", "{}", 0, 1},
        {"[\"\\u00e9\", \"\xff\"]", "{}", 0, 1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        json_t *v, *w;
        write_file(runs, "broken/history.json", cases[i].history);
        write_file(runs, "broken/summary.json", cases[i].summary);
        v = get_json("/api/run?run=broken", 200);
        if (json_array_size(json_object_get(v, "history")) != cases[i].rows)
            fail_msg("case %zu: %zu rows", i,
                     json_array_size(json_object_get(v, "history")));
        assert_true(json_is_array(json_object_get(v, "history")));
        w = json_object_get(v, "warnings");
        assert_int_equal(json_array_size(w), cases[i].warnings);
        if (cases[i].warnings == 0)
            assert_null(w);
        if (strcmp(cases[i].summary, "{}") != 0)
            assert_true(json_is_null(json_object_get(v, "summary")));
        json_decref(v);
    }
}

static void test_ui__unknown_run(void **state)
{
    static const char *const targets[] = {
        "/api/run?run=nope",
        "/api/run?run=exp",
        "/api/run?run=..%2Fruns%2Fexp%2Fdemo",
        "/api/run?run=exp%2F..%2Fexp%2Fdemo",
        "/api/run?run=%2Ftmp",
        "/api/file?run=nope&path=history.json",
        "/api/ls?run=a%2Fb%2Fc%2Fd",
        "/api/events?run=.hidden",
    };
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(targets); i++) {
        json_t *v = get_json(targets[i], 404);
        assert_string_equal(json_string_value(json_object_get(v, "error")),
                            "unknown run");
        json_decref(v);
    }
    json_decref(get_json("/api/run", 400));
    json_decref(get_json("/api/file?path=history.json", 400));
}

/* ---- files --------------------------------------------------------------- */

static void check_file(const char *rel_query, const char *rel,
                       const char *ctype)
{
    struct resp r;
    char target[512], ct[128], *want, *p;
    size_t n;

    snprintf(target, sizeof target, "/api/file?run=exp/demo&path=%s",
             rel_query);
    get(target, &r);
    assert_int_equal(r.status, 200);
    p = path_in(demo, rel);
    want = tu_read(p, &n);
    assert_non_null(want);
    assert_int_equal(r.body.len, n);
    assert_memory_equal(r.body.data, want, n);
    assert_true(header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, ctype);
    sk_free(want);
    sk_free(p);
    resp_release(&r);
}

static void test_ui__file(void **state)
{
    (void)state;
    check_file("best_skill.md", "best_skill.md", "text/plain; charset=utf-8");
    check_file("history.json", "history.json", "application/json");
    check_file("steps%2Fstep_0001%2Frollout%2Fresults.jsonl",
               "steps/step_0001/rollout/results.jsonl",
               "text/plain; charset=utf-8");
    check_file("./steps/step_0001//step_record.json",
               "steps/step_0001/step_record.json", "application/json");
    /* a symlink that stays inside the run is followed */
    check_file("best_link.md", "best_skill.md", "text/plain; charset=utf-8");
    /* HTML in a file is served as inert text */
    check_file("notes/inert.md", "notes/inert.md", "text/plain; charset=utf-8");
    json_decref(get_json("/api/file?run=exp/demo&path=nope.json", 404));
    json_decref(get_json("/api/file?run=exp/demo&path=steps", 400));
    json_decref(get_json("/api/file?run=exp/demo", 400));
    json_decref(get_json("/api/file?run=exp/demo&path=", 400));
}

static void test_ui__ls(void **state)
{
    json_t *v = get_json("/api/ls?run=exp/demo", 200), *e, *prev = NULL;
    size_t i;
    int saw_steps = 0, saw_best = 0;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(v, "path")), "");
    json_array_foreach(json_object_get(v, "entries"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (prev)
            assert_true(strcmp(json_string_value(json_object_get(prev, "name")),
                               name) < 0);
        prev = e;
        if (strcmp(name, "steps") == 0) {
            saw_steps = 1;
            assert_true(json_is_true(json_object_get(e, "dir")));
        }
        if (strcmp(name, "best_skill.md") == 0) {
            struct stat st;
            char *p = path_in(demo, "best_skill.md");
            assert_int_equal(stat(p, &st), 0);
            saw_best = 1;
            assert_true(json_is_false(json_object_get(e, "dir")));
            assert_int_equal(json_integer_value(json_object_get(e, "size")),
                             st.st_size);
            sk_free(p);
        }
        /* links out of the run are not listed */
        assert_string_not_equal(name, "leak");
        assert_string_not_equal(name, "leakdir");
    }
    assert_true(saw_steps && saw_best);
    json_decref(v);
    v = get_json("/api/ls?run=exp/demo&path=steps/step_0001/patches", 200);
    assert_string_equal(json_string_value(json_object_get(v, "path")),
                        "steps/step_0001/patches");
    assert_true(json_array_size(json_object_get(v, "entries")) > 0);
    json_decref(v);
    json_decref(get_json("/api/ls?run=exp/demo&path=history.json", 400));
    json_decref(get_json("/api/ls?run=exp/demo&path=nope", 404));
}

/* Every way out of the run is refused, and never with the file's bytes. */
static void test_ui__traversal(void **state)
{
    static const struct {
        const char *target;
        long status;
    } cases[] = {
        {"/api/file?run=exp/demo&path=../../secret.txt", 400},
        {"/api/file?run=exp/demo&path=%2e%2e/%2e%2e/secret.txt", 400},
        {"/api/file?run=exp/demo&path=..%2f..%2fsecret.txt", 400},
        {"/api/file?run=exp/demo&path=%2E%2E%2F%2E%2E%2Fsecret.txt", 400},
        {"/api/file?run=exp/demo&path=steps/..%2f..%2f..%2fsecret.txt", 400},
        {"/api/file?run=exp/demo&path=steps/../../../secret.txt", 400},
        {"/api/file?run=exp/demo&path=/etc/passwd", 400},
        {"/api/file?run=exp/demo&path=%2fetc%2fpasswd", 400},
        {"/api/file?run=exp/demo&path=..", 400},
        {"/api/file?run=exp/demo&path=..%5c..%5csecret.txt", 400},
        {"/api/file?run=exp/demo&path=steps%5cstep_0001", 400},
        {"/api/file?run=exp/demo&path=best_skill.md%00.json", 400},
        {"/api/file?run=exp/demo&path=%00", 400},
        {"/api/file?run=exp%2fdemo%00&path=best_skill.md", 400},
        {"/api/file?run=exp/demo&path=a%0ab", 400},
        {"/api/file?run=exp/demo&path=leak", 403},
        {"/api/file?run=exp/demo&path=leakdir/secret.txt", 403},
        /* out and back in: the file itself is inside, so it is served */
        {"/api/file?run=exp/demo&path=leakdir/runs/exp/demo/best_skill.md",
         200},
        {"/api/file?run=exp/demo&path=%252e%252e/%252e%252e/secret.txt", 404},
        {"/api/ls?run=exp/demo&path=..", 400},
        {"/api/ls?run=exp/demo&path=%2e%2e%2f%2e%2e", 400},
        {"/api/ls?run=exp/demo&path=%2ftmp", 400},
        {"/api/ls?run=exp/demo&path=leakdir", 403},
        {"/%2e%2e/%2e%2e/secret.txt", 404},
        {"/../../secret.txt", 404},
        {"/..%2f..%2fsecret.txt", 404},
        {"/api/..%2f..%2fsecret.txt", 404},
    };
    char *abs = path_in(tmp, "secret.txt"), target[4096];
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(cases); i++) {
        struct resp r;
        get(cases[i].target, &r);
        if (r.status != cases[i].status)
            fail_msg("%s: status %ld, want %ld (%s)", cases[i].target, r.status,
                     cases[i].status, sk_buf_cstr(&r.body));
        assert_null(strstr(sk_buf_cstr(&r.body), "TOPSECRET"));
        assert_null(strstr(sk_buf_cstr(&r.body), "root:"));
        resp_release(&r);
    }
    /* the absolute path of the file itself */
    snprintf(target, sizeof target, "/api/file?run=exp/demo&path=%s", abs);
    {
        struct resp r;
        get(target, &r);
        assert_int_equal(r.status, 400);
        assert_null(strstr(sk_buf_cstr(&r.body), "TOPSECRET"));
        resp_release(&r);
    }
    sk_free(abs);
}

static void test_ui__too_big(void **state)
{
    char *p = path_in(demo, "big.jsonl");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct resp r;

    (void)state;
    assert_true(fd >= 0);
    /* sparse: 16 MiB + 1 byte, no disk used */
    assert_int_equal(ftruncate(fd, ((off_t)16 << 20) + 1), 0);
    close(fd);
    get("/api/file?run=exp/demo&path=big.jsonl", &r);
    assert_int_equal(r.status, 413);
    assert_true(r.body.len < 200);
    resp_release(&r);
    /* exactly the cap is served */
    fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)16 << 20), 0);
    close(fd);
    get("/api/file?run=exp/demo&path=big.jsonl", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, (size_t)16 << 20);
    resp_release(&r);
    unlink(p);
    sk_free(p);
}

/* ---- methods, headers, embedded files ----------------------------------- */

static void test_ui__methods(void **state)
{
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH",
                                          "OPTIONS"};
    size_t i;
    struct resp r;
    char allow[64];

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(methods); i++) {
        request(methods[i], "/api/runs", NULL, &r);
        assert_int_equal(r.code, CURLE_OK);
        assert_int_equal(r.status, 405);
        assert_true(header(&r, "Allow", allow, sizeof allow));
        assert_string_equal(allow, "GET, HEAD");
        resp_release(&r);
    }
    request("HEAD", "/api/runs", NULL, &r);
    assert_int_equal(r.code, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    resp_release(&r);
}

static void test_ui__headers_and_assets(void **state)
{
    static const char *const targets[] = {"/", "/app.js", "/app.css",
                                          "/api/runs", "/nope"};
    static const long status[] = {200, 200, 200, 200, 404};
    size_t i;
    char v[512];

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(targets); i++) {
        struct resp r;
        get(targets[i], &r);
        assert_int_equal(r.status, status[i]);
        assert_true(header(&r, "Content-Security-Policy", v, sizeof v));
        assert_string_equal(v, "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; "
                               "connect-src 'self'");
        assert_true(header(&r, "X-Content-Type-Options", v, sizeof v));
        assert_string_equal(v, "nosniff");
        assert_true(header(&r, "Referrer-Policy", v, sizeof v));
        assert_string_equal(v, "no-referrer");
        assert_true(header(&r, "Cache-Control", v, sizeof v));
        if (strncmp(targets[i], "/api/", 5) == 0)
            assert_string_equal(v, "no-store");
        assert_true(header(&r, "Content-Type", v, sizeof v));
        if (i == 0) {
            assert_string_equal(v, "text/html; charset=utf-8");
            assert_non_null(strstr(sk_buf_cstr(&r.body), "<html"));
        }
        if (i == 1)
            assert_string_equal(v, "text/javascript; charset=utf-8");
        if (i == 2)
            assert_string_equal(v, "text/css; charset=utf-8");
        resp_release(&r);
    }
}

static void test_ui__preddir(void **state)
{
    static const char *const ids[] = {"train-019", "a/b", "..", "x y"};
    static const char *const encoded[] = {"train-019", "a%2Fb", "..", "x%20y"};
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(ids); i++) {
        struct sk_buf b;
        char target[256];
        json_t *v;
        snprintf(target, sizeof target, "/api/preddir?id=%s", encoded[i]);
        v = get_json(target, 200);
        sk_buf_init(&b, 4096);
        assert_int_equal(sk_rollout_pred_dir(ids[i], &b), SK_OK);
        assert_string_equal(json_string_value(json_object_get(v, "dir")),
                            sk_buf_cstr(&b));
        sk_buf_release(&b);
        json_decref(v);
    }
    json_decref(get_json("/api/preddir", 400));
}

/* A page on another host name pointed at 127.0.0.1 is refused. */
static void test_ui__host_check(void **state)
{
    char hdr[128];
    struct resp r;

    (void)state;
    request(NULL, "/api/runs", "Host: evil.example", &r);
    assert_int_equal(r.status, 403);
    resp_release(&r);
    snprintf(hdr, sizeof hdr, "Host: evil.example:%d", port);
    request(NULL, "/api/runs", hdr, &r);
    assert_int_equal(r.status, 403);
    resp_release(&r);
    snprintf(hdr, sizeof hdr, "Host: localhost:%d", port);
    request(NULL, "/api/runs", hdr, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    snprintf(hdr, sizeof hdr, "Host: 127.0.0.1:%d", port + 1);
    request(NULL, "/api/runs", hdr, &r);
    assert_int_equal(r.status, 403);
    resp_release(&r);
}

/* ---- robustness ---------------------------------------------------------- */

static void expect_alive(void)
{
    struct resp r;
    double t0 = now_s();

    get("/api/runs", &r);
    assert_int_equal(r.status, 200);
    assert_true(now_s() - t0 < 5.0);
    resp_release(&r);
}

static void test_ui__malformed_requests(void **state)
{
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", /* HTTP/1.1 without Host */
        "GET /api/runs HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
        "\x01\x02\x03\xff\xfe\r\n\r\n",
        "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
        "-5\r\n\r\n",
        "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
        "abc\r\n\r\n",
    };
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(bad); i++) {
        int fd = raw_connect();
        char *got;
        raw_send(fd, bad[i], strlen(bad[i]));
        got = raw_read(fd, 3.0);
        /* an error status or a closed connection, never a 200 */
        assert_null(strstr(got, " 200 "));
        sk_free(got);
        close(fd);
    }
    /* a header far beyond the connection's memory */
    {
        int fd = raw_connect();
        char *big = sk_malloc(200000), *got;
        memset(big, 'a', 200000);
        const char *head = "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "X-Big: ";
        raw_send(fd, head, strlen(head));
        raw_send(fd, big, 200000);
        raw_send(fd, "\r\n\r\n", 4);
        got = raw_read(fd, 3.0);
        assert_null(strstr(got, " 200 "));
        sk_free(got);
        sk_free(big);
        close(fd);
    }
    /* a request line far beyond it */
    {
        int fd = raw_connect();
        char *big = sk_malloc(100000), *got;
        memset(big, 'a', 100000);
        raw_send(fd, "GET /", 5);
        raw_send(fd, big, 100000);
        raw_send(fd, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                 strlen(" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        got = raw_read(fd, 3.0);
        assert_null(strstr(got, " 200 "));
        sk_free(got);
        sk_free(big);
        close(fd);
    }
    expect_alive();
}

/* Clients that send half a request and wait do not hold up the rest. */
static void test_ui__slow_requests(void **state)
{
    int fds[16];
    size_t i;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(fds); i++) {
        fds[i] = raw_connect();
        raw_send(fds[i], "GET /api/runs HTTP/1.1\r\nHo", 26);
    }
    expect_alive();
    /* a raw well-formed request still works next to them */
    {
        int fd = raw_connect();
        char req[128], *got;
        snprintf(req, sizeof req,
                 "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Connection: close\r\n\r\n",
                 port);
        raw_send(fd, req, strlen(req));
        got = raw_read(fd, 5.0);
        assert_non_null(strstr(got, "HTTP/1.1 200"));
        assert_non_null(strstr(got, "\"exp/demo\""));
        sk_free(got);
        close(fd);
    }
    for (i = 0; i < SK_ARRAY_LEN(fds); i++)
        close(fds[i]);
    expect_alive();
}

/* ---- event streams ------------------------------------------------------- */

struct stream {
    CURL *h;
    struct resp r;
    struct curl_slist *hdrs;
};

static void stream_open(CURLM *m, struct stream *s, const char *target,
                        const char *extra)
{
    resp_init(&s->r);
    s->h = new_handle(target, &s->r);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 0L);
    /* libcurl 7.88 keeps the connection of a transfer removed midway and
     * sends the next request on it; a browser's EventSource.close()
     * closes it, which is what the server must notice */
    curl_easy_setopt(s->h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(s->h, CURLOPT_FRESH_CONNECT, 1L);
    s->hdrs = extra ? curl_slist_append(NULL, extra) : NULL;
    if (s->hdrs)
        curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
    curl_multi_add_handle(m, s->h);
}

static void stream_close(CURLM *m, struct stream *s)
{
    curl_multi_remove_handle(m, s->h);
    curl_easy_cleanup(s->h);
    curl_slist_free_all(s->hdrs);
    resp_release(&s->r);
}

/* Drives m until s's body holds needle; seconds taken, or -1 after
 * timeout_s. */
static double pump_until(CURLM *m, struct stream *s, const char *needle,
                         double timeout_s)
{
    double t0 = now_s();
    int running;

    while (now_s() - t0 < timeout_s) {
        curl_multi_perform(m, &running);
        if (strstr(sk_buf_cstr(&s->r.body), needle))
            return now_s() - t0;
        curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    return -1;
}

static void test_ui__events_live(void **state)
{
    CURLM *m = curl_multi_init();
    struct stream s;
    const char *body;
    char line[256];
    double took;

    (void)state;
    stream_open(m, &s, "/api/events?run=live", NULL);
    assert_true(pump_until(m, &s, "id: 4\n", 5.0) >= 0);
    body = sk_buf_cstr(&s.r.body);
    assert_non_null(strstr(body,
                           "id: 0\nevent: run_start\ndata: {\"ts\": \"" TS0
                           "\", \"type\": \"run_start\""));
    assert_non_null(strstr(body, "id: 1\nevent: gate\n"));
    assert_non_null(strstr(body, "id: 4\nevent: spend\n"));
    /* a new line arrives within 2 s */
    snprintf(line, sizeof line,
             "{\"ts\": \"2026-11-25T10:05:00.000Z\", \"type\": \"step_end\", "
             "\"step\": 4}");
    append_line(runs, "live/events.jsonl", line);
    took = pump_until(m, &s, "id: 5\nevent: step_end\ndata: ", 2.0);
    assert_true(took >= 0 && took < 2.0);
    /* a line being written shows only once complete; junk is skipped */
    {
        char *p = path_in(runs, "live/events.jsonl");
        FILE *fp = fopen(p, "a");
        fputs("not json\n{\"type\": \"a\\nb\", \"x\": 1}\n{\"type\": \"half",
              fp);
        fclose(fp);
        took = pump_until(m, &s, "id: 7\n", 1.0);
        assert_true(took >= 0);
        assert_null(strstr(sk_buf_cstr(&s.r.body), "id: 6\n"));
        /* an unsafe type becomes the default event name */
        assert_non_null(
            strstr(sk_buf_cstr(&s.r.body), "id: 7\nevent: message\n"));
        assert_null(strstr(sk_buf_cstr(&s.r.body), "id: 8\n"));
        fp = fopen(p, "a");
        fputs("\", \"y\": 2}\n", fp);
        fclose(fp);
        assert_true(pump_until(m, &s, "id: 8\nevent: half\n", 2.0) >= 0);
        sk_free(p);
    }
    {
        char ct[64];
        assert_true(header(&s.r, "Content-Type", ct, sizeof ct));
        assert_string_equal(ct, "text/event-stream");
    }
    stream_close(m, &s);

    /* from=N and Last-Event-ID resume */
    stream_open(m, &s, "/api/events?run=live&from=4", NULL);
    assert_true(pump_until(m, &s, "id: 5\n", 5.0) >= 0);
    assert_null(strstr(sk_buf_cstr(&s.r.body), "id: 3\n"));
    assert_non_null(strstr(sk_buf_cstr(&s.r.body), "id: 4\n"));
    stream_close(m, &s);
    stream_open(m, &s, "/api/events?run=live", "Last-Event-ID: 4");
    assert_true(pump_until(m, &s, "id: 5\n", 5.0) >= 0);
    assert_null(strstr(sk_buf_cstr(&s.r.body), "id: 4\n"));
    stream_close(m, &s);
    curl_multi_cleanup(m);

    json_decref(get_json("/api/events?run=live&from=-1", 400));
    json_decref(get_json("/api/events?run=live&from=x", 400));
}

/* A stream opened before events.jsonl exists picks it up when it appears. */
static void test_ui__events_file_appears(void **state)
{
    CURLM *m = curl_multi_init();
    struct stream s;

    (void)state;
    write_file(runs, "fresh/runtime_state.json", "{}");
    stream_open(m, &s, "/api/events?run=fresh", NULL);
    assert_true(pump_until(m, &s, ": connected", 5.0) >= 0);
    write_file(runs, "fresh/events.jsonl", START_LIVE "\n");
    assert_true(pump_until(m, &s, "id: 0\nevent: run_start\n", 2.0) >= 0);
    stream_close(m, &s);
    curl_multi_cleanup(m);
}

/* 32 streams at most; a stream whose client left frees its place. */
static void test_ui__events_cap(void **state)
{
    CURLM *m = curl_multi_init();
    struct stream s[32];
    size_t i;
    int ok = 0;

    (void)state;
    for (i = 0; i < SK_ARRAY_LEN(s); i++)
        stream_open(m, &s[i], "/api/events?run=dead", NULL);
    for (i = 0; i < SK_ARRAY_LEN(s); i++)
        if (pump_until(m, &s[i], "id: 0\n", 10.0) < 0)
            fail_msg("stream %zu: %s", i, sk_buf_cstr(&s[i].r.headers));
    json_decref(get_json("/api/events?run=dead", 503));
    for (i = 0; i < SK_ARRAY_LEN(s); i++)
        stream_close(m, &s[i]);
    /* the server sees the clients go within a poll period, long before a
     * keepalive write (15 s) would find the sockets dead */
    for (i = 0; i < 6 && !ok; i++) {
        struct stream t;
        stream_open(m, &t, "/api/events?run=dead", NULL);
        ok = pump_until(m, &t, "id: 0\n", 0.5) >= 0;
        stream_close(m, &t);
    }
    assert_true(ok);
    curl_multi_cleanup(m);
}

/* ---- other modes --------------------------------------------------------- */

static void test_ui__single_run(void **state)
{
    struct sk_ui_opts o;
    struct sk_ui *one;
    struct sk_error err;
    int saved = port;
    json_t *v;

    (void)state;
    memset(&o, 0, sizeof o);
    o.single_run = demo;
    assert_int_equal(sk_ui_start(&o, &one, &err), SK_OK);
    port = sk_ui_port(one);
    v = get_json("/api/runs", 200);
    assert_int_equal(json_array_size(json_object_get(v, "runs")), 1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(v, "runs"), 0), "id")),
        "demo");
    json_decref(v);
    json_decref(get_json("/api/run?run=demo", 200));
    json_decref(get_json("/api/run?run=exp%2Fdemo", 404));
    json_decref(
        get_json("/api/file?run=demo&path=../../live/events.jsonl", 400));
    /* stopping with a stream open ends the stream at once */
    {
        CURLM *m = curl_multi_init();
        struct stream s;
        double t0;
        stream_open(m, &s, "/api/events?run=demo", NULL);
        assert_true(pump_until(m, &s, "id: 0\n", 5.0) >= 0);
        t0 = now_s();
        sk_ui_stop(one);
        assert_true(now_s() - t0 < 1.0);
        stream_close(m, &s);
        curl_multi_cleanup(m);
    }
    port = saved;
}

static void test_ui__bad_options(void **state)
{
    struct sk_ui_opts o;
    struct sk_ui *x = NULL;
    struct sk_error err;
    char url[64];

    (void)state;
    memset(&o, 0, sizeof o);
    assert_int_equal(sk_ui_start(&o, &x, &err), SK_EINVAL); /* neither */
    o.runs_dir = runs;
    o.single_run = demo;
    assert_int_equal(sk_ui_start(&o, &x, &err), SK_EINVAL); /* both */
    o.single_run = NULL;
    o.runs_dir = "/nonexistent/dir";
    assert_int_equal(sk_ui_start(&o, &x, &err), SK_EINVAL);
    o.runs_dir = runs;
    o.port = 70000;
    assert_int_equal(sk_ui_start(&o, &x, &err), SK_EINVAL);
    assert_null(x);
    sk_ui_url(ui, url, sizeof url);
    {
        char want[64];
        snprintf(want, sizeof want, "http://127.0.0.1:%d/", port);
        assert_string_equal(url, want);
    }
}

static void test_ui__busy_port(void **state)
{
    struct sk_ui_opts o;
    struct sk_ui *x = NULL;
    struct sk_error err;

    (void)state;
    memset(&o, 0, sizeof o);
    o.runs_dir = runs;
    o.port = port; /* taken by the main server */
    o.port_tries = 1;
    assert_int_equal(sk_ui_start(&o, &x, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "in use"));
    assert_null(x);
    /* with tries the next free port is taken */
    o.port_tries = 21;
    if (port < 65535 - 21) {
        assert_int_equal(sk_ui_start(&o, &x, &err), SK_OK);
        assert_true(sk_ui_port(x) > port && sk_ui_port(x) <= port + 20);
        sk_ui_stop(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ui__runs_lists_demo),
        cmocka_unit_test(test_ui__status_rules),
        cmocka_unit_test(test_ui__new_run_found),
        cmocka_unit_test(test_ui__run_state),
        cmocka_unit_test(test_ui__run_bad_files),
        cmocka_unit_test(test_ui__unknown_run),
        cmocka_unit_test(test_ui__file),
        cmocka_unit_test(test_ui__ls),
        cmocka_unit_test(test_ui__traversal),
        cmocka_unit_test(test_ui__too_big),
        cmocka_unit_test(test_ui__methods),
        cmocka_unit_test(test_ui__headers_and_assets),
        cmocka_unit_test(test_ui__preddir),
        cmocka_unit_test(test_ui__host_check),
        cmocka_unit_test(test_ui__malformed_requests),
        cmocka_unit_test(test_ui__slow_requests),
        cmocka_unit_test(test_ui__events_live),
        cmocka_unit_test(test_ui__events_file_appears),
        cmocka_unit_test(test_ui__events_cap),
        cmocka_unit_test(test_ui__single_run),
        cmocka_unit_test(test_ui__bad_options),
        cmocka_unit_test(test_ui__busy_port),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
