/* tests/test_nostdio.c - gpt.h built with GPT_NO_STDIO: no <stdio.h>, no file functions, and a
   model that comes from a safetensors image in memory (gpt_load_memory) samples exactly as
   the model it was made from; a vocabulary from the bytes of vocab.bpe (gpt_tok_load_memory).

   How this fails if stdio sneaks back in: gpt.h is included first, before anything else, and
   <stdio.h> must define EOF, so the #error below stops the build if gpt.h included it.
   Without the header, a call to fopen or vsnprintf in gpt.h would be an undeclared function
   (an error in C99 since gcc 14 and clang 16, a warning before, which tests/test_build.c
   counts as a failure). tests/test_build.c also builds this configuration as a library
   object and checks with nm that it references no stdio function.

   The image is written here by hand, from the model's public parameter table, so the test
   does not depend on gpt.h's writer (which a GPT_NO_STDIO build does not have). */
#define GPT_NO_STDIO
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#ifdef EOF
#error "gpt.h included <stdio.h> although GPT_NO_STDIO is defined"
#endif
#if defined(gpt_load) || defined(gpt_save)
#error "unexpected macros"
#endif
#include "test.h"
#include <string.h>

/* An image being written: bytes, the JSON header, and the data offset. */
typedef struct image {
    char json[16384];
    size_t json_len;
    unsigned char data[65536];
    size_t data_len;
} image;

static void json_add(image *im, const char *s) {
    size_t n = strlen(s);
    if (im->json_len + n < sizeof im->json) memcpy(im->json + im->json_len, s, n);
    im->json_len += n;
}

static void json_num(image *im, unsigned long v) {
    char digits[24], *p = digits + sizeof digits;
    *--p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    json_add(im, p);
}

/* One tensor: name, Hugging Face shape (d0) or (d0, d1), little-endian F32 values. */
static void add_tensor(image *im, const char *name, unsigned long d0, unsigned long d1, int ndim,
                       const float *x, int transposed, unsigned long rows, unsigned long cols) {
    size_t begin = im->data_len, n = ndim == 1 ? d0 : d0 * d1;
    json_add(im, im->json_len > 1 ? ",\"" : "\"");
    json_add(im, name);
    json_add(im, "\":{\"dtype\":\"F32\",\"shape\":[");
    json_num(im, d0);
    if (ndim == 2) {
        json_add(im, ",");
        json_num(im, d1);
    }
    json_add(im, "],\"data_offsets\":[");
    json_num(im, (unsigned long)begin);
    json_add(im, ",");
    json_num(im, (unsigned long)(begin + 4 * n));
    json_add(im, "]}");
    for (size_t i = 0; i < n && im->data_len + 4 <= sizeof im->data; i++) {
        /* file element i; transposed: file (cols, rows) of gpt.h's (rows, cols) */
        float v = transposed ? x[(i % rows) * cols + i / rows] : x[i];
        uint32_t bits;
        memcpy(&bits, &v, 4);
        for (int k = 0; k < 4; k++) im->data[im->data_len++] = (unsigned char)(bits >> (8 * k));
    }
}

/* The safetensors image of m, in Hugging Face's layout, with n_head in the metadata;
   *size its length. malloc'ed. */
static unsigned char *make_image(const gpt_model *m, const char *n_head, size_t *size) {
    static image im;
    memset(&im, 0, sizeof im);
    json_add(&im, "{");
    for (int p = 0; p < GPT_NUM_PARAM_TENSORS; p++) {
        const gpt_tensor *t = &m->tensors[p];
        for (int l = 0; l < t->layers; l++) {
            char name[96] = "";
            if (t->per_block) {
                char num[8], *q = num + sizeof num;
                int v = l;
                *--q = '\0';
                do {
                    *--q = (char)('0' + v % 10);
                    v /= 10;
                } while (v);
                strcat(name, "h.");
                strcat(name, q);
                strcat(name, ".");
            }
            strcat(name, t->name);
            const float *x = t->data + (size_t)l * t->size;
            if (t->cols == 0) add_tensor(&im, name, (unsigned long)t->rows, 0, 1, x, 0, 0, 0);
            else if (t->conv1d)
                add_tensor(&im, name, (unsigned long)t->cols, (unsigned long)t->rows, 2, x, 1,
                           (unsigned long)t->rows, (unsigned long)t->cols);
            else
                add_tensor(&im, name, (unsigned long)t->rows, (unsigned long)t->cols, 2, x, 0,
                           0, 0);
        }
    }
    json_add(&im, ",\"__metadata__\":{\"n_head\":\"");
    json_add(&im, n_head);
    json_add(&im, "\"}}");
    while (im.json_len % 8) json_add(&im, " ");
    CHECK(im.json_len < sizeof im.json && im.data_len < sizeof im.data, "the image fits");
    unsigned char *out = (unsigned char *)malloc(8 + im.json_len + im.data_len);
    for (int k = 0; k < 8; k++) out[k] = (unsigned char)((uint64_t)im.json_len >> (8 * k));
    memcpy(out + 8, im.json, im.json_len);
    memcpy(out + 8 + im.json_len, im.data, im.data_len);
    *size = 8 + im.json_len + im.data_len;
    return out;
}

/* The model from memory is the model: same weights, same logits, same samples. */
static void test_memory_model(void) {
    gpt_config c = {16, 11, 2, 2, 8};   /* block_size, vocab_size, n_layer, n_head, n_embd */
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m = NULL, *got = (gpt_model *)&got;
    gpt_rng rng;
    o.training = 0;
    o.max_batch = 0;
    o.kv_cache = 1;
    CHECK(gpt_model_create(&m, &c, &o) == GPT_OK, "create: %s", gpt_last_error());
    if (!m) return;
    gpt_rng_seed(&rng, 7);
    gpt_model_init(m, &rng);
    for (size_t i = 0; i < m->num_params; i++) m->param_memory[i] += gpt_rng_normal(&rng);
    size_t size = 0;
    unsigned char *bytes = make_image(m, "2", &size);
    CHECK(gpt_load_memory(&got, bytes, size, NULL) == GPT_OK, "load_memory: %s",
          gpt_last_error());
    if (got == (gpt_model *)&got) got = NULL;
    if (got) {
        CHECK(memcmp(&got->config, &m->config, sizeof c) == 0, "the configuration");
        CHECK(got->num_params == m->num_params &&
              memcmp(got->param_memory, m->param_memory, m->num_params * sizeof(float)) == 0,
              "the weights (Conv1D ones transposed back)");
        gpt_sampler s = gpt_sampler_defaults();
        gpt_rng r1, r2;
        gpt_rng_seed(&r1, 3);
        gpt_rng_seed(&r2, 3);
        int a = 1, b = 1, same = 1;
        for (int pos = 0; pos < 16; pos++) {
            float *la = NULL, *lb = NULL;
            CHECK(gpt_forward_token(m, a, pos, &la) == GPT_OK &&
                  gpt_forward_token(got, b, pos, &lb) == GPT_OK, "forward %d", pos);
            if (!la || !lb) break;
            same &= memcmp(la, lb, 11 * sizeof(float)) == 0;
            CHECK(gpt_sample(m, la, &s, &r1, &a) == GPT_OK &&
                  gpt_sample(got, lb, &s, &r2, &b) == GPT_OK, "sample %d", pos);
            same &= a == b;
        }
        CHECK(same, "16 tokens: the same logits, bit for bit, and the same samples");
        gpt_model_free(got);
    }
    /* hostile images are refused with the detail formatted without stdio */
    got = (gpt_model *)&got;
    CHECK(gpt_load_memory(&got, bytes, size - 3, NULL) == GPT_ERR_FORMAT && !got &&
          strstr(gpt_last_error(), "<memory>: truncated: tensor '") &&
          strstr(gpt_last_error(), "past its end"), "truncated: %s", gpt_last_error());
    bytes[0] ^= 0x40;   /* the header length grows by 64 */
    CHECK(gpt_load_memory(&got, bytes, size, NULL) == GPT_ERR_FORMAT && !got,
          "a wrong header length: %s", gpt_last_error());
    bytes[0] ^= 0x40;
    memcpy(bytes + 8, "[ ", 2);   /* not an object */
    CHECK(gpt_load_memory(&got, bytes, size, NULL) == GPT_ERR_FORMAT &&
          strstr(gpt_last_error(), "<memory>: invalid JSON at byte "), "%s", gpt_last_error());
    free(bytes);
    gpt_model_free(m);
}

/* The formatter that replaces vsnprintf: each conversion the library uses, against the text
   printf gives for it (written out here). */
static void test_format(void) {
    static const char *const want[3] = {
        "a 'x' 12 -7 4294967295 18446744073709551615 ff 00AB %",
        "[  42|42  |-0042|ab|abc]",
        "0.5 1e-05 123457 1.5e+10 -2.25 0 100000 1e+06 0.0001 3.14159",
    };
    char buf[128];
    int n = gpt__format(buf, sizeof buf, "a '%c' %d %ld %u %llu %x %04lX %%", 'x', 12, -7L,
                        4294967295u, 18446744073709551615ull, 255u, 0xABul);
    CHECK(n == (int)strlen(want[0]) && strcmp(buf, want[0]) == 0, "got \"%s\" (%d)", buf, n);
    n = gpt__format(buf, sizeof buf, "[%4d|%-4d|%05d|%.2s|%.*s]", 42, 42, -42, "abc", 3,
                    "abcdef");
    CHECK(n == (int)strlen(want[1]) && strcmp(buf, want[1]) == 0, "got \"%s\" (%d)", buf, n);
    n = gpt__format(buf, sizeof buf, "%g %g %g %g %g %g %g %g %g %g", 0.5, 1e-5, 123456.7,
                    1.5e10, -2.25, 0.0, 1e5, 1e6, 1e-4, 3.14159265);
    CHECK(n == (int)strlen(want[2]) && strcmp(buf, want[2]) == 0, "got \"%s\" (%d)", buf, n);
    n = gpt__format(buf, sizeof buf, "%.0f %.0f %.0f %.0f %.1f %lu", 7.4, 7.5, 0.2, -3.0, 0.96,
                    123456789ul);
    CHECK(strcmp(buf, "7 8 0 -3 1.0 123456789") == 0, "got \"%s\" (%d)", buf, n);
    n = gpt__format(buf, 6, "%s", "truncated");
    CHECK(n == 9 && strcmp(buf, "trunc") == 0, "cut at the capacity: \"%s\" (%d)", buf, n);
}

/* A vocabulary from memory: bytes 'a' 'b' merge into "ab" (id 256), then "ab" "ab" into
   "abab" (257); <|endoftext|> is 258. */
static void test_memory_vocab(void) {
    static const char merges[] = "#version: 0.2\na b\nab ab\n";
    gpt_tokenizer *tok = NULL;
    CHECK(gpt_tok_load_memory(&tok, merges, sizeof merges - 1, NULL, 0, NULL) == GPT_OK,
          "gpt_tok_load_memory: %s", gpt_last_error());
    if (!tok) return;
    int ids[8];
    size_t n = 0;
    CHECK(gpt_tok_vocab_size(tok) == 259, "V = %d", gpt_tok_vocab_size(tok));
    size_t len0 = 0, len1 = 0;
    CHECK(gpt_tok_encode(tok, "ababa", 5, 0, ids, 8, &n) == GPT_OK && n == 2 && ids[0] == 257,
          "\"ababa\" -> abab a (%d ids)", (int)n);
    const char *t0 = gpt_tok_token_bytes(tok, ids[0], &len0);
    const char *t1 = gpt_tok_token_bytes(tok, ids[1], &len1);
    CHECK(t0 && t1 && len0 == 4 && memcmp(t0, "abab", 4) == 0 && len1 == 1 && t1[0] == 'a',
          "the two tokens' bytes");
    gpt_tok_free(tok);
    tok = NULL;
    CHECK(gpt_tok_load_memory(&tok, "#version: 0.2\na\n", 16, NULL, 0, NULL) ==
          GPT_ERR_FORMAT && !tok && strstr(gpt_last_error(), "<memory: vocab.bpe>"),
          "a bad merge line from memory: %s", gpt_last_error());
}

int main(void) {
    test_memory_model();
    test_memory_vocab();
    test_format();
    return test_report("nostdio");
}
