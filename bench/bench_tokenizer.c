/* bench_tokenizer.c - how fast gpt.h encodes text into GPT-2 tokens, on one thread.

       sh bench/bench_tokenizer.sh [FILE]     (also runs tiktoken on FILE for comparison)
       bench/bin/bench_tokenizer FILE [VOCAB_DIR]

   Loads the vocabulary (default data/), reads FILE, encodes it once to warm up, then times 5
   encodings and prints the median rate. MB/s means 10^6 bytes of input per second, the same
   unit as bench/tiktoken_rate.js. Encoding is one thread whatever OpenMP says. */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_time.h"

#define RUNS 5

int main(int argc, char **argv) {
    gpt_tokenizer *tok;
    FILE *f;
    char *text;
    int *ids;
    long len;
    size_t n = 0;
    double seconds[RUNS];
    int r;
    if (argc < 2) { fprintf(stderr, "usage: bench_tokenizer FILE [VOCAB_DIR]\n"); return 2; }
    if (gpt_tok_load_dir(&tok, argc > 2 ? argv[2] : "data", NULL) != GPT_OK) {
        fprintf(stderr, "bench_tokenizer: %s\n", gpt_last_error());
        return 1;
    }
    f = fopen(argv[1], "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
        fprintf(stderr, "bench_tokenizer: %s: cannot read\n", argv[1]);
        return 1;
    }
    rewind(f);
    text = (char *)malloc((size_t)len + 1);
    ids = (int *)malloc(((size_t)len + 1) * sizeof(int));
    if (!text || !ids || fread(text, 1, (size_t)len, f) != (size_t)len) return 1;
    fclose(f);
    gpt_tok_encode(tok, text, (size_t)len, 0, ids, (size_t)len + 1, &n);   /* warm-up */
    for (r = 0; r < RUNS; r++) {
        double t0 = now();
        if (gpt_tok_encode(tok, text, (size_t)len, 0, ids, (size_t)len + 1, &n) != GPT_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", gpt_last_error());
            return 1;
        }
        seconds[r] = now() - t0;
    }
    printf("gpt.h: %.2f MB/s (median of %d, %s, %lu tokens)\n",
           (double)len / 1e6 / median(seconds, RUNS), RUNS, argv[1], (unsigned long)n);
    free(text); free(ids);
    gpt_tok_free(tok);
    return 0;
}
