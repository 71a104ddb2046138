/*
 * Parameter values in JSON (host/registry/params_json.c) and the agent entry's schema
 * (host/config/schema.c): what a config's agent, a manifest's defaults and an API request carry.
 * The first byte picks the plugin (low nibble) and what the object is (high nibble: plain
 * values, a manifest's defaults, one preset); the rest is the JSON text.
 */
#include <jansson.h>
#include <stdlib.h>
#include "config.h"
#include "jdoc.h"
#include "params_json.h"
#include "plugins.h"

static const struct {
    const char *name;
    uint32_t kind;
} targets[] = {
    {"ppo", TARS_KIND_AGENT},       {"a2c", TARS_KIND_AGENT},
    {"dqn", TARS_KIND_AGENT},       {"ddpg", TARS_KIND_AGENT},
    {"random", TARS_KIND_AGENT},    {"cartpole", TARS_KIND_ENV},
    {"pendulum", TARS_KIND_ENV},    {"acrobot", TARS_KIND_ENV},
    {"mountaincar", TARS_KIND_ENV}, {"mountaincar-continuous", TARS_KIND_ENV},
};
#define N_TARGETS (sizeof targets / sizeof targets[0])
static tars_params *pristine[N_TARGETS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct registry *reg = fuzz_plugins();
    char err[256];
    for (size_t i = 0; i < N_TARGETS; i++) {
        struct plugin *p = registry_get(reg, targets[i].name, targets[i].kind);
        if (!p || plugin_params(p, NULL, &pristine[i], NULL, err, sizeof err))
            fuzz_die(targets[i].name, p ? err : "not found");
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t which = (data[0] & 0x0f) % N_TARGETS;
    enum pjson_scope scope = (enum pjson_scope)((data[0] >> 4) % 3);
    struct jdoc doc;
    struct diag d = {0};
    if (jdoc_parse(&doc, "fuzz.json", (const char *)data + 1, size - 1, &d) == 0) {
        sch_validate(config_agent_schema, doc.root, "", &doc, &d);
        tars_params *p;
        if (json_is_object(doc.root) && tars_params_clone(pristine[which], &p) == 0) {
            pjson_apply(p, doc.root, scope, &doc, "", &d);
            json_decref(pjson_values(p));
            tars_params_free(p);
        }
        jdoc_free(&doc);
    }
    diag_free(&d);
    return 0;
}
