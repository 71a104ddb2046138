/* A plugin's manifest (host/registry/manifest.c): JSON text as it sits in a manifest dir. */
#include "diag.h"
#include "fuzz.h"
#include "manifest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest m;
    struct diag d = {0};
    if (manifest_parse(&m, "fuzz.json", (const char *)data, size, &d) == 0)
        manifest_free(&m);
    diag_free(&d);
    return 0;
}
