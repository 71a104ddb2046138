/*
 * Plugin loading (host/registry/loader.c, loader_map.c, registry.c): every refusal the host makes,
 * with its one-line reason, and the content-addressed copy that makes overwriting safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elf_needs.h"
#include "registry.h"
#include "tap.h"

static char tmp[] = "/tmp/tars-test-loader-XXXXXX";
static char mdir[300], pdir[300];

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void
sh(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    if (system(cmd) != 0)
        diag("command failed: %s", cmd);
}

/*
 * A manifest for `library` with optional extra JSON members, scanned in a fresh registry.
 * Returns the first error line (malloc'd) or NULL when the plugin loaded.
 */
static char *
scan(struct registry *r, const char *name, const char *kind, const char *library, const char *extra,
     int require_pins)
{
    char path[400], text[2048];
    sh("rm -f %s/*.json%s", mdir, "");
    snprintf(path, sizeof path, "%s/m.json", mdir);
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"kind\": \"%s\", \"version\": \"0.1.0\", \"abi\": \"1.1\",\n"
             " \"library\": \"%s\", \"description\": \"test\"%s%s}\n",
             name, kind, library, extra ? ",\n " : "", extra ? extra : "");
    write_file(path, text);
    struct strv m = {0}, p = {0};
    strv_push(&m, mdir);
    strv_push(&p, TEST_PLUGIN_DIR);
    strv_push(&p, pdir);
    registry_init(r, &m, &p, require_pins);
    strv_free(&m);
    strv_free(&p);
    struct diag d = {0};
    registry_scan(r, &d);
    char *first = d.n ? strdup(d.lines[0]) : NULL;
    diag_free(&d);
    return first;
}

#define refused(name, kind, lib, extra, want, what)                                         \
    do {                                                                                    \
        struct registry r_;                                                                 \
        char *e_ = scan(&r_, name, kind, lib, extra, 0);                                    \
        like(e_, want, what);                                                               \
        ok(r_.n == 1 && r_.v[0]->info == NULL && r_.v[0]->error, "  ...and is not loaded"); \
        free(e_);                                                                           \
        registry_free(&r_);                                                                 \
    } while (0)

static void
refusals(void)
{
    refused("testagent", "agent", "test-abi_major.so", NULL,
            "built for ABI 2.1; this host loads ABI 1.x only", "wrong ABI major refused");
    refused("testagent", "agent", "test-abi_minor.so", NULL,
            "built for ABI 1.2, this tarsd has 1.1; upgrade tars", "newer minor refused");
    refused("testagent", "agent", "test-no_entry.so", NULL, "has no entry symbol tars_plugin_init",
            "missing entry symbol refused");
    refused("testagent", "agent", "test-null_info.so", NULL, "tars_plugin_init returned NULL",
            "NULL descriptor refused");
    refused("testagent", "env", "test-good.so", NULL,
            "m.json:1:31: manifest says kind 'env' but test-good.so is a 'agent' plugin",
            "kind mismatch refused at the kind's position");
    refused("other", "agent", "test-good.so", NULL,
            "m.json:1:10: manifest says name 'other' but test-good.so is named 'testagent'",
            "name mismatch refused");
    refused("testagent", "agent", "test-good.so",
            "\"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"",
            "m.json:3:12: plugin 'testagent' refused: sha256 mismatch: the manifest pins 0000",
            "sha256 mismatch refused");
    refused("testagent", "agent", "test-bad_schema.so", NULL,
            "bad parameter schema: parameter 'gamma' default 2 is outside its range [0, 1]",
            "malformed parameter schema refused");
    refused("testagent", "agent", "test-missing_op.so", NULL, "agent ops table lacks observe",
            "incomplete ops table refused");
    refused("testagent", "agent", "test-small_ops.so", NULL,
            "agent ops table of 8 bytes is smaller than ABI 1.0's", "truncated ops table refused");
    refused("testagent", "agent", "test-bad_kind.so", NULL, "descriptor has unknown kind 42",
            "unknown kind refused");
    refused("testagent", "agent", "test-reserved.so", NULL,
            "descriptor sets reserved fields (built for a newer ABI?)",
            "a descriptor using reserved slots refused");
    refused("testagent", "agent", "nope.so", NULL,
            "m.json:2:13: library 'nope.so' not found in the plugin dirs", "missing library");
    refused("testagent", "agent", "fake.so", NULL, "fake.so is not an ELF shared object",
            "a file that is not ELF refused");
    refused("testagent", "agent", "test-good.so", "\"defaults\": {\"lr\": 5}",
            "m.json:3:21: parameter 'lr' = 5 is out of range [1e-06, 1]",
            "out-of-range default refused at its position");
    refused("testagent", "agent", "test-good.so", "\"defaults\": {\"fast\": {\"mode\": \"warp\"}}",
            "m.json:3:32: parameter 'mode' must be one of: fast, slow, not 'warp'",
            "bad value inside a preset refused");
    refused("testagent", "agent", "test-good.so", "\"defaults\": {\"bogus\": 1}",
            "m.json:3:15: unknown parameter 'bogus' (known: lr, batch, double_q, mode)",
            "unknown default refused at its key");

    struct registry r;
    char *e = scan(&r, "testagent", "agent", "test-good.so", NULL, 1);
    like(e, "no sha256 pin, and the config sets require_pins", "require_pins without a pin");
    free(e);
    registry_free(&r);

    /* ABI in the manifest is checked before anything is loaded. */
    sh("sed -i 's/\"abi\": \"1.1\"/\"abi\": \"2.0\"/' %s/m.json%s", mdir, "");
    struct strv m = {0}, p = {0};
    strv_push(&m, mdir);
    strv_push(&p, TEST_PLUGIN_DIR);
    registry_init(&r, &m, &p, 0);
    struct diag d = {0};
    registry_scan(&r, &d);
    like(d.n ? d.lines[0] : NULL, "manifest declares ABI 2.0; this host loads ABI 1.x only",
         "manifest for another ABI major refused before dlopen");
    diag_free(&d);
    registry_free(&r);

    /* Missing dirs. */
    strv_free(&p);
    strv_push(&p, "/nonexistent/plugins");
    registry_init(&r, &m, &p, 0);
    ok(registry_check_dirs(&r, &d) == 1, "a missing plugin dir is an error");
    like(d.n ? d.lines[0] : NULL, "plugin dir '/nonexistent/plugins' does not exist", "named");
    diag_free(&d);
    registry_free(&r);
    strv_free(&m);
    strv_free(&p);
}

static void
loads(void)
{
    struct registry r;
    char hex[65], err[256], pin[100];
    ok(loader_sha256_file(TEST_PLUGIN_DIR "/test-good.so", hex, err, sizeof err) == 0, "sha256");
    snprintf(pin, sizeof pin, "\"sha256\": \"%s\"", hex);
    char *e = scan(&r, "testagent", "agent", "test-good.so", pin, 1);
    ok(e == NULL, "a correctly pinned plugin loads under require_pins");
    free(e);
    registry_free(&r);

    e = scan(&r, "testagent", "agent", "test-good.so",
             "\"defaults\": {\"batch\": 32, \"fast\": {\"lr\": 0.01, \"mode\": \"slow\"}}", 0);
    ok(e == NULL, "plugin with defaults and a preset loads");
    free(e);
    struct plugin *pl = registry_get(&r, "testagent", TARS_KIND_AGENT);
    tars_params *params;
    ok(pl && plugin_params(pl, NULL, &params, NULL, err, sizeof err) == 0,
       "parameters without preset");
    is_int(tars_param_int(params, 1), 32, "manifest default applied");
    is_near(tars_param_float(params, 0), 0.001, 0, "schema default kept");
    tars_params_free(params);
    ok(plugin_params(pl, "fast", &params, NULL, err, sizeof err) == 0,
       "parameters with the preset");
    is_near(tars_param_float(params, 0), 0.01, 0, "preset applied on top");
    is_str(tars_param_enum_name(params, 3), "slow", "preset enum applied");
    tars_params_free(params);
    ok(plugin_params(pl, "slow", &params, NULL, err, sizeof err) != 0, "unknown preset refused");
    like(err, "unknown preset 'slow' for agent 'testagent' (presets: fast)", "lists the presets");

    struct plugin *found;
    ok(registry_lookup(&r, "nosuch", TARS_KIND_AGENT, &found, err, sizeof err) != 0,
       "unknown name");
    like(err, "unknown agent 'nosuch' (available: testagent)", "lists what exists");
    ok(registry_lookup(&r, "testagent", TARS_KIND_ENV, &found, err, sizeof err) != 0, "wrong kind");
    like(err, "'testagent' is a plugin of kind 'agent', not 'env'", "says the kind");
    registry_free(&r);

    /* Overwriting the library after loading does not touch the mapped copy. */
    sh("cp %s/test-good.so %s/swap.so", TEST_PLUGIN_DIR, pdir);
    e = scan(&r, "testagent", "agent", "swap.so", NULL, 0);
    ok(e == NULL, "loaded from a plugin dir");
    free(e);
    sh("cp %s/test-abi_minor.so %s/swap.so", TEST_PLUGIN_DIR, pdir);
    pl = registry_get(&r, "testagent", TARS_KIND_AGENT);
    const tars_agent_ops *ops = pl ? pl->info->ops : NULL;
    tars_agent *agent = NULL;
    tars_env_spec spec = {.struct_size = sizeof spec, .n_agents = 1};
    ok(ops && ops->create(NULL, &spec, 1, NULL, 0, &agent) == 0,
       "still callable after the file was overwritten in place");
    if (agent)
        ops->destroy(agent);
    ok(pl && pl->info->abi_minor == TARS_ABI_MINOR,
       "the descriptor is the loaded build's, not the file's new content (ABI minor + 1)");
    registry_free(&r);
}

/* Reads a whole file for elf_sdk_need; NULL when it cannot. */
static unsigned char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = f ? malloc(16u << 20) : NULL;
    *len = buf ? fread(buf, 1, 16u << 20, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

/* Which libtars-sdk a file needs, read from its bytes, and what a damaged file gives. */
static void
sdk_needs(void)
{
    struct sdk_need need;
    size_t len;
    unsigned char *data = read_all(TEST_PLUGIN_DIR "/test-good.so", &len);
    ok(data && elf_sdk_need(data, len, &need) == 0, "a 1.0 plugin's version needs are read");
    ok(need.found && need.so_major == 1 && need.abi_major == 1 && need.abi_minor == 0,
       "  it needs TARS_SDK_1.0 of libtars-sdk.so.1");
    /* Every prefix of the file, and the file with its section table pointed past its end,
     * must be reported as malformed or read in bounds (ASan watches), never crash. */
    int bad = 0;
    for (size_t cut = 0; data && cut < len; cut += 97)
        bad +=
            elf_sdk_need(data, cut, &need) != 0 && elf_sdk_need(data, cut, &need) != TARS_EFORMAT;
    ok(!bad, "truncated copies are refused as TARS_EFORMAT or read in bounds");
    if (data && len > 0x30) {
        memset(data + 0x28, 0xff, 8); /* e_shoff */
        ok(elf_sdk_need(data, len, &need) == TARS_EFORMAT,
           "a section table past the end is refused");
    }
    free(data);
    data = read_all(TEST_PLUGIN_DIR "/abi12/abi12-agent.so", &len);
    ok(data && elf_sdk_need(data, len, &need) == 0 && need.abi_major == 1 && need.abi_minor == 2,
       "a plugin linked against libtars-sdk 1.2 needs TARS_SDK_1.2");
    free(data);
}

int
main(void)
{
    ok(mkdtemp(tmp) != NULL, "temp dir");
    snprintf(mdir, sizeof mdir, "%s/manifests", tmp);
    snprintf(pdir, sizeof pdir, "%s/plugins", tmp);
    sh("mkdir -p %s %s", mdir, pdir);
    char fake[400];
    snprintf(fake, sizeof fake, "%s/fake.so", pdir);
    write_file(fake, "this is not a shared object\n");
    refusals();
    loads();
    sdk_needs();
    sh("rm -rf %s%s", tmp, "");
    return done_testing();
}
