/*
 * llm_engine.c - throughput and overhead of the request engine.
 *
 * N requests to the simulator (in a child process, so that only the
 * client's CPU is measured) with a fixed reply latency and a cap of C in
 * flight.  Reports wall time against the ideal N * latency / C, CPU time
 * per request, and peak RSS of the client.  See bench/README.md.
 *
 *   build/bench_llm_engine [-n 10000] [-c 256] [-l 200] [--layer engine|client]
 */
#include "common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "llm/client.h"
#include "llm/http.h"
#include "llm/sim.h"
#include "util/alloc.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Runs the simulator in a child; returns its pid and writes the port. */
static pid_t start_server(double latency_ms, int *port)
{
    int fds[2];
    pid_t pid;
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        struct sk_sim_faults f;
        struct sk_sim *s;
        struct sk_error err;
        int p;
        memset(&f, 0, sizeof f);
        f.latency_ms_min = latency_ms;
        if (sk_sim_start(NULL, NULL, &f, &s, &err) != SK_OK) {
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
    if (read(fds[0], port, sizeof *port) != (ssize_t)sizeof *port)
        return -1;
    close(fds[0]);
    return pid;
}

static const char body[] =
    "{\"model\":\"sim-target\",\"messages\":[{\"role\":\"user\",\"content\":"
    "\"What is the capital of France? Answer in one word.\"}],"
    "\"max_tokens\":16}";

static int run_engine(int n, int conc, int port)
{
    struct sk_engine_opts o;
    struct sk_engine *e;
    struct sk_error err;
    struct sk_http_call **calls;
    char url[128];
    int i, failed = 0;

    memset(&o, 0, sizeof o);
    o.max_in_flight = conc;
    o.max_total = conc;
    if (sk_engine_new(&o, &e, &err) != SK_OK) {
        fprintf(stderr, "engine: %s\n", err.msg);
        return -1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", port);
    calls = sk_calloc((size_t)n, sizeof *calls);
    for (i = 0; i < n; i++) {
        struct sk_http_request *r = sk_http_request_new("POST", url);
        sk_http_request_add_header(r, "Content-Type", "application/json");
        sk_http_request_set_body(r, body, sizeof body - 1);
        if (sk_engine_submit(e, r, &calls[i]) != SK_OK)
            return -1;
    }
    for (i = 0; i < n; i++) {
        const struct sk_http_response *resp = sk_http_call_wait(calls[i]);
        if (resp->outcome != SK_HTTP_OK)
            failed++;
        sk_http_call_free(calls[i]);
    }
    sk_free(calls);
    sk_engine_free(e);
    return failed;
}

static int run_client(int n, int conc, int port)
{
    struct sk_config cfg;
    struct sk_error err;
    struct sk_llm_client *c;
    struct sk_llm_request *reqs;
    struct sk_llm_message *msgs;
    struct sk_llm_result *res;
    char opt[3][160];
    const char *opts[3];
    struct sk_config_args a;
    char(*texts)[64];
    int i, failed = 0;
    FILE *fp;

    snprintf(opt[0], sizeof opt[0],
             "llm.target_base_url=http://127.0.0.1:%d/v1", port);
    snprintf(opt[1], sizeof opt[1], "llm.max_in_flight=%d", conc);
    snprintf(opt[2], sizeof opt[2], "llm.cache=off");
    for (i = 0; i < 3; i++)
        opts[i] = opt[i];
    fp = fopen("/tmp/skillopt-bench.yaml", "w");
    fputs("model:\n  optimizer_backend: openai_compatible\n"
          "  target_backend: openai_compatible\n  target: sim-target\n"
          "llm:\n  optimizer_base_url: http://127.0.0.1:9/v1\n",
          fp);
    fclose(fp);
    memset(&a, 0, sizeof a);
    a.path = "/tmp/skillopt-bench.yaml";
    a.cfg_options = opts;
    a.n_cfg_options = 3;
    sk_config_init(&cfg);
    if (sk_config_load(&a, &cfg, &err) != SK_OK ||
        sk_llm_client_new(&cfg, NULL, &c, &err) != SK_OK) {
        fprintf(stderr, "client: %s\n", err.msg);
        return -1;
    }
    reqs = sk_calloc((size_t)n, sizeof *reqs);
    msgs = sk_calloc((size_t)n, sizeof *msgs);
    res = sk_calloc((size_t)n, sizeof *res);
    texts = sk_calloc((size_t)n, sizeof *texts);
    for (i = 0; i < n; i++) {
        snprintf(texts[i], sizeof texts[i], "question %d: what is %d + %d?", i,
                 i, i);
        msgs[i].role = "user";
        msgs[i].content = texts[i];
        reqs[i].role = SK_ROLE_TARGET;
        reqs[i].stage = "rollout";
        reqs[i].messages = &msgs[i];
        reqs[i].n_messages = 1;
        reqs[i].max_tokens = 16;
    }
    sk_llm_call_batch(c, reqs, (size_t)n, res);
    for (i = 0; i < n; i++) {
        if (res[i].status != SK_OK)
            failed++;
        sk_llm_result_release(&res[i]);
    }
    sk_free(reqs);
    sk_free(msgs);
    sk_free(res);
    sk_free(texts);
    sk_llm_client_free(c);
    sk_config_release(&cfg);
    return failed;
}

int main(int argc, char **argv)
{
    int n = 10000, conc = 256, port = 0, i, failed;
    double lat = 200, t0, c0, wall, cpu, ideal;
    const char *layer = "engine";
    struct rusage ru;
    pid_t pid;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-n") == 0)
            n = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-c") == 0)
            conc = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "-l") == 0)
            lat = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "--layer") == 0)
            layer = argv[i + 1];
    }
    pid = start_server(lat, &port);
    if (pid < 0)
        return 1;
    t0 = now_s();
    c0 = cpu_s();
    failed = strcmp(layer, "client") == 0 ? run_client(n, conc, port)
                                          : run_engine(n, conc, port);
    wall = now_s() - t0;
    cpu = cpu_s() - c0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    getrusage(RUSAGE_SELF, &ru);
    ideal = (double)n * lat / 1000.0 / conc;
    printf("layer=%s requests=%d in_flight=%d latency_ms=%.0f failed=%d\n",
           layer, n, conc, lat, failed);
    printf("wall_s=%.3f ideal_s=%.3f ratio=%.3f\n", wall, ideal, wall / ideal);
    printf("cpu_ms_per_request=%.4f peak_rss_mb=%.1f\n", cpu * 1000.0 / n,
           (double)ru.ru_maxrss / 1024.0);
    return failed != 0;
}
