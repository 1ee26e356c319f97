/* tokenize.c - text to GPT-2 token ids and back, with gpt.h's tokenizer.

       ./tokenize input.txt                  ids on one line: "15496 995 0"
       echo "Hello world" | ./tokenize -     the same from standard input
       ./tokenize --count input.txt          only the number of tokens
       ./tokenize input.txt > ids.txt && ./tokenize --decode ids.txt    the text again

   The ids are exactly those of OpenAI's tiktoken "gpt2" encoding. Build: make tokenize */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --help prints this to stdout; a command line without FILE, to stderr. */
static void usage(FILE *to) {
    fprintf(to, "usage: ./tokenize [options] FILE     (FILE '-' reads standard input)\n"
           "  encodes the text of FILE into GPT-2 token ids, printed on one line\n"
           "  --decode         FILE holds token ids (separated by spaces, commas or\n"
           "                   newlines): write the bytes they stand for\n"
           "  --count          print only the number of tokens\n"
           "  --allow-special  \"<|endoftext|>\" in the text becomes the id 50256\n"
           "                   (default: off, it is plain text like any other)\n"
           "  --vocab DIR      folder with vocab.bpe + encoder.json (or Hugging Face's\n"
           "                   merges.txt + vocab.json); default: data/ in the current\n"
           "                   folder, else data/ next to this program\n"
           "  --help           this text\n"
           "Exit status: 0 done, 1 FILE or the vocabulary cannot be read or used, 2 bad\n"
           "options.\n");
}

/* Reads all of FILE ('-': stdin) into a new buffer. Returns NULL after printing why. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 1 << 16, n = 0, got;
    char *buf = (char *)malloc(cap), *bigger;
    if (!f) {
        fprintf(stderr, "tokenize: cannot open %s: %s\n", path, strerror(errno));
        free(buf);
        return NULL;
    }
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {                                      /* full: double it */
            bigger = (char *)realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    if (!buf) fprintf(stderr, "tokenize: %s: out of memory\n", path);
    else if (ferror(f)) { fprintf(stderr, "tokenize: %s: read error\n", path); free(buf);
                          buf = NULL; }
    if (f != stdin) fclose(f);
    *len = n;
    return buf;
}

/* The vocabulary from --vocab, or from data/ here, or from data/ beside the program. A
   folder without vocabulary files is skipped; one with broken files is an error. */
static gpt_tokenizer *load_vocab(const char *dir, const char *argv0) {
    gpt_tokenizer *tok = NULL;
    char beside[4096];
    const char *slash = strrchr(argv0, '/'), *dirs[2];
    int n = 0, rc;
    if (dir) dirs[n++] = dir;
    else {
        dirs[n++] = "data";
        snprintf(beside, sizeof beside, "%.*s/data", slash ? (int)(slash - argv0) : 1,
                 slash ? argv0 : ".");
        dirs[n++] = beside;
    }
    if ((rc = gpt_tok_load_first(&tok, dirs, n, NULL)) == GPT_OK) return tok;
    fprintf(stderr, "tokenize: %s%s\n", gpt_last_error(),
            rc == GPT_ERR_IO && !dir ? " (give --vocab DIR)" : "");
    return NULL;
}

static int encode(const gpt_tokenizer *tok, const char *text, size_t len, int allow_special,
                  int count_only) {
    int *ids = (int *)malloc((len + 1) * sizeof(int));   /* a token has at least one byte */
    size_t n, i;
    if (!ids) { fprintf(stderr, "tokenize: out of memory\n"); return 1; }
    if (gpt_tok_encode(tok, text, len, allow_special, ids, len + 1, &n) != GPT_OK) {
        fprintf(stderr, "tokenize: %s\n", gpt_last_error());
        free(ids);
        return 1;
    }
    if (count_only) printf("%lu\n", (unsigned long)n);
    else {
        for (i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    return 0;
}

static int is_separator(char c) {
    return c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses the ids in text (spaces, commas, newlines between them), then writes their bytes. */
static int decode(const gpt_tokenizer *tok, const char *path, const char *text, size_t len) {
    int *ids = (int *)malloc(((len + 1) / 2 + 1) * sizeof(int));   /* an id, a separator, ... */
    size_t n = 0, i = 0, out_len = 0, end;
    int V = gpt_tok_vocab_size(tok);
    char *out;
    if (!ids) { fprintf(stderr, "tokenize: out of memory\n"); return 1; }
    while (i < len) {
        size_t start = i;
        long id = 0;
        if (is_separator(text[i])) { i++; continue; }
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
            if (id < 1000000000L) id = id * 10 + (text[i] - '0');   /* cap: no overflow */
        for (end = start; end < len && !is_separator(text[end]) && end - start < 20; end++) {}
        if (i == start || (i < len && !is_separator(text[i])) || id >= V) {
            fprintf(stderr, "tokenize: %s: byte %lu: '%.*s' is not a token id (0 to %d)\n",
                    path, (unsigned long)start, (int)(end - start), text + start, V - 1);
            free(ids);
            return 1;
        }
        ids[n++] = (int)id;
    }
    gpt_tok_decode(tok, ids, n, NULL, 0, &out_len);   /* with no room: measures the bytes */
    out = (char *)malloc(out_len + 1);
    if (!out || gpt_tok_decode(tok, ids, n, out, out_len, &out_len) != GPT_OK) {
        fprintf(stderr, "tokenize: %s\n", out ? gpt_last_error() : "out of memory");
        free(ids); free(out);
        return 1;
    }
    fwrite(out, 1, out_len, stdout);
    free(ids); free(out);
    return 0;
}

int main(int argc, char **argv) {
    const char *path = NULL, *vocab = NULL;
    int decoding = 0, count_only = 0, allow_special = 0, i, rc;
    gpt_tokenizer *tok;
    char *text;
    size_t len;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
        else if (strcmp(argv[i], "--decode") == 0) decoding = 1;
        else if (strcmp(argv[i], "--count") == 0) count_only = 1;
        else if (strcmp(argv[i], "--allow-special") == 0) allow_special = 1;
        else if (strcmp(argv[i], "--vocab") == 0) {
            if (i + 1 == argc) { fprintf(stderr, "tokenize: --vocab needs a folder\n"); return 2; }
            vocab = argv[++i];
        }
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "tokenize: unknown option %s (see --help)\n", argv[i]);
            return 2;
        } else if (path) {
            fprintf(stderr, "tokenize: one FILE only (see --help)\n");
            return 2;
        } else path = argv[i];
    }
    if (!path) { usage(stderr); return 2; }
    if (!(tok = load_vocab(vocab, argv[0]))) return 1;
    if (!(text = read_all(path, &len))) { gpt_tok_free(tok); return 1; }
    rc = decoding ? decode(tok, path, text, len)
                  : encode(tok, text, len, allow_special, count_only);
    free(text);
    gpt_tok_free(tok);
    return rc;
}
