/*
 * The service locator wrappers of the wrap archive (feature wrap + clib):
 * __wrap_ServiceLocatorRegister, __wrap_ServiceLocatorConnect and
 * __wrap_ServiceLocatorGetRiid, for programs linked with
 *   -Wl,--wrap=ServiceLocatorRegister,--wrap=ServiceLocatorConnect,--wrap=ServiceLocatorGetRiid
 * Each forwards its arguments untouched to the real locator (__real_*) and
 * then tells the core what the locator answered (kos_shim_locator_*, in
 * src/locator.rs), which names handles and RIIDs in statistics and traces.
 *
 * Why C, in an object of its own: build.rs compiles this file into a static
 * library that rustc bundles into the wrap archive as a separate member. The
 * linker extracts a member only for a symbol the program needs, so the
 * strong references to __real_ServiceLocator* below exist only in programs
 * linked with the three --wrap flags (where they name the real locator); a
 * program linked without them never pulls this member and never needs a
 * locator. (The Rust core is one object; a reference from there would be
 * needed by every program, and a weak one would not pull the locator out of
 * a static libkos.)
 *
 * Types: Handle is a 32-bit unsigned integer and nk_iid_t a 16-bit one in
 * the KasperskyOS CE profile (docs/abi.md "ABI"; checked against an SDK with
 * feature sdk-profile). The locator's second and third Register arguments
 * (the service list and its length) and the ServiceId out-pointer are
 * passed on as pointer-sized values without being read: their exact C types
 * are not public, and a pointer-sized register holds any of them.
 */
#include <stdint.h>

typedef uint32_t kos_shim_handle_t;
typedef uint16_t kos_shim_iid_t;

kos_shim_handle_t __real_ServiceLocatorRegister(const char *connection, const void *services,
                                                uintptr_t count, void *id);
kos_shim_handle_t __real_ServiceLocatorConnect(const char *connection);
kos_shim_iid_t __real_ServiceLocatorGetRiid(kos_shim_handle_t handle, const char *endpoint);

void kos_shim_locator_registered(const char *connection, kos_shim_handle_t handle);
void kos_shim_locator_connected(const char *connection, kos_shim_handle_t handle);
void kos_shim_locator_riid(kos_shim_handle_t handle, const char *endpoint, kos_shim_iid_t riid);

kos_shim_handle_t __wrap_ServiceLocatorRegister(const char *connection, const void *services,
                                                uintptr_t count, void *id);
kos_shim_handle_t __wrap_ServiceLocatorConnect(const char *connection);
kos_shim_iid_t __wrap_ServiceLocatorGetRiid(kos_shim_handle_t handle, const char *endpoint);

kos_shim_handle_t __wrap_ServiceLocatorRegister(const char *connection, const void *services,
                                                uintptr_t count, void *id) {
    kos_shim_handle_t h = __real_ServiceLocatorRegister(connection, services, count, id);
    kos_shim_locator_registered(connection, h);
    return h;
}

kos_shim_handle_t __wrap_ServiceLocatorConnect(const char *connection) {
    kos_shim_handle_t h = __real_ServiceLocatorConnect(connection);
    kos_shim_locator_connected(connection, h);
    return h;
}

kos_shim_iid_t __wrap_ServiceLocatorGetRiid(kos_shim_handle_t handle, const char *endpoint) {
    kos_shim_iid_t riid = __real_ServiceLocatorGetRiid(handle, endpoint);
    kos_shim_locator_riid(handle, endpoint, riid);
    return riid;
}
