/*
 * sha256.h - SHA-256 through OpenSSL's libcrypto (already linked by curl).
 * Outputs go to caller-owned arrays; nothing allocates in our code.
 */
#ifndef SK_SHA256_H
#define SK_SHA256_H

#include <stddef.h>

#include "common.h"

/* Digest of len bytes into out[32].  Returns SK_OK or SK_ENOMEM. */
int sk_sha256(const void *data, size_t len, unsigned char out[32]);
/* Lowercase hex digest into hex[65] (NUL-terminated). */
int sk_sha256_hex(const void *data, size_t len, char hex[65]);
/*
 * The reference's skill hash: the first 16 hex digits of the SHA-256 of
 * the text, into hex[17].
 */
int sk_text_hash16(const char *text, size_t len, char hex[17]);

#endif /* SK_SHA256_H */
