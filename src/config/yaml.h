/*
 * yaml.h - the one way skillopt parses YAML text (libfyaml).
 *
 * Text that is not UTF-8 is refused before it reaches libfyaml (0.7.12
 * loops forever on some invalid sequences); parse errors are collected and
 * reported as "path:line:col: invalid YAML: what".  The document is the
 * caller's (fy_document_destroy).
 */
#ifndef SK_YAML_H
#define SK_YAML_H

#include <stddef.h>

#include "common.h"

struct fy_document;

/* Returns SK_OK and *out, or SK_ECONFIG / SK_ENOMEM with err set. */
int sk_yaml_parse(const char *path, const char *text, size_t len,
                  struct fy_document **out, struct sk_error *err);

#endif /* SK_YAML_H */
