/* tests/fuzz/make_seeds.c - writes the starting corpora of the fuzz harnesses from the
   committed fixtures and data/, so that no binary seed needs to live in the repository.

       make_seeds OUT_DIR      (run from the repository root; run_fuzz.sh does it)

   writes OUT_DIR/<harness>/seed_* for checkpoint, json, st_write, encode, vocab and resume:
     checkpoint  tests/fixtures' safetensors files in the harness's layout (flags byte,
                 optional config.json), and tiny GPT-2 checkpoints made here: F32 with the
                 AdamW state, and BF16 with the "transformer." prefix, lm_head.weight and the
                 attention buffers;
     json        the fixtures' config.json files and a few headers;
     st_write    a few tensor specs (see fuzz_st_write.c);
     encode      texts of tests/fixtures/tiktoken_cases.txt (one case in eight);
     vocab       the first 0, 3, 40 and 300 merges of data/vocab.bpe, with and without the
                 matching encoder.json;
     resume      a checkpoint of examples/train.c for fuzz_resume.c's text.
   (options starts from an empty corpus: any bytes are numbers.) */
#define _POSIX_C_SOURCE 200809L   /* mkdir */
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *out_dir;
static int n_written;

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) { fprintf(stderr, "make_seeds: cannot read %s\n", path); exit(1); }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (unsigned char *)malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* OUT_DIR/<harness>/seed_<name>: the concatenation of up to three pieces. */
static void seed(const char *harness, const char *name, const void *a, size_t na,
                 const void *b, size_t nb, const void *c, size_t nc) {
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out_dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/seed_%s", out_dir, harness, name);
    f = fopen(path, "wb");
    if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb) ||
        (nc && fwrite(c, 1, nc, f) != nc)) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    n_written++;
}

/* A checkpoint seed: flags, then (flag 1) the 2-byte length and config.json, then the file. */
static void checkpoint_seed(const char *name, int flags, const char *config, const char *path) {
    size_t n, nc = 0;
    unsigned char *st = slurp(path, &n), head[3], *cfg = NULL;
    head[0] = (unsigned char)flags;
    if (flags & 1) {
        cfg = slurp(config, &nc);
        head[1] = (unsigned char)(nc & 0xFF);
        head[2] = (unsigned char)(nc >> 8);
    }
    seed("checkpoint", name, head, (flags & 1) ? 3 : 1, cfg, nc, st, n);
    free(st);
    free(cfg);
}

/* Tiny GPT-2 checkpoints, written through gpt.h into tmp_dir. */
static void tiny_checkpoints(const char *tmp_dir) {
    gpt_config c = {3, 5, 1, 2, 4};   /* block, vocab, layers, heads, embd */
    gpt_model_options o = gpt_model_options_defaults();
    gpt_save_options so = gpt_save_options_defaults();
    gpt_model *m;
    gpt_rng rng;
    gpt_st_entry e[64];
    uint16_t half[4096];
    char path[512], names[64][96];
    size_t h = 0;
    int p, l, n = 0;
    static const char *const meta[] = {"format", "pt", NULL};
    o.max_batch = 1;
    o.max_seq = 2;
    if (gpt_model_create(&m, &c, &o) != GPT_OK) exit(1);
    gpt_rng_seed(&rng, 11);
    gpt_model_init(m, &rng);
    m->adam_step = 3;
    so.optimizer = 1;
    snprintf(path, sizeof path, "%s/tiny_adam.safetensors", tmp_dir);
    if (gpt_save(m, path, &so) != GPT_OK) exit(1);
    checkpoint_seed("tiny_adam", 2, NULL, path);
    checkpoint_seed("tiny_adam_into", 2 | 8, NULL, path);
    so.optimizer = 0;
    snprintf(path, sizeof path, "%s/tiny.safetensors", tmp_dir);
    if (gpt_save(m, path, &so) != GPT_OK) exit(1);
    checkpoint_seed("tiny", 0, NULL, path);
    checkpoint_seed("tiny_heads", 4, NULL, path);
    /* the same weights in GPT2LMHeadModel's names ("transformer."), with lm_head.weight
       and an attention buffer: BF16 (truncated) except the Conv1D weights, which stay F32
       because gpt_st_write transposes only F32 into Hugging Face's (in, out) layout */
    for (p = 0; p < GPT_NUM_PARAM_TENSORS; p++) {
        const gpt_tensor *t = &m->tensors[p];
        for (l = 0; l < t->layers; l++, n++) {
            const float *src = t->data + (size_t)l * t->size;
            gpt__param_name(names[n], "transformer.", t, l);
            e[n].name = names[n];
            e[n].ndim = gpt__hf_shape(t, e[n].shape);
            e[n].transposed = t->conv1d;
            if (t->conv1d) {
                e[n].dtype = GPT_DTYPE_F32;
                e[n].data = src;
            } else {
                size_t i;
                uint32_t bits;
                for (i = 0; i < t->size; i++) {
                    memcpy(&bits, &src[i], 4);
                    half[h + i] = (uint16_t)(bits >> 16);
                }
                e[n].dtype = GPT_DTYPE_BF16;
                e[n].data = half + h;
                h += t->size;
            }
        }
    }
    e[n] = e[0];   /* lm_head.weight: wte again */
    e[n].name = "lm_head.weight";
    n++;
    memset(&e[n], 0, sizeof e[n]);   /* h.0.attn.masked_bias: a scalar */
    e[n].name = "transformer.h.0.attn.masked_bias";
    e[n].dtype = GPT_DTYPE_F32;
    e[n].ndim = 0;
    e[n].data = m->param_memory;
    n++;
    snprintf(path, sizeof path, "%s/tiny_hf.safetensors", tmp_dir);
    if (gpt_st_write(path, e, n, meta, NULL) != GPT_OK) {
        fprintf(stderr, "make_seeds: %s\n", gpt_last_error());
        exit(1);
    }
    checkpoint_seed("tiny_hf_bf16", 4, NULL, path);
    gpt_model_free(m);
}

/* fuzz_resume.c's text and its fingerprint, as examples/train.c computes it. */
static void resume_seed(const char *tmp_dir) {
    static const char *keys[] = {"train.val-frac", "0.1", "train.batch", "4", "train.seq", "8",
        "train.epochs", "2", "train.steps", "56", "train.lr", "0.0006", "train.min-lr", "6e-05",
        "train.warmup", "0", "train.weight-decay", "0.1", "train.clip", "1", "train.seed",
        "1337", "train.step", "30", "train.loader_pos", "64", "train.best_loss", "inf",
        "train.epoch_loss_sum", "12.5", "train.rng_state", "88172645463325252",
        "train.input_tokens", "1000", "train.input_hash", NULL, NULL};
    const char *meta[sizeof keys / sizeof keys[0]];
    char hash_text[32], path[512];
    uint64_t hash = 14695981039346656037ull;
    size_t i, k;
    for (i = 0; i < 1000; i++) {   /* fuzz_resume.c: text[i] = (i * 7919) % 50257 */
        uint32_t id = (uint32_t)((i * 7919) % 50257);
        for (k = 0; k < 4; k++) {
            hash ^= (id >> (8 * k)) & 0xFF;
            hash *= 1099511628211ull;
        }
    }
    snprintf(hash_text, sizeof hash_text, "%llu", (unsigned long long)hash);
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) meta[i] = keys[i];
    meta[sizeof keys / sizeof keys[0] - 2] = hash_text;
    snprintf(path, sizeof path, "%s/resume.safetensors", tmp_dir);
    if (gpt_st_write(path, NULL, 0, meta, NULL) != GPT_OK) exit(1);
    {
        size_t n;
        unsigned char *b = slurp(path, &n);
        seed("resume", "checkpoint", b, n, NULL, 0, NULL, 0);
        free(b);
    }
}

/* The texts of the tiktoken fixture cases (hex on the line after "# case"). */
static void encode_seeds(void) {
    size_t len, i;
    char *file = (char *)slurp("tests/fixtures/tiktoken_cases.txt", &len), *line = file, name[32];
    int cases = 0;
    while (line < file + len) {
        char *end = strchr(line, '\n');
        if (!end) break;
        if (*line != '#') {   /* a hex line, then its ids line */
            size_t n = (size_t)(end - line) / 2;
            if (cases++ % 8 == 0 && n > 0 && n <= 4096) {
                unsigned char *text = (unsigned char *)malloc(n);
                for (i = 0; i < n; i++) {
                    unsigned hi, lo;
                    sscanf(line + 2 * i, "%1x%1x", &hi, &lo);
                    text[i] = (unsigned char)(hi * 16 + lo);
                }
                snprintf(name, sizeof name, "case%d", cases);
                seed("encode", name, text, n, NULL, 0, NULL, 0);
                free(text);
            }
            end = strchr(end + 1, '\n');   /* skip the ids */
            if (!end) break;
        }
        line = end + 1;
    }
    free(file);
}

/* The first k merges of data/vocab.bpe, and encoder.json for exactly those tokens. */
static void vocab_seeds(void) {
    static const int ks[4] = {0, 3, 40, 300};
    gpt__tok_alphabet a;
    gpt_tokenizer *tok;
    size_t len, i;
    unsigned char *bpe = slurp("data/vocab.bpe", &len);
    char name[32], *json;
    int q;
    if (gpt_tok_load(&tok, "data/vocab.bpe", NULL, NULL) != GPT_OK) exit(1);
    gpt__tok_alphabet_init(&a);
    for (q = 0; q < 4; q++) {
        int k = ks[q], lines = 0, id;
        size_t cut = 0, jn = 0;
        for (cut = 0; cut < len && lines <= k; cut++) lines += bpe[cut] == '\n';
        json = (char *)malloc(64 * (size_t)(256 + k + 1) + 64);
        json[jn++] = '{';
        for (id = 0; id < 256 + k + 1; id++) {
            size_t tl;
            const unsigned char *b = (const unsigned char *)gpt_tok_token_bytes(
                tok, id < 256 + k ? id : tok->eot, &tl);
            json[jn++] = '"';
            for (i = 0; i < tl; i++) {   /* each byte as its character, JSON-escaped */
                uint32_t cp = id == 256 + k ? b[i] : a.char_of[b[i]];
                if (cp == '"' || cp == '\\') { json[jn++] = '\\'; json[jn++] = (char)cp; }
                else if (cp < 0x80) json[jn++] = (char)cp;
                else {   /* two bytes of UTF-8: cp < 0x800 here */
                    json[jn++] = (char)(0xC0 | (cp >> 6));
                    json[jn++] = (char)(0x80 | (cp & 0x3F));
                }
            }
            jn += (size_t)sprintf(json + jn, "\": %d%s", id, id < 256 + k ? ", " : "}");
        }
        snprintf(name, sizeof name, "merges%d", k);
        seed("vocab", name, bpe, cut, NULL, 0, NULL, 0);
        snprintf(name, sizeof name, "merges%d_json", k);
        seed("vocab", name, bpe, cut, "", 1, json, jn);
        /* the input's size parity picks the file names: a newline more gives the others */
        snprintf(name, sizeof name, "merges%d_json_nl", k);
        json[jn++] = '\n';
        seed("vocab", name, bpe, cut, "", 1, json, jn);
        free(json);
    }
    gpt_tok_free(tok);
    free(bpe);
}

int main(int argc, char **argv) {
    static const char *json_seeds[] = {
        "{}", "{\"n_head\": 2}", "{\"n_layer\": 2, \"n_embd\": 8, \"vocab_size\": 11, "
        "\"n_positions\": 6, \"n_head\": 2}", "[1, -2.5e+3, {\"b\": null}, true, false]",
        "{\"a\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\", \"\xc3\xa9\": {}}", NULL};
    /* fuzz_st_write.c specs, 4 bytes a tensor and no 0 byte: F32 (1); F16 (1,1); F32 (3,2)
       transposed; I32 (3) and an I64 scalar */
    static const char *spec_seeds[] = {"\x08\x01\x01\x02", "\x01\x02\x05\x02",
                                       "\x08\x02\x0b\x01", "\x03\x01\x03\x02\x04\x04\x40\x02",
                                       NULL};
    char tmp_dir[256];
    size_t n;
    int i;
    unsigned char *b;
    if (argc != 2) { fprintf(stderr, "usage: make_seeds OUT_DIR\n"); return 2; }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    snprintf(tmp_dir, sizeof tmp_dir, "%s/tmp", out_dir);
    mkdir(tmp_dir, 0755);

    checkpoint_seed("hf_tiny", 0, NULL, "tests/fixtures/hf_tiny/model.safetensors");
    checkpoint_seed("hf_tiny_config", 1, "tests/fixtures/hf_tiny/config.json",
                    "tests/fixtures/hf_tiny/model.safetensors");
    checkpoint_seed("hf_tiny_f16_into", 8, NULL, "tests/fixtures/hf_tiny/model_f16.safetensors");
    checkpoint_seed("hf_tiny_bf16_train", 1 | 2 | 8, "tests/fixtures/hf_tiny/config.json",
                    "tests/fixtures/hf_tiny/model_bf16.safetensors");
    checkpoint_seed("hf_tiny_expected", 0, NULL, "tests/fixtures/hf_tiny/expected.safetensors");
    checkpoint_seed("train_ref_expected", 0, NULL, "tests/fixtures/train_ref/expected.safetensors");
    tiny_checkpoints(tmp_dir);

    b = slurp("tests/fixtures/hf_tiny/config.json", &n);
    seed("json", "hf_tiny_config", b, n, NULL, 0, NULL, 0);
    free(b);
    b = slurp("tests/fixtures/train_ref/config.json", &n);
    seed("json", "train_ref_config", b, n, NULL, 0, NULL, 0);
    free(b);
    b = slurp("tests/fixtures/hf_tiny/expected.safetensors", &n);
    seed("json", "header", b + 8, (size_t)gpt__le64(b), NULL, 0, NULL, 0);   /* its JSON */
    free(b);
    for (i = 0; json_seeds[i]; i++) {
        char name[16];
        snprintf(name, sizeof name, "small%d", i);
        seed("json", name, json_seeds[i], strlen(json_seeds[i]), NULL, 0, NULL, 0);
    }

    for (i = 0; spec_seeds[i]; i++) {   /* spec, then names, then metadata */
        char name[16];
        snprintf(name, sizeof name, "spec%d", i);
        seed("st_write", name, spec_seeds[i], i == 3 ? 8 : 4, "\0wte.weight\0h.0.x\0format\0pt",
             28, NULL, 0);
    }

    encode_seeds();
    vocab_seeds();
    resume_seed(tmp_dir);
    printf("make_seeds: %d seeds in %s\n", n_written, out_dir);
    return 0;
}
