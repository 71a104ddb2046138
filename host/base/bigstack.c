#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include "bigstack.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define BIGSTACK_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define BIGSTACK_TSAN 1
#endif

struct bigstack {
    ucontext_t caller, callee;
    void *stack;
    size_t size;
    void (*fn)(void *arg);
    void *arg;
#ifdef BIGSTACK_ASAN
    const void *caller_bottom;
    size_t caller_size;
#endif
#ifdef BIGSTACK_TSAN
    void *fiber, *caller_fiber;
#endif
};

/* makecontext passes only ints: the entry finds its bigstack here. Written by bigstack_call
 * on its own thread just before the switch, read by the entry on that thread. */
static _Thread_local struct bigstack *entering;

struct bigstack *
bigstack_new(size_t size)
{
    struct bigstack *bs = calloc(1, sizeof *bs);
    if (!bs)
        return NULL;
    /* mmap: pages are committed only when touched, and a guard page stops an overflow. */
    bs->stack =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (bs->stack == MAP_FAILED) {
        free(bs);
        return NULL;
    }
    mprotect(bs->stack, 4096, PROT_NONE);
    bs->size = size;
#ifdef BIGSTACK_TSAN
    bs->fiber = __tsan_create_fiber(0);
#endif
    return bs;
}

void
bigstack_free(struct bigstack *bs)
{
    if (!bs)
        return;
#ifdef BIGSTACK_TSAN
    __tsan_destroy_fiber(bs->fiber);
#endif
    munmap(bs->stack, bs->size);
    free(bs);
}

static void
entry(void)
{
    struct bigstack *bs = entering;
#ifdef BIGSTACK_ASAN
    __sanitizer_finish_switch_fiber(NULL, &bs->caller_bottom, &bs->caller_size);
#endif
    bs->fn(bs->arg);
#ifdef BIGSTACK_ASAN
    __sanitizer_start_switch_fiber(NULL, bs->caller_bottom, bs->caller_size);
#endif
#ifdef BIGSTACK_TSAN
    __tsan_switch_to_fiber(bs->caller_fiber, 0);
#endif
    swapcontext(&bs->callee, &bs->caller); /* never resumed: each call makes a new context */
}

void
bigstack_call(struct bigstack *bs, void (*fn)(void *arg), void *arg)
{
    bs->fn = fn;
    bs->arg = arg;
    getcontext(&bs->callee);
    bs->callee.uc_stack.ss_sp = bs->stack;
    bs->callee.uc_stack.ss_size = bs->size;
    bs->callee.uc_link = NULL;
    makecontext(&bs->callee, entry, 0);
    entering = bs;
#ifdef BIGSTACK_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, bs->stack, bs->size);
#endif
#ifdef BIGSTACK_TSAN
    bs->caller_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(bs->fiber, 0);
#endif
    swapcontext(&bs->caller, &bs->callee);
#ifdef BIGSTACK_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}
