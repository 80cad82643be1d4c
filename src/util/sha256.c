/*
 * sha256.c - thin wrapper over EVP_Digest so callers never see OpenSSL.
 */
#include "common.h"
#include "util/sha256.h"

#include <string.h>

#include <openssl/evp.h>

int sk_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return SK_ENOMEM;
    return SK_OK;
}

int sk_sha256_hex(const void *data, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char d[32];
    int i, rc = sk_sha256(data, len, d);
    if (rc != SK_OK)
        return rc;
    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
    return SK_OK;
}

int sk_text_hash16(const char *text, size_t len, char hex[17])
{
    char full[65];
    int rc = sk_sha256_hex(text, len, full);
    if (rc != SK_OK)
        return rc;
    memcpy(hex, full, 16);
    hex[16] = '\0';
    return SK_OK;
}
