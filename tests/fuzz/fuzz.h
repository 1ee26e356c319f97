/* tests/fuzz/fuzz.h - what every libFuzzer harness of tests/fuzz shares: a counting, capped
   allocator handed to gpt.h, a private temporary folder for the files the loaders read, and
   the checks that turn a wrong answer into a crash the fuzzer reports.

   Include it first, in place of gpt.h: it defines GPT_MALLOC / GPT_FREE, then includes gpt.h
   with GPT_IMPLEMENTATION and GPT_STATIC (so that a harness can reach the internals, as the
   tests do).

   The allocator:
     - counts the live blocks; FUZZ_CHECK_NO_LEAK() after a test case aborts when gpt.h kept
       one (a leak on an error path shows up at the input that causes it, not at exit);
     - refuses (returns NULL) any single request above FUZZ_ALLOC_CAP bytes (environment,
       default 256 MB), so that a file claiming a huge model makes gpt.h report
       GPT_ERR_NOMEM instead of the fuzzer dying of memory;
     - with FUZZ_ALLOC_ABORT=1 in the environment aborts on such a request instead, naming
       its size: that finds inputs of a few KB that make gpt.h ask for gigabytes. */
#ifndef GPT_FUZZ_H
#define GPT_FUZZ_H
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, unlink, rmdir */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Helpers a harness may not use: no "defined but not used" warning for them. */
#if defined(__GNUC__) || defined(__clang__)
#define FUZZ_HELPER static __attribute__((unused))
#else
#define FUZZ_HELPER static
#endif

static long fuzz_live;              /* blocks allocated by gpt.h and not yet freed */
FUZZ_HELPER long fuzz_live_base;    /* of those, kept on purpose across test cases */
static size_t fuzz_alloc_cap;       /* largest single request granted, 0: not read yet */
static int fuzz_alloc_abort;        /* 1: abort on a request above the cap */
static size_t fuzz_input_size;      /* size of the current input, for the abort message */

static void fuzz_read_env(void) {
    const char *cap = getenv("FUZZ_ALLOC_CAP"), *ab = getenv("FUZZ_ALLOC_ABORT");
    fuzz_alloc_cap = cap ? (size_t)strtoull(cap, NULL, 10) : (size_t)256 << 20;
    if (fuzz_alloc_cap == 0) fuzz_alloc_cap = (size_t)256 << 20;
    fuzz_alloc_abort = ab && ab[0] == '1';
}

static void *fuzz_malloc(size_t n) {
    void *p;
    if (!fuzz_alloc_cap) fuzz_read_env();
    if (n > fuzz_alloc_cap) {
        if (fuzz_alloc_abort) {
            fprintf(stderr, "fuzz: gpt.h asked for %llu bytes in one block after an input of "
                    "%llu bytes\n", (unsigned long long)n, (unsigned long long)fuzz_input_size);
            abort();
        }
        return NULL;
    }
    p = malloc(n);
    if (p) fuzz_live++;
    return p;
}

static void fuzz_free(void *p) {
    if (p) fuzz_live--;
    free(p);
}

#define GPT_MALLOC(n, ctx) ((void)(ctx), fuzz_malloc(n))
#define GPT_FREE(p, ctx) ((void)(ctx), fuzz_free(p))
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"

/* A failed property: print it and abort, which libFuzzer reports as a crash with the input. */
#define FUZZ_ASSERT(cond, ...)                                                          \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz: %s:%d: property failed: %s: ", __FILE__, __LINE__,   \
                    #cond);                                                             \
            fprintf(stderr, __VA_ARGS__);                                               \
            fprintf(stderr, "\n");                                                      \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* With FUZZ_VERBOSE=1 in the environment a harness says what happened to each input (which
   loads succeeded, the error of those that did not): to see what a seed reaches. */
#define FUZZ_LOG(...)                                                                   \
    do {                                                                                \
        const char *v_ = getenv("FUZZ_VERBOSE");                                        \
        if (v_ && v_[0] == '1') { fprintf(stderr, "fuzz: " __VA_ARGS__); fprintf(stderr, "\n"); } \
    } while (0)

/* After a test case everything gpt.h allocated must be free again, except the fuzz_live_base
   blocks a harness keeps from one case to the next (set at initialisation). */
#define FUZZ_CHECK_NO_LEAK()                                                            \
    FUZZ_ASSERT(fuzz_live == fuzz_live_base, "%ld block(s) of gpt.h still allocated",   \
                fuzz_live - fuzz_live_base)

/* A failing call must return a known code with a detail. */
#define FUZZ_CHECK_RC(rc)                                                               \
    FUZZ_ASSERT((rc) >= 0 && (rc) < GPT_ERR_COUNT && ((rc) == GPT_OK ||                 \
                strlen(gpt_last_error()) > 0), "code %d, detail '%s'", (int)(rc),       \
                gpt_last_error())

/* ---- The private temporary folder -------------------------------------------------------
   Made on first use under $TMPDIR (else /tmp), removed at exit with the files named by
   fuzz_path. The loaders read real files, as ./sample and ./train do. */
static char fuzz_dir[256];
static char fuzz_paths[16][320];
static int fuzz_n_paths;

static void fuzz_cleanup(void) {
    int i;
    for (i = 0; i < fuzz_n_paths; i++) unlink(fuzz_paths[i]);
    if (fuzz_dir[0]) rmdir(fuzz_dir);
}

/* The path of `name` in the private folder; the same name gives the same string. */
FUZZ_HELPER const char *fuzz_path(const char *name) {
    int i;
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/gptfuzz.XXXXXX", t && t[0] ? t : "/tmp");
        if (!mkdtemp(fuzz_dir)) { perror("fuzz: mkdtemp"); abort(); }
        atexit(fuzz_cleanup);
    }
    for (i = 0; i < fuzz_n_paths; i++)
        if (strcmp(strrchr(fuzz_paths[i], '/') + 1, name) == 0) return fuzz_paths[i];
    if (fuzz_n_paths == 16) abort();
    snprintf(fuzz_paths[fuzz_n_paths], sizeof fuzz_paths[0], "%s/%s", fuzz_dir, name);
    return fuzz_paths[fuzz_n_paths++];
}

/* Writes data[0..n) to `path`, replacing it. */
FUZZ_HELPER void fuzz_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) { perror(path); abort(); }
    fclose(f);
}

/* The repository root, where data/ and tests/fixtures/ are: $GPT_ROOT, else the current
   folder when it has data/vocab.bpe, else two folders up (running from tests/fuzz). */
FUZZ_HELPER const char *fuzz_root(void) {
    const char *r = getenv("GPT_ROOT");
    FILE *f;
    if (r && r[0]) return r;
    if ((f = fopen("data/vocab.bpe", "rb")) != NULL) { fclose(f); return "."; }
    return "../..";
}

/* All of a file in a new malloc'd buffer (not gpt.h's allocator), or NULL. */
FUZZ_HELPER unsigned char *fuzz_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

/* ---- Without libFuzzer --------------------------------------------------------------------
   Built with -DFUZZ_STANDALONE (any compiler, e.g. gcc or for valgrind), a harness is a plain
   program that runs each file named on its command line through the same test function:
   the way to replay a reproducer from tests/fuzz/crashes without clang. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
#ifdef FUZZ_STANDALONE
int main(int argc, char **argv) {
    int i;
    LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        size_t n = 0;
        unsigned char *data = fuzz_slurp(argv[i], &n);
        if (!data) { fprintf(stderr, "fuzz: cannot read %s\n", argv[i]); return 2; }
        fprintf(stderr, "fuzz: running %s (%lu bytes)\n", argv[i], (unsigned long)n);
        LLVMFuzzerTestOneInput(data, n);
        free(data);
    }
    fprintf(stderr, "fuzz: %d input(s) ran without a failure\n", argc - 1);
    return 0;
}
#endif
#endif
