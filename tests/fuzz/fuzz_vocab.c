/* tests/fuzz/fuzz_vocab.c - libFuzzer harness for loading a vocabulary: vocab.bpe (merges.txt)
   and encoder.json (vocab.json) as gpt_tok_load_dir reads them, the way ./sample, ./train and
   ./tokenize find them beside a model or in data/.

   Input: the text of vocab.bpe, then optionally a 0 byte and the text of encoder.json (no 0
   byte: there is no encoder.json, which gpt_tok_load_dir then skips). The first byte of the
   input also picks the names: odd, Hugging Face's merges.txt + vocab.json; even, OpenAI's
   vocab.bpe + encoder.json (a byte of the file all the same).

   A vocabulary that loads must be consistent (V = 256 + merges + 1, eot the last id, every
   token at most max_token_bytes long, the single bytes where byte_id says) and must encode
   and decode texts with the checks of fuzz_tok.h: the merges file itself, the JSON text, and
   every token's own bytes, through both encode and the reference BPE. */
#include "fuzz.h"
#include "fuzz_tok.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

static void check_vocab(const gpt_tokenizer *tok, const uint8_t *data, size_t size) {
    size_t i, len, total = 0;
    int id;
    FUZZ_ASSERT(tok->vocab_size == 256 + tok->n_merges + 1 && tok->eot == tok->vocab_size - 1,
                "V %d, merges %d, eot %d", tok->vocab_size, tok->n_merges, tok->eot);
    FUZZ_ASSERT(gpt_tok_vocab_size(tok) == tok->vocab_size, "gpt_tok_vocab_size");
    for (i = 0; i < 256; i++) {
        const char *b = gpt_tok_token_bytes(tok, tok->byte_id[i], &len);
        FUZZ_ASSERT(b && len == 1 && (unsigned char)b[0] == i, "byte %lu", (unsigned long)i);
    }
    for (id = 0; id < tok->vocab_size; id++) {
        const char *b = gpt_tok_token_bytes(tok, id, &len);
        FUZZ_ASSERT(b && len >= 1 && len <= (size_t)tok->max_token_bytes &&
                    len <= GPT_TOK_MAX_TOKEN_BYTES, "token %d: %lu bytes", id,
                    (unsigned long)len);
        total += len;
    }
    FUZZ_ASSERT(gpt_tok_token_bytes(tok, tok->vocab_size, &len) == NULL && len == 0, "id V");
    FUZZ_ASSERT(gpt_tok_token_bytes(tok, -1, &len) == NULL && len == 0, "id -1");
    /* every token's bytes, one after the other, encoded as a text */
    {
        unsigned char *all = (unsigned char *)malloc(total + 1), *p = all;
        for (id = 0; id < tok->vocab_size; id++) {
            const char *b = gpt_tok_token_bytes(tok, id, &len);
            memcpy(p, b, len);
            p += len;
        }
        fuzz_check_text(tok, all, total);
        free(all);
    }
    fuzz_check_text(tok, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *zero = size ? (const uint8_t *)memchr(data, 0, size) : NULL;
    int hf = (int)(size & 1);
    const char *merges = fuzz_path(hf ? "merges.txt" : "vocab.bpe");
    const char *json = fuzz_path(hf ? "vocab.json" : "encoder.json");
    size_t merges_len = zero ? (size_t)(zero - data) : size;
    gpt_tokenizer *tok = (gpt_tokenizer *)&merges;   /* not NULL: the loader must set it */
    int rc;
    fuzz_input_size = size;
    /* only this input's files: the other naming's must not be found */
    unlink(fuzz_path(hf ? "vocab.bpe" : "merges.txt"));
    unlink(fuzz_path(hf ? "encoder.json" : "vocab.json"));
    unlink(json);
    fuzz_write(merges, data, merges_len);
    if (zero) fuzz_write(json, zero + 1, size - merges_len - 1);
    (void)fuzz_path("x");   /* the folder exists from here on */
    rc = gpt_tok_load_dir(&tok, fuzz_dir, NULL);
    FUZZ_CHECK_RC(rc);
    FUZZ_LOG("%s names%s: %s", hf ? "HF" : "OpenAI", zero ? " with JSON" : "",
             rc == GPT_OK ? "ok" : gpt_last_error());
    FUZZ_ASSERT((rc == GPT_OK) == (tok != NULL), "rc %d but tokenizer %p", rc, (void *)tok);
    if (tok) {
        check_vocab(tok, data, merges_len);
        gpt_tok_free(tok);
    }
    FUZZ_CHECK_NO_LEAK();
    return 0;
}
