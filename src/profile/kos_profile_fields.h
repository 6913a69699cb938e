/*
 * Field map of the ABI profile bridge: how to reach the parts of an SMsgHdr
 * and an nk_message. Everything the bridge reads goes through these macros.
 *
 * Host profile (default): the layout documented in docs/DESIGN.md and
 * include/kos_ipc_shim.h, what the host emulator and the compatibility
 * headers under include/kos/ define.
 *
 * Real SDK (KOS_PROFILE_SDK): the public KasperskyOS material names SMsgHdr
 * but does not give its fields, nor nk_message's field order. They are not
 * guessed here: the SDK build takes this map from a header the SDK user
 * writes against their SDK's <ipc/if_rend.h> and <services/rtl/nk_msg.h>
 * (KOS_SDK_PROFILE_FIELDS=/path/to/fields.h), defining every macro below.
 * Without it the build stops with the #error below. The host map,
 * kos_profile_fields_host.h, is the template: it lists every macro.
 */
#ifndef KOS_PROFILE_FIELDS_H
#define KOS_PROFILE_FIELDS_H

#if defined(KOS_PROFILE_SDK) && defined(KOS_PROFILE_FIELDS_HEADER)
#include KOS_PROFILE_FIELDS_HEADER
#elif !defined(KOS_PROFILE_SDK)
#include "kos_profile_fields_host.h"
#else
#error "sdk-profile: set KOS_SDK_PROFILE_FIELDS to a header mapping SMsgHdr/nk_message fields for your SDK (template: src/profile/kos_profile_fields_host.h)"
#endif

#endif /* KOS_PROFILE_FIELDS_H */
