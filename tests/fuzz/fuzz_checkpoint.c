/* tests/fuzz/fuzz_checkpoint.c - libFuzzer harness for >>checkpoint: safetensors files read
   by gpt_st_open / gpt_st_read_*, and GPT-2 checkpoints read by gpt_load (what ./sample
   --model and ./train --init / --resume call) and gpt_load_into, with and without a
   config.json beside the file.

   Input: byte 0 is a set of flags, then (with FLAG_CONFIG) a 2-byte little-endian length L
   and L bytes of config.json, then the rest is the .safetensors file:
       FLAG_CONFIG   1   write config.json beside model.safetensors (else there is none)
       FLAG_TRAIN    2   load a training model with the AdamW state (gpt_load optimizer = 1)
       FLAG_HEADS    4   the caller gives n_head = 1 (gpt_load_options.n_head)
       FLAG_INTO     8   also gpt_load_into a fixed model shaped like tests/fixtures/hf_tiny
   tests/fuzz/make_seeds.c writes seeds in this layout from the committed fixtures.

   Beyond "no crash, no leak" it checks what the header promises:
     - an open file's tensors are sorted, findable and tile the data buffer, and every float
       or integer tensor reads back without an I/O error (the size was checked at open);
     - a model that loads runs a forward pass, samples and (training) takes an AdamW step;
       saved and loaded again it gives the same bits;
     - gpt_load_into leaves the model untouched when it fails ("a bad file leaves the model
       untouched"), and fills it with exactly what gpt_load reads when both succeed;
     - without config.json, gpt_load_memory of the same bytes gives the same code and, when
       both succeed, the same model (one reader for files and memory). */
#include "fuzz.h"

enum { FLAG_CONFIG = 1, FLAG_TRAIN = 2, FLAG_HEADS = 4, FLAG_INTO = 8 };

/* Loaded models run a few steps only when they are small, so that each input stays fast. */
#define SMALL_MODEL ((size_t)1 << 20)   /* parameters */

static gpt_model *fixed;          /* hf_tiny's shape, training, for gpt_load_into */
static float *fixed_copy;         /* (3 * num_params) its weights and moments before a load */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    gpt_config c = {32, 101, 2, 4, 32};   /* block, vocab, layers, heads, embd: hf_tiny */
    gpt_model_options o = gpt_model_options_defaults();
    gpt_rng rng;
    (void)argc;
    (void)argv;
    o.max_batch = 1;
    o.max_seq = 4;
    if (gpt_model_create(&fixed, &c, &o) != GPT_OK) abort();
    gpt_rng_seed(&rng, 1);
    gpt_model_init(fixed, &rng);
    fixed->adam_step = 7;
    fixed_copy = (float *)malloc(3 * fixed->num_params * sizeof(float));
    memcpy(fixed_copy, fixed->param_memory, fixed->num_params * sizeof(float));
    memcpy(fixed_copy + fixed->num_params, fixed->adam_m, fixed->num_params * sizeof(float));
    memcpy(fixed_copy + 2 * fixed->num_params, fixed->adam_v, fixed->num_params * sizeof(float));
    fuzz_live_base = fuzz_live;
    return 0;
}

/* gpt_st_open and every read it allows. */
static void check_st(const char *path, size_t file_size) {
    gpt_st *st = NULL;
    uint64_t covered = 0;
    int rc = gpt_st_open(&st, path, NULL), i;
    FUZZ_CHECK_RC(rc);
    if (rc != GPT_OK) {
        FUZZ_ASSERT(st == NULL, "*out must be NULL after a failure");
        return;
    }
    FUZZ_ASSERT(st->data_start + st->data_bytes == file_size, "data ends at %llu, file %llu",
                (unsigned long long)(st->data_start + st->data_bytes),
                (unsigned long long)file_size);
    for (i = 0; i < st->n_meta; i++)
        FUZZ_ASSERT(gpt_st_meta(st, st->meta_keys[i]) == st->meta_values[i], "meta '%s'",
                    st->meta_keys[i]);
    for (i = 0; i < st->n_tensors; i++) {
        const gpt_st_tensor *t = &st->tensors[i];
        int is_float = t->dtype == GPT_DTYPE_F32 || t->dtype == GPT_DTYPE_F16 ||
                       t->dtype == GPT_DTYPE_BF16;
        int is_int = t->dtype == GPT_DTYPE_I32 || t->dtype == GPT_DTYPE_I64;
        FUZZ_ASSERT(i == 0 || strcmp(st->tensors[i - 1].name, t->name) < 0, "not sorted");
        FUZZ_ASSERT(gpt_st_find(st, t->name) == t, "gpt_st_find('%s')", t->name);
        covered += t->end - t->begin;
        if (t->numel > ((uint64_t)1 << 20)) continue;   /* keep each input fast */
        if (is_float) {
            float *dst = (float *)malloc((size_t)t->numel * sizeof(float) + 1);
            rc = gpt_st_read_f32(st, t->name, dst, (size_t)t->numel);
            FUZZ_ASSERT(rc == GPT_OK, "reading '%s': %s", t->name, gpt_last_error());
            rc = gpt_st_read_f32(st, t->name, dst, (size_t)t->numel + 1);
            FUZZ_ASSERT(rc == GPT_ERR_SHAPE, "wrong count for '%s' gave %d", t->name, rc);
            rc = gpt_st_read_int(st, t->name, (int *)(void *)dst, (size_t)t->numel);
            FUZZ_ASSERT(rc == GPT_ERR_FORMAT, "int read of float '%s' gave %d", t->name, rc);
            free(dst);
        } else if (is_int) {
            int *dst = (int *)malloc((size_t)t->numel * sizeof(int) + 1);
            rc = gpt_st_read_int(st, t->name, dst, (size_t)t->numel);
            FUZZ_ASSERT(rc == GPT_OK || rc == GPT_ERR_RANGE, "reading '%s': %s", t->name,
                        gpt_last_error());
            free(dst);
        } else {
            float one;
            rc = gpt_st_read_f32(st, t->name, &one, (size_t)t->numel);
            FUZZ_ASSERT(rc == GPT_ERR_FORMAT, "float read of dtype %d gave %d", t->dtype, rc);
        }
    }
    FUZZ_ASSERT(covered == st->data_bytes, "tensors cover %llu of %llu data bytes",
                (unsigned long long)covered, (unsigned long long)st->data_bytes);
    gpt_st_close(st);
}

/* A loaded model: one KV-cached token, sampling, and for a training model a step. */
static void run_model(gpt_model *m) {
    gpt_config *c = &m->config;
    gpt_sampler s = gpt_sampler_defaults();
    gpt_adamw adamw = gpt_adamw_defaults();
    gpt_rng rng;
    float *logits = NULL, loss = 0;
    int token = 0, rc, tokens[2], targets[2];
    if (m->num_params > SMALL_MODEL || (size_t)c->block_size * c->n_embd > SMALL_MODEL) return;
    gpt_rng_seed(&rng, 5);
    rc = gpt_forward_token(m, c->vocab_size - 1, 0, &logits);
    FUZZ_ASSERT(rc == GPT_OK && logits, "forward_token: %s", gpt_last_error());
    FUZZ_ASSERT(gpt_forward_token(m, 0, c->block_size - 1, NULL) == GPT_OK, "last position");
    FUZZ_ASSERT(gpt_forward_token(m, 0, c->block_size, NULL) == GPT_ERR_RANGE, "past the end");
    FUZZ_ASSERT(gpt_forward_token(m, c->vocab_size, 0, NULL) == GPT_ERR_RANGE, "bad token");
    rc = gpt_sample(m, logits, &s, &rng, &token);
    FUZZ_ASSERT(rc == GPT_OK && token >= 0 && token < c->vocab_size, "top-k token %d", token);
    s.top_k = 0;
    s.top_p = 0.5f;
    rc = gpt_sample(m, logits, &s, &rng, &token);
    FUZZ_ASSERT(rc == GPT_OK && token >= 0 && token < c->vocab_size, "top-p token %d", token);
    s.greedy = 1;
    rc = gpt_sample(m, logits, &s, &rng, &token);
    FUZZ_ASSERT(rc == GPT_OK && token >= 0 && token < c->vocab_size, "greedy token %d", token);
    if (!m->adam_m) return;
    tokens[0] = 0;
    tokens[1] = c->vocab_size - 1;
    targets[0] = c->vocab_size - 1;
    targets[1] = 0;
    rc = gpt_forward(m, tokens, targets, 1, m->options.max_seq < 2 ? 1 : 2, &loss);
    FUZZ_ASSERT(rc == GPT_OK, "forward: %s", gpt_last_error());
    gpt_zero_grad(m);
    FUZZ_ASSERT(gpt_backward(m) == GPT_OK, "backward: %s", gpt_last_error());
    FUZZ_ASSERT(gpt_clip_grad_norm(m, 1.0f, NULL) == GPT_OK, "clip: %s", gpt_last_error());
    FUZZ_ASSERT(gpt_adamw_step(m, &adamw, 1e-3f) == GPT_OK, "adamw: %s", gpt_last_error());
}

/* Saved and loaded again, a model must give the same bits (NaN payloads included). */
static void check_round_trip(const gpt_model *m, int optimizer) {
    const char *path = fuzz_path("again.safetensors");
    static const char *const meta[] = {"note", "fuzz", NULL};
    gpt_save_options so = gpt_save_options_defaults();
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_model *back = NULL;
    int rc;
    if (m->num_params > SMALL_MODEL) return;
    so.optimizer = optimizer;
    so.metadata = meta;
    rc = gpt_save(m, path, &so);
    FUZZ_ASSERT(rc == GPT_OK, "save: %s", gpt_last_error());
    lo.model = m->options;
    lo.optimizer = optimizer;
    lo.n_head = m->config.n_head;
    rc = gpt_load(&back, path, &lo);
    FUZZ_ASSERT(rc == GPT_OK, "load what was saved: %s", gpt_last_error());
    FUZZ_ASSERT(memcmp(&back->config, &m->config, sizeof m->config) == 0, "config differs");
    FUZZ_ASSERT(memcmp(back->param_memory, m->param_memory, m->num_params * sizeof(float)) == 0,
                "weights differ after a save and a load");
    if (optimizer) {
        FUZZ_ASSERT(back->adam_step == m->adam_step, "adam_step differs");
        FUZZ_ASSERT(memcmp(back->adam_m, m->adam_m, m->num_params * sizeof(float)) == 0 &&
                    memcmp(back->adam_v, m->adam_v, m->num_params * sizeof(float)) == 0,
                    "AdamW moments differ after a save and a load");
    }
    gpt_model_free(back);
    unlink(path);
}

/* gpt_load_into the fixed model: untouched on failure; equal to gpt_load's on success. */
static void check_load_into(const char *path, int optimizer, const gpt_model *loaded) {
    size_t n = fixed->num_params, bytes = n * sizeof(float);
    gpt_load_options lo = gpt_load_options_defaults();
    int rc;
    memcpy(fixed->param_memory, fixed_copy, bytes);
    memcpy(fixed->adam_m, fixed_copy + n, bytes);
    memcpy(fixed->adam_v, fixed_copy + 2 * n, bytes);
    fixed->adam_step = 7;
    lo.optimizer = optimizer;
    rc = gpt_load_into(fixed, path, &lo);
    FUZZ_CHECK_RC(rc);
    FUZZ_LOG("gpt_load_into: %s", rc == GPT_OK ? "ok" : gpt_last_error());
    if (rc != GPT_OK) {
        FUZZ_ASSERT(rc == GPT_ERR_IO || (memcmp(fixed->param_memory, fixed_copy, bytes) == 0 &&
                    memcmp(fixed->adam_m, fixed_copy + n, bytes) == 0 &&
                    memcmp(fixed->adam_v, fixed_copy + 2 * n, bytes) == 0 &&
                    fixed->adam_step == 7),
                    "a failed gpt_load_into (%s) changed the model", gpt_last_error());
        return;
    }
    if (loaded && memcmp(&loaded->config, &fixed->config, sizeof fixed->config) == 0)
        FUZZ_ASSERT(memcmp(loaded->param_memory, fixed->param_memory, bytes) == 0,
                    "gpt_load and gpt_load_into read different weights");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *model = fuzz_path("model.safetensors"), *config = fuzz_path("config.json");
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_model *m = (gpt_model *)&lo;   /* not NULL: gpt_load must set it */
    size_t cfg_len = 0;
    int flags, rc;
    if (size < 1) return 0;
    fuzz_input_size = size;
    flags = data[0];
    data++, size--;
    unlink(config);
    if (flags & FLAG_CONFIG) {
        if (size < 2) return 0;
        cfg_len = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2, size -= 2;
        if (cfg_len > size) cfg_len = size;
        fuzz_write(config, data, cfg_len);
        data += cfg_len, size -= cfg_len;
    }
    fuzz_write(model, data, size);

    check_st(model, size);
    FUZZ_CHECK_NO_LEAK();

    lo.model.max_batch = 1;
    lo.model.max_seq = 4;
    lo.model.training = (flags & FLAG_TRAIN) != 0;
    lo.model.kv_cache = 1;
    lo.optimizer = (flags & FLAG_TRAIN) != 0;
    lo.n_head = (flags & FLAG_HEADS) ? 1 : 0;
    rc = gpt_load(&m, model, &lo);
    FUZZ_CHECK_RC(rc);
    FUZZ_LOG("flags %d: gpt_load: %s", flags, rc == GPT_OK ? "ok" : gpt_last_error());
    FUZZ_ASSERT((rc == GPT_OK) == (m != NULL), "rc %d but model %p", rc, (void *)m);
    if (!(flags & FLAG_CONFIG)) {   /* the same bytes from memory: the same answer */
        gpt_model *mm = NULL;
        int rc_mem = gpt_load_memory(&mm, data, size, &lo);
        FUZZ_ASSERT(rc_mem == rc, "gpt_load gave %d, gpt_load_memory %d (%s)", rc, rc_mem,
                    gpt_last_error());
        FUZZ_ASSERT(!m || !mm || (memcmp(&m->config, &mm->config, sizeof m->config) == 0 &&
                    memcmp(m->param_memory, mm->param_memory,
                           m->num_params * sizeof(float)) == 0),
                    "gpt_load and gpt_load_memory read different models");
        gpt_model_free(mm);
    }
    if (m) {
        FUZZ_ASSERT(gpt_config_check(&m->config) == GPT_OK, "loaded an invalid config");
        if (flags & FLAG_INTO) check_load_into(model, lo.optimizer, m);
        run_model(m);
        unlink(config);   /* the reload must not meet the fuzzed config.json */
        check_round_trip(m, lo.optimizer);
        gpt_model_free(m);
    } else if (flags & FLAG_INTO) {
        check_load_into(model, lo.optimizer, NULL);
    }
    FUZZ_CHECK_NO_LEAK();
    return 0;
}
