/* tests/test_build.c - gpt.h compiles without a single warning, as the header promises:
   gcc and clang with -std=c99 -Wall -Wextra -pedantic, with and without OpenMP, and g++ as
   C++, both as declarations only and with the implementation. Compilers that are not
   installed are skipped (CI installs them all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"

static int have(const char *cc) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

/* Compiles src with the given command line; passes when it succeeds with empty output. */
static void build(const char *cc, const char *flags, const char *src) {
    char cmd[1024];
    FILE *f;
    long size = -1;
    snprintf(cmd, sizeof cmd, "%s %s -I. -c %s -o tests/bin/build_check.o > "
             "tests/bin/build_check.log 2>&1", cc, flags, src);
    if (system(cmd) == 0 && (f = fopen("tests/bin/build_check.log", "rb")) != NULL) {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
    }
    CHECK(size == 0, "%s %s %s: %s", cc, flags, src,
          size < 0 ? "failed to compile (see tests/bin/build_check.log)" : "printed warnings");
    if (size != 0) system("head -5 tests/bin/build_check.log");
}

/* After a build of the GPT_NO_STDIO implementation: the object must reference no function
   of <stdio.h> (nm -u lists what it needs from elsewhere). Skipped without nm. */
static void no_stdio_symbols(const char *cc) {
    static const char *cmd = "nm -u tests/bin/build_check.o | grep -E '\\b(_?_?(fopen|fclose|"
        "fread|fwrite|fseek|ftell|fgetc|fputc|fflush|ferror|clearerr|fileno|fprintf|printf|"
        "sprintf|snprintf|vsnprintf|vfprintf|remove|rename|puts|fputs)(64)?(_chk)?)\\b' > "
        "tests/bin/build_check.log";
    int rc;
    if (!have("nm")) return;
    rc = system(cmd);   /* grep: 0 when it found one, 1 when none */
    CHECK(rc != 0, "%s -DGPT_NO_STDIO: the object calls stdio (see tests/bin/build_check.log)",
          cc);
    if (rc == 0) system("head -5 tests/bin/build_check.log");
}

int main(void) {
    static const char *impl = "tests/bin/build_impl.c", *decl = "tests/bin/build_decl.c";
    FILE *f = fopen(impl, "w");
    if (!f) { printf("FAIL cannot write %s\n", impl); return 1; }
    fputs("#define GPT_IMPLEMENTATION\n#include \"gpt.h\"\nint main(void) { return 0; }\n", f);
    fclose(f);
    f = fopen(decl, "w");
    if (!f) { printf("FAIL cannot write %s\n", decl); return 1; }
    fputs("#include \"gpt.h\"\nint main(void) { return gpt_strerror(0) == 0; }\n", f);
    fclose(f);
    if (have("gcc")) {
        build("gcc", "-std=c99 -Wall -Wextra -pedantic", impl);
        build("gcc", "-std=c99 -Wall -Wextra -pedantic -fopenmp", impl);
        build("gcc", "-std=c99 -Wall -Wextra -pedantic -DGPT_STATIC", impl);
        build("gcc", "-std=c99 -Wall -Wextra -pedantic", decl);
        build("gcc", "-O2 -std=c99 -Wall -Wextra -pedantic -DGPT_PLAIN_KERNELS", impl);
        build("gcc", "-std=c99 -Wall -Wextra -pedantic -fopenmp -DGPT_NO_STDIO", decl);
        build("gcc", "-O2 -std=c99 -Wall -Wextra -pedantic -fopenmp -DGPT_NO_STDIO", impl);
        no_stdio_symbols("gcc");
    }
    if (have("clang")) {
        build("clang", "-std=c99 -Wall -Wextra -pedantic", impl);
        build("clang", "-std=c99 -Wall -Wextra -pedantic -fopenmp", impl);
        build("clang", "-std=c99 -Wall -Wextra -pedantic", decl);
        build("clang", "-O2 -std=c99 -Wall -Wextra -pedantic -DGPT_NO_STDIO", impl);
        no_stdio_symbols("clang");
    }
    if (have("g++")) {
        build("g++", "-x c++ -Wall -Wextra", impl);
        build("g++", "-x c++ -Wall -Wextra -fopenmp", impl);
        build("g++", "-x c++ -Wall -Wextra", decl);
        build("g++", "-x c++ -Wall -Wextra -DGPT_NO_STDIO", impl);
    }
    if (test_passed + test_failed == 0) printf("note: no compiler found, nothing checked\n");
    return test_report("build");
}
