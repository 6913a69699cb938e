/*
 * <nk/arena.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The arena: the variable-size part of a message, a caller-owned buffer
 * [start, end) of which [start, current) is in use (struct nk_arena, three
 * pointers [D]). The macro names and argument orders are the ones the SDK's
 * examples use; what they do is this project's (docs/abi.md):
 *
 *   struct nk_arena a = NK_ARENA_INITIALIZER(buf, buf + sizeof(buf));
 *   nk_arena_store(nk_char_t, &a, &req.value, text, strlen(text) + 1);
 *   const nk_char_t *s = nk_arena_get(nk_char_t, &a, &req->value, &count);
 *
 * A stored block starts at the next offset aligned for its type. count
 * (nk_arena_store, nk_arena_alloc, nk_arena_get) is in elements of the type.
 * nk_arena_store returns NK_EOK, NK_ENOMEM (no room; arena unchanged) or
 * NK_EINVAL; nk_arena_alloc and nk_arena_get return a pointer, or RTL_NULL
 * when there is no room or the reference is bad (outside [start, current)
 * or not a whole number of elements); nk_arena_get's count is then 0.
 */
#ifndef KOS_SHIM_KOS_NK_ARENA_H
#define KOS_SHIM_KOS_NK_ARENA_H

#include "types.h"

typedef struct nk_arena {
    void *start;
    void *current;
    void *end;
} nk_arena;

#define NK_ARENA_INITIALIZER(start_, end_)                                     \
    { (void *)(start_), (void *)(start_), (void *)(end_) }

/* Make `a` an empty arena over [start, end). */
static inline void nk_arena_init(struct nk_arena *a, void *start, void *end)
{
    a->start = start;
    a->current = start;
    a->end = end;
}

/* Empty the arena: current = start. */
static inline void nk_arena_reset(struct nk_arena *a)
{
    a->current = a->start;
}

/* Bytes in use, and the buffer's size. */
static inline nk_size_t nk_arena_size(const struct nk_arena *a)
{
    return (nk_size_t)((const char *)a->current - (const char *)a->start);
}
static inline nk_size_t nk_arena_capacity(const struct nk_arena *a)
{
    return (nk_size_t)((const char *)a->end - (const char *)a->start);
}

#define nk_arena_store(type, arena, ptr, src, count)                           \
    kos_nk_arena_store((arena), (ptr), (src), sizeof(type) * (size_t)(count),  \
                       nk_alignof(type))
#define nk_arena_alloc(type, arena, ptr, count)                                \
    ((type *)kos_nk_arena_alloc((arena), (ptr), sizeof(type) * (size_t)(count), \
                                nk_alignof(type)))
#define nk_arena_get(type, arena, ptr, count)                                  \
    ((type *)kos_nk_arena_get((arena), (ptr), sizeof(type), (count),           \
                              sizeof(*(count))))

/* kos_nk_arena_store, kos_nk_arena_alloc, kos_nk_arena_get. */
#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../kos_ipc_shim.h"

#endif /* KOS_SHIM_KOS_NK_ARENA_H */
