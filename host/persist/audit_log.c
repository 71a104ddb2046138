/* The audit log's store side: numbering, queueing, trimming and reading its entries. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "audit_log.h"
#include "host.h"
#include "records.h"
#include "store.h"
#include "text.h"
#include "writer.h"

int
audit_open(struct host *h)
{
    uint64_t last;
    int rc = rec_u64_last(h->store, DB_AUDIT, &last);
    atomic_store(&h->audit_seq, last);
    return rc;
}

char *
audit_safe_dup(const char *s)
{
    size_t len = 4 * strlen(s ? s : "") + 1;
    char *out = malloc(len);
    return out ? text_utf8_safe(s, out, len) : NULL;
}

/*
 * Queues entry e (consumed; NULL: it could not be built) under the next sequence number, and
 * drops the oldest. Everything that can fail — building, escaping, formatting — is done before
 * the number is taken, and the number is kept only once the writer queued the entry: a seq is
 * never skipped, so a gap in the log can only mean an entry was removed. Returns 0 or -ENOMEM.
 */
int
audit_log_append(struct host *h, json_t *e)
{
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    size_t len = text ? strlen(text) + 32 : 0;
    char *entry = text ? malloc(len) : NULL;
    if (!entry || text[0] != '{') {
        free(text);
        free(entry);
        return -ENOMEM;
    }
    unsigned char key[8];
    pthread_mutex_lock(&h->audit_lock);
    uint64_t seq = atomic_load(&h->audit_seq) + 1;
    int n = snprintf(entry, len, "{\"seq\":%llu%s%s", (unsigned long long)seq,
                     text[1] == '}' ? "" : ",", text + 1);
    rec_u64_key(seq, key);
    int rc = writer_put(h->writer, DB_AUDIT, key, sizeof key, entry, (size_t)n);
    if (rc == 0) {
        atomic_store(&h->audit_seq, seq);
        if (h->cfg.audit_kept && seq > h->cfg.audit_kept) {
            rec_u64_key(seq - h->cfg.audit_kept, key);
            writer_del(h->writer, DB_AUDIT, key, sizeof key);
        }
    }
    pthread_mutex_unlock(&h->audit_lock);
    free(text);
    free(entry);
    return rc ? -ENOMEM : 0;
}

int
audit_append_system(struct host *h, const char *who, const char *method, const char *path,
                    int status, const char *detail)
{
    char *name = audit_safe_dup(who), *file = audit_safe_dup(path), *what = audit_safe_dup(detail);
    json_t *e = name && file && what
                    ? json_pack("{s:f, s:{s:n, s:s, s:s}, s:s, s:s, s:s, s:i, s:s, s:s}", "time",
                                host_wall(), "who", "token", "name", name, "role", "system",
                                "address", "", "method", method, "path", file, "status", status,
                                "outcome", status < 400 ? "ok" : "refused", "detail", what)
                    : NULL;
    free(name);
    free(file);
    free(what);
    return audit_log_append(h, e);
}

/* Collects entries up to a limit. */
struct listing {
    json_t *out;
    size_t limit;
};

static int
add_entry(const MDB_val *v, void *arg)
{
    struct listing *l = arg;
    json_t *e = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (e)
        json_array_append_new(l->out, e);
    return json_array_size(l->out) >= l->limit;
}

json_t *
audit_list(struct host *h, uint64_t before, size_t limit)
{
    struct listing l = {json_array(), limit};
    if (l.out && limit)
        rec_u64_each_back(h->store, DB_AUDIT, before, add_entry, &l);
    return l.out;
}
