/* tests/fuzz/fuzz_st_write.c - libFuzzer harness for gpt_st_write: a safetensors file is
   written from fuzzed tensor names, dtypes, shapes and metadata, then opened and read back.

   The promise under test (the header's comment on gpt_st_write): bad entries (duplicate
   names, unknown dtype, invalid UTF-8) give GPT_ERR_ARG, and anything else is written as a
   file that gpt_st_open accepts, with the same names, dtypes, shapes, data and metadata.
   The harness decides independently which of the two must happen.

   Input: fields separated by 0 bytes. Field 0 describes up to 8 tensors, 4 bytes each:
       byte 0  dtype: F32 F16 BF16 I32 I64, or (rarely) F64 or a number that is no dtype
       byte 1  ndim = byte % 4 (255: ndim 9, too many)
       byte 2  shape: dimension j is (byte >> 2j) & 3, so every tensor stays small
       byte 3  bit 0: transposed (only F32 with 2 dimensions may be)
   The next fields are the tensor names (missing ones are "t0", "t1", ...), the fields after
   them the metadata, key and value alternately (an unpaired last key is dropped). */
#include "fuzz.h"

#define MAX_ENTRIES 8
#define MAX_META 8

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

/* Valid UTF-8, as the JSON parser requires of names (independent of gpt.h). */
static int valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned c = *s, need, k;
        uint32_t cp;
        if (c < 0x80) { s++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
        else return 0;
        for (k = 1; k <= need; k++) {
            if ((s[k] & 0xC0) != 0x80) return 0;   /* the 0 terminator fails this too */
            cp = cp << 6 | (s[k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += need + 1;
    }
    return 1;
}

static size_t dtype_size(int dt) {
    return dt == GPT_DTYPE_F32 || dt == GPT_DTYPE_I32 ? 4 : dt == GPT_DTYPE_I64 ? 8 : 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int dtypes[8] = {GPT_DTYPE_F32, GPT_DTYPE_F16, GPT_DTYPE_BF16, GPT_DTYPE_I32,
                                  GPT_DTYPE_I64, GPT_DTYPE_F32, GPT_DTYPE_F64, 99};
    const char *path = fuzz_path("w.safetensors");
    char *copy = (char *)malloc(size + 1), *fields[1 + MAX_ENTRIES + 2 * MAX_META];
    char names[MAX_ENTRIES][8];
    const char *meta[2 * MAX_META + 1];
    gpt_st_entry e[MAX_ENTRIES];
    unsigned char *payload[MAX_ENTRIES];
    size_t n_fields = 0, i, j, k, spec_len;
    int n, n_meta, expect_ok = 1, rc;
    gpt_st *st = NULL;
    fuzz_input_size = size;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* split into 0-terminated fields */
    fields[n_fields++] = copy;
    for (i = 0; i < size && n_fields < sizeof fields / sizeof fields[0]; i++)
        if (copy[i] == '\0') fields[n_fields++] = copy + i + 1;
    spec_len = strlen(fields[0]);   /* a 0 byte ends the spec, so it holds no 0 */
    n = (int)(spec_len / 4 < MAX_ENTRIES ? spec_len / 4 : MAX_ENTRIES);
    memset(e, 0, sizeof e);
    for (k = 0; k < (size_t)n; k++) {
        const unsigned char *b = (const unsigned char *)fields[0] + 4 * k;
        uint64_t numel = 1;
        e[k].dtype = (gpt_dtype)dtypes[b[0] % 8];
        e[k].ndim = b[1] == 255 ? 9 : b[1] % 4;
        for (j = 0; j < (size_t)e[k].ndim && j < GPT_ST_MAX_DIMS; j++) {
            e[k].shape[j] = (uint64_t)((b[2] >> (2 * j)) & 3);
            numel *= e[k].shape[j];
        }
        e[k].transposed = b[3] & 1;
        if (1 + k < n_fields) e[k].name = fields[1 + k];
        else { snprintf(names[k], sizeof names[k], "t%d", (int)k); e[k].name = names[k]; }
        /* data: numel elements of the dtype, a pattern that differs between tensors */
        payload[k] = (unsigned char *)malloc(numel * 8 + 1);
        for (j = 0; j < numel * 8; j++) payload[k][j] = (unsigned char)(j * 7 + k * 31 + 1);
        if (e[k].dtype == GPT_DTYPE_F32)   /* finite floats, so that the compare is plain */
            for (j = 0; j < numel; j++) ((float *)(void *)payload[k])[j] = (float)(j + 10 * k);
        e[k].data = payload[k];
        /* what gpt_st_write must refuse */
        if (e[k].dtype == GPT_DTYPE_F64 || (int)e[k].dtype == 99 || e[k].ndim > GPT_ST_MAX_DIMS ||
            (e[k].transposed && (e[k].dtype != GPT_DTYPE_F32 || e[k].ndim != 2)) ||
            !e[k].name[0] || strcmp(e[k].name, "__metadata__") == 0 ||
            !valid_utf8((const unsigned char *)e[k].name))
            expect_ok = 0;
        for (j = 0; j < k; j++)
            if (strcmp(e[j].name, e[k].name) == 0) expect_ok = 0;
    }
    /* the metadata: the fields after the names, in pairs */
    n_meta = 0;
    for (i = 1 + (size_t)n; i + 1 < n_fields && n_meta < MAX_META; i += 2, n_meta++) {
        meta[2 * n_meta] = fields[i];
        meta[2 * n_meta + 1] = fields[i + 1];
        if (!valid_utf8((const unsigned char *)fields[i]) ||
            !valid_utf8((const unsigned char *)fields[i + 1]))
            expect_ok = 0;
        for (j = 0; j < (size_t)n_meta; j++)
            if (strcmp(meta[2 * j], fields[i]) == 0) expect_ok = 0;
    }
    meta[2 * n_meta] = NULL;

    rc = gpt_st_write(path, e, n, meta, NULL);
    FUZZ_CHECK_RC(rc);
    FUZZ_ASSERT((rc == GPT_OK) == expect_ok, "gpt_st_write gave %d (%s), expected %s", rc,
                rc ? gpt_last_error() : "", expect_ok ? "success" : "GPT_ERR_ARG");
    FUZZ_ASSERT(rc == GPT_OK || rc == GPT_ERR_ARG, "code %d: %s", rc, gpt_last_error());
    if (rc == GPT_OK) {
        rc = gpt_st_open(&st, path, NULL);
        FUZZ_ASSERT(rc == GPT_OK, "gpt_st_open refuses what gpt_st_write wrote: %s",
                    gpt_last_error());
        FUZZ_ASSERT(st->n_tensors == n && st->n_meta == n_meta, "%d tensors, %d pairs",
                    st->n_tensors, st->n_meta);
        for (i = 0; i < (size_t)n_meta; i++) {
            const char *v = gpt_st_meta(st, meta[2 * i]);
            FUZZ_ASSERT(v && strcmp(v, meta[2 * i + 1]) == 0, "metadata '%s'", meta[2 * i]);
        }
        for (k = 0; k < (size_t)n; k++) {
            const gpt_st_tensor *t = gpt_st_find(st, e[k].name);
            size_t numel = 1, es = dtype_size((int)e[k].dtype);
            FUZZ_ASSERT(t && (int)t->dtype == (int)e[k].dtype && t->ndim == e[k].ndim,
                        "tensor %d '%s'", (int)k, e[k].name);
            for (j = 0; j < (size_t)t->ndim; j++) {
                FUZZ_ASSERT(t->shape[j] == e[k].shape[j], "shape of '%s'", e[k].name);
                numel *= (size_t)t->shape[j];
            }
            FUZZ_ASSERT(t->end - t->begin == numel * es, "bytes of '%s'", e[k].name);
            if (e[k].dtype == GPT_DTYPE_F32 && numel > 0) {
                float *got = (float *)malloc(numel * sizeof(float));
                const float *want = (const float *)e[k].data;
                FUZZ_ASSERT(gpt_st_read_f32(st, e[k].name, got, numel) == GPT_OK, "read");
                for (j = 0; j < numel; j++) {
                    /* transposed: memory holds (shape[1], shape[0]), the file (0, 1) */
                    size_t r = j / (e[k].ndim == 2 ? (size_t)e[k].shape[1] : 1);
                    size_t c = j % (e[k].ndim == 2 ? (size_t)e[k].shape[1] : 1);
                    float w = e[k].transposed ? want[c * (size_t)e[k].shape[0] + r] : want[j];
                    FUZZ_ASSERT(got[j] == w, "'%s'[%lu] is %g, wrote %g", e[k].name,
                                (unsigned long)j, got[j], w);
                }
                free(got);
            }
        }
        gpt_st_close(st);
    }
    unlink(path);
    for (k = 0; k < (size_t)n; k++) free(payload[k]);
    free(copy);
    FUZZ_CHECK_NO_LEAK();
    return 0;
}
