/*
 * azure_token.c - Microsoft Entra tokens for Azure OpenAI: from the Azure
 * CLI (`az account get-access-token`, spawned without a shell) or from a
 * managed identity endpoint (IMDS, or App Service's IDENTITY_ENDPOINT).
 * Tokens are cached per (mode, scope, client id) until 300 s before they
 * expire; one mutex serialises lookups so concurrent callers share a fetch.
 */
#include "common.h"

#include "llm/llm.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#define REFRESH_MARGIN_S 300
#define TOKEN_REPLY_MAX (1u << 20)
#define AZ_TIMEOUT_MS 60000
#define IMDS_URL "http://169.254.169.254/metadata/identity/oauth2/token"

extern char **environ;

struct cached_token {
    char *key; /* "mode\nscope\nclient" */
    char *token;
    int64_t expires_at; /* epoch seconds */
    struct cached_token *next;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cached_token *cache_head;

void sk_azure_token_cache_clear(void)
{
    struct cached_token *t, *n;
    pthread_mutex_lock(&cache_mu);
    for (t = cache_head; t; t = n) {
        n = t->next;
        sk_free(t->key);
        sk_free(t->token);
        sk_free(t);
    }
    cache_head = NULL;
    pthread_mutex_unlock(&cache_mu);
}

/* Parses an epoch given as a number or a decimal string; -1 if neither. */
static int64_t epoch_value(json_t *v)
{
    char *end;
    long long n;
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (!json_is_string(v))
        return -1;
    errno = 0;
    n = strtoll(json_string_value(v), &end, 10);
    if (errno || end == json_string_value(v) || *end)
        return -1;
    return (int64_t)n;
}

/* "2024-05-01 13:14:15.123456" in local time (the CLI's expiresOn). */
static int64_t local_time_value(const char *s)
{
    struct tm tm;
    const char *end;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end)
        return -1;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

/* Reads the token and its expiry from a JSON reply (CLI or MSI names). */
static int parse_token(const char *text, size_t len, const char *what,
                       char **token, int64_t *expires, struct sk_error *err)
{
    json_t *root = json_loadb(text, len, 0, NULL);
    json_t *tok;
    int64_t exp = -1;
    int st = SK_OK;

    tok = json_object_get(root, "accessToken");
    if (!json_is_string(tok))
        tok = json_object_get(root, "access_token");
    if (!json_is_string(tok) || !*json_string_value(tok)) {
        st = sk_error_set(err, SK_LLM_EAUTH, "%s: reply has no access token",
                          what);
        goto out;
    }
    exp = epoch_value(json_object_get(root, "expires_on"));
    if (exp < 0 && json_is_string(json_object_get(root, "expiresOn")))
        exp = local_time_value(
            json_string_value(json_object_get(root, "expiresOn")));
    if (exp < 0) {
        int64_t in = epoch_value(json_object_get(root, "expires_in"));
        exp = in >= 0 ? (int64_t)time(NULL) + in : (int64_t)time(NULL);
    }
    *token = sk_strdup(json_string_value(tok));
    if (!*token)
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
    *expires = exp;
out:
    json_decref(root);
    return st;
}

/* Runs argv with stdout and stderr captured (bounded, with a deadline). */
static int run_capture(char *const argv[], struct sk_buf *out,
                       struct sk_buf *errout, int *exit_code,
                       struct sk_error *err)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    int st = SK_OK, status = 0, open_fds, fa_ok = 0;
    struct timespec t0, t1;

    if (pipe(po) || pipe(pe)) {
        st = sk_error_set(err, SK_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa)) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    fa_ok = 1;
    if (posix_spawn_file_actions_adddup2(&fa, po[1], 1) ||
        posix_spawn_file_actions_adddup2(&fa, pe[1], 2) ||
        posix_spawn_file_actions_addclose(&fa, po[0]) ||
        posix_spawn_file_actions_addclose(&fa, pe[0]) ||
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    errno = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (errno) {
        pid = -1;
        st = sk_error_set(err, SK_LLM_EAUTH,
                          "cannot run %s (%s): install the Azure CLI and run "
                          "`az login`, or set AZURE_OPENAI_AUTH_MODE=api_key",
                          argv[0], strerror(errno));
        goto out;
    }
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    open_fds = 2;
    while (open_fds > 0) {
        struct pollfd pfd[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        char chunk[4096];
        long left;
        int i;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        left = AZ_TIMEOUT_MS - ((t1.tv_sec - t0.tv_sec) * 1000 +
                                (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            st = sk_error_set(err, SK_LLM_EAUTH, "%s timed out", argv[0]);
            break;
        }
        if (poll(pfd, 2, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < 2; i++) {
            struct sk_buf *dst = i == 0 ? out : errout;
            int *fd = i == 0 ? &po[0] : &pe[0];
            ssize_t n;
            if (*fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(*fd, chunk, sizeof chunk);
            if (n <= 0 || sk_buf_append(dst, chunk, (size_t)n) != SK_OK) {
                close(*fd);
                *fd = -1;
                open_fds--;
            }
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    /* Where posix_spawn falls back to fork+exec (valgrind, some libcs) an
     * exec failure shows up as exit 127 with no output, not as errno. */
    if (st == SK_OK && *exit_code == 127 && out->len == 0 && errout->len == 0)
        st = sk_error_set(err, SK_LLM_EAUTH,
                          "cannot run %s (not found or not executable): "
                          "install the Azure CLI and run `az login`, or set "
                          "AZURE_OPENAI_AUTH_MODE=api_key",
                          argv[0]);
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (po[0] >= 0)
        close(po[0]);
    if (po[1] >= 0)
        close(po[1]);
    if (pe[0] >= 0)
        close(pe[0]);
    if (pe[1] >= 0)
        close(pe[1]);
    return st;
}

/* The resource of a scope: "https://x/.default" -> "https://x". */
static char *scope_resource(const char *scope)
{
    size_t n = strlen(scope);
    static const char tail[] = "/.default";
    if (n >= sizeof tail - 1 &&
        strcmp(scope + n - (sizeof tail - 1), tail) == 0)
        n -= sizeof tail - 1;
    return sk_strndup(scope, n);
}

static int token_from_cli(const char *scope, char **token, int64_t *exp,
                          struct sk_error *err)
{
    struct sk_buf out, errout;
    char *resource = scope_resource(scope);
    int st, code = 0;

    sk_buf_init(&out, TOKEN_REPLY_MAX);
    sk_buf_init(&errout, 4096);
    if (!resource)
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    {
        char *argv[] = {(char *)"az",
                        (char *)"account",
                        (char *)"get-access-token",
                        (char *)"--resource",
                        resource,
                        (char *)"-o",
                        (char *)"json",
                        NULL};
        st = run_capture(argv, &out, &errout, &code, err);
    }
    if (st == SK_OK && code != 0)
        st = sk_error_set(err, SK_LLM_EAUTH,
                          "az account get-access-token failed (exit %d): "
                          "%.200s (run `az login`)",
                          code, sk_buf_cstr(&errout));
    if (st == SK_OK)
        st = parse_token(sk_buf_cstr(&out), out.len,
                         "az account get-access-token", token, exp, err);
    sk_free(resource);
    sk_buf_release(&out);
    sk_buf_release(&errout);
    return st;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    if (sk_buf_append(ud, p, size * n) != SK_OK)
        return 0;
    return size * n;
}

static int token_from_msi(const char *scope, const char *client_id,
                          char **token, int64_t *exp, struct sk_error *err)
{
    const char *ep = getenv("IDENTITY_ENDPOINT");
    const char *hdr = getenv("IDENTITY_HEADER");
    int app_service = ep && *ep && hdr && *hdr;
    char *resource = scope_resource(scope), *er = NULL, *ec = NULL;
    struct curl_slist *hl = NULL, *tmp;
    struct sk_buf url, body, h;
    CURL *cu = NULL;
    CURLcode cc;
    long status = 0;
    int st = SK_OK;

    sk_buf_init(&url, SK_BUF_UNLIMITED);
    sk_buf_init(&body, TOKEN_REPLY_MAX);
    sk_buf_init(&h, SK_BUF_UNLIMITED);
    cu = curl_easy_init();
    if (!resource || !cu) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    er = curl_easy_escape(cu, resource, 0);
    ec = client_id && *client_id ? curl_easy_escape(cu, client_id, 0) : NULL;
    if (!er || (client_id && *client_id && !ec) ||
        sk_buf_printf(&url, "%s?api-version=%s&resource=%s%s%s",
                      app_service ? ep : IMDS_URL,
                      app_service ? "2019-08-01" : "2018-02-01", er,
                      ec ? "&client_id=" : "", ec ? ec : "") ||
        (app_service ? sk_buf_printf(&h, "X-IDENTITY-HEADER: %s", hdr)
                     : sk_buf_puts(&h, "Metadata: true"))) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    tmp = curl_slist_append(hl, sk_buf_cstr(&h));
    if (!tmp) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    hl = tmp;
    curl_easy_setopt(cu, CURLOPT_URL, sk_buf_cstr(&url));
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_NOPROXY, "*");
    cc = curl_easy_perform(cu);
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        st = sk_error_set(err, SK_LLM_EAUTH,
                          "managed identity endpoint unreachable (%s); set "
                          "AZURE_OPENAI_AUTH_MODE to api_key or azure_cli",
                          curl_easy_strerror(cc));
        goto out;
    }
    if (status != 200) {
        st = sk_error_set(err, SK_LLM_EAUTH,
                          "managed identity token request: HTTP %ld: %.200s",
                          status, sk_buf_cstr(&body));
        goto out;
    }
    st = parse_token(sk_buf_cstr(&body), body.len, "managed identity", token,
                     exp, err);
out:
    curl_free(er);
    curl_free(ec);
    curl_slist_free_all(hl);
    if (cu)
        curl_easy_cleanup(cu);
    sk_free(resource);
    sk_buf_release(&url);
    sk_buf_release(&body);
    sk_buf_release(&h);
    return st;
}

int sk_azure_token(const struct sk_role_cfg *rc, char **token_out,
                   struct sk_error *err)
{
    const char *mode = rc->auth_mode ? rc->auth_mode : "";
    const char *scope = rc->ad_scope && *rc->ad_scope
                            ? rc->ad_scope
                            : "https://cognitiveservices.azure.com/.default";
    const char *client = rc->mi_client_id ? rc->mi_client_id : "";
    struct cached_token *t;
    struct sk_buf key;
    char *token = NULL;
    int64_t exp = 0, now = (int64_t)time(NULL);
    int st = SK_OK;

    *token_out = NULL;
    if (strcmp(mode, "azure_cli") != 0 && strcmp(mode, "managed_identity"))
        return sk_error_set(err, SK_ECONFIG,
                            "Azure auth mode '%s' has no Entra token "
                            "(use azure_cli or managed_identity)",
                            mode);
    sk_buf_init(&key, SK_BUF_UNLIMITED);
    if (sk_buf_printf(&key, "%s\n%s\n%s", mode, scope, client))
        return sk_error_set(err, SK_ENOMEM, "out of memory");
    pthread_mutex_lock(&cache_mu);
    for (t = cache_head; t; t = t->next)
        if (strcmp(t->key, sk_buf_cstr(&key)) == 0)
            break;
    if (t && t->expires_at - REFRESH_MARGIN_S > now) {
        *token_out = sk_strdup(t->token);
        if (!*token_out)
            st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (strcmp(mode, "azure_cli") == 0)
        st = token_from_cli(scope, &token, &exp, err);
    else
        st = token_from_msi(scope, client, &token, &exp, err);
    if (st != SK_OK)
        goto out;
    if (sk_log_add_secret(token) != SK_OK) {
        st = sk_error_set(err, SK_ENOMEM, "out of memory");
        goto out;
    }
    if (!t) {
        t = sk_calloc(1, sizeof *t);
        if (t) {
            t->key = sk_buf_detach(&key, NULL);
            if (!t->key) {
                sk_free(t);
                t = NULL;
            } else {
                t->next = cache_head;
                cache_head = t;
            }
        }
    }
    if (t) {
        /* A failed copy only costs a refetch next time. */
        char *copy = sk_strdup(token);
        if (copy) {
            sk_free(t->token);
            t->token = copy;
            t->expires_at = exp;
        } else {
            t->expires_at = 0;
        }
    }
    *token_out = token;
    token = NULL;
out:
    pthread_mutex_unlock(&cache_mu);
    sk_free(token);
    sk_buf_release(&key);
    return st;
}
