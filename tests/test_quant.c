/* tests/test_quant.c - bf16 and q8 weights (>>small in gpt.h) and scoring: the rounding of
   each format, the fast products against the plain ones, small models against fp32 models of
   the same seed, loading into small weights (Conv1D transposes included) from F32, F16 and
   BF16 files, the refusals (training, saving, the full forward), gpt_score against the full
   forward, and end to end: a model trained here by ./train, scored by ./sample --score in
   each format (bf16 within 0.5% of f32, q8 within 1%) and its greedy continuations compared,
   plus ./sample's bad input. Run from the repository root after `make train sample`. */
#define _POSIX_C_SOURCE 200809L   /* WEXITSTATUS */
#include "test_alloc.h"
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include "test.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define TMP "tests/bin/quant_tmp"
#define TINY TMP "/tiny/model.safetensors"   /* a folder of its own: no config.json beside */
static const char *const wname[3] = {"f32", "bf16", "q8"};

static float float_of(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- bf16: round to nearest, ties to even; NaN stays NaN ---------------------------------- */
static void test_bf16_rounding(void) {
    gpt_rng rng;
    double worst = 0.0;
    int i;
    CHECK(gpt__f32_to_bf16(1.0f) == 0x3F80, "1.0 -> %04x", gpt__f32_to_bf16(1.0f));
    /* the bf16 step at 1 is 2^-7: 1 + 2^-8 is a tie (to the even 1.0), 1 + 3*2^-8 too (to
       the even 1 + 2^-6), and a hair above the tie rounds up */
    CHECK(gpt__f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80, "tie to even (down)");
    CHECK(gpt__f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82, "tie to even (up)");
    CHECK(gpt__f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3F81, "above the tie rounds up");
    CHECK(gpt__f32_to_bf16(-2.5f) == 0xC020, "-2.5 is exact");
    CHECK(gpt__f32_to_bf16(-0.0f) == 0x8000, "-0 keeps its sign");
    CHECK(gpt__f32_to_bf16(float_of(0x7F800000u)) == 0x7F80, "infinity");
    CHECK(gpt__f32_to_bf16(FLT_MAX) == 0x7F80, "FLT_MAX rounds to infinity, as in PyTorch");
    {
        uint16_t h = gpt__f32_to_bf16(float_of(0x7F80FFFFu));   /* a NaN whose top is inf */
        float back = gpt__bf16_to_f32(h);
        CHECK(back != back, "a NaN stays a NaN (got %04x)", h);
    }
    gpt_rng_seed(&rng, 5);
    for (i = 0; i < 100000; i++) {   /* 8 significant bits: relative error at most 2^-8 */
        float x = gpt_rng_normal(&rng) * (float)(1 << (i % 20)) * 1e-3f;
        double e = fabs((double)gpt__bf16_to_f32(gpt__f32_to_bf16(x)) - x) / fabs((double)x);
        if (e > worst) worst = e;
    }
    CHECK(worst <= 0x1p-8 && worst > 0x1p-9, "bf16 relative error %.3g, want (2^-9, 2^-8]",
          worst);
}

/* ---- q8: a scale per group of 32, int8 weights ------------------------------------------- */

/* A small tensor of `layers` matrices (rows, cols) in format w (zeroed pieces, as in a
   model's arena: the Q8 blocks' rows and columns past the edge stay zero). */
static gpt_small make_small(int w, int layers, int rows, int cols) {
    gpt_small s;
    size_t blocks = (size_t)layers * ((rows + 15) / 16) * ((cols + 31) / 32);
    s.rows = rows;
    s.cols = cols;
    s.bf16 = w == GPT_WEIGHTS_BF16 ? (uint16_t *)calloc(blocks * 512, 2) : NULL;
    s.q8 = w == GPT_WEIGHTS_Q8 ? (gpt_q8_block *)calloc(blocks, sizeof(gpt_q8_block)) : NULL;
    return s;
}

static void free_small(gpt_small *s) {
    free(s->bf16);
    free(s->q8);
}

/* Where weight (row, col) of a small tensor (row over the stacked layers) lives, found
   through the layout gpt_small documents, written out here: its block's number, and in
   *at its place in the block (and in *r its row in the block). */
static size_t block_of(const gpt_small *s, size_t row, int col, int *r, int *at) {
    size_t layer = row / s->rows, in = row % s->rows, rb = (s->rows + 15) / 16;
    size_t groups = (s->cols + 31) / 32;
    int k = col % 32;
    *r = (int)(in % 16);
    *at = (k / 2) * 32 + 2 * *r + k % 2;
    return (layer * rb + in / 16) * groups + col / 32;
}

/* The int8 of weight (row, col) of a Q8 tensor, and the scale of its group. */
static int q_at(const gpt_small *s, size_t row, int col) {
    int r, at;
    size_t b = block_of(s, row, col, &r, &at);
    return s->q8[b].q[at];
}

static float scale_at(const gpt_small *s, size_t row, int col) {
    int r, at;
    size_t b = block_of(s, row, col, &r, &at);
    return s->q8[b].d[r];
}

/* Stores the (rows, cols) matrix W into rows first.. of s, a group at a time, as the loader
   does. */
static void put_matrix(gpt_small *s, const float *W, int first, int rows, int cols) {
    int r, c0;
    for (r = 0; r < rows; r++)
        for (c0 = 0; c0 < cols; c0 += 32)
            gpt__small_put(s, (size_t)(first + r), c0, W + (size_t)r * cols + c0, 1,
                           cols - c0 < 32 ? cols - c0 : 32);
}

/* bf16 weights sit where gpt_small says: two layers of 20 x 40 (a short row block of 4 and
   a short group of 8), each value the rounding of its float, everything past the edge 0. */
static void test_bf16_layout(void) {
    enum { L = 2, R = 20, C = 40 };
    float W[L * R * C];
    gpt_small s = make_small(GPT_WEIGHTS_BF16, L, R, C);
    size_t blocks = (size_t)L * 2 * 2, set = 0, nonzero = 0;
    gpt_rng rng;
    int ok = 1;
    gpt_rng_seed(&rng, 4);
    for (int i = 0; i < L * R * C; i++) W[i] = gpt_rng_normal(&rng) + 3.0f;   /* never 0 */
    put_matrix(&s, W, 0, L * R, C);
    for (int row = 0; row < L * R; row++)
        for (int col = 0; col < C; col++) {
            int r, at;
            size_t b = block_of(&s, (size_t)row, col, &r, &at);
            ok = ok && s.bf16[b * 512 + at] == gpt__f32_to_bf16(W[row * C + col]);
            set++;
        }
    for (size_t i = 0; i < blocks * 512; i++) nonzero += s.bf16[i] != 0;
    CHECK(ok, "bf16: each weight at (k/2)*32 + 2r + k%%2 of its block");
    CHECK(nonzero == set, "bf16: %lu nonzero values in the blocks, want the %lu weights "
          "(padding stays 0)", (unsigned long)nonzero, (unsigned long)set);
    free_small(&s);
}

static void test_q8_groups(void) {
    enum { R = 3, C = 80 };   /* two whole groups and a short one of 16 */
    float W[R * C], back[C], strided[2 * 32];
    gpt_small s = make_small(GPT_WEIGHTS_Q8, 1, R, C);
    gpt_rng rng;
    int r, i, g, ok = 1, peak_ok = 1;
    gpt_rng_seed(&rng, 3);
    for (i = 0; i < R * C; i++) W[i] = gpt_rng_normal(&rng) * (i < C ? 1.0f : 0.01f);
    for (i = C; i < C + 32; i++) W[i] = 0.0f;                  /* row 1, group 0: all zero */
    W[2 * C + 5] = 40.0f;                                      /* row 2, group 0: an outlier */
    put_matrix(&s, W, 0, R, C);
    for (r = 0; r < R; r++) {
        gpt__small_row(back, &s, (size_t)r);
        for (g = 0; g < 3; g++) {
            float amax = 0.0f, d = scale_at(&s, (size_t)r, 32 * g);
            int n = g < 2 ? 32 : 16, hit = 0;
            for (i = 0; i < n; i++) amax = fmaxf(amax, fabsf(W[r * C + g * 32 + i]));
            ok = ok && d == amax / 127.0f;
            for (i = 0; i < n; i++) {
                int q = q_at(&s, (size_t)r, g * 32 + i);
                ok = ok && q >= -127 && q <= 127 &&
                     fabsf(back[g * 32 + i] - W[r * C + g * 32 + i]) <= 0.5001f * d;
                hit |= q == 127 || q == -127;
            }
            peak_ok = peak_ok && (amax == 0.0f ? d == 0.0f : hit);   /* the max is +-127 */
        }
    }
    CHECK(ok, "q8: scale absmax/127 and every weight within half a step");
    CHECK(peak_ok, "q8: each group's largest weight is +-127, an all-zero group has scale 0");
    CHECK(q_at(&s, 2, 5) == 127 && fabsf(q_at(&s, 2, 6) * scale_at(&s, 2, 6)) <= 40.0f / 127 * 3,
          "q8: the outlier sets its group's step (40/127)");
    /* a strided source (a Conv1D column) gives the same bytes */
    for (i = 0; i < 32; i++) { strided[2 * i] = W[C + 32 + i]; strided[2 * i + 1] = 99.0f; }
    {
        gpt_small t = make_small(GPT_WEIGHTS_Q8, 1, 1, 64);
        int same;
        gpt__small_put(&t, 0, 32, strided, 2, 32);
        same = scale_at(&t, 0, 32) == scale_at(&s, 1, 32);
        for (i = 32; i < 64; i++) same = same && q_at(&t, 0, i) == q_at(&s, 1, i);
        CHECK(same, "q8: strided source");
        free_small(&t);
    }
    free_small(&s);
}

/* ---- q8 activations: quantized once per product, a scale per group of 32 ------------------ */
static void test_q8_activations(void) {
    enum { N = 32 * 5 + 7 };   /* five whole groups and a short one of 7 */
    float x[N], dx[6];
    int16_t xq[N];
    gpt_rng rng;
    gpt_rng_seed(&rng, 8);
    for (int i = 0; i < N; i++) x[i] = gpt_rng_normal(&rng) * (i < 64 ? 3.0f : 0.01f);
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16) + 0.5f;   /* group 0: ties */
    x[31] = 127.0f;                                               /* its max: dx = 1 */
    for (int i = 64; i < 96; i++) x[i] = 0.0f;                    /* group 2: zeros */
    x[100] = NAN;                                                 /* group 3: a NaN */
    x[140] = -INFINITY;                                           /* group 4: infinity */
    gpt__q8_quantize(xq, dx, x, N);
    CHECK(dx[0] == 1.0f && xq[31] == 127 && xq[16] == 0 && xq[17] == 2 && xq[18] == 2 &&
          xq[19] == 4 && xq[15] == 0 && xq[14] == -2 && xq[13] == -2 && xq[12] == -4,
          "q8 activations: ties to even (x+0.5 -> %d %d %d %d)", xq[16], xq[17], xq[18], xq[19]);
    int ok = 1, peak_ok = 1;
    for (int g = 0; g < 6; g++) {
        int n = g < 5 ? 32 : 7, hit = 0;
        float amax = 0.0f;
        if (g == 3 || g == 4) continue;
        for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[g * 32 + i]));
        ok = ok && dx[g] == amax / 127.0f;
        for (int i = 0; i < n; i++) {
            int q = xq[g * 32 + i];
            ok = ok && q >= -127 && q <= 127 &&
                 fabsf(q * dx[g] - x[g * 32 + i]) <= 0.5001f * dx[g];
            hit |= q == 127 || q == -127;
        }
        peak_ok = peak_ok && (amax == 0.0f ? dx[g] == 0.0f : hit);
    }
    CHECK(ok, "q8 activations: dx absmax/127 and every value within half a step");
    CHECK(peak_ok, "q8 activations: each group's largest is +-127, zeros have dx 0");
    int zeros = 1;
    for (int i = 96; i < 160; i++) zeros = zeros && xq[i] == 0;
    CHECK(dx[3] != dx[3] && isinf(dx[4]) && zeros,
          "q8 activations: a NaN or an infinity becomes the scale (%g %g), its group zeros",
          dx[3], dx[4]);
}

/* ---- the products: fast = plain, and both close to fp32 ----------------------------------- */
/* Shapes (OC, C): C below one group, one group, a short last group, GPT-2's 768 and 3072, a
   short last group of one, and more columns than the fast Q8 product quantizes at a time
   (two chunks of GPT__Q8_CHUNK, the second ending in a short group). */
static void test_matvec(void) {
    static const int shapes[][2] = {{37, 5}, {9, 32}, {33, 80}, {64, 768}, {7, 3072},
                                    {50, 33}, {3, GPT__Q8_CHUNK + 80}};
    enum { K = sizeof shapes / sizeof shapes[0] };
    gpt_rng rng;
    gpt_rng_seed(&rng, 11);
    for (int w = GPT_WEIGHTS_BF16; w <= GPT_WEIGHTS_Q8; w++) {
        for (int k = 0; k < K; k++) {
            int OC = shapes[k][0], C = shapes[k][1], G = (C + 31) / 32;
            float *W = (float *)malloc((size_t)OC * C * sizeof(float));
            float *noise = (float *)malloc((size_t)OC * C * sizeof(float));
            float *x = (float *)malloc((size_t)C * sizeof(float)), bias[64];
            float *dx = (float *)malloc((size_t)G * sizeof(float));
            float fast[64], ref[64];
            double worst_fast = 0.0, worst_f32 = 0.0;
            gpt_small s = make_small(w, 2, OC, C);   /* a layer of noise, then W */
            for (int i = 0; i < OC * C; i++) W[i] = 0.05f * gpt_rng_normal(&rng);
            for (int i = 0; i < OC * C; i++) noise[i] = 9.0f * gpt_rng_normal(&rng);
            for (int i = 0; i < C; i++) x[i] = gpt_rng_normal(&rng) * (i % 7 == 3 ? 8.0f : 1.0f);
            for (int o = 0; o < OC; o++) bias[o] = gpt_rng_normal(&rng);
            for (int g = 0; g < G; g++) {   /* the activations' steps, from their definition */
                float amax = 0.0f;
                for (int i = 32 * g; i < C && i < 32 * g + 32; i++) amax = fmaxf(amax, fabsf(x[i]));
                dx[g] = amax / 127.0f;
            }
            put_matrix(&s, noise, 0, OC, C);
            put_matrix(&s, W, OC, OC, C);
            gpt__small_matvec(fast, x, &s, 1, bias);
            gpt__small_matvec_ref(ref, x, &s, 1, bias);
            for (int o = 0; o < OC; o++) {
                double mag = fabs(bias[o]), bound = 0.0, f32 = bias[o];
                for (int i = 0; i < C; i++) {
                    f32 += (double)W[(size_t)o * C + i] * x[i];
                    mag += fabs(W[(size_t)o * C + i] * x[i]);
                }
                /* bf16: 2^-8 of each |w x|. q8: w'x' - wx = (w' - w) x + w' (x' - x), each
                   rounding at most half a step: of the weight's group, of the activation's */
                bound = w == GPT_WEIGHTS_BF16 ? 0x1p-8 * mag : 0.0;
                for (int i = 0; w == GPT_WEIGHTS_Q8 && i < C; i++) {
                    float d = scale_at(&s, (size_t)(OC + o), i);
                    bound += 0.5 * d * fabs(x[i]) +
                             0.5 * dx[i / 32] * fabs(q_at(&s, (size_t)(OC + o), i) * d);
                }
                worst_fast = fmax(worst_fast, fabs(fast[o] - ref[o]) / (1e-6 + mag));
                worst_f32 = fmax(worst_f32, fabs(fast[o] - f32) / (1e-6 + bound + 1e-5 * mag));
            }
            CHECK(worst_fast <= 2e-6, "%s (%d,%d): fast and plain differ by %.3g of sum|wx|",
                  wname[w], OC, C, worst_fast);
            CHECK(worst_f32 <= 1.0, "%s (%d,%d): off fp32 by %.3g of the rounding bound",
                  wname[w], OC, C, worst_f32);
            /* a NaN among the activations reaches every output, as in fp32 */
            x[C / 2] = NAN;
            gpt__small_matvec(fast, x, &s, 1, bias);
            gpt__small_matvec_ref(ref, x, &s, 1, bias);
            CHECK(fast[0] != fast[0] && fast[OC - 1] != fast[OC - 1] && ref[0] != ref[0],
                  "%s (%d,%d): a NaN input gives %g", wname[w], OC, C, fast[0]);
            free(W);
            free(noise);
            free(x);
            free(dx);
            free_small(&s);
        }
    }
}

/* ---- models ------------------------------------------------------------------------------ */
static gpt_config tiny_config(void) {
    gpt_config c;
    c.block_size = 16;
    c.vocab_size = 300;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_embd = 80;   /* groups of 32, 32, 16 */
    return c;
}

static gpt_model *make_model(const gpt_config *c, int w, int max_batch, uint64_t seed) {
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m = NULL;
    gpt_rng rng;
    o.max_batch = max_batch;
    o.max_seq = c->block_size;
    o.training = 0;
    o.kv_cache = 1;
    o.weights = w;
    CHECK(gpt_model_create(&m, c, &o) == GPT_OK, "create %s: %s", wname[w], gpt_last_error());
    if (!m) return NULL;
    gpt_rng_seed(&rng, seed);
    gpt_model_init(m, &rng);
    return m;
}

static void test_refusals(void) {
    gpt_config c = tiny_config(), xl;
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m = NULL;
    gpt_adamw adamw = gpt_adamw_defaults();
    int w;
    for (w = GPT_WEIGHTS_BF16; w <= GPT_WEIGHTS_Q8; w++) {
        o = gpt_model_options_defaults();   /* training 1 */
        o.max_seq = c.block_size;
        o.weights = w;
        CHECK(gpt_model_create(&m, &c, &o) == GPT_ERR_ARG && !m &&
              strstr(gpt_last_error(), "training needs f32 weights"),
              "%s: training must be refused: %s", wname[w], gpt_last_error());
        CHECK(gpt_model_bytes(&c, &o) == 0, "%s training: no size", wname[w]);
        o.training = 0;
        CHECK(gpt_model_create(&m, &c, &o) == GPT_ERR_ARG && !m &&
              strstr(gpt_last_error(), "max_batch 0"),
              "%s: the full forward must be refused: %s", wname[w], gpt_last_error());
        if (!(m = make_model(&c, w, 0, 1))) continue;
        CHECK(gpt_backward(m) == GPT_ERR_ARG && gpt_adamw_step(m, &adamw, 1e-3f) == GPT_ERR_ARG,
              "%s: backward and the optimizer refuse", wname[w]);
        CHECK(gpt_forward(m, &w, NULL, 1, 1, NULL) == GPT_ERR_ARG, "%s: full forward", wname[w]);
        CHECK(gpt_save(m, TMP "/never.safetensors", NULL) == GPT_ERR_ARG &&
              strstr(gpt_last_error(), "f32 models only"), "%s: save refused: %s", wname[w],
              gpt_last_error());
        gpt_model_free(m);
    }
    o = gpt_model_options_defaults();
    o.weights = 3;
    CHECK(gpt_model_create(&m, &c, &o) == GPT_ERR_ARG && !m, "weights 3 is not a format");
    /* gpt2-xl (1.56e9 parameters) with q8 weights and a full KV cache: the whole arena, without
       allocating it (bench/bench_sample.sh measures the peak RSS of sampling it) */
    gpt_config_preset(&xl, "gpt2-xl");
    o = gpt_model_options_defaults();
    o.max_batch = 0;
    o.training = 0;
    o.kv_cache = 1;
    o.weights = GPT_WEIGHTS_Q8;
    CHECK(gpt_model_bytes(&xl, &o) < 2500000000u, "gpt2-xl q8 needs %.3f GB",
          gpt_model_bytes(&xl, &o) / 1e9);
    printf("  gpt2-xl arena: f32 ");
    o.weights = GPT_WEIGHTS_F32;
    printf("%.2f GB, ", gpt_model_bytes(&xl, &o) / 1e9);
    o.weights = GPT_WEIGHTS_BF16;
    printf("bf16 %.2f GB, ", gpt_model_bytes(&xl, &o) / 1e9);
    o.weights = GPT_WEIGHTS_Q8;
    printf("q8 %.2f GB (with a %.2f GB KV cache)\n", gpt_model_bytes(&xl, &o) / 1e9,
           2.0 * 48 * 1024 * 1600 * 4 / 1e9);
}

/* The same seed in three formats: the small models hold the f32 weights, rounded, so their
   logits are close; and their bytes are what gpt_weight_bytes says. */
static void test_same_seed(void) {
    gpt_config c = tiny_config();
    gpt_model *m[3];
    float *ref;
    size_t bf16 = 0, fp32 = 0, q8 = 0;
    int w, pos, v, tok, i;
    for (w = 0; w < 3; w++) m[w] = make_model(&c, w, 0, 42);
    if (!m[0] || !m[1] || !m[2]) return;
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m[0]->tensors[i];
        size_t n = t->size * (size_t)t->layers;
        if (m[1]->tensors[i].data) fp32 += n;
        else {   /* rows padded to 16, columns to groups of 32: bf16 2 bytes a weight; q8 a
                    byte a weight and a 4-byte scale a group */
            size_t rows16 = ((size_t)t->rows + 15) / 16 * 16, groups = ((size_t)t->cols + 31) / 32;
            bf16 += (size_t)t->layers * rows16 * groups * 32 * 2;
            q8 += (size_t)t->layers * rows16 * groups * (32 + 4);
        }
    }
    CHECK(gpt_weight_bytes(m[0]) == 4 * m[0]->num_params &&
          gpt_weight_bytes(m[1]) == 4 * fp32 + bf16 &&
          gpt_weight_bytes(m[2]) == 4 * fp32 + q8,
          "weight bytes %lu %lu %lu", (unsigned long)gpt_weight_bytes(m[0]),
          (unsigned long)gpt_weight_bytes(m[1]), (unsigned long)gpt_weight_bytes(m[2]));
    CHECK(m[2]->params.wte == NULL && m[2]->params.wpe != NULL && m[2]->params.c_fc_w == NULL &&
          m[2]->params.c_fc_b != NULL && m[2]->num_params == m[0]->num_params,
          "small tensors: wte and the matmul weights; wpe, biases, layernorms stay fp32");
    ref = (float *)malloc((size_t)c.vocab_size * sizeof(float));
    for (pos = 0, tok = 7; pos < c.block_size; pos++, tok = (tok * 31 + 5) % c.vocab_size) {
        double scale = 0.0, err[3] = {0, 0, 0};
        for (w = 0; w < 3; w++) {
            float *lg;
            CHECK(gpt_forward_token(m[w], tok, pos, &lg) == GPT_OK, "%s", gpt_last_error());
            if (w == 0) memcpy(ref, lg, (size_t)c.vocab_size * sizeof(float));
            for (v = 0; v < c.vocab_size; v++) {
                if (w == 0) scale = fmax(scale, fabs(ref[v]));
                err[w] = fmax(err[w], fabs(lg[v] - ref[v]));
            }
        }
        /* random weights make logits of about 0.3; the rounding moves them a little */
        CHECK(err[1] <= 0.02 * scale && err[2] <= 0.04 * scale,
              "pos %d: logits off fp32 by %.3g (bf16) %.3g (q8), max |logit| %.3g", pos,
              err[1], err[2], scale);
    }
    free(ref);
    for (w = 0; w < 3; w++) gpt_model_free(m[w]);
}

/* Two models of one format hold the same bytes: small tensors and fp32 ones. */
static int same_weights(const gpt_model *a, const gpt_model *b) {
    size_t fp32 = 0;
    int i, same = 1;
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &a->tensors[i];
        size_t n = t->size * (size_t)t->layers, blocks = (size_t)t->layers *
                   (((size_t)t->rows + 15) / 16) * (((size_t)t->cols + 31) / 32);
        if (t->data) fp32 += n;
        if (a->small[i].bf16)
            same = same && !memcmp(a->small[i].bf16, b->small[i].bf16, blocks * 512 * 2);
        if (a->small[i].q8)
            same = same && !memcmp(a->small[i].q8, b->small[i].q8, blocks * sizeof(gpt_q8_block));
    }
    return same && !memcmp(a->param_memory, b->param_memory, 4 * fp32);
}

/* Loading a file into small weights gives the bytes that rounding the same floats in memory
   gives (wte row by row, the Conv1D weights through their transpose). */
static void test_load(void) {
    gpt_config c = tiny_config();
    gpt_model *f32 = make_model(&c, GPT_WEIGHTS_F32, 0, 9), *mem, *file;
    gpt_load_options lo = gpt_load_options_defaults();
    test_alloc counter = {0, -1};
    int w;
    if (!f32) return;
    CHECK(gpt_save(f32, TINY, NULL) == GPT_OK, "%s", gpt_last_error());
    lo.model.max_batch = 0;
    lo.model.training = 0;
    lo.model.kv_cache = 1;
    for (w = GPT_WEIGHTS_BF16; w <= GPT_WEIGHTS_Q8; w++) {
        mem = make_model(&c, w, 0, 9);
        lo.model.weights = w;
        lo.model.alloc_ctx = &counter;
        file = NULL;
        CHECK(gpt_load(&file, TINY, &lo) == GPT_OK, "%s", gpt_last_error());
        if (mem && file) {
            CHECK(same_weights(mem, file), "%s: loaded small weights differ from rounding the "
                  "same floats in memory", wname[w]);
            memset(file->small[GPT__C_FC_W].q8 ? (void *)file->small[GPT__C_FC_W].q8
                                              : (void *)file->small[GPT__C_FC_W].bf16, 0, 64);
            CHECK(gpt_load_into(file, TINY, NULL) == GPT_OK && same_weights(mem, file),
                  "%s: gpt_load_into a small model: %s", wname[w], gpt_last_error());
        }
        gpt_model_free(file);
        gpt_model_free(mem);
        CHECK(counter.live == 0, "%s: %ld blocks leaked", wname[w], counter.live);
        lo.model.training = 1;   /* the loader refuses to train small weights too */
        lo.model.max_batch = 1;
        CHECK(gpt_load(&file, TINY, &lo) == GPT_ERR_ARG && !file &&
              strstr(gpt_last_error(), "training needs f32"), "%s: load for training: %s",
              wname[w], gpt_last_error());
        lo.model.training = 0;
        lo.model.max_batch = 0;
    }
    gpt_model_free(f32);
}

/* The F16 and BF16 files of the PyTorch fixture: a BF16 file loads into bf16 weights without
   a change (the logits match the same file read as f32), F16 into q8 stays close. */
static void test_fixture_files(void) {
    static const char *const files[2] = {"tests/fixtures/hf_tiny/model_bf16.safetensors",
                                         "tests/fixtures/hf_tiny/model_f16.safetensors"};
    int k;
    for (k = 0; k < 2; k++) {
        gpt_load_options lo = gpt_load_options_defaults();
        gpt_model *a = NULL, *b = NULL;
        float *la, *lb;
        int pos, V;
        double worst = 0.0, scale = 0.0;
        lo.model.max_batch = 0;
        lo.model.training = 0;
        lo.model.kv_cache = 1;
        CHECK(gpt_load(&a, files[k], &lo) == GPT_OK, "%s", gpt_last_error());
        lo.model.weights = k == 0 ? GPT_WEIGHTS_BF16 : GPT_WEIGHTS_Q8;
        CHECK(gpt_load(&b, files[k], &lo) == GPT_OK, "%s", gpt_last_error());
        if (!a || !b) { gpt_model_free(a); gpt_model_free(b); continue; }
        V = a->config.vocab_size;
        for (pos = 0; pos < 12; pos++) {
            int v, tok = (pos * 37 + 11) % V;
            gpt_forward_token(a, tok, pos, &la);
            gpt_forward_token(b, tok, pos, &lb);
            for (v = 0; v < V; v++) {
                worst = fmax(worst, fabs(la[v] - lb[v]));
                scale = fmax(scale, fabs(la[v]));
            }
        }
        if (k == 0)
            CHECK(worst <= 1e-5 * (1 + scale), "BF16 file as bf16 differs from f32 by %.3g",
                  worst);
        else
            CHECK(worst <= 0.03 * scale, "F16 file as q8: logits off by %.3g of %.3g", worst,
                  scale);
        gpt_model_free(a);
        gpt_model_free(b);
    }
}

/* gpt_score = the full forward's loss, window by window; its errors. */
static void test_score(void) {
    gpt_config c = tiny_config();
    gpt_model *m = make_model(&c, GPT_WEIGHTS_F32, 1, 4), *q = make_model(&c, GPT_WEIGHTS_Q8, 0,
                                                                         4);
    int tokens[40], targets[16], i, bad[3] = {1, 300, 2};
    double loss = -1.0, sum = 0.0, got = -1.0, lq = -1.0;
    size_t s, n = 40;   /* windows of 16: 16 + 16 + 7 predictions */
    if (!m || !q) return;
    for (i = 0; i < 40; i++) tokens[i] = (i * 53 + 17) % c.vocab_size;
    for (s = 0; s + 1 < n; s += 16) {
        int T = (int)(n - 1 - s < 16 ? n - 1 - s : 16);
        float l = 0.0f;
        for (i = 0; i < T; i++) targets[i] = tokens[s + i + 1];
        CHECK(gpt_forward(m, tokens + s, targets, 1, T, &l) == GPT_OK, "%s", gpt_last_error());
        sum += (double)l * T;
    }
    CHECK(gpt_score(m, tokens, n, &got) == GPT_OK && fabs(got - sum / 39) <= 1e-5 * sum / 39,
          "gpt_score %.7f, full forward %.7f", got, sum / 39);
    CHECK(gpt_score(q, tokens, n, &lq) == GPT_OK && fabs(lq - got) <= 0.01 * got,
          "q8 score %.6f vs f32 %.6f", lq, got);
    CHECK(gpt_score(m, tokens, 1, &loss) == GPT_ERR_ARG && loss == -1.0, "one token: ARG");
    CHECK(gpt_score(m, bad, 3, &loss) == GPT_ERR_RANGE && loss == -1.0 &&
          strstr(gpt_last_error(), "index 1"), "bad token: %s", gpt_last_error());
    gpt_model_free(m);
    gpt_model_free(q);
}

/* ---- end to end: a model trained here, ./sample --score and --greedy in each format ----- */
static int sh(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line of a file that starts with `start`, into out. */
static int line_of(const char *path, const char *start, char *out, size_t cap) {
    FILE *f = fopen(path, "rb");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, start, strlen(start)) == 0) {
            snprintf(out, cap, "%s", line);
            found = 1;
        }
    if (f) fclose(f);
    return found;
}

static void test_end_to_end(void) {
    static const char *text = "tests/fixtures/train_ref/input.txt";
    char cmd[1024], line[512];
    double loss[3] = {0, 0, 0}, ppl;
    unsigned long n;
    int ids[3][32], w, i, agree[3] = {0, 0, 0}, prefix[3] = {0, 0, 0};
    snprintf(cmd, sizeof cmd, "./train --threads 1 --input %s --layers 2 --heads 2 --embd 48 "
             "--block-size 32 --batch 4 --seq 32 --steps 60 --lr 3e-3 --warmup 5 --val-frac 0 "
             "--out " TMP "/model.safetensors --checkpoint " TMP "/state.safetensors "
             "--overwrite > " TMP "/train.out 2>&1", text);
    CHECK(sh(cmd) == 0, "./train failed: see " TMP "/train.out");
    for (w = 0; w < 3; w++) {
        FILE *f;
        snprintf(cmd, sizeof cmd, "./sample --threads 1 --model " TMP "/model.safetensors "
                 "--weights %s --score %s > " TMP "/score.out 2> " TMP "/score.err", wname[w],
                 text);
        CHECK(sh(cmd) == 0 && line_of(TMP "/score.out", "loss ", line, sizeof line) &&
              sscanf(line, "loss %lf ppl %lf tokens %lu", &loss[w], &ppl, &n) == 3 &&
              fabs(ppl - exp(loss[w])) <= 1e-3 * ppl && n > 800,
              "./sample --weights %s --score: %s", wname[w], line);
        snprintf(cmd, sizeof cmd, "./sample --threads 1 --model " TMP "/model.safetensors "
                 "--weights %s --greedy --ids --tokens 32 --prompt \"First Citizen:\" > " TMP
                 "/greedy.out 2>/dev/null", wname[w]);
        CHECK(sh(cmd) == 0, "greedy %s", wname[w]);
        f = fopen(TMP "/greedy.out", "rb");
        for (i = 0; i < 32; i++) ids[w][i] = -1;
        for (i = 0; f && i < 32 && fscanf(f, "%d", &ids[w][i]) == 1; i++) {}
        if (f) fclose(f);
    }
    for (w = 1; w < 3; w++) {
        for (i = 0; i < 32; i++) agree[w] += ids[w][i] == ids[0][i] && ids[0][i] >= 0;
        while (prefix[w] < 32 && ids[w][prefix[w]] == ids[0][prefix[w]]) prefix[w]++;
    }
    printf("  trained model: loss f32 %.6f, bf16 %.6f (%+.4f%%), q8 %.6f (%+.4f%%); greedy "
           "32 tokens agree with f32: bf16 %d (first %d in a row), q8 %d (first %d)\n", loss[0],
           loss[1], 100 * (loss[1] - loss[0]) / loss[0], loss[2],
           100 * (loss[2] - loss[0]) / loss[0], agree[1], prefix[1], agree[2], prefix[2]);
    CHECK(loss[0] > 0 && fabs(loss[1] - loss[0]) <= 0.005 * loss[0], "bf16 score %.6f vs %.6f",
          loss[1], loss[0]);
    CHECK(loss[0] > 0 && fabs(loss[2] - loss[0]) <= 0.01 * loss[0], "q8 score %.6f vs %.6f",
          loss[2], loss[0]);
    CHECK(agree[1] > 16, "greedy bf16 agrees with f32 on only %d of 32 tokens", agree[1]);
}

/* Bad input: a clear message and exit status 2. */
static void test_bad_input(void) {
    static const struct { const char *args, *message; } cases[] = {
        {"--weights q4", "--weights needs f32, bf16 or q8 (got 'q4')"},
        {"--weights", "missing value"},
        {"--score " TMP "/missing.txt", "cannot open " TMP "/missing.txt: No such file"},
        {"--score " TMP "/empty.txt", TMP "/empty.txt: the file is empty"},
        {"--score " TMP "/one.txt", "1 token, need at least 2"},
    };
    char cmd[1024], err[512];
    FILE *f;
    size_t k;
    if ((f = fopen(TMP "/empty.txt", "wb")) != NULL) fclose(f);
    if ((f = fopen(TMP "/one.txt", "wb")) != NULL) { fputs("Hello", f); fclose(f); }
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(cmd, sizeof cmd, "./sample --model " TMP "/model.safetensors %s > /dev/null "
                 "2> " TMP "/bad.err", cases[k].args);
        err[0] = '\0';
        CHECK(sh(cmd) == 2 && line_of(TMP "/bad.err", "sample: ", err, sizeof err) &&
              strstr(err, cases[k].message), "./sample %s: want exit 2 and '%s', got: %s",
              cases[k].args, cases[k].message, err);
    }
}

int main(void) {
    sh("mkdir -p " TMP "/tiny");
    test_bf16_rounding();
    test_bf16_layout();
    test_q8_groups();
    test_q8_activations();
    test_matvec();
    test_refusals();
    test_same_seed();
    test_load();
    test_fixture_files();
    test_score();
    test_end_to_end();
    test_bad_input();
    return test_report("quant");
}
