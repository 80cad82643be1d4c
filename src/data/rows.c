/*
 * rows.c - the row readers of rows.h: a buffered byte reader, JSON Lines
 * line by line, CSV as a state machine over the same reader (quoted
 * fields may span lines; "" is a quote; text after a closing quote joins
 * the field, as Python's csv does), and a sorted directory walk.
 */
#include "common.h"

#include "data/rows.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/split.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/jsonparse.h"

/* Longest JSON Lines line or CSV record accepted. */
#define MAX_RECORD ((size_t)64 << 20)
/* Deepest directory level searched. */
#define MAX_DEPTH 8

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* Sets key on obj, taking value; SK_ENOMEM when value is NULL. */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return SK_ENOMEM;
    return json_object_set_new(obj, key, value) ? SK_ENOMEM : SK_OK;
}

void sk_row_pos_text(const struct sk_row_pos *p, char *buf, size_t cap)
{
    if (p->is_line)
        snprintf(buf, cap, "%s:%zu", p->file, p->n);
    else
        snprintf(buf, cap, "%s item %zu", p->file, p->n);
}

int sk_rows_parse_format(const char *s, enum sk_rows_format *out)
{
    if (!s || !*s || strcmp(s, "auto") == 0)
        *out = SK_ROWS_AUTO;
    else if (strcmp(s, "json") == 0)
        *out = SK_ROWS_JSON;
    else if (strcmp(s, "jsonl") == 0)
        *out = SK_ROWS_JSONL;
    else if (strcmp(s, "csv") == 0)
        *out = SK_ROWS_CSV;
    else
        return SK_EINVAL;
    return SK_OK;
}

/* A buffered reader over a file descriptor. */
struct rdr {
    int fd;
    const char *path;
    unsigned char *buf;
    size_t pos, len;
    int err_no; /* errno of a failed read */
};

#define RDR_SIZE 65536

static int rdr_open(struct rdr *r, const char *path, struct sk_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return sk_error_set(err, errno == ENOENT ? SK_ENOTFOUND : SK_EIO,
                            "%s: cannot open: %s", path, strerror(errno));
    r->buf = sk_malloc(RDR_SIZE);
    if (!r->buf) {
        close(r->fd);
        r->fd = -1;
        return sk_error_set(err, SK_ENOMEM, "%s: out of memory", path);
    }
    return SK_OK;
}

static void rdr_close(struct rdr *r)
{
    if (r->fd >= 0)
        close(r->fd);
    sk_free(r->buf);
    r->fd = -1;
    r->buf = NULL;
}

/* Next byte, -1 at the end, -2 on a read error (r->err_no). */
static int rdr_getc(struct rdr *r)
{
    if (r->pos == r->len) {
        ssize_t n;
        do {
            n = read(r->fd, r->buf, RDR_SIZE);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            r->err_no = errno;
            return -2;
        }
        if (n == 0)
            return -1;
        r->len = (size_t)n;
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

/* Gives back the byte just read (always possible right after a getc). */
static void rdr_unget(struct rdr *r)
{
    r->pos--;
}

static int read_error(const struct rdr *r, struct sk_error *err)
{
    return sk_error_set(err, SK_EIO, "%s: cannot read: %s", r->path,
                        strerror(r->err_no));
}

static int read_jsonl(const char *path, sk_row_fn fn, void *ud,
                      struct sk_error *err)
{
    struct rdr r;
    struct sk_buf line;
    struct sk_row_pos p = {path, 0, 1, 0};
    json_error_t jerr;
    int rc, c, done = 0;

    rc = rdr_open(&r, path, err);
    if (rc)
        return rc;
    sk_buf_init(&line, MAX_RECORD);
    while (!done && rc == SK_OK) {
        sk_buf_reset(&line);
        while ((c = rdr_getc(&r)) >= 0 && c != '\n')
            if (sk_buf_putc(&line, (char)c)) {
                rc = sk_error_set(err, SK_ETOOBIG,
                                  "%s:%zu: line longer than %zu bytes", path,
                                  p.n + 1, MAX_RECORD);
                break;
            }
        if (rc)
            break;
        if (c == -2) {
            rc = read_error(&r, err);
            break;
        }
        done = c == -1;
        p.n++;
        while (line.len && is_blank(line.data[line.len - 1]))
            sk_buf_truncate(&line, line.len - 1);
        {
            size_t s = 0;
            json_t *row;
            while (s < line.len && is_blank(line.data[s]))
                s++;
            if (s == line.len)
                continue;
            row = sk_json_loadb(line.data + s, line.len - s, 0, &jerr);
            if (!row) {
                rc = sk_json_oom(&jerr)
                         ? sk_error_set(err, SK_ENOMEM, "out of memory")
                         : sk_error_set(
                               err, SK_EDATA, "%s:%zu: invalid JSON (%s)%s",
                               path, p.n, jerr.text,
                               done ? "; the file may be truncated" : "");
                break;
            }
            if (!json_is_object(row)) {
                json_decref(row);
                rc = sk_error_set(err, SK_EDATA,
                                  "%s:%zu: expected a JSON object per line",
                                  path, p.n);
                break;
            }
            rc = fn(ud, row, &p, err);
            p.rowidx++;
            json_decref(row);
        }
    }
    sk_buf_release(&line);
    rdr_close(&r);
    return rc;
}

static int read_json_array(const char *path, sk_row_fn fn, void *ud,
                           struct sk_error *err)
{
    struct sk_buf text;
    json_error_t jerr;
    json_t *arr = NULL;
    struct sk_row_pos p = {path, 0, 0, 0};
    size_t i;
    int rc;

    sk_buf_init(&text, SK_BUF_UNLIMITED);
    rc = sk_fs_read(path, SK_SPLIT_MAX_FILE, &text, err);
    if (rc)
        goto out;
    arr = sk_json_loadb(sk_buf_cstr(&text), text.len, 0, &jerr);
    if (!arr) {
        rc = sk_json_oom(&jerr)
                 ? sk_error_set(err, SK_ENOMEM, "out of memory")
                 : sk_error_set(err, SK_EDATA, "%s:%d:%d: invalid JSON: %s",
                                path, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_array(arr)) {
        rc = sk_error_set(err, SK_EDATA, "%s: expected a JSON array of rows",
                          path);
        goto out;
    }
    for (i = 0; i < json_array_size(arr) && rc == SK_OK; i++) {
        json_t *row = json_array_get(arr, i);
        if (!json_is_object(row)) {
            rc = sk_error_set(err, SK_EDATA,
                              "%s: item %zu is not a JSON object", path, i);
            break;
        }
        p.n = p.rowidx = i;
        rc = fn(ud, row, &p, err);
    }
out:
    json_decref(arr);
    sk_buf_release(&text);
    return rc;
}

/* One CSV record: fields stored NUL-separated in data. */
struct csv_rec {
    struct sk_buf data;
    size_t *offs; /* start of each field in data */
    size_t n, cap;
};

static int rec_end_field(struct csv_rec *rec)
{
    size_t start;
    if (rec->n == rec->cap) {
        size_t nc = rec->cap ? rec->cap * 2 : 16;
        size_t *no = sk_realloc(rec->offs, nc * sizeof *no);
        if (!no)
            return SK_ENOMEM;
        rec->offs = no;
        rec->cap = nc;
    }
    /* the field runs from the previous NUL (or 0) to here */
    start = 0;
    if (rec->n)
        start = rec->offs[rec->n - 1] +
                strlen(rec->data.data + rec->offs[rec->n - 1]) + 1;
    rec->offs[rec->n++] = start;
    return sk_buf_putc(&rec->data, '\0');
}

/*
 * Reads the next CSV record (Python csv "excel" dialect: ',' separated,
 * '"' quoted with "" for a quote, quoted fields may span lines; blank
 * lines skipped).  *got = 0 at the end of the file.  *line counts lines.
 */
static int csv_next(struct rdr *r, struct csv_rec *rec, size_t *line, int *got,
                    struct sk_error *err)
{
    enum { START, FIELD, QUOTED, QUOTE_IN } st = START;
    size_t first = *line + 1;
    int c, rc = SK_OK;

    sk_buf_reset(&rec->data);
    rec->n = 0;
    *got = 0;
    for (;;) {
        c = rdr_getc(r);
        if (c == -2)
            return read_error(r, err);
        if (c == -1) {
            if (st == QUOTED)
                return sk_error_set(err, SK_EDATA,
                                    "%s:%zu: a quoted field is not closed at "
                                    "the end of the file (is it truncated?)",
                                    r->path, first);
            if (st == START && rec->n == 0)
                return SK_OK;
            if (rec_end_field(rec))
                goto oom;
            (*line)++;
            *got = 1;
            return SK_OK;
        }
        if (c == 0)
            return sk_error_set(err, SK_EDATA, "%s:%zu: NUL byte in CSV data",
                                r->path, *line + 1);
        if ((c == '\r' || c == '\n') && st != QUOTED) {
            if (c == '\r') {
                int d = rdr_getc(r);
                if (d == -2)
                    return read_error(r, err);
                if (d >= 0 && d != '\n')
                    rdr_unget(r);
            }
            (*line)++;
            if (st == START && rec->n == 0) {
                first = *line + 1; /* a blank line */
                continue;
            }
            if (rec_end_field(rec))
                goto oom;
            *got = 1;
            return SK_OK;
        }
        switch (st) {
        case START:
            if (c == '"')
                st = QUOTED;
            else if (c == ',')
                rc = rec_end_field(rec);
            else {
                rc = sk_buf_putc(&rec->data, (char)c);
                st = FIELD;
            }
            break;
        case FIELD:
            if (c == ',') {
                rc = rec_end_field(rec);
                st = START;
            } else {
                rc = sk_buf_putc(&rec->data, (char)c);
            }
            break;
        case QUOTED:
            if (c == '"')
                st = QUOTE_IN;
            else {
                if (c == '\n')
                    (*line)++;
                rc = sk_buf_putc(&rec->data, (char)c);
            }
            break;
        case QUOTE_IN:
            if (c == '"') {
                rc = sk_buf_putc(&rec->data, '"');
                st = QUOTED;
            } else if (c == ',') {
                rc = rec_end_field(rec);
                st = START;
            } else {
                rc = sk_buf_putc(&rec->data, (char)c);
                st = FIELD;
            }
            break;
        }
        if (rc == SK_ETOOBIG)
            return sk_error_set(err, SK_EDATA,
                                "%s:%zu: CSV record longer than %zu bytes",
                                r->path, first, MAX_RECORD);
        if (rc)
            goto oom;
        /* a record started on a blank line keeps its own first line */
        if (rec->n == 0 && rec->data.len == 1 && st != START)
            first = *line + 1;
    }
oom:
    return sk_error_set(err, SK_ENOMEM, "out of memory");
}

static const char *rec_field(const struct csv_rec *rec, size_t i)
{
    return rec->data.data + rec->offs[i];
}

static int read_csv(const char *path, sk_row_fn fn, void *ud,
                    struct sk_error *err)
{
    struct rdr r;
    struct csv_rec rec, hdr;
    struct sk_row_pos p = {path, 0, 1, 0};
    size_t line = 0, i, n;
    int rc, got;
    json_t *row = NULL;

    memset(&rec, 0, sizeof rec);
    memset(&hdr, 0, sizeof hdr);
    sk_buf_init(&rec.data, MAX_RECORD);
    sk_buf_init(&hdr.data, MAX_RECORD);
    rc = rdr_open(&r, path, err);
    if (rc)
        goto out;
    rc = csv_next(&r, &hdr, &line, &got, err);
    if (rc || !got)
        goto out; /* an empty file has no rows */
    /* A UTF-8 byte order mark would otherwise stick to the first name. */
    if (hdr.data.len >= 3 && memcmp(hdr.data.data, "\xEF\xBB\xBF", 3) == 0) {
        memmove(hdr.data.data, hdr.data.data + 3, hdr.data.len - 3);
        sk_buf_truncate(&hdr.data, hdr.data.len - 3);
        for (i = 1; i < hdr.n; i++)
            hdr.offs[i] -= 3;
    }
    for (;;) {
        p.n = line + 1;
        rc = csv_next(&r, &rec, &line, &got, err);
        if (rc || !got)
            break;
        row = json_object();
        if (!row)
            goto oom;
        n = rec.n < hdr.n ? rec.n : hdr.n;
        for (i = 0; i < n; i++)
            if (put(row, rec_field(&hdr, i), json_string(rec_field(&rec, i)))) {
                /* invalid UTF-8 makes json_string fail too */
                rc = sk_error_set(err, SK_EDATA,
                                  "%s:%zu: field \"%s\" is not valid UTF-8 "
                                  "text",
                                  path, p.n, rec_field(&hdr, i));
                goto out;
            }
        rc = fn(ud, row, &p, err);
        json_decref(row);
        row = NULL;
        p.rowidx++;
        if (rc)
            break;
    }
    goto out;
oom:
    rc = sk_error_set(err, SK_ENOMEM, "out of memory");
out:
    json_decref(row);
    rdr_close(&r);
    sk_buf_release(&rec.data);
    sk_buf_release(&hdr.data);
    sk_free(rec.offs);
    sk_free(hdr.offs);
    return rc;
}

/* The format of path: forced, by extension, else by its first byte. */
static int detect_format(const char *path, enum sk_rows_format forced,
                         enum sk_rows_format *out, struct sk_error *err)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    struct rdr r;
    int c, rc;
    if (forced != SK_ROWS_AUTO) {
        *out = forced;
        return SK_OK;
    }
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".csv") == 0) {
            *out = SK_ROWS_CSV;
            return SK_OK;
        }
        if (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0) {
            *out = SK_ROWS_JSONL;
            return SK_OK;
        }
    }
    /* .json holds an array, or JSON Lines under the wrong name */
    rc = rdr_open(&r, path, err);
    if (rc)
        return rc;
    do {
        c = rdr_getc(&r);
    } while (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF ||
             c == 0xBB || c == 0xBF);
    if (c == -2)
        rc = read_error(&r, err);
    rdr_close(&r);
    *out = c == '[' ? SK_ROWS_JSON : c == '{' ? SK_ROWS_JSONL : SK_ROWS_CSV;
    return rc;
}

int sk_rows_read_file(const char *path, enum sk_rows_format format,
                      sk_row_fn fn, void *ud, struct sk_error *err)
{
    enum sk_rows_format f;
    int rc = detect_format(path, format, &f, err);
    if (rc)
        return rc;
    if (f == SK_ROWS_JSON)
        return read_json_array(path, fn, ud, err);
    if (f == SK_ROWS_JSONL)
        return read_jsonl(path, fn, ud, err);
    return read_csv(path, fn, ud, err);
}

/* ---- directories -------------------------------------------------------- */

struct pathlist {
    char **v;
    size_t n, cap;
};

static int pathlist_take(struct pathlist *l, char *p)
{
    if (!p)
        return SK_ENOMEM;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = sk_realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            sk_free(p);
            return SK_ENOMEM;
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = p;
    return SK_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const char *dir, sk_rows_want_fn want, int depth,
                struct pathlist *out, struct sk_error *err)
{
    DIR *d;
    struct dirent *de;
    int rc = SK_OK;
    if (depth > MAX_DEPTH)
        return SK_OK;
    d = opendir(dir);
    if (!d)
        return sk_error_set(err, SK_EIO, "%s: cannot open directory: %s", dir,
                            strerror(errno));
    while (rc == SK_OK && (de = readdir(d)) != NULL) {
        struct stat st;
        char *p;
        if (de->d_name[0] == '.')
            continue;
        p = sk_fs_join(dir, de->d_name);
        if (!p) {
            rc = sk_error_set(err, SK_ENOMEM, "out of memory");
            break;
        }
        if (stat(p, &st) != 0) {
            sk_free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk(p, want, depth + 1, out, err);
            sk_free(p);
        } else if (S_ISREG(st.st_mode) && want(de->d_name)) {
            if (pathlist_take(out, p))
                rc = sk_error_set(err, SK_ENOMEM, "out of memory");
        } else {
            sk_free(p);
        }
    }
    closedir(d);
    return rc;
}

int sk_rows_list_dir(const char *dir, sk_rows_want_fn want, char ***paths,
                     size_t *n, struct sk_error *err)
{
    struct pathlist l;
    int rc;
    memset(&l, 0, sizeof l);
    *paths = NULL;
    *n = 0;
    rc = walk(dir, want, 0, &l, err);
    if (rc) {
        sk_rows_paths_free(l.v, l.n);
        return rc;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_str);
    *paths = l.v;
    *n = l.n;
    return SK_OK;
}

void sk_rows_paths_free(char **paths, size_t n)
{
    size_t i;
    for (i = 0; paths && i < n; i++)
        sk_free(paths[i]);
    sk_free(paths);
}
