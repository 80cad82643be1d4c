/*
 * fetch.h - downloads one http(s) URL to a file with libcurl, for
 * `skillopt data materialize` (raw benchmark data), and SHA-256 of files.
 *
 * The body streams to "<dest>.part.<pid>", which is renamed to dest only
 * when the transfer completed, stayed under the size cap and (when asked)
 * matched the expected checksum; on any failure nothing is left behind.
 * Only http and https are followed, redirects included.  Options and
 * strings are borrowed; results are written to caller-owned structs.
 */
#ifndef SK_FETCH_H
#define SK_FETCH_H

#include <stdint.h>
#include <stdio.h>

#include "common.h"

/* Default size cap of one download (8 GiB). */
#define SK_FETCH_DEFAULT_MAX ((uint64_t)8 << 30)

struct sk_fetch_opts {
    uint64_t max_bytes;       /* 0: SK_FETCH_DEFAULT_MAX */
    long connect_timeout_s;   /* 0: 30 */
    long stall_timeout_s;     /* abort when under 1 byte/s this long; 0: 60 */
    long total_timeout_s;     /* 0: no overall limit */
    const char *sha256;       /* expected hex digest (any case); NULL: none */
    const char *bearer_token; /* sent as "Authorization: Bearer ..."; NULL */
    FILE *progress;           /* progress lines go here; NULL: silent */
};

struct sk_fetch_result {
    char sha256[65];  /* lowercase hex digest of what was received */
    uint64_t bytes;   /* body bytes received */
    long http_status; /* last HTTP status seen, 0 if none */
};

/* Zeroes o (the defaults above).  Cannot fail. */
void sk_fetch_opts_init(struct sk_fetch_opts *o);

/* 1 if s starts with "http://" or "https://" (case-insensitive). */
int sk_fetch_is_url(const char *s);

/* 1 if hex is exactly 64 hexadecimal digits. */
int sk_fetch_sha256_valid(const char *hex);

/*
 * Downloads url into dest (replaced atomically).  Returns SK_OK with res
 * filled, or: SK_EINVAL (not an http(s) URL, bad sha256 text),
 * SK_ENOTFOUND (HTTP 404 or 410), SK_EIO (other HTTP error status,
 * connection failure, timeout, body shorter than announced, local write
 * failure), SK_ETOOBIG (over max_bytes), SK_EDATA (checksum mismatch),
 * SK_ENOMEM.  err names the URL and says what happened.  res may be
 * NULL; when not, it is filled as far as the transfer got.
 */
int sk_fetch_url(const char *url, const char *dest,
                 const struct sk_fetch_opts *o, struct sk_fetch_result *res,
                 struct sk_error *err);

/*
 * SHA-256 of the file at path, streamed, as lowercase hex into hex[65];
 * *bytes (may be NULL) gets its size.  SK_ENOTFOUND, SK_EIO or SK_ENOMEM
 * with err set.
 */
int sk_fetch_file_sha256(const char *path, char hex[65], uint64_t *bytes,
                         struct sk_error *err);

#endif /* SK_FETCH_H */
