/*
 * The stream's parts shared by its two files: stream.c (clients: their queues, senders and
 * CivetWeb callbacks) and stream_hub.c (the thread that builds the batches).
 */
#ifndef TARS_HOST_API_STREAM_INTERNAL_H
#define TARS_HOST_API_STREAM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "api.h"
#include "records.h"
#include "tokens.h"

#define PERIOD_MS       100
#define PROGRESS_EVERY  0.5 /* seconds */
#define SIGN_IN_TIMEOUT 10.0
#define MAX_FILTER      64
#define SOCKET_SNDBUF   (64 << 10) /* kernel buffering of a client: small, so lag shows */
#define DROP_GRACE      2.0        /* seconds a dropped client has to take its close frame */

struct msg {
    struct msg *next;
    int opcode;
    size_t len;
    char data[];
};

struct client {
    struct client *next; /* the hub's list, under stream.lock */
    struct stream *st;
    struct mg_connection *conn;
    char addr[48];
    double opened;
    int fd;           /* its socket, or -1 when not found */
    double drop_time; /* when it was dropped (hub), 0: not */
    int shut;         /* the hub shut its socket down */
    /* Under lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct msg *head, *tail;
    size_t queued; /* bytes */
    int closing;   /* a close frame is queued: nothing else will be */
    int gone;      /* the connection is closing: the sender must stop */
    /* Set on sign-in (worker thread, under stream.lock), read by the hub under it. */
    int signed_in;
    struct api_who who;
    struct token_grant grant; /* what it signed in with: checked every period (hub) */
    int refused;              /* the hub closed it for its token: checked no more */
    char *filter[MAX_FILTER];
    size_t n_filter; /* 0: every agent */
    pthread_t sender;
    int sender_started;
};

/* What the hub remembers of each agent between batches. */
struct seen {
    char id[72];
    const void *run; /* the run it was: another one under the same id is a reset */
    int state;
    int present;
    uint64_t checkpoint_step;
    int checkpointed;
    uint64_t params_version;
    double progress_time;
};

struct stream {
    double studies_time; /* when the last studies event went (stream_hub.c) */
    struct host *h;
    pthread_t hub;
    int hub_started;
    atomic_int stop;
    pthread_mutex_t lock;
    struct client *clients;
    size_t n_clients;
    struct seen *seen; /* the hub's own */
    size_t n_seen, cap_seen;
    struct episode_rec *take_buf;
    _Atomic uint64_t dropped, batches, signed_in;
};

/* Queues a message for c; past `limit` queued bytes (0: none) c is dropped instead. */
void stream_enqueue(struct client *c, int opcode, const char *data, size_t len, size_t limit);
/* Queues a close frame: nothing is queued after it. */
void stream_enqueue_close(struct client *c, int code, const char *reason);
/*
 * Closes c at once: drops what it has queued, queues the close frame, and has the hub cut
 * the connection DROP_GRACE after if the client does not answer it.
 */
void stream_close_now(struct client *c, int code, const char *reason);
/* The hub's thread (stream_hub.c). */
void *stream_hub_main(void *arg);

#endif
