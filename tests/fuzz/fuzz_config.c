/* tarsd's config file (host/config/config.c), read from a file as tarsd reads it. */
#include "config.h"
#include "diag.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    struct diag d = {0};
    if (config_load(&c, fuzz_file(data, size), &d) == 0)
        config_free(&c);
    diag_free(&d);
    return 0;
}
