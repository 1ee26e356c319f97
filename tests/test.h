/* tests/test.h - the smallest test harness: CHECK counts, the runner adds up.
   Every test program includes gpt.h with GPT_IMPLEMENTATION and GPT_STATIC (to reach the
   internals), counts its checks and ends with "NAME: N passed, N failed". */
#ifndef GPT_TEST_H
#define GPT_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <math.h>

static int test_passed, test_failed;

/* Helpers a test may not use: no "defined but not used" warning for them. */
#if defined(__GNUC__) || defined(__clang__)
#define TEST_HELPER static __attribute__((unused))
#else
#define TEST_HELPER static
#endif

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (cond) test_passed++;                                                      \
        else {                                                                        \
            test_failed++;                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                               \
            printf(__VA_ARGS__);                                                      \
            printf("\n");                                                             \
        }                                                                             \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
TEST_HELPER int test_close(double a, double b, double atol, double rtol) {
    return fabs(a - b) <= atol + rtol * fabs(b);
}

/* largest |a-b| / (atol + |b|) over n values: <= 1 means every value is within tolerance */
TEST_HELPER double test_max_rel(const float *a, const float *b, size_t n, double atol) {
    double worst = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / (atol + fabs((double)b[i]));
        if (!(d <= worst)) worst = d;   /* NaN counts as worst */
    }
    return worst;
}

/* The whole file as a 0-terminated malloc'ed string, or NULL when it is missing or cannot be
   read; *len (when len is not NULL) its length. */
TEST_HELPER char *test_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = n < 0 ? NULL : (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    if (buf) buf[n] = '\0';
    if (len) *len = buf ? (size_t)n : 0;
    fclose(f);
    return buf;
}

/* 1 when the file can be opened for reading. */
TEST_HELPER int test_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static int test_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}
#endif
