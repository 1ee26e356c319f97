/* sample.c - generate text with GPT-2: OpenAI's weights or a model trained with ./train.

       ./sample --prompt "ROMEO:" --tokens 200              (the model ./train saved)
       make gpt2 && ./sample --model gpt2/model.safetensors --prompt "Hello, I'm a language model,"
       ./sample --greedy --ids --prompt-ids "464 3290"     (token ids in, token ids out)
       ./sample --weights q8 --score input.txt             (loss and perplexity on a text)

   The loop is the one every language model runs: feed the prompt through the model one token
   at a time (the KV cache keeps each position's keys and values, see >>inference in gpt.h),
   then repeatedly draw the next token from the logits, print it, and feed it back in.
   Build: make sample */
#define _POSIX_C_SOURCE 199309L   /* clock_gettime, for the tokens/s line */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct options {
    const char *model, *prompt, *prompt_file, *prompt_ids, *vocab, *score;
    int tokens, num_samples, ids, no_stop, heads, threads, seed, weights;
    int model_given;   /* --model was on the command line */
    gpt_sampler sampler;
} options;

static void usage(void) {
    printf("usage: ./sample [options]\n"
           "  --model FILE        safetensors file: a gpt.h checkpoint or Hugging Face's GPT-2\n"
           "                      (`make gpt2` gets gpt2/model.safetensors); default:\n"
           "                      model.safetensors, the best model saved by ./train, and\n"
           "                      while there is none checkpoint.safetensors, its latest state\n"
           "  --prompt TEXT       text to continue; \"<|endoftext|>\" in it is the special token\n"
           "                      (default: empty, which starts from <|endoftext|> as GPT-2 does)\n"
           "  --prompt-file FILE  the prompt from a file ('-': standard input), bytes as they are\n"
           "  --prompt-ids \"1 2\"  the prompt as token ids (no vocabulary needed with --ids)\n"
           "  --tokens N          tokens to generate per sample (64)\n"
           "  --temperature T     > 0; below 1 sharper, above 1 flatter (1.0)\n"
           "  --top-k K           keep the K most likely tokens, 0 = all (50)\n"
           "  --top-p P           then keep the most likely of those up to probability P\n"
           "                      (of the top K's mass, as Hugging Face does), in (0,1] (1.0)\n"
           "  --greedy            always take the most likely token (off)\n"
           "  --seed S            random seed (1337)\n"
           "  --num-samples N     independent samples from the same prompt (1)\n"
           "  --ids               print the generated token ids instead of text (off)\n"
           "  --no-stop           go on after <|endoftext|> (default: a sample ends there, and\n"
           "                      the <|endoftext|> is not printed)\n"
           "  --heads N           n_head, for files whose config.json and metadata lack it\n"
           "                      (default: from config.json beside the model, the file, or\n"
           "                      the GPT-2 sizes)\n"
           "  --vocab DIR         vocabulary folder (vocab.bpe + encoder.json, or merges.txt +\n"
           "                      vocab.json); default: beside the model, else data/ here,\n"
           "                      else data/ beside this program\n"
           "  --threads N         threads (default: all cores)\n"
           "  --weights F         how the weights are kept while sampling: f32, bf16 (half the\n"
           "                      bytes) or q8 (8-bit groups, about 3.5x fewer); see >>small\n"
           "                      in gpt.h (f32)\n"
           "  --score FILE        instead of sampling: the model's mean loss on the tokens of\n"
           "                      FILE, windows of block_size; last line 'loss X ppl Y tokens N'\n"
           "  --help              this text\n"
           "The text goes to stdout as it is generated, a tokens/s line to stderr. When the\n"
           "context is full (block_size tokens), the window slides: the last block_size/2\n"
           "tokens are run again from position 0 and generation continues. A prompt longer\n"
           "than block_size keeps its last block_size tokens.\n"
           "Exit status: 0 done, 1 a file cannot be read or used (model, vocabulary, prompt\n"
           "file) or the prompt does not fit the model, 2 bad options or a --score FILE that\n"
           "cannot be scored.\n");
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* An option's whole-number value: all of val, and at least min; 0 after saying what is wrong. */
static int get_int(const char *opt, const char *val, long min, int *out) {
    char *end;
    long n = strtol(val, &end, 10);
    if (end == val || *end != '\0' || n < min || n > 1000000000L) {
        fprintf(stderr, "sample: %s needs a whole number >= %ld (got '%s')\n", opt, min, val);
        return 0;
    }
    *out = (int)n;
    return 1;
}

/* An option's real value: all of val, in (0, max]; need says so in words. */
static int get_real(const char *opt, const char *val, double max, const char *need,
                    float *out) {
    char *end;
    double x = strtod(val, &end);
    if (end == val || *end != '\0' || !(x > 0.0 && x <= max)) {
        fprintf(stderr, "sample: %s needs %s (got '%s')\n", opt, need, val);
        return 0;
    }
    *out = (float)x;
    return 1;
}

/* --weights: f32, bf16 or q8 as a gpt_weights; 0 after saying what is wrong. */
static int get_weights(const char *val, int *out) {
    static const char *const names[3] = {"f32", "bf16", "q8"};
    int w;
    for (w = 0; w < 3; w++)
        if (strcmp(val, names[w]) == 0) {
            *out = w;   /* GPT_WEIGHTS_F32, _BF16, _Q8 in this order */
            return 1;
        }
    fprintf(stderr, "sample: --weights needs f32, bf16 or q8 (got '%s')\n", val);
    return 0;
}

/* Fills o from the command line; 0 after printing what is wrong. */
static int parse_args(int argc, char **argv, options *o) {
    int i, ok = 1;
    for (i = 1; i < argc && ok; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) { usage(); exit(0); }
        else if (strcmp(a, "--greedy") == 0) { o->sampler.greedy = 1; continue; }
        else if (strcmp(a, "--ids") == 0) { o->ids = 1; continue; }
        else if (strcmp(a, "--no-stop") == 0) { o->no_stop = 1; continue; }
        if (!val || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "sample: unknown option or missing value: %s (see --help)\n", a);
            return 0;
        }
        i++;   /* every other option takes the value val */
        if (strcmp(a, "--model") == 0) { o->model = val; o->model_given = 1; }
        else if (strcmp(a, "--prompt") == 0) o->prompt = val;
        else if (strcmp(a, "--prompt-file") == 0) o->prompt_file = val;
        else if (strcmp(a, "--prompt-ids") == 0) o->prompt_ids = val;
        else if (strcmp(a, "--vocab") == 0) o->vocab = val;
        else if (strcmp(a, "--score") == 0) o->score = val;
        else if (strcmp(a, "--weights") == 0) ok = get_weights(val, &o->weights);
        else if (strcmp(a, "--tokens") == 0) ok = get_int(a, val, 0, &o->tokens);
        else if (strcmp(a, "--top-k") == 0) ok = get_int(a, val, 0, &o->sampler.top_k);
        else if (strcmp(a, "--num-samples") == 0) ok = get_int(a, val, 1, &o->num_samples);
        else if (strcmp(a, "--heads") == 0) ok = get_int(a, val, 1, &o->heads);
        else if (strcmp(a, "--threads") == 0) ok = get_int(a, val, 1, &o->threads);
        else if (strcmp(a, "--seed") == 0) ok = get_int(a, val, 0, &o->seed);
        else if (strcmp(a, "--temperature") == 0)
            ok = get_real(a, val, 1e30, "a number > 0", &o->sampler.temperature);
        else if (strcmp(a, "--top-p") == 0)
            ok = get_real(a, val, 1.0, "a number in (0, 1]", &o->sampler.top_p);
        else {
            fprintf(stderr, "sample: unknown option %s (see --help)\n", a);
            return 0;
        }
    }
    if (ok && (o->prompt != NULL) + (o->prompt_file != NULL) + (o->prompt_ids != NULL) > 1) {
        fprintf(stderr, "sample: give at most one of --prompt, --prompt-file, --prompt-ids\n");
        return 0;
    }
    return ok;
}

/* The model file, opened once to be sure it is there (the system's reason when not). Without
   --model: model.safetensors, the best model ./train saved; while a run has not saved one
   yet (the first validation comes after --eval-every steps, and Ctrl-C before that leaves
   only the checkpoint), checkpoint.safetensors, the run's latest state, with a note. */
static int model_file(options *o) {
    int given = o->model_given;
    FILE *f = fopen(o->model, "rb");
    int why = errno;
    if (f) { fclose(f); return 1; }
    if (!given && why == ENOENT && (f = fopen("checkpoint.safetensors", "rb")) != NULL) {
        fclose(f);
        fprintf(stderr, "sample: no model.safetensors here (./train saves its best model at "
                "the first validation); using checkpoint.safetensors, the run's latest "
                "state\n");
        o->model = "checkpoint.safetensors";
        return 1;
    }
    if (!given && why == ENOENT)
        fprintf(stderr, "sample: neither model.safetensors nor checkpoint.safetensors is "
                "here: train a model first (./train --preset small --steps 600, see "
                "README.md), or `make gpt2` and --model gpt2/model.safetensors\n");
    else fprintf(stderr, "sample: cannot open %s: %s\n", o->model, strerror(why));
    return 0;
}

/* All of FILE ('-': standard input) in a new buffer; NULL after saying why. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 1 << 16, n = 0, got;
    char *buf = f ? (char *)malloc(cap) : NULL, *bigger;
    if (!f) {
        fprintf(stderr, "sample: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        if ((n += got) == cap) {                               /* full: double it */
            if (!(bigger = (char *)realloc(buf, cap *= 2))) free(buf);
            buf = bigger;
        }
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "sample: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        buf = NULL;
    }
    if (f != stdin) fclose(f);
    *len = n;
    return buf;
}

/* The folder part of path ("." when there is none) into dir. */
static void folder_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* The vocabulary: --vocab DIR when given, else the folder of the model (Hugging Face keeps
   vocab.json and merges.txt there), else data/ here, else data/ beside this program. A folder
   without vocabulary files is skipped; one with broken files is an error. */
static gpt_tokenizer *load_vocab(const char *vocab, const char *model, const char *argv0) {
    char model_dir[4096], exe_dir[4000], exe_data[4096];
    const char *dirs[3];
    gpt_tokenizer *tok = NULL;
    int n = 0, rc;
    if (vocab) dirs[n++] = vocab;
    else {
        folder_of(model, model_dir, sizeof model_dir);
        folder_of(argv0, exe_dir, sizeof exe_dir);
        snprintf(exe_data, sizeof exe_data, "%s/data", exe_dir);
        dirs[n++] = model_dir;
        dirs[n++] = "data";
        dirs[n++] = exe_data;
    }
    if ((rc = gpt_tok_load_first(&tok, dirs, n, NULL)) == GPT_OK) return tok;
    fprintf(stderr, "sample: %s%s\n", gpt_last_error(),
            rc == GPT_ERR_IO && !vocab ? " (give --vocab DIR)" : "");
    return NULL;
}

/* The prompt as token ids in ids (room for len+1 of them), checked against the model's
   vocabulary V. Returns the count, or -1 after saying what is wrong. */
static int prompt_ids(const options *o, const gpt_tokenizer *tok, const char *text,
                      size_t len, int eot, int V, int *ids) {
    size_t n = 0, i;
    char *end;
    if (o->prompt_ids) {                                      /* "1 2 3" or "1,2,3" */
        const char *s = o->prompt_ids;
        for (;;) {
            long id;
            while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n') s++;
            if (*s == '\0') break;
            id = strtol(s, &end, 10);
            if (end == s || id < 0 || id >= V || (*end && !strchr(" ,\t\n", *end))) {
                fprintf(stderr, "sample: --prompt-ids: '%.*s' is not a token id of this model "
                        "(0 to %d)\n", (int)strcspn(s, " ,\t\n"), s, V - 1);
                return -1;
            }
            ids[n++] = (int)id;
            s = end;
        }
    } else if (len > 0 && gpt_tok_encode(tok, text, len, 1, ids, len + 1, &n) != GPT_OK) {
        fprintf(stderr, "sample: prompt: %s\n", gpt_last_error());
        return -1;
    }
    if (n == 0 && eot >= V) {
        fprintf(stderr, "sample: an empty prompt starts from <|endoftext|> (%d), which this "
                "model's vocabulary (0 to %d) lacks: give a prompt\n", eot, V - 1);
        return -1;
    }
    if (n == 0) ids[n++] = eot;                  /* no prompt: start a new text, as GPT-2 does */
    for (i = 0; i < n; i++) {
        if (ids[i] >= V) {
            fprintf(stderr, "sample: the prompt has token %d but the model's vocabulary is 0 "
                    "to %d\n", ids[i], V - 1);
            return -1;
        }
    }
    return (int)n;
}

/* Prints token id as text (through the UTF-8 stream) or as a number. */
static void emit(const gpt_tokenizer *tok, gpt_tok_stream *stream, char *buf, int id,
                 int as_id, int first) {
    size_t len;
    if (as_id) printf(first ? "%d" : " %d", id);
    else if (gpt_tok_stream_push(stream, tok, id, buf, GPT_TOK_MAX_TOKEN_BYTES + 4,
                                 &len) == GPT_OK)
        fwrite(buf, 1, len, stdout);
    fflush(stdout);                                   /* show each token as soon as it exists */
}

/* Runs ids[0..n) from position 0; the logits of the last one are left in m->kv.logits. */
static int feed(gpt_model *m, const int *ids, int n) {
    int pos;
    for (pos = 0; pos < n; pos++)
        if (gpt_forward_token(m, ids[pos], pos, NULL) != GPT_OK) return 0;
    return 1;
}

/* One sample. ctx (room for block_size ids) starts with the n prompt tokens. */
static int generate(gpt_model *m, const options *o, const gpt_tokenizer *tok, char *buf,
                    int *ctx, int n, int echo, int eot, gpt_rng *rng) {
    int maxT = m->config.block_size, keep = maxT / 2, n_prompt = n, made = 0, next, i;
    gpt_tok_stream stream;
    double t0 = now(), t1, t2;
    size_t len;
    gpt_tok_stream_init(&stream);
    for (i = 0; echo && !o->ids && i < n; i++) emit(tok, &stream, buf, ctx[i], 0, 0);
    if (o->tokens > 0 && !feed(m, ctx, n)) return 0;
    t1 = now();
    while (made < o->tokens) {
        if (gpt_sample(m, m->kv.logits, &o->sampler, rng, &next) != GPT_OK) return 0;
        made++;
        if (next == eot && !o->no_stop) break;        /* the model says the text is over */
        emit(tok, &stream, buf, next, o->ids, made == 1);
        if (made == o->tokens) break;                 /* no need to run the last token */
        if (n == maxT) {
            /* The context is full and wpe has no position maxT. Slide the window: keep the
               newest maxT/2 tokens, run them again from position 0 (their keys and values
               depend on their positions, so the cache must be rebuilt), and go on. */
            memmove(ctx, ctx + n - keep, (size_t)keep * sizeof(int));
            if (!feed(m, ctx, n = keep)) return 0;
        }
        ctx[n] = next;
        if (gpt_forward_token(m, next, n++, NULL) != GPT_OK) return 0;
    }
    t2 = now();
    if (!o->ids && gpt_tok_stream_flush(&stream, buf, 4, &len) == GPT_OK)
        fwrite(buf, 1, len, stdout);                 /* an unfinished character, if any */
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "%d tokens in %.2f s, %.1f tokens/s (prompt: %d tokens in %.2f s)\n", made,
            t2 - t1, made / (t2 - t1 + 1e-9), n_prompt, t1 - t0);
    return 1;
}

/* --score: the tokens of the file (text read in full, <|endoftext|> as the special token) and
   the mean loss over them. Returns the exit status: 2 for a file that cannot be scored. */
static int score(gpt_model *m, const gpt_tokenizer *tok, const char *text, size_t len,
                 const char *path) {
    int *ids = (int *)malloc((len + 1) * sizeof(int));
    size_t n = 0;
    double loss, t0 = now();
    int rc = 2;
    if (!ids) fprintf(stderr, "sample: out of memory\n");
    else if (gpt_tok_encode(tok, text, len, 1, ids, len + 1, &n) != GPT_OK)
        fprintf(stderr, "sample: --score %s: %s\n", path, gpt_last_error());
    else if (n < 2)
        fprintf(stderr, "sample: --score %s: %lu token%s, need at least 2 (one to predict "
                "from, one to predict)\n", path, (unsigned long)n, n == 1 ? "" : "s");
    else if (gpt_score(m, ids, n, &loss) != GPT_OK)
        fprintf(stderr, "sample: --score %s: %s\n", path, gpt_last_error());
    else {
        fprintf(stderr, "scored %lu tokens in %.2f s\n", (unsigned long)n - 1, now() - t0);
        printf("loss %.6f ppl %.4f tokens %lu\n", loss, exp(loss), (unsigned long)n - 1);
        rc = 0;
    }
    free(ids);
    return rc;
}

int main(int argc, char **argv) {
    options o;
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_model *m = NULL;
    gpt_tokenizer *tok = NULL;
    gpt_rng rng;
    char *text = NULL, *buf = NULL;
    size_t len = 0;
    int *ids = NULL, *ctx = NULL, n, s, V, maxT, eot = 50256, rc = 1;
    memset(&o, 0, sizeof o);
    o.model = "model.safetensors";
    o.tokens = 64;
    o.num_samples = 1;
    o.seed = 1337;
    o.sampler = gpt_sampler_defaults();
    if (!parse_args(argc, argv, &o)) return 2;
    if (o.score) {   /* the text to score, before the (slow) model: a bad file fails fast */
        if (!(text = read_all(o.score, &len))) return 2;
        if (len == 0) {
            fprintf(stderr, "sample: --score %s: the file is empty\n", o.score);
            free(text);
            return 2;
        }
    }
#ifdef _OPENMP
    if (o.threads > 0) omp_set_num_threads(o.threads);
#endif
    /* the model: inference only, with a KV cache and no activations for a full forward */
    lo.model.max_batch = 0;
    lo.model.training = 0;
    lo.model.kv_cache = 1;
    lo.model.weights = o.weights;
    lo.n_head = o.heads;
    if (!model_file(&o)) {
        if (o.score) free(text);
        return 1;
    }
    if (gpt_load(&m, o.model, &lo) != GPT_OK) {
        fprintf(stderr, "sample: cannot load the model: %s%s\n", gpt_last_error(),
                strstr(gpt_last_error(), "config.json") ? " (a config.json beside a file "
                "describes it: that one belongs to another model; move it away)" : "");
        if (o.score) free(text);
        return 1;
    }
    V = m->config.vocab_size;
    maxT = m->config.block_size;
    /* the vocabulary, unless token ids go both in and out */
    if (!(o.ids && o.prompt_ids) || o.score) {
        if (!(tok = load_vocab(o.vocab, o.model, argv[0]))) goto done;
        eot = gpt_tok_vocab_size(tok) - 1;           /* <|endoftext|> is the last id */
        if (!o.ids && V > gpt_tok_vocab_size(tok)) {
            fprintf(stderr, "sample: the model has %d token ids but the vocabulary only %d: "
                    "use --ids\n", V, gpt_tok_vocab_size(tok));
            goto done;
        }
    }
    if (o.score) {
        rc = score(m, tok, text, len, o.score);
        goto done;
    }
    if (o.prompt_file && !(text = read_all(o.prompt_file, &len))) goto done;
    if (o.prompt) len = strlen(text = (char *)o.prompt);
    if (o.prompt_ids) len = strlen(o.prompt_ids);
    ids = (int *)malloc((len + 1) * sizeof(int));
    ctx = (int *)malloc((size_t)maxT * sizeof(int));
    buf = (char *)malloc(GPT_TOK_MAX_TOKEN_BYTES + 4);
    if (!ids || !ctx || !buf) { fprintf(stderr, "sample: out of memory\n"); goto done; }
    if ((n = prompt_ids(&o, tok, text, len, eot, V, ids)) < 0) goto done;
    if (n > maxT) {
        fprintf(stderr, "sample: the prompt has %d tokens, more than the context of %d: "
                "keeping the last %d\n", n, maxT, maxT);
        memmove(ids, ids + n - maxT, (size_t)maxT * sizeof(int));
        n = maxT;
    }
    gpt_rng_seed(&rng, (uint64_t)o.seed);
    for (s = 0; s < o.num_samples; s++) {
        if (s > 0 && !o.ids) printf("----------------------------------------\n");
        memcpy(ctx, ids, (size_t)n * sizeof(int));
        if (!generate(m, &o, tok, buf, ctx, n, len > 0, eot, &rng)) {
            fprintf(stderr, "sample: %s\n", gpt_last_error());
            goto done;
        }
    }
    rc = 0;
done:
    if (o.prompt_file || o.score) free(text);
    free(ids);
    free(ctx);
    free(buf);
    gpt_tok_free(tok);
    gpt_model_free(m);
    return rc;
}
