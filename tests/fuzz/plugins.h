/* The in-tree plugins, scanned once, for the targets that need their schemas or load ops. */
#ifndef TARS_TESTS_FUZZ_PLUGINS_H
#define TARS_TESTS_FUZZ_PLUGINS_H

#include <stdlib.h>
#include "fuzz.h"
#include "registry.h"

static struct registry fuzz_registry;

static struct registry *
fuzz_plugins(void)
{
    static int ready;
    if (ready)
        return &fuzz_registry;
    struct strv manifests = {0}, libs = {0};
    struct diag d = {0};
    if (strv_push(&manifests, TARS_SOURCE_DIR "/manifests") || strv_push(&libs, TARS_PLUGIN_DIR) ||
        registry_init(&fuzz_registry, &manifests, &libs, 0) || registry_scan(&fuzz_registry, &d)) {
        diag_print(&d, stderr, "fuzz: ");
        fuzz_die("plugins", "cannot load the in-tree plugins");
    }
    strv_free(&manifests);
    strv_free(&libs);
    diag_free(&d);
    ready = 1;
    return &fuzz_registry;
}

#endif
