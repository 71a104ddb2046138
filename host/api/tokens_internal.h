/*
 * What tokens.c (authentication and changes) and tokens_store.c (loading, records, lazy
 * persistence of last uses) share: the tokens in memory.
 */
#ifndef TARS_HOST_API_TOKENS_INTERNAL_H
#define TARS_HOST_API_TOKENS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include "tokens.h"

struct token {
    unsigned char id[TOKEN_ID_BYTES];
    unsigned char hash[TOKEN_HASH_BYTES];
    unsigned char previous[TOKEN_HASH_BYTES]; /* the secret before the last rotation */
    int has_previous;
    double previous_until; /* Unix time the previous secret stops working */
    double expires;        /* Unix time, 0: never */
    enum api_role role;
    char name[65];
    double last_used; /* Unix time, 0: not since it was created (or stored) */
    char last_address[48];
    double previous_last_used; /* the last use of the previous secret */
    int dirty;                 /* a use the store has not got yet */
};

struct tokens {
    pthread_mutex_t lock;   /* v, n, and every token's fields: held for lookups only */
    pthread_mutex_t change; /* serialises changes and persisting; taken before lock */
    struct token *v;
    size_t n, cap;
    double persisted; /* host_now() when the last uses were last queued */
};

/* The token with this id, or NULL (under lock). */
struct token *tokens__find(struct tokens *ts, const unsigned char id[TOKEN_ID_BYTES]);
/* Adds a copy of t (under lock): 0 or -ENOMEM. */
int tokens__append(struct tokens *ts, const struct token *t);
/* A number member of rec, 0 when absent. */
double tokens__number(const json_t *rec, const char *key);
/* Sets the last uses of t in rec (the only fields memory knows better than the store). */
void tokens__set_uses(json_t *rec, const struct token *t);
/* Queues rec under id to the writer (no commit): 0 or -ENOMEM. */
int tokens__queue_record(struct host *h, const unsigned char id[TOKEN_ID_BYTES], const json_t *rec);

#endif
