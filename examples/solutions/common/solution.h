/*
 * solution.h -- what the example solutions' programs share
 * (examples/solutions/): the name of an NK_E* code for messages, the
 * milliseconds a call took, and line-buffered output.
 *
 * Nothing here talks to the kernel; the programs reach it only through the
 * SDK's headers (<coresrv/sl/sl_api.h>, <coresrv/nk/transport-kos.h>) and
 * their generated-style headers.
 */
#ifndef SOLUTION_H
#define SOLUTION_H

#include <nk/types.h>

#include <stdio.h>
#include <time.h>

/* "NK_ENOTCONN", ... for an nk_err_t (<nk/errno.h>). */
static inline const char *solution_nk_err_name(nk_err_t rc)
{
    switch (rc) {
    case NK_EOK: return "NK_EOK";
    case NK_EPERM: return "NK_EPERM";
    case NK_ENOENT: return "NK_ENOENT";
    case NK_EAGAIN: return "NK_EAGAIN";
    case NK_ENOMEM: return "NK_ENOMEM";
    case NK_EINVAL: return "NK_EINVAL";
    case NK_ENOTEMPTY: return "NK_ENOTEMPTY";
    case NK_ENOMSG: return "NK_ENOMSG";
    case NK_EBADMSG: return "NK_EBADMSG";
    case NK_ENOTCONN: return "NK_ENOTCONN";
    default: return "unknown NK error";
    }
}

/* Now, in milliseconds of a monotonic clock. */
static inline long long solution_now_ms(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        return 0;
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Print every line when it is complete: under kos-host-run stdout is a
 * pipe, which the C library would otherwise fill in blocks, so lines would
 * reach the launcher late, out of time order, or (for a process that is
 * killed) never. */
static inline void solution_line_buffered(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

#endif /* SOLUTION_H */
