/*
 * Tiny check macros shared by the C tests in ctests/.
 *
 * A failed check prints `file:line: what failed: expected X, actual Y` on
 * stderr and ends the process with exit code 1 (_Exit, so a failure in one
 * thread stops the whole test at once instead of leaving others blocked).
 * Return codes are printed with their names from the SDK's table
 * (<rtl/retcode_hr.h>) and their values.
 */
#ifndef KOS_SHIM_CTESTS_CHECK_H
#define KOS_SHIM_CTESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rtl/retcode.h>
#include <rtl/retcode_hr.h>

static inline void check_die(void)
{
    fflush(stdout);
    fflush(stderr);
    _Exit(1);
}

/* CHECK(cond): cond must hold. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            check_die();                                                       \
        }                                                                      \
    } while (0)

/* CHECK_EQ(expected, actual): two integers (any integer type) are equal. */
#define CHECK_EQ(expected, actual)                                             \
    do {                                                                       \
        long long check_e_ = (long long)(expected);                           \
        long long check_a_ = (long long)(actual);                             \
        if (check_e_ != check_a_) {                                            \
            fprintf(stderr,                                                    \
                    "%s:%d: CHECK_EQ(%s, %s) failed: expected %lld (0x%llx), " \
                    "actual %lld (0x%llx)\n",                                  \
                    __FILE__, __LINE__, #expected, #actual, check_e_,          \
                    (unsigned long long)check_e_, check_a_,                    \
                    (unsigned long long)check_a_);                             \
            check_die();                                                       \
        }                                                                      \
    } while (0)

/* CHECK_RC(expected, actual): two Retcodes are equal; prints them as the
 * SDK's examples do (RETCODE_HR_FMT: name and value). */
#define CHECK_RC(expected, actual)                                             \
    do {                                                                       \
        Retcode check_e_ = (Retcode)(expected);                                \
        Retcode check_a_ = (Retcode)(actual);                                  \
        if (check_e_ != check_a_) {                                            \
            fprintf(stderr,                                                    \
                    "%s:%d: CHECK_RC(%s, %s) failed: expected " RETCODE_HR_FMT \
                    ", actual " RETCODE_HR_FMT "\n",                           \
                    __FILE__, __LINE__, #expected, #actual,                    \
                    RETCODE_HR_PARAMS(check_e_), RETCODE_HR_PARAMS(check_a_)); \
            check_die();                                                       \
        }                                                                      \
    } while (0)

/* CHECK_MEM(expected, actual, len): `len` bytes at `actual` equal `expected`. */
#define CHECK_MEM(expected, actual, len)                                       \
    do {                                                                       \
        size_t check_n_ = (size_t)(len);                                       \
        if (memcmp((expected), (actual), check_n_) != 0) {                     \
            fprintf(stderr,                                                    \
                    "%s:%d: CHECK_MEM(%s, %s, %zu) failed: expected \"%.*s\", " \
                    "actual \"%.*s\"\n",                                       \
                    __FILE__, __LINE__, #expected, #actual, check_n_,          \
                    (int)check_n_, (const char *)(expected), (int)check_n_,    \
                    (const char *)(actual));                                   \
            check_die();                                                       \
        }                                                                      \
    } while (0)

#endif /* KOS_SHIM_CTESTS_CHECK_H */
