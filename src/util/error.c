/*
 * error.c - the caller-owned struct sk_error and status names.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

void sk_error_clear(struct sk_error *err)
{
    if (err) {
        err->code = SK_OK;
        err->msg[0] = '\0';
    }
}

int sk_error_set(struct sk_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    {
        /* through a copy: callers may pass err->msg itself as an argument
         * ("context: %s", err->msg) */
        char tmp[sizeof err->msg];
        vsnprintf(tmp, sizeof tmp, fmt, ap);
        memcpy(err->msg, tmp, sizeof tmp);
    }
    va_end(ap);
    sk_log_redact(err->msg, sizeof err->msg);
    return code;
}

const char *sk_strerror(int code)
{
    switch (code) {
    case SK_OK:
        return "success";
    case SK_ENOMEM:
        return "out of memory";
    case SK_EIO:
        return "I/O error";
    case SK_EPARSE:
        return "parse error";
    case SK_ECONFIG:
        return "configuration error";
    case SK_EDATA:
        return "data error";
    case SK_ETOOBIG:
        return "size limit exceeded";
    case SK_EINVAL:
        return "invalid argument";
    case SK_ENOTFOUND:
        return "not found";
    default:
        return "unknown error";
    }
}
