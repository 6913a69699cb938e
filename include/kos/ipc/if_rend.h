/*
 * <ipc/if_rend.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * SMsgHdr, the header the IPC system calls take. Field names and order
 * from the SDK header's text [H] (KCE 1.3); sizes and offsets from KCE 1.2
 * binaries [B] (72 bytes on 64-bit targets); Tid 32-bit [D]. Fill it with
 * PackOutMsg / PackInMsg (<services/rtl/nk_msg.h>) or by hand.
 */
#ifndef KOS_SHIM_KOS_IPC_IF_REND_H
#define KOS_SHIM_KOS_IPC_IF_REND_H

#include "../handle/handletype.h"
#include "../rtl/types.h"

typedef rtl_uint32_t Tid;
typedef rtl_uint32_t TaskId;

/* One buffer of a message. */
typedef struct IndirDesc {
    void *buf;
    rtl_uint32_t size;
} IndirDesc;

/* Immediate data, carried in the header itself. */
typedef struct SMsgImm {
    rtl_uint32_t payload[1];
} SMsgImm;

#define MAX_INDIR_DESCS 2

typedef struct SMsgHdr {
    Handle replyHandle;    /* on Recv: the server IPC handle to reply on */
    TaskId sender;         /* the sender's task (process) id */
    Tid threadId;          /* on Recv: the caller's thread; on Reply: the
                              thread to answer, 0 for the first waiting */
    rtl_uint64_t traceId;  /* current trace id */
    rtl_uint64_t spanId;   /* the client's span id */
    rtl_uint32_t immSize;  /* non-zero: immediate data in imm; 0: descriptors */
    union {
        SMsgImm imm;
        IndirDesc indirDescs[MAX_INDIR_DESCS]; /* 0: constant part, 1: arena */
    };
} SMsgHdr;

#endif /* KOS_SHIM_KOS_IPC_IF_REND_H */
