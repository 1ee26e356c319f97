/* tests/test_checkpoint.c - >>checkpoint: the strict JSON parser, safetensors reading and
   writing (F16/BF16/int conversion, every kind of corrupt file), the Hugging Face GPT-2
   layout (Conv1D transpose, "transformer." prefix, tied lm_head, attention buffers, n_head
   from config.json / metadata / the GPT-2 family), checkpoints with AdamW state, atomic
   saves under failures, and a failing allocator on every load and save path.

   The failing writes need no hook inside the library: "<path>.tmp" is made a symbolic link
   to /dev/full (every write fails with ENOSPC), a directory (cannot be created as a file),
   or the destination is a directory (rename fails). Each time the old file must survive. */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp, symlink, mkdir, rmdir */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _WIN32
/* The same few calls on Windows (the test runs there, or under Wine, built with MinGW):
   what it checks of saving matters most there, where rename() cannot replace a file. */
#include <direct.h>
#include <io.h>
#define mkdir(path, mode) _mkdir(path)
#define symlink(target, path) (-1)   /* not reached: there is no /dev/full */
#define lstat stat                    /* no symbolic links */
static char *mkdtemp(char *templ) {
    return _mktemp(templ) && _mkdir(templ) == 0 ? templ : NULL;
}
#else
#include <unistd.h>
#endif

/* A counting allocator, defined before gpt.h includes it. ctx (when not NULL) points at a
   test_alloc that can fail the n-th allocation; `test_live` counts every block, any ctx,
   so that the end of main can check that nothing leaked on any path. */
typedef struct test_alloc {
    long fail_at;   /* the allocation number that fails (counted from 0), -1: none */
    long calls;
    size_t biggest; /* the largest request seen */
} test_alloc;
static long test_live;
static void *test_malloc(size_t n, void *ctx) {
    test_alloc *a = (test_alloc *)ctx;
    void *p;
    if (a && n > a->biggest) a->biggest = n;
    if (a && a->fail_at >= 0 && a->calls++ == a->fail_at) return NULL;
    p = malloc(n);
    if (p) test_live++;
    return p;
}
static void test_free(void *p, void *ctx) {
    (void)ctx;
    if (p) test_live--;
    free(p);
}
#define GPT_MALLOC(n, ctx) test_malloc(n, ctx)
#define GPT_FREE(p, ctx) test_free(p, ctx)
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include "test.h"

/* gpt_load_into's options with the AdamW state: the defaults and optimizer 1. */
static const gpt_load_options *with_adam(void) {
    static gpt_load_options lo;
    lo = gpt_load_options_defaults();
    lo.optimizer = 1;
    return &lo;
}

/* ---- helpers ------------------------------------------------------------------------------ */
static char tmp_dir[64];

/* A path in the private temporary folder. The strings live until the end of main. */
static char *tmp_paths[4096];
static int n_tmp_paths;
static const char *tmp(const char *name) {
    char *p = (char *)malloc(strlen(tmp_dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmp_dir, name);
    if (n_tmp_paths < 4096) tmp_paths[n_tmp_paths++] = p;
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) printf("cannot write %s\n", path);
    if (f) fclose(f);
}

/* A safetensors file by hand: the length of json (little-endian), json, then data. */
static void write_st(const char *path, const char *json, const void *data, size_t n) {
    size_t len = strlen(json), i;
    unsigned char *buf = (unsigned char *)malloc(8 + len + n + 1);
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)len >> (8 * i));
    memcpy(buf + 8, json, len);
    if (n) memcpy(buf + 8 + len, data, n);
    write_bytes(path, buf, 8 + len + n);
    free(buf);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    long n;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

static int same_file(const char *a, const char *b) {
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g, c, d;
    while (same) {
        c = fgetc(f);
        d = fgetc(g);
        if (c != d) same = 0;
        if (c == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

static int exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 || lstat(path, &s) == 0;
}

/* rc must be `code` and the error detail must contain every non-NULL piece. */
static void expect(int rc, int code, const char *a, const char *b, const char *c, int line) {
    const char *d = gpt_last_error();
    int ok = rc == code && (!a || strstr(d, a)) && (!b || strstr(d, b)) && (!c || strstr(d, c));
    CHECK(ok, "line %d: code %d (want %d), detail \"%s\" should contain \"%s\" \"%s\" \"%s\"",
          line, rc, code, d, a ? a : "", b ? b : "", c ? c : "");
}
#define EXPECT(rc, code, a, b, c) expect(rc, code, a, b, c, __LINE__)

/* The same image from memory (gpt_load_memory) must fail the same way, with the same detail
   naming "<memory>" where the file's names the path. Files that cannot be read (GPT_ERR_IO)
   have no image to try. */
static void memory_fails(const char *path, const gpt_load_options *lo, int code, const char *a,
                         const char *b, int line) {
    size_t n = 0;
    char *bytes = code == GPT_ERR_IO ? NULL : test_slurp(path, &n);
    gpt_model *m = (gpt_model *)&m;
    if (!bytes) return;
    expect(gpt_load_memory(&m, bytes, n, lo), code, "<memory>",
           a && strcmp(a, path) == 0 ? "<memory>" : a, b && strcmp(b, path) == 0 ? "<memory>" : b,
           line);
    CHECK(m == NULL, "line %d: gpt_load_memory: *out must be NULL after a failure", line);
    free(bytes);
}

/* gpt_st_open must fail with `code`, naming the file and the pieces; so must the image in
   memory. */
static void open_fails(const char *path, int code, const char *a, const char *b, int line) {
    gpt_st *st = (gpt_st *)&st;
    int rc = gpt_st_open(&st, path, NULL);
    expect(rc, code, path, a, b, line);
    CHECK(st == NULL, "line %d: *out must be NULL after a failure", line);
    if (st != (gpt_st *)&st) gpt_st_close(st);
    memory_fails(path, NULL, code, a, b, line);
}
#define OPEN_FAILS(path, code, a, b) open_fails(path, code, a, b, __LINE__)

/* ---- JSON -------------------------------------------------------------------------------- */
static int json_rc(const char *text) {
    gpt__json_doc doc;
    int rc = gpt__json_parse(&doc, text, strlen(text), "t.json", NULL);
    gpt__json_free(&doc);
    return rc;
}

static void test_json_valid(void) {
    const char *text = " {\"a\": [1, -2.5e+3, {\"b\": null}], "
                       "\"c\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\","
                       " \"d\": true, \"e\": false, \"\xc3\xa9\": {}} ";
    gpt__json_doc doc;
    const gpt__json *a, *c, *b;
    uint64_t v = 0;
    int rc = gpt__json_parse(&doc, text, strlen(text), "t.json", NULL);
    CHECK(rc == GPT_OK, "valid JSON rejected: %s", gpt_last_error());
    if (rc != GPT_OK) return;
    CHECK(doc.nodes[0].type == GPT__JSON_OBJECT && doc.nodes[0].count == 5, "root object of 5");
    CHECK(doc.n == doc.nodes[0].skip, "root subtree is the whole document");
    a = gpt__json_get(doc.nodes, "a");
    CHECK(a && a->type == GPT__JSON_ARRAY && a->count == 3, "array a of 3");
    CHECK(a && gpt__json_uint(a + 1, 100, &v) && v == 1, "a[0] == 1");
    CHECK(a && !gpt__json_uint(a + 2, (uint64_t)-1, &v), "-2.5e+3 is no unsigned integer");
    b = a ? gpt__json_get(a + 3, "b") : NULL;
    CHECK(b && b->type == GPT__JSON_NULL, "nested null");
    c = gpt__json_get(doc.nodes, "c");
    CHECK(c && c->type == GPT__JSON_STRING && c->count == 9 &&
          memcmp(c->str, "x\xc3\xa9\xf0\x9f\x98\x80\n\"", 10) == 0,
          "escapes decode to UTF-8 (surrogate pair included)");
    CHECK(gpt__json_get(doc.nodes, "\xc3\xa9") != NULL, "raw UTF-8 key");
    CHECK(gpt__json_get(doc.nodes, "zz") == NULL, "absent key");
    gpt__json_free(&doc);
}

static void test_json_invalid(void) {
    static const char *bad[] = {
        "", "   ", "{", "}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{'a':1}", "{a:1}",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud800\"", "\"\\ud800\\u0041\"",
        "\"\\udc00\"", "\"\\u0000\"", "\"a\nb\"", "\"a\tb\"", "01", "1.", ".5", "-", "1e",
        "1e+", "+1", "tru", "nul", "True", "NaN", "[1] x", "{\"a\":1}{}", "\"\xff\"",
        "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"",
        "{\"a\":1,\"a\":2}", "{\"x\":{\"k\":1,\"j\":2,\"k\":3}}", "[1,,2]", "/* c */ 1"
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = json_rc(bad[i]);
        CHECK(rc == GPT_ERR_FORMAT && strstr(gpt_last_error(), "t.json"),
              "bad JSON %lu accepted or wrong message: %d %s", (unsigned long)i, rc,
              gpt_last_error());
    }
    /* a NUL byte inside the text given with its length */
    {
        gpt__json_doc doc;
        CHECK(gpt__json_parse(&doc, "[1]\0", 4, "t.json", NULL) == GPT_ERR_FORMAT, "NUL");
    }
    EXPECT(json_rc("{\"a\":1,}"), GPT_ERR_FORMAT, "byte 7", "trailing comma", NULL);
    EXPECT(json_rc("{\"a\":1,\"a\":2}"), GPT_ERR_FORMAT, "duplicate key 'a'", NULL, NULL);
    EXPECT(json_rc("\"\\q\""), GPT_ERR_FORMAT, "invalid escape", NULL, NULL);
    EXPECT(json_rc("\"abc"), GPT_ERR_FORMAT, "unterminated string", NULL, NULL);
    /* UTF-8 through the tokenizer's decoder: a character cut by the end of the text, an
       overlong form, a surrogate; and the valid characters at the edges are kept */
    EXPECT(json_rc("\"a\xe2\x82"), GPT_ERR_FORMAT, "invalid UTF-8", NULL, NULL);
    EXPECT(json_rc("\"\xe0\x80\x80\""), GPT_ERR_FORMAT, "invalid UTF-8", NULL, NULL);
    EXPECT(json_rc("\"\xed\xbf\xbf\""), GPT_ERR_FORMAT, "invalid UTF-8", NULL, NULL);
    CHECK(json_rc("\"\x7f\xc2\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\"") == GPT_OK,
          "U+007F, U+0080, U+D7FF, U+E000 and U+10FFFF rejected");
}

static void test_json_limits(void) {
    char deep[300];
    int i;
    uint64_t v = 0;
    gpt__json_doc doc;
    const char *huge = "[123456789012345678901234567890, 1e999, 18446744073709551615, "
                       "18446744073709551616, 0, -0]";
    /* 65 nested arrays is the deepest allowed (depth 0..64), 66 is too deep */
    for (i = 0; i < 65; i++) deep[i] = '[';
    for (i = 0; i < 65; i++) deep[65 + i] = ']';
    deep[130] = '\0';
    CHECK(json_rc(deep) == GPT_OK, "65 levels: %s", gpt_last_error());
    for (i = 0; i < 66; i++) deep[i] = '[';
    for (i = 0; i < 66; i++) deep[66 + i] = ']';
    deep[132] = '\0';
    EXPECT(json_rc(deep), GPT_ERR_FORMAT, "nested too deeply", NULL, NULL);
    for (i = 0; i < 299; i++) deep[i] = '[';   /* unterminated and deep: still an error */
    deep[299] = '\0';
    CHECK(json_rc(deep) == GPT_ERR_FORMAT, "deep unterminated");
    /* huge numbers are valid JSON; only reading them as integers fails */
    CHECK(gpt__json_parse(&doc, huge, strlen(huge), "t.json", NULL) == GPT_OK, "huge numbers");
    if (doc.nodes) {
        const gpt__json *e = doc.nodes + 1;
        CHECK(!gpt__json_uint(e, (uint64_t)-1, &v), "30 digits overflow");
        CHECK(!gpt__json_uint(e + 1, (uint64_t)-1, &v), "1e999 is not an integer");
        CHECK(gpt__json_uint(e + 2, (uint64_t)-1, &v) && v == (uint64_t)-1, "2^64-1 fits");
        CHECK(!gpt__json_uint(e + 3, (uint64_t)-1, &v), "2^64 overflows");
        CHECK(gpt__json_uint(e + 4, 0, &v) && v == 0, "0 with max 0");
        CHECK(!gpt__json_uint(e + 5, 10, &v), "-0 has a sign");
        CHECK(!gpt__json_uint(e + 2, 1000, &v), "above max");
    }
    gpt__json_free(&doc);
}

/* ---- safetensors: writing and reading back ------------------------------------------------ */
static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static const float rt_f32[6] = {1.5f, -2.25f, 0.0f, 3.0e38f, -1e-40f, 7.0f};
static const float rt_mem[6] = {0, 1, 2, 3, 4, 5};   /* (3,2), written transposed as (2,3) */
static const float rt_tr_want[6] = {0, 2, 4, 1, 3, 5};
static const int32_t rt_i32[4] = {0, -1, 2147483647, -2147483647 - 1};
static const int64_t rt_i64[3] = {5, -7, -2147483647 - 1};
static const int64_t rt_i64big[2] = {1, (int64_t)1 << 40};
/* F16: zeros, 1, -2, the largest (65504), the smallest subnormal 2^-24, the largest
   subnormal, the smallest normal 2^-14, +-infinity, NaN, 1/3 rounded */
static const uint16_t rt_f16[12] = {0x0000, 0x8000, 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF,
                                    0x0400, 0x7C00, 0xFC00, 0x7E00, 0x3555};
static const float rt_f16_want[12] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f,
                                      5.9604644775390625e-8f, 6.0975551605224609375e-5f,
                                      6.103515625e-5f, INFINITY, -INFINITY, 0.0f,
                                      0.333251953125f};
/* BF16: 1, -5, infinity, the smallest subnormal 2^-133, NaN */
static const uint16_t rt_bf16[5] = {0x3F80, 0xC0A0, 0x7F80, 0x0001, 0x7FC0};
static const float rt_bf16_want[5] = {1.0f, -5.0f, INFINITY, 9.18354961579912115600575e-41f, 0};
static const float rt_scalar = 42.0f;

static gpt_st_entry entry(const char *name, gpt_dtype dt, int ndim, uint64_t s0, uint64_t s1,
                          const void *data) {
    gpt_st_entry e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.dtype = dt;
    e.ndim = ndim;
    e.shape[0] = s0;
    e.shape[1] = s1;
    e.data = data;
    return e;
}

/* Nine tensors of every writable kind, and metadata that needs escaping. */
static void write_sample(const char *path) {
    const char *meta[] = {"k\"ey", "va\\l\nue\x01", "utf8", "\xc3\xa9t\xc3\xa9", NULL};
    gpt_st_entry e[9];
    e[0] = entry("f32", GPT_DTYPE_F32, 2, 2, 3, rt_f32);
    e[1] = entry("transposed", GPT_DTYPE_F32, 2, 2, 3, rt_mem);
    e[1].transposed = 1;
    e[2] = entry("i32", GPT_DTYPE_I32, 1, 4, 0, rt_i32);
    e[3] = entry("i64", GPT_DTYPE_I64, 1, 3, 0, rt_i64);
    e[4] = entry("i64big", GPT_DTYPE_I64, 1, 2, 0, rt_i64big);
    e[5] = entry("f16", GPT_DTYPE_F16, 1, 12, 0, rt_f16);
    e[6] = entry("bf16", GPT_DTYPE_BF16, 1, 5, 0, rt_bf16);
    e[7] = entry("scalar", GPT_DTYPE_F32, 0, 0, 0, &rt_scalar);
    e[8] = entry("empty", GPT_DTYPE_F32, 2, 0, 5, NULL);
    CHECK(gpt_st_write(path, e, 9, meta, NULL) == GPT_OK, "write: %s", gpt_last_error());
    CHECK(!exists(tmp("rt.safetensors.tmp")), "no temporary file left behind");
}

/* The header and the float tensors read back. */
static void test_st_roundtrip(void) {
    const char *path = tmp("rt.safetensors");
    const gpt_st_tensor *t;
    gpt_st *st = NULL;
    float got[12];
    int i;
    write_sample(path);
    if (gpt_st_open(&st, path, NULL) != GPT_OK) {
        CHECK(0, "open: %s", gpt_last_error());
        return;
    }
    CHECK(st->n_tensors == 9 && st->n_meta == 2, "9 tensors and 2 metadata pairs");
    for (i = 1; i < st->n_tensors; i++)
        CHECK(strcmp(st->tensors[i - 1].name, st->tensors[i].name) < 0, "sorted by name");
    CHECK(st->data_start % 8 == 0, "header padded so that the data is 8-aligned");
    CHECK(st->data_bytes == 24 + 24 + 16 + 24 + 16 + 24 + 10 + 4, "data bytes");
    CHECK((long)(st->data_start + st->data_bytes) == file_size(path), "file size");
    CHECK(gpt_st_meta(st, "k\"ey") && strcmp(gpt_st_meta(st, "k\"ey"), "va\\l\nue\x01") == 0,
          "metadata with quotes, backslash and control characters");
    CHECK(gpt_st_meta(st, "utf8") && strcmp(gpt_st_meta(st, "utf8"), "\xc3\xa9t\xc3\xa9") == 0,
          "UTF-8 metadata");
    CHECK(gpt_st_meta(st, "nope") == NULL, "absent metadata");
    t = gpt_st_find(st, "f32");
    CHECK(t && t->dtype == GPT_DTYPE_F32 && t->ndim == 2 && t->shape[0] == 2 &&
          t->shape[1] == 3 && t->numel == 6, "f32 entry");
    CHECK(gpt_st_find(st, "f3") == NULL && gpt_st_find(st, "f32x") == NULL, "find misses");
    CHECK(gpt_st_read_f32(st, "f32", got, 6) == GPT_OK, "read f32");
    for (i = 0; i < 6; i++) CHECK(same_bits(got[i], rt_f32[i]), "f32[%d] bit for bit", i);
    CHECK(gpt_st_read_f32(st, "transposed", got, 6) == GPT_OK, "read transposed");
    for (i = 0; i < 6; i++) CHECK(got[i] == rt_tr_want[i], "transposed[%d] %g", i, got[i]);
    CHECK(gpt_st_read_f32(st, "f16", got, 12) == GPT_OK, "read f16");
    for (i = 0; i < 12; i++) {
        if (i == 10) CHECK(got[i] != got[i], "F16 NaN stays NaN");
        else CHECK(same_bits(got[i], rt_f16_want[i]), "f16[%d] = %.9g, want %.9g", i, got[i],
                   rt_f16_want[i]);
    }
    CHECK(gpt_st_read_f32(st, "bf16", got, 5) == GPT_OK, "read bf16");
    for (i = 0; i < 5; i++) {
        if (i == 4) CHECK(got[i] != got[i], "BF16 NaN stays NaN");
        else CHECK(same_bits(got[i], rt_bf16_want[i]), "bf16[%d] = %.9g", i, got[i]);
    }
    gpt_st_close(st);
}

/* Scalars, empty tensors, integers, and the read errors. */
static void test_st_roundtrip_ints(void) {
    const char *path = tmp("rt.safetensors");
    const gpt_st_tensor *t;
    gpt_st *st = NULL;
    float got[12];
    int ints[4];
    if (gpt_st_open(&st, path, NULL) != GPT_OK) {
        CHECK(0, "open: %s", gpt_last_error());
        return;
    }
    CHECK(gpt_st_read_f32(st, "scalar", got, 1) == GPT_OK && got[0] == 42.0f, "scalar");
    t = gpt_st_find(st, "scalar");
    CHECK(t && t->ndim == 0 && t->numel == 1, "scalar has shape () and one element");
    t = gpt_st_find(st, "empty");
    CHECK(t && t->numel == 0 && t->begin == t->end, "empty tensor");
    CHECK(gpt_st_read_f32(st, "empty", got, 0) == GPT_OK, "read empty");
    CHECK(gpt_st_read_int(st, "i32", ints, 4) == GPT_OK && ints[0] == 0 && ints[1] == -1 &&
          ints[2] == 2147483647 && ints[3] == -2147483647 - 1, "i32 values");
    CHECK(gpt_st_read_int(st, "i64", ints, 3) == GPT_OK && ints[0] == 5 && ints[1] == -7 &&
          ints[2] == -2147483647 - 1, "i64 values");
    EXPECT(gpt_st_read_int(st, "i64big", ints, 2), GPT_ERR_RANGE, path, "'i64big'", "element 1");
    EXPECT(gpt_st_read_int(st, "f32", ints, 6), GPT_ERR_FORMAT, "'f32'", "dtype F32", NULL);
    EXPECT(gpt_st_read_f32(st, "i32", got, 4), GPT_ERR_FORMAT, "'i32'", "dtype I32", NULL);
    EXPECT(gpt_st_read_f32(st, "f32", got, 5), GPT_ERR_SHAPE, "'f32'", "6 elements", NULL);
    EXPECT(gpt_st_read_f32(st, "nope", got, 1), GPT_ERR_FORMAT, path, "no tensor 'nope'", NULL);
    /* the file shrinks after it was opened: the read fails cleanly */
    write_bytes(path, "tiny", 4);
    EXPECT(gpt_st_read_f32(st, "f32", got, 6), GPT_ERR_IO, "'f32'", "read failed", NULL);
    gpt_st_close(st);
}

static void test_st_write_errors(void) {
    static const float x[2] = {1, 2};
    static const char *odd[] = {"k", NULL};
    gpt_st_entry e[2];
    const char *path = tmp("bad_write.safetensors");
    memset(e, 0, sizeof e);
    e[0].name = "a"; e[0].dtype = GPT_DTYPE_F32; e[0].ndim = 1; e[0].shape[0] = 2; e[0].data = x;
    e[1] = e[0];
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "duplicate key 'a'", NULL, NULL);
    e[1].name = "\xff";
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "UTF-8", NULL, NULL);
    e[1].name = "__metadata__";
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "bad name", NULL, NULL);
    e[1].name = "";
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "bad name", NULL, NULL);
    e[1].name = "b";
    e[1].dtype = GPT_DTYPE_U8;
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "'b'", "cannot be written", NULL);
    e[1].dtype = GPT_DTYPE_I32;
    e[1].transposed = 1;
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "'b'", "transposed", NULL);
    e[1].dtype = GPT_DTYPE_F32;
    e[1].transposed = 0;
    e[1].data = NULL;
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "'b'", "NULL", NULL);
    e[1].data = x;
    e[1].ndim = 9;
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "'b'", "ndim 9", NULL);
    e[1].ndim = 3;
    e[1].shape[0] = e[1].shape[1] = e[1].shape[2] = (uint64_t)1 << 32;
    EXPECT(gpt_st_write(path, e, 2, NULL, NULL), GPT_ERR_ARG, "'b'", "overflows", NULL);
    EXPECT(gpt_st_write(path, e, 1, odd, NULL), GPT_ERR_ARG, "'k' has no value", NULL, NULL);
    EXPECT(gpt_st_write(NULL, e, 1, NULL, NULL), GPT_ERR_ARG, NULL, NULL, NULL);
    CHECK(!exists(path) && !exists(tmp("bad_write.safetensors.tmp")), "nothing written");
}

/* ---- safetensors: corrupt files ------------------------------------------------------------
   Each file is made by hand and must fail with the right code and a message that names the
   file, the tensor (when there is one) and the problem. */
#define T_ENTRY(name, dtype, shape, b, e) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"

static void test_st_corrupt(void) {
    static const unsigned char zeros[64] = {0};
    unsigned char raw[16];
    const char *p = tmp("bad.safetensors");
    write_bytes(p, "", 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "empty file", NULL);
    write_bytes(p, "\x02\0\0\0\0", 5);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "5 bytes, too short", NULL);
    /* header lengths: past the end of the file, absurd, all ones, too small */
    memset(raw, 0, sizeof raw);
    raw[0] = 0xE8; raw[1] = 0x03; memcpy(raw + 8, "{}      ", 8);   /* 1000 */
    write_bytes(p, raw, 16);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "header length 1000 runs past the end", NULL);
    memset(raw, 0, 8); raw[5] = 1;                                    /* 2^40 */
    write_bytes(p, raw, 16);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "header length 1099511627776 is not in", NULL);
    memset(raw, 0xFF, 8);
    write_bytes(p, raw, 16);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "18446744073709551615", NULL);
    memset(raw, 0, 8); raw[0] = 1;
    write_bytes(p, raw, 16);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "header length 1 ", NULL);
    /* the header */
    write_st(p, "hello world", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "invalid JSON at byte 0", NULL);
    write_st(p, "[1, 2, 3]", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "not a JSON object", NULL);
    write_st(p, "{" T_ENTRY("a", "F32", "[2]", "0", "8") "," T_ENTRY("a", "F32", "[2]", "8", "16")
             "}", zeros, 16);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "duplicate key 'a'", NULL);
    write_st(p, "{\"__metadata__\":{\"step\":1}}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "__metadata__ value of 'step' is not a string", NULL);
    write_st(p, "{\"__metadata__\":[\"x\"]}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "__metadata__ is not an object", NULL);
    write_st(p, "{\"a\":5}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "'a'", "exactly dtype, shape and data_offsets");
    write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "'a'", "exactly dtype, shape and data_offsets");
    write_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", zeros,
             4);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "'a'", "exactly dtype, shape and data_offsets");
}

/* Tensor entries: dtype and shape. */
static void test_st_corrupt_entries(void) {
    static const unsigned char zeros[64] = {0};
    const char *p = tmp("bad.safetensors");
    /* dtype and shape */
    write_st(p, "{" T_ENTRY("w", "F33", "[2]", "0", "8") "}", zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "unknown dtype 'F33'");
    write_st(p, "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "unknown dtype (not a string)");
    write_st(p, "{" T_ENTRY("w", "F32", "[2,3]", "0", "20") "}", zeros, 20);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "hold 20 bytes but F32 (2,3) needs 24");
    write_st(p, "{" T_ENTRY("w", "F32", "[4294967296,4294967296,16]", "0", "0") "}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "overflows 64 bits");
    write_st(p, "{" T_ENTRY("w", "BF16", "[4611686018427387904,2]", "0", "0") "}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "overflows 64 bits");
    write_st(p, "{" T_ENTRY("w", "F32", "[-1]", "0", "0") "}", NULL, 0);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "shape entry 0 is not an integer");
    write_st(p, "{" T_ENTRY("w", "F32", "[2.0]", "0", "8") "}", zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "shape entry 0 is not an integer");
    write_st(p, "{" T_ENTRY("w", "F32", "[1,1,1,1,1,1,1,1,1]", "0", "4") "}", zeros, 4);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "at most 8");
    write_st(p, "{" T_ENTRY("w", "F32", "\"2\"", "0", "8") "}", zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "shape must be an array");
}

/* Offsets, sizes, and valid corner cases. */
static void test_st_corrupt_offsets(void) {
    static const unsigned char zeros[64] = {0};
    const char *p = tmp("bad.safetensors");
    gpt_st *st;
    int i;
    /* offsets */
    write_st(p, "{" T_ENTRY("w", "F32", "[1]", "8", "4") "}", zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "data_offsets must be");
    write_st(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'w'", "data_offsets must be");
    write_st(p, "{" T_ENTRY("a", "F32", "[4]", "0", "16") "," T_ENTRY("b", "F32", "[4]", "8", "24")
             "}", zeros, 24);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "tensor 'b'", "overlaps tensor 'a'");
    write_st(p, "{" T_ENTRY("a", "F32", "[2]", "0", "8") "," T_ENTRY("b", "F32", "[2]", "16", "24")
             "}", zeros, 24);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "[8, 16) belong to no tensor", "before tensor 'b'");
    write_st(p, "{" T_ENTRY("a", "F32", "[2]", "8", "16") "}", zeros, 16);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "[0, 8) belong to no tensor", "before tensor 'a'");
    write_st(p, "{" T_ENTRY("a", "F32", "[6]", "0", "24") "}", zeros, 20);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "truncated", "tensor 'a'");
    write_st(p, "{" T_ENTRY("a", "U8", "[1099511627776]", "0", "1099511627776") "}", zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "truncated", "tensor 'a'");
    write_st(p, "{" T_ENTRY("a", "U8", "[4611686018427387904]", "0", "4611686018427387904") "}",
             zeros, 8);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "past the", "limit");
    write_st(p, "{" T_ENTRY("a", "F32", "[6]", "0", "24") "}", zeros, 28);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "unexpected bytes after the data buffer", NULL);
    write_st(p, "{}", zeros, 1);
    OPEN_FAILS(p, GPT_ERR_FORMAT, "unexpected bytes after the data buffer", NULL);
    /* not a file (POSIX opens a folder and fails to read it; Windows fails to open it) */
#ifdef _WIN32
    OPEN_FAILS(tmp_dir, GPT_ERR_IO, "cannot open", NULL);
#else
    OPEN_FAILS(tmp_dir, GPT_ERR_IO, "cannot read", NULL);
#endif
    OPEN_FAILS(tmp("does_not_exist.safetensors"), GPT_ERR_IO, "cannot open", NULL);
    /* valid corner cases: no tensors; whitespace around the JSON; an empty tensor anywhere */
    write_st(p, "{}", NULL, 0);
    CHECK(gpt_st_open(&st, p, NULL) == GPT_OK && st->n_tensors == 0, "no tensors: %s",
          gpt_last_error());
    gpt_st_close(st);
    write_st(p, " \n\t{" T_ENTRY("z", "F16", "[0]", "4", "4") "," T_ENTRY("a", "I32", "[1]", "0",
             "4") ",\"__metadata__\":{}}\r\n   ", zeros, 4);
    i = gpt_st_open(&st, p, NULL);
    CHECK(i == GPT_OK && st->n_tensors == 2 && st->n_meta == 0, "padded header: %s",
          gpt_last_error());
    if (i == GPT_OK) gpt_st_close(st);
}

/* ---- GPT-2 checkpoints ---------------------------------------------------------------------- */

/* A model whose every parameter (and moment) is a distinct random number, so that any
   mix-up of tensors, layers or a transpose shows. */
static gpt_model *make_model(int L, int NH, int C, int V, int maxT, int training,
                             uint64_t seed, void *ctx) {
    gpt_config c;
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m = NULL;
    gpt_rng rng;
    size_t i;
    c.block_size = maxT; c.vocab_size = V; c.n_layer = L; c.n_head = NH; c.n_embd = C;
    o.max_batch = 1;
    o.max_seq = maxT;
    o.training = training;
    o.alloc_ctx = ctx;
    if (gpt_model_create(&m, &c, &o) != GPT_OK) {
        CHECK(0, "create: %s", gpt_last_error());
        return NULL;
    }
    gpt_rng_seed(&rng, seed);
    for (i = 0; i < m->num_params; i++) m->param_memory[i] = gpt_rng_normal(&rng);
    if (training) {
        for (i = 0; i < m->num_params; i++) m->adam_m[i] = gpt_rng_normal(&rng);
        for (i = 0; i < m->num_params; i++) m->adam_v[i] = gpt_rng_uniform(&rng);
        m->adam_step = 1234567;
    }
    return m;
}

static int same_params(const gpt_model *a, const gpt_model *b) {
    return a->num_params == b->num_params &&
           memcmp(a->param_memory, b->param_memory, a->num_params * sizeof(float)) == 0;
}

static int same_moments(const gpt_model *a, const gpt_model *b) {
    size_t n = a->num_params * sizeof(float);
    return a->adam_step == b->adam_step && memcmp(a->adam_m, b->adam_m, n) == 0 &&
           memcmp(a->adam_v, b->adam_v, n) == 0;
}

/* A file in Hugging Face's layout made entry by entry, to vary it. */
#define MAX_E 160
typedef struct hf_file {
    gpt_st_entry e[MAX_E];
    char names[MAX_E][GPT__NAME_CAP];
    int n;
} hf_file;
static hf_file hf;

static void hf_begin(const gpt_model *m, const char *prefix, int with_moments) {
    int k;
    hf.n = gpt__ck_entries(m, prefix, m->param_memory, hf.e, &hf.names[0][0]);
    if (!with_moments) return;
    k = hf.n;
    hf.n += gpt__ck_entries(m, "optimizer.m.", m->adam_m, hf.e + k, &hf.names[k][0]);
    k = hf.n;
    hf.n += gpt__ck_entries(m, "optimizer.v.", m->adam_v, hf.e + k, &hf.names[k][0]);
}

static gpt_st_entry *hf_find(const char *name) {
    int i;
    for (i = 0; i < hf.n; i++)
        if (strcmp(hf.e[i].name, name) == 0) return &hf.e[i];
    return NULL;
}

/* Drops every entry whose name starts with `start`. */
static void hf_drop(const char *start) {
    int i, j = 0;
    for (i = 0; i < hf.n; i++)
        if (strncmp(hf.e[i].name, start, strlen(start)) != 0) hf.e[j++] = hf.e[i];
    hf.n = j;
}

static gpt_st_entry *hf_add(const char *name, gpt_dtype dt, int ndim, uint64_t s0, uint64_t s1,
                            uint64_t s2, uint64_t s3, const void *data) {
    gpt_st_entry *e = &hf.e[hf.n++];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->dtype = dt;
    e->ndim = ndim;
    e->shape[0] = s0; e->shape[1] = s1; e->shape[2] = s2; e->shape[3] = s3;
    e->data = data;
    return e;
}

static int hf_write(const char *path, const char *const *meta) {
    int rc = gpt_st_write(path, hf.e, hf.n, meta, NULL);
    CHECK(rc == GPT_OK, "writing %s: %s", path, gpt_last_error());
    return rc;
}

static gpt_load_options load_opts(int n_head, int training) {
    gpt_load_options lo = gpt_load_options_defaults();
    lo.model.max_batch = 1;
    lo.model.max_seq = 4;
    lo.model.training = training;
    lo.n_head = n_head;
    return lo;
}

/* gpt_load must fail with code and the pieces, and leave *out NULL. */
static void load_fails(const char *path, const gpt_load_options *lo, int code, const char *a,
                       const char *b, int line) {
    gpt_model *m = (gpt_model *)&m;
    int rc = gpt_load(&m, path, lo);
    char beside[512];
    const char *slash = strrchr(path, '/');
    expect(rc, code, a, b, NULL, line);
    CHECK(m == NULL, "line %d: *out must be NULL after a failed load", line);
    if (m != (gpt_model *)&m) gpt_model_free(m);
    /* from memory too, unless the failure is config.json's, which memory does not read */
    snprintf(beside, sizeof beside, "%.*sconfig.json", slash ? (int)(slash - path) + 1 : 0, path);
    if ((!lo || !lo->config_json) && !exists(beside)) memory_fails(path, lo, code, a, b, line);
}
#define LOAD_FAILS(path, lo, code, a, b) load_fails(path, lo, code, a, b, __LINE__)

/* The raw file gpt_save wrote for m: names, metadata, the Conv1D transpose. */
static void check_saved_layout(const gpt_model *m, const char *path) {
    float hf_w[8 * 32], mine[8 * 24];
    const gpt_st_tensor *t;
    gpt_st *st = NULL;
    int i, j, ok;
    CHECK(gpt_st_open(&st, path, NULL) == GPT_OK, "open: %s", gpt_last_error());
    if (!st) return;
    CHECK(st->n_tensors == 3 * (4 + 2 * 12), "84 tensors: %d", st->n_tensors);
    CHECK(!gpt_st_find(st, "lm_head.weight") && !gpt_st_find(st, "h.0.attn.bias") &&
          gpt_st_find(st, "optimizer.v.h.1.mlp.c_proj.bias"), "names");
    CHECK(!strcmp(gpt_st_meta(st, "format"), "pt") && !strcmp(gpt_st_meta(st, "gpt_h_format"), "1")
          && !strcmp(gpt_st_meta(st, "n_head"), "2") && !strcmp(gpt_st_meta(st, "n_layer"), "2")
          && !strcmp(gpt_st_meta(st, "n_embd"), "8") && !strcmp(gpt_st_meta(st, "block_size"), "16")
          && !strcmp(gpt_st_meta(st, "vocab_size"), "11")
          && !strcmp(gpt_st_meta(st, "adam_step"), "1234567")
          && !strcmp(gpt_st_meta(st, "step"), "42")
          && !strcmp(gpt_st_meta(st, "train.lr"), "0.0006"), "metadata");
    t = gpt_st_find(st, "h.1.mlp.c_fc.weight");
    CHECK(t && t->ndim == 2 && t->shape[0] == 8 && t->shape[1] == 32 && t->dtype == GPT_DTYPE_F32,
          "c_fc stored (C,4C) as Conv1D");
    CHECK(gpt_st_read_f32(st, "h.1.mlp.c_fc.weight", hf_w, 8 * 32) == GPT_OK, "read c_fc");
    for (i = 0, ok = 1; i < 8; i++)   /* HF (i,j) = gpt.h (j,i) of layer 1 */
        for (j = 0; j < 32; j++)
            ok &= hf_w[i * 32 + j] == m->params.c_fc_w[32 * 8 + j * 8 + i];
    CHECK(ok, "c_fc weight is the transpose of gpt.h's");
    CHECK(gpt_st_read_f32(st, "optimizer.m.h.1.mlp.c_fc.weight", hf_w, 8 * 32) == GPT_OK, "m");
    for (i = 0, ok = 1; i < 8; i++)
        for (j = 0; j < 32; j++)
            ok &= hf_w[i * 32 + j] == m->adam_m[(m->params.c_fc_w - m->param_memory) + 32 * 8 +
                                                j * 8 + i];
    CHECK(ok, "first moment stored in the same layout");
    CHECK(gpt_st_read_f32(st, "h.1.ln_2.bias", hf_w, 8) == GPT_OK &&
          memcmp(hf_w, m->params.ln_2_b + 8, 8 * sizeof(float)) == 0, "a vector as it is");
    CHECK(gpt_st_read_param(st, "h.1.attn.c_attn.weight", &m->tensors[4], mine) == GPT_OK &&
          memcmp(mine, m->params.c_attn_w + 24 * 8, sizeof mine) == 0, "gpt_st_read_param");
    EXPECT(gpt_st_read_param(st, "h.1.attn.c_attn.weight", &m->tensors[6], mine), GPT_ERR_SHAPE,
           "'h.1.attn.c_attn.weight'", "(8,24) but the model needs (8,8)", NULL);
    gpt_st_close(st);
}

/* gpt_load_into a fresh model; a weights-only file zeroes the moments; refused calls. */
static void check_load_into(const gpt_model *m, const char *path) {
    const char *bad_meta[] = {"n_head", "3", NULL};
    const char *weights = tmp("rt/weights.safetensors");
    gpt_save_options so = gpt_save_options_defaults();
    gpt_load_options lo = load_opts(0, 0);
    gpt_model *m3 = make_model(2, 2, 8, 11, 16, 1, 99, NULL);
    gpt_model *inf = make_model(2, 2, 8, 11, 16, 0, 99, NULL);
    if (m3 && inf) {
        CHECK(gpt_load_into(m3, path, with_adam()) == GPT_OK, "load_into: %s",
              gpt_last_error());
        CHECK(same_params(m, m3) && same_moments(m, m3), "load_into: everything equal");
        EXPECT(gpt_load_into(inf, path, with_adam()), GPT_ERR_ARG, "training model", NULL, NULL);
        CHECK(gpt_load_into(inf, path, NULL) == GPT_OK && same_params(m, inf), "inference model");
        CHECK(gpt_save(m, weights, &so) == GPT_OK, "save weights: %s", gpt_last_error());
        m3->param_memory[0] += 1.0f;
        CHECK(gpt_load_into(m3, weights, with_adam()) == GPT_OK, "load weights: %s",
              gpt_last_error());
        CHECK(same_params(m, m3) && m3->adam_step == 0 && m3->adam_m[0] == 0.0f &&
              m3->adam_m[m3->num_params - 1] == 0.0f && m3->adam_v[7] == 0.0f, "moments zeroed");
        so.optimizer = 1;
        EXPECT(gpt_save(inf, tmp("rt/x.safetensors"), &so), GPT_ERR_ARG, "no optimizer state",
               NULL, NULL);
    }
    lo.optimizer = 1;
    LOAD_FAILS(path, &lo, GPT_ERR_ARG, "model.training", NULL);
    so.metadata = bad_meta;
    EXPECT(gpt_save(m, tmp("rt/x.safetensors"), &so), GPT_ERR_ARG, "'n_head' is reserved", NULL,
           NULL);
    CHECK(!exists(tmp("rt/x.safetensors")), "nothing written on a refused save");
    gpt_model_free(m3);
    gpt_model_free(inf);
}

/* Save with everything, load back: the same bits; and the file is Hugging Face's layout. */
static void test_gpt2_roundtrip(void) {
    const char *meta[] = {"step", "42", "train.lr", "0.0006", NULL};
    gpt_save_options so = gpt_save_options_defaults();
    gpt_load_options lo = load_opts(0, 1);
    gpt_model *m = make_model(2, 2, 8, 11, 16, 1, 1, NULL), *m2 = NULL;
    const char *path = tmp("rt/ckpt.safetensors");
    int rc;
    mkdir(tmp("rt"), 0700);
    if (!m) return;
    so.optimizer = 1;
    so.metadata = meta;
    so.write_config_json = 1;
    CHECK(gpt_save(m, path, &so) == GPT_OK, "save: %s", gpt_last_error());
    CHECK(exists(tmp("rt/config.json")) && !exists(tmp("rt/ckpt.safetensors.tmp")), "files");
    lo.optimizer = 1;
    rc = gpt_load(&m2, path, &lo);
    CHECK(rc == GPT_OK, "load: %s", gpt_last_error());
    if (rc == GPT_OK) {
        CHECK(memcmp(&m2->config, &m->config, sizeof m->config) == 0, "same configuration");
        CHECK(same_params(m, m2), "parameters bit for bit");
        CHECK(same_moments(m, m2), "AdamW moments and step bit for bit");
        gpt_model_free(m2);
    }
    check_saved_layout(m, path);
    check_load_into(m, path);
    gpt_model_free(m);
}

/* Files as Hugging Face writes them, and as they go wrong. Every case rewrites one file. */
static float hf_buffer[16 * 16];   /* data for the attention buffers and odd shapes */

/* GPT2LMHeadModel's file: prefix, the tied head, the attention buffers of every block. */
static void test_gpt2_hf_layout(const gpt_model *m) {
    const char *fmt_pt[] = {"format", "pt", NULL};
    const char *p = tmp("hf/model.safetensors");
    gpt_load_options lo = load_opts(2, 0), lo_no_head = load_opts(0, 0);
    gpt_model *got = NULL;
    float *other_wte = (float *)malloc(11 * 8 * sizeof(float));
    gpt_st_entry *e;
    int rc;
    memcpy(other_wte, m->params.wte, 11 * 8 * sizeof(float));
    other_wte[11 * 8 - 1] += 1.0f;
    hf_begin(m, "transformer.", 0);
    hf_add("lm_head.weight", GPT_DTYPE_F32, 2, 11, 8, 0, 0, m->params.wte);
    hf_add("transformer.h.0.attn.bias", GPT_DTYPE_F32, 4, 1, 1, 16, 16, hf_buffer);
    hf_add("transformer.h.1.attn.bias", GPT_DTYPE_F32, 4, 1, 1, 16, 16, hf_buffer);
    hf_add("transformer.h.0.attn.masked_bias", GPT_DTYPE_F32, 0, 0, 0, 0, 0, hf_buffer);
    hf_add("transformer.h.1.attn.masked_bias", GPT_DTYPE_F32, 0, 0, 0, 0, 0, hf_buffer);
    hf_write(p, fmt_pt);
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK, "HF layout: %s", gpt_last_error());
    if (rc == GPT_OK) {
        CHECK(same_params(m, got) && got->config.n_head == 2 && got->config.block_size == 16,
              "HF layout: the same parameters");
        gpt_model_free(got);
    }
    LOAD_FAILS(p, &lo_no_head, GPT_ERR_ARG, "n_head is unknown", "pass n_head");
    /* lm_head: other values, other shape */
    hf_find("lm_head.weight")->data = other_wte;
    hf_write(p, fmt_pt);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "lm_head.weight differs from transformer.wte.weight", NULL);
    e = hf_find("lm_head.weight");
    e->shape[0] = 8; e->shape[1] = 11;
    hf_write(p, fmt_pt);
    LOAD_FAILS(p, &lo, GPT_ERR_SHAPE, "'lm_head.weight'", "(8,11) but the model needs (11,8)");
    free(other_wte);
}

/* Names: mixed prefixes, unknown names, bad block numbers, a missing tensor. */
static void test_gpt2_hf_names(const gpt_model *m) {
    const char *p = tmp("hf/model.safetensors");
    gpt_load_options lo = load_opts(2, 0);
    gpt_st_entry *e;
    hf_begin(m, "transformer.", 0);
    e = hf_add("h.0.attn.bias", GPT_DTYPE_F32, 4, 1, 1, 16, 16, hf_buffer);
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "'h.0.attn.bias'", "with and without the 'transformer.'");
    e->name = "transformer.h.0.attn.c_attn.scale";
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "unexpected tensor 'transformer.h.0.attn.c_attn.scale'",
               NULL);
    e->name = "transformer.h.2.ln_1.weight";   /* a third block with one tensor */
    e->ndim = 1; e->shape[0] = 8;
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "missing tensor 'transformer.h.2.ln_1.bias'", NULL);
    e->name = "transformer.h.01.ln_1.weight";
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "'transformer.h.01.ln_1.weight'", "bad block number");
    e->name = "transformer.h.1024.ln_1.weight";
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "'transformer.h.1024.ln_1.weight'", "bad block number");
    e->name = "optimizer.m.wte.weightx";
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "unexpected tensor 'optimizer.m.wte.weightx'", NULL);
    hf.n--;
    hf_drop("transformer.h.1.ln_2.bias");
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "missing tensor 'transformer.h.1.ln_2.bias'", NULL);
}

/* Shapes and dtypes, a hole in the blocks, and the moments (all or none, with a step). */
static void test_gpt2_hf_shapes(const gpt_model *m, const gpt_model *m3) {
    static const int32_t ints[8] = {0};
    const char *no_step[] = {"n_head", "2", NULL};
    const char *p = tmp("hf/model.safetensors");
    gpt_load_options lo = load_opts(2, 0);
    gpt_st_entry *e;
    hf_begin(m, "", 0);
    e = hf_find("h.0.attn.c_attn.weight");
    e->transposed = 0;   /* stored as gpt.h holds it, (3C,C): not HF's Conv1D layout */
    e->shape[0] = 24; e->shape[1] = 8;
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_SHAPE, "tensor 'h.0.attn.c_attn.weight'",
               "shape (24,8) but the model needs (8,24)");
    hf_begin(m, "", 0);
    e = hf_find("ln_f.bias");
    e->dtype = GPT_DTYPE_I32;
    e->data = ints;
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "tensor 'ln_f.bias'", "dtype I32");
    hf_begin(m, "", 0);
    e = hf_find("wpe.weight");
    e->shape[1] = 4; e->shape[0] = 32;
    e->data = hf_buffer;
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_SHAPE, "wte.weight (11,8) and wpe.weight (32,4)", NULL);
    hf_begin(m, "", 0);
    hf_drop("h.");
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "no transformer blocks", NULL);
    hf_drop("wte");
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "missing tensor 'wte.weight'", NULL);
    hf_begin(m3, "", 0);   /* h.0 and h.2 without h.1 */
    hf_drop("h.1.");
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "missing tensor 'h.1.ln_1.weight'", NULL);
    hf_begin(m, "", 1);
    hf_write(p, no_step);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "adam_step", NULL);
    hf_drop("optimizer.v.h.0.ln_1.weight");
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "missing tensor 'optimizer.v.h.0.ln_1.weight'", NULL);
}

static void test_gpt2_hf(void) {
    gpt_model *m = make_model(2, 2, 8, 11, 16, 1, 2, NULL);
    gpt_model *m3 = make_model(3, 2, 8, 11, 16, 0, 3, NULL);
    mkdir(tmp("hf"), 0700);
    if (m && m3) {
        test_gpt2_hf_layout(m);
        test_gpt2_hf_names(m);
        test_gpt2_hf_shapes(m, m3);
    }
    gpt_model_free(m);
    gpt_model_free(m3);
}

static void write_text(const char *path, const char *text) {
    write_bytes(path, text, strlen(text));
}

/* n_head: the caller, config.json, the metadata, the GPT-2 family, or an error.
   First config.json beside a file without metadata, then an explicit one. */
static void test_gpt2_config_json(const gpt_model *m) {
    gpt_load_options lo = load_opts(0, 0);
    const char *p = tmp("cfg/model.safetensors"), *cfg = tmp("cfg/config.json");
    gpt_model *got = NULL;
    int rc;
    hf_begin(m, "", 0);
    hf_write(p, NULL);   /* no metadata at all */
    write_text(cfg, "{\"model_type\": \"gpt2\", \"n_head\": 2, \"n_layer\": 2, \"n_embd\": 8, "
               "\"vocab_size\": 11, \"n_positions\": 16, \"task\": {\"x\": [1.5e-3, null]}}");
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK && got->config.n_head == 2 && same_params(m, got), "config.json: %s",
          gpt_last_error());
    if (rc == GPT_OK) gpt_model_free(got);
    write_text(cfg, "{\"n_head\": 2, \"n_layer\": 3}");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "n_layer is 3 but the tensor shapes give 2");
    write_text(cfg, "{\"n_positions\": 1024}");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "n_positions is 1024 but the tensor shapes give 16");
    write_text(cfg, "{\"n_head\": 2.0}");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "n_head is not a positive integer");
    write_text(cfg, "{\"n_head\": 0}");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "n_head is not a positive integer");
    write_text(cfg, "{\"n_head\": 2,}");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "invalid JSON");
    write_text(cfg, "[2]");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "not a JSON object");
    write_text(cfg, "{\"n_head\": 4}");
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK && got->config.n_head == 4, "n_head 4 from config.json");
    if (rc == GPT_OK) gpt_model_free(got);
    lo.n_head = 2;   /* the caller overrides config.json */
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK && got->config.n_head == 2, "n_head from the caller");
    if (rc == GPT_OK) gpt_model_free(got);
    lo.n_head = 3;
    LOAD_FAILS(p, &lo, GPT_ERR_ARG, p, "n_head 3 must be positive and divide n_embd 8");
    lo.n_head = 0;
    lo.config_json = tmp("cfg/none.json");
    LOAD_FAILS(p, &lo, GPT_ERR_IO, "none.json", "cannot open");
    mkdir(tmp("cfg/dir.json"), 0700);   /* a folder: Linux reports its size as 2^63 - 1 */
    lo.config_json = tmp("cfg/dir.json");
    LOAD_FAILS(p, &lo, GPT_ERR_IO, "dir.json", NULL);
    rmdir(tmp("cfg/dir.json"));
    write_text(tmp("cfg/other.json"), "{\"n_head\": 1}");
    lo.config_json = tmp("cfg/other.json");
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK && got->config.n_head == 1, "n_head from an explicit config file");
    if (rc == GPT_OK) gpt_model_free(got);
    remove(cfg);
}

/* The metadata, the conflicts between sources, the family table. */
static void test_gpt2_meta_n_head(const gpt_model *m) {
    const char *meta2[] = {"n_head", "2", NULL}, *meta_bad[] = {"n_head", "x", NULL};
    const char *meta_layer[] = {"n_layer", "3", NULL};
    static const int family[5][2] = {{768, 12}, {1024, 16}, {1280, 20}, {1600, 25}, {100, 0}};
    gpt_load_options lo = load_opts(0, 0);
    const char *p = tmp("cfg/model.safetensors"), *cfg = tmp("cfg/config.json");
    gpt_model *got = NULL;
    gpt_config c;
    gpt_st *st = NULL;
    int rc, k;
    hf_begin(m, "", 0);
    hf_write(p, NULL);
    LOAD_FAILS(p, &lo, GPT_ERR_ARG, p, "n_head is unknown");
    hf_write(p, meta2);
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK && got->config.n_head == 2, "n_head from the metadata");
    if (rc == GPT_OK) gpt_model_free(got);
    write_text(cfg, "{\"n_head\": 4}");
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, "metadata n_head 2 but config.json says 4", NULL);
    remove(cfg);
    hf_write(p, meta_bad);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, p, "metadata n_head is 'x'");
    hf_write(p, meta_layer);
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, p, "n_layer is 3 but the tensor shapes give 2");
    /* the GPT-2 family table, through an empty file without config.json */
    write_st(tmp("cfg/empty.safetensors"), "{}", NULL, 0);
    CHECK(gpt_st_open(&st, tmp("cfg/empty.safetensors"), NULL) == GPT_OK, "empty file");
    for (k = 0; st && k < 5; k++) {
        memset(&c, 0, sizeof c);
        c.n_embd = family[k][0];
        rc = gpt__ck_n_head(st, &lo, &c);
        CHECK(family[k][1] ? rc == GPT_OK && c.n_head == family[k][1] : rc == GPT_ERR_ARG,
              "family: n_embd %d gives n_head %d (rc %d)", family[k][0], c.n_head, rc);
    }
    gpt_st_close(st);
}

/* A file is checked whole before the model's memory is allocated: 2 KB that claim 1024
   blocks of width 512 (only a buffer named h.1023.attn.masked_bias, no real block tensor)
   fail on the first missing tensor, without asking for the 12.9 GB such a model needs
   (found by tests/fuzz/fuzz_checkpoint.c). */
static void test_gpt2_claims_huge(void) {
    static float zeros[2 * 512];
    const char *p = tmp("huge.safetensors");
    test_alloc a = {-1, 0, 0};
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_model *m = NULL;
    write_st(p, "{\"__metadata__\":{\"n_head\":\"8\"},"
                T_ENTRY("wte.weight", "F32", "[1,512]", "0", "2048") ","
                T_ENTRY("wpe.weight", "F32", "[1,512]", "2048", "4096") ","
                T_ENTRY("h.1023.attn.masked_bias", "F32", "[0]", "4096", "4096") "}",
             zeros, sizeof zeros);
    lo.model.alloc_ctx = &a;
    lo.model.max_seq = 1;
    EXPECT(gpt_load(&m, p, &lo), GPT_ERR_FORMAT, p, "missing tensor 'h.0.ln_1.weight'", NULL);
    CHECK(m == NULL && a.biggest < 1000000, "the check asked for %lu bytes first",
          (unsigned long)a.biggest);
}

/* ---- Loading for sampling, from memory, without config.json ------------------------------ */

/* gpt_load(&m, path, NULL) gives a model for sampling: gpt_forward_token and gpt_sample work,
   gpt_forward and training do not, and its one allocation is the weights, the KV cache and
   one token's activations (each piece rounded up to 64 bytes) and nothing more. The
   expectation is counted here from the configuration, not asked of gpt.h. */
static void test_load_defaults(void) {
    gpt_model *m = make_model(2, 2, 8, 11, 16, 1, 21, NULL), *got = NULL;
    const char *p = tmp("defaults.safetensors");
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_sampler sampler = gpt_sampler_defaults();
    gpt_rng rng;
    float *logits = NULL, loss;
    int token = -1, inputs[2] = {1, 2};
    if (!m) return;
    CHECK(lo.model.training == 0 && lo.model.kv_cache == 1 && lo.model.max_batch == 0 &&
          lo.model.weights == GPT_WEIGHTS_F32 && lo.optimizer == 0 && lo.n_head == 0 &&
          lo.config_json == NULL, "gpt_load_options_defaults is for sampling");
    CHECK(gpt_save(m, p, NULL) == GPT_OK, "save: %s", gpt_last_error());
    CHECK(gpt_load(&got, p, NULL) == GPT_OK, "gpt_load(NULL): %s", gpt_last_error());
    if (got) {
        size_t L = 2, C = 8, V = 11, maxT = 16, NH = 2;
        size_t params = V * C + maxT * C + L * (12 * C * C + 13 * C) + 2 * C;
        size_t kv = 2 * L * maxT * C;                              /* keys and values */
        size_t token_acts = C + C + 3 * C + C + NH * maxT + 4 * C + V + V;   /* x .. probs */
        size_t want = (params + kv + token_acts) * sizeof(float) + V * sizeof(int);  /* order */
        size_t slack = sizeof(gpt_model) + 64 * 80;   /* the struct, 64-byte rounding */
        CHECK(got->num_params == params && same_params(m, got), "the weights: %lu",
              (unsigned long)got->num_params);
        CHECK(got->arena_bytes >= want && got->arena_bytes <= want + slack,
              "memory %lu bytes: weights + KV cache + one token is %lu (+ at most %lu)",
              (unsigned long)got->arena_bytes, (unsigned long)want, (unsigned long)slack);
        CHECK(gpt_model_bytes(&got->config, &lo.model) + 64 == got->arena_bytes,
              "gpt_model_bytes of the defaults says the same (the arena adds 64 to align)");
        CHECK(!got->grad_memory && !got->adam_m && !got->acts.logits, "no training memory");
        CHECK(gpt_forward_token(got, 3, 0, &logits) == GPT_OK && logits, "forward_token: %s",
              gpt_last_error());
        gpt_rng_seed(&rng, 5);
        CHECK(logits && gpt_sample(got, logits, &sampler, &rng, &token) == GPT_OK &&
              token >= 0 && token < 11, "sample: %s", gpt_last_error());
        EXPECT(gpt_forward(got, inputs, inputs, 1, 2, &loss), GPT_ERR_ARG, "max_batch 0", NULL,
               NULL);
        gpt_model_free(got);
    }
    /* opting into training: B, T, training and the optimizer */
    lo.model.training = 1;
    lo.model.max_batch = 1;
    lo.model.max_seq = 4;
    lo.optimizer = 1;
    CHECK(gpt_save(m, p, NULL) == GPT_OK && gpt_load(&got, p, &lo) == GPT_OK && got &&
          got->adam_m && got->acts.logits, "a training model when asked: %s", gpt_last_error());
    gpt_model_free(got);
    gpt_model_free(m);
}

/* gpt_load_memory reads the bytes of a file as gpt_load reads the file: the same model, the
   AdamW state when asked, no config.json (one beside the file does not matter), and clear
   refusals. (The hostile images are those of the file tests: open_fails and load_fails
   repeat every one of them from memory.) */
static void test_load_memory(void) {
    gpt_model *m = make_model(2, 2, 8, 11, 16, 1, 22, NULL), *a = NULL, *b = NULL;
    const char *p = tmp("cfg/memory.safetensors");
    gpt_save_options so = gpt_save_options_defaults();
    gpt_load_options lo = load_opts(0, 1);
    char *bytes;
    size_t n = 0;
    if (!m) return;
    so.optimizer = 1;
    CHECK(gpt_save(m, p, &so) == GPT_OK, "save: %s", gpt_last_error());
    write_text(tmp("cfg/config.json"), "{\"n_head\": 4, \"n_layer\": 7}");   /* not this one's */
    bytes = test_slurp(p, &n);
    if (!bytes) return;
    lo.optimizer = 1;
    CHECK(gpt_load_memory(&a, bytes, n, &lo) == GPT_OK, "load_memory: %s", gpt_last_error());
    lo.config_json = "";
    CHECK(gpt_load(&b, p, &lo) == GPT_OK, "load: %s", gpt_last_error());
    CHECK(a && b && same_params(a, b) && same_params(m, a) && same_moments(m, a) &&
          a->config.n_head == 2 && memcmp(&a->config, &b->config, sizeof a->config) == 0,
          "memory and file give the same model");
    gpt_model_free(a);
    gpt_model_free(b);
    a = (gpt_model *)&a;
    CHECK(gpt_load_memory(&a, bytes, n, NULL) == GPT_OK && a && !a->adam_m && a->kv.k,
          "NULL options: for sampling");
    gpt_model_free(a);
    lo.config_json = "config.json";
    a = (gpt_model *)&a;
    EXPECT(gpt_load_memory(&a, bytes, n, &lo), GPT_ERR_ARG, "reads no file", "config.json",
           NULL);
    CHECK(a == NULL, "*out NULL after a refusal");
    lo.config_json = NULL;
    EXPECT(gpt_load_memory(&a, NULL, n, &lo), GPT_ERR_ARG, "data is NULL", NULL, NULL);
    EXPECT(gpt_load_memory(&a, bytes, n - 1, &lo), GPT_ERR_FORMAT, "<memory>", "truncated",
           NULL);
    EXPECT(gpt_load_memory(&a, bytes, 0, &lo), GPT_ERR_FORMAT, "<memory>", "empty file", NULL);
    lo.model.training = 0;
    EXPECT(gpt_load_memory(&a, bytes, n, &lo), GPT_ERR_ARG, "<memory>",
           "needs model.training = 1", NULL);
    remove(tmp("cfg/config.json"));
    free(bytes);
    gpt_model_free(m);
}

/* config_json "": no config.json, even one beside the file; n_head then comes from the
   metadata or the GPT-2 family. */
static void test_config_json_none(const gpt_model *m) {
    const char *meta2[] = {"n_head", "2", NULL};
    gpt_load_options lo = load_opts(0, 0);
    const char *p = tmp("cfg/model.safetensors"), *cfg = tmp("cfg/config.json");
    gpt_model *got = NULL;
    int rc;
    hf_begin(m, "", 0);
    hf_write(p, meta2);
    write_text(cfg, "{\"n_head\": 4, \"n_layer\": 3}");   /* of another model */
    LOAD_FAILS(p, &lo, GPT_ERR_FORMAT, cfg, "n_layer is 3 but the tensor shapes give 2");
    lo.config_json = "";
    rc = gpt_load(&got, p, &lo);
    CHECK(rc == GPT_OK && got->config.n_head == 2 && same_params(m, got),
          "config_json \"\" skips the config.json beside: %s", gpt_last_error());
    if (rc == GPT_OK) gpt_model_free(got);
    hf_write(p, NULL);   /* no metadata: n_head is unknown without config.json */
    LOAD_FAILS(p, &lo, GPT_ERR_ARG, p, "n_head is unknown");
    remove(cfg);
}

static void test_gpt2_n_head(void) {
    gpt_model *m = make_model(2, 2, 8, 11, 16, 0, 4, NULL);
    mkdir(tmp("cfg"), 0700);
    if (m) {
        test_gpt2_config_json(m);
        test_gpt2_meta_n_head(m);
        test_config_json_none(m);
    }
    gpt_model_free(m);
}

/* gpt_load_into: a model of another shape is refused, and a bad file leaves it untouched. */
static void test_gpt2_load_into(void) {
    gpt_model *m = make_model(2, 2, 8, 11, 16, 0, 5, NULL);
    gpt_model *a = make_model(1, 2, 8, 11, 16, 0, 6, NULL), *b = make_model(2, 2, 16, 11, 16, 0, 6,
                                                                            NULL);
    gpt_model *c = make_model(2, 4, 8, 11, 16, 0, 6, NULL), *d = make_model(2, 2, 8, 11, 32, 0, 6,
                                                                            NULL);
    const char *p = tmp("into.safetensors"), *bad = tmp("into_bad.safetensors");
    float *before;
    if (!m || !a || !b || !c || !d) return;
    CHECK(gpt_save(m, p, NULL) == GPT_OK, "save: %s", gpt_last_error());
    EXPECT(gpt_load_into(a, p, NULL), GPT_ERR_SHAPE, p, "2 blocks, the model 1", NULL);
    EXPECT(gpt_load_into(b, p, NULL), GPT_ERR_SHAPE, "'wte.weight'",
           "(11,8) but the model needs (11,16)", NULL);
    EXPECT(gpt_load_into(c, p, NULL), GPT_ERR_SHAPE, "n_head is 2, the model's 4", NULL, NULL);
    EXPECT(gpt_load_into(d, p, NULL), GPT_ERR_SHAPE, "'wpe.weight'",
           "(16,8) but the model needs (32,8)", NULL);
    EXPECT(gpt_load_into(NULL, p, NULL), GPT_ERR_ARG, NULL, NULL, NULL);
    gpt_model_free(c);
    c = make_model(2, 2, 8, 11, 16, 0, 7, NULL);   /* m's shape, values from another random seed */
    if (!c) return;
    before = (float *)malloc(m->num_params * sizeof(float));
    memcpy(before, c->param_memory, m->num_params * sizeof(float));
    hf_begin(m, "", 0);
    hf_drop("h.1.mlp.c_proj.bias");
    hf_write(bad, NULL);
    EXPECT(gpt_load_into(c, bad, NULL), GPT_ERR_FORMAT, "missing tensor 'h.1.mlp.c_proj.bias'",
           NULL, NULL);
    CHECK(memcmp(before, c->param_memory, m->num_params * sizeof(float)) == 0,
          "a bad file leaves the model untouched");
    CHECK(gpt_load_into(c, p, NULL) == GPT_OK && same_params(m, c), "then a good one loads");
    free(before);
    gpt_model_free(m);
    gpt_model_free(a);
    gpt_model_free(b);
    gpt_model_free(c);
    gpt_model_free(d);
}

/* The committed fixtures, written by PyTorch/numpy (tests/make_fixtures.py): an independent
   writer of the format. hf_tiny holds one model in F32, F16 and BF16, with the attention
   buffers and config.json (n_head 4) as Hugging Face has them. */
static void test_fixtures(void) {
    const char *dir = "tests/fixtures/hf_tiny/";
    static const char *files[3] = {"model.safetensors", "model_f16.safetensors",
                                   "model_bf16.safetensors"};
    static const double tol[3] = {0.0, 1.0 / 1024, 1.0 / 128};   /* 2^-10 and 2^-7 relative */
    gpt_model *m[3] = {NULL, NULL, NULL};
    char path[256];
    float *raw = NULL;
    int k, i, j, ok, tokens[64];
    gpt_st *st = NULL;
    const gpt_st_tensor *t;
    for (k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s%s", dir, files[k]);
        CHECK(gpt_load(&m[k], path, NULL) == GPT_OK, "%s: %s", path, gpt_last_error());
    }
    if (!m[0] || !m[1] || !m[2]) goto done;
    CHECK(m[0]->config.n_layer == 2 && m[0]->config.n_head == 4 && m[0]->config.n_embd == 32 &&
          m[0]->config.vocab_size == 101 && m[0]->config.block_size == 32, "hf_tiny config");
    for (k = 1; k < 3; k++) {   /* |x16 - x32| <= tol * |x32| (+ a floor for tiny values) */
        double worst = test_max_rel(m[k]->param_memory, m[0]->param_memory, m[0]->num_params,
                                    1e-4);
        CHECK(worst <= tol[k] && worst > 0, "%s within %g of the F32 file: %g", files[k],
              tol[k], worst);
        CHECK(test_close(m[k]->params.ln_f_b[3], m[0]->params.ln_f_b[3], 1e-6, tol[k]),
              "%s ln_f.bias", files[k]);
    }
    /* the transpose, against the raw file */
    snprintf(path, sizeof path, "%s%s", dir, files[0]);
    CHECK(gpt_st_open(&st, path, NULL) == GPT_OK, "open %s", path);
    if (!st) goto done;
    raw = (float *)malloc(32 * 96 * sizeof(float));
    CHECK(gpt_st_read_f32(st, "h.1.attn.c_attn.weight", raw, 32 * 96) == GPT_OK, "raw c_attn");
    for (i = 0, ok = 1; i < 32; i++)
        for (j = 0; j < 96; j++)
            ok &= raw[i * 96 + j] == m[0]->params.c_attn_w[96 * 32 + j * 32 + i];
    CHECK(ok, "hf_tiny c_attn of block 1 is the transpose of the file's");
    t = gpt_st_find(st, "h.0.attn.bias");
    CHECK(t && t->ndim == 4, "the fixture has the attention buffers that were ignored");
    gpt_st_close(st);
    st = NULL;
    CHECK(gpt_st_open(&st, "tests/fixtures/golden_core.safetensors", NULL) == GPT_OK,
          "golden_core: %s", gpt_last_error());
    t = st ? gpt_st_find(st, "tokens") : NULL;
    CHECK(t && t->dtype == GPT_DTYPE_I32 && t->numel <= 64, "golden_core tokens (I32)");
    if (t && t->numel <= 64) {
        CHECK(gpt_st_read_int(st, "tokens", tokens, (size_t)t->numel) == GPT_OK, "read tokens");
        for (i = 0, ok = 1; i < (int)t->numel; i++) ok &= tokens[i] >= 0 && tokens[i] < 97;
        CHECK(ok, "token ids in [0, 97)");
    }
done:
    gpt_st_close(st);
    free(raw);
    for (k = 0; k < 3; k++) gpt_model_free(m[k]);
}

/* The integer value of key in a JSON object, or -1. */
static long json_int(const gpt__json *obj, const char *key) {
    const gpt__json *v = gpt__json_get(obj, key);
    uint64_t x = 0;
    return v && gpt__json_uint(v, 1u << 30, &x) ? (long)x : -1;
}

/* Saves are atomic: whatever fails, the old file stays as it was. */
static void test_atomic(void) {
    gpt_save_options so = gpt_save_options_defaults();
    gpt_model *m = make_model(1, 2, 16, 64, 8, 1, 8, NULL), *back = NULL;
    const char *p = tmp("at/ckpt.safetensors"), *ref = tmp("at/ref.safetensors");
    const char *ptmp = tmp("at/ckpt.safetensors.tmp"), *dest = tmp("at/dirdest");
    gpt__json_doc doc;
    char *text = NULL;
    size_t len = 0;
    mkdir(tmp("at"), 0700);
    if (!m) return;
    so.optimizer = 1;
    CHECK(gpt_save(m, p, &so) == GPT_OK && gpt_save(m, ref, &so) == GPT_OK, "first saves");
    CHECK(same_file(p, ref) && file_size(p) > 3 * 4 * 4000, "identical, and over 48 KB");
    m->param_memory[0] += 1.0f;   /* from now on a save that went through would differ */
    EXPECT(gpt_save(m, tmp("nodir/x.safetensors"), &so), GPT_ERR_IO,
           "cannot create the temporary file", NULL, NULL);
    CHECK(!exists(tmp("nodir")), "nothing created");
    mkdir(ptmp, 0700);   /* the temporary file cannot be created */
    EXPECT(gpt_save(m, p, &so), GPT_ERR_IO, p, "cannot create the temporary file", NULL);
    CHECK(same_file(p, ref), "old file intact (temporary file not creatable)");
    rmdir(ptmp);
    if (exists("/dev/full")) {   /* every write to the temporary file fails: ENOSPC */
        CHECK(symlink("/dev/full", ptmp) == 0, "symlink");
        EXPECT(gpt_save(m, p, &so), GPT_ERR_IO, p, "write failed", NULL);
        CHECK(same_file(p, ref), "old file intact (disk full during the data)");
        CHECK(!exists(ptmp), "temporary file removed");
        CHECK(symlink("/dev/full", ptmp) == 0, "symlink");
        EXPECT(gpt_st_write(p, NULL, 0, NULL, NULL), GPT_ERR_IO, p, "write failed", NULL);
        CHECK(same_file(p, ref) && !exists(ptmp), "gpt_st_write too");
        remove(ptmp);
    }
    mkdir(dest, 0700);   /* the destination is a folder that is not empty: rename fails */
    write_text(tmp("at/dirdest/keep"), "keep");
    EXPECT(gpt_save(m, dest, &so), GPT_ERR_IO, "cannot rename", NULL, NULL);
    CHECK(!exists(tmp("at/dirdest.tmp")) && exists(tmp("at/dirdest/keep")), "rename failure");
    so.write_config_json = 1;
    CHECK(gpt_save(m, p, &so) == GPT_OK, "save after the failures: %s", gpt_last_error());
    CHECK(!same_file(p, ref) && !exists(ptmp), "replaced, temporary file gone");
    CHECK(gpt_load(&back, p, NULL) == GPT_OK && back->param_memory[0] == m->param_memory[0],
          "the new file loads");
    gpt_model_free(back);
    /* config.json in Hugging Face's format */
    CHECK(gpt__read_file(tmp("at/config.json"), 4096, "config.json", NULL, &text, &len) ==
          GPT_OK, "config");
    if (text && gpt__json_parse(&doc, text, len, "config.json", NULL) == GPT_OK) {
        const gpt__json *mt = gpt__json_get(doc.nodes, "model_type");
        const gpt__json *ar = gpt__json_get(doc.nodes, "architectures");
        CHECK(mt && mt->type == GPT__JSON_STRING && !strcmp(mt->str, "gpt2"), "model_type");
        CHECK(ar && ar->count == 1 && !strcmp(ar[1].str, "GPT2LMHeadModel"), "architectures");
        CHECK(json_int(doc.nodes, "n_head") == 2 && json_int(doc.nodes, "n_positions") == 8 &&
              json_int(doc.nodes, "n_embd") == 16 && json_int(doc.nodes, "n_layer") == 1 &&
              json_int(doc.nodes, "vocab_size") == 64, "config values");
        gpt__json_free(&doc);
    } else {
        CHECK(0, "config.json parses: %s", gpt_last_error());
    }
    GPT_FREE(text, NULL);
    gpt_model_free(m);
}

/* Every allocation of every load and save path fails once, in turn: the call must return
   GPT_ERR_NOMEM, leak nothing and leave the file on disk as it was; with no failure left it
   succeeds. */
static void test_nomem(void) {
    test_alloc a = {-1, 0, 0};
    gpt_save_options so = gpt_save_options_defaults();
    gpt_load_options lo = load_opts(0, 1);
    gpt_model *m = make_model(2, 2, 8, 11, 16, 1, 9, &a), *into = make_model(2, 2, 8, 11, 16, 1,
                                                                               10, &a), *got;
    const char *p = tmp("nomem/ckpt.safetensors"), *ref = tmp("nomem/ref.safetensors");
    gpt_st *st;
    float *before;
    int op, k, rc = GPT_OK;
    long live;
    mkdir(tmp("nomem"), 0700);
    if (!m || !into) return;
    so.optimizer = 1;
    so.write_config_json = 1;
    CHECK(gpt_save(m, ref, &so) == GPT_OK && gpt_save(m, p, &so) == GPT_OK, "reference saves");
    before = (float *)malloc(into->num_params * sizeof(float));
    memcpy(before, into->param_memory, into->num_params * sizeof(float));
    lo.optimizer = 1;
    lo.model.alloc_ctx = &a;
    for (op = 0; op < 4; op++) {
        for (k = 0; k < 100; k++) {
            a.fail_at = k;
            a.calls = 0;
            live = test_live;
            got = NULL;
            st = NULL;
            switch (op) {
            case 0: rc = gpt_st_open(&st, p, &a); break;
            case 1: rc = gpt_load(&got, p, &lo); break;
            case 2: rc = gpt_load_into(into, p, with_adam()); break;
            default: rc = gpt_save(m, p, &so); break;
            }
            if (rc == GPT_OK) break;
            CHECK(rc == GPT_ERR_NOMEM && test_live == live && !got && !st,
                  "op %d, allocation %d fails: code %d, %ld blocks leaked (%s)", op, k, rc,
                  test_live - live, gpt_last_error());
            CHECK(same_file(p, ref) && !exists(tmp("nomem/ckpt.safetensors.tmp")),
                  "op %d, allocation %d: the file is untouched", op, k);
            CHECK(op != 2 || (into->adam_step == 1234567 &&
                              !memcmp(into->param_memory, before, into->num_params * 4)),
                  "op %d, allocation %d: the model is untouched", op, k);
        }
        CHECK(rc == GPT_OK && k > 0, "op %d: succeeds after %d failing allocations", op, k);
        a.fail_at = -1;
        if (got) CHECK(same_params(m, got) && same_moments(m, got), "op %d: loaded", op);
        if (op == 2) CHECK(same_params(m, into) && same_moments(m, into), "load_into after");
        gpt_st_close(st);
        gpt_model_free(got);
    }
    free(before);
    gpt_model_free(m);
    gpt_model_free(into);
}

int main(void) {
    char cmd[128];
#ifdef _WIN32
    strcpy(tmp_dir, "gpt_test_checkpoint_XXXXXX");
#else
    strcpy(tmp_dir, "/tmp/gpt_test_checkpoint_XXXXXX");
#endif
    if (!mkdtemp(tmp_dir)) {
        printf("FAIL cannot create a temporary folder\n");
        return 1;
    }
    test_json_valid();
    test_json_invalid();
    test_json_limits();
    test_st_roundtrip();
    test_st_roundtrip_ints();
    test_st_write_errors();
    test_st_corrupt();
    test_st_corrupt_entries();
    test_st_corrupt_offsets();
    test_gpt2_roundtrip();
    test_gpt2_hf();
    test_gpt2_n_head();
    test_gpt2_claims_huge();
    test_gpt2_load_into();
    test_load_defaults();
    test_load_memory();
    test_fixtures();
    test_atomic();
    test_nomem();
    CHECK(test_live == 0, "%ld blocks still allocated at the end", test_live);
#ifdef _WIN32
    snprintf(cmd, sizeof cmd, "rmdir /s /q \"%s\"", tmp_dir);
#else
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
#endif
    if (system(cmd) != 0) printf("cannot remove %s\n", tmp_dir);
    while (n_tmp_paths > 0) free(tmp_paths[--n_tmp_paths]);
    return test_report("checkpoint");
}
