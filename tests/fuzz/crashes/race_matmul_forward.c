/* tests/fuzz/crashes/race_matmul_forward.c - reproducer: the OpenMP loops of
   gpt__matmul_forward (commit 93186ce and before) share their inner loop counter between
   threads, a data race that gives wrong numbers or writes out of bounds.

       gcc -O0 -fopenmp -std=c99 -I. tests/fuzz/crashes/race_matmul_forward.c -o /tmp/race -lm
       OMP_NUM_THREADS=2 /tmp/race        # "N of 200 runs wrong", N > 0 while the race is there
   or -fsanitize=thread (ThreadSanitizer names the loop) or -fsanitize=address with -O1
   (heap-buffer-overflow in gpt__matmul_forward._omp_fn.1, found by tests/test_core.c). At
   -O2 the counter lives in a register and the race rarely shows, which is how it hid. */
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include <stdlib.h>

static float *values(size_t n) {
    float *p = (float *)malloc(n * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    return p;
}

int main(void) {
    /* (N, C, OC): N < GPT__TI takes the dot-product path, N >= GPT__TI the tiled one */
    static const int shapes[3][3] = {{12, 1000, 30}, {48, 1000, 30}, {48, 64, 64}};
    int s, r, wrong_total = 0;
    for (s = 0; s < 3; s++) {
        int N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2], wrong = 0;
        float *inp = values((size_t)N * C), *w = values((size_t)OC * C), *b = values(OC);
        float *out = values((size_t)N * OC), *want = values((size_t)N * OC);
        float *scratch = values((size_t)(N + GPT__TI) * C);
        gpt__matmul_forward_ref(want, inp, w, b, N, C, OC);
        for (r = 0; r < 200; r++) {
            size_t i;
            gpt__matmul_forward(out, scratch, inp, w, b, N, C, OC);
            for (i = 0; i < (size_t)N * OC; i++)
                if (fabsf(out[i] - want[i]) > 1e-3f * (1.0f + fabsf(want[i]))) { wrong++; break; }
        }
        printf("N=%d C=%d OC=%d: %d of 200 runs wrong\n", N, C, OC, wrong);
        wrong_total += wrong;
        free(inp); free(w); free(b); free(out); free(want); free(scratch);
    }
    return wrong_total != 0;
}
