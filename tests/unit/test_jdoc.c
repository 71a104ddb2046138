/* Located JSON documents (host/config/jdoc.c): positions of keys and values by JSON pointer. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "jdoc.h"
#include "tap.h"

static const char text[] = "{\n"
                           "  \"name\": \"cartpole\",\n"
                           "  \"list\": [1, {\"deep\": true}],\n"
                           "  \"a/b~c\": null,\n"
                           "  \"héllo\": \"wörld\", \"x\": 2\n"
                           "}\n";

static void
at(const struct jdoc *d, const char *ptr, int key, int line, int col, const char *what)
{
    int l, c;
    int found = jdoc_find(d, ptr, key, &l, &c);
    ok(found && l == line && c == col, "%s at %d:%d", what, line, col);
    if (!found || l != line || c != col)
        diag("  got %d:%d (found %d)", l, c, found);
}

int
main(void)
{
    struct jdoc doc;
    struct diag d = {0};
    ok(jdoc_parse(&doc, "t.json", text, strlen(text), &d) == 0, "parses");
    at(&doc, "", 0, 1, 1, "root");
    at(&doc, "/name", 1, 2, 3, "key 'name'");
    at(&doc, "/name", 0, 2, 11, "value of 'name'");
    at(&doc, "/list/0", 0, 3, 12, "first element");
    at(&doc, "/list/1/deep", 1, 3, 16, "key inside an element");
    at(&doc, "/list/1/deep", 0, 3, 24, "value inside an element");
    at(&doc, "/a~1b~0c", 1, 4, 3, "key with / and ~ (escaped pointer)");
    at(&doc, "/x", 0, 5, 26, "columns count characters, not bytes");
    int l, c;
    ok(!jdoc_find(&doc, "/missing", 0, &l, &c), "unknown pointer not found");

    jdoc_error(&doc, &d, "/list/1/deep", 0, "bad %s", "value");
    is_str(d.n ? d.lines[0] : NULL, "t.json:3:24: bad value", "error line format");
    jdoc_free(&doc);
    diag_free(&d);

    ok(jdoc_parse(&doc, "s.json", "{\n  \"a\": 1,\n  \"b\": [1 2]\n}", 24, &d) != 0,
       "syntax error refused");
    like(d.n ? d.lines[0] : NULL, "s.json:3:", "syntax error names file and line");
    diag_free(&d);

    ok(jdoc_parse(&doc, "dup.json", "{\"a\": 1, \"a\": 2}", 16, &d) != 0, "duplicate key refused");
    like(d.n ? d.lines[0] : NULL, "duplicate object key", "says duplicate");
    diag_free(&d);

    ok(jdoc_load(&doc, "/nonexistent/x.json", &d) != 0, "missing file refused");
    like(d.n ? d.lines[0] : NULL, "/nonexistent/x.json: cannot open: No such file",
         "names the file and the cause");
    diag_free(&d);

    /* Found by tests/fuzz (fuzz_manifest, fuzz_config): jansson skips a NUL byte between
     * tokens, and the position scanner looped on it (or read past the text). The alarm turns
     * the old loop into a failure rather than a hang. */
    alarm(10);
    static const char nul_array[] = "[1,[1, 2, 3\0, 2,2, 33]]\n";
    ok(jdoc_parse(&doc, "n.json", nul_array, sizeof nul_array - 1, &d) != 0,
       "a NUL byte between tokens is refused");
    is_str(d.n ? d.lines[0] : NULL, "n.json:1:12: a NUL byte, which JSON text cannot hold",
           "at its position");
    diag_free(&d);
    static const char nul_object[] = "{\"a\": 6\0}";
    ok(jdoc_parse(&doc, "o.json", nul_object, sizeof nul_object - 1, &d) != 0,
       "and at the end of an object");
    diag_free(&d);
    alarm(0);

    char *p = jptr_key("/a", "b/c~");
    is_str(p, "/a/b~1c~0", "pointer escaping");
    free(p);
    return done_testing();
}
