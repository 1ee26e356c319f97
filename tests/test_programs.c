/* tests/test_programs.c - what a new user meets besides ./train (tests/test_train.c): ./sample
   without a best model yet, the exit statuses and file errors of ./sample and ./tokenize,
   make shakespeare and make gpt2 offline, the README's "Using the header" snippet, built
   and run as the README says, and ./train_min. Run from the repository root after make
   (make test builds the programs first). Everything is written into tests/bin/programs_tmp/. */
#define _POSIX_C_SOURCE 200809L   /* WEXITSTATUS from <sys/wait.h> */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define TMP "tests/bin/programs_tmp"
#define ROOT "../../../../"   /* the repository root, seen from a folder in TMP */

/* Runs a shell command with its stdout in TMP/NAME.out and stderr in TMP/NAME.err; returns
   its exit status. */
static int run(const char *name, const char *cmd) {
    char line[4096];
    int st;
    snprintf(line, sizeof line, "( %s ) > " TMP "/%s.out 2> " TMP "/%s.err", cmd, name, name);
    st = system(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 when TMP/NAME.EXT ("out" or "err") contains text; prints the file when it does not. */
static int has(const char *name, const char *ext, const char *text) {
    char path[256];
    char *s;
    int found;
    snprintf(path, sizeof path, TMP "/%s.%s", name, ext);
    s = test_slurp(path, NULL);
    found = s && strstr(s, text) != NULL;
    if (!found) printf("  (%s.%s, wanted '%s': %s)\n", name, ext, text, s ? s : "missing");
    free(s);
    return found;
}

/* The size of TMP/NAME.EXT, -1 when missing. */
static long size_of(const char *name, const char *ext) {
    char path[256];
    size_t len = 0;
    char *s;
    snprintf(path, sizeof path, TMP "/%s.%s", name, ext);
    s = test_slurp(path, &len);
    free(s);
    return s ? (long)len : -1;
}

/* A model trained by ./train in TMP/run, as a run that was stopped before its first
   validation leaves it: checkpoint.safetensors and no model.safetensors. Its block of 128
   positions holds the README snippet's 100 tokens. */
static int stopped_run(void) {
    return run("train", "mkdir -p " TMP "/run && cd " TMP "/run && " ROOT "train --input "
               ROOT "tests/fixtures/train_ref/input.txt --layers 1 --heads 2 --embd 16 "
               "--block-size 128 --batch 2 --seq 8 --steps 100 --stop-after 3 --threads 1") == 0
           && test_exists(TMP "/run/checkpoint.safetensors") &&
           !test_exists(TMP "/run/model.safetensors");
}

/* ./sample with no --model: model.safetensors, else checkpoint.safetensors with a note, else
   an error naming both. An explicit --model that is missing gets the system's reason. */
static void test_sample_fallback(void) {
    int rc;
    CHECK(stopped_run(), "./train did not leave checkpoint.safetensors alone in " TMP "/run");
    rc = run("fallback", "cd " TMP "/run && " ROOT "sample --tokens 8 --threads 1 --prompt "
             "ROMEO:");
    CHECK(rc == 0 && has("fallback", "err", "no model.safetensors here") &&
          has("fallback", "err", "using checkpoint.safetensors") &&
          has("fallback", "out", "ROMEO:"), "fallback to the checkpoint: exit %d", rc);
    CHECK(system("cd " TMP "/run && cp checkpoint.safetensors model.safetensors && "
                 "rm checkpoint.safetensors") == 0, "cp");
    rc = run("best", "cd " TMP "/run && " ROOT "sample --tokens 8 --threads 1");
    CHECK(rc == 0 && size_of("best", "out") > 0, "model.safetensors: exit %d", rc);
    CHECK(system("grep -q 'using checkpoint' " TMP "/best.err") != 0,
          "a note about the checkpoint although model.safetensors is there");
    CHECK(system("mkdir -p " TMP "/empty") == 0, "mkdir");
    rc = run("neither", "cd " TMP "/empty && " ROOT "sample");
    CHECK(rc == 1 && has("neither", "err", "neither model.safetensors nor "
                         "checkpoint.safetensors is here") &&
          has("neither", "err", "./train --preset small --steps 600"),
          "no model at all: exit %d", rc);
    rc = run("missing", "./sample --model " TMP "/none.safetensors");
    CHECK(rc == 1 && has("missing", "err", "cannot open " TMP "/none.safetensors: No such file "
                         "or directory"), "--model missing: exit %d", rc);
}

/* Exit statuses in --help, usage errors on stderr with status 2, file errors with the
   system's reason. */
static void test_statuses(void) {
    int rc = run("sample_help", "./sample --help");
    CHECK(rc == 0 && has("sample_help", "out", "Exit status: 0 done, 1 ") &&
          has("sample_help", "out", "2 bad options"), "./sample --help: %d", rc);
    rc = run("sample_bad", "./sample --tokens many");
    CHECK(rc == 2 && size_of("sample_bad", "out") == 0 &&
          has("sample_bad", "err", "--tokens needs a whole number"), "./sample bad option: %d",
          rc);
    rc = run("sample_prompt", "./sample --model " TMP "/run/model.safetensors --prompt-file "
             TMP "/no_prompt.txt");
    CHECK(rc == 1 && has("sample_prompt", "err", "cannot open " TMP "/no_prompt.txt: No such "
                         "file or directory"), "./sample --prompt-file missing: %d", rc);
    rc = run("tok_none", "./tokenize");
    CHECK(rc == 2 && size_of("tok_none", "out") == 0 && has("tok_none", "err", "usage: "),
          "./tokenize without FILE: exit %d, usage on stdout", rc);
    rc = run("tok_help", "./tokenize --help");
    CHECK(rc == 0 && has("tok_help", "out", "usage: ") &&
          has("tok_help", "out", "Exit status: 0 done, 1 ") && size_of("tok_help", "err") == 0,
          "./tokenize --help: %d", rc);
    rc = run("tok_missing", "./tokenize " TMP "/none.txt");
    CHECK(rc == 1 && has("tok_missing", "err", "cannot open " TMP "/none.txt: No such file or "
                         "directory"), "./tokenize missing file: %d", rc);
    rc = run("train_help", "./train --help");
    CHECK(rc == 0 && has("train_help", "out", "Exit status: 0 done"), "./train --help: %d", rc);
}

/* make shakespeare copies data/tinyshakespeare.txt (no download) and leaves an input.txt
   that is there; make gpt2 with an unreachable hub says so in one line and writes nothing.
   Both run in a folder of their own (with data/ linked in), not in the repository root, and
   as a make of their own: under `make -j2 test` the inherited MAKEFLAGS would make the
   child print a jobserver warning that is not what a user typing `make gpt2` sees. */
#define MAKE_ALONE "env -u MAKEFLAGS -u MAKELEVEL make -s -f "
static void test_make_targets(void) {
    int rc;
    CHECK(system("mkdir -p " TMP "/mk && ln -sfn " ROOT "data " TMP "/mk/data") == 0, "mkdir");
    rc = run("shakespeare", "cd " TMP "/mk && " MAKE_ALONE ROOT "Makefile shakespeare");
    CHECK(rc == 0 && has("shakespeare", "out", "input.txt: Tiny Shakespeare, copied from "
                         "data/tinyshakespeare.txt") &&
          system("cmp -s " TMP "/mk/input.txt data/tinyshakespeare.txt") == 0,
          "make shakespeare: exit %d, or input.txt is not Tiny Shakespeare", rc);
    CHECK(system("echo 'my own text' > " TMP "/mk/input.txt") == 0, "echo");
    rc = run("shakespeare2", "cd " TMP "/mk && " MAKE_ALONE ROOT "Makefile shakespeare");
    CHECK(rc == 0 && has("shakespeare2", "out", "input.txt: already here") &&
          system("grep -qx 'my own text' " TMP "/mk/input.txt") == 0,
          "make shakespeare over an input.txt: exit %d", rc);
    /* port 9 (discard) of this machine: nothing listens, so curl fails at once */
    rc = run("gpt2", "cd " TMP "/mk && " MAKE_ALONE ROOT "Makefile gpt2 "
             "GPT2_URL=http://127.0.0.1:9/gpt2");
    CHECK(rc != 0 && (has("gpt2", "out", "make gpt2: cannot reach http://127.0.0.1:9/gpt2") ||
                      has("gpt2", "out", "make gpt2: needs curl")),
          "make gpt2 offline: exit %d", rc);
    CHECK(system("test -e " TMP "/mk/gpt2") != 0, "make gpt2 offline left a gpt2 folder");
    CHECK(system("grep -qi 'warning\\|retry\\|curl:' " TMP "/gpt2.out " TMP "/gpt2.err") != 0,
          "make gpt2 offline printed curl's messages");
}

/* ./train_min, the first example to read: in a folder with data/ and no input.txt it
   trains on Tiny Shakespeare, prints a loss for each of its 50 steps that goes down (the
   mean of the last ten at least 2 below that of the first five, which start near ln V =
   10.8), saves a checkpoint that ./sample loads, and prints a sample. Without data/ it says
   which file is missing; an empty input.txt is an error naming the problem. */
static void test_train_min(void) {
    char *out;
    double loss[50];
    int rc, steps = 0;
    CHECK(system("mkdir -p " TMP "/min " TMP "/min_bare " TMP "/min_empty && "
                 "ln -sfn " ROOT "data " TMP "/min/data && ln -sfn " ROOT "data "
                 TMP "/min_empty/data && : > " TMP "/min_empty/input.txt") == 0, "mkdir");
    rc = run("min", "cd " TMP "/min && OMP_NUM_THREADS=1 " ROOT "train_min");
    out = test_slurp(TMP "/min.out", NULL);
    for (const char *at = out; at && (at = strstr(at, "step ")) != NULL; at++) {
        int step;
        double l;
        if (sscanf(at, "step %d | loss %lf", &step, &l) == 2 && step == steps && steps < 50)
            loss[steps++] = l;
    }
    CHECK(rc == 0 && steps == 50, "./train_min: exit %d, %d steps (stderr: min.err)", rc, steps);
    if (steps == 50) {
        double first = 0, last = 0;
        for (int i = 0; i < 5; i++) first += loss[i] / 5;
        for (int i = 40; i < 50; i++) last += loss[i] / 10;
        CHECK(fabs(loss[0] - log(50257.0)) < 0.3 && last < first - 2.0,
              "./train_min: loss %.3f at step 0, first five %.3f, last ten %.3f", loss[0],
              first, last);
    }
    CHECK(has("min", "out", "data/tinyshakespeare.txt: 1115394 bytes") &&
          has("min", "out", "a sample:\n"), "./train_min: what it read, or no sample");
    free(out);
    rc = run("min_sample", "cd " TMP "/min && " ROOT "sample --model train_min.safetensors "
             "--tokens 4 --threads 1");
    CHECK(rc == 0 && size_of("min_sample", "out") > 0, "./sample on train_min's model: %d", rc);
    rc = run("min_bare", "cd " TMP "/min_bare && " ROOT "train_min");
    CHECK(rc == 1 && has("min_bare", "err", "data/tinyshakespeare.txt: No such file or "
                         "directory"), "./train_min without data/: exit %d", rc);
    rc = run("min_empty", "cd " TMP "/min_empty && " ROOT "train_min");
    CHECK(rc == 1 && has("min_empty", "out", "input.txt: 0 bytes") &&
          has("min_empty", "err", "fewer than one batch"), "./train_min, empty input.txt: %d",
          rc);
}

/* The README's "Using the header": the C block is hello.c, the sh block after it builds and
   runs it. Both are taken from README.md as they are, and run in a folder that holds what
   the README says is there: gpt.h, data/ and the model the quick start trained (here a tiny
   one). The snippet must also compile without a warning under the project's strict flags. */
static void test_readme_snippet(void) {
    size_t len;
    char *readme = test_slurp("README.md", &len), *at, *code, *end, *sh, *line;
    FILE *f;
    int rc, commands = 0;
    at = readme ? strstr(readme, "## Using the header") : NULL;
    code = at ? strstr(at, "```c\n") : NULL;
    end = code ? strstr(code + 5, "```\n") : NULL;
    sh = end ? strstr(end + 4, "```sh\n") : NULL;
    CHECK(code && end && sh, "README.md: no C and sh blocks under ## Using the header");
    if (!code || !end || !sh) { free(readme); return; }
    CHECK(system("mkdir -p " TMP "/hello && cd " TMP "/hello && ln -sfn " ROOT "data data && "
                 "ln -sfn " ROOT "gpt.h gpt.h && cp ../run/model.safetensors .") == 0,
          "setting up " TMP "/hello");
    if ((f = fopen(TMP "/hello/hello.c", "wb")) != NULL) {
        fwrite(code + 5, 1, (size_t)(end - code - 5), f);
        fclose(f);
    }
    /* each "cc ..." line of the sh block, and then ./hello */
    for (line = sh + 6; *line && strncmp(line, "```", 3) != 0; line = strchr(line, '\n') + 1) {
        char cmd[512];
        int n = (int)strcspn(line, "#\n");
        if (strncmp(line, "cc ", 3) == 0 && commands < 2) {
            const char *name = commands ? "hello1" : "hello0";
            char letters[256];
            snprintf(cmd, sizeof cmd, "cd " TMP "/hello && rm -f hello && %.*s && ./hello", n,
                     line);
            snprintf(letters, sizeof letters, "grep -q '[a-zA-Z]' " TMP "/%s.out", name);
            rc = run(name, cmd);
            CHECK(rc == 0 && size_of(name, "out") > 1 && system(letters) == 0,
                  "README: '%.*s' then ./hello: exit %d, no text", n, line, rc);
            commands++;
        }
        if (!strchr(line, '\n')) break;
    }
    CHECK(commands == 2, "README: %d cc lines (want one with -fopenmp, one without)", commands);
    CHECK(system("cmp -s " TMP "/hello0.out " TMP "/hello1.out") == 0,
          "the README's two builds print different text (it says: the same text)");
    rc = run("hello_warn", "cd " TMP "/hello && for cc in gcc clang; do command -v $cc "
             ">/dev/null || continue; for omp in '' -fopenmp; do $cc -std=c99 -Wall -Wextra "
             "-pedantic $omp -I. -c hello.c -o hello.o || exit 1; done; done");
    CHECK(rc == 0 && size_of("hello_warn", "err") == 0 && size_of("hello_warn", "out") == 0,
          "the README snippet compiles with warnings (hello_warn.err)");
    free(readme);
}

int main(void) {
    if (!test_exists("./train") || !test_exists("./sample") || !test_exists("./tokenize") ||
        !test_exists("./train_min")) {
        CHECK(0, "./train, ./sample, ./tokenize or ./train_min is missing: run make example "
              "first");
        return test_report("programs");
    }
    if (system("rm -rf " TMP " && mkdir -p " TMP) != 0) {
        CHECK(0, "cannot make " TMP);
        return test_report("programs");
    }
    test_sample_fallback();
    test_statuses();
    test_make_targets();
    test_readme_snippet();
    test_train_min();
    if (!test_failed) CHECK(system("rm -rf " TMP) == 0, "rm -rf " TMP);
    return test_report("programs");
}
