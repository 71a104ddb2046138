/*
 * http_stack — a floor under the stack size that libraries ask for their threads.
 *
 * Debian's libcivetweb 1.15 is built with USE_STACK_SIZE = 100 KiB and asks for it with
 * pthread_attr_setstacksize before creating each of its threads (master, workers, timers).
 * That stack is too small for CivetWeb's own work: a WebSocket client that closes
 * mid-frame sends a worker through CivetWeb's error formatting and overflows it, and so
 * does any tars callback that logs (on_log, a refused stream upgrade). A process cannot
 * set CivetWeb's figure, but the executable comes first in the dynamic linker's search
 * order: the definition below is the one libcivetweb's reference binds to. glibc accepts an
 * executable's unversioned definition for the library's versioned reference
 * (pthread_attr_setstacksize@GLIBC_2.34), and the linker exports it because a shared
 * library in the link refers to it. Any explicit request below STACK_FLOOR gets the floor;
 * larger ones pass through unchanged. glibc's own function does the work (RTLD_NEXT).
 *
 * The file is linked into tarsd only (not into tars-core): tarsctl and the unit tests keep
 * glibc's function.
 *
 * Sanitizers: libasan and libtsan do not intercept pthread_attr_setstacksize (they only call
 * it, and their calls bind here too), so the same definition binds in those builds;
 * edge_stack.sh proves it in all three.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

/*
 * 8 MiB, glibc's own default: what the handlers' bigstack gets, enough for CivetWeb's
 * formatting and tars's logging under AddressSanitizer. Pages are committed only when
 * touched, so a thread that needs 60 KiB costs 60 KiB of memory.
 */
#define STACK_FLOOR ((size_t)8 << 20)

typedef int (*setstacksize_fn)(pthread_attr_t *, size_t);

__attribute__((visibility("default"))) int
pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
    static setstacksize_fn next;
    setstacksize_fn fn = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
    if (!fn) {
        fn = (setstacksize_fn)dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
        if (!fn)
            return EINVAL;
        __atomic_store_n(&next, fn, __ATOMIC_RELEASE);
    }
    return fn(attr, size < STACK_FLOOR ? STACK_FLOOR : size);
}
