/*
 * tarsctl plugin check|manifest FILE.so: offline tools on a built plugin, loaded in this
 * process with the host's own loader, so the checks are exactly the ones tarsd makes.
 *
 * The manifest carries a sha256 pin only when asked (--pin): a pin ties the manifest to one
 * build, so the next build copied over the library is refused until the manifest is written
 * again. Without a pin the drop-in workflow is a copy; with require_pins it is a copy and a
 * new manifest, in either order (docs/plugin-guide.md, "Dropping in a new build").
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host_side.h"
#include "loader.h"
#include "manifest.h"
#include "params_json.h"
#include "plugin_cmd.h"

static int
write_out(const char *path, const char *text)
{
    if (!path) {
        fputs(text, stdout);
        return 0;
    }
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -1;
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f)
        ok = fclose(f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        perror(path);
        remove(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

static int
cmd_manifest(const char *file, const char *out, int pin, struct lib *lib)
{
    char *copy = strdup(file);
    char *text = copy ? manifest_render(lib->info, basename(copy), pin ? lib->sha256 : NULL) : NULL;
    int rc = text ? write_out(out, text) : -1;
    if (!text)
        fprintf(stderr, "tarsctl: out of memory\n");
    free(text);
    free(copy);
    return rc ? 1 : 0;
}

static void param_texts(const tars_param_def *d, const char *sep, char *def, size_t dlen,
                        char *range, size_t rlen);

static void
print_param(const tars_param_def *d)
{
    char range[96], def[64];
    param_texts(d, "|", def, sizeof def, range, sizeof range);
    static const char *const types[] = {"?", "float", "int", "bool", "enum"};
    printf("  %-20s %-5s %-10s %-22s %s%s %s\n", d->name, types[d->type <= 4 ? d->type : 0], def,
           range, d->flags & TARS_PARAM_HOT ? "HOT " : "", d->flags & TARS_PARAM_LOG ? "LOG" : "",
           d->help);
}

/* One cell of a parameter's default or range, as text. */
static void
param_texts(const tars_param_def *d, const char *sep, char *def, size_t dlen, char *range,
            size_t rlen)
{
    range[0] = '\0';
    if (d->type == TARS_PARAM_ENUM) {
        for (uint32_t k = 0; d->choices[k]; k++)
            tars__join(range, rlen, sep, d->choices[k]);
        snprintf(def, dlen, "%s", d->choices[(uint32_t)d->def]);
    } else if (d->type == TARS_PARAM_BOOL) {
        snprintf(range, rlen, "true%sfalse", sep);
        snprintf(def, dlen, "%s", d->def != 0 ? "true" : "false");
    } else if (d->type == TARS_PARAM_INT) {
        snprintf(range, rlen, "[%.0f, %.0f]", d->min, d->max);
        snprintf(def, dlen, "%.0f", d->def);
    } else {
        snprintf(range, rlen, "[%g, %g]", d->min, d->max);
        snprintf(def, dlen, "%g", d->def);
    }
}

/* The parameter table in Markdown, as docs/algorithms.md embeds it. */
static void
print_markdown(const tars_plugin_info *info)
{
    static const char *const types[] = {"?", "float", "int", "bool", "enum"};
    printf("| parameter | type | default | range | hot | meaning |\n");
    printf("|---|---|---|---|---|---|\n");
    for (uint32_t i = 0; i < info->n_params; i++) {
        const tars_param_def *d = &info->params[i];
        char def[64], range[96];
        param_texts(d, ", ", def, sizeof def, range, sizeof range);
        printf("| `%s` | %s%s | %s | %s | %s | %s |\n", d->name, types[d->type <= 4 ? d->type : 0],
               d->flags & TARS_PARAM_LOG ? " (log)" : "", def, range,
               d->flags & TARS_PARAM_HOT ? "yes" : "", d->help);
    }
}

static int
cmd_check(const struct lib *lib, int as_json, int markdown)
{
    const tars_plugin_info *info = lib->info;
    if (markdown) {
        print_markdown(info);
        return 0;
    }
    if (as_json) {
        char abi[16];
        snprintf(abi, sizeof abi, "%u.%u", info->abi_major, info->abi_minor);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "name", info->name,
                              "kind", tars_kind_name(info->kind), "version", info->version, "abi",
                              abi, "description", info->description ? info->description : "",
                              "sha256", lib->sha256, "params",
                              pjson_schema(info->params, info->n_params), "status", "ok");
        char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(o);
        return text ? 0 : 1;
    }
    printf("%s %s %s (ABI %u.%u): ok\n", tars_kind_name(info->kind), info->name, info->version,
           info->abi_major, info->abi_minor);
    printf("  %s\n  sha256 %s\n", info->description ? info->description : "", lib->sha256);
    printf("%u parameters%s\n", info->n_params, info->n_params ? ":" : "");
    for (uint32_t i = 0; i < info->n_params; i++)
        print_param(&info->params[i]);
    return 0;
}

int
plugin_cmd(const char *sub, int argc, char **argv, int as_json)
{
    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "tarsctl: missing FILE.so (usage: tarsctl plugin %s)\n",
                strcmp(sub, "manifest") == 0 ? "manifest FILE.so [-o OUT] [--pin]"
                                             : "check FILE.so [--json | --markdown]");
        return 2;
    }
    const char *file = argv[0], *out = NULL;
    int markdown = 0, pin = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(sub, "manifest") == 0 && (strcmp(argv[i], "-o") == 0) && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(sub, "manifest") == 0 && strcmp(argv[i], "--pin") == 0) {
            pin = 1;
        } else if (strcmp(sub, "check") == 0 && strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if (strcmp(sub, "check") == 0 && strcmp(argv[i], "--markdown") == 0) {
            markdown = 1;
        } else {
            fprintf(stderr, "tarsctl: unexpected argument '%s' for 'plugin %s'\n", argv[i], sub);
            return 2;
        }
    }
    struct loader loader = {0};
    struct lib lib;
    char err[768];
    int rc;
    if (loader_open(&loader, file, NULL, &lib, err, sizeof err)) {
        fprintf(stderr, "tarsctl: %s: %s\n", file, err);
        rc = 1;
    } else {
        rc = strcmp(sub, "manifest") == 0 ? cmd_manifest(file, out, pin, &lib)
                                          : cmd_check(&lib, as_json, markdown);
        loader_close(&lib);
    }
    loader_fini(&loader);
    return rc;
}
