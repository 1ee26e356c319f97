/* examples/train_min.c - the whole training loop and nothing else: the first program to read.

   It reads input.txt (else the Tiny Shakespeare in data/), turns it into GPT-2's tokens with
   the vocabulary in data/, trains a tiny GPT-2 on it for a few seconds (AdamW, a cosine
   learning rate after a warmup, gradients clipped at norm 1, as the PyTorch reference
   trainer does), saves it and samples from it. Run `make example && ./train_min` in the
   repository root. examples/train.c is this loop with every option, validation and resuming. */
#define GPT_IMPLEMENTATION   /* this file also compiles the library's code (see gpt.h) */
#include "gpt.h"
#include <stdlib.h>

/* Every fallible call of gpt.h returns GPT_OK or an error code, with the detail in
   gpt_last_error(). Here an error ends the program (the system takes its memory back). */
#define TRY(call) do { if ((call) != GPT_OK) {                                     \
        fprintf(stderr, "train_min: %s\n", gpt_last_error()); return 1; } } while (0)

enum { B = 4, T = 32, STEPS = 50, SAMPLE = 48 };   /* batch, sequence, steps, tokens to sample */

/* The whole file (malloc'ed, *len bytes), or NULL with errno saying why. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *text = n >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) { free(text); text = NULL; }
    if (f) fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return text;
}

int main(void) {
    /* 1. The text: your input.txt, else Tiny Shakespeare. */
    FILE *yours = fopen("input.txt", "rb");
    const char *path = yours ? "input.txt" : "data/tinyshakespeare.txt";
    if (yours) fclose(yours);
    size_t len;
    char *text = read_file(path, &len);
    if (!text) return perror(path), 1;   /* "input.txt: Permission denied" */
    /* 2. The tokens: GPT-2's ids for the text. A token has at least one byte: len ids fit. */
    gpt_tokenizer *tok;
    TRY(gpt_tok_load_dir(&tok, "data", NULL));
    int *tokens = malloc((len + 1) * sizeof(int));
    size_t n;
    if (!tokens) return perror("tokens"), 1;
    TRY(gpt_tok_encode(tok, text, len, 0, tokens, len + 1, &n));
    printf("%s: %lu bytes, %lu tokens\n", path, (unsigned long)len, (unsigned long)n);
    /* 3. A tiny GPT-2, 2 layers of 64 channels, with weights drawn from a seeded generator. */
    gpt_config cfg = {.block_size = 64, .vocab_size = gpt_tok_vocab_size(tok), .n_layer = 2,
                      .n_head = 4, .n_embd = 64};
    gpt_model_options opt = gpt_model_options_defaults();   /* training: gradients, AdamW */
    opt.max_batch = B; opt.max_seq = T; opt.kv_cache = 1;   /* kv_cache: to sample at the end */
    gpt_model *m;
    TRY(gpt_model_create(&m, &cfg, &opt));
    gpt_rng rng;
    gpt_rng_seed(&rng, 1337);
    gpt_model_init(m, &rng);
    /* 4. Training: each step learns from the next B x T tokens (the targets: one further on). */
    gpt_loader loader;
    TRY(gpt_loader_init(&loader, tokens, n, B, T));
    gpt_schedule sched = {.max_lr = 3e-3, .min_lr = 3e-4, .warmup_steps = 4,
                          .total_steps = STEPS};
    gpt_adamw adamw = gpt_adamw_defaults();   /* betas 0.9 and 0.95, weight decay 0.1 */
    int inputs[B * T], targets[B * T];
    for (long step = 0; step < STEPS; step++) {
        float loss, norm;
        double lr = gpt_schedule_lr(&sched, step);
        gpt_loader_next(&loader, inputs, targets);
        TRY(gpt_forward(m, inputs, targets, B, T, &loss));   /* the loss on this batch */
        gpt_zero_grad(m);
        TRY(gpt_backward(m));                                /* d loss / d every weight */
        TRY(gpt_clip_grad_norm(m, 1.0f, &norm));             /* longer than 1: shrunk to 1 */
        TRY(gpt_adamw_step(m, &adamw, lr));                  /* every weight moves */
        printf("step %2ld | loss %.4f | lr %.2e | norm %.3f\n", step, loss, lr, norm);
    }
    TRY(gpt_save(m, "train_min.safetensors", NULL));   /* ./sample --model reads it */
    /* 5. Sampling: from <|endoftext|> (the last id: "a new text"), one token at a time. */
    gpt_sampler sampler = gpt_sampler_defaults();   /* temperature 1, the 50 most likely */
    int ids[SAMPLE], token = gpt_tok_vocab_size(tok) - 1;
    for (int pos = 0; pos < SAMPLE; pos++) {
        float *logits;
        TRY(gpt_forward_token(m, token, pos, &logits));   /* reuses positions 0..pos-1 */
        TRY(gpt_sample(m, logits, &sampler, &rng, &token));
        ids[pos] = token;
    }
    char out[SAMPLE * GPT_TOK_MAX_TOKEN_BYTES];   /* room for the longest tokens */
    size_t out_len;
    TRY(gpt_tok_decode(tok, ids, SAMPLE, out, sizeof out, &out_len));
    printf("saved train_min.safetensors; a sample:\n%.*s\n", (int)out_len, out);
    gpt_model_free(m); gpt_tok_free(tok); free(tokens); free(text);
    return 0;
}
