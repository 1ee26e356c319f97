/* gpt.h v0.1.0 - GPT-2 in one C header: train, load OpenAI's weights, sample. MIT licence.

   ==========================================================================================
   QUICK START
   ==========================================================================================
   In exactly one C file of your project:

       #define GPT_IMPLEMENTATION
       #include "gpt.h"

   Everywhere else just `#include "gpt.h"`. A whole training step:

       gpt_config cfg;   gpt_config_preset(&cfg, "gpt2");
       gpt_options opt = gpt_options_defaults();          // B=4, T=32, training on
       gpt_model *m;     if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) fail(gpt_last_error());
       gpt_rng rng;      gpt_rng_seed(&rng, 1337);  gpt_model_init(m, &rng);
       gpt_adamw adamw = gpt_adamw_defaults();
       float loss;
       gpt_forward(m, inputs, targets, 4, 32, &loss);    // inputs, targets: int[4*32]
       gpt_zero_grad(m);  gpt_backward(m);
       gpt_clip_grad_norm(m, 1.0f);
       gpt_adamw_step(m, &adamw, 6e-4f);
       gpt_model_free(m);

   ==========================================================================================
   DOES / DOES NOT
   ==========================================================================================
   DOES: GPT-2 (any number of layers, heads, width, context and vocabulary) in fp32 on the CPU:
   forward, backward, AdamW, cosine learning rate, gradient clipping, a byte-level BPE tokenizer
   identical to OpenAI's, safetensors checkpoints in Hugging Face's GPT-2 layout, a KV cache and
   sampling. Only libc and libm; OpenMP when the compiler has it.
   DOES NOT: run on a GPU, use any other architecture, do mixed precision, or depend on anything.
   The file loaders (safetensors, JSON, vocabulary) are written for hostile input: every size and
   offset is checked before use, and a bad file is an error code, never a crash.

   ==========================================================================================
   CONFIGURATION (grep for @@)
   ==========================================================================================
   @@ GPT_IMPLEMENTATION   define in one file before the include: emits the implementation.
   @@ GPT_STATIC           set before every include: every function becomes static.
   @@ GPT_MALLOC(sz, ctx) / GPT_FREE(p, ctx)   implementation file only: the allocator. Define
                           both or neither. `ctx` is gpt_options.alloc_ctx (or the ctx argument
                           of the function that allocates).
   @@ GPT_ASSERT(x)        implementation file only: internal invariants (default: assert).

   ==========================================================================================
   MEMORY / ERRORS / THREADING
   ==========================================================================================
   MEMORY: a model is one allocation (weights, gradients, AdamW moments, activations for the
   largest (B,T) given at creation, KV cache), sized by gpt_model_bytes() before it is made.
   Forward, backward, the optimizer step and sampling never allocate.
   ERRORS: fallible functions return GPT_OK (0) or a GPT_ERR_* code; on failure the outputs
   are untouched and nothing leaks. gpt_last_error() gives a line of detail (file, tensor, what
   was expected and what was found) for the calling thread. The library never prints and never
   exits.
   THREADING: no global mutable state, so two models on two threads are fine; one model is used
   by one thread at a time. Inside, OpenMP splits the outer loops so that every sum keeps one
   fixed order: a training step gives the same bits with any number of threads.

   ==========================================================================================
   READING GUIDE
   ==========================================================================================
   The implementation is a book in teaching order. Search for the markers:
       >>plumbing     errors, allocator, random numbers, OpenMP
       >>kernels      embedding, layernorm, matmul, GELU, residual, softmax + cross-entropy
       >>attention    causal self-attention
       >>block        MLP and the transformer block
       >>model        parameters, memory, forward, backward
       >>loader       the data loader
       >>optimizer    AdamW, gradient clipping, cosine learning rate
       >>checkpoint   JSON, safetensors, Hugging Face GPT-2 layout
       >>tokenizer    GPT-2 byte-level BPE
       >>inference    KV cache, one-token forward, sampling
   Start at >>kernels if you know C and want the model; at >>tokenizer for text.
*/

/* ========================================================================================== */
/*                                     DECLARATIONS                                           */
/* ========================================================================================== */
#ifndef GPT_H_INCLUDED
#define GPT_H_INCLUDED

#include <stddef.h>  /* size_t */
#include <stdint.h>  /* uint64_t, uint8_t */
#include <stdio.h>   /* FILE, used by the checkpoint and vocabulary readers */

#define GPT_VERSION_MAJOR 0
#define GPT_VERSION_MINOR 1
#define GPT_VERSION_PATCH 0
#define GPT_VERSION_STRING "0.1.0"

#ifdef GPT_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define GPT_DEF static __attribute__((unused))   /* no warning for the functions you skip */
#else
#define GPT_DEF static
#endif
#else
#define GPT_DEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors -------------------------------------------------------------------------------
   One list gives both the enum and gpt_strerror(). Every fallible function returns one of
   these; GPT_OK is 0. */
#define GPT_ERROR_LIST(X)                                                        \
    X(GPT_OK,         "ok")                                                      \
    X(GPT_ERR_NOMEM,  "out of memory")                                           \
    X(GPT_ERR_IO,     "cannot open, read or write a file")                       \
    X(GPT_ERR_FORMAT, "malformed file")                                          \
    X(GPT_ERR_SHAPE,  "shape does not fit the model")                            \
    X(GPT_ERR_ARG,    "invalid argument")                                        \
    X(GPT_ERR_RANGE,  "value out of range")

#define GPT__ENUM_ITEM(name, text) name,
typedef enum gpt_error { GPT_ERROR_LIST(GPT__ENUM_ITEM) GPT_ERR_COUNT } gpt_error;
#undef GPT__ENUM_ITEM

/* The fixed text of an error code ("out of memory"). Never NULL. Thread-safe. */
GPT_DEF const char *gpt_strerror(int code);

/* The detail of the last error on the calling thread, e.g.
   "model.safetensors: tensor 'h.0.ln_1.weight': shape (767) but the model needs (768)".
   Valid until the next failing call on this thread. Never NULL. */
GPT_DEF const char *gpt_last_error(void);

/* ---- Random numbers -----------------------------------------------------------------------
   The caller owns the generator; the same seed gives the same numbers on every platform. */
typedef struct gpt_rng {
    uint64_t state;   /* xorshift64* state, never 0 */
} gpt_rng;

GPT_DEF void     gpt_rng_seed(gpt_rng *rng, uint64_t seed);   /* any seed, 0 included */
GPT_DEF uint32_t gpt_rng_u32(gpt_rng *rng);                    /* uniform 32 bits */
GPT_DEF float    gpt_rng_uniform(gpt_rng *rng);                /* uniform in [0, 1) */
GPT_DEF float    gpt_rng_normal(gpt_rng *rng);                 /* standard normal */

/* ---- Model configuration ------------------------------------------------------------------ */
typedef struct gpt_config {
    int block_size;   /* maxT: longest context, e.g. 1024 */
    int vocab_size;   /* V: number of token ids, e.g. 50257 */
    int n_layer;      /* L: transformer blocks, e.g. 12 */
    int n_head;       /* NH: attention heads, e.g. 12 */
    int n_embd;       /* C: channels, e.g. 768; HS = C / NH */
} gpt_config;

/* Fills `cfg` with a GPT-2 preset: "gpt2" (12 layers, 12 heads, 768), "gpt2-medium"
   (24/16/1024), "gpt2-large" (36/20/1280) or "gpt2-xl" (48/25/1600), all with block 1024 and
   vocabulary 50257. Returns GPT_ERR_ARG for another name and leaves `cfg` untouched. */
GPT_DEF int gpt_config_preset(gpt_config *cfg, const char *name);

/* GPT_OK if every field is positive, n_embd % n_head == 0 and the sizes are sane
   (each at most 1<<20, n_layer at most 1024); else GPT_ERR_ARG with the detail. */
GPT_DEF int gpt_config_check(const gpt_config *cfg);

/* ---- Creating a model -------------------------------------------------------------------- */
typedef struct gpt_options {
    int max_batch;    /* B: largest batch forward/backward will see; 0: no full forward */
    int max_seq;      /* T: largest sequence length (at most block_size) */
    int training;     /* 1: also gradients and AdamW moments; 0: inference only */
    int kv_cache;     /* 1: also a KV cache for gpt_forward_token (sampling) */
    void *alloc_ctx;  /* passed to GPT_MALLOC / GPT_FREE */
} gpt_options;

/* B=4, T=32, training=1, kv_cache=0, alloc_ctx=NULL. */
GPT_DEF gpt_options gpt_options_defaults(void);

/* One parameter tensor, stacked over layers when it lives in every block. */
typedef struct gpt_tensor {
    const char *name;   /* Hugging Face key without "h.N.", e.g. "attn.c_attn.weight" */
    float *data;        /* first element (layer 0); layer l starts at data + l*size */
    size_t size;        /* elements in one layer's copy */
    int layers;         /* L for per-block tensors, 1 for wte, wpe, ln_f */
    int rows, cols;     /* shape as gpt.h stores it: (rows, cols), cols=0 for a vector */
    int decay;          /* 1: AdamW weight decay applies (2-D tensors) */
    int conv1d;         /* 1: Hugging Face stores it transposed, as (cols, rows) */
} gpt_tensor;

/* The parameters, in the order of the flat parameter array. Each pointer points into it. */
typedef struct gpt_params {
    float *wte;          /* (V,C)      wte.weight: token embeddings, also the output head */
    float *wpe;          /* (maxT,C)   wpe.weight: position embeddings */
    float *ln_1_w;       /* (L,C)      h.N.ln_1.weight */
    float *ln_1_b;       /* (L,C)      h.N.ln_1.bias */
    float *c_attn_w;     /* (L,3C,C)   h.N.attn.c_attn.weight, HF stores (C,3C) */
    float *c_attn_b;     /* (L,3C)     h.N.attn.c_attn.bias */
    float *attn_proj_w;  /* (L,C,C)    h.N.attn.c_proj.weight, HF stores (C,C) transposed */
    float *attn_proj_b;  /* (L,C)      h.N.attn.c_proj.bias */
    float *ln_2_w;       /* (L,C)      h.N.ln_2.weight */
    float *ln_2_b;       /* (L,C)      h.N.ln_2.bias */
    float *c_fc_w;       /* (L,4C,C)   h.N.mlp.c_fc.weight, HF stores (C,4C) */
    float *c_fc_b;       /* (L,4C)     h.N.mlp.c_fc.bias */
    float *mlp_proj_w;   /* (L,C,4C)   h.N.mlp.c_proj.weight, HF stores (4C,C) */
    float *mlp_proj_b;   /* (L,C)      h.N.mlp.c_proj.bias */
    float *ln_f_w;       /* (C)        ln_f.weight */
    float *ln_f_b;       /* (C)        ln_f.bias */
} gpt_params;
#define GPT_NUM_PARAM_TENSORS 16

/* Activations of one forward pass, kept for backward. Sizes use the B,T of gpt_options. */
typedef struct gpt_acts {
    float *encoded;    /* (B,T,C)       wte[token] + wpe[t] */
    float *ln1;        /* (L,B,T,C)     ln_1 output */
    float *ln1_mean;   /* (L,B,T) */
    float *ln1_rstd;   /* (L,B,T)       1/sqrt(var+eps) */
    float *qkv;        /* (L,B,T,3C)    c_attn output */
    float *att;        /* (L,B,NH,T,T)  attention weights after softmax */
    float *atty;       /* (L,B,T,C)     attention output before c_proj */
    float *attproj;    /* (L,B,T,C)     attn.c_proj output */
    float *residual2;  /* (L,B,T,C)     x + attn(ln_1(x)) */
    float *ln2;        /* (L,B,T,C) */
    float *ln2_mean;   /* (L,B,T) */
    float *ln2_rstd;   /* (L,B,T) */
    float *fch;        /* (L,B,T,4C)    c_fc output */
    float *fch_gelu;   /* (L,B,T,4C)    after GELU */
    float *fcproj;     /* (L,B,T,C)     mlp.c_proj output */
    float *residual3;  /* (L,B,T,C)     block output */
    float *lnf;        /* (B,T,C)       ln_f output */
    float *lnf_mean;   /* (B,T) */
    float *lnf_rstd;   /* (B,T) */
    float *logits;     /* (B,T,V) */
    float *probs;      /* (B,T,V)       softmax(logits), kept for backward */
    float *losses;     /* (B,T)         -log probs[target] */
} gpt_acts;
#define GPT_NUM_ACT_TENSORS 22

/* Scratch for one backward pass: gradients of the activations of ONE block at a time,
   reused layer after layer, plus the gradient of the residual stream. */
typedef struct gpt_grad_acts {
    float *dresidual;  /* (B,T,C)     d loss / d residual stream, walked backwards */
    float *dbt_c;      /* (B,T,C)     scratch: dln, datty, ... one at a time */
    float *dbt_c2;     /* (B,T,C)     scratch */
    float *dqkv;       /* (B,T,3C) */
    float *datt;       /* (B,NH,T,T) */
    float *dfch;       /* (B,T,4C) */
    float *dfch_gelu;  /* (B,T,4C) */
    float *dlogits;    /* (B,T,V) */
} gpt_grad_acts;
#define GPT_NUM_GRAD_ACT_TENSORS 8

/* The KV cache of one sequence for one-token-at-a-time inference (see >>inference). */
typedef struct gpt_kv {
    float *k;          /* (L,maxT,C)   keys of every position seen so far */
    float *v;          /* (L,maxT,C)   values */
    float *x;          /* (C)          residual stream of the current token */
    float *xb;         /* (C)          layernorm output / scratch */
    float *qkv;        /* (3C) */
    float *atty;       /* (C) */
    float *att;        /* (maxT)       attention weights of one head */
    float *fch;        /* (4C) */
    float *logits;     /* (V) */
    float *probs;      /* (V)          sampling scratch */
    int *order;        /* (V)          sampling scratch: token ids sorted by probability */
} gpt_kv;
#define GPT_NUM_KV_TENSORS 11

/* A model: configuration, one arena, and pointers into it. Read the fields freely; write
   only the parameter values (for example to load your own weights). */
typedef struct gpt_model {
    gpt_config config;
    gpt_options options;
    gpt_tensor tensors[GPT_NUM_PARAM_TENSORS]; /* table of the parameters, in memory order */
    gpt_params params;       /* pointers into param_memory */
    gpt_params grads;        /* same layout in grad_memory (NULLs when not training) */
    float *param_memory;     /* (num_params) */
    float *grad_memory;      /* (num_params) or NULL */
    float *adam_m;           /* (num_params) AdamW first moment, or NULL */
    float *adam_v;           /* (num_params) AdamW second moment, or NULL */
    size_t num_params;
    uint64_t adam_step;      /* AdamW updates done so far (for bias correction) */
    gpt_acts acts;           /* NULLs when max_batch is 0 */
    gpt_grad_acts grad_acts; /* NULLs when not training */
    gpt_kv kv;               /* NULLs without kv_cache */
    int B, T;                /* shape of the last forward */
    int has_targets;         /* the last forward computed a loss */
    float loss;              /* mean loss of the last forward with targets */
    void *arena;             /* the one allocation */
    size_t arena_bytes;
} gpt_model;

/* Bytes that gpt_model_create would allocate, or 0 when the configuration or options are
   invalid or the size overflows size_t. */
GPT_DEF size_t gpt_model_bytes(const gpt_config *cfg, const gpt_options *opt);

/* Allocates a model (parameters zeroed: call gpt_model_init or load weights). On failure
   returns the code, sets *out to NULL and allocates nothing. Free with gpt_model_free. */
GPT_DEF int gpt_model_create(gpt_model **out, const gpt_config *cfg, const gpt_options *opt);
GPT_DEF void gpt_model_free(gpt_model *model);

/* GPT-2 initialisation: normal(0, 0.02) for matmul weights and both embeddings, std
   0.02/sqrt(2L) for the two c_proj weights, zero biases, layernorm weight 1 and bias 0. The
   draws come from `rng` in the order of the parameter table, so a seed fixes the model. Also
   zeroes the gradients and AdamW state. */
GPT_DEF void gpt_model_init(gpt_model *model, gpt_rng *rng);

/* Forward pass over tokens (B,T), 1 <= B <= max_batch, 1 <= T <= max_seq. With targets
   (B,T) (NULL allowed) also the mean cross-entropy into *loss (NULL allowed). The logits are
   in model->acts.logits, (B,T,V). Token ids outside [0,V) give GPT_ERR_RANGE. */
GPT_DEF int gpt_forward(gpt_model *model, const int *tokens, const int *targets, int B, int T,
                        float *loss);

/* Sets every gradient to 0. Backward accumulates, so call this before each backward. */
GPT_DEF void gpt_zero_grad(gpt_model *model);

/* Adds d(mean loss)/d(parameter) of the last forward (which must have had targets) into the
   gradients. GPT_ERR_ARG when the model is not training or the forward had no targets. */
GPT_DEF int gpt_backward(gpt_model *model);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Data loader --------------------------------------------------------------------------
   The seed's DataLoaderLite over a token array that the caller owns (see >>loader). */
typedef struct gpt_loader {
    const int *tokens;   /* (n_tokens) not owned */
    size_t n_tokens;
    int B, T;
    size_t pos;          /* next batch starts at tokens[pos] */
} gpt_loader;

/* GPT_ERR_ARG when B or T is below 1 or n_tokens < B*T+1 (one batch needs B*T+1 tokens). */
GPT_DEF int gpt_loader_init(gpt_loader *loader, const int *tokens, size_t n_tokens, int B, int T);
/* Copies the next batch: inputs = tokens[pos .. pos+B*T), targets shifted by one, then
   advances pos by B*T and wraps to 0 when the batch after would run past the end. */
GPT_DEF void gpt_loader_next(gpt_loader *loader, int *inputs, int *targets);
/* n_tokens / (B*T): the seed's number of steps in one epoch. */
GPT_DEF size_t gpt_loader_steps_per_epoch(const gpt_loader *loader);

/* ---- Optimizer ---------------------------------------------------------------------------- */
typedef struct gpt_adamw {
    float beta1;          /* 0.9 */
    float beta2;          /* 0.95 */
    float eps;            /* 1e-8 */
    float weight_decay;   /* 0.1, applied to 2-D tensors only */
} gpt_adamw;

GPT_DEF gpt_adamw gpt_adamw_defaults(void);

/* One AdamW update of every parameter at learning rate lr, PyTorch semantics. Increments
   model->adam_step. GPT_ERR_ARG if the model is not training. */
GPT_DEF int gpt_adamw_step(gpt_model *model, const gpt_adamw *opt, float lr);

/* Global L2 norm of all gradients; when it exceeds max_norm (> 0), scales every gradient by
   max_norm/(norm+1e-6), as torch.nn.utils.clip_grad_norm_. Returns the norm before clipping
   (0 when the model is not training). max_norm <= 0 only measures. */
GPT_DEF float gpt_clip_grad_norm(gpt_model *model, float max_norm);

/* Cosine learning rate with linear warmup. */
typedef struct gpt_schedule {
    float max_lr;         /* 6e-4 */
    float min_lr;         /* max_lr / 10 */
    long warmup_steps;    /* W, 0: none */
    long total_steps;     /* N */
} gpt_schedule;

/* lr(step), step counted from 0: max_lr*(step+1)/W for step < W; then
   min_lr + 0.5*(max_lr-min_lr)*(1+cos(pi*(step-W)/(N-W))); min_lr from step N on. */
GPT_DEF float gpt_lr(const gpt_schedule *s, long step);

#ifdef __cplusplus
}
#endif

#endif /* GPT_H_INCLUDED */

/* ========================================================================================== */
/*                                    IMPLEMENTATION                                          */
/* ========================================================================================== */
#ifdef GPT_IMPLEMENTATION
#ifndef GPT_IMPLEMENTATION_INCLUDED
#define GPT_IMPLEMENTATION_INCLUDED   /* a second GPT_IMPLEMENTATION include is harmless */

#include <stdlib.h>   /* malloc, free, strtod */
#include <string.h>   /* memcpy, memset, strcmp */
#include <math.h>     /* sqrtf, expf, tanhf, cosf, logf */
#include <stdarg.h>   /* va_list for the error detail */
#include <limits.h>   /* INT_MAX */
#include <float.h>    /* FLT_MAX */

/* ------------------------------------------------------------------------------------------
   >>plumbing   Errors, allocator, random numbers, OpenMP.

   Idea: everything the numeric code leans on, kept in one place so that the sections after it
   read as plain C. Every platform #if of the file lives in this section.
   ------------------------------------------------------------------------------------------ */

/* The allocator. ctx is the user's pointer from gpt_options.alloc_ctx. */
#if defined(GPT_MALLOC) && defined(GPT_FREE)
#elif !defined(GPT_MALLOC) && !defined(GPT_FREE)
#define GPT_MALLOC(sz, ctx) ((void)(ctx), malloc(sz))
#define GPT_FREE(p, ctx)    ((void)(ctx), free(p))
#else
#error "gpt.h: define both GPT_MALLOC and GPT_FREE, or neither"
#endif

#ifndef GPT_ASSERT
#include <assert.h>
#define GPT_ASSERT(x) assert(x)
#endif

/* OpenMP through one macro. `GPT_OMP(parallel for)` becomes `#pragma omp parallel for` when
   the compiler runs with OpenMP and nothing otherwise (a bare #pragma omp would warn under
   -Wall without -fopenmp). _Pragma takes a string, which the # operator makes. */
#define GPT__PRAGMA(...) _Pragma(#__VA_ARGS__)
#ifdef _OPENMP
#include <omp.h>
#define GPT_OMP(...) GPT__PRAGMA(omp __VA_ARGS__)
#else
#define GPT_OMP(...)
#endif

/* The error detail is the one piece of global state, and it is per thread. C99 has no thread
   storage keyword, so take whatever the compiler offers; without any (a rare compiler) the
   detail is shared, which is documented as not thread-safe. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define GPT__THREAD_LOCAL thread_local
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define GPT__THREAD_LOCAL _Thread_local
#elif defined(_MSC_VER)
#define GPT__THREAD_LOCAL __declspec(thread)
#elif defined(__GNUC__) || defined(__clang__)
#define GPT__THREAD_LOCAL __thread
#else
#define GPT__THREAD_LOCAL
#endif

/* Making a finished file durable before renaming it over the old one needs fsync(), which is
   POSIX, not C99. Strict -std=c99 hides its declaration in <unistd.h>, so we declare the two
   POSIX functions ourselves (the same prototypes, so a second declaration is harmless). */
#if defined(__unix__) || defined(__APPLE__)
#define GPT__HAVE_FSYNC 1
extern int fsync(int fd);
extern int fileno(FILE *stream);
#endif

static GPT__THREAD_LOCAL char gpt__error_detail[512];

GPT_DEF const char *gpt_strerror(int code) {
#define GPT__ERROR_TEXT(name, text) case name: return text;
    switch (code) { GPT_ERROR_LIST(GPT__ERROR_TEXT) default: return "unknown error"; }
#undef GPT__ERROR_TEXT
}

GPT_DEF const char *gpt_last_error(void) {
    return gpt__error_detail[0] ? gpt__error_detail : "no error detail";
}

/* Records the detail of an error for gpt_last_error() and returns `code`, so that a failing
   path reads `return gpt__fail(GPT_ERR_IO, "%s: cannot open", path);`. */
static int gpt__fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gpt__error_detail, sizeof gpt__error_detail, fmt, ap);
    va_end(ap);
    return code;
}

/* Allocates or records "out of memory: <what> (<bytes> bytes)" and returns NULL. */
static void *gpt__malloc(size_t bytes, void *ctx, const char *what) {
    void *p = bytes ? GPT_MALLOC(bytes, ctx) : NULL;
    if (bytes && !p) gpt__fail(GPT_ERR_NOMEM, "out of memory: %s (%lu bytes)", what,
                               (unsigned long)bytes);
    return p;
}

/* a*b, or 0 with *ok cleared when it overflows size_t. Sizes from files go through this. */
static size_t gpt__mul(size_t a, size_t b, int *ok) {
    if (a != 0 && b > (size_t)-1 / a) { *ok = 0; return 0; }
    return a * b;
}
static size_t gpt__add(size_t a, size_t b, int *ok) {
    if (b > (size_t)-1 - a) { *ok = 0; return 0; }
    return a + b;
}

/* Random numbers: xorshift64* (Vigna), seeded through splitmix64 so that every seed, 0
   included, gives a good non-zero state. Integer arithmetic only, so the stream is the same
   on every platform; floats are made from the top 24 bits, exactly representable. */
GPT_DEF void gpt_rng_seed(gpt_rng *rng, uint64_t seed) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    rng->state = z ? z : 0x2545F4914F6CDD1Dull;
}

GPT_DEF uint32_t gpt_rng_u32(gpt_rng *rng) {
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

GPT_DEF float gpt_rng_uniform(gpt_rng *rng) {
    return (float)(gpt_rng_u32(rng) >> 8) / 16777216.0f;   /* 24 bits / 2^24 */
}

/* Box-Muller: two uniforms give one normal (the second is discarded to keep no state).
   u1 is moved into (0,1] so that log(u1) is finite. */
GPT_DEF float gpt_rng_normal(gpt_rng *rng) {
    double u1 = 1.0 - (double)gpt_rng_uniform(rng);
    double u2 = (double)gpt_rng_uniform(rng);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

#endif /* GPT_IMPLEMENTATION_INCLUDED */
#endif /* GPT_IMPLEMENTATION */

/*
   ------------------------------------------------------------------------------------------
   LICENCE (MIT)
   ------------------------------------------------------------------------------------------
   Copyright (c) 2026 the gpt.h authors

   Permission is hereby granted, free of charge, to any person obtaining a copy of this
   software and associated documentation files (the "Software"), to deal in the Software
   without restriction, including without limitation the rights to use, copy, modify, merge,
   publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
   to whom the Software is furnished to do so, subject to the following conditions:

   The above copyright notice and this permission notice shall be included in all copies or
   substantial portions of the Software.

   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
   INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
   PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
   FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
   OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
   DEALINGS IN THE SOFTWARE.
*/
