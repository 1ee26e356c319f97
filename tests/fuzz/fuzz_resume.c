/* tests/fuzz/fuzz_resume.c - libFuzzer harness for the one reader of file content outside
   gpt.h: ./train --resume, which takes the run's recorded options and progress from the
   __metadata__ of a checkpoint (examples/train.c: read_resume, then setup_data, which puts
   the data loader at the recorded position, then the first batches of the training loop).

   examples/train.c is compiled into this harness with its main renamed, so the code under
   test is exactly the program's. Its text is a fixed array of TEXT_TOKENS token ids (made on
   the heap, so that AddressSanitizer sees a read past either end); a checkpoint of this
   program records their count and FNV-1a hash, which tests/fuzz/make_seeds.c writes into
   the seeds. The model itself is not loaded here (fuzz_checkpoint.c covers gpt_load).

   Input: the .safetensors file given to --resume. Its block size is read first as
   make_model does (file_block_size). After a resume that read_resume and
   setup_data accept, the loader must stay inside the text for a few epochs of batches, and
   the recorded progress must be a state the program could have saved: a step count that is
   not negative and a random generator state that is not 0 (xorshift64* never leaves 0). */
#include "fuzz.h"
#define main train_main   /* the program's main, unused here */
#include "examples/train.c"   /* found through -I<repository root> */
#undef main

#define TEXT_TOKENS 1000

static int *text;   /* (TEXT_TOKENS) the "encoded input file" */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    int i;
    (void)argc;
    (void)argv;
    text = (int *)malloc(TEXT_TOKENS * sizeof(int));
    for (i = 0; i < TEXT_TOKENS; i++) text[i] = (i * 7919) % 50257;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("checkpoint.safetensors");
    static run r;
    long k, BT;
    fuzz_input_size = size;
    fuzz_write(path, data, size);
    /* the block size ./train reads from the file before loading it (make_model; see
       crashes/resume_file_block_size, a read after close) */
    {
        long block = 0;
        file_block_size(path, &block);
    }
    memset(&r, 0, sizeof r);
    r.a = defaults;
    r.a.resume = path;
    r.best_loss = HUGE_VAL;
    r.tokens = text;
    r.n_tokens = TEXT_TOKENS;
    r.input_hash = fnv1a(text, TEXT_TOKENS);
    gpt_rng_seed(&r.rng, (uint64_t)r.a.seed);
    if (!read_resume(&r) || !setup_data(&r)) return 0;
    FUZZ_LOG("resumed at step %ld, loader position %lu", r.step, (unsigned long)r.loader.pos);
    /* (crashes/resume_*: read_resume took any 64-bit number for the step, the loader
       position and the random state) */
    FUZZ_ASSERT(r.step >= 0, "resumed at step %ld", r.step);
    FUZZ_ASSERT(r.rng.state != 0, "resumed with the random state 0, which xorshift never "
                "leaves");
    BT = r.a.batch * r.a.seq;
    r.inputs = (int *)malloc((size_t)BT * sizeof(int));
    r.targets = (int *)malloc((size_t)BT * sizeof(int));
    for (k = 0; k < 3 * r.per_epoch + 1 && k < 1000; k++) {   /* each reads tokens[pos, pos+BT] */
        FUZZ_ASSERT(r.loader.pos <= r.n_train - (size_t)BT - 1,   /* no wrap: n_train > BT */
                    "loader at %lu: a batch of %ld reads past the %lu training tokens",
                    (unsigned long)r.loader.pos, BT, (unsigned long)r.n_train);
        gpt_loader_next(&r.loader, r.inputs, r.targets);
    }
    free(r.inputs);
    free(r.targets);
    return 0;
}
