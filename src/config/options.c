/*
 * options.c - the option table, generated from options.def.
 */
#include "common.h"
#include "config/config.h"

#include <math.h>

#define NOMIN (-HUGE_VAL)
#define NOMAX HUGE_VAL

const struct sk_option sk_options[SK_OPT_COUNT] = {
#define X(sec, k, flat, type, def, lo, hi, ch, fl, help)                       \
    {#sec,                                                                     \
     #k,                                                                       \
     #flat,                                                                    \
     SK_OPT_##type,                                                            \
     def,                                                                      \
     lo,                                                                       \
     hi,                                                                       \
     ch,                                                                       \
     fl,                                                                       \
     help,                                                                     \
     offsetof(struct sk_config, flat)},
#include "config/options.def"
#undef X
};
