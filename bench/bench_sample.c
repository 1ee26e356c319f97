/* bench_sample.c - how fast gpt.h samples GPT-2 124M, against what the memory allows, with
   fp32, bf16 and q8 weights (>>small in gpt.h), and how much memory sampling takes.

       sh bench/bench_sample.sh            (or: make bench)
       bench/bin/bench_sample [--tokens N] [--runs R] [--mem-gb G] [--threads T]
       bench/bin/bench_sample --rss [--weights f32|bf16|q8] [--preset NAME] [--load FILE]
       bench/bin/bench_sample --save FILE  (a random GPT-2 124M checkpoint, for --rss --load)
       bench/bin/bench_sample --kernels    (the bf16 and q8 products alone, one thread)

   Sampling one token with the KV cache is a matrix-vector product per weight matrix: every
   weight is read from memory once and used for one multiply-add. A CPU does multiply-adds far
   faster than memory delivers floats, so the speed limit is
       tokens/s <= memory bandwidth / bytes of weights read per token.
   This program measures both numbers in the same run: the bandwidth by summing a large array
   (STREAM-like: larger than any cache, read by all threads), and tokens/s by generating with a
   randomly initialised GPT-2 124M (random weights cost the same as trained ones) kept in each
   weight format, the formats taking turns within each run so that they see the same machine.
   It prints each format's tokens/s, its ratio to fp32 and its fraction of its own bound.
   --rss instead makes one model (random weights of a preset's shape, or --load FILE through
   gpt_load), writes its whole KV cache (as a full context would), samples --tokens tokens and
   prints the peak resident memory of the process against the budget: weights in their
   format + the KV cache, and 10%.
   --kernels times the small matrix-vector products of >>small alone on one thread, with the
   matrix in the L2 cache (256 rows of 768 and of 3072), so that memory does not set their
   speed: billions of weights per second, for each format.
   Build: see bench/bench_sample.sh. */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#define _XOPEN_SOURCE 700         /* getrusage */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_time.h"

static const char *const wname[3] = {"f32", "bf16", "q8"};

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

/* Bytes of parameters one token reads: all of them as the model keeps them (the four matmul
   weights and their biases in every block, both layernorms, ln_f, the wte matrix as the
   output head) except the rows of wpe it does not use (one of block_size). (The KV cache read
   by attention comes on top; it is small next to the weights for a short context and is
   printed separately.) */
static double bytes_per_token(const gpt_model *m) {
    const gpt_config *c = &m->config;
    return (double)gpt_weight_bytes(m) - 4.0 * (c->block_size - 1) * c->n_embd;
}

/* A generation in progress: the next token to feed, its position, the sampler's random
   numbers. */
typedef struct gen {
    int token, pos;
    gpt_rng rng;
} gen;

static void gen_start(gen *g, uint64_t seed) {
    g->token = 50256;   /* <|endoftext|> */
    g->pos = 0;
    gpt_rng_seed(&g->rng, seed);
}

/* Continues g by n tokens with the KV cache and the default sampler; returns the seconds
   taken, or -1 on an error. */
static double generate_more(gpt_model *m, gen *g, int n) {
    gpt_sampler s = gpt_sampler_defaults();
    float *logits;
    double t0 = now();
    for (int i = 0; i < n; i++, g->pos++) {
        if (gpt_forward_token(m, g->token, g->pos, &logits) != GPT_OK ||
            gpt_sample(m, logits, &s, &g->rng, &g->token) != GPT_OK) {
            fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
            return -1.0;
        }
    }
    return now() - t0;
}

/* Generates n tokens from <|endoftext|>; the seconds taken, or -1. */
static double generate(gpt_model *m, int n, uint64_t seed) {
    gen g;
    gen_start(&g, seed);
    return generate_more(m, &g, n);
}

static double best(const double *x, int n) {
    double b = x[0];
    int i;
    for (i = 1; i < n; i++) if (x[i] > b) b = x[i];
    return b;
}

/* Runs the bandwidth and the generation for one thread count and prints the report. Within
   each run the measurements take turns so that all of them see the same machine: on a shared
   machine the speed of memory (and of the other core) drifts from second to second. The
   bandwidth comes first; then the formats generate their tokens TURN at a time in turn (f32
   16 tokens, bf16 16, q8 16, f32 the next 16, ...), each continuing its own sequence, and
   each format's time is the sum of its turns. The ratio to f32 is the median of the runs'
   own ratios. */
#define TURN 16
static int bench(gpt_model *const *m, int nm, const float *big, size_t big_n, int threads,
                 int tokens, int runs) {
    double bw[16], tps[3][16], ratio[3][16], kv, bw_med;
    int r, w;
    set_threads(threads);
    for (w = 0; w < nm; w++)   /* warm up: page in the weights, start threads */
        if (generate(m[w], 8, 1) < 0) return 1;
    for (r = 0; r < runs; r++) {
        bw[r] = read_bandwidth(big, big_n, 2);
        printf("  run %d: %.2f GB/s", r, bw[r]);
        gen g[3];
        double dt[3] = {0.0, 0.0, 0.0};
        for (w = 0; w < nm; w++) gen_start(&g[w], (uint64_t)r + 1);
        for (int done = 0; done < tokens; done += TURN) {
            int n = tokens - done < TURN ? tokens - done : TURN;
            for (w = 0; w < nm; w++) {
                double t = generate_more(m[w], &g[w], n);
                if (t < 0) return 1;
                dt[w] += t;
            }
        }
        for (w = 0; w < nm; w++) {
            tps[w][r] = tokens / dt[w];
            ratio[w][r] = tps[w][r] / tps[0][r];
            printf(", %s %.2f tokens/s", wname[m[w]->options.weights], tps[w][r]);
        }
        printf("\n");
    }
    /* the average token reads keys and values of tokens/2 earlier positions in every layer */
    kv = 4.0 * 2 * m[0]->config.n_layer * (tokens / 2.0) * m[0]->config.n_embd;
    bw_med = median(bw, runs);
    printf("threads %d (%d runs of %d tokens; median, best in brackets)\n", threads, runs,
           tokens);
    printf("  memory bandwidth  %7.2f GB/s     (%.2f); the KV cache adds %.1f MB per token\n",
           bw_med, best(bw, runs), kv / 1e6);
    for (w = 0; w < nm; w++) {
        double bytes = bytes_per_token(m[w]), t_med = median(tps[w], runs);
        printf("  %-4s %6.1f MB/token %7.2f tokens/s (%.2f) = %5.2f GB/s, %5.1f %% of its bound "
               "(%.2f tokens/s); x%.2f f32\n", wname[m[w]->options.weights], bytes / 1e6,
               t_med, best(tps[w], runs), t_med * bytes / 1e9,
               100.0 * t_med * bytes / (bw_med * 1e9), bw_med * 1e9 / bytes,
               median(ratio[w], runs));
    }
    return 0;
}

/* Peak resident memory of this process in bytes (Linux reports ru_maxrss in KB). */
static double peak_rss(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return 1024.0 * (double)ru.ru_maxrss;
}

/* --rss: one model, --tokens tokens, the peak memory against its budget. 0 when within. */
static int rss(const char *preset, const char *load, int weights, int tokens) {
    gpt_model_options opt = gpt_model_options_defaults();
    gpt_model *m = NULL;
    gpt_config cfg;
    gpt_rng rng;
    double t0 = now(), kv, budget, peak;
    int rc;
    opt.max_batch = 0;
    opt.training = 0;
    opt.kv_cache = 1;
    opt.weights = weights;
    if (load) {
        gpt_load_options lo = gpt_load_options_defaults();
        lo.model = opt;
        rc = gpt_load(&m, load, &lo);
    } else if ((rc = gpt_config_preset(&cfg, preset)) == GPT_OK &&
               (rc = gpt_model_create(&m, &cfg, &opt)) == GPT_OK) {
        gpt_rng_seed(&rng, 42);
        gpt_model_init(m, &rng);
    }
    if (rc != GPT_OK) {
        fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
        return 1;
    }
    printf("%s, %s weights%s%s: ready in %.1f s\n", load ? "model" : preset, wname[weights],
           load ? " loaded from " : ", random", load ? load : "", now() - t0);
    /* a full context writes all of the KV cache: write it now, so that its pages count as
       they would after block_size tokens, without sampling that many */
    kv = 4.0 * 2 * m->config.n_layer * m->config.block_size * m->config.n_embd;
    memset(m->kv.k, 0, (size_t)(kv / 2));
    memset(m->kv.v, 0, (size_t)(kv / 2));
    t0 = now();
    if (generate(m, tokens, 1) < 0) return 1;
    budget = 1.1 * ((double)gpt_weight_bytes(m) + kv);
    peak = peak_rss();
    printf("  %d tokens in %.1f s; weights %.1f MB + KV cache %.1f MB; peak RSS %.1f MB = "
           "%.3f x (weights + KV): %s (budget +10%%: %.1f MB)\n", tokens, now() - t0,
           gpt_weight_bytes(m) / 1e6, kv / 1e6, peak / 1e6,
           peak / (gpt_weight_bytes(m) + kv), peak <= budget ? "within" : "OVER", budget / 1e6);
    gpt_model_free(m);
    return peak <= budget ? 0 : 1;
}

/* --kernels: gpt__small_matvec alone, one thread, 256 rows of C columns (in L2), best of 10
   timings of `reps` products after one untimed round, for each small format; prints
   billions of weights per second. */
static int kernels(void) {
    static const int cols[2] = {768, 3072};
    set_threads(1);
    for (int k = 0; k < 2; k++) {
        int C = cols[k], R = 256, reps = 200 * 768 / C;
        size_t blocks = (size_t)(R / GPT_SMALL_ROWS) * (size_t)((C + GPT_Q8_GROUP - 1) /
                                                              GPT_Q8_GROUP);
        gpt_small s[3] = {{0}};   /* indexed by format: s[BF16], s[Q8] */
        float *x = (float *)malloc((size_t)C * sizeof(float));
        float *y = (float *)malloc((size_t)R * sizeof(float));
        float *row = (float *)malloc((size_t)C * sizeof(float));
        gpt_rng rng;
        for (int w = GPT_WEIGHTS_BF16; w <= GPT_WEIGHTS_Q8; w++) {
            s[w].rows = R;
            s[w].cols = C;
        }
        s[GPT_WEIGHTS_BF16].bf16 = (uint16_t *)calloc(blocks * GPT_SMALL_BLOCK, sizeof(uint16_t));
        s[GPT_WEIGHTS_Q8].q8 = (gpt_q8_block *)calloc(blocks, sizeof(gpt_q8_block));
        if (!x || !y || !row || !s[GPT_WEIGHTS_BF16].bf16 || !s[GPT_WEIGHTS_Q8].q8) {
            fprintf(stderr, "bench_sample: out of memory\n");
            return 1;
        }
        gpt_rng_seed(&rng, 7);
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < C; i++) row[i] = 0.02f * gpt_rng_normal(&rng);
            for (int c0 = 0; c0 < C; c0 += GPT_Q8_GROUP) {
                int n = C - c0 < GPT_Q8_GROUP ? C - c0 : GPT_Q8_GROUP;
                gpt__small_put(&s[GPT_WEIGHTS_BF16], (size_t)r, c0, row + c0, 1, n);
                gpt__small_put(&s[GPT_WEIGHTS_Q8], (size_t)r, c0, row + c0, 1, n);
            }
        }
        for (int i = 0; i < C; i++) x[i] = gpt_rng_normal(&rng);
        printf("one thread, %d x %d in L2:", R, C);
        for (int w = GPT_WEIGHTS_BF16; w <= GPT_WEIGHTS_Q8; w++) {
            double best_s = 1e30, sink = 0.0;
            for (int r = 0; r < reps; r++) gpt__small_matvec(y, x, &s[w], 0, NULL);
            for (int t = 0; t < 10; t++) {
                double t0 = now();
                for (int r = 0; r < reps; r++) {
                    gpt__small_matvec(y, x, &s[w], 0, NULL);
                    sink += y[r % R];
                }
                if (now() - t0 < best_s) best_s = now() - t0;
            }
            printf(" %s %.1f Gweights/s%s", wname[w], (double)R * C * reps / best_s / 1e9,
                   sink == 12345.0 ? "!" : "");
        }
        printf("\n");
        free(x); free(y); free(row); free(s[GPT_WEIGHTS_BF16].bf16); free(s[GPT_WEIGHTS_Q8].q8);
    }
    return 0;
}

/* --save: a random GPT-2 124M checkpoint. */
static int save(const char *path) {
    gpt_model_options opt = gpt_model_options_defaults();
    gpt_model *m;
    gpt_config cfg;
    gpt_rng rng;
    gpt_config_preset(&cfg, "gpt2");
    opt.max_batch = 0;
    opt.training = 0;
    if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) {
        fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
        return 1;
    }
    gpt_rng_seed(&rng, 42);
    gpt_model_init(m, &rng);
    if (gpt_save(m, path, NULL) != GPT_OK) {
        fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
        gpt_model_free(m);
        return 1;
    }
    gpt_model_free(m);
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: bench_sample [--tokens N (128, at most 1024)] [--runs R (5, at most "
            "16)] [--mem-gb G (1.5: size of the bandwidth array)] [--threads T (all)]\n"
            "       bench_sample --rss [--weights f32|bf16|q8 (f32)] [--preset NAME (gpt2)] "
            "[--load FILE] [--tokens N]\n       bench_sample --save FILE\n"
            "       bench_sample --kernels\n");
    return 2;
}

int main(int argc, char **argv) {
    int tokens = 128, runs = 5, i, threads = max_threads(), rc = 0, w, want_rss = 0;
    int weights = GPT_WEIGHTS_F32;
    const char *preset = "gpt2", *load = NULL;
    double mem_gb = 1.5;
    size_t big_n, j;
    float *big;
    gpt_config cfg;
    gpt_model *m[3] = {NULL, NULL, NULL};
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--rss") == 0) { want_rss = 1; continue; }
        if (strcmp(a, "--kernels") == 0) return kernels();
        if (!v) return usage();
        i++;
        if (strcmp(a, "--tokens") == 0) tokens = atoi(v);
        else if (strcmp(a, "--runs") == 0) runs = atoi(v);
        else if (strcmp(a, "--mem-gb") == 0) mem_gb = atof(v);
        else if (strcmp(a, "--threads") == 0) threads = atoi(v);
        else if (strcmp(a, "--preset") == 0) preset = v;
        else if (strcmp(a, "--load") == 0) load = v;
        else if (strcmp(a, "--save") == 0) return save(v);
        else if (strcmp(a, "--weights") == 0) {
            for (weights = 0; weights < 3 && strcmp(v, wname[weights]) != 0; weights++) {}
            if (weights == 3) return usage();
        } else return usage();
    }
    if (tokens < 1 || tokens > 1024 || runs < 1 || runs > 16 || !(mem_gb >= 0.1) ||
        threads < 1)
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);   /* each run's line as soon as it is measured */
    set_threads(threads);
    if (want_rss) return rss(preset, load, weights, tokens);
    gpt_config_preset(&cfg, "gpt2");
    for (w = 0; w < 3; w++) {   /* the same seed: the same weights, rounded */
        gpt_model_options opt = gpt_model_options_defaults();
        gpt_rng rng;
        opt.max_batch = 0;
        opt.training = 0;
        opt.kv_cache = 1;
        opt.weights = w;
        if (gpt_model_create(&m[w], &cfg, &opt) != GPT_OK) {
            fprintf(stderr, "bench_sample: %s\n", gpt_last_error());
            for (i = 0; i < w; i++) gpt_model_free(m[i]);
            return 1;
        }
        gpt_rng_seed(&rng, 42);
        gpt_model_init(m[w], &rng);
    }
    big_n = (size_t)(mem_gb * 1e9 / sizeof(float));
    if (!(big = (float *)malloc(big_n * sizeof(float)))) {
        fprintf(stderr, "bench_sample: cannot allocate %.1f GB\n", mem_gb);
        rc = 1;
    } else {
        GPT_OMP(parallel for schedule(static))   /* first touch by the threads that read it */
        for (j = 0; j < big_n; j++) big[j] = 1.0f;
        printf("GPT-2 124M, KV cache, weights f32 / bf16 / q8: %.1f / %.1f / %.1f MB read per "
               "token; bandwidth array %.2f GB\n", bytes_per_token(m[0]) / 1e6,
               bytes_per_token(m[1]) / 1e6, bytes_per_token(m[2]) / 1e6, big_n * 4.0 / 1e9);
        rc = bench(m, 3, big, big_n, threads, tokens, runs);
        if (rc == 0 && threads > 1) rc = bench(m, 3, big, big_n, 1, tokens, runs);
        free(big);
    }
    for (w = 0; w < 3; w++) gpt_model_free(m[w]);
    return rc;
}
