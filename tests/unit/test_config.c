/* The config file (host/config/config.c): defaults, every key, and errors with positions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "tap.h"

static char dir[] = "/tmp/tars-test-config-XXXXXX";

static const char *
write_config(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text and returns the first error line (or NULL when it loads). */
static char *
first_error(const char *text)
{
    struct config c;
    struct diag d = {0};
    const char *path = write_config("c.json", text);
    char *line = NULL;
    if (config_load(&c, path, &d) == 0)
        config_free(&c);
    else if (d.n)
        line = strdup(d.lines[0] + strlen(dir) + 1); /* drop the temp dir */
    diag_free(&d);
    return line;
}

#define expect_error(text, want, what) \
    do {                               \
        char *e_ = first_error(text);  \
        like(e_, want, what);          \
        free(e_);                      \
    } while (0)

int
main(void)
{
    struct config c;
    struct diag d = {0};
    ok(mkdtemp(dir) != NULL, "temp dir");

    ok(config_load(&c, NULL, &d) == 0, "embedded default loads");
    is_str(c.listen, "127.0.0.1:8080", "default listen is loopback");
    is_int(c.n_agents, 0, "no agents by default");
    is_int(c.runners, 2, "two runners by default");
    ok(c.state_dir == NULL && c.manifest_dirs.n == 0, "dirs left for paths_defaults");
    config_free(&c);

    const char *full = write_config(
        "full.json", "{\"listen\": \"0.0.0.0:9000\", \"state_dir\": \"st\",\n"
                     " \"manifest_dirs\": [\"m\", \"/abs/m\"], \"plugin_dirs\": [\"p\"],\n"
                     " \"log_format\": \"json\", \"require_pins\": true,\n"
                     " \"agents\": [{\"id\": \"policy\", \"agent\": \"dqn\", "
                     "\"env\": \"cartpole\",\n"
                     "   \"n_envs\": 4, \"seed\": 9, \"preset\": \"cartpole\",\n"
                     "   \"params\": {\"lr\": 0.01}}]}\n");
    ok(config_load(&c, full, &d) == 0, "a config with every key loads");
    char want[512];
    snprintf(want, sizeof want, "%s/st", dir);
    is_str(c.state_dir, want, "relative state dir resolved against the config's dir");
    snprintf(want, sizeof want, "%s/m", dir);
    is_str(c.manifest_dirs.n ? c.manifest_dirs.v[0] : NULL, want, "relative manifest dir");
    is_str(c.manifest_dirs.n > 1 ? c.manifest_dirs.v[1] : NULL, "/abs/m", "absolute dir kept");
    ok(c.require_pins == 1, "require_pins");
    is_int(c.n_agents, 1, "one agent");
    const struct agent_conf *a = config_agent(&c, "policy");
    ok(a && a->n_envs == 4 && a->seed == 9 && strcmp(a->preset, "cartpole") == 0, "agent fields");
    ok(a && json_real_value(json_object_get(a->params, "lr")) == 0.01, "agent params kept");
    config_free(&c);
    is_int(d.n, 0, "no errors");

    expect_error("{\"listen\": \"x:1\",\n \"colour\": 1}", "c.json:2:2: unknown key 'colour'",
                 "unknown key at its position");
    expect_error("{\"runners\": 0}", "c.json:1:13: 'runners' = 0 is out of range [1, 256]",
                 "out-of-range number");
    expect_error("{\"runners\": \"two\"}", "c.json:1:13: 'runners' must be an integer in [1, 256]",
                 "wrong type");
    expect_error("{\"log_format\": \"xml\"}", "'log_format' must be one of: auto, text, json",
                 "enum string");
    expect_error("{\"manifest_dirs\": [\"a\", 3]}",
                 "c.json:1:25: element 1 of 'manifest_dirs' must be a string", "array element");
    expect_error("{\"agents\": [{\"id\": \"a\", \"agent\": \"x\"}]}",
                 "c.json:1:13: missing required key 'env'", "missing key in an agent");
    expect_error("{\"agents\": [{\"id\": \"a\", \"agent\": \"x\", \"env\": \"y\", \"nenvs\": 2}]}",
                 "c.json:1:51: unknown key 'nenvs'", "unknown key in an agent");
    expect_error("{\"agents\": [\n {\"id\": \"a\", \"agent\": \"x\", \"env\": \"y\"},\n"
                 " {\"id\": \"a\", \"agent\": \"x\", \"env\": \"y\"}]}",
                 "c.json:3:9: agent id 'a' is used twice", "duplicate agent id");
    expect_error("{\"agents\": [{\"id\": \"Bad Id\", \"agent\": \"x\", \"env\": \"y\"}]}",
                 "'id' \"Bad Id\" is not an id", "bad agent id");
    expect_error("{\"listen\": \"x\",,}", "c.json:1:16:", "syntax error with position");
    expect_error("", "c.json:1:1: '[' or '{' expected near end of file", "empty file");
    expect_error("{\"a\\nb\": 1}", "c.json:1:2: unknown key 'a\\nb'",
                 "a newline in a key is escaped, so the error stays one line");
    expect_error("{\"state_dir\": \"\"}", "'state_dir' \"\" is not a directory", "empty state dir");

    ok(config_load(&c, "/nonexistent/tars.json", &d) != 0, "missing config refused");
    like(d.n ? d.lines[0] : NULL, "/nonexistent/tars.json: cannot open", "names the file");
    diag_free(&d);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleanup");
    return done_testing();
}
