/*
 * log.c - stderr logging and the secret redactor.  Lines are formatted into
 * a fixed stack buffer, redacted, then written with one fputs so that
 * concurrent writers never interleave within a line.
 */
#include "common.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

#define MAX_SECRETS 64
#define REDACTED "[REDACTED]"

static enum sk_log_level cur_level = SK_LOG_WARN;
static FILE *log_stream;
static char *secrets[MAX_SECRETS];
static int n_secrets;

void sk_log_set_level(enum sk_log_level level)
{
    cur_level = level;
}

enum sk_log_level sk_log_get_level(void)
{
    return cur_level;
}

void sk_log_set_stream(FILE *fp)
{
    log_stream = fp;
}

int sk_log_add_secret(const char *secret)
{
    int i;
    if (!secret || strlen(secret) < 4)
        return SK_OK;
    for (i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            return SK_OK;
    if (n_secrets == MAX_SECRETS)
        return SK_ETOOBIG;
    secrets[n_secrets] = sk_strdup(secret);
    if (!secrets[n_secrets])
        return SK_ENOMEM;
    n_secrets++;
    return SK_OK;
}

void sk_log_clear_secrets(void)
{
    int i;
    for (i = 0; i < n_secrets; i++)
        sk_free(secrets[i]);
    n_secrets = 0;
}

void sk_redact_value(char *s, size_t cap, const char *secret)
{
    size_t sl, rl = strlen(REDACTED);
    char *p = s;

    if (!secret || !*secret)
        return;
    sl = strlen(secret);
    while ((p = strstr(p, secret)) != NULL) {
        size_t tail = strlen(p + sl);
        size_t off = (size_t)(p - s);
        /* Room for the marker: drop the end of the text if needed. */
        if (off + rl + tail + 1 > cap)
            tail = cap > off + rl + 1 ? cap - off - rl - 1 : 0;
        if (off + rl + 1 > cap) {
            *p = '\0';
            break;
        }
        memmove(p + rl, p + sl, tail);
        p[rl + tail] = '\0';
        memcpy(p, REDACTED, rl);
        p += rl;
    }
}

void sk_log_redact(char *s, size_t cap)
{
    int i;
    for (i = 0; i < n_secrets; i++)
        sk_redact_value(s, cap, secrets[i]);
}

void sk_log_write(enum sk_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    char line[4096];
    int n;
    va_list ap;

    n = snprintf(line, sizeof line, "skillopt: %s: ", names[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    sk_log_redact(line, sizeof line - 1);
    n = (int)strlen(line);
    line[n] = '\n';
    line[n + 1] = '\0';
    fputs(line, log_stream ? log_stream : stderr);
}
