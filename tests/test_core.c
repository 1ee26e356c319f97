/* tests/test_core.c - the numeric core: finite-difference checks of every backward kernel,
   the fast matmul against the plain one, the optimizer, the schedule, clipping, memory,
   determinism and thread independence. */
#include <stdlib.h>

#include "test_alloc.h"
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include "test.h"

static void fill(float *x, size_t n, gpt_rng *rng, float scale) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = scale * gpt_rng_normal(rng);
}
static float *fvec(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }

/* Packing memory for the fast matmul, as a model has it: an area per thread. */
static gpt__pack new_pack(void) {
    gpt__pack pk;
    pk.threads = gpt__max_threads();
    pk.mem = fvec((size_t)pk.threads * gpt__pack_floats());
    return pk;
}

/* ---- finite differences ----------------------------------------------------------------
   Every check has the same shape: a scalar loss = sum(out * R) for a fixed random R, so
   d loss / d out = R. The analytic gradient (backward with dout = R) must match the central
   difference (loss(x + h) - loss(x - h)) / 2h at sampled coordinates. */
typedef double (*loss_fn)(void *ctx);

static double fd_check(const char *what, loss_fn f, void *ctx, float *x, const float *grad,
                       size_t n, int samples, gpt_rng *rng) {
    double worst = 0.0;
    int s;
    for (s = 0; s < samples; s++) {
        size_t i = n <= (size_t)samples ? (size_t)s % n : gpt_rng_u32(rng) % n;
        float keep = x[i], h = 1e-2f * (fabsf(keep) > 1.0f ? fabsf(keep) : 1.0f);
        double lp, lm, num, err;
        x[i] = keep + h; lp = f(ctx);
        x[i] = keep - h; lm = f(ctx);
        x[i] = keep;
        num = (lp - lm) / (2.0 * (double)h);
        err = fabs(num - grad[i]) / (1e-3 + fabs(num) + fabs(grad[i]));
        if (err > worst) worst = err;
    }
    CHECK(worst < 1e-2, "%s: finite difference disagrees with backward (relative %.3g)", what,
          worst);
    return worst;
}

static double dot_r(const float *out, const float *r, size_t n) {
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

/* layernorm */
typedef struct { float *out, *mean, *rstd, *inp, *w, *b, *r; int N, C; } ln_ctx;
static double ln_loss(void *p) {
    ln_ctx *c = (ln_ctx *)p;
    gpt__layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C);
    return dot_r(c->out, c->r, (size_t)c->N * c->C);
}
static void test_layernorm(gpt_rng *rng) {
    ln_ctx c;
    int N = 6, C = 19;
    float *din = fvec(N * C), *dw = fvec(C), *db = fvec(C);
    c.N = N; c.C = C;
    c.out = fvec(N * C); c.mean = fvec(N); c.rstd = fvec(N); c.inp = fvec(N * C);
    c.w = fvec(C); c.b = fvec(C); c.r = fvec(N * C);
    fill(c.inp, N * C, rng, 1.0f); fill(c.w, C, rng, 1.0f); fill(c.b, C, rng, 1.0f);
    fill(c.r, N * C, rng, 1.0f);
    ln_loss(&c);
    gpt__layernorm_backward(din, dw, db, c.r, c.inp, c.w, c.mean, c.rstd, N, C);
    fd_check("layernorm dinp", ln_loss, &c, c.inp, din, N * C, 40, rng);
    fd_check("layernorm dweight", ln_loss, &c, c.w, dw, C, 19, rng);
    fd_check("layernorm dbias", ln_loss, &c, c.b, db, C, 19, rng);
    free(din); free(dw); free(db); free(c.out); free(c.mean); free(c.rstd); free(c.inp);
    free(c.w); free(c.b); free(c.r);
}

/* matmul (both versions) */
typedef struct { float *out, *inp, *w, *b, *r; gpt__pack pk; int N, C, OC, ref; } mm_ctx;
static double mm_loss(void *p) {
    mm_ctx *c = (mm_ctx *)p;
    if (c->ref) gpt__matmul_forward_ref(c->out, c->inp, c->w, c->b, c->N, c->C, c->OC);
    else gpt__matmul_forward(c->out, &c->pk, c->inp, c->w, c->b, c->N, c->C, c->OC);
    return dot_r(c->out, c->r, (size_t)c->N * c->OC);
}
static void test_matmul_fd(gpt_rng *rng, int ref) {
    mm_ctx c;
    int N = 29, C = 37, OC = 9;
    float *din = fvec(N * C), *dw = fvec(OC * C), *db = fvec(OC);
    c.N = N; c.C = C; c.OC = OC; c.ref = ref; c.pk = new_pack();
    c.out = fvec(N * OC); c.inp = fvec(N * C); c.w = fvec(OC * C); c.b = fvec(OC);
    c.r = fvec(N * OC);
    fill(c.inp, N * C, rng, 1.0f); fill(c.w, OC * C, rng, 0.3f); fill(c.b, OC, rng, 1.0f);
    fill(c.r, N * OC, rng, 1.0f);
    if (ref) gpt__matmul_backward_ref(din, dw, db, c.r, c.inp, c.w, N, C, OC);
    else gpt__matmul_backward(din, dw, db, &c.pk, c.r, c.inp, c.w, N, C, OC);
    fd_check(ref ? "matmul_ref dinp" : "matmul dinp", mm_loss, &c, c.inp, din, N * C, 40, rng);
    fd_check(ref ? "matmul_ref dweight" : "matmul dweight", mm_loss, &c, c.w, dw, OC * C, 40, rng);
    fd_check(ref ? "matmul_ref dbias" : "matmul dbias", mm_loss, &c, c.b, db, OC, 9, rng);
    free(din); free(dw); free(db); free(c.out); free(c.inp); free(c.w); free(c.b); free(c.r);
    free(c.pk.mem);
}

/* The fast matmul computes the same numbers as the plain one, on awkward shapes: one row,
   fewer rows or columns than a register tile, leftovers in every direction, K longer than
   one K block (GPT__KC), more rows and columns than one job (GPT__MC, GPT__NC), and jobs
   that share their columns with K in one block (a thread keeps the right block it packed:
   the d-weight product of {40, 50, 1200}). */
static void test_matmul_fast_vs_ref(gpt_rng *rng) {
    static const int shapes[][3] = {{1, 64, 50}, {4, 16, 4}, {5, 33, 7}, {9, 100, 13},
                                    {24, 64, 192}, {3, 7, 5}, {53, 257, 31}, {48, 24, 8},
                                    {100, 50, 97}, {1, 37, 51}, {1, 768, 2},
                                    {8, 50, 700}, {12, 1000, 30}, {4, 8, 9}, {2, 1, 3},
                                    {7, 513, 65}, {600, 40, 530}, {37, 600, 1100},
                                    {530, 300, 33}, {40, 50, 1200}};
    size_t s;
    gpt__pack pk = new_pack();
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float *inp = fvec(N * C), *w = fvec(OC * C), *b = fvec(OC), *dout = fvec(N * OC);
        float *o1 = fvec(N * OC), *o2 = fvec(N * OC);
        float *di1 = fvec(N * C), *di2 = fvec(N * C), *dw1 = fvec(OC * C), *dw2 = fvec(OC * C);
        float *db1 = fvec(OC), *db2 = fvec(OC);
        fill(inp, N * C, rng, 1.0f); fill(w, OC * C, rng, 1.0f); fill(b, OC, rng, 1.0f);
        fill(dout, N * OC, rng, 1.0f);
        fill(di1, N * C, rng, 1.0f); memcpy(di2, di1, sizeof(float) * N * C);  /* += check */
        fill(dw1, OC * C, rng, 1.0f); memcpy(dw2, dw1, sizeof(float) * OC * C);
        fill(o1, N * OC, rng, 1.0f);   /* the forward overwrites whatever was there */
        gpt__matmul_forward(o1, &pk, inp, w, b, N, C, OC);
        gpt__matmul_forward_ref(o2, inp, w, b, N, C, OC);
        gpt__matmul_backward(di1, dw1, db1, &pk, dout, inp, w, N, C, OC);
        gpt__matmul_backward_ref(di2, dw2, db2, dout, inp, w, N, C, OC);
        CHECK(test_max_rel(o1, o2, N * OC, 1.0) < 1e-4, "matmul fast != ref, shape %d %d %d: %g",
              N, C, OC, test_max_rel(o1, o2, N * OC, 1.0));
        CHECK(test_max_rel(di1, di2, N * C, 1.0) < 1e-4, "matmul dinp fast != ref %d %d %d",
              N, C, OC);
        CHECK(test_max_rel(dw1, dw2, OC * C, 1.0) < 1e-4, "matmul dweight fast != ref %d %d %d",
              N, C, OC);
        CHECK(test_max_rel(db1, db2, OC, 1.0) < 1e-4, "matmul dbias fast != ref %d %d %d",
              N, C, OC);
        /* without bias the forward starts its sums from 0 */
        gpt__matmul_forward(o1, &pk, inp, w, NULL, N, C, OC);
        gpt__matmul_forward_ref(o2, inp, w, NULL, N, C, OC);
        CHECK(test_max_rel(o1, o2, N * OC, 1.0) < 1e-4, "matmul fast != ref without bias, "
              "shape %d %d %d", N, C, OC);
        free(inp); free(w); free(b); free(dout); free(o1); free(o2); free(di1); free(di2);
        free(dw1); free(dw2); free(db1); free(db2);
    }
    free(pk.mem);
}

/* Each output of the fast matmul is summed by one thread in one order: the same bits with
   1 thread and with 2, and with a pack that serves only 1 thread. */
static void test_matmul_threads(gpt_rng *rng) {
#ifdef _OPENMP
    int N = 70, C = 530, OC = 600, keep = omp_get_max_threads();
    float *inp = fvec(N * C), *w = fvec(OC * C), *b = fvec(OC), *dout = fvec(N * OC);
    float *o[3], *di[3], *dw[3];
    gpt__pack pk;
    int i, same = 1;
    fill(inp, N * C, rng, 1.0f); fill(w, OC * C, rng, 1.0f); fill(b, OC, rng, 1.0f);
    fill(dout, N * OC, rng, 1.0f);
    for (i = 0; i < 3; i++) {
        omp_set_num_threads(i == 0 ? 1 : 2);
        pk = new_pack();
        if (i == 2) pk.threads = 1;
        o[i] = fvec(N * OC); di[i] = fvec(N * C); dw[i] = fvec(OC * C);
        gpt__matmul_forward(o[i], &pk, inp, w, b, N, C, OC);
        gpt__matmul_backward(di[i], dw[i], NULL, &pk, dout, inp, w, N, C, OC);
        free(pk.mem);
    }
    omp_set_num_threads(keep);
    for (i = 1; i < 3; i++)
        same &= memcmp(o[0], o[i], sizeof(float) * N * OC) == 0 &&
                memcmp(di[0], di[i], sizeof(float) * N * C) == 0 &&
                memcmp(dw[0], dw[i], sizeof(float) * OC * C) == 0;
    CHECK(same, "the fast matmul depends on the number of threads");
    for (i = 0; i < 3; i++) { free(o[i]); free(di[i]); free(dw[i]); }
    free(inp); free(w); free(b); free(dout);
#else
    (void)rng;
    printf("note: built without OpenMP, the matmul thread check does not apply\n");
#endif
}

/* The output head's softmax of >>speed: the same bits as the plain softmax followed by the
   plain cross-entropy backward, for probs, losses and dlogits, on rows longer and shorter
   than a SIMD vector, with a NaN, an infinity and a huge logit in some rows. And gpt__max
   is the largest value, NaNs skipped, as the plain loop has it. */
static void test_softmax_fast(gpt_rng *rng) {
    static const int shapes[][2] = {{7, 1001}, {3, 11}, {2, 16}, {4, 50257}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int N = shapes[s][0], V = shapes[s][1], *tg = (int *)malloc(sizeof(int) * N);
        size_t NV = (size_t)N * V;
        float *logits = fvec(NV), *p1 = fvec(NV), *p2 = fvec(NV), *d1 = fvec(NV);
        float *d2 = fvec(NV), *l1 = fvec(N), *l2 = fvec(N);
        fill(logits, NV, rng, 4.0f);
        for (int n = 0; n < N; n++) tg[n] = (int)(gpt_rng_u32(rng) % (uint32_t)V);
        logits[V / 2] = NAN;                                /* row 0 */
        if (N > 1) logits[V + V - 1] = INFINITY;            /* row 1, last */
        if (N > 2) logits[2 * (size_t)V + 3] = 1e30f;       /* row 2 */
        gpt__softmax_forward(p1, l1, logits, tg, N, V);
        gpt__crossentropy_backward(d1, p1, tg, N, V);
        gpt__softmax_forward_fast(p2, l2, d2, logits, tg, N, V);
        CHECK(memcmp(p1, p2, sizeof(float) * NV) == 0 && memcmp(l1, l2, sizeof(float) * N) == 0,
              "fast softmax: probs or losses differ from the plain ones, N=%d V=%d", N, V);
        if (!GPT__PLAIN_KERNELS)   /* (with plain kernels, backward computes dlogits) */
            CHECK(memcmp(d1, d2, sizeof(float) * NV) == 0,
                  "fast softmax: dlogits differ from gpt__crossentropy_backward's, N=%d V=%d",
                  N, V);
        free(tg); free(logits); free(p1); free(p2); free(d1); free(d2); free(l1); free(l2);
    }
    {
        float x[37];
        for (int i = 0; i < 37; i++) x[i] = (float)(i % 7) - 100.0f;
        x[5] = NAN;
        x[20] = -3.5f;   /* the largest, inside the lanes */
        CHECK(gpt__max(x, 37) == -3.5f, "gpt__max: %g, not -3.5", gpt__max(x, 37));
        x[36] = 2.0f;    /* the largest, in the rest after the lanes */
        CHECK(gpt__max(x, 37) == 2.0f, "gpt__max: %g, not 2", gpt__max(x, 37));
        x[0] = NAN;
        CHECK(gpt__max(x, 1) == -FLT_MAX, "gpt__max of a NaN alone: %g", gpt__max(x, 1));
    }
}

/* attention: the plain version (one query at a time) at a short T, and the matrix-product
   version (pk given, T >= GPT__ATTENTION_GEMM_T) at a long one */
typedef struct { float *out, *att, *qkv, *r; const gpt__pack *pk; int B, T, C, NH; } at_ctx;
static double at_loss(void *p) {
    at_ctx *c = (at_ctx *)p;
    gpt__attention_forward(c->out, c->att, c->qkv, c->B, c->T, c->C, c->NH, c->pk);
    return dot_r(c->out, c->r, (size_t)c->B * c->T * c->C);
}
static void test_attention(gpt_rng *rng, int T, const gpt__pack *pk) {
    at_ctx c;
    int B = 2, C = 12, NH = 3, t, t2, h, bad = 0;
    float *dqkv = fvec(B * T * 3 * C), *datt = fvec(B * NH * T * T);
    c.B = B; c.T = T; c.C = C; c.NH = NH; c.pk = pk;
    c.out = fvec(B * T * C); c.att = fvec(B * NH * T * T); c.qkv = fvec(B * T * 3 * C);
    c.r = fvec(B * T * C);
    fill(c.qkv, B * T * 3 * C, rng, 1.0f); fill(c.r, B * T * C, rng, 1.0f);
    at_loss(&c);
    /* causal: weights of future positions are 0, each row sums to 1 */
    for (h = 0; h < B * NH; h++)
        for (t = 0; t < T; t++) {
            double sum = 0;
            for (t2 = 0; t2 < T; t2++) {
                float a = c.att[((size_t)h * T + t) * T + t2];
                if (t2 > t && a != 0.0f) bad++;
                sum += a;
            }
            if (fabs(sum - 1.0) > 1e-5) bad++;
        }
    CHECK(bad == 0, "attention weights are not causal softmax rows (T=%d, %d bad)", T, bad);
    gpt__attention_backward(dqkv, datt, c.r, c.qkv, c.att, B, T, C, NH, pk);
    fd_check(pk ? "attention (matrix products) dqkv" : "attention dqkv", at_loss, &c, c.qkv,
             dqkv, B * T * 3 * C, 120, rng);
    free(dqkv); free(datt); free(c.out); free(c.att); free(c.qkv); free(c.r);
}

/* The matrix-product attention computes what the plain one does, forward and backward, at
   T = GPT__ATTENTION_GEMM_T and at a T that is no multiple of any tile, with 1 and 2 batches
   and head sizes 64 (GPT-2's) and 5. */
static void test_attention_fast_vs_ref(gpt_rng *rng, const gpt__pack *pk) {
    static const int shapes[][4] = {{1, GPT__ATTENTION_GEMM_T, 128, 2}, {2, 70, 15, 3},
                                    {1, 131, 64, 1}};
    size_t s;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = shapes[s][3];
        size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C, na = (size_t)B * NH * T * T;
        float *qkv = fvec(nq), *dy = fvec(ny), *y1 = fvec(ny), *y2 = fvec(ny);
        float *a1 = fvec(na), *a2 = fvec(na), *d1 = fvec(na), *d2 = fvec(na);
        float *g1 = fvec(nq), *g2 = fvec(nq);
        fill(qkv, nq, rng, 1.0f); fill(dy, ny, rng, 1.0f);
        fill(g1, nq, rng, 1.0f); memcpy(g2, g1, nq * sizeof(float));   /* both add (+=) */
        gpt__attention_forward(y1, a1, qkv, B, T, C, NH, pk);
        gpt__attention_forward(y2, a2, qkv, B, T, C, NH, NULL);
        gpt__attention_backward(g1, d1, dy, qkv, a1, B, T, C, NH, pk);
        gpt__attention_backward(g2, d2, dy, qkv, a2, B, T, C, NH, NULL);
        CHECK(test_max_rel(y1, y2, ny, 1e-3) < 1e-3 && test_max_rel(a1, a2, na, 1e-3) < 1e-3,
              "attention products != plain, forward, B=%d T=%d C=%d NH=%d: %g %g", B, T, C, NH,
              test_max_rel(y1, y2, ny, 1e-3), test_max_rel(a1, a2, na, 1e-3));
        CHECK(test_max_rel(g1, g2, nq, 1e-3) < 1e-3, "attention products != plain, backward, "
              "B=%d T=%d C=%d NH=%d: %g", B, T, C, NH, test_max_rel(g1, g2, nq, 1e-3));
        free(qkv); free(dy); free(y1); free(y2); free(a1); free(a2); free(d1); free(d2);
        free(g1); free(g2);
    }
}

/* The vectorizable tanh and exp of >>speed against tanh and exp in double, over fine sweeps
   and at the edges: tanh at most 2e-7 off (tanhf itself: 1e-7), odd, +-1 at +-infinity; exp
   within 2e-7 relative down to -87, and a tiny positive number below. */
static void test_tanh_fast(void) {
    double worst = 0.0;
    int i, odd = 1;
    for (i = -2000000; i <= 2000000; i++) {
        float u = (float)i * 1e-5f;   /* [-20, 20] */
        double e = fabs((double)gpt__tanh_fast(u) - tanh((double)u));
        if (!(e <= worst)) worst = e;
        if (gpt__tanh_fast(-u) != -gpt__tanh_fast(u)) odd = 0;
    }
    CHECK(worst <= 2e-7, "gpt__tanh_fast is %g from tanh", worst);
    CHECK(odd, "gpt__tanh_fast is not odd");
    worst = 0.0;
    for (i = 0; i <= 2000000; i++) {   /* exp over [-100, 0], relative to exp in double */
        float y = (float)i * -5e-5f;
        double want = exp((double)y), e = fabs((double)gpt__exp_fast(y) - want) / want;
        if (y < -87.0f) e = gpt__exp_fast(y) > 0.0f && gpt__exp_fast(y) < 2e-38f ? 0.0 : 1.0;
        if (!(e <= worst)) worst = e;
    }
    CHECK(worst <= 2e-7, "gpt__exp_fast is %g (relative) from exp", worst);
    CHECK(gpt__exp_fast(0.0f) == 1.0f && gpt__exp_fast(-INFINITY) < 2e-38f,
          "gpt__exp_fast(0) = %g, (-inf) = %g", gpt__exp_fast(0.0f), gpt__exp_fast(-INFINITY));
    CHECK(gpt__tanh_fast(INFINITY) == 1.0f && gpt__tanh_fast(-INFINITY) == -1.0f &&
          gpt__tanh_fast(1e30f) == 1.0f && gpt__tanh_fast(0.0f) == 0.0f,
          "gpt__tanh_fast at the edges: %g %g %g", gpt__tanh_fast(INFINITY),
          gpt__tanh_fast(1e30f), gpt__tanh_fast(0.0f));
}

/* gelu, residual, embedding, softmax + cross-entropy */
typedef struct { float *out, *inp, *r; size_t n; } ew_ctx;
static double gelu_loss(void *p) {
    ew_ctx *c = (ew_ctx *)p;
    gpt__gelu_forward(c->out, c->inp, c->n);
    return dot_r(c->out, c->r, c->n);
}
typedef struct { float *out, *a, *b, *r; size_t n; } res_ctx;
static double res_loss(void *p) {
    res_ctx *c = (res_ctx *)p;
    gpt__residual_forward(c->out, c->a, c->b, c->n);
    return dot_r(c->out, c->r, c->n);
}
typedef struct { float *out, *wte, *wpe, *r; int *tok; int B, T, C; } enc_ctx;
static double enc_loss(void *p) {
    enc_ctx *c = (enc_ctx *)p;
    gpt__encoder_forward(c->out, c->tok, c->wte, c->wpe, c->B, c->T, c->C);
    return dot_r(c->out, c->r, (size_t)c->B * c->T * c->C);
}
typedef struct { float *probs, *losses, *logits; int *targets; int N, V; } ce_ctx;
static double ce_loss(void *p) {
    ce_ctx *c = (ce_ctx *)p;
    double s = 0;
    int n;
    gpt__softmax_forward(c->probs, c->losses, c->logits, c->targets, c->N, c->V);
    for (n = 0; n < c->N; n++) s += c->losses[n];
    return s / c->N;
}
static void test_elementwise(gpt_rng *rng) {
    size_t n = 64;
    ew_ctx g;
    res_ctx r;
    enc_ctx e;
    ce_ctx ce;
    float *dg = fvec(n), *da = fvec(n), *db = fvec(n), *dwte = fvec(7 * 4), *dwpe = fvec(5 * 4);
    float *dlog;
    int tok[6] = {3, 1, 3, 6, 0, 3}, tg[5] = {0, 4, 4, 2, 1};
    g.n = n; g.out = fvec(n); g.inp = fvec(n); g.r = fvec(n);
    fill(g.inp, n, rng, 2.0f); fill(g.r, n, rng, 1.0f);
    g.inp[0] = 0.0f; g.inp[1] = -6.0f; g.inp[2] = 6.0f;
    gpt__gelu_backward(dg, g.inp, g.r, n);
    fd_check("gelu", gelu_loss, &g, g.inp, dg, n, 64, rng);
    /* known values of the tanh GELU */
    {
        float x[3] = {1.0f, -1.0f, 3.0f}, y[3];
        gpt__gelu_forward(y, x, 3);
        CHECK(test_close(y[0], 0.841191990, 1e-6, 0) && test_close(y[1], -0.158808010, 1e-6, 0)
              && test_close(y[2], 2.996362700, 1e-6, 0), "gelu values %g %g %g", y[0], y[1], y[2]);
    }
    r.n = n; r.out = fvec(n); r.a = fvec(n); r.b = fvec(n); r.r = g.r;
    fill(r.a, n, rng, 1.0f); fill(r.b, n, rng, 1.0f);
    gpt__residual_backward(da, db, r.r, n);
    fd_check("residual da", res_loss, &r, r.a, da, n, 16, rng);
    fd_check("residual db", res_loss, &r, r.b, db, n, 16, rng);
    e.B = 2; e.T = 3; e.C = 4; e.tok = tok; e.out = fvec(24); e.r = fvec(24);
    e.wte = fvec(28); e.wpe = fvec(20);
    fill(e.wte, 28, rng, 1.0f); fill(e.wpe, 20, rng, 1.0f); fill(e.r, 24, rng, 1.0f);
    gpt__encoder_backward(dwte, dwpe, e.r, tok, 2, 3, 4);
    fd_check("embedding dwte", enc_loss, &e, e.wte, dwte, 28, 28, rng);
    fd_check("embedding dwpe", enc_loss, &e, e.wpe, dwpe, 20, 20, rng);
    ce.N = 5; ce.V = 11; ce.targets = tg;
    ce.probs = fvec(55); ce.losses = fvec(5); ce.logits = fvec(55); dlog = fvec(55);
    fill(ce.logits, 55, rng, 3.0f);
    ce_loss(&ce);
    gpt__crossentropy_backward(dlog, ce.probs, tg, 5, 11);
    fd_check("softmax cross-entropy", ce_loss, &ce, ce.logits, dlog, 55, 55, rng);
    /* a huge logit: no overflow, loss finite */
    ce.logits[0] = 1e30f;
    CHECK(isfinite(ce_loss(&ce)), "cross-entropy overflows on a huge logit");
    free(dg); free(da); free(db); free(dwte); free(dwpe); free(dlog);
    free(g.out); free(g.inp); free(g.r); free(r.out); free(r.a); free(r.b);
    free(e.out); free(e.r); free(e.wte); free(e.wpe);
    free(ce.probs); free(ce.losses); free(ce.logits);
}

/* ---- the whole model ----------------------------------------------------------------------- */
static gpt_config tiny_config(void) {
    gpt_config c;
    c.block_size = 8; c.vocab_size = 23; c.n_layer = 2; c.n_head = 2; c.n_embd = 16;
    return c;
}

typedef struct { gpt_model *m; int *tok, *tg; int B, T; } model_ctx;
static double model_loss(void *p) {
    model_ctx *c = (model_ctx *)p;
    float loss;
    gpt_forward(c->m, c->tok, c->tg, c->B, c->T, &loss);
    return loss;
}

static void test_model_fd(gpt_rng *rng) {
    gpt_config cfg = tiny_config();
    gpt_model_options opt = gpt_model_options_defaults();
    model_ctx c;
    int tok[2 * 7], tg[2 * 7], i;
    opt.max_batch = 2; opt.max_seq = 8;
    CHECK(gpt_model_create(&c.m, &cfg, &opt) == GPT_OK, "create: %s", gpt_last_error());
    gpt_model_init(c.m, rng);
    /* random layernorm and bias values, so that every path carries gradient */
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++)
        if (!c.m->tensors[i].cols)
            fill(c.m->tensors[i].data, c.m->tensors[i].size * c.m->tensors[i].layers, rng, 0.5f);
    for (i = 0; i < 14; i++) { tok[i] = gpt_rng_u32(rng) % 23; tg[i] = gpt_rng_u32(rng) % 23; }
    c.tok = tok; c.tg = tg; c.B = 2; c.T = 7;
    model_loss(&c);
    gpt_zero_grad(c.m);
    CHECK(gpt_backward(c.m) == GPT_OK, "backward: %s", gpt_last_error());
    /* The model's loss is a float computed through many layers, so a one-coordinate
       difference drowns in rounding. Instead, move a whole tensor along a direction u and
       compare d loss/d eps at eps = 0 with g . u: once along g itself (a large derivative),
       once along a random direction. */
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &c.m->tensors[i];
        size_t n = t->size * t->layers, j;
        float *g = c.m->grad_memory + (t->data - c.m->param_memory);
        float *keep = fvec(n), *u = fvec(n);
        int dir;
        memcpy(keep, t->data, n * sizeof(float));
        for (dir = 0; dir < 2; dir++) {
            double gu = 0, unorm = 0, lp, lm, num, h;
            if (dir == 0) memcpy(u, g, n * sizeof(float));
            else fill(u, n, rng, 1.0f);
            for (j = 0; j < n; j++) { gu += (double)g[j] * u[j]; unorm += (double)u[j] * u[j]; }
            h = 1e-2 / sqrt(unorm + 1e-30);
            for (j = 0; j < n; j++) t->data[j] = (float)(keep[j] + h * u[j]);
            lp = model_loss(&c);
            for (j = 0; j < n; j++) t->data[j] = (float)(keep[j] - h * u[j]);
            lm = model_loss(&c);
            memcpy(t->data, keep, n * sizeof(float));
            num = (lp - lm) / (2 * h);
            CHECK(fabs(num - gu) <= 1e-2 * (fabs(num) + fabs(gu)) + 1e-4 * sqrt(unorm),
                  "model d %s along %s: finite difference %.6g, backward %.6g", t->name,
                  dir ? "a random direction" : "the gradient", num, gu);
        }
        {
            int finite = 1, nonzero = 0;
            for (j = 0; j < n; j++) { if (!isfinite(g[j])) finite = 0; if (g[j] != 0) nonzero = 1; }
            CHECK(finite && nonzero, "gradient of %s is finite and not all zero", t->name);
        }
        free(keep);
        free(u);
    }
    gpt_model_free(c.m);
}

/* ---- optimizer, schedule, clipping ------------------------------------------------------- */
static void test_schedule(void) {
    gpt_schedule s;
    long i;
    int mono = 1;
    s.max_lr = 6e-4; s.min_lr = 6e-5; s.warmup_steps = 0; s.total_steps = 100;
    CHECK(gpt_schedule_lr(&s, 0) == 6e-4, "cosine starts at max_lr: %g", gpt_schedule_lr(&s, 0));
    {   /* settings whose differences overflow a long still give a rate in [min, max] */
        gpt_schedule x = s;
        double lr;
        x.warmup_steps = -(LONG_MAX / 2) - 2;   /* total - warmup is past LONG_MAX */
        x.total_steps = LONG_MAX / 2 + 2;
        lr = gpt_schedule_lr(&x, 0);
        CHECK(lr >= x.min_lr && lr <= x.max_lr, "extreme schedule: lr %g", lr);
        x.warmup_steps = LONG_MAX / 2;   /* as doubles, W and W + 2 may round to one value */
        x.total_steps = x.warmup_steps + 2;
        lr = gpt_schedule_lr(&x, x.warmup_steps + 1);   /* halfway: the mean of min and max */
        CHECK(test_close(lr, 0.5 * (x.min_lr + x.max_lr), 1e-6, 0), "huge schedule: lr %g", lr);
    }
    /* in double, as Python computes the rate of the PyTorch reference trainer */
    CHECK(test_close(gpt_schedule_lr(&s, 50), 3.3e-4, 1e-15, 1e-12), "cosine midpoint %g",
          gpt_schedule_lr(&s, 50));
    CHECK(test_close(gpt_schedule_lr(&s, 25),
                     6e-5 + 0.5 * 5.4e-4 * (1 + cos(3.14159265358979323846 / 4)), 1e-15, 1e-12),
          "cosine quarter %g", gpt_schedule_lr(&s, 25));
    CHECK(gpt_schedule_lr(&s, 100) == 6e-5 && gpt_schedule_lr(&s, 1000) == 6e-5,
          "min_lr after N");
    for (i = 1; i < 100; i++) if (gpt_schedule_lr(&s, i) > gpt_schedule_lr(&s, i - 1)) mono = 0;
    CHECK(mono, "cosine decay is not monotone");
    s.warmup_steps = 10;
    CHECK(test_close(gpt_schedule_lr(&s, 0), 6e-5, 1e-15, 1e-12), "warmup step 0: %g",
          gpt_schedule_lr(&s, 0));
    CHECK(test_close(gpt_schedule_lr(&s, 4), 3e-4, 1e-15, 1e-12), "warmup step 4: %g",
          gpt_schedule_lr(&s, 4));
    CHECK(test_close(gpt_schedule_lr(&s, 10), 6e-4, 1e-15, 1e-12), "after warmup: %g",
          gpt_schedule_lr(&s, 10));
    CHECK(test_close(gpt_schedule_lr(&s, 55), 3.3e-4, 1e-15, 1e-12), "warmup + half: %g",
          gpt_schedule_lr(&s, 55));
}

static gpt_model *tiny_model(gpt_rng *rng, int training) {
    gpt_config cfg = tiny_config();
    gpt_model_options opt = gpt_model_options_defaults();
    gpt_model *m = NULL;
    opt.max_batch = 2; opt.max_seq = 8; opt.training = training;
    if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) return NULL;
    gpt_model_init(m, rng);
    return m;
}

static void test_clip_and_decay(gpt_rng *rng) {
    gpt_model *m = tiny_model(rng, 1);
    gpt_adamw opt = gpt_adamw_defaults();
    float *before, norm;
    size_t j, n = m->num_params;
    double sum = 0, after = 0;
    int ok_decay = 1, ok_plain = 1, i;
    for (j = 0; j < n; j++) { m->grad_memory[j] = (float)((j % 7) - 3) * 0.5f; }
    for (j = 0; j < n; j++) sum += (double)m->grad_memory[j] * m->grad_memory[j];
    CHECK(gpt_clip_grad_norm(m, 1.0f, &norm) == GPT_OK, "clip: %s", gpt_last_error());
    CHECK(test_close(norm, sqrt(sum), 0, 1e-6), "clip returns the norm %g vs %g", norm, sqrt(sum));
    /* the gradient is grad_memory * grad_scale, and that has norm 1 now */
    for (j = 0; j < n; j++) {
        double gj = (double)m->grad_memory[j] * m->grad_scale;
        after += gj * gj;
    }
    CHECK(test_close(sqrt(after), 1.0, 0, 1e-5), "after clipping the norm is %g", sqrt(after));
    CHECK(gpt_clip_grad_norm(m, 10.0f, &norm) == GPT_OK, "clip: %s", gpt_last_error());
    CHECK(test_close(norm, 1.0, 0, 1e-5), "clip below max changes nothing: %g", norm);
    {   /* a model without gradients: an error, as for AdamW, and the norm is not written */
        gpt_model *inf = tiny_model(rng, 0);
        float untouched = -3.0f;
        CHECK(inf && gpt_clip_grad_norm(inf, 1.0f, &untouched) == GPT_ERR_ARG &&
              untouched == -3.0f && inf->grad_scale == 1.0f,
              "clip on an inference model: must be GPT_ERR_ARG, norm untouched (%g)", untouched);
        CHECK(strstr(gpt_last_error(), "inference model") != NULL, "clip detail: %s",
              gpt_last_error());
        CHECK(inf && gpt_adamw_step(inf, &opt, 1e-3f) == GPT_ERR_ARG, "AdamW on inference");
        gpt_model_free(inf);
    }
    {   /* AdamW uses the clipped gradient: its first step (with m = v = 0 and no decay) moves
           every parameter by lr * g/(|g| + eps'), so compare with a model whose gradients
           were scaled by hand */
        gpt_model *m2 = tiny_model(rng, 1), *m3 = tiny_model(rng, 1);
        gpt_adamw plain = gpt_adamw_defaults();
        int same = 1;
        memcpy(m2->param_memory, m->param_memory, n * sizeof(float));
        memcpy(m3->param_memory, m->param_memory, n * sizeof(float));
        memcpy(m3->grad_memory, m->grad_memory, n * sizeof(float));
        m3->grad_scale = m->grad_scale;
        for (j = 0; j < n; j++) m2->grad_memory[j] = m->grad_memory[j] * m->grad_scale;
        gpt_adamw_step(m3, &plain, 1e-2f);
        gpt_adamw_step(m2, &plain, 1e-2f);
        for (j = 0; j < n; j++)
            if (m3->param_memory[j] != m2->param_memory[j] || m3->adam_v[j] != m2->adam_v[j])
                same = 0;
        CHECK(same, "AdamW after a clip differs from AdamW on the clipped gradient");
        gpt_model_free(m2);
        gpt_model_free(m3);
    }
    {   /* a backward after a clip first applies the pending scale, then adds: the same as
           scaling the gradient by hand between the two backward passes */
        gpt_model *m2 = tiny_model(rng, 1), *m3 = tiny_model(rng, 1);
        int tok[16], tgt[16], k, same = 1;
        for (k = 0; k < 16; k++) { tok[k] = (k * 5) % 13; tgt[k] = (k * 7 + 3) % 13; }
        memcpy(m3->param_memory, m2->param_memory, n * sizeof(float));
        gpt_zero_grad(m2); gpt_zero_grad(m3);
        gpt_forward(m2, tok, tgt, 2, 8, NULL); gpt_backward(m2);
        gpt_forward(m3, tok, tgt, 2, 8, NULL); gpt_backward(m3);
        gpt_clip_grad_norm(m2, 1e-3f, NULL);
        CHECK(m2->grad_scale < 1.0f, "the clip should be pending (scale %g)", m2->grad_scale);
        for (j = 0; j < n; j++) m3->grad_memory[j] *= m2->grad_scale;
        gpt_forward(m2, tgt, tok, 2, 8, NULL); gpt_backward(m2);
        gpt_forward(m3, tgt, tok, 2, 8, NULL); gpt_backward(m3);
        for (j = 0; j < n; j++)
            if (m2->grad_memory[j] * m2->grad_scale != m3->grad_memory[j]) same = 0;
        CHECK(same && m2->grad_scale == 1.0f, "backward after a clip: scale %g", m2->grad_scale);
        gpt_model_free(m2);
        gpt_model_free(m3);
    }
    /* decay groups: zero gradients, so only weight decay moves parameters */
    gpt_zero_grad(m);
    before = fvec(n);
    memcpy(before, m->param_memory, n * sizeof(float));
    opt.weight_decay = 0.5;
    gpt_adamw_step(m, &opt, 0.1f);
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m->tensors[i];
        size_t off = (size_t)(t->data - m->param_memory);
        for (j = 0; j < t->size * t->layers; j++) {
            float want = t->decay ? before[off + j] * (float)(1.0 - 0.1 * 0.5) : before[off + j];
            if (t->decay && m->param_memory[off + j] != want) ok_decay = 0;
            if (!t->decay && m->param_memory[off + j] != want) ok_plain = 0;
        }
    }
    CHECK(ok_decay, "2-D tensors are decayed by lr*wd");
    CHECK(ok_plain, "biases and layernorm are not decayed");
    CHECK(m->tensors[0].decay && m->tensors[1].decay && m->tensors[4].decay &&
          !m->tensors[2].decay && !m->tensors[5].decay && !m->tensors[14].decay,
          "decay flags: wte, wpe, matmul weights only");
    /* one AdamW step by hand on a single coordinate, t = 2 */
    {
        float p0, g = 0.3f, m1, v1, m2, v2, want;
        double bc1 = 1 - 0.9 * 0.9, bc2 = 1 - 0.95 * 0.95;
        opt = gpt_adamw_defaults();
        gpt_zero_grad(m);
        memset(m->adam_m, 0, n * sizeof(float)); memset(m->adam_v, 0, n * sizeof(float));
        m->adam_step = 0;
        p0 = m->params.c_fc_b[3];
        m->grads.c_fc_b[3] = g;
        gpt_adamw_step(m, &opt, 1e-2f);
        m1 = 0.1f * g; v1 = 0.05f * g * g;
        p0 = m->params.c_fc_b[3];
        gpt_adamw_step(m, &opt, 1e-2f);
        m2 = 0.9f * m1 + 0.1f * g; v2 = 0.95f * v1 + 0.05f * g * g;
        want = (float)(p0 - 1e-2 / bc1 * m2 / (sqrt(v2) / sqrt(bc2) + 1e-8));
        CHECK(test_close(m->params.c_fc_b[3], want, 1e-7, 1e-5), "AdamW by hand: %.9g vs %.9g",
              m->params.c_fc_b[3], want);
        CHECK(m->adam_step == 2, "adam_step counts updates");
    }
    free(before);
    gpt_model_free(m);
}

/* ---- memory, errors, determinism ------------------------------------------------------------ */
static void test_memory_and_errors(gpt_rng *rng) {
    gpt_config cfg = tiny_config(), bad;
    gpt_model_options opt = gpt_model_options_defaults();
    test_alloc a = {0, -1};
    gpt_model *m = (gpt_model *)1;
    int tok[16] = {0}, err;
    float loss;
    opt.max_batch = 2; opt.max_seq = 8; opt.alloc_ctx = &a;
    a.fail_after = 0;
    err = gpt_model_create(&m, &cfg, &opt);
    CHECK(err == GPT_ERR_NOMEM && m == NULL && a.live == 0, "failing allocator gives NOMEM");
    CHECK(strstr(gpt_last_error(), "out of memory") != NULL, "NOMEM detail: %s", gpt_last_error());
    a.fail_after = -1;
    CHECK(gpt_model_create(&m, &cfg, &opt) == GPT_OK && a.live == 1, "one allocation per model");
    CHECK(m->arena_bytes == gpt_model_bytes(&cfg, &opt) + 64, "gpt_model_bytes is the size");
    gpt_model_init(m, rng);
    CHECK(gpt_forward(m, tok, tok, 3, 8, &loss) == GPT_ERR_SHAPE, "B > max_batch is refused");
    CHECK(gpt_forward(m, tok, tok, 2, 9, &loss) == GPT_ERR_SHAPE, "T > max_seq is refused");
    CHECK(gpt_forward(m, tok, tok, 100000, 100000, &loss) == GPT_ERR_SHAPE,
          "B*T past INT_MAX is refused");
    tok[5] = 23;
    CHECK(gpt_forward(m, tok, NULL, 2, 8, &loss) == GPT_ERR_RANGE, "token >= V is refused");
    tok[5] = -1;
    CHECK(gpt_forward(m, tok, NULL, 2, 8, &loss) == GPT_ERR_RANGE, "negative token is refused");
    tok[5] = 0;
    CHECK(gpt_forward(m, tok, NULL, 2, 8, NULL) == GPT_OK && gpt_backward(m) == GPT_ERR_ARG,
          "backward after a forward without targets is refused");
    gpt_model_free(m);
    CHECK(a.live == 0, "free returns the arena");
    bad = cfg; bad.n_head = 3;
    CHECK(gpt_model_create(&m, &bad, &opt) == GPT_ERR_ARG && strstr(gpt_last_error(), "n_head"),
          "n_embd %% n_head != 0 is refused: %s", gpt_last_error());
    opt.max_seq = 9;
    CHECK(gpt_model_create(&m, &cfg, &opt) == GPT_ERR_ARG, "T > block_size is refused");
    CHECK(gpt_model_bytes(&cfg, &opt) == 0, "bytes of invalid options is 0");
    CHECK(gpt_config_preset(&bad, "gpt2-xl") == GPT_OK && bad.n_layer == 48 && bad.n_head == 25 &&
          bad.n_embd == 1600 && bad.vocab_size == 50257 && bad.block_size == 1024,
          "gpt2-xl preset");
    CHECK(gpt_config_preset(&bad, "gpt3") == GPT_ERR_ARG, "unknown preset refused");
    {   /* the 124M model has 124,439,808 parameters (with wpe 1024x768) */
        gpt_model_options o2 = gpt_model_options_defaults();
        size_t bytes;
        gpt_config_preset(&bad, "gpt2");
        o2.training = 0; o2.max_batch = 0;
        bytes = gpt_model_bytes(&bad, &o2);
        CHECK(bytes > 124439808u * 4 && bytes < 124439808u * 4 + 100000, "124M bytes %lu",
              (unsigned long)bytes);
    }
}

static void test_init_and_determinism(void) {
    gpt_rng r1, r2;
    gpt_model *a, *b;
    double s = 0, sp = 0;
    size_t j, n;
    gpt_rng_seed(&r1, 42); gpt_rng_seed(&r2, 42);
    a = tiny_model(&r1, 1); b = tiny_model(&r2, 1);
    CHECK(memcmp(a->param_memory, b->param_memory, a->num_params * 4) == 0,
          "same seed, same model");
    gpt_rng_seed(&r2, 43);
    gpt_model_init(b, &r2);
    CHECK(memcmp(a->param_memory, b->param_memory, a->num_params * 4) != 0, "other seed differs");
    gpt_model_free(b);
    n = a->tensors[0].size;
    for (j = 0; j < n; j++) s += (double)a->params.wte[j] * a->params.wte[j];
    CHECK(test_close(sqrt(s / n), 0.02, 0, 0.15), "wte std %g", sqrt(s / n));
    n = a->tensors[12].size * 2;
    for (j = 0; j < n; j++) sp += (double)a->params.mlp_proj_w[j] * a->params.mlp_proj_w[j];
    CHECK(test_close(sqrt(sp / n), 0.02 / 2.0, 0, 0.15), "c_proj std %g", sqrt(sp / n));
    CHECK(a->params.ln_1_w[5] == 1.0f && a->params.ln_1_b[5] == 0.0f &&
          a->params.c_fc_b[7] == 0.0f, "layernorm 1/0, biases 0");
    gpt_model_free(a);
    {   /* the generator itself: known first outputs for seed 0 stay fixed across platforms */
        gpt_rng r;
        uint32_t x0, x1;
        gpt_rng_seed(&r, 0);
        x0 = gpt_rng_u32(&r); x1 = gpt_rng_u32(&r);
        gpt_rng_seed(&r, 0);
        CHECK(gpt_rng_u32(&r) == x0 && gpt_rng_u32(&r) == x1 && x0 != x1, "rng reproducible");
    }
}

/* A few training steps; returns the last loss and leaves the weights in m. */
static double train_steps(gpt_model *m, int steps) {
    int tok[2 * 8], tg[2 * 8], i, s;
    gpt_adamw opt = gpt_adamw_defaults();
    float loss = 0.0f;
    for (i = 0; i < 16; i++) { tok[i] = (i * 5) % 23; tg[i] = (i * 5 + 1) % 23; }
    for (s = 0; s < steps; s++) {
        gpt_forward(m, tok, tg, 2, 8, &loss);
        gpt_zero_grad(m);
        gpt_backward(m);
        gpt_clip_grad_norm(m, 1.0f, NULL);
        gpt_adamw_step(m, &opt, 3e-3f);
        if (s == 0) CHECK(test_close(loss, log(23.0), 0.1, 0), "initial loss %g ~ ln V", loss);
    }
    return loss;
}

static void test_training(void) {
    gpt_rng r1;
    gpt_model *a;
    float first, last;
    gpt_rng_seed(&r1, 5);
    a = tiny_model(&r1, 1);
    first = (float)train_steps(a, 1);
    last = (float)train_steps(a, 80);
    CHECK(last < 0.5f * first, "overfitting one batch: loss %g -> %g", first, last);
    gpt_model_free(a);
#ifdef _OPENMP
    {   /* bit-identical with 1 and 2 threads, on a model with big enough loops to split */
        gpt_config cfg;
        gpt_model_options opt = gpt_model_options_defaults();
        gpt_model *m1, *m2;
        int tok[4 * 32], tg[4 * 32], i, s, t;
        float l1[3], l2[3];
        gpt_adamw aw = gpt_adamw_defaults();
        cfg.block_size = 32; cfg.vocab_size = 101; cfg.n_layer = 2; cfg.n_head = 4;
        cfg.n_embd = 64;
        gpt_model_create(&m1, &cfg, &opt);
        gpt_model_create(&m2, &cfg, &opt);
        gpt_rng_seed(&r1, 9); gpt_model_init(m1, &r1);
        gpt_rng_seed(&r1, 9); gpt_model_init(m2, &r1);
        for (i = 0; i < 128; i++) { tok[i] = (i * 7) % 101; tg[i] = (i * 13 + 3) % 101; }
        for (t = 1; t <= 2; t++) {
            gpt_model *m = t == 1 ? m1 : m2;
            omp_set_num_threads(t);
            for (s = 0; s < 3; s++) {
                gpt_forward(m, tok, tg, 4, 32, t == 1 ? &l1[s] : &l2[s]);
                gpt_zero_grad(m);
                gpt_backward(m);
                gpt_clip_grad_norm(m, 1.0f, NULL);
                gpt_adamw_step(m, &aw, 1e-3f);
            }
        }
        CHECK(memcmp(l1, l2, sizeof l1) == 0, "losses identical with 1 and 2 threads");
        CHECK(memcmp(m1->param_memory, m2->param_memory, m1->num_params * 4) == 0 &&
              memcmp(m1->adam_v, m2->adam_v, m1->num_params * 4) == 0,
              "weights identical with 1 and 2 threads");
        gpt_model_free(m1);
        gpt_model_free(m2);
    }
#else
    printf("note: built without OpenMP, the 1-vs-2-thread check does not apply\n");
#endif
}

/* The work of one user of the library: its own model (shaped and seeded by `who`), three
   training steps, then eight tokens sampled with the KV cache, and an error of its own, read
   back once the other user (on the other thread, with sync) has had its error too. */
typedef struct user_result {
    float losses[3];
    int tokens[8];
    char error[128];
} user_result;

static void library_user(int who, user_result *r, int sync) {
    gpt_config cfg;
    gpt_model_options opt = gpt_model_options_defaults();
    gpt_adamw aw = gpt_adamw_defaults();
    gpt_sampler sp = gpt_sampler_defaults();
    gpt_model *m;
    gpt_rng rng;
    int tok[2 * 16], tg[2 * 16], i, s, bad = who ? -1 : 1000;
    float *logits;
    cfg.block_size = 16; cfg.vocab_size = 37 + who; cfg.n_layer = 1 + who; cfg.n_head = 2;
    cfg.n_embd = 24;
    opt.kv_cache = 1;
    opt.max_batch = 2;
    opt.max_seq = 16;
    memset(r, 0, sizeof *r);
    if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) {
        memcpy(r->error, "create failed", 14);
        return;
    }
    gpt_rng_seed(&rng, 100 + (uint64_t)who);
    gpt_model_init(m, &rng);
    for (i = 0; i < 32; i++) { tok[i] = (i * 3 + who) % 37; tg[i] = (i * 5 + 1) % 37; }
    for (s = 0; s < 3; s++) {
        gpt_forward(m, tok, tg, 2, 16, &r->losses[s]);
        gpt_zero_grad(m);
        gpt_backward(m);
        gpt_clip_grad_norm(m, 1.0f, NULL);
        gpt_adamw_step(m, &aw, 1e-2f);
    }
    r->tokens[0] = 0;
    for (i = 0; i < 8; i++) {
        gpt_forward_token(m, r->tokens[i > 0 ? i - 1 : 0], i, &logits);
        gpt_sample(m, logits, &sp, &rng, &r->tokens[i]);
    }
    /* user 0 fails, then user 1 fails, then both read their detail */
    if (sync) { GPT_OMP(barrier) }
    if (!sync || who == 0) gpt_forward_token(m, bad, 0, &logits);
    if (sync) { GPT_OMP(barrier) }
    if (!sync || who == 1) gpt_forward_token(m, bad, 0, &logits);
    if (sync) { GPT_OMP(barrier) }
    {
        const char *e = gpt_last_error();
        size_t n = strlen(e) < sizeof r->error - 1 ? strlen(e) : sizeof r->error - 1;
        memcpy(r->error, e, n);   /* r->error is zeroed: this stays 0-terminated */
    }
    gpt_model_free(m);
}

/* No global state: two models used on two threads at once give what each gives alone, and
   each thread keeps its own error detail. */
static void test_two_threads(void) {
#ifdef _OPENMP
    user_result alone[2], together[2];
    int who, team = 0;
    library_user(0, &alone[0], 0);
    library_user(1, &alone[1], 0);
    memset(together, 0, sizeof together);
    GPT_OMP(parallel num_threads(2))
    {
        int me = omp_get_thread_num();
        if (omp_get_num_threads() == 2) library_user(me, &together[me], 1);
        if (me == 0) team = omp_get_num_threads();
    }
    CHECK(team == 2, "OpenMP gave %d threads, not 2", team);
    for (who = 0; who < 2; who++) {
        CHECK(memcmp(alone[who].losses, together[who].losses, sizeof alone[who].losses) == 0 &&
              memcmp(alone[who].tokens, together[who].tokens, sizeof alone[who].tokens) == 0,
              "user %d: another model on another thread changed the losses or tokens", who);
        CHECK(strstr(together[who].error, who ? "token -1" : "token 1000") != NULL,
              "user %d: error detail '%s' is not its own", who, together[who].error);
    }
#else
    printf("note: built without OpenMP, the two-thread check does not apply\n");
#endif
}

int main(void) {
    gpt_rng rng;
    gpt_rng_seed(&rng, 1234);
    test_layernorm(&rng);
    test_matmul_fd(&rng, 0);
    test_matmul_fd(&rng, 1);
    test_matmul_fast_vs_ref(&rng);
    test_matmul_threads(&rng);
    {
        gpt__pack pk = new_pack();
        test_attention(&rng, 5, NULL);
        test_attention(&rng, GPT__ATTENTION_GEMM_T + 3, &pk);
        test_attention_fast_vs_ref(&rng, &pk);
        free(pk.mem);
    }
    test_tanh_fast();
    test_softmax_fast(&rng);
    test_elementwise(&rng);
    test_model_fd(&rng);
    test_schedule();
    test_clip_and_decay(&rng);
    test_memory_and_errors(&rng);
    test_init_and_determinism();
    test_training();
    test_two_threads();
#ifdef GPT_NO_VECTOR_EXTENSIONS
    return test_report("core, plain-C matmul tile");
#else
    return test_report("core");
#endif
}
