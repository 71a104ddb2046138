#include "quarantine.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A sha256 is 64 hex digits: anything else would name a path outside the dir. */
static int
sha_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

static int
record_path(char *out, size_t len, const char *state_dir, const char *sha256)
{
    if (!sha_ok(sha256))
        return -EINVAL;
    int n = snprintf(out, len, "%s/quarantine/%s.json", state_dir, sha256);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

void
quarantine_describe(struct quarantine *q)
{
    char when[32] = "?";
    time_t t = (time_t)q->time;
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%H:%M:%S", &tm);
    snprintf(q->reason, sizeof q->reason, "%s (sha256 %.12s…) crashed tarsd in %s at %s: %s",
             q->file, q->sha256, q->op, when, q->signal);
}

int
quarantine_add(const char *state_dir, const struct quarantine *q, char *err, size_t errlen)
{
    char path[4096], tmp[4200], dir[4096];
    int rc = record_path(path, sizeof path, state_dir, q->sha256);
    if (rc) {
        snprintf(err, errlen, "cannot quarantine build '%.80s': not a sha256", q->sha256);
        return rc;
    }
    snprintf(dir, sizeof dir, "%s/quarantine", state_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return rc;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:b}", "sha256", q->sha256, "file",
                          q->file, "op", q->op, "run", q->run, "signal", q->signal, "time", q->time,
                          "reason", q->reason, "announced", q->announced);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    rc = o ? json_dump_file(o, tmp, JSON_COMPACT) : -1;
    json_decref(o);
    if (rc != 0 || rename(tmp, path) != 0) {
        rc = errno ? -errno : -EIO;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
        unlink(tmp);
        return rc;
    }
    return 0;
}

static void
copy_str(char *to, size_t len, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(to, len, "%s", s ? s : "");
}

int
quarantine_get(const char *state_dir, const char *sha256, struct quarantine *out)
{
    char path[4096];
    int rc = record_path(path, sizeof path, state_dir, sha256);
    if (rc)
        return rc;
    if (access(path, F_OK) != 0)
        return -errno;
    json_t *o = json_load_file(path, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -EIO;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->sha256, sizeof out->sha256, "%s", sha256);
    copy_str(out->file, sizeof out->file, o, "file");
    copy_str(out->op, sizeof out->op, o, "op");
    copy_str(out->run, sizeof out->run, o, "run");
    copy_str(out->signal, sizeof out->signal, o, "signal");
    copy_str(out->reason, sizeof out->reason, o, "reason");
    out->time = json_number_value(json_object_get(o, "time"));
    out->announced = json_is_true(json_object_get(o, "announced"));
    json_decref(o);
    if (!out->reason[0])
        quarantine_describe(out);
    return 0;
}

int
quarantine_lift(const char *state_dir, const char *sha256)
{
    char path[4096];
    int rc = record_path(path, sizeof path, state_dir, sha256);
    if (rc)
        return rc;
    return unlink(path) == 0 ? 0 : -errno;
}
