/*
 * store/Types.idl.h -- written by hand for examples/solutions/store, in the
 * shape nk-gen-c gives the header of an IDL file without an interface
 * (typedefs only). Source: idl/store/Types.idl:
 *
 *     package store.Types
 *     typedef string<32> Key;
 *
 * In a message a string is an nk_ptr_t into the arena; the header gives
 * the type's name and its size with the NUL (33 bytes).
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

/* ==== TYPES ============================================================= */
#ifndef __store__Types__TYPES__
#define __store__Types__TYPES__

typedef nk_ptr_t store_Types_Key;

enum {
    store_Types_Key_size = 33,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Types_Key store_Types_Key
#define Types_Key_size store_Types_Key_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Types__TYPES__ */

#pragma GCC diagnostic pop
