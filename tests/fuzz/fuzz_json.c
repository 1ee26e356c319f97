/* tests/fuzz/fuzz_json.c - libFuzzer harness for the strict JSON parser of >>checkpoint
   (gpt__json_parse: safetensors headers, config.json, encoder.json) and for config.json as
   gpt_load reads it.

   Input: any bytes, used twice:
     1. parsed from memory by gpt__json_parse. A parse that succeeds must describe the text
        faithfully: the subtree sizes (skip) add up, strings are valid UTF-8 without a 0
        byte, numbers follow the JSON grammar, keys are unique, and gpt__json_get finds each
        key's own value.
     2. written as the config.json that gpt_load reads beside a tiny valid checkpoint (made
        at start-up, 2 layers, n_embd 8, n_head 2 in its metadata). When the load succeeds,
        every size config.json states must be the model's; when config.json states a size
        that contradicts the tensors, the load must fail. */
#include "fuzz.h"

static char ckpt_path[320];   /* the tiny checkpoint, config.json goes beside it */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    gpt_config c = {6, 11, 2, 2, 8};   /* block, vocab, layers, heads, embd */
    gpt_model_options o = gpt_model_options_defaults();
    gpt_model *m;
    gpt_rng rng;
    (void)argc;
    (void)argv;
    o.max_batch = 0;
    o.training = 0;
    if (gpt_model_create(&m, &c, &o) != GPT_OK) abort();
    gpt_rng_seed(&rng, 3);
    gpt_model_init(m, &rng);
    snprintf(ckpt_path, sizeof ckpt_path, "%s", fuzz_path("model.safetensors"));
    if (gpt_save(m, ckpt_path, NULL) != GPT_OK) abort();
    gpt_model_free(m);
    return 0;
}

/* Valid UTF-8 (the parser's own rules: no overlong forms, surrogates or code points past
   U+10FFFF), written independently of gpt.h. */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
        else return 0;
        if (i + need >= n) return 0;   /* cut short by the end */
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* A JSON number per RFC 8259, the whole of s[0..n). */
static int json_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i == n) return 0;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return 0;
    if (i < n && s[i] == '.') {
        if (++i == n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i == n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    return i == n;
}

/* Checks the subtree at nodes[i] and returns its size; `text` bounds the number pointers. */
static size_t walk(const gpt__json *nodes, size_t i, size_t n, const char *text, size_t len,
                   int depth) {
    const gpt__json *v = &nodes[i];
    size_t at = i + 1, k;
    FUZZ_ASSERT(i < n && depth <= GPT__JSON_MAX_DEPTH + 1, "node %lu of %lu, depth %d",
                (unsigned long)i, (unsigned long)n, depth);
    switch (v->type) {
    case GPT__JSON_STRING:
        FUZZ_ASSERT(strlen(v->str) == v->count, "string with a 0 byte or a wrong count");
        FUZZ_ASSERT(valid_utf8((const unsigned char *)v->str, v->count), "invalid UTF-8");
        FUZZ_ASSERT(v->skip == 1, "a string's skip is %lu", (unsigned long)v->skip);
        return 1;
    case GPT__JSON_NUMBER:
        FUZZ_ASSERT(v->str >= text && v->str + v->count <= text + len, "number outside");
        FUZZ_ASSERT(json_number(v->str, v->count), "'%.*s' is no JSON number", (int)v->count,
                    v->str);
        return 1;
    case GPT__JSON_NULL: case GPT__JSON_TRUE: case GPT__JSON_FALSE:
        return 1;
    case GPT__JSON_ARRAY:
        for (k = 0; k < v->count; k++) at += walk(nodes, at, n, text, len, depth + 1);
        break;
    case GPT__JSON_OBJECT:
        for (k = 0; k < v->count; k++) {
            FUZZ_ASSERT(nodes[at].type == GPT__JSON_STRING, "a key is not a string");
            walk(nodes, at, n, text, len, depth + 1);
            FUZZ_ASSERT(gpt__json_get(v, nodes[at].str) == &nodes[at + 1],
                        "gpt__json_get('%s') finds another value (a duplicate key?)",
                        nodes[at].str);
            at += 1 + walk(nodes, at + 1, n, text, len, depth + 1);
        }
        break;
    default:
        FUZZ_ASSERT(0, "node type %d", v->type);
    }
    FUZZ_ASSERT(at - i == v->skip, "skip %lu but the children end after %lu",
                (unsigned long)v->skip, (unsigned long)(at - i));
    return v->skip;
}

/* Part 2: the text as config.json beside the tiny checkpoint. */
static void check_config(const uint8_t *data, size_t size) {
    static const char *const keys[5] = {"n_layer", "n_embd", "vocab_size", "n_positions",
                                        "n_head"};
    const int want[4] = {2, 8, 11, 6};   /* the checkpoint's shapes */
    const char *config = fuzz_path("config.json");
    gpt_load_options lo = gpt_load_options_defaults();
    gpt__json_doc doc;
    gpt_model *m = NULL;
    int rc, k, contradicts = 0;
    fuzz_write(config, data, size);
    lo.model.max_batch = 0;
    lo.model.training = 0;
    rc = gpt_load(&m, ckpt_path, &lo);
    FUZZ_CHECK_RC(rc);
    FUZZ_LOG("gpt_load with this config.json: %s", rc == GPT_OK ? "ok" : gpt_last_error());
    /* what the file says, read here with the parser checked above */
    if (gpt__json_parse(&doc, (const char *)data, size, "config.json", NULL) == GPT_OK) {
        for (k = 0; k < 4 && doc.nodes[0].type == GPT__JSON_OBJECT; k++) {
            const gpt__json *v = gpt__json_get(doc.nodes, keys[k]);
            uint64_t x = 0;
            if (v && gpt__json_uint(v, INT_MAX, &x) && x != 0 && x != (uint64_t)want[k])
                contradicts = 1;
        }
        if (m) {
            const gpt__json *v = gpt__json_get(doc.nodes, "n_head");
            uint64_t x = 0;
            FUZZ_ASSERT(doc.nodes[0].type == GPT__JSON_OBJECT, "loaded with a non-object");
            if (v && gpt__json_uint(v, INT_MAX, &x))
                FUZZ_ASSERT((uint64_t)m->config.n_head == x, "n_head %d, config.json %llu",
                            m->config.n_head, (unsigned long long)x);
        }
        gpt__json_free(&doc);
    }
    FUZZ_ASSERT(!(m && contradicts), "loaded although config.json contradicts the shapes");
    gpt_model_free(m);
    unlink(config);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gpt__json_doc doc;
    int rc;
    fuzz_input_size = size;
    rc = gpt__json_parse(&doc, (const char *)data, size, "fuzz.json", NULL);
    FUZZ_CHECK_RC(rc);
    if (rc == GPT_OK) {
        FUZZ_ASSERT(doc.n > 0 && doc.nodes[0].skip == doc.n, "root skip %lu of %lu nodes",
                    (unsigned long)doc.nodes[0].skip, (unsigned long)doc.n);
        walk(doc.nodes, 0, doc.n, (const char *)data, size, 0);
        gpt__json_free(&doc);
    } else {
        FUZZ_ASSERT(doc.nodes == NULL && doc.mem == NULL, "a failed parse left memory");
    }
    FUZZ_CHECK_NO_LEAK();
    check_config(data, size);
    FUZZ_CHECK_NO_LEAK();
    return 0;
}
