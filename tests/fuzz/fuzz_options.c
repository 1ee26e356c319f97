/* tests/fuzz/fuzz_options.c - libFuzzer harness for out-of-range options: every number a
   caller passes to gpt.h outside a file (configurations, model options, batch shapes, token
   ids and positions, sampler settings and logits, the learning-rate schedule, the data
   loader, AdamW and clipping settings) taken from the fuzzer's bytes, NaN and infinities
   included.

   The promise: a bad value is an error code (or, for gpt_schedule_lr, a number), never undefined
   behaviour, a crash or an out-of-range answer. Checked besides crashes and UBSan reports:
     - gpt_model_bytes is 0 exactly when gpt_config_check or the options refuse;
     - gpt_sample gives a token in [0, V), and with finite logits and top_k > 0 one of the
       top_k most likely (larger logit, ties to the lower id), never one of probability 0;
     - the data loader's batches stay inside the token array.

   Input: read as a stream of little-endian numbers (zeros once it runs out), in the order of
   the steps below. */
#include "fuzz.h"
#include <math.h>

#define V 7   /* the small model's vocabulary */

static gpt_model *model;   /* (V=7, C=4, NH=2, L=1, block 5), training, KV cache, B<=2, T<=3 */

typedef struct reader { const uint8_t *p; size_t n; } reader;

static uint32_t take_u32(reader *r) {
    uint32_t x = 0;
    int i;
    for (i = 0; i < 4 && r->n > 0; i++, r->p++, r->n--) x |= (uint32_t)*r->p << (8 * i);
    return x;
}
static int take_int(reader *r) {
    uint32_t u = take_u32(r);
    int x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static float take_f32(reader *r) {
    uint32_t u = take_u32(r);
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static long take_long(reader *r) {
    uint64_t u = take_u32(r) | (uint64_t)take_u32(r) << 32;
    int64_t x;
    memcpy(&x, &u, sizeof x);
    return (long)x;
}
static double take_f64(reader *r) {
    uint64_t u = take_u32(r) | (uint64_t)take_u32(r) << 32;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    gpt_config c = {5, V, 1, 2, 4};   /* block, vocab, layers, heads, embd */
    gpt_model_options o = gpt_model_options_defaults();
    gpt_rng rng;
    (void)argc;
    (void)argv;
    o.max_batch = 2;
    o.max_seq = 3;
    o.kv_cache = 1;
    if (gpt_model_create(&model, &c, &o) != GPT_OK) abort();
    gpt_rng_seed(&rng, 9);
    gpt_model_init(model, &rng);
    fuzz_live_base = fuzz_live;
    return 0;
}

/* 1. a configuration and options: check, size, create */
static void check_config(reader *r) {
    gpt_config c;
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m = NULL;
    size_t bytes;
    int ok, rc;
    c.block_size = take_int(r) % 64;
    c.vocab_size = take_int(r);
    c.n_layer = take_int(r);
    c.n_head = take_int(r);
    c.n_embd = take_int(r);
    o.max_batch = take_int(r);
    o.max_seq = take_int(r);
    o.training = take_int(r) & 1;
    o.kv_cache = take_int(r) & 1;
    ok = gpt_config_check(&c) == GPT_OK;
    bytes = gpt_model_bytes(&c, &o);
    FUZZ_ASSERT(ok || bytes == 0, "gpt_model_bytes %lu for an invalid config",
                (unsigned long)bytes);
    if (bytes > 0 && bytes <= ((size_t)64 << 20)) {   /* small enough to make */
        rc = gpt_model_create(&m, &c, &o);
        FUZZ_ASSERT(rc == GPT_OK && m && m->arena_bytes >= bytes, "create: %s", gpt_last_error());
        gpt_model_free(m);
    } else if (bytes == 0) {
        rc = gpt_model_create(&m, &c, &o);
        FUZZ_ASSERT(rc != GPT_OK && m == NULL, "created a model gpt_model_bytes refused");
    }
}

/* 2. forward passes of any shape, tokens and positions */
static void check_forward(reader *r) {
    int tokens[6], targets[6], B = take_int(r), T = take_int(r), i, rc;
    float loss = 0, *logits = NULL;
    for (i = 0; i < 6; i++) {
        tokens[i] = take_int(r) % (V + 2);
        targets[i] = take_int(r) % (V + 2);
    }
    /* (crashes/options_forward_overflow: B*T was computed before B and T were checked) */
    rc = gpt_forward(model, tokens, (take_u32(r) & 1) ? targets : NULL, B, T, &loss);
    FUZZ_CHECK_RC(rc);
    if (rc == GPT_OK && gpt_backward(model) == GPT_OK)
        FUZZ_ASSERT(gpt_clip_grad_norm(model, take_f32(r), NULL) == GPT_OK, "clip: %s",
                    gpt_last_error());
    rc = gpt_forward_token(model, take_int(r), take_int(r), &logits);
    FUZZ_ASSERT(rc == GPT_OK || rc == GPT_ERR_RANGE, "forward_token: %d", rc);
}

/* 3. sampling with any settings and logits */
static void check_sample(reader *r) {
    float logits[V];
    gpt_sampler s;
    gpt_rng rng;
    int token = -5, rc, i, finite = 1, before = 0;
    for (i = 0; i < V; i++) {
        logits[i] = take_f32(r);
        finite &= isfinite(logits[i]) != 0;
    }
    s.temperature = take_f32(r);
    s.top_k = take_int(r);
    s.top_p = take_f32(r);
    s.greedy = take_int(r) & 1;
    gpt_rng_seed(&rng, take_u32(r));
    rc = gpt_sample(model, logits, &s, &rng, &token);
    FUZZ_ASSERT(rc == GPT_OK || rc == GPT_ERR_ARG, "sample: %d", rc);
    if (rc != GPT_OK) return;
    FUZZ_ASSERT(token >= 0 && token < V, "sampled token %d", token);
    if (!finite) return;
    for (i = 0; i < V; i++)   /* tokens more likely than the one drawn */
        before += logits[i] > logits[token] || (logits[i] == logits[token] && i < token);
    if (s.greedy || s.top_k == 1) FUZZ_ASSERT(before == 0, "greedy drew the %d-th best", before);
    else if (s.top_k > 0) FUZZ_ASSERT(before < s.top_k, "top_k %d drew the token after %d "
                                      "better ones", s.top_k, before);
    if (!s.greedy && isfinite(s.temperature)) {
        float best = logits[0];
        for (i = 1; i < V; i++) if (logits[i] > best) best = logits[i];
        FUZZ_ASSERT(expf((logits[token] - best) / s.temperature) > 0.0f,
                    "drew token %d of probability 0 (logit %g, best %g, temperature %g)",
                    token, logits[token], best, s.temperature);
    }
}

/* 4. the learning rate at any step of any schedule */
static void check_lr(reader *r) {
    gpt_schedule s;
    long step;
    double lr;
    s.max_lr = take_f32(r);
    s.min_lr = take_f32(r);
    s.warmup_steps = take_long(r);
    s.total_steps = take_long(r);
    step = take_long(r);
    /* (crashes/options_lr_overflow: with a negative warmup, differences overflowed a long) */
    lr = gpt_schedule_lr(&s, step);
    if (s.warmup_steps >= 0 && s.total_steps >= s.warmup_steps && step >= 0 &&
        isfinite(s.max_lr) && isfinite(s.min_lr) && s.min_lr >= 0 && s.min_lr <= s.max_lr &&
        s.max_lr < 1e30f)
        FUZZ_ASSERT(lr >= 0 && lr <= s.max_lr * 1.0001f, "lr %g outside [0, %g]", lr, s.max_lr);
}

/* 5. the data loader over n tokens with any batch shape */
static void check_loader(reader *r) {
    size_t n = take_u32(r) % 4096, k;
    int B = take_int(r), T = take_int(r), *tokens = (int *)malloc((n + 1) * sizeof(int));
    gpt_loader l;
    memset(&l, 0, sizeof l);   /* (gcc cannot see that it is only read after init) */
    for (k = 0; k < n; k++) tokens[k] = (int)k;
    if (gpt_loader_init(&l, tokens, n, B, T) == GPT_OK) {
        size_t BT = (size_t)B * (size_t)T;
        int *in = (int *)malloc(BT * sizeof(int)), *tg = (int *)malloc(BT * sizeof(int));
        FUZZ_ASSERT(B >= 1 && T >= 1 && BT + 1 <= n, "loader accepted B %d T %d for %lu", B, T,
                    (unsigned long)n);
        for (k = 0; k < 2 * gpt_loader_steps_per_epoch(&l) + 2 && k < 64; k++) {
            FUZZ_ASSERT(l.pos + BT + 1 <= n, "batch at %lu", (unsigned long)l.pos);
            gpt_loader_next(&l, in, tg);
        }
        free(in);
        free(tg);
    }
    free(tokens);
}

/* 6. AdamW with any hyperparameters (on the training model) */
static void check_adamw(reader *r) {
    gpt_adamw a;
    a.beta1 = take_f64(r);
    a.beta2 = take_f64(r);
    a.eps = take_f64(r);
    a.weight_decay = take_f64(r);
    FUZZ_ASSERT(gpt_adamw_step(model, &a, take_f32(r)) == GPT_OK, "adamw");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r;
    gpt_rng rng;
    r.p = data;
    r.n = size;
    fuzz_input_size = size;
    gpt_rng_seed(&rng, 9);
    gpt_model_init(model, &rng);   /* the same model for every input */
    check_config(&r);
    check_forward(&r);
    check_sample(&r);
    check_lr(&r);
    check_loader(&r);
    check_adamw(&r);
    FUZZ_CHECK_NO_LEAK();
    return 0;
}
