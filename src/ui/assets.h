/*
 * assets.h - the dashboard's static files (ui/), embedded at build time by
 * cmake/embed_ui.cmake into a generated table.  Everything is constant
 * data in the binary; nothing here allocates.
 */
#ifndef SK_UI_ASSETS_H
#define SK_UI_ASSETS_H

#include <stddef.h>

struct sk_ui_asset {
    const char *name;          /* path under ui/, e.g. "index.html" */
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
    const char *mime; /* Content-Type to serve it with */
};

extern const struct sk_ui_asset sk_ui_asset_table[];
extern const size_t sk_ui_asset_count;

/* The asset called name, or NULL. */
const struct sk_ui_asset *sk_ui_asset_find(const char *name);

#endif /* SK_UI_ASSETS_H */
