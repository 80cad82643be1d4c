/*
 * skillopt.h - the public API of libskillopt.
 *
 * The library is built as a static archive linked by the `skillopt`
 * program and its tests.  This header grows as the library's entry points
 * (open a run, train, evaluate, read results) become stable; internal
 * modules have their own headers under src/ and are not part of it.
 */
#ifndef SKILLOPT_H
#define SKILLOPT_H

/* The library version, e.g. "0.1.0". */
const char *sk_version(void);

#endif /* SKILLOPT_H */
