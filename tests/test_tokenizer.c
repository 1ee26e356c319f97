/* tests/test_tokenizer.c - the GPT-2 tokenizer: tiktoken's ids on every fixture case and on
   Tiny Shakespeare, the pre-tokenizer rules one by one, the heap BPE against tiktoken's plain
   O(n^2) loop, round trips of random bytes, long words, bad vocabulary files (with a
   counting allocator that can fail), the streaming decoder and the special token. */
#include <stdlib.h>

#include "test_alloc.h"
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include "test.h"

#include <string.h>
#include <time.h>

static char root[600];     /* "" or the path from here to the repository, ending in '/' */
static char tmpdir[512];   /* the folder of this program (tests/bin/), for scratch files */

static char *path_in(const char *dir, const char *name) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    sprintf(buf[k], "%s%s", dir, name);
    return buf[k];
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(data, 1, len, f); fclose(f); }
}

/* Encodes text[0..len) into a new array (caller frees); *n the count; NULL on error. */
static int *encode(const gpt_tokenizer *tok, const char *text, size_t len, int special,
                   size_t *n) {
    int *ids = (int *)malloc((len + 1) * sizeof(int));
    if (gpt_tok_encode(tok, text, len, special, ids, len + 1, n) != GPT_OK) {
        printf("encode failed: %s\n", gpt_last_error());
        free(ids);
        return NULL;
    }
    return ids;
}

/* 1 when decode(ids) gives back text[0..len) exactly. */
static int decodes_to(const gpt_tokenizer *tok, const int *ids, size_t n, const char *text,
                      size_t len) {
    char *out = (char *)malloc(len + 1);
    size_t got = 0;
    int ok = gpt_tok_decode(tok, ids, n, out, len + 1, &got) == GPT_OK && got == len &&
             memcmp(out, text, len) == 0;
    free(out);
    return ok;
}

/* ---- tiktoken fixtures -------------------------------------------------------------------- */
static int hex_value(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One case: hex text and expected ids, both as lines of the fixture file. */
static int check_case(const gpt_tokenizer *tok, const char *hex, size_t hex_len,
                      const char *want_text, int special, int number) {
    size_t len = hex_len / 2, i, n, n_want = 0;
    char *text = (char *)malloc(len + 1);
    int *want = (int *)malloc((strlen(want_text) / 2 + 2) * sizeof(int)), *got, ok;
    const char *p = want_text;
    char *end;
    for (i = 0; i < len; i++)
        text[i] = (char)(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
    for (; *p && *p != '\n'; p = end) {             /* "id id id\n" */
        want[n_want++] = (int)strtol(p, &end, 10);
        if (end == p) break;
    }
    got = encode(tok, text, len, special, &n);
    ok = got && n == n_want && memcmp(got, want, n * sizeof(int)) == 0 &&
         decodes_to(tok, want, n_want, text, len);
    if (!ok) {
        printf("case %d (%s): %lu ids, tiktoken has %lu; first difference at id ", number,
               special ? "special" : "ordinary", (unsigned long)n, (unsigned long)n_want);
        for (i = 0; got && i < n && i < n_want && got[i] == want[i]; i++) {}
        printf("%lu\n", (unsigned long)i);
    }
    free(text); free(want); free(got);
    return ok;
}

static void test_fixtures(const gpt_tokenizer *tok) {
    size_t len;
    char *file = test_slurp(path_in(root, "tests/fixtures/tiktoken_cases.txt"), &len), *line;
    int cases = 0, failures = 0, special = 0, specials = 0;
    CHECK(file != NULL, "tests/fixtures/tiktoken_cases.txt is missing");
    if (!file) return;
    for (line = file; line < file + len;) {
        char *hex = line, *ids, *next;
        if (*line == '#') {                             /* a comment; "# special" marks */
            special |= strncmp(line, "# special", 9) == 0;
            line = strchr(line, '\n') ? strchr(line, '\n') + 1 : file + len;
            continue;
        }
        ids = strchr(hex, '\n');
        if (!ids) break;
        ids++;
        next = strchr(ids, '\n') ? strchr(ids, '\n') + 1 : file + len;
        cases++;
        specials += special;
        if (!check_case(tok, hex, (size_t)(strchr(hex, '\n') - hex), ids, special, cases) &&
            ++failures > 20) break;
        special = 0;
        line = next;
    }
    CHECK(failures == 0, "%d fixture cases differ from tiktoken", failures);
    CHECK(cases > 1000 && specials > 10, "only %d cases (%d special) read", cases, specials);
    free(file);
}

/* Tiny Shakespeare, 338025 tokens, compared by count and FNV-1a hash of the ids. */
static void test_shakespeare(const gpt_tokenizer *tok) {
    size_t len, n, i;
    unsigned long want_count = 0;
    char *want = test_slurp(path_in(root, "tests/fixtures/tiktoken_shakespeare.txt"), &len);
    char *text = test_slurp("/work/shared/data/tinyshakespeare.txt", &len);
    unsigned long long h = 0xcbf29ce484222325ull, want_hash = 0;
    int *ids, b;
    if (!text) text = test_slurp(path_in(root, "../shared/data/tinyshakespeare.txt"), &len);
    CHECK(want != NULL, "tests/fixtures/tiktoken_shakespeare.txt is missing");
    if (!text || !want) {
        printf("note: tinyshakespeare.txt not found, Shakespeare check skipped\n");
        free(want);
        return;
    }
    sscanf(want, "count %lu fnv1a64 %llx", &want_count, &want_hash);
    ids = encode(tok, text, len, 0, &n);
    for (i = 0; ids && i < n; i++)
        for (b = 0; b < 4; b++) h = (h ^ (((unsigned)ids[i] >> (8 * b)) & 0xFF)) *
                                    0x100000001b3ull;
    CHECK(ids && n == want_count && n == 338025, "Shakespeare: %lu tokens, tiktoken %lu",
          (unsigned long)n, want_count);
    CHECK(h == want_hash, "Shakespeare: hash %016llx, tiktoken %016llx", h, want_hash);
    CHECK(ids && decodes_to(tok, ids, n, text, len), "Shakespeare does not decode back");
    free(ids); free(text); free(want);
}

/* ---- UTF-8, character classes and the pre-tokenizer --------------------------------------- */
static void test_utf8(void) {
    static const struct { const char *bytes; int n, want; uint32_t cp; } cases[] = {
        {"A", 1, 1, 0x41},                   {"\xc3\xa9", 2, 2, 0xE9},
        {"\xe4\xb8\xad", 3, 3, 0x4E2D},       {"\xf0\x9f\x98\x80", 4, 4, 0x1F600},
        {"\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF}, {"\xef\xbf\xbd", 3, 3, 0xFFFD},
        {"\xc0\x80", 2, 0, 0},                {"\xc1\xbf", 2, 0, 0},         /* overlong */
        {"\xe0\x9f\xbf", 3, 0, 0},            {"\xf0\x8f\xbf\xbf", 4, 0, 0},
        {"\xed\xa0\x80", 3, 0, 0},            {"\xed\xbf\xbf", 3, 0, 0},    /* surrogates */
        {"\xed\x9f\xbf", 3, 3, 0xD7FF},       {"\xf4\x90\x80\x80", 4, 0, 0}, /* > U+10FFFF */
        {"\xf5\x80\x80\x80", 4, 0, 0},        {"\x80", 1, 0, 0},  {"\xff", 1, 0, 0},
        {"\xe2\x82x", 3, 0, 0},               {"\xe2\x82", 2, -1, 0},        /* cut short */
        {"\xf0\x9f\x98", 3, -1, 0},           {"\xe0\x80", 2, 0, 0}};
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t cp = 0;
        int got = gpt__utf8_decode((const unsigned char *)cases[k].bytes,
                                   (size_t)cases[k].n, &cp);
        CHECK(got == cases[k].want && (got <= 0 || cp == cases[k].cp),
              "UTF-8 case %lu: length %d, want %d", (unsigned long)k, got, cases[k].want);
    }
}

static void test_classes(void) {
    static const struct { uint32_t cp; int cls; } known[] = {
        {0xE9, GPT__TOK_LETTER},  {0x3B1, GPT__TOK_LETTER},  {0x4E2D, GPT__TOK_LETTER},
        {0x301, GPT__TOK_OTHER},  {0x660, GPT__TOK_NUMBER},  {0xBD, GPT__TOK_NUMBER},
        {0x2167, GPT__TOK_NUMBER}, {0xA0, GPT__TOK_SPACE},   {0x85, GPT__TOK_SPACE},
        {0x3000, GPT__TOK_SPACE}, {0x2029, GPT__TOK_SPACE},  {0x200B, GPT__TOK_OTHER},
        {0x1F600, GPT__TOK_OTHER}, {0x10FFFF, GPT__TOK_OTHER}, {0x20000, GPT__TOK_LETTER}};
    uint32_t cp;
    size_t k;
    int bad = 0;
    for (cp = 0; cp < 128; cp++) bad += gpt__tok_class(cp) != gpt__tok_class_from_tables(cp);
    CHECK(bad == 0, "the ASCII shortcut disagrees with the tables on %d code points", bad);
    for (k = 0; k < sizeof known / sizeof known[0]; k++)
        CHECK(gpt__tok_class(known[k].cp) == known[k].cls, "U+%04lX: class %d, want %d",
              (unsigned long)known[k].cp, gpt__tok_class(known[k].cp), known[k].cls);
}

/* The pre-tokens of `text`, joined by '|', must equal `want`. */
static void check_split(const char *text, const char *want) {
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), i = 0, end;
    char got[256] = "";
    while (i < n) {
        end = gpt__tok_pretoken_end(s, n, i);
        if (end <= i || end > n) { strcat(got, "<stuck>"); break; }
        if (i) strcat(got, "|");
        strncat(got, text + i, end - i);
        i = end;
    }
    CHECK(strcmp(got, want) == 0, "split of \"%s\": \"%s\", want \"%s\"", text, got, want);
}

static void test_pretokenizer(void) {
    check_split("it's", "it|'s");                          /* A: contractions */
    check_split("don't we'll they're I've he'd I'm",
                "don|'t| we|'ll| they|'re| I|'ve| he|'d| I|'m");
    check_split("IT'S", "IT|'|S");                         /* A is case-sensitive */
    check_split("'sam", "'s|am");
    check_split("x.'s", "x|.'|s");                         /* B: greedy punctuation run */
    check_split("Hello world", "Hello| world");            /* B: optional space */
    check_split("x2 42nd", "x|2| 42|nd");
    check_split("?!... ;-)", "?!...| ;-)");
    check_split("a   b", "a|  | b");                       /* C: give back the last space */
    check_split("a\n\n b", "a|\n\n| b");
    check_split("a\nb", "a|\n|b");                         /* D: one whitespace character */
    check_split("a \tb", "a| |\t|b");
    check_split("end  ", "end|  ");                        /* C: whitespace ends the text */
    check_split(" ", " ");
    check_split("a\xe3\x80\x80\xe3\x80\x80" "b", "a|\xe3\x80\x80|\xe3\x80\x80|b");  /* U+3000 */
    check_split("a\xc2\xa0" "b", "a|\xc2\xa0|b");          /* no-break space: not optional */
    check_split("caf\xc3\xa9 e\xcc\x81t\xc3\xa9", "caf\xc3\xa9| e|\xcc\x81|t\xc3\xa9");
    check_split("a\xff\xfe" "b \xff", "a|\xff\xfe|b| \xff"); /* invalid bytes: OTHER */
    check_split("\xe2\x82" "x", "\xe2\x82|x");             /* a cut-short character */
    check_split("\xed\xa0\x80!", "\xed\xa0\x80!");         /* a surrogate: 3 OTHER bytes */
}

/* ---- BPE: the heap against tiktoken's plain loop ------------------------------------------ */
/* tiktoken's byte_pair_merge: parts as boundaries b[0..m]; merge the adjacent pair whose
   concatenation is the token with the smallest id (leftmost on ties) until none is. */
static size_t reference_bpe(const gpt_tokenizer *tok, const unsigned char *s, size_t n,
                            int *ids) {
    size_t *b = (size_t *)malloc((n + 1) * sizeof(size_t)), m = n, i, out;
    for (i = 0; i <= n; i++) b[i] = i;
    for (;;) {
        size_t best = 0;
        int best_id = -1;
        for (i = 0; i + 2 <= m; i++) {
            int id = b[i + 2] - b[i] <= (size_t)tok->max_token_bytes
                   ? gpt__tok_lookup(tok, s + b[i], b[i + 2] - b[i]) : -1;
            if (id >= 0 && (best_id < 0 || id < best_id)) { best_id = id; best = i; }
        }
        if (best_id < 0) break;
        memmove(b + best + 1, b + best + 2, (m - best - 1) * sizeof(size_t));
        m--;
    }
    for (out = 0; out < m; out++) ids[out] = gpt__tok_lookup(tok, s + b[out], b[out + 1] - b[out]);
    free(b);
    return m;
}

/* Writes code point cp (not a surrogate) as UTF-8; returns the byte count. */
static size_t put_utf8(char *out, uint32_t cp) {
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, k;
    static const unsigned char lead[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    for (k = n - 1; k > 0; k--, cp >>= 6) out[k] = (char)(0x80 | (cp & 0x3F));
    out[0] = (char)(lead[n] | cp);
    return (size_t)n;
}

/* Random text for the tests: words, spaces, digits, apostrophes, punctuation, and code
   points from every plane, mixed with invalid bytes when `invalid` is set. */
static size_t random_text(gpt_rng *rng, char *out, size_t max, int invalid) {
    static const char *atoms[] = {" ", "  ", "\n", "\t", "'", "'s", "'ll", "e", "the", " the",
                                  "3", "2024", ".", "!?", "<|endoftext|>", "\xc3\xa9",
                                  "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xe3\x80\x80"};
    size_t n = 0;
    while (n + 16 < max && gpt_rng_u32(rng) % 24 != 0) {
        uint32_t r = gpt_rng_u32(rng) % 10, cp;
        if (r < 5) {
            const char *a = atoms[gpt_rng_u32(rng) % (sizeof atoms / sizeof atoms[0])];
            memcpy(out + n, a, strlen(a));
            n += strlen(a);
        } else if (r < 8 || !invalid) {                /* a valid code point, any plane */
            cp = gpt_rng_u32(rng) % (r == 5 ? 0x80 : r == 6 ? 0x10000 : 0x110000);
            n += put_utf8(out + n, cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp);
        } else {
            out[n++] = (char)(gpt_rng_u32(rng) & 0xFF);    /* any byte: often invalid */
        }
    }
    return n;
}

static void test_bpe(const gpt_tokenizer *tok) {
    gpt_rng rng;
    gpt__tok_scratch w;
    gpt__tok_out out;
    char text[512];
    int got[512], want[512], bad = 0, trial;
    gpt_rng_seed(&rng, 7);
    gpt__tok_scratch_init(&w, tok->alloc_ctx);
    for (trial = 0; trial < 3000; trial++) {
        size_t n = 2 + gpt_rng_u32(&rng) % 40, i, m;
        if (trial % 3 == 0) for (i = 0; i < n; i++) text[i] = (char)('a' + gpt_rng_u32(&rng) % 6);
        else if (trial % 3 == 1) for (i = 0; i < n; i++) text[i] = " !-=a"[gpt_rng_u32(&rng) % 5];
        else n = 2 + random_text(&rng, text + 2, 60, 1), text[0] = ' ', text[1] = 't';
        out.ids = got; out.cap = 512; out.count = 0;
        if (gpt__tok_scratch_reserve(&w, n) != GPT_OK) { bad++; break; }
        gpt__tok_bpe(tok, (const unsigned char *)text, (int32_t)n, &w, &out);
        m = reference_bpe(tok, (const unsigned char *)text, n, want);
        if (out.count != m || memcmp(got, want, m * sizeof(int)) != 0) {
            if (bad++ < 3) printf("BPE differs on \"%.*s\"\n", (int)n, text);
        }
    }
    CHECK(bad == 0, "the heap BPE differs from the plain loop on %d of 3000 words", bad);
    for (bad = 0, trial = 256; trial < tok->eot; trial++) {   /* every token from its bytes */
        size_t len;
        const char *bytes = gpt_tok_token_bytes(tok, trial, &len);
        out.ids = got; out.cap = 512; out.count = 0;
        if (gpt__tok_scratch_reserve(&w, len) != GPT_OK) { bad++; break; }
        gpt__tok_bpe(tok, (const unsigned char *)bytes, (int32_t)len, &w, &out);
        bad += out.count != 1 || got[0] != trial;
    }
    CHECK(bad == 0, "%d tokens do not merge back from their own bytes", bad);
    if (w.memory) GPT_FREE(w.memory, w.ctx);
}

/* Equal ids at overlapping places: tiktoken merges the leftmost first ("!!!!!!" is
   "!!!!" "!!", not "!!" "!!!!"). Ids from tiktoken. */
static void test_ties(const gpt_tokenizer *tok) {
    static const struct { const char *text; int n, ids[3]; } cases[] = {
        {"!!!!!!", 2, {13896, 3228}},   {"\n\n\n", 2, {628, 198}},
        {"\"\"\"\"\"", 2, {15931, 37811}}, {"$$$", 2, {13702, 3}},
        {"#####", 2, {4242, 2}},        {"x!!!!!!!!!", 3, {87, 13896, 50184}}};
    size_t k, n;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int *ids = encode(tok, cases[k].text, strlen(cases[k].text), 0, &n);
        CHECK(ids && n == (size_t)cases[k].n &&
              memcmp(ids, cases[k].ids, n * sizeof(int)) == 0, "tie case %lu differs",
              (unsigned long)k);
        free(ids);
    }
}

/* ---- round trips and long words ----------------------------------------------------------- */
static void test_roundtrip(const gpt_tokenizer *tok) {
    gpt_rng rng;
    char text[4096];
    int bad = 0, trial, special;
    gpt_rng_seed(&rng, 1);
    for (trial = 0; trial < 4000; trial++) {
        size_t n = random_text(&rng, text, sizeof text, trial % 2), m;
        for (special = 0; special < 2; special++) {
            int *ids = encode(tok, text, n, special, &m);
            if (!ids || !decodes_to(tok, ids, m, text, n)) {
                if (bad++ < 3) printf("round trip fails on trial %d\n", trial);
            }
            free(ids);
        }
    }
    CHECK(bad == 0, "%d of 8000 random texts do not decode back", bad);
}

/* A 100 KB word of random letters and a 100 KB run of CJK ideographs: each is ONE
   pre-token, so a quadratic merge loop would take minutes. Bound on CPU time, generous. */
static void test_long_words(const gpt_tokenizer *tok) {
    size_t n = 100000, i, m, k;
    char *text = (char *)malloc(n + 4);
    int kind, *ids, want[4096];
    gpt_rng rng;
    gpt_rng_seed(&rng, 3);
    for (kind = 0; kind < 2; kind++) {
        clock_t t0 = clock();
        double seconds;
        for (i = 0; i < n;)
            i += kind == 0 ? (text[i] = (char)('a' + gpt_rng_u32(&rng) % 26), 1)
                           : put_utf8(text + i, 0x4E00 + gpt_rng_u32(&rng) % 0x5200);
        ids = encode(tok, text, i, 0, &m);
        seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
        CHECK(ids && decodes_to(tok, ids, m, text, i), "long word %d does not decode back",
              kind);
        CHECK(seconds < 5.0, "a 100 KB word took %.2f s of CPU (kind %d)", seconds, kind);
        k = reference_bpe(tok, (const unsigned char *)text, 1998, want);   /* 666 CJK */
        free(ids);
        ids = encode(tok, text, 1998, 0, &m);
        CHECK(ids && m == k && memcmp(ids, want, k * sizeof(int)) == 0,
              "a 2 KB word (kind %d) differs from the plain loop", kind);
        free(ids);
    }
    free(text);
}

/* ---- bad vocabulary files ------------------------------------------------------------------ */
/* The tiny vocabulary: 256 bytes, then he, ll, hell, " he" (ids 256..259), and 260 for
   <|endoftext|>. Its JSON spells keys every way JSON allows: raw ASCII, raw UTF-8, \", \\
   and \u escapes in both cases of hex. */
static const char tiny_merges[] = "#version: 0.2\nh e\nl l\nhe ll\n\xc4\xa0 he\n";

static char *tiny_json(void) {
    static const char *merged[] = {"he", "ll", "hell", "\\u0120he"};
    gpt__tok_alphabet a;
    char *json = (char *)malloc(8192), *p = json;
    int id;
    gpt__tok_alphabet_init(&a);
    p += sprintf(p, "{");
    for (id = 0; id < 256; id++) {
        uint32_t c = a.char_of[a.order[id]];
        if (c == '"' || c == '\\') p += sprintf(p, "\"\\%c\": %d, ", (char)c, id);
        else if (c < 0x80) p += sprintf(p, "\"%c\": %d, ", (char)c, id);
        else if (c < 0x100) p += sprintf(p, "\"%c%c\": %d, ", (char)(0xC0 | c >> 6),
                                         (char)(0x80 | (c & 0x3F)), id);
        else p += sprintf(p, id % 2 ? "\"\\u%04x\": %d, " : "\"\\u%04X\": %d, ", c, id);
    }
    for (id = 0; id < 4; id++) p += sprintf(p, "\"%s\": %d,\n", merged[id], 256 + id);
    sprintf(p, "\"<|endoftext|>\": 260}\n");
    return json;
}

/* json with the first `from` replaced by `to` (a new string). */
static char *replaced(const char *json, const char *from, const char *to) {
    const char *at = strstr(json, from);
    char *out = (char *)malloc(strlen(json) + strlen(to) + 1);
    if (!at) { strcpy(out, "no match"); return out; }
    sprintf(out, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    return out;
}

/* Loads merges text (NULL: no such file) with json text (NULL: none) and checks the error
   code, that the message holds `word` and the file's name, that *out is NULL and nothing
   leaked. */
static void check_bad(const char *what, const char *merges, const char *json, int code,
                      const char *word) {
    char *mpath = path_in(tmpdir, "tok_bad.bpe"), *jpath = path_in(tmpdir, "tok_bad.json");
    const char *file = json ? jpath : mpath, *msg;
    static gpt_tokenizer sentinel;   /* *out must come back NULL on failure */
    gpt_tokenizer *tok = &sentinel;
    test_alloc alloc = {0, -1};
    int rc;
    remove(mpath);
    if (merges) write_file(mpath, merges, strlen(merges));
    if (json) write_file(jpath, json, strlen(json));
    rc = gpt_tok_load(&tok, mpath, json ? jpath : NULL, &alloc);
    msg = gpt_last_error();
    if (code == GPT_OK) {
        CHECK(rc == GPT_OK && tok && tok->vocab_size == 261, "%s: %s", what, msg);
        gpt_tok_free(rc == GPT_OK ? tok : NULL);
    } else {
        CHECK(rc == code && tok == NULL, "%s: code %d, want %d (%s)", what, rc, code, msg);
        CHECK(strstr(msg, word) && strstr(msg, file), "%s: message \"%s\" lacks '%s' or %s",
              what, msg, word, file);
    }
    CHECK(alloc.live == 0, "%s: %ld allocations leaked", what, alloc.live);
    remove(mpath);
    remove(jpath);
    /* the same bytes from memory: the same verdict, the message naming the memory image */
    if (!merges) return;
    tok = &sentinel;
    rc = gpt_tok_load_memory(&tok, merges, strlen(merges), json, json ? strlen(json) : 0,
                             &alloc);
    msg = gpt_last_error();
    if (code == GPT_OK) {
        CHECK(rc == GPT_OK && tok && tok->vocab_size == 261, "%s from memory: %s", what, msg);
        gpt_tok_free(rc == GPT_OK ? tok : NULL);
    } else {
        CHECK(rc == code && tok == NULL, "%s from memory: code %d, want %d (%s)", what, rc,
              code, msg);
        CHECK(strstr(msg, word) && strstr(msg, json ? "<memory: encoder.json>"
                                                    : "<memory: vocab.bpe>"),
              "%s from memory: message \"%s\" lacks '%s' or the image's name", what, msg, word);
    }
    CHECK(alloc.live == 0, "%s from memory: %ld allocations leaked", what, alloc.live);
}

/* gpt_tok_load_memory on the bytes of data/'s files builds the same tokenizer as gpt_tok_load
   on the files: every token's bytes, and the ids of a text. */
static void test_memory_vocab(const gpt_tokenizer *file_tok) {
    size_t len, jlen;
    char *merges = test_slurp(path_in(root, "data/vocab.bpe"), &len);
    char *json = test_slurp(path_in(root, "data/encoder.json"), &jlen);
    gpt_tokenizer *tok = NULL;
    CHECK(merges && json, "data/vocab.bpe or data/encoder.json missing");
    if (merges && json)
        CHECK(gpt_tok_load_memory(&tok, merges, len, json, jlen, NULL) == GPT_OK,
              "gpt_tok_load_memory: %s", gpt_last_error());
    free(merges);   /* the tokenizer keeps no pointer into the bytes */
    free(json);
    if (!tok) return;
    int same = gpt_tok_vocab_size(tok) == gpt_tok_vocab_size(file_tok);
    for (int id = 0; same && id < gpt_tok_vocab_size(tok); id++) {
        size_t a, b;
        const char *x = gpt_tok_token_bytes(tok, id, &a);
        const char *y = gpt_tok_token_bytes(file_tok, id, &b);
        same = a == b && memcmp(x, y, a) == 0;
    }
    CHECK(same, "from memory and from the files: the same vocabulary, token by token");
    const char *text = "Hello, world! Ceci n'est pas une pipe. 1234567 \xe4\xb8\xad\xe6\x96\x87";
    int ids[64], ids2[64];
    size_t n = 0, n2 = 0;
    CHECK(gpt_tok_encode(tok, text, strlen(text), 0, ids, 64, &n) == GPT_OK &&
          gpt_tok_encode(file_tok, text, strlen(text), 0, ids2, 64, &n2) == GPT_OK &&
          n == n2 && n > 5 && memcmp(ids, ids2, n * sizeof *ids) == 0, "the same ids for a text");
    gpt_tok_free(tok);
}

static void test_bad_files(void) {
    char *json = tiny_json(), *bad;
    size_t k;
    static const struct { const char *from, *to, *word; } json_cases[] = {
        {": 258,", ": 257,", "has id 257"},        {"\"hell\"", "\"hel\"", "not a token"},
        {"\"he\": 256,\n", "", "260 entries"},     {"260}", "260} x", "text after"},
        {"\"he\"", "\"h\\qe\"", "invalid escape"}, {"\"he\"", "\"\\ud800\"", "surrogate"},
        {"\"he\"", "\"\\ud83d\\ude00\"", "spells no byte"}, {": 256", ": 0256", "expected ','"},
        {"\"he\"", "\"ll\"", "duplicate key"},  {": 256", ": \"256\"", "integer"},
        {": 256", ": 1e2", "integer"},              {": 256", ": 9999999999", "integer"},
        {": 256", ": 256.0", "integer"},           {": 256", ": -256", "integer"},
        {"\"he\"", "\"h\te\"", "control character"}, {"\"he\":", "\"he\"", "expected ':'"},
        {"{", "[", "expected ',' or ']'"},         {"\"he\"", "\"\\u01g0\"", "hex digits"}};
    check_bad("missing merges", NULL, NULL, GPT_ERR_IO, "cannot open");
    check_bad("empty merges", "", NULL, GPT_ERR_FORMAT, "empty file");
    check_bad("no header", "h e\nl l\n", NULL, GPT_ERR_FORMAT, "line 1");
    check_bad("cut after the space", "#version: 0.2\nh e\nl \n", NULL, GPT_ERR_FORMAT, "line 3");
    check_bad("cut inside a character", "#version: 0.2\nh e\n\xc4", NULL, GPT_ERR_FORMAT,
              "line 3: invalid UTF-8");
    check_bad("two spaces", "#version: 0.2\nh  e\n", NULL, GPT_ERR_FORMAT, "one space");
    check_bad("unknown left token", "#version: 0.2\nhe ll\n", NULL, GPT_ERR_FORMAT, "left token");
    check_bad("merge made twice", "#version: 0.2\nh e\nh e\n", NULL, GPT_ERR_FORMAT, "again");
    check_bad("empty line", "#version: 0.2\nh e\n\nl l\n", NULL, GPT_ERR_FORMAT, "line 3");
    check_bad("no such byte", "#version: 0.2\nh \xc5\x90\n", NULL, GPT_ERR_FORMAT, "U+0150");
    check_bad("merges alone", tiny_merges, NULL, GPT_OK, "");   /* the control: loads */
    check_bad("json cut short", tiny_merges, "{\"!\": 0, \"\\", GPT_ERR_FORMAT, "unterminated");
    check_bad("json empty", tiny_merges, "", GPT_ERR_FORMAT, "unexpected end");
    check_bad("json not an object", tiny_merges, "[0, 1]", GPT_ERR_FORMAT, "a JSON object");
    check_bad("good json", tiny_merges, json, GPT_OK, "");
    for (k = 0; k < sizeof json_cases / sizeof json_cases[0]; k++) {
        bad = replaced(json, json_cases[k].from, json_cases[k].to);
        check_bad(json_cases[k].to, tiny_merges, bad, GPT_ERR_FORMAT, json_cases[k].word);
        free(bad);
    }
    free(json);
}

/* GPT_TOK_MAX_TOKEN_BYTES: a vocabulary whose longest token is that long loads, and the
   stream gives its bytes back through a buffer of 3 + that size; one byte more is refused. */
static void test_max_token(void) {
    char *path = path_in(tmpdir, "tok_long.bpe"), *merges = (char *)malloc(4096), *p = merges;
    char out[3 + GPT_TOK_MAX_TOKEN_BYTES], want[GPT_TOK_MAX_TOKEN_BYTES];
    gpt_tokenizer *tok = NULL;
    gpt_tok_stream st;
    size_t len = 0;
    int rc, id;
    memset(want, 'a', sizeof want);
    p += sprintf(p, "#version: 0.2\n");
    for (int half = 1; 2 * half <= GPT_TOK_MAX_TOKEN_BYTES; half *= 2)   /* a a, aa aa, ... */
        p += sprintf(p, "%.*s %.*s\n", half, want, half, want);
    write_file(path, merges, strlen(merges));
    rc = gpt_tok_load(&tok, path, NULL, NULL);
    CHECK(rc == GPT_OK, "a token of %d bytes: %s", GPT_TOK_MAX_TOKEN_BYTES, gpt_last_error());
    if (rc == GPT_OK) {
        id = gpt_tok_vocab_size(tok) - 2;                  /* the last merge, before eot */
        gpt_tok_stream_init(&st);
        CHECK(gpt_tok_stream_push(&st, tok, id, out, sizeof out, &len) == GPT_OK &&
              len == GPT_TOK_MAX_TOKEN_BYTES && memcmp(out, want, len) == 0,
              "streaming the longest token: %lu bytes", (unsigned long)len);
        gpt_tok_free(tok);
    }
    sprintf(p, "%.*s a\n", GPT_TOK_MAX_TOKEN_BYTES, want);    /* one byte longer */
    write_file(path, merges, strlen(merges));
    CHECK(gpt_tok_load(&tok, path, NULL, NULL) == GPT_ERR_FORMAT && tok == NULL &&
          strstr(gpt_last_error(), "longer than"), "a token of %d bytes loaded",
          GPT_TOK_MAX_TOKEN_BYTES + 1);
    remove(path);
    free(merges);
}

/* Real files: a merges file cut at a line boundary only shows against encoder.json; a
   changed id in encoder.json names the token; a missing json file; out of memory at every
   allocation of a load; the folder loader with Hugging Face's file names. */
static void test_real_files(void) {
    size_t len, jlen;
    char *merges = test_slurp(path_in(root, "data/vocab.bpe"), &len);
    char *json = test_slurp(path_in(root, "data/encoder.json"), &jlen), *bad;
    char *mpath = path_in(tmpdir, "tok_cut.bpe"), *jpath = path_in(tmpdir, "tok_cut.json");
    gpt_tokenizer *tok = NULL;
    test_alloc alloc = {0, -1};
    int rc, k;
    CHECK(merges && json, "data/vocab.bpe or data/encoder.json missing");
    if (!merges || !json) { free(merges); free(json); return; }
    write_file(mpath, merges, (size_t)(strstr(merges, "\nin g\n") - merges) + 1);
    rc = gpt_tok_load(&tok, mpath, path_in(root, "data/encoder.json"), NULL);
    CHECK(rc == GPT_ERR_FORMAT && strstr(gpt_last_error(), "encoder.json"),
          "cut merges with the real json: %d %s", rc, gpt_last_error());
    write_file(mpath, merges, len);
    bad = replaced(json, "\"!\": 0,", "\"!\": 1,");
    write_file(jpath, bad, strlen(bad));
    rc = gpt_tok_load(&tok, mpath, jpath, NULL);
    CHECK(rc == GPT_ERR_FORMAT && strstr(gpt_last_error(), "\"!\" has id 1") &&
          strstr(gpt_last_error(), "tok_cut.json"), "changed id: %d %s", rc, gpt_last_error());
    rc = gpt_tok_load(&tok, mpath, path_in(tmpdir, "nope.json"), NULL);
    CHECK(rc == GPT_ERR_IO && strstr(gpt_last_error(), "nope.json"), "missing json: %d %s", rc,
          gpt_last_error());
    remove(mpath); remove(jpath); free(bad); free(merges); free(json);

    write_file(path_in(tmpdir, "merges.txt"), tiny_merges, strlen(tiny_merges));
    json = tiny_json();
    write_file(path_in(tmpdir, "vocab.json"), json, strlen(json));
    for (k = 0, rc = GPT_ERR_NOMEM; rc == GPT_ERR_NOMEM && k < 100; k++) {
        alloc.fail_after = k;                       /* the k+1-th allocation fails */
        rc = gpt_tok_load_dir(&tok, tmpdir[0] ? tmpdir : ".", &alloc);
        CHECK(rc == GPT_OK || (rc == GPT_ERR_NOMEM && tok == NULL && alloc.live == 0),
              "allocation %d failing: code %d, %ld leaked", k, rc, alloc.live);
    }
    CHECK(rc == GPT_OK && k > 5 && tok && tok->vocab_size == 261,
          "Hugging Face names: code %d after %d allocations", rc, k);
    if (rc == GPT_OK) gpt_tok_free(tok);
    CHECK(alloc.live == 0, "gpt_tok_free left %ld allocations", alloc.live);
    rc = gpt_tok_load_dir(&tok, path_in(tmpdir, "no_such_folder"), NULL);
    CHECK(rc == GPT_ERR_IO && strstr(gpt_last_error(), "no_such_folder"), "missing folder");
    /* gpt_tok_load_first: passes over NULL and folders without vocabulary files, stops at
       the first folder that has them, even when they are broken */
    {
        char nowhere[600], data[600], here[600];
        const char *dirs[3];
        strcpy(nowhere, path_in(tmpdir, "no_such_folder"));
        strcpy(data, path_in(root, "data"));
        strcpy(here, tmpdir[0] ? tmpdir : ".");
        dirs[0] = NULL; dirs[1] = nowhere; dirs[2] = here;
        rc = gpt_tok_load_first(&tok, dirs, 3, NULL);
        CHECK(rc == GPT_OK && tok->vocab_size == 261, "load_first skipping two: %d %s", rc,
              gpt_last_error());
        if (rc == GPT_OK) gpt_tok_free(tok);
        write_file(path_in(tmpdir, "merges.txt"), "#version: 0.2\nh  e\n", 19);
        dirs[0] = here; dirs[1] = data;
        rc = gpt_tok_load_first(&tok, dirs, 2, NULL);
        CHECK(rc == GPT_ERR_FORMAT && tok == NULL && strstr(gpt_last_error(), "merges.txt"),
              "load_first, broken first folder: %d %s", rc, gpt_last_error());
        dirs[0] = nowhere; dirs[1] = data;
        rc = gpt_tok_load_first(&tok, dirs, 2, NULL);
        CHECK(rc == GPT_OK && tok->vocab_size == 50257, "load_first, data/ second: %d %s", rc,
              gpt_last_error());
        if (rc == GPT_OK) gpt_tok_free(tok);
        dirs[0] = nowhere; dirs[1] = "another_missing_folder";
        rc = gpt_tok_load_first(&tok, dirs, 2, NULL);
        CHECK(rc == GPT_ERR_IO && tok == NULL && strstr(gpt_last_error(), "no_such_folder") &&
              strstr(gpt_last_error(), "another_missing_folder"), "load_first, none: %d %s", rc,
              gpt_last_error());
        CHECK(gpt_tok_load_first(&tok, dirs, 0, NULL) == GPT_ERR_IO, "load_first, no folders");
    }
    remove(path_in(tmpdir, "merges.txt"));
    remove(path_in(tmpdir, "vocab.json"));
    free(json);
}

/* Threads encoding with one tokenizer at the same time get the ids one thread gets (the
   scratch memory is per call). Half the texts hold a 300-letter word that needs it. */
static void test_threads(const gpt_tokenizer *tok) {
    enum { N = 32 };
    static char texts[N][1024];
    size_t lens[N], n_serial[N], n_parallel[N];
    int *serial[N], *parallel[N], k, bad = 0;
    gpt_rng rng;
    gpt_rng_seed(&rng, 11);
    for (k = 0; k < N; k++) {
        lens[k] = random_text(&rng, texts[k], 600, 1);
        if (k % 2) lens[k] += (memset(texts[k] + lens[k], 'a' + k % 26, 300), 300);
        serial[k] = encode(tok, texts[k], lens[k], k % 3 == 0, &n_serial[k]);
    }
    GPT_OMP(parallel for num_threads(4) schedule(dynamic))
    for (k = 0; k < N; k++)
        parallel[k] = encode(tok, texts[k], lens[k], k % 3 == 0, &n_parallel[k]);
    for (k = 0; k < N; k++) {
        bad += !serial[k] || !parallel[k] || n_serial[k] != n_parallel[k] ||
               memcmp(serial[k], parallel[k], n_serial[k] * sizeof(int)) != 0;
        free(serial[k]); free(parallel[k]);
    }
    CHECK(bad == 0, "%d of %d texts encode differently on 4 threads", bad, N);
}

/* ---- streaming decoder, special token, API edges ------------------------------------------ */
/* Pushes ids[0..n) one by one; every chunk must be whole characters (valid text in, valid
   chunks out) and the chunks must add up to text. Returns the number of pushes that kept
   bytes back. */
static int check_stream(const gpt_tokenizer *tok, const char *text) {
    size_t n, i, len, total = 0, k;
    int *ids = encode(tok, text, strlen(text), 0, &n), held = 0, whole = 1;
    char out[512], all[512];
    gpt_tok_stream st;
    gpt_tok_stream_init(&st);
    for (i = 0; ids && i < n; i++) {
        size_t tlen;
        gpt_tok_token_bytes(tok, ids[i], &tlen);
        CHECK(gpt_tok_stream_push(&st, tok, ids[i], out, sizeof out, &len) == GPT_OK, "push");
        held += len < tlen;
        for (k = 0; k < len;) {
            uint32_t cp;
            int step = gpt__utf8_decode((unsigned char *)out + k, len - k, &cp);
            if (step <= 0) { whole = 0; break; }
            k += (size_t)step;
        }
        memcpy(all + total, out, len);
        total += len;
    }
    CHECK(gpt_tok_stream_flush(&st, out, sizeof out, &len) == GPT_OK && len == 0,
          "\"%s\": %lu bytes left at the end", text, (unsigned long)len);
    CHECK(whole, "\"%s\": a chunk ends inside a character", text);
    CHECK(total == strlen(text) && memcmp(all, text, total) == 0, "\"%s\": stream differs", text);
    free(ids);
    return held;
}

static void test_stream(const gpt_tokenizer *tok) {
    gpt_tok_stream st;
    char out[16];
    size_t len = 99;
    int e2 = tok->byte_id[0xE2], ff = tok->byte_id[0xFF], a = tok->byte_id['a'];
    CHECK(check_stream(tok, "\xf0\x9f\x98\x80") == 1, "the emoji's first token is not held");
    CHECK(check_stream(tok, "h\xc3\xa9llo \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9")
          >= 2, "multi-byte characters split across tokens are not held back");
    gpt_tok_stream_init(&st);                       /* an invalid byte goes out at once */
    CHECK(gpt_tok_stream_push(&st, tok, ff, out, sizeof out, &len) == GPT_OK && len == 1 &&
          (unsigned char)out[0] == 0xFF, "0xFF not passed through");
    CHECK(gpt_tok_stream_push(&st, tok, e2, out, sizeof out, &len) == GPT_OK && len == 0,
          "0xE2 not held back");
    CHECK(gpt_tok_stream_push(&st, tok, a, out, 1, &len) == GPT_ERR_RANGE && len == 2,
          "a small buffer: want GPT_ERR_RANGE and 2 bytes needed");
    CHECK(gpt_tok_stream_push(&st, tok, a, out, sizeof out, &len) == GPT_OK && len == 2 &&
          memcmp(out, "\xe2" "a", 2) == 0, "0xE2 then 'a': both must come out as they are");
    gpt_tok_stream_push(&st, tok, e2, out, sizeof out, &len);
    CHECK(gpt_tok_stream_flush(&st, out, sizeof out, &len) == GPT_OK && len == 1 &&
          (unsigned char)out[0] == 0xE2 && st.n_pending == 0, "flush of a cut character");
    CHECK(gpt_tok_stream_push(&st, tok, tok->vocab_size, out, sizeof out, &len) ==
          GPT_ERR_RANGE, "id V accepted by the stream");
}

static void test_special(const gpt_tokenizer *tok) {
    static const int want[11] = {64, 50256, 65, 220, 50256, 50256, 27, 91, 437, 1659, 5239};
    const char *text = "a<|endoftext|>b <|endoftext|><|endoftext|><|endoftext";
    size_t n, m, i;
    int *plain = encode(tok, text, strlen(text), 0, &n), *special, eots = 0;
    for (i = 0; plain && i < n; i++) eots += plain[i] == gpt_tok_vocab_size(tok) - 1;
    CHECK(plain && eots == 0, "<|endoftext|> became the special id without allow_special");
    special = encode(tok, text, strlen(text), 1, &m);      /* tiktoken: encode(text, "all") */
    CHECK(special && m == 11 && memcmp(special, want, sizeof want) == 0,
          "allow_special: %lu ids, not tiktoken's", (unsigned long)m);
    CHECK(special && decodes_to(tok, special, m, text, strlen(text)), "special round trip");
    free(plain); free(special);
}

static void test_api(const gpt_tokenizer *tok) {
    int ids[4] = {0, 0, 0, 0}, bad[2] = {15496, 50257};
    size_t n = 0, len = 0;
    char out[8];
    const char *bytes = gpt_tok_token_bytes(tok, 50256, &len);
    CHECK(gpt_tok_vocab_size(tok) == 50257 && tok->eot == 50256 && tok->n_merges == 50000,
          "vocabulary size %d", gpt_tok_vocab_size(tok));
    CHECK(bytes && len == 13 && memcmp(bytes, "<|endoftext|>", 13) == 0,
          "the last id, V - 1, is not <|endoftext|>");
    bytes = gpt_tok_token_bytes(tok, 262, &len);
    CHECK(bytes && len == 4 && memcmp(bytes, " the", 4) == 0, "token 262 is not \" the\"");
    CHECK(gpt_tok_token_bytes(tok, -1, &len) == NULL && len == 0, "token -1 exists");
    CHECK(gpt_tok_encode(tok, "Hello world", 11, 0, ids, 1, &n) == GPT_ERR_RANGE && n == 2 &&
          ids[0] == 15496 && ids[1] == 0, "cap 1: want GPT_ERR_RANGE, 2 needed, 1 written");
    CHECK(gpt_tok_encode(tok, "Hello world", 11, 0, NULL, 0, &n) == GPT_ERR_RANGE && n == 2,
          "measuring with cap 0");
    CHECK(gpt_tok_encode(tok, "", 0, 0, ids, 4, &n) == GPT_OK && n == 0, "empty text");
    CHECK(gpt_tok_decode(tok, bad, 2, out, sizeof out, &len) == GPT_ERR_RANGE &&
          strstr(gpt_last_error(), "50257"), "id 50257 decoded");
    bad[1] = -1;
    CHECK(gpt_tok_decode(tok, bad, 2, out, sizeof out, &len) == GPT_ERR_RANGE, "id -1 decoded");
    CHECK(gpt_tok_decode(tok, bad, 1, out, 3, &len) == GPT_ERR_RANGE && len == 5,
          "small decode buffer: want GPT_ERR_RANGE and 5 bytes needed");
}

/* Out of memory inside encode: the scratch for a long word cannot be allocated. */
static void test_encode_nomem(void) {
    test_alloc alloc = {0, -1};
    gpt_tokenizer *tok;
    char word[200];
    int ids[200];
    size_t n = 12345;
    memset(word, 'q', sizeof word);
    if (gpt_tok_load_dir(&tok, path_in(root, "data"), &alloc) != GPT_OK) return;
    alloc.fail_after = 0;
    CHECK(gpt_tok_encode(tok, word, sizeof word, 0, ids, 200, &n) == GPT_ERR_NOMEM &&
          n == 12345, "encode without memory for a 200-letter word");
    alloc.fail_after = -1;
    CHECK(gpt_tok_encode(tok, word, sizeof word, 0, ids, 200, &n) == GPT_OK && n < 200,
          "encode after memory came back");
    gpt_tok_free(tok);
    CHECK(alloc.live == 0, "encode leaked %ld allocations", alloc.live);
}

int main(int argc, char **argv) {
    gpt_tokenizer *tok = NULL;
    const char *slash = strrchr(argv[0], '/');
    FILE *f = fopen("data/vocab.bpe", "rb");
    (void)argc;
    if (slash) sprintf(tmpdir, "%.*s/", (int)(slash - argv[0]), argv[0]);
    if (f) fclose(f);
    else if (slash) sprintf(root, "%s../../", tmpdir);    /* run from elsewhere */
    test_utf8();
    test_classes();
    test_pretokenizer();
    test_bad_files();
    test_max_token();
    test_real_files();
    test_encode_nomem();
    CHECK(gpt_tok_load(&tok, path_in(root, "data/vocab.bpe"), path_in(root, "data/encoder.json"),
                       NULL) == GPT_OK, "loading data/: %s", gpt_last_error());
    if (tok) {
        test_fixtures(tok);
        test_shakespeare(tok);
        test_bpe(tok);
        test_ties(tok);
        test_roundtrip(tok);
        test_long_words(tok);
        test_threads(tok);
        test_stream(tok);
        test_special(tok);
        test_api(tok);
        test_memory_vocab(tok);
        gpt_tok_free(tok);
    }
    return test_report("tokenizer");
}
