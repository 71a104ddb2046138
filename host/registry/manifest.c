#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "manifest.h"

int
manifest_name_ok(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
        return 0;
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return n <= 64;
}

/* MAJOR.MINOR.PATCH with an optional -prerelease or +build suffix. */
int
manifest_semver_ok(const char *s)
{
    for (int part = 0; part < 3; part++) {
        if (!s || *s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
        if (part < 2 && *s++ != '.')
            return 0;
    }
    if (*s == '\0')
        return 1;
    if (*s != '-' && *s != '+')
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-' || *s == '+'))
            return 0;
    return 1;
}

static int
abi_ok(const char *s)
{
    unsigned major, minor;
    int used = 0;
    return sscanf(s, "%u.%u%n", &major, &minor, &used) == 2 && s[used] == '\0' && s[0] != '+' &&
           s[0] != '-';
}

static int
library_ok(const char *s)
{
    return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int
manifest_sha256_ok(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return n == 64;
}

static const char *const kinds[] = {"agent", "env", "solver", "tuner", "exporter", NULL};

const struct sch_field manifest_schema[] = {
    {.key = "name",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "Plugin name, unique among loaded plugins.",
     .check = manifest_name_ok,
     .expect = "a lower-case name such as \"cartpole\""},
    {.key = "kind",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "The plugin kind.",
     .choices = kinds},
    {.key = "version",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "Semantic version of the plugin.",
     .check = manifest_semver_ok,
     .expect = "a semantic version such as \"1.2.0\""},
    {.key = "abi",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "SDK ABI the plugin was built for, \"MAJOR.MINOR\".",
     .check = abi_ok,
     .expect = "an ABI version such as \"1.0\""},
    {.key = "library",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "File name of the shared object, looked up in the plugin dirs.",
     .check = library_ok,
     .expect = "a file name without a directory"},
    {.key = "description",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "One sentence shown in listings."},
    {.key = "sha256",
     .type = SCH_STRING,
     .help = "Pin: the library must have this SHA-256 (64 lower-case hex digits).",
     .check = manifest_sha256_ok,
     .expect = "64 lower-case hex digits"},
    {.key = "defaults",
     .type = SCH_MAP,
     .help = "Parameter overrides; an object value is a named preset of overrides."},
    {0},
};

static void
fill(struct manifest *m)
{
    json_t *r = m->doc.root;
    m->name = sch_str(r, "name", NULL);
    m->version = sch_str(r, "version", NULL);
    m->library = sch_str(r, "library", NULL);
    m->description = sch_str(r, "description", NULL);
    m->sha256 = sch_str(r, "sha256", NULL);
    m->defaults = json_object_get(r, "defaults");
    const char *kind = sch_str(r, "kind", "");
    m->kind = 0;
    for (uint32_t k = 1; tars_kind_name(k); k++)
        if (strcmp(tars_kind_name(k), kind) == 0)
            m->kind = k;
    sscanf(sch_str(r, "abi", "0.0"), "%u.%u", &m->abi_major, &m->abi_minor);
}

static int
finish(struct manifest *m, struct diag *d)
{
    if (sch_validate(manifest_schema, m->doc.root, "", &m->doc, d)) {
        jdoc_free(&m->doc);
        memset(m, 0, sizeof *m);
        return -1;
    }
    fill(m);
    return 0;
}

int
manifest_load(struct manifest *m, const char *file, struct diag *d)
{
    memset(m, 0, sizeof *m);
    if (jdoc_load(&m->doc, file, d))
        return -1;
    return finish(m, d);
}

int
manifest_parse(struct manifest *m, const char *file, const char *text, size_t len, struct diag *d)
{
    memset(m, 0, sizeof *m);
    if (jdoc_parse(&m->doc, file, text, len, d))
        return -1;
    return finish(m, d);
}

void
manifest_free(struct manifest *m)
{
    jdoc_free(&m->doc);
    memset(m, 0, sizeof *m);
}

char *
manifest_render(const tars_plugin_info *info, const char *library, const char *sha256)
{
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", info->abi_major, info->abi_minor);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(info->name));
    json_object_set_new(o, "kind", json_string(tars_kind_name(info->kind)));
    json_object_set_new(o, "version", json_string(info->version));
    json_object_set_new(o, "abi", json_string(abi));
    json_object_set_new(o, "library", json_string(library));
    json_object_set_new(o, "description", json_string(info->description ? info->description : ""));
    if (sha256)
        json_object_set_new(o, "sha256", json_string(sha256));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return NULL;
    char *out = NULL;
    if (asprintf(&out, "%s\n", text) < 0)
        out = NULL;
    free(text);
    return out;
}
