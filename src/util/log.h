/*
 * log.h - leveled diagnostics on stderr, with secret redaction.
 *
 * Secrets (API keys, tokens) are registered once with sk_log_add_secret;
 * from then on every log line and every sk_error message has each occurrence
 * replaced by "[REDACTED]".  The level and the secret list are the only
 * mutable globals of the library and are meant to be set from main.
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "common.h"

enum sk_log_level {
    SK_LOG_ERROR = 0,
    SK_LOG_WARN = 1,
    SK_LOG_INFO = 2,
    SK_LOG_DEBUG = 3
};

void sk_log_set_level(enum sk_log_level level);
enum sk_log_level sk_log_get_level(void);

/*
 * Where log lines go (default stderr).  Tests point this at a memstream to
 * check what was printed.  The FILE is borrowed.
 */
void sk_log_set_stream(FILE *fp);

/* Registers a secret (copied); strings shorter than 4 bytes are ignored. */
int sk_log_add_secret(const char *secret);
/* Forgets every registered secret. */
void sk_log_clear_secrets(void);

/*
 * Replaces registered secrets in s (NUL-terminated, at most cap bytes
 * including the NUL) in place; the result is truncated to fit.
 */
void sk_log_redact(char *s, size_t cap);

/* Replaces one secret in s the same way, registered or not. */
void sk_redact_value(char *s, size_t cap, const char *secret);

void sk_log_write(enum sk_log_level level, const char *fmt, ...)
    SK_PRINTF(2, 3);

/* The level test comes first so that disabled lines cost no formatting. */
#define sk_log(level, ...)                                                     \
    do {                                                                       \
        if ((int)(level) <= (int)sk_log_get_level())                           \
            sk_log_write((level), __VA_ARGS__);                                \
    } while (0)
#define sk_err(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)
#define sk_warn(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define sk_info(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define sk_debug(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)

#endif /* SK_LOG_H */
