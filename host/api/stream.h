/*
 * stream — the WebSocket /api/v1/stream (SPEC §8): live events of every agent, batched ten
 * times a second.
 *
 * A client signs in with its first message, {"token": "...", "agents": ["id", ...]} (agents
 * optional: all of them); it may send {"agents": [...]} again to change the filter. It then
 * receives a snapshot of the agents and batches {"t": UNIX_TIME, "events": [...]} of:
 *   added/removed  an agent joined or left        status    its state changed
 *   reset          it was replaced by a fresh one  checkpoint it took one
 *   episodes       finished episodes (arrays)     scalars   its newest training scalars
 *   progress       steps, episodes, steps/s and mean return, twice a second
 *   reload         a plugin's code swap ended (codeswap.h), whatever agents a client follows
 *
 * Back-pressure: each client has a sender thread and a queue. A client that falls more than
 * stream_buffer bytes behind is dropped: its queue is freed, it gets a close frame with code
 * 1008 once it reads again, and the others go on. The runners never wait for the stream:
 * they hand their events over through feed.h with a trylock.
 *
 * Threads: a hub thread builds the batches; CivetWeb workers run the callbacks; each client
 * has its sender.
 */
#ifndef TARS_HOST_API_STREAM_H
#define TARS_HOST_API_STREAM_H

#include <stdint.h>

struct host;
struct mg_context;

#define STREAM_PATH "/api/v1/stream"

/* Starts the hub and installs the WebSocket handler. Returns 0 or -1 (out of memory). */
int stream_start(struct mg_context *ctx, struct host *h);
/* Stops the hub (after the HTTP server, which closes the clients). */
void stream_stop(struct host *h);

struct stream_stats {
    uint64_t clients; /* signed in now */
    uint64_t dropped; /* clients dropped for falling behind, since start */
    uint64_t batches; /* batches sent, since start */
};
void stream_stats(struct host *h, struct stream_stats *out);

#endif
