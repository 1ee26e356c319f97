/* tests/test_generate.c - generation: the KV cache against the full forward and against
   PyTorch (tests/fixtures/hf_tiny from tests/make_fixtures.py: logits and 20 greedy tokens
   for F32, F16 and BF16 files), the sampler's rules and statistics, and ./sample end to end
   (run from the repository root after `make sample`; `make test` does both). */
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include "test.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIX "tests/fixtures/hf_tiny/"
#define NP 12   /* prompt tokens of the fixture */
#define NG 20   /* greedy tokens after them */

/* Files for ./sample's output, named per process: two `make test` may run at once. */
static char out_path[64], err_path[64], prompt_path[64];

static const char *const dtype_name[3] = {"f32", "f16", "bf16"};
static const char *const model_file[3] = {FIX "model.safetensors", FIX "model_f16.safetensors",
                                          FIX "model_bf16.safetensors"};

typedef struct fixture {
    int V;
    int prompt[NP];
    int greedy[3][NG];   /* PyTorch's greedy continuation for each file */
    float *logits[3];    /* (NP,V) PyTorch's logits of the prompt for each file */
} fixture;

static int load_fixture(fixture *f) {
    gpt_st *st;
    int d, ok;
    char name[32];
    if (gpt_st_open(&st, FIX "expected.safetensors", NULL) != GPT_OK) return 0;
    f->V = (int)gpt_st_find(st, "logits_f32")->shape[2];
    ok = gpt_st_read_int(st, "tokens", f->prompt, NP) == GPT_OK;
    for (d = 0; d < 3; d++) {
        f->logits[d] = (float *)malloc((size_t)NP * f->V * sizeof(float));
        sprintf(name, "greedy_%s", dtype_name[d]);
        ok = ok && gpt_st_read_int(st, name, f->greedy[d], NG) == GPT_OK;
        sprintf(name, "logits_%s", dtype_name[d]);
        ok = ok && gpt_st_read_f32(st, name, f->logits[d], (size_t)NP * f->V) == GPT_OK;
    }
    gpt_st_close(st);
    return ok;
}

static gpt_model *load(const char *path, int kv) {
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_model *m = NULL;
    lo.model.max_batch = 1;
    lo.model.max_seq = 32;
    lo.model.training = 0;
    lo.model.kv_cache = kv;
    CHECK(gpt_load(&m, path, &lo) == GPT_OK, "%s: %s", path, gpt_last_error());
    return m;
}

/* |a-b| <= 1e-5 (1 + |b|) everywhere, in words for the CHECK messages */
static int close_1e5(const float *a, const float *b, size_t n) {
    return test_max_rel(a, b, n, 1.0) <= 1e-5;
}

/* ---- The fixture: logits by both paths, and greedy ids, for each dtype ------------------- */
static void test_pytorch(const fixture *f, int d) {
    gpt_model *m = load(model_file[d], 1);
    gpt_sampler greedy = gpt_sampler_defaults();
    gpt_rng rng;
    float *logits;
    int pos, i, tok = 0, ok = 1, got[NG];
    if (!m) return;
    CHECK(m->config.n_head == 4 && m->config.n_layer == 2 && m->config.vocab_size == f->V,
          "%s: config %d heads %d layers V %d", model_file[d], m->config.n_head,
          m->config.n_layer, m->config.vocab_size);
    CHECK(gpt_forward(m, f->prompt, NULL, 1, NP, NULL) == GPT_OK, "%s", gpt_last_error());
    CHECK(close_1e5(m->acts.logits, f->logits[d], (size_t)NP * f->V),
          "%s: full-forward logits differ from PyTorch's (worst %.3g)", dtype_name[d],
          test_max_rel(m->acts.logits, f->logits[d], (size_t)NP * f->V, 1.0));
    for (pos = 0; pos < NP; pos++) {
        CHECK(gpt_forward_token(m, f->prompt[pos], pos, &logits) == GPT_OK, "%s",
              gpt_last_error());
        ok = ok && close_1e5(logits, f->logits[d] + (size_t)pos * f->V, (size_t)f->V) &&
             close_1e5(logits, m->acts.logits + (size_t)pos * f->V, (size_t)f->V);
    }
    CHECK(ok, "%s: KV-cache logits differ from PyTorch's or the full forward's", dtype_name[d]);
    /* greedy, through the cache: the 20 ids PyTorch chose */
    greedy.greedy = 1;
    gpt_rng_seed(&rng, 1);
    for (i = 0; i < NG; i++) got[i] = -1;   /* a failed step shows as a mismatch */
    for (i = 0; i < NG; i++) {
        if (gpt_sample(m, logits, &greedy, &rng, &tok) != GPT_OK) break;
        got[i] = tok;
        if (gpt_forward_token(m, tok, NP + i, &logits) != GPT_OK) break;
    }
    for (i = 0; i < NG && got[i] == f->greedy[d][i]; i++) {}
    CHECK(i == NG, "%s: greedy id %d is %d, PyTorch's %d", dtype_name[d], i,
          i < NG ? got[i] : 0, i < NG ? f->greedy[d][i] : 0);
    gpt_model_free(m);
}

/* ---- KV cache == full forward on a random model, every position, two sequences ---------- */
static void test_kv_random(void) {
    gpt_config c = {24, 67, 3, 3, 36};   /* block, V, L, NH, C: HS = 12, not a multiple of 8 */
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m;
    gpt_rng rng;
    int tokens[2 * 24], b, t, ok = 1;
    size_t i;
    float *logits;
    o.max_batch = 2;
    o.max_seq = 24;
    o.training = 0;
    o.kv_cache = 1;
    if (gpt_model_create(&m, &c, &o) != GPT_OK) { CHECK(0, "%s", gpt_last_error()); return; }
    gpt_rng_seed(&rng, 3);
    gpt_model_init(m, &rng);
    for (i = 0; i < m->num_params; i++) m->param_memory[i] += 0.1f * gpt_rng_normal(&rng);
    for (t = 0; t < 2 * 24; t++) tokens[t] = (int)(gpt_rng_u32(&rng) % 67);
    CHECK(gpt_forward(m, tokens, NULL, 2, 24, NULL) == GPT_OK, "%s", gpt_last_error());
    for (b = 0; b < 2; b++) {   /* the second sequence restarts at position 0 */
        for (t = 0; t < 24; t++) {
            if (gpt_forward_token(m, tokens[b * 24 + t], t, &logits) != GPT_OK) ok = 0;
            else if (!close_1e5(logits, m->acts.logits + (size_t)(b * 24 + t) * 67, 67)) ok = 0;
        }
    }
    CHECK(ok, "KV-cache logits differ from the full forward's on a random model");
    /* bad calls */
    CHECK(gpt_forward_token(m, 67, 0, NULL) == GPT_ERR_RANGE, "token V accepted");
    CHECK(gpt_forward_token(m, -1, 0, NULL) == GPT_ERR_RANGE, "token -1 accepted");
    CHECK(gpt_forward_token(m, 0, 24, NULL) == GPT_ERR_RANGE, "position block_size accepted");
    CHECK(gpt_forward_token(m, 0, -1, NULL) == GPT_ERR_RANGE, "position -1 accepted");
    CHECK(strstr(gpt_last_error(), "-1") != NULL, "detail: %s", gpt_last_error());
    gpt_model_free(m);
    o.kv_cache = 0;
    if (gpt_model_create(&m, &c, &o) == GPT_OK) {
        CHECK(gpt_forward_token(m, 0, 0, NULL) == GPT_ERR_ARG, "forward_token without cache");
        gpt_model_free(m);
    }
}

/* gpt_sample needs no KV cache: with every sampler setting, a training model without one
   draws the same tokens from the same seed as a model with a cache, and it samples from
   gpt_forward's logits. A weights-only model (no activations, no cache: no logits of its
   own) has no sampling scratch and gets GPT_ERR_ARG. */
static void test_sample_without_cache(void) {
    gpt_config c = {24, 67, 1, 1, 8};
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *with = NULL, *without = NULL;
    float logits[67];
    int i, k, same = 1, n_ok = 0, draws = 0, tok = -7;
    o.max_batch = 1;
    o.max_seq = 4;
    o.training = 1;
    o.kv_cache = 0;
    CHECK(gpt_model_create(&without, &c, &o) == GPT_OK, "%s", gpt_last_error());
    o.training = 0;
    o.kv_cache = 1;
    CHECK(gpt_model_create(&with, &c, &o) == GPT_OK, "%s", gpt_last_error());
    if (!with || !without) { gpt_model_free(with); gpt_model_free(without); return; }
    for (i = 0; i < 67; i++) logits[i] = (float)((i * 37) % 67) / 10.0f;   /* distinct */
    for (k = 0; k < 5; k++) {   /* all, top-k, top-p, both, greedy */
        gpt_sampler s = gpt_sampler_defaults();
        gpt_rng r1, r2;
        s.top_k = k == 0 || k == 2 ? 0 : 10;
        s.top_p = k == 2 || k == 3 ? 0.7f : 1.0f;
        s.greedy = k == 4;
        gpt_rng_seed(&r1, 5);
        gpt_rng_seed(&r2, 5);
        for (i = 0; i < 200; i++) {
            int t1 = -1, t2 = -2;
            n_ok += gpt_sample(with, logits, &s, &r1, &t1) == GPT_OK;
            n_ok += gpt_sample(without, logits, &s, &r2, &t2) == GPT_OK;
            if (t1 != t2 || t2 < 0 || t2 >= 67) same = 0;
            draws += 2;
        }
    }
    CHECK(n_ok == draws, "gpt_sample without a KV cache failed: %s", gpt_last_error());
    CHECK(same, "a model without a KV cache draws other tokens than one with a cache");
    /* on the logits of a full forward, the last position's row */
    {
        int in[4] = {1, 2, 3, 4}, best = 0;
        const float *row = without->acts.logits + 3 * 67;
        gpt_sampler s = gpt_sampler_defaults();
        gpt_rng rng;
        gpt_rng_seed(&rng, 9);
        gpt_model_init(without, &rng);
        s.greedy = 1;
        CHECK(gpt_forward(without, in, NULL, 1, 4, NULL) == GPT_OK, "%s", gpt_last_error());
        for (i = 1; i < 67; i++) if (row[i] > row[best]) best = i;
        CHECK(gpt_sample(without, row, &s, &rng, &tok) == GPT_OK && tok == best,
              "greedy on gpt_forward's logits: %d, the largest is %d", tok, best);
    }
    gpt_model_free(with);
    gpt_model_free(without);
    o.max_batch = 0;
    o.training = 0;
    o.kv_cache = 0;
    if (gpt_model_create(&without, &c, &o) == GPT_OK) {
        gpt_sampler s = gpt_sampler_defaults();
        gpt_rng rng;
        gpt_rng_seed(&rng, 1);
        tok = -7;
        CHECK(gpt_sample(without, logits, &s, &rng, &tok) == GPT_ERR_ARG && tok == -7 &&
              strstr(gpt_last_error(), "max_batch > 0 or kv_cache"),
              "sampling with a weights-only model: %s", gpt_last_error());
        gpt_model_free(without);
    }
}

/* ---- The sampler ---------------------------------------------------------------------------
   gpt_sample only needs the model for its scratch (kv.probs, kv.order) and V. These models
   have activations for one position and no KV cache: the scratch comes with either. */
static gpt_model *sampler_model(int V) {
    gpt_config c = {4, 0, 1, 1, 8};
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m = NULL;
    c.vocab_size = V;
    o.max_batch = 1;
    o.max_seq = 1;
    o.training = 0;
    o.kv_cache = 0;
    CHECK(gpt_model_create(&m, &c, &o) == GPT_OK, "%s", gpt_last_error());
    return m;
}

static int argmax(const float *x, int n) {
    int i, best = 0;
    for (i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* q = the distribution gpt_sample must draw from, computed the way Hugging Face's generate()
   does: softmax(logits / T) in double; cut to the top_k most likely and renormalise; then
   cut to the smallest most-likely set whose (renormalised) mass reaches top_p, and
   renormalise. Also returns the smallest kept probability (before renormalising) in *p_min.
   V <= 1024, distinct logits. */
static void expected(double *q, double *p_min, const float *logits, int V,
                     const gpt_sampler *s) {
    double sorted[1024], sum = 0.0, mass = 0.0, maxv = logits[argmax(logits, V)];
    int v, kept = 0, k = s->top_k > 0 && s->top_k < V ? s->top_k : V;
    for (v = 0; v < V; v++) sum += (q[v] = exp(((double)logits[v] - maxv) / s->temperature));
    for (v = 0; v < V; v++) sorted[v] = (q[v] /= sum);
    qsort(sorted, (size_t)V, sizeof(double), cmp_desc);
    for (sum = 0.0, v = 0; v < k; v++) sum += sorted[v];    /* the top-k mass */
    for (kept = 0; kept < k; kept++) {
        if (kept > 0 && mass / sum >= s->top_p) break;
        mass += sorted[kept];
    }
    *p_min = sorted[kept - 1];
    for (v = 0; v < V; v++) q[v] = q[v] >= *p_min ? q[v] / mass : 0.0;
}

/* Frequencies of N draws against the expected probabilities: a chi-square statistic over the
   kept tokens (7 degrees of freedom at most; P(chi2_7 > 50) is about 1e-8, and the draws are
   a fixed function of the random seed, so this never flakes), and cut tokens must never appear. */
static void test_frequencies(gpt_model *m, const float *logits, gpt_sampler s, const char *what) {
    enum { N = 100000 };
    long count[8] = {0};
    double q[8], p_min, chi2 = 0.0;
    gpt_rng rng;
    int i, tok, cut_drawn = 0;
    gpt_rng_seed(&rng, 2024);
    for (i = 0; i < N; i++) {
        if (gpt_sample(m, logits, &s, &rng, &tok) != GPT_OK || tok < 0 || tok >= 8) break;
        count[tok]++;
    }
    CHECK(i == N, "%s: a draw failed", what);
    expected(q, &p_min, logits, 8, &s);
    for (i = 0; i < 8; i++) {
        if (q[i] > 0.0) chi2 += (count[i] - N * q[i]) * (count[i] - N * q[i]) / (N * q[i]);
        else cut_drawn += count[i] != 0;
    }
    i = argmax(logits, 8);
    CHECK(test_close((double)count[i] / N, q[i], 0.01, 0.0), "%s: the most likely token drawn "
          "%.4f of the time, expected %.4f", what, (double)count[i] / N, q[i]);
    CHECK(chi2 < 50.0 && cut_drawn == 0, "%s: frequencies do not follow the probabilities "
          "(chi-square %.1f, %d cut tokens drawn)", what, chi2, cut_drawn);
}

static void test_sampler_rules(void) {
    static const float l8[8] = {0.5f, 2.0f, -1.0f, 1.0f, -3.0f, 1.5f, 0.0f, -0.5f};
    gpt_model *m8 = sampler_model(8);
    gpt_sampler s = gpt_sampler_defaults();
    gpt_rng rng;
    int tok;
    if (!m8) return;
    gpt_rng_seed(&rng, 1);
    /* bad options: an error, and the token untouched */
    {
        float bad_t[3] = {0.0f, -1.0f, (float)NAN}, bad_p[3] = {0.0f, 1.5f, (float)NAN};
        int i;
        for (i = 0; i < 3; i++) {
            gpt_sampler b = gpt_sampler_defaults();
            tok = -7;
            b.temperature = bad_t[i];
            CHECK(gpt_sample(m8, l8, &b, &rng, &tok) == GPT_ERR_ARG && tok == -7,
                  "temperature %g accepted", bad_t[i]);
            b = gpt_sampler_defaults();
            b.top_p = bad_p[i];
            CHECK(gpt_sample(m8, l8, &b, &rng, &tok) == GPT_ERR_ARG && tok == -7,
                  "top_p %g accepted", bad_p[i]);
        }
        s.top_k = -1;
        CHECK(gpt_sample(m8, l8, &s, &rng, &tok) == GPT_ERR_ARG && tok == -7, "top_k -1");
        CHECK(strstr(gpt_last_error(), "top_k") != NULL, "detail: %s", gpt_last_error());
        s = gpt_sampler_defaults();
        s.greedy = 1;
        s.temperature = 0.0f;   /* greedy ignores the temperature */
        CHECK(gpt_sample(m8, l8, &s, &rng, &tok) == GPT_OK && tok == 1, "greedy: %d", tok);
    }
    /* greedy breaks ties towards the lower id, and so does top_k = 1 */
    {
        float ties[8] = {0, 0, 0, 1, 0, 0, 0, 1}, zeros[8] = {0};
        s = gpt_sampler_defaults();
        s.greedy = 1;
        CHECK(gpt_sample(m8, ties, &s, &rng, &tok) == GPT_OK && tok == 3, "tie: %d", tok);
        CHECK(gpt_sample(m8, zeros, &s, &rng, &tok) == GPT_OK && tok == 0, "zeros: %d", tok);
        s = gpt_sampler_defaults();
        s.top_k = 1;
        CHECK(gpt_sample(m8, ties, &s, &rng, &tok) == GPT_OK && tok == 3, "top-1 tie: %d", tok);
    }
    /* the frequencies, for each way of shaping the distribution */
    s = gpt_sampler_defaults();
    s.top_k = 0;
    test_frequencies(m8, l8, s, "T=1");
    s.temperature = 0.5f;
    test_frequencies(m8, l8, s, "T=0.5");
    s.temperature = 2.0f;
    test_frequencies(m8, l8, s, "T=2");
    s.temperature = 1.0f;
    s.top_k = 3;
    test_frequencies(m8, l8, s, "top_k=3");
    s.top_k = 0;
    s.top_p = 0.6f;   /* the two most likely: mass 0.650 (the first alone: 0.405) */
    test_frequencies(m8, l8, s, "top_p=0.6");
    s.top_k = 3;
    s.top_p = 0.85f;  /* top_p would keep 4 (0.889), top_k keeps 3 */
    test_frequencies(m8, l8, s, "top_k=3 top_p=0.85");
    s.top_k = 5;      /* now top_p decides: 4 tokens (0.846 of the top 5's mass) */
    test_frequencies(m8, l8, s, "top_k=5 top_p=0.85");
    s.top_k = 3;      /* top_p counts within the top 3's mass (0.799): the first two make
                         0.814 of it, so 2 are kept (of all V's mass they are only 0.650) */
    s.top_p = 0.7f;
    test_frequencies(m8, l8, s, "top_k=3 top_p=0.7");
    gpt_model_free(m8);
}

/* On many random logit vectors (V = 1000): the rules that hold for every single draw. */
static void test_sampler_random(void) {
    enum { V = 1000, VECTORS = 300 };
    gpt_model *m = sampler_model(V);
    gpt_sampler s, g = gpt_sampler_defaults();
    gpt_rng rng, r1, r2;
    float logits[V];
    double q[V], p_min;
    int i, j, v, tok = 0, best = 0, ok_k1 = 1, ok_p = 1, ok_cold = 1, ok_topk = 1, ok_topp = 1;
    int same = 1, differ = 0;
    if (!m) return;
    g.greedy = 1;
    gpt_rng_seed(&rng, 11);
    for (i = 0; i < VECTORS; i++) {
        for (v = 0; v < V; v++) logits[v] = 3.0f * gpt_rng_normal(&rng);
        gpt_sample(m, logits, &g, &rng, &best);
        s = gpt_sampler_defaults();
        s.temperature = 0.3f + 0.01f * (float)i;
        s.top_k = 1;                          /* top_k = 1 is greedy, at any temperature */
        ok_k1 &= gpt_sample(m, logits, &s, &rng, &tok) == GPT_OK && tok == best;
        s.top_k = 0;
        s.top_p = 1e-6f;                      /* so is a tiny nucleus */
        ok_p &= gpt_sample(m, logits, &s, &rng, &tok) == GPT_OK && tok == best;
        /* top_k = 5: never a token with 5 or more logits above it */
        s = gpt_sampler_defaults();
        s.top_k = 5;
        s.temperature = 1.5f;
        for (j = 0; j < 4; j++) {
            int above = 0;
            gpt_sample(m, logits, &s, &rng, &tok);
            for (v = 0; v < V; v++) above += logits[v] > logits[tok];
            ok_topk &= above < 5;
        }
        /* top_p = 0.7: only tokens of the nucleus (probability at least its smallest) */
        s.top_k = 0;
        s.top_p = 0.7f;
        expected(q, &p_min, logits, V, &s);
        for (j = 0; j < 4; j++) {
            gpt_sample(m, logits, &s, &rng, &tok);
            ok_topp &= q[tok] > 0.0;
        }
        /* a very low temperature: the argmax, once it leads by 0.1 (exp(-100) is 0 in float) */
        logits[best] += 0.1f;
        s = gpt_sampler_defaults();
        s.temperature = 1e-3f;
        for (j = 0; j < 2; j++) {
            s.top_k = j ? 50 : 0;
            ok_cold &= gpt_sample(m, logits, &s, &rng, &tok) == GPT_OK && tok == best;
        }
    }
    CHECK(ok_k1, "top_k = 1 is not greedy");
    CHECK(ok_p, "top_p = 1e-6 is not greedy");
    CHECK(ok_topk, "top_k = 5 drew a token outside the 5 most likely");
    CHECK(ok_topp, "top_p = 0.7 drew a token outside the nucleus");
    CHECK(ok_cold, "temperature 1e-3 did not give the argmax");
    /* top-k keeps exactly the k best by (logit, lower id first): logits of few distinct
       values make ties everywhere; at a high temperature every kept token is drawn */
    for (i = 0; i < 3; i++) {
        static const int ks[3] = {1, 17, 400};
        int k = ks[i], seen[V] = {0}, want = 0, got_ok = 1, n_seen = 0;
        for (v = 0; v < V; v++) logits[v] = (float)(int)(4.0f * gpt_rng_uniform(&rng));
        s = gpt_sampler_defaults();
        s.top_k = k;
        s.temperature = 1000.0f;
        for (j = 0; j < 40 * k; j++) {
            if (gpt_sample(m, logits, &s, &rng, &tok) != GPT_OK) break;
            n_seen += !seen[tok];
            seen[tok] = 1;
        }
        for (v = 0; v < V; v++) {   /* v is kept iff fewer than k tokens come before it */
            int before = 0, u;
            for (u = 0; u < V; u++)
                before += logits[u] > logits[v] || (logits[u] == logits[v] && u < v);
            want += before < k;
            got_ok &= seen[v] == (before < k);
        }
        CHECK(want == k && n_seen == k && got_ok, "top_k = %d: drew %d distinct tokens, not "
              "exactly the %d best (ties to the lower id)", k, n_seen, k);
    }
    /* the same seed gives the same tokens; another seed other tokens */
    s = gpt_sampler_defaults();
    gpt_rng_seed(&r1, 5);
    gpt_rng_seed(&r2, 5);
    for (i = 0; i < 200; i++) {
        int t1 = 0, t2 = 0;
        gpt_sample(m, logits, &s, &r1, &t1);
        gpt_sample(m, logits, &s, &r2, &t2);
        same &= t1 == t2;
    }
    gpt_rng_seed(&r2, 6);
    for (i = 0; i < 200; i++) {
        int t1 = 0, t2 = 0;
        gpt_sample(m, logits, &s, &r1, &t1);
        gpt_sample(m, logits, &s, &r2, &t2);
        differ += t1 != t2;
    }
    CHECK(same && differ > 0, "seeds: same %d, differing draws %d", same, differ);
    gpt_model_free(m);
}

/* ---- ./sample end to end ------------------------------------------------------------------ */

/* Runs "./sample ARGS >out_path 2>err_path" and returns its exit status (0 = success). */
static int run_sample(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "./sample --threads 1 %s >%s 2>%s", args, out_path, err_path);
    return system(cmd);
}

/* The contents of a file, 0-terminated, in a static buffer. */
static const char *slurp(const char *path) {
    static char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Reads the whitespace-separated ids of out_path; returns how many (at most cap). */
static int read_ids(int *ids, int cap) {
    const char *s = slurp(out_path);
    char *end;
    int n = 0;
    for (;;) {
        long v = strtol(s, &end, 10);
        if (end == s || n == cap) return n;
        ids[n++] = (int)v;
        s = end;
    }
}

static void ids_text(char *out, const int *ids, int n) {
    int i;
    out[0] = '\0';
    for (i = 0; i < n; i++) sprintf(out + strlen(out), i ? " %d" : "%d", ids[i]);
}

/* The context-sliding rule of ./sample (keep the last block/2 tokens when full), computed
   with the full forward over the whole window each step: n greedy ids after the prompt. */
static void slide_reference(gpt_model *m, const int *prompt, int n, int *out) {
    int ctx[64], len = NP, maxT = m->config.block_size, V = m->config.vocab_size, g;
    gpt_sampler greedy = gpt_sampler_defaults();
    gpt_rng rng;
    greedy.greedy = 1;
    gpt_rng_seed(&rng, 1);
    memcpy(ctx, prompt, NP * sizeof(int));
    for (g = 0; g < n; g++) {
        gpt_forward(m, ctx, NULL, 1, len, NULL);
        gpt_sample(m, m->acts.logits + (size_t)(len - 1) * V, &greedy, &rng, &out[g]);
        if (len == maxT) {
            memmove(ctx, ctx + maxT - maxT / 2, (size_t)(maxT / 2) * sizeof(int));
            len = maxT / 2;
        }
        ctx[len++] = out[g];
    }
}

static void test_sample_program(const fixture *f) {
    char prompt[256], args[1024], want[1024];
    int ids[128], n, d, slid[45];
    FILE *probe = fopen("sample", "rb");
    CHECK(probe != NULL, "./sample is missing: run `make sample` (or `make test`) first");
    if (!probe) return;
    fclose(probe);
    ids_text(prompt, f->prompt, NP);
    /* greedy ids, each dtype: PyTorch's */
    for (d = 0; d < 3; d++) {
        snprintf(args, sizeof args, "--model %s --ids --greedy --tokens %d --threads 1 "
                 "--prompt-ids \"%s\"", model_file[d], NG, prompt);
        CHECK(run_sample(args) == 0, "./sample %s: %s", args, slurp(err_path));
        n = read_ids(ids, 128);
        CHECK(n == NG && memcmp(ids, f->greedy[d], sizeof f->greedy[d]) == 0,
              "./sample --ids --greedy (%s) gave %d ids: %s", dtype_name[d], n, slurp(out_path));
        CHECK(strstr(slurp(err_path), "20 tokens in") && strstr(slurp(err_path), "tokens/s"),
              "summary line: %s", slurp(err_path));
    }
    /* past the context of 32: the window slides (12 + 45 tokens) */
    {
        gpt_model *m = load(model_file[0], 1);
        if (m) {
            slide_reference(m, f->prompt, 45, slid);
            gpt_model_free(m);
            snprintf(args, sizeof args, "--model %s --ids --greedy --tokens 45 --prompt-ids "
                     "\"%s\"", model_file[0], prompt);
            CHECK(run_sample(args) == 0, "%s", slurp(err_path));
            CHECK(read_ids(ids, 128) == 45 && memcmp(ids, slid, sizeof slid) == 0,
                  "sliding window: %s", slurp(out_path));
        }
    }
    /* two greedy samples are equal; sampling repeats with a seed and changes with another */
    snprintf(args, sizeof args, "--model %s --ids --greedy --num-samples 2 --prompt-ids \"%s\"",
             model_file[0], prompt);
    CHECK(run_sample(args) == 0, "%s", slurp(err_path));
    CHECK(read_ids(ids, 128) == 2 * 64 && memcmp(ids, ids + 64, 64 * sizeof(int)) == 0,
          "--num-samples 2 --greedy: %s", slurp(out_path));
    snprintf(args, sizeof args, "--model %s --ids --seed 5 --prompt-ids \"%s\"", model_file[0],
             prompt);
    run_sample(args);
    strcpy(want, slurp(out_path));
    CHECK(run_sample(args) == 0 && strcmp(want, slurp(out_path)) == 0, "--seed 5 twice differs");
    snprintf(args, sizeof args, "--model %s --ids --seed 6 --prompt-ids \"%s\"", model_file[0],
             prompt);
    CHECK(run_sample(args) == 0 && strcmp(want, slurp(out_path)) != 0, "--seed 6 == --seed 5");
}

/* Text out: the prompt and the continuation decoded, whichever way the prompt came in. */
static void test_sample_text(void) {
    gpt_tokenizer *tok = NULL;
    char args[1024], want[4096], first[4096];
    size_t len = 0;
    int ids[64], n;
    FILE *f;
    if (gpt_tok_load_dir(&tok, "data", NULL) != GPT_OK) {
        CHECK(0, "data/: %s", gpt_last_error());
        return;
    }
    /* "a" is the single token 64; what follows it, as ids and as text */
    snprintf(args, sizeof args, "--model %s --greedy --ids --tokens 20 --prompt-ids 64",
             model_file[0]);
    CHECK(run_sample(args) == 0, "%s", slurp(err_path));
    n = read_ids(ids, 64);
    want[0] = 'a';
    CHECK(n == 20 && gpt_tok_decode(tok, ids, (size_t)n, want + 1, 4000, &len) == GPT_OK,
          "decode: %s", gpt_last_error());
    strcpy(want + 1 + len, "\n");
    snprintf(args, sizeof args, "--model %s --greedy --tokens 20 --prompt a", model_file[0]);
    CHECK(run_sample(args) == 0 && strcmp(slurp(out_path), want) == 0, "--prompt a: '%s'",
          slurp(out_path));
    strcpy(first, slurp(out_path));
    f = fopen(prompt_path, "wb");
    if (f) { fputs("a", f); fclose(f); }
    snprintf(args, sizeof args, "--model %s --greedy --tokens 20 --prompt-file %s",
             model_file[0], prompt_path);
    CHECK(run_sample(args) == 0 && strcmp(slurp(out_path), first) == 0, "--prompt-file");
    snprintf(args, sizeof args, "--model %s --greedy --tokens 20 --prompt-file - <%s",
             model_file[0], prompt_path);
    CHECK(run_sample(args) == 0 && strcmp(slurp(out_path), first) == 0, "--prompt-file -");
    snprintf(args, sizeof args, "--model %s --greedy --tokens 20 --prompt-ids 64",
             model_file[0]);
    CHECK(run_sample(args) == 0 && strcmp(slurp(out_path), first) == 0, "--prompt-ids, text out");
    gpt_tok_free(tok);
}

/* Each bad call: a non-zero exit and a message that names the culprit. */
static void test_sample_errors(void) {
    static const char *const cases[][2] = {
        {"--temperature 0", "--temperature"},
        {"--temperature -1", "--temperature"},
        {"--top-p 1.5", "--top-p"},
        {"--top-p 0", "--top-p"},
        {"--top-k -1", "--top-k"},
        {"--tokens -1", "--tokens"},
        {"--tokens 12x", "--tokens"},
        {"--num-samples 0", "--num-samples"},
        {"--bogus", "--bogus"},
        {"--prompt a --prompt-ids 1", "at most one"},
        {"--model tests/bin/no_such_model.safetensors", "no_such_model.safetensors"},
        {"--model " FIX "config.json", "config.json"},
        {"--model " FIX "model.safetensors --ids --prompt-ids \"1 101\"", "101"},
        {"--model " FIX "model.safetensors --ids --prompt-ids \"1 -2\"", "-2"},
        {"--model " FIX "model.safetensors --prompt \"Hello world\"", "vocabulary"},
        {"--model " FIX "model.safetensors", "<|endoftext|>"},
        {"--model " FIX "model.safetensors --vocab tests/bin", "vocab"},
        {"--model " FIX "model.safetensors --prompt-file tests/bin/no_such_prompt",
         "no_such_prompt"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = run_sample(cases[i][0]);
        CHECK(status != 0 && strstr(slurp(err_path), cases[i][1]) != NULL,
              "./sample %s: status %d, stderr '%s' (expected to mention '%s')", cases[i][0],
              status, slurp(err_path), cases[i][1]);
    }
    CHECK(run_sample("--help") == 0 && strstr(slurp(out_path), "--top-p") &&
          strstr(slurp(out_path), "block_size/2"), "--help: %s", slurp(out_path));
}

int main(void) {
    fixture f;
    int d;
    unsigned long id = (unsigned long)time(NULL) ^ (unsigned long)(uintptr_t)&f;
    sprintf(out_path, "tests/bin/generate_%lx.out", id);
    sprintf(err_path, "tests/bin/generate_%lx.err", id);
    sprintf(prompt_path, "tests/bin/generate_%lx.txt", id);
    if (!load_fixture(&f)) {
        CHECK(0, FIX "expected.safetensors: %s", gpt_last_error());
        return test_report("generate");
    }
    for (d = 0; d < 3; d++) test_pytorch(&f, d);
    test_kv_random();
    test_sample_without_cache();
    test_sampler_rules();
    test_sampler_random();
    test_sample_program(&f);
    test_sample_text();
    test_sample_errors();
    for (d = 0; d < 3; d++) free(f.logits[d]);
    remove(out_path);
    remove(err_path);
    remove(prompt_path);
    return test_report("generate");
}
