/* tests/fuzz/fuzz_tok.h - the tokenizer checks shared by fuzz_vocab.c and fuzz_encode.c.
   Include after fuzz.h.

   fuzz_check_text(tok, text, len) encodes a text with and without special tokens and checks:
     - every id is in [0, V), and decoding gives the text back, byte for byte;
     - measuring (cap 0, ids NULL) and a short buffer give GPT_ERR_RANGE with the full count,
       and the short buffer holds the first ids;
     - the ids are those of a plain reference BPE written here (tiktoken's byte_pair_merge:
       parts start as single bytes; repeatedly merge the adjacent pair whose concatenation
       is the token with the smallest id, the leftmost on ties; a pre-token that is a whole
       token is that token), run on the same pre-tokens (gpt__tok_pretoken_end), so the
       min-heap and linked lists of gpt.h are checked against the O(n^2) loop;
     - the streaming decoder, fed the ids one at a time, gives the same bytes, keeps back only
       the start of an unfinished UTF-8 character, and never a finished one. */
#ifndef GPT_FUZZ_TOK_H
#define GPT_FUZZ_TOK_H

/* The reference BPE of one pre-token s[0..n) into out (room for n ids); returns the count. */
static size_t fuzz_ref_bpe(const gpt_tokenizer *tok, const unsigned char *s, size_t n,
                           int *out) {
    size_t *start = (size_t *)malloc((n + 1) * sizeof(size_t)), parts = n, i, best_i = 0;
    int id;
    if ((id = gpt__tok_lookup(tok, s, n)) >= 0) { free(start); out[0] = id; return 1; }
    for (i = 0; i <= n; i++) start[i] = i;   /* part i is s[start[i] .. start[i+1]) */
    for (;;) {
        int best = -1;
        for (i = 0; i + 1 < parts; i++) {
            int m = gpt__tok_lookup(tok, s + start[i], start[i + 2] - start[i]);
            if (m >= 0 && (best < 0 || m < best)) { best = m; best_i = i; }
        }
        if (best < 0) break;
        memmove(start + best_i + 1, start + best_i + 2, (parts - best_i - 1) * sizeof(size_t));
        parts--;
    }
    for (i = 0; i < parts; i++) {
        out[i] = gpt__tok_lookup(tok, s + start[i], start[i + 1] - start[i]);
        FUZZ_ASSERT(out[i] >= 0, "reference BPE: a part is no token");
    }
    free(start);
    return parts;
}

/* The reference encoding of text (ordinary, or with "<|endoftext|>" as eot), or
   FUZZ_REF_SKIP when a pre-token is longer than FUZZ_REF_MAX bytes (the reference is
   quadratic, and the fuzzer must stay fast). */
#define FUZZ_REF_MAX 300
#define FUZZ_REF_SKIP ((size_t)-1)
static size_t fuzz_ref_encode(const gpt_tokenizer *tok, const unsigned char *s, size_t n,
                              int special, int *out) {
    static const char eot[] = "<|endoftext|>";
    size_t i = 0, count = 0;
    while (i < n) {
        size_t stop = n, e;
        if (special) {   /* the next "<|endoftext|>", if any, is one id on its own */
            for (e = i; e + 13 <= n; e++)
                if (memcmp(s + e, eot, 13) == 0) { stop = e; break; }
        }
        while (i < stop) {
            size_t end = gpt__tok_pretoken_end(s, stop, i);
            FUZZ_ASSERT(end > i && end <= stop, "pre-token [%lu, %lu)", (unsigned long)i,
                        (unsigned long)end);
            if (end - i > FUZZ_REF_MAX) return FUZZ_REF_SKIP;
            count += fuzz_ref_bpe(tok, s + i, end - i, out + count);
            i = end;
        }
        if (stop < n) { out[count++] = tok->eot; i = stop + 13; }
    }
    return count;
}

/* Streams ids[0..n) through gpt_tok_stream_push and checks it against want[0..want_len),
   the bytes of gpt_tok_decode. */
static void fuzz_check_stream(const gpt_tokenizer *tok, const int *ids, size_t n,
                              const char *want, size_t want_len) {
    gpt_tok_stream stream;
    char *out = (char *)malloc(want_len + 8), small[2];
    size_t got = 0, len = 0, i, done = 0;
    uint32_t cp;
    int rc;
    gpt_tok_stream_init(&stream);
    for (i = 0; i < n; i++) {
        size_t tlen = 0;
        gpt_tok_token_bytes(tok, ids[i], &tlen);
        done += tlen;   /* bytes of ids[0..i] */
        /* a buffer too small is an error that leaves the stream as it was */
        rc = gpt_tok_stream_push(&stream, tok, ids[i], small, 0, &len);
        FUZZ_ASSERT(rc == GPT_OK ? len == 0 : rc == GPT_ERR_RANGE && len > 0,
                    "push with cap 0: %d, len %lu", rc, (unsigned long)len);
        if (rc == GPT_OK) continue;   /* nothing came out: the push went through */
        rc = gpt_tok_stream_push(&stream, tok, ids[i], out + got, want_len + 8 - got, &len);
        FUZZ_ASSERT(rc == GPT_OK, "push %d: %s", ids[i], gpt_last_error());
        FUZZ_ASSERT(len <= 3 + (size_t)tok->max_token_bytes, "push gave %lu bytes",
                    (unsigned long)len);
        got += len;
        FUZZ_ASSERT(got + (size_t)stream.n_pending == done &&
                    memcmp(out, want, got) == 0 &&
                    memcmp(stream.pending, want + got, (size_t)stream.n_pending) == 0,
                    "after %lu pushes: %lu bytes out + %d kept back, decode has %lu",
                    (unsigned long)(i + 1), (unsigned long)got, stream.n_pending,
                    (unsigned long)done);
        FUZZ_ASSERT(stream.n_pending == 0 ||
                    gpt__utf8_decode(stream.pending, (size_t)stream.n_pending, &cp) < 0,
                    "kept back %d bytes that are no unfinished character", stream.n_pending);
    }
    FUZZ_ASSERT(stream.n_pending >= 0 && stream.n_pending <= 3, "n_pending %d", stream.n_pending);
    FUZZ_ASSERT(stream.n_pending == 0 ||
                gpt__utf8_decode(stream.pending, (size_t)stream.n_pending, &cp) < 0,
                "kept back %d bytes that are no unfinished character", stream.n_pending);
    rc = gpt_tok_stream_flush(&stream, out + got, 3, &len);
    FUZZ_ASSERT(rc == GPT_OK && stream.n_pending == 0, "flush");
    got += len;
    FUZZ_ASSERT(got == want_len && memcmp(out, want, got) == 0,
                "stream gave %lu bytes, decode %lu", (unsigned long)got,
                (unsigned long)want_len);
    free(out);
}

/* Decodes ids[0..n) (all valid) and checks the stream against it; returns the bytes. */
static char *fuzz_decode(const gpt_tokenizer *tok, const int *ids, size_t n, size_t *len) {
    size_t need = 0, got = 0, i;
    char *out;
    int rc;
    for (i = 0; i < n; i++) {
        size_t tlen = 0;
        FUZZ_ASSERT(gpt_tok_token_bytes(tok, ids[i], &tlen) != NULL, "id %d", ids[i]);
        need += tlen;
    }
    out = (char *)malloc(need + 1);
    rc = gpt_tok_decode(tok, ids, n, NULL, 0, &got);
    FUZZ_ASSERT(need == 0 ? rc == GPT_OK : rc == GPT_ERR_RANGE, "decode measure: %d", rc);
    FUZZ_ASSERT(got == need, "decode measures %lu, want %lu", (unsigned long)got,
                (unsigned long)need);
    rc = gpt_tok_decode(tok, ids, n, out, need, &got);
    FUZZ_ASSERT(rc == GPT_OK && got == need, "decode: %s", gpt_last_error());
    fuzz_check_stream(tok, ids, n, out, need);
    *len = need;
    return out;
}

static void fuzz_check_text(const gpt_tokenizer *tok, const unsigned char *text, size_t len) {
    int special;
    for (special = 0; special < 2; special++) {
        int *ids = (int *)malloc((len + 1) * sizeof(int));
        int *ref = (int *)malloc((len + 1) * sizeof(int));
        size_t n = 0, n2 = 0, n_ref, dlen = 0, i;
        char *back;
        int rc = gpt_tok_encode(tok, (const char *)text, len, special, ids, len + 1, &n);
        FUZZ_ASSERT(rc == GPT_OK && n <= len, "encode: %d %s, %lu ids", rc, gpt_last_error(),
                    (unsigned long)n);
        for (i = 0; i < n; i++)
            FUZZ_ASSERT(ids[i] >= 0 && ids[i] < tok->vocab_size, "id %d", ids[i]);
        n_ref = fuzz_ref_encode(tok, text, len, special, ref);
        for (i = 0; i < n && i < n_ref && ids[i] == ref[i]; i++) {}
        FUZZ_ASSERT(n_ref == FUZZ_REF_SKIP || (n == n_ref && i == n),
                    "encode differs from the reference BPE at id %lu of %lu (gpt.h %d, "
                    "reference %d; %lu and %lu ids)", (unsigned long)i,
                    (unsigned long)n, i < n ? ids[i] : -1, i < n_ref ? ref[i] : -1,
                    (unsigned long)n, (unsigned long)n_ref);
        rc = gpt_tok_encode(tok, (const char *)text, len, special, NULL, 0, &n2);
        FUZZ_ASSERT((n == 0 ? rc == GPT_OK : rc == GPT_ERR_RANGE) && n2 == n,
                    "measuring: %d, %lu ids", rc, (unsigned long)n2);
        if (n > 1) {   /* half the room: the first ids, and the full count */
            rc = gpt_tok_encode(tok, (const char *)text, len, special, ref, n / 2, &n2);
            FUZZ_ASSERT(rc == GPT_ERR_RANGE && n2 == n &&
                        memcmp(ref, ids, (n / 2) * sizeof(int)) == 0, "short buffer: %d", rc);
        }
        back = fuzz_decode(tok, ids, n, &dlen);
        FUZZ_ASSERT(dlen == len && memcmp(back, text, len) == 0,
                    "decode(encode(text)) is not the text (%lu bytes, %lu back)",
                    (unsigned long)len, (unsigned long)dlen);
        free(back);
        free(ids);
        free(ref);
    }
}
#endif
