/* tests/test_build.c - gpt.h compiles without a single warning, as the header promises:
   gcc and clang with -std=c99 -Wall -Wextra -pedantic, with and without OpenMP, and g++ as
   C++, both as declarations only and with the implementation. Compilers that are not
   installed are skipped (CI installs them all). And the manual at its top lists every public
   function once. */
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

/* The manual at the top of gpt.h ("THE API") names every public function exactly once: each
   name declared with GPT_DEF between the DECLARATIONS banner and GPT_H_INCLUDED's #endif
   appears once, as a whole word, in the manual's list, and the list names nothing else. */
static int is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int count_word(const char *from, const char *to, const char *w, size_t n) {
    int count = 0;
    for (const char *p = from; p && p + n <= to; p++) {
        p = strstr(p, w);
        if (!p || p + n > to) break;
        if ((p == from || !is_word(p[-1])) && !is_word(p[n])) count++;
    }
    return count;
}

static void test_manual_lists_api(void) {
    size_t len;
    char *h = test_slurp("gpt.h", &len);
    CHECK(h != NULL, "cannot read gpt.h");
    if (!h) return;
    const char *man = strstr(h, "THE API:"), *man_end = man ? strstr(man, "DOES / DOES NOT") : 0;
    const char *decl = strstr(h, "DECLARATIONS"), *decl_end = decl ? strstr(decl,
                                                              "#endif /* GPT_H_INCLUDED */") : 0;
    CHECK(man && man_end && decl && decl_end, "the manual's API list or the declarations");
    if (!(man && man_end && decl && decl_end)) { free(h); return; }
    int declared = 0, listed = 0;
    for (const char *p = strstr(decl, "GPT_DEF "); p && p < decl_end;
         p = strstr(p + 1, "GPT_DEF ")) {
        const char *paren = strchr(p, '('), *q = paren, *eol = strchr(p, '\n');
        if (!paren || paren > decl_end) break;
        if (eol && eol < paren) continue;   /* "#define GPT_DEF ...": not a declaration */
        while (q > p && !is_word(q[-1])) q--;   /* back over spaces to the name's end */
        const char *name = q;
        while (name > p && is_word(name[-1])) name--;
        char w[64];
        size_t n = (size_t)(q - name);
        if (n == 0 || n >= sizeof w || strncmp(name, "gpt_", 4) != 0) continue;
        memcpy(w, name, n);
        w[n] = 0;
        declared++;
        int k = count_word(man, man_end, w, n);
        CHECK(k == 1, "the manual's API list names %s %d times, not once", w, k);
    }
    for (const char *p = man; p < man_end; p++)   /* every gpt_ name the list gives */
        if (strncmp(p, "gpt_", 4) == 0 && (p == man || !is_word(p[-1]))) listed++;
    CHECK(declared > 40 && listed == declared, "%d functions declared, %d names in the manual",
          declared, listed);
    free(h);
}

int main(void) {
    test_manual_lists_api();
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
