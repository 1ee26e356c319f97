/* bench_step.c - one training step of gpt.h, phase by phase.

       sh bench/bench_train.sh             (or: make bench)
       bench/bin/bench_step [--preset NAME] [--batch B] [--seq T] [--steps N] [--threads N]

   Builds a randomly initialised model (random weights cost what trained ones cost), feeds it
   random tokens, and times `--steps` steps (the first one is a warm-up and not counted) of
   exactly what ./train does in a step: zero_grad, forward with the loss, backward, gradient
   clipping, AdamW. It prints the median time of each phase, the step's arithmetic in GFLOP
   and the GFLOP/s achieved, the time of the step's linear layers (the GEMM) run alone, the
   peak resident memory and the model's memory by part. The last line is machine-readable:
       step_ms FWD BWD CLIP ADAMW ZERO TOTAL GFLOP RSS_MB */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>   /* getrusage: peak resident memory (POSIX) */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_time.h"

/* Multiply-adds of one step, times 2 for FLOP: every matmul 3 times (forward, dinp, dweight),
   attention's two products (q.k and att.v, causal: T(T+1)/2 pairs) 3 times too. The other
   kernels are a few FLOP per value and not counted. */
static double step_gflop(const gpt_config *c, int B, int T) {
    double C = c->n_embd, N = (double)B * T, L = c->n_layer, V = c->vocab_size;
    double matmul = N * (C * 3 * C + C * C + C * 4 * C + 4 * C * C) * L + N * C * V;
    double attn = (double)B * L * (T * (T + 1) / 2.0) * C * 2;
    return 2.0 * 3.0 * (matmul + attn) * 1e-9;
}

/* The time of the step's linear layers alone (>>speed's GEMM): every matmul of a step, forward
   and backward, run on the model's own buffers after the timed steps (their values do not
   matter to the time). The median of 3. */
static double matmul_ms(gpt_model *m, int B, int T) {
    int C = m->config.n_embd, V = m->config.vocab_size, N = B * T, l, r;
    gpt__pack pk = gpt__pack_of(m);
    gpt_grad_acts *g = &m->grad_acts;
    double t[3];
    for (r = 0; r < 3; r++) {
        double t0 = now();
        for (l = 0; l < m->config.n_layer; l++) {
            gpt__layer_acts a = gpt__acts_of_layer(m, l);
            gpt__layer_params p = gpt__params_of_layer(&m->params, l, C);
            gpt__layer_params d = gpt__params_of_layer(&m->grads, l, C);
            gpt__matmul_forward(a.qkv, &pk, a.ln1, p.c_attn_w, p.c_attn_b, N, C, 3 * C);
            gpt__matmul_forward(a.attproj, &pk, a.atty, p.attn_proj_w, p.attn_proj_b, N, C, C);
            gpt__matmul_forward(a.fch, &pk, a.ln2, p.c_fc_w, p.c_fc_b, N, C, 4 * C);
            gpt__matmul_forward(a.fcproj, &pk, a.fch_gelu, p.mlp_proj_w, p.mlp_proj_b, N,
                                4 * C, C);
            gpt__matmul_backward(g->dfch_gelu, d.mlp_proj_w, d.mlp_proj_b, &pk, g->dbranch,
                                 a.fch_gelu, p.mlp_proj_w, N, 4 * C, C);
            gpt__matmul_backward(g->dln, d.c_fc_w, d.c_fc_b, &pk, g->dfch, a.ln2, p.c_fc_w, N,
                                 C, 4 * C);
            gpt__matmul_backward(g->datty, d.attn_proj_w, d.attn_proj_b, &pk, g->dbranch,
                                 a.atty, p.attn_proj_w, N, C, C);
            gpt__matmul_backward(g->dln, d.c_attn_w, d.c_attn_b, &pk, g->dqkv, a.ln1,
                                 p.c_attn_w, N, C, 3 * C);
        }
        gpt__matmul_forward(m->acts.logits, &pk, m->acts.lnf, m->params.wte, NULL, N, C, V);
        gpt__matmul_backward(g->dln, m->grads.wte, NULL, &pk, g->dlogits, m->acts.lnf,
                             m->params.wte, N, C, V);
        t[r] = now() - t0;
    }
    return 1e3 * median(t, 3);
}

int main(int argc, char **argv) {
    const char *preset = "gpt2";
    int B = 4, T = 64, steps = 6, threads = 0, i, s;
    gpt_config cfg;
    gpt_model_options opt = gpt_model_options_defaults();
    gpt_adamw aw = gpt_adamw_defaults();
    gpt_model *m;
    gpt_rng rng;
    int *tok, *tgt;
    double t[6][64], med[6], gflop, mm;
    struct rusage ru;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--preset")) preset = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else { fprintf(stderr, "bench_step: unknown option %s\n", argv[i]); return 2; }
    }
    if (steps < 2 || steps > 64 || B < 1 || T < 1) {
        fprintf(stderr, "bench_step: need 2 <= --steps <= 64, --batch and --seq >= 1\n");
        return 2;
    }
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
    threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    if (!strcmp(preset, "small")) {   /* ./train --preset small */
        cfg.block_size = 256; cfg.vocab_size = 50257;
        cfg.n_layer = 4; cfg.n_head = 4; cfg.n_embd = 128;
    } else if (gpt_config_preset(&cfg, preset) != GPT_OK) {
        fprintf(stderr, "bench_step: %s\n", gpt_last_error());
        return 2;
    }
    opt.max_batch = B;
    opt.max_seq = T;
    opt.training = 1;
    if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) {
        fprintf(stderr, "bench_step: %s\n", gpt_last_error());
        return 1;
    }
    gpt_rng_seed(&rng, 1);
    gpt_model_init(m, &rng);
    tok = (int *)malloc(sizeof(int) * (size_t)B * T);
    tgt = (int *)malloc(sizeof(int) * (size_t)B * T);
    for (i = 0; i < B * T; i++) {
        tok[i] = (int)(gpt_rng_u32(&rng) % (uint32_t)cfg.vocab_size);
        tgt[i] = (int)(gpt_rng_u32(&rng) % (uint32_t)cfg.vocab_size);
    }
    for (s = 0; s < steps; s++) {
        float loss;
        double t0 = now(), t1, t2, t3, t4, t5;
        gpt_zero_grad(m);
        t1 = now();
        gpt_forward(m, tok, tgt, B, T, &loss);
        t2 = now();
        gpt_backward(m);
        t3 = now();
        gpt_clip_grad_norm(m, 1.0f, NULL);
        t4 = now();
        gpt_adamw_step(m, &aw, 1e-4f);
        t5 = now();
        if (s == 0) continue;   /* warm-up: first touches of memory */
        t[0][s - 1] = t2 - t1; t[1][s - 1] = t3 - t2; t[2][s - 1] = t4 - t3;
        t[3][s - 1] = t5 - t4; t[4][s - 1] = t1 - t0; t[5][s - 1] = t5 - t0;
    }
    for (i = 0; i < 6; i++) med[i] = 1e3 * median(t[i], steps - 1);
    mm = matmul_ms(m, B, T);
    gflop = step_gflop(&cfg, B, T);
    getrusage(RUSAGE_SELF, &ru);
    printf("%s (L=%d NH=%d C=%d V=%d) B=%d T=%d, %d threads, median of %d steps:\n", preset,
           cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.vocab_size, B, T, threads, steps - 1);
    printf("  forward %.1f ms, backward %.1f ms, clip %.1f ms, AdamW %.1f ms, zero_grad %.1f ms"
           "\n  step %.1f ms: %.1f GFLOP at %.1f GFLOP/s; its linear layers alone take %.1f ms "
           "(%.0f%%)\n", med[0], med[1], med[2], med[3], med[4], med[5], gflop,
           gflop / med[5] * 1e3, mm, 100.0 * mm / med[5]);
    {   /* the arena by part: parameters, gradients, AdamW m and v, the rest (activations) */
        double mb = 1.0 / (1 << 20), p = (double)m->num_params * sizeof(float) * mb;
        double scratch = (double)m->threads * gpt__pack_floats() * sizeof(float) * mb;
        printf("  memory: peak RSS %.0f MB; arena %.0f MB = parameters %.0f + gradients %.0f + "
               "AdamW %.0f + activations %.0f + matmul packing %.1f\n", ru.ru_maxrss / 1024.0,
               m->arena_bytes * mb, p, p, 2 * p, m->arena_bytes * mb - 4 * p - scratch, scratch);
    }
    printf("step_ms %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.0f\n", med[0], med[1], med[2], med[3],
           med[4], med[5], gflop, ru.ru_maxrss / 1024.0);
    free(tok);
    free(tgt);
    gpt_model_free(m);
    return 0;
}
