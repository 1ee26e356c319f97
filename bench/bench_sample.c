/* bench_sample.c - how fast gpt.h samples GPT-2 124M, against what the memory allows.

       sh bench/bench_sample.sh            (or: make bench)
       bench/bin/bench_sample [--tokens N] [--runs R] [--mem-gb G]

   Sampling one token with the KV cache is a matrix-vector product per weight matrix: every
   weight is read from memory once and used for one multiply-add. A CPU does multiply-adds far
   faster than memory delivers floats, so the speed limit is
       tokens/s <= memory bandwidth / bytes of weights read per token.
   This program measures both numbers in the same run: the bandwidth by summing a large array
   (STREAM-like: larger than any cache, read by all threads), and tokens/s by generating with a
   randomly initialised GPT-2 124M (random weights cost the same as trained ones). It prints
   the achieved fraction of the limit for the default thread count and for one thread.
   Build: see bench/bench_sample.sh. */
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

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Read bandwidth in GB/s (10^9 bytes/s): the best of `passes` sums of the whole array. Each
   thread sums its own slice in 32 independent partial sums, so the additions vectorize and
   the loop waits on memory, not on the adder. */
#define LANES 32
static double read_bandwidth(const float *a, size_t n, int passes) {
    double best = 0.0, sink = 0.0;
    int p;
    for (p = 0; p < passes; p++) {
        double t0 = now(), total = 0.0, gbs;
        long j, blocks = (long)(n / LANES);
        GPT_OMP(parallel for schedule(static) reduction(+:total))   /* gpt.h's OpenMP macro */
        for (j = 0; j < blocks; j += 1024) {   /* chunks of 1024 blocks of LANES floats */
            float lane[LANES] = {0};
            long k, end = j + 1024 < blocks ? j + 1024 : blocks;
            int l;
            for (k = j; k < end; k++)
                for (l = 0; l < LANES; l++) lane[l] += a[(size_t)k * LANES + l];
            for (l = 0; l < LANES; l++) total += lane[l];
        }
        gbs = (double)blocks * LANES * sizeof(float) / (now() - t0) / 1e9;
        sink += total;
        if (gbs > best) best = gbs;
    }
    if (sink == 12345.0) printf("%g\n", sink);   /* keep the sums alive */
    return best;
}

/* Bytes of parameters one token reads: all four matmul weights and their biases in every
   block, both layernorms, ln_f, the wte matrix again as the output head, and one row each of
   wte and wpe for the embedding. (The KV cache read by attention comes on top; it is small
   next to the weights for a short context and is printed separately.) */
static double bytes_per_token(const gpt_config *c) {
    double C = c->n_embd, L = c->n_layer, V = c->vocab_size;
    double block = 12.0 * C * C + 3 * C + C + 4 * C + C + 4 * C;   /* weights + biases + LNs */
    return 4.0 * (L * block + 2 * C + V * C + 2 * C);
}

/* Generates n tokens from <|endoftext|> with the KV cache and the default sampler; returns
   the seconds taken, or -1 on an error. */
static double generate(gpt_model *m, int n, uint64_t seed) {
    gpt_sampler s = gpt_sampler_defaults();
    gpt_rng rng;
    int pos, token = 50256;
    float *logits;
    double t0 = now();
    gpt_rng_seed(&rng, seed);
    for (pos = 0; pos < n; pos++) {
        if (gpt_forward_token(m, token, pos, &logits) != GPT_OK ||
            gpt_sample(m, logits, &s, &rng, &token) != GPT_OK) {
            fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
            return -1.0;
        }
    }
    return now() - t0;
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static double best(const double *x, int n) {
    double b = x[0];
    int i;
    for (i = 1; i < n; i++) if (x[i] > b) b = x[i];
    return b;
}

/* Runs the bandwidth and the generation for one thread count and prints the report. The two
   measurements alternate (bandwidth, generation, bandwidth, ...) so that both see the same
   machine: on a shared machine the speed of memory drifts from second to second. */
static int bench(gpt_model *m, const float *big, size_t big_n, int threads, int tokens,
                 int runs) {
    double bw[16], tps[16], bytes = bytes_per_token(&m->config), kv, bw_med, tps_med;
    int r;
    set_threads(threads);
    if (generate(m, 8, 1) < 0) return 1;   /* warm up: page in the weights, start threads */
    for (r = 0; r < runs; r++) {
        double dt;
        bw[r] = read_bandwidth(big, big_n, 2);
        if ((dt = generate(m, tokens, (uint64_t)r + 1)) < 0) return 1;
        tps[r] = tokens / dt;
        printf("  run %d: %.2f GB/s, %.2f tokens/s\n", r, bw[r], tps[r]);
    }
    /* the average token reads keys and values of tokens/2 earlier positions in every layer */
    kv = 4.0 * 2 * m->config.n_layer * (tokens / 2.0) * m->config.n_embd;
    bw_med = median(bw, runs);
    tps_med = median(tps, runs);
    printf("threads %d (%d runs of %d tokens; median, best in brackets)\n", threads, runs,
           tokens);
    printf("  memory bandwidth  %7.2f GB/s     (%.2f)\n", bw_med, best(bw, runs));
    printf("  sampling          %7.2f tokens/s (%.2f) = %.2f GB/s of weights\n", tps_med,
           best(tps, runs), tps_med * bytes / 1e9);
    printf("  bound             %7.2f tokens/s (%.2f) = bandwidth / %.1f MB per token\n",
           bw_med * 1e9 / bytes, best(bw, runs) * 1e9 / bytes, bytes / 1e6);
    printf("  achieved          %7.1f %%        (%.1f) of the bound; the KV cache adds %.1f MB"
           " per token\n", 100.0 * tps_med * bytes / (bw_med * 1e9),
           100.0 * best(tps, runs) * bytes / (best(bw, runs) * 1e9), kv / 1e6);
    return 0;
}

int main(int argc, char **argv) {
    int tokens = 128, runs = 5, i, threads = max_threads(), rc;
    double mem_gb = 1.5;
    size_t big_n, j;
    float *big;
    gpt_config cfg;
    gpt_options opt = gpt_options_defaults();
    gpt_model *m;
    gpt_rng rng;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--tokens") == 0) tokens = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--mem-gb") == 0) mem_gb = atof(argv[i + 1]);
        else break;
    }
    if (i < argc || tokens < 1 || tokens > 1024 || runs < 1 || runs > 16 || !(mem_gb >= 0.1)) {
        fprintf(stderr, "usage: bench_sample [--tokens N (128, at most 1024)] [--runs R (5, at "
                "most 16)] [--mem-gb G (1.5: size of the bandwidth array)]\n");
        return 2;
    }
    gpt_config_preset(&cfg, "gpt2");
    opt.max_batch = 0;
    opt.training = 0;
    opt.kv_cache = 1;
    if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) {
        fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
        return 1;
    }
    gpt_rng_seed(&rng, 42);
    gpt_model_init(m, &rng);
    big_n = (size_t)(mem_gb * 1e9 / sizeof(float));
    if (!(big = (float *)malloc(big_n * sizeof(float)))) {
        fprintf(stderr, "bench_sample: cannot allocate %.1f GB\n", mem_gb);
        gpt_model_free(m);
        return 1;
    }
    GPT_OMP(parallel for schedule(static))   /* first touch by the threads that read it */
    for (j = 0; j < big_n; j++) big[j] = 1.0f;
    printf("GPT-2 124M, fp32, KV cache: %.1f MB of weights read per token; bandwidth array "
           "%.2f GB\n", bytes_per_token(&cfg) / 1e6, big_n * 4.0 / 1e9);
    rc = bench(m, big, big_n, threads, tokens, runs);
    if (rc == 0 && threads > 1) rc = bench(m, big, big_n, 1, tokens, runs);
    free(big);
    gpt_model_free(m);
    return rc;
}
