#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "jdoc.h"

/* Configs and manifests are small; anything larger is a mistake. */
#define JDOC_MAX_BYTES (1 << 20)

/* The position scanner: trusts that jansson already accepted the text. */
struct scan {
    const char *s;
    size_t len;
    size_t i;
    int line;
    int col;
    struct jdoc *doc;
    size_t cap;
    int failed;
};

static void
advance(struct scan *sc)
{
    if (sc->i >= sc->len)
        return; /* should the scanner and jansson ever disagree, stop at the end, never past it */
    unsigned char c = (unsigned char)sc->s[sc->i++];
    if (c == '\n') {
        sc->line++;
        sc->col = 1;
    } else if ((c & 0xc0) != 0x80) {
        /* Columns count characters, as jansson does, not UTF-8 continuation bytes. */
        sc->col++;
    }
}

static void
skip_ws(struct scan *sc)
{
    while (sc->i < sc->len && strchr(" \t\r\n", sc->s[sc->i]) && sc->s[sc->i])
        advance(sc);
}

static void
record(struct scan *sc, const char *ptr, int kl, int kc, int line, int col)
{
    struct jdoc *doc = sc->doc;
    if (doc->n_pos == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 32;
        struct jpos *v = realloc(doc->pos, cap * sizeof *v);
        if (!v) {
            sc->failed = 1;
            return;
        }
        doc->pos = v;
        sc->cap = cap;
    }
    char *p = strdup(ptr);
    if (!p) {
        sc->failed = 1;
        return;
    }
    doc->pos[doc->n_pos++] = (struct jpos){p, kl, kc, line, col};
}

static void
put_utf8(char *out, size_t *o, unsigned cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xc0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xe0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*o)++] = (char)(0xf0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static unsigned
hex4(const char *p)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Reads a string token; returns its unescaped value (malloc'd) or NULL. */
static char *
scan_string(struct scan *sc)
{
    advance(sc); /* opening quote */
    size_t start = sc->i;
    while (sc->i < sc->len && sc->s[sc->i] != '"') {
        if (sc->s[sc->i] == '\\')
            advance(sc);
        advance(sc);
    }
    size_t end = sc->i;
    advance(sc); /* closing quote */
    char *out = malloc(end - start + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t k = start; k < end; k++) {
        char c = sc->s[k];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        c = sc->s[++k];
        switch (c) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp = hex4(&sc->s[k + 1]);
            k += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && sc->s[k + 1] == '\\' && sc->s[k + 2] == 'u') {
                unsigned lo = hex4(&sc->s[k + 3]);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                k += 6;
            }
            put_utf8(out, &o, cp);
            break;
        }
        default:
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

static void scan_value(struct scan *sc, const char *ptr, int kl, int kc);

static void
scan_object(struct scan *sc, const char *ptr)
{
    advance(sc); /* { */
    skip_ws(sc);
    while (!sc->failed && sc->i < sc->len && sc->s[sc->i] != '}') {
        int kl = sc->line, kc = sc->col;
        char *key = scan_string(sc);
        char *child = key ? jptr_key(ptr, key) : NULL;
        free(key);
        if (!child) {
            sc->failed = 1;
            return;
        }
        skip_ws(sc);
        advance(sc); /* : */
        scan_value(sc, child, kl, kc);
        free(child);
        skip_ws(sc);
        if (sc->i < sc->len && sc->s[sc->i] == ',') {
            advance(sc);
            skip_ws(sc);
        }
    }
    if (sc->i < sc->len)
        advance(sc); /* } */
}

static void
scan_array(struct scan *sc, const char *ptr)
{
    advance(sc); /* [ */
    skip_ws(sc);
    for (size_t idx = 0; !sc->failed && sc->i < sc->len && sc->s[sc->i] != ']'; idx++) {
        char *child = jptr_index(ptr, idx);
        if (!child) {
            sc->failed = 1;
            return;
        }
        scan_value(sc, child, 0, 0);
        free(child);
        skip_ws(sc);
        if (sc->i < sc->len && sc->s[sc->i] == ',') {
            advance(sc);
            skip_ws(sc);
        }
    }
    if (sc->i < sc->len)
        advance(sc); /* ] */
}

static void
scan_value(struct scan *sc, const char *ptr, int kl, int kc)
{
    skip_ws(sc);
    if (sc->i >= sc->len)
        return;
    record(sc, ptr, kl, kc, sc->line, sc->col);
    char c = sc->s[sc->i];
    if (c == '{') {
        scan_object(sc, ptr);
    } else if (c == '[') {
        scan_array(sc, ptr);
    } else if (c == '"') {
        free(scan_string(sc));
    } else {
        while (sc->i < sc->len && !strchr(",]} \t\r\n", sc->s[sc->i]))
            advance(sc);
    }
}

int
jdoc_parse(struct jdoc *doc, const char *file, const char *text, size_t len, struct diag *d)
{
    json_error_t err;
    memset(doc, 0, sizeof *doc);
    /* jansson skips a NUL byte between tokens, which the position scanner would take for
     * the end of a value, and loop on: such text is not JSON, refuse it. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1, col = 1;
        for (const char *p = text; p < nul; p++, col++)
            if (*p == '\n')
                line++, col = 0;
        diag_at(d, file, line, col, "a NUL byte, which JSON text cannot hold");
        return -1;
    }
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        diag_at(d, file, err.line, err.column, "%s", err.text);
        return -1;
    }
    doc->file = strdup(file);
    doc->root = root;
    struct scan sc = {.s = text, .len = len, .line = 1, .col = 1, .doc = doc};
    scan_value(&sc, "", 0, 0);
    if (!doc->file || sc.failed) {
        jdoc_free(doc);
        diag_at(d, file, 0, 0, "out of memory");
        return -1;
    }
    return 0;
}

int
jdoc_load(struct jdoc *doc, const char *file, struct diag *d)
{
    memset(doc, 0, sizeof *doc);
    /* Non-blocking, so that a FIFO named *.json cannot hang us; only regular files are read. */
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        diag_at(d, file, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > JDOC_MAX_BYTES) {
        close(fd);
        diag_at(d, file, 0, 0, "not a regular file of at most %d KiB", JDOC_MAX_BYTES >> 10);
        return -1;
    }
    char *text = malloc((size_t)st.st_size + 1);
    size_t len = 0;
    int e = text ? 0 : ENOMEM;
    while (!e && len < (size_t)st.st_size) {
        ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            e = n < 0 ? errno : EIO;
        else
            len += (size_t)n;
    }
    close(fd);
    if (e) {
        free(text);
        diag_at(d, file, 0, 0, "cannot read: %s", strerror(e));
        return -1;
    }
    int rc = jdoc_parse(doc, file, text, len, d);
    free(text);
    return rc;
}

void
jdoc_free(struct jdoc *doc)
{
    for (size_t i = 0; i < doc->n_pos; i++)
        free(doc->pos[i].ptr);
    free(doc->pos);
    free(doc->file);
    if (doc->root)
        json_decref(doc->root);
    memset(doc, 0, sizeof *doc);
}

int
jdoc_find(const struct jdoc *doc, const char *ptr, int at_key, int *line, int *col)
{
    for (size_t i = 0; i < doc->n_pos; i++) {
        const struct jpos *p = &doc->pos[i];
        if (strcmp(p->ptr, ptr) != 0)
            continue;
        if (at_key && p->key_line) {
            *line = p->key_line;
            *col = p->key_col;
        } else {
            *line = p->line;
            *col = p->col;
        }
        return 1;
    }
    *line = *col = 0;
    return 0;
}

void
jdoc_error(const struct jdoc *doc, struct diag *d, const char *ptr, int at_key, const char *fmt,
           ...)
{
    int line, col;
    jdoc_find(doc, ptr, at_key, &line, &col);
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return;
    diag_at(d, doc->file, line, col, "%s", msg);
    free(msg);
}

char *
jptr_key(const char *base, const char *key)
{
    size_t extra = 0;
    for (const char *k = key; *k; k++)
        extra += (*k == '~' || *k == '/');
    size_t blen = strlen(base);
    char *out = malloc(blen + 1 + strlen(key) + extra + 1);
    if (!out)
        return NULL;
    memcpy(out, base, blen);
    char *o = out + blen;
    *o++ = '/';
    for (const char *k = key; *k; k++) {
        if (*k == '~' || *k == '/') {
            *o++ = '~';
            *o++ = *k == '~' ? '0' : '1';
        } else {
            *o++ = *k;
        }
    }
    *o = '\0';
    return out;
}

char *
jptr_index(const char *base, size_t index)
{
    char *out = NULL;
    if (asprintf(&out, "%s/%zu", base, index) < 0)
        return NULL;
    return out;
}
