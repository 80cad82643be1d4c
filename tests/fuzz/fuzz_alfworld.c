/*
 * fuzz_alfworld.c - libFuzzer target: arbitrary bytes as a model reply
 * whose action ALFWorld extracts.
 *
 * Replies are C strings (the input stops at its first NUL byte).  Any
 * outcome is fine except a crash, a leak or a sanitizer report; an
 * action found must be valid UTF-8, non-empty, without surrounding ASCII
 * whitespace, and a fixed point: wrapping it in a tag again extracts the
 * same text.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "bench/alfworld.h"
#include "util/buf.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sk_buf a, again, wrapped;
    int found = 0, found2 = 0;

    size = strnlen((const char *)data, size);
    sk_buf_init(&a, SK_BUF_UNLIMITED);
    sk_buf_init(&again, SK_BUF_UNLIMITED);
    sk_buf_init(&wrapped, SK_BUF_UNLIMITED);
    if (sk_alfworld_extract_action((const char *)data, size, &found, &a) !=
        SK_OK)
        abort(); /* only out of memory may fail */
    if (found) {
        if (a.len == 0 || strchr(" \t\r\n\f\v", a.data[0]) ||
            strchr(" \t\r\n\f\v", a.data[a.len - 1]) ||
            !sk_utf8_valid(a.data, a.len, NULL))
            abort();
        if (sk_buf_puts(&wrapped, "<action>") != SK_OK ||
            sk_buf_append(&wrapped, a.data, a.len) != SK_OK ||
            sk_buf_puts(&wrapped, "</action>") != SK_OK)
            abort();
        if (sk_alfworld_extract_action(wrapped.data, wrapped.len, &found2,
                                       &again) != SK_OK)
            abort();
        /* the action may itself hold a tag: then the first one wins */
        if (!memmem(a.data, a.len, "<", 1) &&
            (!found2 || again.len != a.len ||
             memcmp(again.data, a.data, a.len) != 0))
            abort();
    } else if (a.len != 0) {
        abort();
    }
    sk_buf_release(&a);
    sk_buf_release(&again);
    sk_buf_release(&wrapped);
    return 0;
}
