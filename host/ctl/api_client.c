/*
 * HTTP to tarsd with libcurl, one easy handle per request (tarsctl makes one or two). The
 * API's errors are {"error": {"code", "message", "details"?}}: the message is what the user
 * sees, with every detail when there are several, so one line says everything wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "api_client.h"
#include "tars/version.h"

/* Larger replies are refused rather than buffered: no route sends that much. */
#define REPLY_MAX (64u << 20)

struct reply {
    char *p;
    size_t n;
    int too_big;
};

int
api_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "tarsctl: cannot initialise libcurl\n");
        return -1;
    }
    return 0;
}

void
api_cleanup(void)
{
    curl_global_cleanup();
}

static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct reply *r = arg;
    size_t len = size * nmemb;
    if (r->n + len > REPLY_MAX) {
        r->too_big = 1;
        return 0;
    }
    char *p = realloc(r->p, r->n + len + 1);
    if (!p)
        return 0;
    memcpy(p + r->n, data, len);
    r->n += len;
    p[r->n] = '\0';
    r->p = p;
    return len;
}

static int
unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

char *
api_path(const char *fmt, ...)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (p[0] != '%' || p[1] != 's') {
            fputc(*p, f);
            continue;
        }
        for (const unsigned char *s = va_arg(ap, const unsigned char *); *s; s++)
            if (unreserved(*s))
                fputc(*s, f);
            else
                fprintf(f, "%%%02X", *s);
        p++;
    }
    va_end(ap);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* A reply as it came, on stdout, ending with a newline. */
static void
print_body(const struct reply *r)
{
    printf("%s%s", r->p ? r->p : "", r->n && r->p[r->n - 1] == '\n' ? "" : "\n");
}

/*
 * A message without the position in the request body that the API puts first
 * ("request body:1:68: "): tarsctl wrote that body, so the position means nothing to the user.
 */
static const char *
unplaced(const char *msg)
{
    const char *p = msg;
    if (strncmp(p, "request body:", 13) != 0)
        return msg;
    p += 13;
    for (int field = 0; field < 2; field++) {
        size_t digits = strspn(p, "0123456789");
        if (!digits || p[digits] != ':')
            return msg;
        p += digits + 1;
    }
    return p + strspn(p, " ");
}

/* The one line for an error reply: the API's message (all its details when several). */
static void
report_error(const struct ctl *c, long status, const struct reply *r)
{
    json_t *doc = r->p ? json_loads(r->p, 0, NULL) : NULL;
    json_t *err = json_object_get(doc, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    json_t *details = json_object_get(err, "details");
    if (c->json && msg)
        print_body(r);
    if (!msg) {
        fprintf(stderr, "tarsctl: tarsd at %s answered HTTP %ld without an API error\n", c->base,
                status);
    } else if (json_array_size(details) > 1) {
        fprintf(stderr, "tarsctl: ");
        for (size_t i = 0; i < json_array_size(details); i++) {
            const char *d = json_string_value(json_array_get(details, i));
            fprintf(stderr, "%s%s", i ? "; " : "", d ? unplaced(d) : "?");
        }
        fprintf(stderr, "\n");
    } else {
        fprintf(stderr, "tarsctl: %s", unplaced(msg));
        /* Which token was refused, when it was not the user's own choice on this line. */
        if (status == 401 && c->token_from)
            fprintf(stderr, "; the token came from %s", c->token_from);
        fprintf(stderr, "\n");
    }
    json_decref(doc);
}

/* A 2xx reply: printed as it is (--json) or parsed into *out. */
static int
take_reply(const struct ctl *c, struct reply *r, int flags, json_t **out)
{
    if (c->json) {
        print_body(r);
        if (!(flags & API_PARSE))
            return 0;
    }
    json_error_t e;
    *out = r->p ? json_loads(r->p, 0, &e) : NULL;
    if (*out)
        return 0;
    fprintf(stderr, "tarsctl: tarsd at %s sent a reply that is not JSON\n", c->base);
    return CTL_EXIT_FAIL;
}

/* The handle's options for one request; headers are returned for the caller to free. */
static struct curl_slist *
set_options(CURL *h, const struct ctl *c, const char *method, const char *url, const char *body,
            int flags, struct reply *r, char *errbuf)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
    char *auth = NULL;
    if (!(flags & API_ANON) && asprintf(&auth, "Authorization: Bearer %s", c->bearer) >= 0) {
        hdr = curl_slist_append(hdr, auth);
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (body)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tarsctl/" TARS_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : (long)API_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    return hdr;
}

/* One line for a request that got no HTTP reply. */
static void
report_transport(const struct ctl *c, CURLcode rc, const struct reply *r, const char *errbuf)
{
    if (r->too_big)
        fprintf(stderr, "tarsctl: tarsd at %s sent a reply larger than %u MiB\n", c->base,
                REPLY_MAX >> 20);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        fprintf(stderr, "tarsctl: tarsd at %s did not answer within %ld s (see --timeout)\n",
                c->base, c->timeout_s > 0 ? c->timeout_s : (long)API_TIMEOUT_S);
    else
        fprintf(stderr, "tarsctl: cannot reach tarsd at %s: %s\n", c->base,
                *errbuf ? errbuf : curl_easy_strerror(rc));
}

/*
 * Sends the request and reads the reply into r (the caller frees r->p): 0 with *status on a
 * 2xx; otherwise CTL_EXIT_FAIL (or CTL_EXIT_USAGE) after one line.
 */
static int
perform(struct ctl *c, const char *method, const char *path, json_t *body, int flags,
        struct reply *r)
{
    int rc = ctl_url(c);
    if (rc == 0 && !(flags & API_ANON))
        rc = ctl_token(c);
    if (rc)
        return rc;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *url = NULL;
    CURL *h = curl_easy_init();
    if ((body && !text) || asprintf(&url, "%s%s", c->base, path) < 0 || !h) {
        fprintf(stderr, "tarsctl: out of memory\n");
        free(text);
        curl_easy_cleanup(h);
        return CTL_EXIT_FAIL;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = set_options(h, c, method, url, text, flags, r, errbuf);
    CURLcode cr = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cr != CURLE_OK) {
        report_transport(c, cr, r, errbuf);
        rc = CTL_EXIT_FAIL;
    } else if (status < 200 || status > 299) {
        report_error(c, status, r);
        rc = CTL_EXIT_FAIL;
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    free(url);
    free(text);
    return rc;
}

int
api_do(struct ctl *c, const char *method, const char *path, json_t *body, int flags, json_t **out)
{
    struct reply r = {0};
    *out = NULL;
    int rc = perform(c, method, path, body, flags, &r);
    if (rc == 0)
        rc = take_reply(c, &r, flags, out);
    free(r.p);
    return rc;
}

int
api_download(struct ctl *c, const char *path, const char *file, size_t *len)
{
    struct reply r = {0};
    int rc = perform(c, "GET", path, NULL, 0, &r);
    char *tmp = NULL;
    if (rc == 0 && asprintf(&tmp, "%s.tmp", file) < 0) {
        fprintf(stderr, "tarsctl: out of memory\n");
        rc = CTL_EXIT_FAIL;
    }
    if (rc == 0) {
        FILE *f = fopen(tmp, "wb");
        int ok = f && fwrite(r.p ? r.p : "", 1, r.n, f) == r.n;
        if (f)
            ok = fclose(f) == 0 && ok;
        ok = ok && rename(tmp, file) == 0;
        if (!ok) {
            fprintf(stderr, "tarsctl: cannot write %s: %s\n", file, strerror(errno));
            remove(tmp);
            rc = CTL_EXIT_FAIL;
        }
        *len = r.n;
    }
    free(tmp);
    free(r.p);
    return rc;
}
