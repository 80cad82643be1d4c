/*
 * jsonparse.c - hardened json_loadb (see jsonparse.h).
 */
#include "common.h"
#include "util/jsonparse.h"

#include <string.h>

json_t *sk_json_loadb(const char *text, size_t len, size_t flags,
                      json_error_t *jerr)
{
    memset(jerr, 0, sizeof *jerr);
    return json_loadb(text, len, flags, jerr);
}

int sk_json_oom(const json_error_t *jerr)
{
    /* no text at all: jansson failed before it could describe anything */
    return json_error_code(jerr) == json_error_out_of_memory ||
           jerr->text[0] == '\0';
}
