/*
 * version.c - the version string, from CMake's project() version.
 */
#include "common.h"

#include "skillopt.h"
#include "version.h"

const char *sk_version(void)
{
    return SKILLOPT_VERSION;
}
