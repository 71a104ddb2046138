/*
 * bigstack — runs a function on the calling thread, but on a stack of our own.
 *
 * Debian's CivetWeb asks for 100 KiB stacks and has used 87 KiB of them by the time a handler
 * runs (measured), which leaves too little for JSON, LMDB and printf — and nothing under
 * AddressSanitizer. tarsd now raises every CivetWeb thread's stack to 8 MiB (api/http_stack.c,
 * which also covers CivetWeb's own callbacks such as the stream's connect); the handlers still
 * run on a bigstack of their own, which keeps them safe should that interposition ever not
 * bind. Each worker gets one when it starts: a switch costs two swapcontext calls, far less
 * than handing the request to another thread. Sanitizers are told about the switches.
 *
 * Threads: a bigstack belongs to the thread that created it.
 */
#ifndef TARS_HOST_BIGSTACK_H
#define TARS_HOST_BIGSTACK_H

#include <stddef.h>

struct bigstack;

/* NULL when out of memory. */
struct bigstack *bigstack_new(size_t size);
void bigstack_free(struct bigstack *bs);
/* Calls fn(arg) on the big stack and returns when it has returned. */
void bigstack_call(struct bigstack *bs, void (*fn)(void *arg), void *arg);

#endif
