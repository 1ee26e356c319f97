/* bench_gemm.c - the fast matmul of gpt.h (>>speed) on GPT-2 124M's shapes, against the
   machine's peak and, when built with -DBENCH_OPENBLAS, OpenBLAS's sgemm.

       sh bench/bench_train.sh             (or: make bench; it builds and runs this first)
       bench/bin/bench_gemm [--rows N] [--reps R]

   1. The peak: an FMA probe, every thread multiply-adding 16 independent vectors of the
      width gpt.h's tile uses, in registers; the sum over threads is the most this machine
      can do in FP32 (GFLOP/s = 10^9 floating-point operations a second, a multiply-add
      counting 2).
   2. The three products of each linear layer of GPT-2 124M (c_attn, attn.c_proj, c_fc,
      mlp.c_proj, the LM head) with N = --rows rows (B*T: 4 x 64 = 256 by default): forward
      out = inp @ W^T, d-input dinp += dout @ W, d-weight dW += dout^T @ inp. The median of
      --reps runs of each, its GFLOP/s and its share of the peak; then the total over all 15
      (all FLOP over all time).
   3. With OpenBLAS: cblas_sgemm on exactly the same products (row-major, the same
      transposes, beta = 1), the same threads, and the ratio. OpenBLAS is used here only. */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef BENCH_OPENBLAS
#include <cblas.h>
extern void openblas_set_num_threads(int);
extern char *openblas_get_corename(void);
#endif

#include "bench_time.h"

/* ---- the FMA probe: 16 independent chains of vector multiply-adds per thread ---- */
#define PROBE_CHAINS 16
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
typedef gpt__vec probe_vec;
#define PROBE_WIDTH GPT__VW
#else
typedef struct { float f[GPT__VW]; } probe_vec_s;
#define PROBE_WIDTH GPT__VW
#endif

static double probe_one(long iters) {   /* FLOP done; the result is kept from the optimizer */
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
    probe_vec acc[PROBE_CHAINS], m, a;
    volatile float sink;
    long it;
    int c, l;
    for (l = 0; l < PROBE_WIDTH; l++) { m[l] = 0.999999f; a[l] = 1e-7f * (float)l; }
    for (c = 0; c < PROBE_CHAINS; c++)
        for (l = 0; l < PROBE_WIDTH; l++) acc[c][l] = (float)c;
    for (it = 0; it < iters; it++)
        for (c = 0; c < PROBE_CHAINS; c++) acc[c] = acc[c] * m + a;   /* one FMA each */
    sink = 0.0f;
    for (c = 0; c < PROBE_CHAINS; c++) sink = sink + acc[c][0];
    (void)sink;
#else
    float acc[PROBE_CHAINS][PROBE_WIDTH];
    volatile float sink;
    long it;
    int c, l;
    for (c = 0; c < PROBE_CHAINS; c++)
        for (l = 0; l < PROBE_WIDTH; l++) acc[c][l] = (float)c;
    for (it = 0; it < iters; it++)
        for (c = 0; c < PROBE_CHAINS; c++)
            for (l = 0; l < PROBE_WIDTH; l++) acc[c][l] = acc[c][l] * 0.999999f + 1e-7f;
    sink = acc[0][0];
    (void)sink;
#endif
    return 2.0 * PROBE_CHAINS * PROBE_WIDTH * (double)iters;
}

static double fma_peak(int threads) {   /* GFLOP/s of all threads together, best of 5 */
    double best = 0.0;
    int rep;
    for (rep = 0; rep < 5; rep++) {
        double flop = 0.0, t0 = now(), t;
        int i;
        GPT_OMP(parallel for num_threads(threads) reduction(+:flop))
        for (i = 0; i < threads; i++) flop += probe_one(20000000L);
        t = now() - t0;
        if (flop / t > best) best = flop / t;
    }
    return best * 1e-9;
}

static void fill(float *x, size_t n, unsigned seed) {
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

static void cpu_name(char *out, size_t n) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, n, "unknown CPU");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            char *p = strchr(line, ':') + 2;
            p[strcspn(p, "\n")] = 0;
            snprintf(out, n, "%s", p);
            break;
        }
    }
    fclose(f);
}

int main(int argc, char **argv) {
    static const struct { const char *name; int C, OC; } layer[5] = {
        {"c_attn", 768, 2304}, {"attn.c_proj", 768, 768}, {"mlp.c_fc", 768, 3072},
        {"mlp.c_proj", 3072, 768}, {"lm_head", 768, 50257}};
    static const char *product[3] = {"forward", "d-input", "d-weight"};
    int N = 256, reps = 7, threads = 1, i, s, p, r, pass, passes = 1;
    static double times[2][5][3];   /* [gpt.h, OpenBLAS][layer][product] median seconds */
    double peak1, peak, flop_all = 0.0, t_all = 0.0, tb_all = 0.0;
    char cpu[256];
    gpt__pack pk;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rows")) N = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    }
    if (N < 1 || reps < 1 || reps > 64) {
        fprintf(stderr, "bench_gemm: need --rows >= 1 and 1 <= --reps <= 64\n");
        return 2;
    }
    threads = gpt__max_threads();
    cpu_name(cpu, sizeof cpu);
    printf("machine: %s, %d threads; gpt.h tile %d x %d floats (%d-bit vectors, %s)\n", cpu,
           threads, GPT__MR, GPT__NR, GPT__VW * 32,
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
           "GNU C vector types"
#else
           "plain C loops"
#endif
    );
#ifdef __VERSION__
    printf("compiler: %s\n", __VERSION__);
#endif
    peak1 = fma_peak(1);
    peak = fma_peak(threads);
    printf("FMA probe: %.1f GFLOP/s on 1 thread, %.1f on %d threads (the peak below)\n", peak1,
           peak, threads);
#ifdef BENCH_OPENBLAS
    passes = 2;
    openblas_set_num_threads(threads);
    printf("OpenBLAS: core %s, %d threads\n", openblas_get_corename(), threads);
#endif
    pk.threads = threads;
    pk.mem = (float *)malloc(sizeof(float) * gpt__pack_floats() * (size_t)threads);
    printf("%-12s %-9s %6s %6s %6s %9s %7s", "layer", "product", "M", "N", "K", "GFLOP/s",
           "peak");
#ifdef BENCH_OPENBLAS
    printf(" %9s %7s", "OpenBLAS", "ratio");
#endif
    printf("\n");
    /* all of gpt.h's runs first, then all of OpenBLAS's: a library's threads keep spinning
       for a while after its call returns, and would slow the other's next run */
    for (pass = 0; pass < passes; pass++) {
        for (s = 0; s < 5; s++) {
            int C = layer[s].C, OC = layer[s].OC;
            float *inp = malloc(sizeof(float) * (size_t)N * C);
            float *w = malloc(sizeof(float) * (size_t)OC * C);
            float *out = malloc(sizeof(float) * (size_t)N * OC);
            float *dout = malloc(sizeof(float) * (size_t)N * OC);
            float *dinp = malloc(sizeof(float) * (size_t)N * C);
            float *dw = malloc(sizeof(float) * (size_t)OC * C);
            float *bias = malloc(sizeof(float) * (size_t)OC);
            fill(inp, (size_t)N * C, 1); fill(w, (size_t)OC * C, 2); fill(dout, (size_t)N * OC, 3);
            fill(bias, (size_t)OC, 4); fill(dinp, (size_t)N * C, 5); fill(dw, (size_t)OC * C, 6);
            for (p = 0; p < 3; p++) {
                double t[64];
                for (r = 0; r < reps + 1; r++) {   /* the first run warms up, not counted */
                    double t0 = now();
                    if (pass == 0) {
                        gpt__operand A, B;
                        if (p == 0) {
                            gpt__gemm_forward(out, &pk, inp, w, bias, N, C, OC);
                        } else if (p == 1) {
                            A.p = dout; A.rs = (size_t)OC; A.cs = 1;
                            B.p = w; B.rs = (size_t)C; B.cs = 1;
                            gpt__gemm(dinp, (size_t)C, A, B, N, C, OC, NULL, 1, &pk);
                        } else {
                            A.p = dout; A.rs = 1; A.cs = (size_t)OC;
                            B.p = inp; B.rs = (size_t)C; B.cs = 1;
                            gpt__gemm(dw, (size_t)C, A, B, OC, C, N, NULL, 1, &pk);
                        }
                    } else {
#ifdef BENCH_OPENBLAS
                        if (p == 0)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f,
                                        inp, C, w, C, 1.0f, out, OC);
                        else if (p == 1)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
                                        1.0f, dout, OC, w, C, 1.0f, dinp, C);
                        else
                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f,
                                        dout, OC, inp, C, 1.0f, dw, C);
#endif
                    }
                    if (r > 0) t[r - 1] = now() - t0;
                }
                times[pass][s][p] = median(t, reps);
            }
            free(inp); free(w); free(out); free(dout); free(dinp); free(dw); free(bias);
        }
    }
    for (s = 0; s < 5; s++) {
        int C = layer[s].C, OC = layer[s].OC;
        for (p = 0; p < 3; p++) {
            double flop = 2.0 * N * C * OC, med = times[0][s][p], medb = times[1][s][p];
            int M_ = p == 2 ? OC : N, N_ = p == 0 ? OC : C, K_ = p == 0 ? C : p == 1 ? OC : N;
            flop_all += flop; t_all += med; tb_all += medb;
            printf("%-12s %-9s %6d %6d %6d %9.1f %6.0f%%", layer[s].name, product[p], M_, N_, K_,
                   flop / med * 1e-9, 100.0 * flop / med * 1e-9 / peak);
            if (passes == 2) printf(" %9.1f %6.2fx", flop / medb * 1e-9, medb / med);
            printf("\n");
        }
    }
    printf("all 15 products: gpt.h %.1f GFLOP/s = %.0f%% of the FMA peak", flop_all / t_all * 1e-9,
           100.0 * flop_all / t_all * 1e-9 / peak);
    if (passes == 2)
        printf("; OpenBLAS %.1f GFLOP/s; gpt.h is %.2fx OpenBLAS", flop_all / tb_all * 1e-9,
               tb_all / t_all);
    printf("\n");
    free(pk.mem);
    return 0;
}
