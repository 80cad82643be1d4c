/*
 * fuzz_config.c - libFuzzer target: arbitrary bytes as a config file.
 *
 * The input is written to a scratch file and loaded; the first line, when
 * it starts with "#!", is taken as one --cfg-options item so overrides are
 * fuzzed too.  Any outcome is fine except a crash, a leak or a sanitizer
 * report; a successful load must also print.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct sk_config_args a;
    struct sk_config c;
    struct sk_error err;
    struct sk_buf out;
    char opt[256];
    const char *opts[1];
    FILE *fp;

    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/skillopt-fuzz-config-%ld.yaml",
                 (long)getpid());
        sk_log_set_level(SK_LOG_ERROR); /* warnings are expected noise */
    }
    memset(&a, 0, sizeof a);
    if (size > 2 && data[0] == '#' && data[1] == '!') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) - 2 : size - 2;
        if (n >= sizeof opt)
            n = sizeof opt - 1;
        memcpy(opt, data + 2, n);
        opt[n] = '\0';
        if (strlen(opt) == n) {
            opts[0] = opt;
            a.cfg_options = opts;
            a.n_cfg_options = 1;
        }
    }
    fp = fopen(path, "wb");
    if (!fp)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    a.path = path;
    sk_config_init(&c);
    if (sk_config_load(&a, &c, &err) == SK_OK) {
        sk_buf_init(&out, SK_BUF_UNLIMITED);
        if (sk_config_print(&c, SK_CONFIG_PRINT_ORIGIN, &out) != SK_OK)
            abort();
        sk_buf_release(&out);
    } else if (err.msg[0] == '\0') {
        abort(); /* every failure must explain itself */
    }
    sk_config_release(&c);
    sk_log_clear_secrets();
    return 0;
}
