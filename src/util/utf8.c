/*
 * utf8.c - strict UTF-8 validation, used before text reaches a parser or a
 * model (libfyaml 0.7.12 loops forever on some invalid sequences in
 * directives; found by fuzz_config).
 */
#include "common.h"
#include "util/utf8.h"

int sk_utf8_valid(const char *s, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t n, k;
        unsigned cp;
        if (c == 0)
            goto fail;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07;
        else
            goto fail;
        if (len - i <= n) /* sequence cut off by the end of the text */
            goto fail;
        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                goto fail;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto fail;
        i += n + 1;
    }
    return 1;
fail:
    if (bad)
        *bad = i;
    return 0;
}

void sk_text_line_col(const char *s, size_t off, int *line, int *col)
{
    size_t i;
    int l = 1, c = 1;
    for (i = 0; i < off; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}
