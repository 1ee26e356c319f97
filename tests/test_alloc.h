/* tests/test_alloc.h - a counting allocator that can be told to fail, for the tests that check
   GPT_ERR_NOMEM paths and leaks. Include it BEFORE gpt.h: it defines GPT_MALLOC/GPT_FREE.
   The ctx is a test_alloc: `live` counts the blocks now allocated; fail_after >= 0 lets that
   many allocations succeed and fails every later one; -1 never fails. */
#ifndef GPT_TEST_ALLOC_H
#define GPT_TEST_ALLOC_H
#include <stdlib.h>

typedef struct test_alloc { long live; long fail_after; } test_alloc;

static void *test_malloc(size_t n, void *ctx) {
    test_alloc *a = (test_alloc *)ctx;
    if (a && a->fail_after == 0) return NULL;
    if (a && a->fail_after > 0) a->fail_after--;
    if (a) a->live++;
    return malloc(n);
}

static void test_free(void *p, void *ctx) {
    test_alloc *a = (test_alloc *)ctx;
    if (a && p) a->live--;
    free(p);
}

#define GPT_MALLOC(n, ctx) test_malloc(n, ctx)
#define GPT_FREE(p, ctx) test_free(p, ctx)
#endif
