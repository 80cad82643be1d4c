/*
 * fuzz_rows.c - libFuzzer target: arbitrary bytes as an upstream data file
 * for `skillopt data materialize` (rows.h).  The first byte picks the
 * format (JSON array, JSON Lines, CSV, or detection); the rest is written
 * to a scratch file and read.  Every row handed to the callback must be a
 * JSON object whose values are strings for CSV.  Any outcome is fine
 * except a crash, a leak or a sanitizer report.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "data/rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    enum sk_rows_format format;
    size_t rows;
};

static int on_row(void *ud, const json_t *row, const struct sk_row_pos *pos,
                  struct sk_error *err)
{
    struct seen *s = ud;
    const char *k;
    json_t *v;
    char where[256];
    (void)err;
    if (!json_is_object(row))
        abort();
    if (s->format == SK_ROWS_CSV)
        json_object_foreach((json_t *)row, k, v)
        {
            (void)k;
            if (!json_is_string(v))
                abort();
        }
    sk_row_pos_text(pos, where, sizeof where);
    if (pos->rowidx != s->rows)
        abort();
    s->rows++;
    return SK_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    static const enum sk_rows_format formats[] = {SK_ROWS_AUTO, SK_ROWS_JSON,
                                                  SK_ROWS_JSONL, SK_ROWS_CSV};
    struct sk_error err;
    struct seen s;
    FILE *fp;

    if (size < 1)
        return 0;
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/skillopt-fuzz-rows-%ld",
                 (long)getpid());
    fp = fopen(path, "wb");
    if (!fp)
        return 0;
    if (size > 1)
        fwrite(data + 1, 1, size - 1, fp);
    fclose(fp);
    memset(&s, 0, sizeof s);
    s.format = formats[data[0] % 4];
    (void)sk_rows_read_file(path, s.format, on_row, &s, &err);
    unlink(path);
    return 0;
}
