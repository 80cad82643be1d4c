/*
 * fuzz_officeqa.c - libFuzzer target: arbitrary bytes as a target reply
 * for the OfficeQA scorer, as tool requests for the document tools, and
 * as a JSON list field.
 *
 * The input up to the first "\n--\n" is the reply and the rest the gold.
 * Every <tool> block of the whole input runs against a small corpus made
 * once under /tmp, whose root holds a symlink to a secret file outside
 * it: a result that shows the secret (when the input does not hold it
 * already: errors quote the request) is a failure (abort), as is a crash,
 * a leak or a sanitizer report.
 */
#include "common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/doctools.h"
#include "bench/officeqa.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

#define SECRET "FUZZ-SECRET-5f2e"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        abort();
    fputs(text, fp);
    fclose(fp);
}

static struct sk_doctools *toolbox(void)
{
    static struct sk_doctools *dt;
    char base[128], p[256], q[256];
    const char *roots[1];
    const char *srcs[] = {"doc.txt", "link.txt", "b.txt"};
    if (dt)
        return dt;
    sk_log_set_level(SK_LOG_ERROR);
    snprintf(base, sizeof base, "/tmp/skillopt-fuzz-officeqa-%ld",
             (long)getpid());
    snprintf(p, sizeof p, "%s/root/sub", base);
    mkdir(base, 0755);
    snprintf(q, sizeof q, "%s/root", base);
    mkdir(q, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/secret.txt", base);
    put(p, SECRET "\n");
    snprintf(q, sizeof q, "%s/root/link.txt", base);
    if (symlink(p, q) != 0 && access(q, F_OK) != 0)
        abort();
    snprintf(p, sizeof p, "%s/root/doc.txt", base);
    put(p, "Receipts 1940\nNational defense 2,602\nTotal 9,055\n");
    snprintf(p, sizeof p, "%s/root/sub/b.pdftotext.txt", base);
    put(p, "\xff\xfe bytes\n\n\f page two\n");
    snprintf(p, sizeof p, "%s/root/other.txt", base);
    put(p, SECRET "\n");
    snprintf(q, sizeof q, "%s/root", base);
    roots[0] = q;
    if (sk_doctools_open(roots, 1, srcs, 3, &dt, NULL) != SK_OK)
        abort();
    return dt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *body;
    const char *sep = size >= 4 ? memmem(data, size, "\n--\n", 4) : NULL;
    size_t rl = sep ? (size_t)(sep - text) : size, pos = 0, bl;
    struct sk_officeqa_result r;
    struct sk_doctools *dt = toolbox();
    json_t *v;
    int closed, quoted = memmem(data, size, SECRET, strlen(SECRET)) != NULL;

    if (sk_officeqa_evaluate(text, rl, sep ? sep + 4 : "",
                             sep ? size - rl - 4 : 0, &r) == SK_OK) {
        if (r.hard != (int)r.em || r.f1 < 0.0 || r.f1 > 1.0)
            abort();
        sk_officeqa_result_release(&r);
    }
    while (sk_doctools_next_block(text, size, &pos, &body, &bl, &closed)) {
        struct sk_buf name, out;
        int failed;
        sk_buf_init(&name, SK_BUF_UNLIMITED);
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        if (sk_doctools_run(dt, body, bl, &name, &out, &failed) == SK_OK &&
            !quoted && out.len &&
            memmem(out.data, out.len, SECRET, strlen(SECRET)))
            abort();
        sk_buf_release(&name);
        sk_buf_release(&out);
    }
    v = json_loadb(text, size, JSON_DECODE_ANY, NULL);
    if (v) {
        char **l;
        size_t n;
        if (sk_officeqa_parse_list(v, &l, &n, NULL) == SK_OK)
            sk_officeqa_strs_free(l, n);
        json_decref(v);
    }
    return 0;
}
