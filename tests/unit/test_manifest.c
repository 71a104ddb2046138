/*
 * Manifests (host/registry/manifest.c): good ones parse into their fields; each bad one in
 * unit/manifests/bad is refused with the FILE:LINE:COL and message in expected.txt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "manifest.h"
#include "tap.h"

#define DIR TEST_SOURCE_DIR "/unit/manifests"

static void
good(void)
{
    struct manifest m;
    struct diag d = {0};
    ok(manifest_load(&m, DIR "/good/full.json", &d) == 0, "full manifest loads");
    is_str(m.name, "ppo-fast", "name");
    is_int(m.kind, TARS_KIND_AGENT, "kind");
    is_str(m.version, "2.1.0-rc.1", "pre-release version");
    ok(m.abi_major == 1 && m.abi_minor == 0, "abi 1.0");
    is_str(m.library, "agent-ppo.so", "library");
    ok(m.sha256 && strlen(m.sha256) == 64, "sha256 pin");
    ok(json_is_object(json_object_get(m.defaults, "cartpole")), "defaults with a preset");
    manifest_free(&m);
    ok(manifest_load(&m, DIR "/good/minimal.json", &d) == 0, "minimal manifest loads");
    ok(m.sha256 == NULL && m.defaults == NULL, "optional keys absent");
    manifest_free(&m);
    is_int(d.n, 0, "no errors for good manifests");
    diag_free(&d);
}

static void
rendered(void)
{
    static const tars_param_def none[] = {
        TARS_PARAM_BOOL_DEF("x", 0, 0, "X."),
    };
    tars_plugin_info info = {.struct_size = sizeof info,
                             .abi_major = 1,
                             .abi_minor = 0,
                             .kind = TARS_KIND_ENV,
                             .name = "grid",
                             .version = "0.3.1",
                             .description = "A \"quoted\" grid.",
                             .params = none,
                             .n_params = 1};
    char *text = manifest_render(&info, "env-grid.so",
                                 "ab"
                                 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd");
    struct manifest m;
    struct diag d = {0};
    ok(text && manifest_parse(&m, "rendered", text, strlen(text), &d) == 0,
       "a rendered manifest parses back");
    is_str(m.name, "grid", "with its name");
    is_str(m.description, "A \"quoted\" grid.", "and an escaped description");
    like(text, "\"name\": \"grid\",\n  \"kind\": \"env\"", "keys in canonical order");
    manifest_free(&m);
    diag_free(&d);
    free(text);
}

static void
bad(void)
{
    FILE *f = fopen(DIR "/bad/expected.txt", "r");
    char line[512];
    int cases = 0;
    ok(f != NULL, "expected.txt opens");
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *colon = strchr(line, ':');
        *colon = '\0';
        const char *want = colon + 1;
        char path[1024], prefix[1200];
        snprintf(path, sizeof path, DIR "/bad/%s", line);
        snprintf(prefix, sizeof prefix, "%s:%s", path, want);
        struct manifest m;
        struct diag d = {0};
        int rc = manifest_load(&m, path, &d);
        ok(rc != 0 && d.n >= 1, "%s is refused", line);
        ok(d.n >= 1 && strncmp(d.lines[0], prefix, strlen(prefix)) == 0, "%s: error reads '%s'",
           line, want);
        if (d.n >= 1 && strncmp(d.lines[0], prefix, strlen(prefix)) != 0)
            diag("  got '%s'", d.lines[0]);
        diag_free(&d);
        cases++;
    }
    if (f)
        fclose(f);
    ok(cases >= 10, "at least ten bad manifests (%d)", cases);
}

int
main(void)
{
    good();
    rendered();
    bad();
    return done_testing();
}
