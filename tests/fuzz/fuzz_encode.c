/* tests/fuzz/fuzz_encode.c - libFuzzer harness for the tokenizer with GPT-2's real
   vocabulary (data/vocab.bpe and data/encoder.json, loaded once): gpt_tok_encode,
   gpt_tok_decode and the streaming decoder on arbitrary bytes (invalid UTF-8, "<|endoftext|>",
   long words that need the heap), with the checks of fuzz_tok.h (round trip, measuring,
   short buffers, a reference BPE, the stream).

   The same input is also read as token ids, 2 bytes each (little-endian, 0..65535, so some
   are past V = 50257): an id outside [0, V) must give GPT_ERR_RANGE from gpt_tok_decode and
   gpt_tok_stream_push without writing anything, and the valid ones, decoded whole or pushed
   one at a time, must give the same bytes (the stream's keeping back of unfinished UTF-8
   characters across tokens).

   Run from the repository root (or set GPT_ROOT) so that data/ is found. */
#include "fuzz.h"
#include "fuzz_tok.h"

static gpt_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char merges[512], json[512];
    (void)argc;
    (void)argv;
    snprintf(merges, sizeof merges, "%s/data/vocab.bpe", fuzz_root());
    snprintf(json, sizeof json, "%s/data/encoder.json", fuzz_root());
    if (gpt_tok_load(&tok, merges, json, NULL) != GPT_OK) {
        fprintf(stderr, "fuzz_encode: %s (run from the repository root or set GPT_ROOT)\n",
                gpt_last_error());
        exit(1);
    }
    fuzz_live_base = fuzz_live;
    return 0;
}

/* The input as ids: the invalid ones must be refused, the valid ones decode and stream. */
static void check_ids(const uint8_t *data, size_t size) {
    size_t n = size / 2, n_valid = 0, i, len = 12345;
    int *ids = (int *)malloc((n + 1) * sizeof(int)), *valid = (int *)malloc((n + 1) * sizeof(int));
    char *back, out[4];
    for (i = 0; i < n; i++) {
        ids[i] = data[2 * i] | data[2 * i + 1] << 8;
        if (ids[i] < tok->vocab_size) valid[n_valid++] = ids[i];
    }
    if (n_valid < n) {
        gpt_tok_stream stream;
        int bad = 0, rc;
        for (i = 0; i < n && ids[i] < tok->vocab_size; i++) {}
        bad = ids[i];
        rc = gpt_tok_decode(tok, ids, n, out, sizeof out, &len);
        FUZZ_ASSERT(rc == GPT_ERR_RANGE && len == 12345, "decode of id %d: %d", bad, rc);
        gpt_tok_stream_init(&stream);
        stream.n_pending = 2;   /* as if "\xe2\x82" were kept back */
        stream.pending[0] = 0xE2;
        stream.pending[1] = 0x82;
        rc = gpt_tok_stream_push(&stream, tok, bad, out, sizeof out, &len);
        FUZZ_ASSERT(rc == GPT_ERR_RANGE && stream.n_pending == 2 && stream.pending[0] == 0xE2,
                    "push of id %d: %d", bad, rc);
        FUZZ_ASSERT(gpt_tok_stream_push(&stream, tok, -1 - bad, out, sizeof out, &len) ==
                    GPT_ERR_RANGE, "push of a negative id");
    }
    back = fuzz_decode(tok, valid, n_valid, &len);
    free(back);
    free(ids);
    free(valid);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_input_size = size;
    fuzz_check_text(tok, data, size);
    check_ids(data, size);
    FUZZ_CHECK_NO_LEAK();
    return 0;
}
