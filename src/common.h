/*
 * common.h - included first by every .c file of skillopt.
 *
 * Feature-test macros, attributes and the error/status vocabulary shared by
 * the whole library.  Nothing here allocates.  Library functions return 0
 * (SK_OK) or a negative enum sk_err and, when the caller passes a
 * struct sk_error *, leave a human-readable message there.
 */
#ifndef SK_COMMON_H
#define SK_COMMON_H

#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE 1
#define _GNU_SOURCE 1 /* memmem, strcasestr */

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SK_UNUSED __attribute__((unused))
#define SK_MALLOC __attribute__((malloc))
#define SK_NODISCARD __attribute__((warn_unused_result))
#else
#define SK_PRINTF(f, a)
#define SK_UNUSED
#define SK_MALLOC
#define SK_NODISCARD
#endif

#define SK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Status codes: 0 is success, every failure is negative. */
enum sk_err {
    SK_OK = 0,
    SK_ENOMEM = -1,   /* an allocation failed */
    SK_EIO = -2,      /* a file or system call failed */
    SK_EPARSE = -3,   /* malformed input text (JSON, YAML, model output) */
    SK_ECONFIG = -4,  /* invalid configuration */
    SK_EDATA = -5,    /* invalid benchmark data or skill file */
    SK_ETOOBIG = -6,  /* a size cap was reached */
    SK_EINVAL = -7,   /* bad argument from the caller */
    SK_ENOTFOUND = -8 /* the thing asked for does not exist */
};

/*
 * Caller-owned error report.  The library never keeps a pointer to it and
 * there is no global error state.  msg is always NUL-terminated.
 */
struct sk_error {
    int code;       /* enum sk_err of the failure, SK_OK when clear */
    char msg[1024]; /* "file:line:col: what went wrong" style text */
};

/* Clears err (may be NULL). */
void sk_error_clear(struct sk_error *err);

/*
 * Records code and a formatted message into err (may be NULL) and returns
 * code, so that callers can write `return sk_error_set(err, SK_EIO, ...)`.
 * The message passes through the secret redactor of log.h.
 */
int sk_error_set(struct sk_error *err, int code, const char *fmt, ...)
    SK_PRINTF(3, 4);

/* Short name of a status code ("out of memory", "I/O error", ...). */
const char *sk_strerror(int code);

#endif /* SK_COMMON_H */
