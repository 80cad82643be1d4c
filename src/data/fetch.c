/*
 * fetch.c - one blocking libcurl download to a file (see fetch.h), with a
 * running SHA-256, a size cap, timeouts and a progress line.  This is not
 * the model engine: a data download is one long transfer done before any
 * run, so a plain easy handle is enough.
 */
#include "common.h"

#include "data/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
/* OpenSSL's legacy stack API defines sk_free as a macro; ours is a
 * function of util/alloc.h. */
#undef sk_free

#include "util/alloc.h"
#include "version.h"

/* Seconds between two progress lines. */
#define PROGRESS_EVERY_S 0.25

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* State of one transfer, shared with the curl callbacks. */
struct xfer {
    int fd;          /* the .part file */
    EVP_MD_CTX *md;  /* running digest of the body */
    uint64_t got;    /* body bytes written */
    uint64_t max;    /* cap */
    int too_big;     /* the cap was reached */
    int write_errno; /* errno of a failed write, 0 if none */
    int digest_fail; /* EVP_DigestUpdate failed */
    FILE *progress;
    double last_print;
    int printed; /* a progress line is on screen */
};

void sk_fetch_opts_init(struct sk_fetch_opts *o)
{
    memset(o, 0, sizeof *o);
}

int sk_fetch_is_url(const char *s)
{
    return s && (strncasecmp(s, "http://", 7) == 0 ||
                 strncasecmp(s, "https://", 8) == 0);
}

int sk_fetch_sha256_valid(const char *hex)
{
    size_t i;
    if (!hex || strlen(hex) != 64)
        return 0;
    for (i = 0; i < 64; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex_of(const unsigned char *d, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

/* "12.3 MiB"-style size into buf. */
static void human_size(double n, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (n >= 1024 && u + 1 < SK_ARRAY_LEN(units)) {
        n /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%.0f %s", n, units[u]);
    else
        snprintf(buf, cap, "%.1f %s", n, units[u]);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb, done = 0;

    if (n > x->max || x->got > x->max - n) {
        x->too_big = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    while (done < n) {
        ssize_t w = write(x->fd, ptr + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            x->write_errno = errno;
            return 0;
        }
        done += (size_t)w;
    }
    if (EVP_DigestUpdate(x->md, ptr, n) != 1) {
        x->digest_fail = 1;
        return 0;
    }
    x->got += n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    char now[32], total[32];
    double t;

    (void)ultotal;
    (void)ulnow;
    if (!x->progress || dlnow <= 0)
        return 0;
    t = mono_s();
    if (x->printed && t - x->last_print < PROGRESS_EVERY_S)
        return 0;
    x->last_print = t;
    x->printed = 1;
    human_size((double)dlnow, now, sizeof now);
    if (dltotal > 0) {
        human_size((double)dltotal, total, sizeof total);
        fprintf(x->progress, "\rdownloading: %s of %s (%3.0f%%)   ", now, total,
                100.0 * (double)dlnow / (double)dltotal);
    } else {
        fprintf(x->progress, "\rdownloading: %s   ", now);
    }
    fflush(x->progress);
    return 0;
}

/* Turns a failed curl_easy_perform into a status and a message. */
static int transfer_error(const char *url, CURLcode rc, long status,
                          const struct xfer *x, const char *errbuf,
                          struct sk_error *err)
{
    const char *detail = *errbuf ? errbuf : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_HTTP_RETURNED_ERROR:
        if (status == 404 || status == 410)
            return sk_error_set(err, SK_ENOTFOUND,
                                "GET %s: HTTP %ld (not found)", url, status);
        if (status == 401 || status == 403)
            return sk_error_set(err, SK_EIO,
                                "GET %s: HTTP %ld (access denied; a gated "
                                "dataset needs a token: --token-env VAR)",
                                url, status);
        return sk_error_set(err, SK_EIO, "GET %s: HTTP %ld", url, status);
    case CURLE_WRITE_ERROR:
        if (x->too_big)
            return sk_error_set(err, SK_ETOOBIG,
                                "GET %s: larger than the cap of %llu bytes",
                                url, (unsigned long long)x->max);
        if (x->write_errno)
            return sk_error_set(err, SK_EIO,
                                "GET %s: cannot write the download: %s", url,
                                strerror(x->write_errno));
        return sk_error_set(err, SK_ENOMEM, "GET %s: checksum failed", url);
    case CURLE_FILESIZE_EXCEEDED:
        return sk_error_set(err, SK_ETOOBIG,
                            "GET %s: larger than the cap of %llu bytes", url,
                            (unsigned long long)x->max);
    case CURLE_PARTIAL_FILE:
        return sk_error_set(err, SK_EIO,
                            "GET %s: the body ended early after %llu bytes "
                            "(%s)",
                            url, (unsigned long long)x->got, detail);
    case CURLE_OPERATION_TIMEDOUT:
        return sk_error_set(err, SK_EIO,
                            "GET %s: timed out after %llu bytes "
                            "(%s)",
                            url, (unsigned long long)x->got, detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
        return sk_error_set(err, SK_EINVAL, "GET %s: %s", url, detail);
    case CURLE_OUT_OF_MEMORY:
        return sk_error_set(err, SK_ENOMEM, "GET %s: out of memory", url);
    default:
        return sk_error_set(err, SK_EIO, "GET %s: %s", url, detail);
    }
}

/* Sets the options of one download on h; SK_ENOMEM if curl refuses. */
static int setup(CURL *h, const char *url, const struct sk_fetch_opts *o,
                 struct xfer *x, char *errbuf, struct curl_slist **headers)
{
    long conn = o->connect_timeout_s > 0 ? o->connect_timeout_s : 30;
    long stall = o->stall_timeout_s > 0 ? o->stall_timeout_s : 60;
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(h, CURLOPT_URL, url);
    rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    rc |= curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    rc |= curl_easy_setopt(h, CURLOPT_USERAGENT,
                           "skillopt/" SKILLOPT_VERSION " (data materialize)");
    rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, conn);
    rc |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    rc |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall);
    if (o->total_timeout_s > 0)
        rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT, o->total_timeout_s);
    rc |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    rc |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    rc |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    rc |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, o->progress ? 0L : 1L);
    /* Keep the bytes as served: a checksum is of the file, not of a
     * decoded transfer encoding. */
    rc |= curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (o->bearer_token && *o->bearer_token) {
        char line[4096];
        struct curl_slist *l;
        int n = snprintf(line, sizeof line, "Authorization: Bearer %s",
                         o->bearer_token);
        if (n < 0 || (size_t)n >= sizeof line)
            return SK_EINVAL;
        l = curl_slist_append(NULL, line);
        memset(line, 0, sizeof line);
        if (!l)
            return SK_ENOMEM;
        *headers = l;
        rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
    }
    return rc == CURLE_OK ? SK_OK : SK_ENOMEM;
}

static char *part_path(const char *dest)
{
    size_t n = strlen(dest) + 32;
    char *p = sk_malloc(n);
    if (p)
        snprintf(p, n, "%s.part.%ld", dest, (long)getpid());
    return p;
}

int sk_fetch_url(const char *url, const char *dest,
                 const struct sk_fetch_opts *o, struct sk_fetch_result *res,
                 struct sk_error *err)
{
    struct sk_fetch_opts defaults;
    struct xfer x;
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE], hex[65];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char *part = NULL;
    CURL *h = NULL;
    CURLcode crc;
    long status = 0;
    int rc = SK_OK, keep = 0;

    if (!o) {
        sk_fetch_opts_init(&defaults);
        o = &defaults;
    }
    if (res)
        memset(res, 0, sizeof *res);
    memset(&x, 0, sizeof x);
    x.fd = -1;
    x.max = o->max_bytes ? o->max_bytes : SK_FETCH_DEFAULT_MAX;
    x.progress = o->progress;
    errbuf[0] = '\0';
    if (!sk_fetch_is_url(url))
        return sk_error_set(err, SK_EINVAL, "%s: not an http(s) URL",
                            url ? url : "(null)");
    if (o->sha256 && !sk_fetch_sha256_valid(o->sha256))
        return sk_error_set(err, SK_EINVAL,
                            "--sha256 must be 64 hexadecimal digits, got "
                            "\"%s\"",
                            o->sha256);
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return sk_error_set(err, SK_EIO, "curl_global_init: %s",
                            curl_easy_strerror(curl_init_rc));
    part = part_path(dest);
    x.md = EVP_MD_CTX_new();
    h = curl_easy_init();
    if (!part || !x.md || !h ||
        EVP_DigestInit_ex(x.md, EVP_sha256(), NULL) != 1) {
        rc = sk_error_set(err, SK_ENOMEM, "GET %s: out of memory", url);
        goto out;
    }
    x.fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (x.fd < 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot create: %s", part,
                          strerror(errno));
        goto out;
    }
    rc = setup(h, url, o, &x, errbuf, &headers);
    if (rc != SK_OK) {
        rc = sk_error_set(err, rc, "GET %s: cannot set up the transfer", url);
        goto out;
    }
    crc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (x.printed) {
        fputc('\n', x.progress);
        fflush(x.progress);
    }
    if (res) {
        res->bytes = x.got;
        res->http_status = status;
    }
    if (crc != CURLE_OK) {
        rc = transfer_error(url, crc, status, &x, errbuf, err);
        goto out;
    }
    if (EVP_DigestFinal_ex(x.md, digest, &dlen) != 1 || dlen != 32) {
        rc = sk_error_set(err, SK_ENOMEM, "GET %s: checksum failed", url);
        goto out;
    }
    hex_of(digest, hex);
    if (res)
        memcpy(res->sha256, hex, sizeof hex);
    if (o->sha256 && strcasecmp(o->sha256, hex) != 0) {
        rc = sk_error_set(err, SK_EDATA,
                          "GET %s: checksum mismatch: expected sha256 %s, "
                          "got %s (%llu bytes); the download was discarded",
                          url, o->sha256, hex, (unsigned long long)x.got);
        goto out;
    }
    if (fsync(x.fd) != 0 || close(x.fd) != 0) {
        x.fd = -1;
        rc = sk_error_set(err, SK_EIO, "%s: cannot write: %s", part,
                          strerror(errno));
        goto out;
    }
    x.fd = -1;
    if (rename(part, dest) != 0) {
        rc = sk_error_set(err, SK_EIO, "%s: cannot rename to %s: %s", part,
                          dest, strerror(errno));
        goto out;
    }
    keep = 1;
out:
    if (x.fd >= 0)
        close(x.fd);
    if (part && !keep)
        unlink(part);
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    EVP_MD_CTX_free(x.md);
    sk_free(part);
    return rc;
}

int sk_fetch_file_sha256(const char *path, char hex[65], uint64_t *bytes,
                         struct sk_error *err)
{
    unsigned char buf[65536], digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    uint64_t total = 0;
    EVP_MD_CTX *md = NULL;
    int fd, rc = SK_OK;

    hex[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_error_set(err, errno == ENOENT ? SK_ENOTFOUND : SK_EIO,
                            "%s: cannot open: %s", path, strerror(errno));
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = sk_error_set(err, SK_EIO, "%s: cannot read: %s", path,
                              strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
            rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        total += (uint64_t)n;
    }
    if (EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32) {
        rc = sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    hex_of(digest, hex);
    if (bytes)
        *bytes = total;
out:
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}
