/* train.c - train GPT-2 on a text file with gpt.h, the way the PyTorch reference trainer
   (build-nanogpt's main.py) does.

       ./train --preset small --steps 600        the quick start: a small model on Tiny
                                                 Shakespeare, a sample within minutes
       ./train                                   the reference run: GPT-2 124M, 25 epochs
       ./train --input my.txt                    your own text (default: input.txt, else the
                                                 Tiny Shakespeare shipped in data/)
       ./train --init gpt2/model.safetensors     fine-tune OpenAI's GPT-2 from its weights
       ./train --resume checkpoint.safetensors   carry on exactly where an earlier run stopped
       ./train --help                            every option with its default

   The program, top to bottom:
     1. the options: one table gives the parser, --help, and what a checkpoint records;
     2. the text: encoded once with the GPT-2 tokenizer, split into training and validation;
     3. the model: new from a preset, from weights (--init) or from a checkpoint (--resume);
     4. checkpoints: the weights, AdamW state and training progress in one safetensors file;
     5. the training loop. One step, all of it through gpt.h:
            gpt_loader_next      the next batch: inputs (B,T) and targets (B,T)
            gpt_forward          logits (B,T,V) and the mean cross-entropy loss
            gpt_zero_grad        every gradient to 0 (backward adds into them)
            gpt_backward         d loss / d every parameter
            gpt_clip_grad_norm   the global gradient norm; scale it down to --clip if above
            gpt_schedule_lr               this step's learning rate (linear warmup, then cosine)
            gpt_adamw_step       one AdamW update
        every --eval-every steps and at the end of each epoch: the validation loss, and the
        best model whenever it improved; at the end of each epoch also a sample of text and
        the checkpoint.
   Steps are numbered from 0, as gpt_schedule_lr counts them, on the screen and in the CSV log.
   Exit status: 0 done (or stopped by --stop-after), 1 failure during the run, 2 bad options
   or input (found before anything is written), 130 stopped by Ctrl-C (checkpoint saved). */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime() is POSIX, not C99 */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>   /* write, unlink and _exit: what a signal handler may call (POSIX) */
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- 1. Options ---------------------------------------------------------------------------
   Every option is one row of a table: its name, what its value is ("N" an integer, "F" a
   number, "" a switch without a value, else text), where the value goes, the allowed range,
   whether it is a training setting that a checkpoint records (--resume then refuses a
   different value), and its help. The defaults are those of the PyTorch reference trainer;
   the validation every --eval-every steps is nanoGPT's eval_interval and eval_iters. */
typedef struct args {
    const char *input, *preset, *init, *resume, *out, *checkpoint, *log, *epoch_log, *vocab;
    long layers, heads, embd, block_size;   /* 0: from the preset, or from the --init file */
    long batch, seq, epochs, steps, warmup, seed, threads, save_every, stop_after, sample_every;
    long eval_every, eval_batches, overwrite;
    double val_frac, lr, min_lr, weight_decay, clip;
} args;

static const args defaults = {
    .input = "input.txt", .preset = "gpt2", .out = "model.safetensors",
    .checkpoint = "checkpoint.safetensors", .batch = 4, .seq = 32, .epochs = 25, .seed = 1337,
    .eval_every = 50, .eval_batches = 20,
    .val_frac = 0.1, .lr = 6e-4, .min_lr = 6e-5, .weight_decay = 0.1, .clip = 1.0};

typedef struct option {
    const char *name;   /* given as --name */
    const char *arg;    /* "N", "F", "" (a switch: 1 when given), or the kind of text */
    size_t offset;      /* of the value in args */
    double lo, hi;      /* allowed range of a number, both ends included */
    int recorded;       /* 1: recorded in checkpoints, checked by --resume */
    const char *help;   /* ends with the default, unless `def` says it */
    const char *def;    /* NULL: print the default value from `defaults` */
} option;

#define AT(field) offsetof(args, field)
#define BIG 1e15
static const option options[] = {
    {"input", "FILE", AT(input), 0, 0, 0, "UTF-8 text to train on", "input.txt; without it, "
     "Tiny Shakespeare from data/tinyshakespeare.txt; with --resume, the text the checkpoint "
     "names"},
    {"val-frac", "F", AT(val_frac), 0, 1, 1, "fraction of the tokens, at the end, kept for "
     "validation (< 1)", NULL},
    {"preset", "NAME", AT(preset), 0, 0, 0, "model shape: gpt2 (124M), gpt2-medium, gpt2-large, "
     "gpt2-xl, or small (4 layers, 4 heads, 128 channels, block 256)", NULL},
    {"layers", "N", AT(layers), 1, 1024, 0, "transformer blocks", "from the preset"},
    {"heads", "N", AT(heads), 1, 1 << 20, 0, "attention heads", "from the preset"},
    {"embd", "N", AT(embd), 1, 1 << 20, 0, "channels (a multiple of --heads)", "from the preset"},
    {"block-size", "N", AT(block_size), 1, 1 << 20, 0, "longest context", "from the preset"},
    {"init", "FILE", AT(init), 0, 0, 0, "start from these weights (Hugging Face GPT-2 "
     ".safetensors or a gpt.h checkpoint); the shape comes from the file", "none"},
    {"resume", "FILE", AT(resume), 0, 0, 0, "continue the run saved in this checkpoint, with "
     "its settings", "none"},
    {"batch", "N", AT(batch), 1, 1 << 20, 1, "batch size B", NULL},
    {"seq", "N", AT(seq), 1, 1 << 20, 1, "sequence length T (at most the block size)", NULL},
    {"epochs", "N", AT(epochs), 1, BIG, 1, "passes over the training tokens", NULL},
    {"steps", "N", AT(steps), 1, BIG, 1, "total steps: the schedule spans them and training "
     "stops after them", "epochs x steps per epoch"},
    {"lr", "F", AT(lr), 0, BIG, 1, "peak learning rate", NULL},
    {"min-lr", "F", AT(min_lr), 0, BIG, 1, "learning rate at the end of the cosine", NULL},
    {"warmup", "N", AT(warmup), 0, BIG, 1, "steps of linear warmup", NULL},
    {"weight-decay", "F", AT(weight_decay), 0, BIG, 1, "AdamW weight decay of 2-D weights", NULL},
    {"clip", "F", AT(clip), 0, BIG, 1, "largest gradient norm, 0: no clipping", NULL},
    {"seed", "N", AT(seed), 0, BIG, 1, "random seed: initial weights and samples", NULL},
    {"threads", "N", AT(threads), 0, 4096, 0, "OpenMP threads", "all cores, or 1 when that is "
     "faster (checked every 50 steps)"},
    {"out", "FILE", AT(out), 0, 0, 0, "best model: saved whenever the validation loss "
     "(without validation: the epoch's training loss) improves", NULL},
    {"eval-every", "N", AT(eval_every), 0, BIG, 0, "also measure the validation loss every N "
     "steps, saving the best model when it improved (0: only after epochs)", NULL},
    {"eval-batches", "N", AT(eval_batches), 0, BIG, 1, "validation batches of B x T each "
     "time, the first ones of the validation tokens (0: all)", NULL},
    {"checkpoint", "FILE", AT(checkpoint), 0, 0, 0, "latest state, to resume from: saved "
     "every --save-every steps, after each epoch and on exit", NULL},
    {"save-every", "N", AT(save_every), 0, BIG, 0, "also save the checkpoint every N steps",
     "0: only after epochs and on exit"},
    {"overwrite", "", AT(overwrite), 0, 0, 0, "let a new run replace the --out and "
     "--checkpoint files of an earlier run: its best model (and config.json) go at the start",
     "off: a new run refuses to"},
    {"stop-after", "N", AT(stop_after), 1, BIG, 0, "run N steps, save the checkpoint and exit "
     "(the schedule still spans all steps)", "none"},
    {"log", "FILE", AT(log), 0, 0, 0, "CSV, one row per step: step,epoch,loss,lr,norm,ms,"
     "tok_per_s", "none"},
    {"epoch-log", "FILE", AT(epoch_log), 0, 0, 0, "CSV, one row per epoch: epoch,train_loss,"
     "val_loss,best_saved", "none"},
    {"sample-every", "N", AT(sample_every), 0, BIG, 0, "print a sample every N steps",
     "0: after each epoch only"},
    {"vocab", "DIR", AT(vocab), 0, 0, 0, "folder with vocab.bpe + encoder.json (or merges.txt "
     "+ vocab.json)", "beside the --init/--resume file, else data/ here, else data/ beside "
     "this program"},
};
#define N_OPTIONS ((int)(sizeof options / sizeof options[0]))

static int is_int(const option *o) { return strcmp(o->arg, "N") == 0; }
static int is_float(const option *o) { return strcmp(o->arg, "F") == 0; }
static int is_switch(const option *o) { return o->arg[0] == '\0'; }

/* The shortest decimal text of x that reads back to exactly x ("0.0006", not
   "0.00059999999999999995"), so that recorded settings are exact and still readable. */
static void exact_text(double x, char *buf, size_t cap) {
    int digits;
    for (digits = 1; digits < 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, x);
        if (strtod(buf, NULL) == x) return;
    }
    snprintf(buf, cap, "%.17g", x);
}

/* The value of option o in a as text. This is also how a checkpoint records it. */
static void value_text(const option *o, const args *a, char *buf, size_t cap) {
    const char *field = (const char *)a + o->offset;
    if (is_float(o)) exact_text(*(const double *)(const void *)field, buf, cap);
    else if (is_int(o) || is_switch(o))
        snprintf(buf, cap, "%ld", *(const long *)(const void *)field);
    else snprintf(buf, cap, "%s", *(const char *const *)(const void *)field);
}

/* Parses text into option o of a. Returns 0 when it is not a number in range. */
static int set_value(const option *o, args *a, const char *text) {
    char *field = (char *)a + o->offset, *end;
    double v;
    long n = 0;
    if (!is_int(o) && !is_float(o)) { *(const char **)(void *)field = text; return 1; }
    errno = 0;
    if (is_int(o)) v = (double)(n = strtol(text, &end, 10));
    else v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !(v >= o->lo && v <= o->hi)) return 0;
    if (is_int(o)) *(long *)(void *)field = n;
    else *(double *)(void *)field = v;
    return 1;
}

/* Prints text from column 23 on, wrapped at spaces to stay within 99 columns. */
static void print_wrapped(const char *text) {
    int col = 23, len;
    while (*text) {
        while (*text == ' ') text++;
        for (len = 0; text[len] && text[len] != ' '; len++) {}
        if (col > 23 && col + 1 + len > 99) { printf("\n%23s", ""); col = 23; }
        else if (col > 23) { putchar(' '); col++; }
        printf("%.*s", len, text);
        col += len;
        text += len;
    }
    putchar('\n');
}

static void usage(void) {
    char name[40], def[64], line[512];
    int i;
    printf("usage: ./train [options]    train GPT-2 on a text file (defaults: the PyTorch "
           "reference trainer's)\n");
    for (i = 0; i < N_OPTIONS; i++) {
        const option *o = &options[i];
        if (!o->def) value_text(o, &defaults, def, sizeof def);
        snprintf(name, sizeof name, "--%s%s%s", o->name, is_switch(o) ? "" : " ", o->arg);
        snprintf(line, sizeof line, "%s (default: %s)", o->help, o->def ? o->def : def);
        printf("  %-20s ", name);
        print_wrapped(line);
    }
    printf("  --help               this text\n"
           "Steps are numbered from 0, on the screen and in --log. Ctrl-C stops after the "
           "current step\nand saves the checkpoint; a second Ctrl-C stops at once (the files "
           "on disk stay as they were).\n"
           "Exit status: 0 done (or --stop-after), 1 failure while training, 2 bad options or "
           "input\n(found before anything is written), 130 stopped by Ctrl-C.\n");
}

/* Fills a from the command line. given[i] is set when options[i] appears. Returns 1 to go
   on, 0 after --help, -1 after printing an error. */
static int parse_args(args *a, int given[], int argc, char **argv) {
    int i, k;
    *a = defaults;
    for (i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) { usage(); return 0; }
        for (k = 0; k < N_OPTIONS; k++)
            if (strncmp(name, "--", 2) == 0 && strcmp(name + 2, options[k].name) == 0) break;
        if (k == N_OPTIONS) {
            fprintf(stderr, "train: unknown option '%s' (see --help)\n", name);
            return -1;
        }
        if (is_switch(&options[k])) {
            *(long *)(void *)((char *)a + options[k].offset) = 1;
            given[k] = 1;
            continue;
        }
        if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
            fprintf(stderr, "train: %s needs a value (%s)\n", name, options[k].arg);
            return -1;
        }
        if (!set_value(&options[k], a, argv[++i])) {
            if (options[k].hi >= BIG)
                fprintf(stderr, "train: %s %s: expected %s >= %.15g\n", name, argv[i],
                        is_int(&options[k]) ? "an integer" : "a number", options[k].lo);
            else
                fprintf(stderr, "train: %s %s: expected %s from %.15g to %.15g\n", name, argv[i],
                        is_int(&options[k]) ? "an integer" : "a number", options[k].lo,
                        options[k].hi);
            return -1;
        }
        given[k] = 1;
    }
    return 1;
}

static int option_index(const char *name) {
    int k;
    for (k = 0; k < N_OPTIONS && strcmp(options[k].name, name) != 0; k++) {}
    return k;
}

/* ---- The state of a run -------------------------------------------------------------------- */
#define RECENT 15   /* the ETA is the median time of the last RECENT steps, times the rest */
typedef struct run {
    args a;
    int given[N_OPTIONS];          /* options[i] was on the command line */
    gpt_model *m;                  /* training model; its KV cache is used for the samples */
    gpt_tokenizer *tok;
    int *tokens;                   /* (n_tokens) the whole text, encoded */
    size_t n_tokens, n_train;      /* training: tokens[0, n_train), validation: the rest */
    uint64_t input_hash;           /* FNV-1a of the token ids: --resume checks the text */
    gpt_loader loader;             /* over the training tokens */
    gpt_adamw adamw;
    gpt_schedule sched;
    gpt_rng rng;                   /* initial weights, then the samples */
    int *inputs, *targets;         /* (B,T) one batch */
    long step, total, per_epoch;   /* steps done, steps in all, steps in one epoch */
    long resumed_pos;              /* loader position read from the checkpoint */
    char input_path[4096];         /* --input when this program chose it */
    double best_loss;              /* lowest validation (or epoch) loss so far */
    double epoch_loss_sum;         /* training losses of this epoch so far, added up */
    long done;                     /* steps of this invocation */
    double ms_sum;                 /* and their time */
    double recent_ms[RECENT];      /* the times of the last RECENT steps, for the ETA */
    FILE *log, *epoch_log;
    struct thread_tuner {          /* without --threads: all cores or 1, whichever is faster */
        int max, chosen, probe;    /* probe: 1 timing all cores, 2 timing one, 0 not timing */
        long since;                /* steps since the last check */
        double ms_all;             /* the step timed with all cores */
    } tune;
} run;

static int given(const run *r, const char *name) { return r->given[option_index(name)]; }

/* Ctrl-C: say so at once, finish the step, save the checkpoint, exit 130. A step of a large
   model takes seconds, so the handler itself prints. A second Ctrl-C stops at once: it
   removes the temporary files of a save in progress (a save writes FILE.tmp and renames it
   over FILE only when complete, so FILE is never half written) and exits. A handler may only
   call async-signal-safe functions: write, unlink, _exit, with texts prepared beforehand. */
static volatile sig_atomic_t interrupted = 0;
static char sigint_note[600], tmp_out[4100], tmp_checkpoint[4100];
static size_t sigint_note_len;

static void on_sigint(int sig) {
    static const char stop[] = "\ntrain: second Ctrl-C: stopped at once; the files saved "
                               "before are intact\n";
    ssize_t ignored;
    (void)sig;
    if (interrupted) {
        unlink(tmp_out);
        unlink(tmp_checkpoint);
        ignored = write(2, stop, sizeof stop - 1);
        _exit(130);
    }
    interrupted = 1;
    ignored = write(2, sigint_note, sigint_note_len);
    (void)ignored;
}

/* Prepares the handler's texts and installs it. */
static void catch_sigint(const char *out, const char *checkpoint) {
    struct sigaction sa;
    snprintf(sigint_note, sizeof sigint_note, "\ntrain: Ctrl-C: stopping after this step; "
             "%s will be saved (Ctrl-C again stops at once)\n", checkpoint);
    sigint_note_len = strlen(sigint_note);
    snprintf(tmp_out, sizeof tmp_out, "%s.tmp", out);
    snprintf(tmp_checkpoint, sizeof tmp_checkpoint, "%s.tmp", checkpoint);
    /* sigaction, not signal(): under _POSIX_C_SOURCE glibc's signal() forgets the handler
       after one signal. SA_RESTART: a save being written when Ctrl-C comes goes on. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- 2. The text --------------------------------------------------------------------------
   The whole file is encoded once, as ordinary text (tiktoken's encode_ordinary: no special
   tokens), then split: the first (1 - val_frac) of the tokens train, the rest validate. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0, got;
    char *buf = NULL, *bigger;
    if (!f) {
        fprintf(stderr, "train: cannot open %s: %s (give --input FILE)\n", path,
                strerror(errno));
        return NULL;
    }
    for (;;) {
        if (!(bigger = (char *)realloc(buf, cap))) { free(buf); buf = NULL; break; }
        buf = bigger;
        if ((got = fread(buf + n, 1, cap - n, f)) == 0) break;
        if ((n += got) == cap) cap *= 2;
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "train: %s: %s\n", path, buf ? "read error" : "out of memory");
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The folder part of path ("." when there is none) into dir. */
static void folder_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* The vocabulary: --vocab, else beside the model file when it has one, else data/ here,
   else data/ beside this program. A folder without vocabulary files is skipped; one with
   broken files is an error. */
static gpt_tokenizer *load_vocab(const run *r, const char *argv0) {
    gpt_tokenizer *tok = NULL;
    const char *model = r->a.resume ? r->a.resume : r->a.init, *dirs[3];
    char model_dir[4096], exe_dir[4000], exe_data[4096];
    int n = 0, rc;
    if (r->a.vocab) dirs[n++] = r->a.vocab;
    else {
        if (model) {
            folder_of(model, model_dir, sizeof model_dir);
            dirs[n++] = model_dir;
        }
        folder_of(argv0, exe_dir, sizeof exe_dir);
        snprintf(exe_data, sizeof exe_data, "%s/data", exe_dir);
        dirs[n++] = "data";
        dirs[n++] = exe_data;
    }
    if ((rc = gpt_tok_load_first(&tok, dirs, n, NULL)) == GPT_OK) return tok;
    fprintf(stderr, "train: %s%s\n", gpt_last_error(),
            rc == GPT_ERR_IO && !r->a.vocab ? " (give --vocab DIR)" : "");
    return NULL;
}

/* FNV-1a, 64 bits, over the ids as 4 little-endian bytes each: a fingerprint of the text. */
static uint64_t fnv1a(const int *ids, size_t n) {
    uint64_t h = 14695981039346656037ull;
    size_t i;
    int b;
    for (i = 0; i < n; i++)
        for (b = 0; b < 4; b++) {
            h ^= (uint64_t)(((uint32_t)ids[i] >> (8 * b)) & 0xFF);
            h *= 1099511628211ull;
        }
    return h;
}

/* The text when --input is not given. A resumed run reads the text its checkpoint names
   (the hash recorded beside it is checked later). A new run reads input.txt, and when there
   is none, the Tiny Shakespeare that ships in data/ (here, else beside this program), so that
   a fresh clone trains with no download. */
static int choose_input(run *r, const char *argv0) {
    char dir[4000];
    FILE *f;
    if (given(r, "input")) return 1;
    if (r->a.resume) {
        gpt_st *st;
        const char *recorded;
        if (gpt_st_open(&st, r->a.resume, NULL) != GPT_OK) {
            fprintf(stderr, "train: --resume: %s\n", gpt_last_error());
            return 0;
        }
        recorded = gpt_st_meta(st, "train.input");
        if (recorded && *recorded) {
            snprintf(r->input_path, sizeof r->input_path, "%s", recorded);
            r->a.input = r->input_path;
            printf("input: %s, the text %s was trained on\n", r->a.input, r->a.resume);
        }
        gpt_st_close(st);
        return 1;
    }
    if ((f = fopen(r->a.input, "rb")) != NULL || errno != ENOENT) {
        if (f) fclose(f);
        return 1;   /* there, or an error that load_text reports */
    }
    snprintf(r->input_path, sizeof r->input_path, "data/tinyshakespeare.txt");
    if (!(f = fopen(r->input_path, "rb"))) {
        folder_of(argv0, dir, sizeof dir);
        snprintf(r->input_path, sizeof r->input_path, "%s/data/tinyshakespeare.txt", dir);
        if (!(f = fopen(r->input_path, "rb"))) return 1;   /* load_text says input.txt is missing */
    }
    fclose(f);
    r->a.input = r->input_path;
    printf("input: no input.txt here, so Tiny Shakespeare from %s (give --input FILE for your "
           "own text)\n", r->a.input);
    return 1;
}

/* Where text stops being UTF-8: the offset of the first NUL byte or the first byte that does
   not start a valid sequence (overlong forms, surrogates and code points above U+10FFFF are
   invalid, as in the Unicode standard's table 3-7), or len when all of it is valid. */
static size_t utf8_end(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF, more, k;
        if (c == 0) return i;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) more = 1;
        else if (c >= 0xE0 && c <= 0xEF) more = 2;
        else if (c >= 0xF0 && c <= 0xF4) more = 3;
        else return i;
        if (c == 0xE0) lo = 0xA0;         /* no overlong 3-byte forms */
        if (c == 0xED) hi = 0x9F;         /* no UTF-16 surrogates */
        if (c == 0xF0) lo = 0x90;         /* no overlong 4-byte forms */
        if (c == 0xF4) hi = 0x8F;         /* nothing above U+10FFFF */
        if (i + more >= len) return i;   /* cut off by the end of the file */
        for (k = 1; k <= more; k++) {
            unsigned b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
        }
        i += more + 1;
    }
    return len;
}

/* Reads and encodes --input into r->tokens. Text that is not UTF-8 gets a warning and is
   trained on all the same: the byte-level tokenizer takes any bytes. */
static int load_text(run *r) {
    size_t len, n, bad;
    char *text = read_file(r->a.input, &len);
    if (!text) return 0;
    if (len == 0) {
        fprintf(stderr, "train: %s is empty\n", r->a.input);
        free(text);
        return 0;
    }
    if ((bad = utf8_end((const unsigned char *)text, len)) < len)
        fprintf(stderr, "train: warning: %s is not UTF-8 text: byte %lu (0x%02x) %s; training "
                "on it anyway\n", r->a.input, (unsigned long)bad, (unsigned char)text[bad],
                text[bad] ? "does not start a valid UTF-8 sequence" : "is a NUL");
    r->tokens = (int *)malloc((len + 1) * sizeof(int));   /* a token has at least one byte */
    if (!r->tokens || gpt_tok_encode(r->tok, text, len, 0, r->tokens, len + 1, &n) != GPT_OK) {
        fprintf(stderr, "train: %s: %s\n", r->a.input,
                r->tokens ? gpt_last_error() : "out of memory");
        free(text);
        return 0;
    }
    free(text);
    r->n_tokens = n;
    r->input_hash = fnv1a(r->tokens, n);
    return 1;
}

/* ---- 3. The model -------------------------------------------------------------------------
   A new model takes its shape from --preset and the single overrides; --init and --resume
   take it from the file, and then the shape options, when given, must agree with it. One
   model does everything: it trains with batches of (B,T), evaluates the validation loss with
   the same batches, and samples through its KV cache (gpt_model_options.kv_cache). */
static int preset_config(gpt_config *c, const char *name) {
    /* small: the vocabulary's 50257 x C embedding is also the output head, so at small C the
       head costs most of a step: C = 64, 128 and 192 measured about the same (~0.6 s of one
       core per step at B=4, T=32), 256 twice that. 4 layers of 128 channels take 0.26 s a step
       on two cores and learn the look of the play (names, short verse lines) in 2000 steps:
       ./train --preset small --steps 2000 on Tiny Shakespeare, ten minutes in all. */
    if (strcmp(name, "small") == 0) {
        c->n_layer = 4; c->n_head = 4; c->n_embd = 128; c->block_size = 256;
        c->vocab_size = 50257;
        return 1;
    }
    if (gpt_config_preset(c, name) == GPT_OK) return 1;
    fprintf(stderr, "train: --preset %s: unknown (gpt2, gpt2-medium, gpt2-large, gpt2-xl, "
            "small)\n", name);
    return 0;
}

/* The shape the command line asks for: the preset, then --layers --heads --embd --block-size. */
static int wanted_config(const run *r, gpt_config *c) {
    if (!preset_config(c, r->a.preset)) return 0;
    if (r->a.layers) c->n_layer = (int)r->a.layers;
    if (r->a.heads) c->n_head = (int)r->a.heads;
    if (r->a.embd) c->n_embd = (int)r->a.embd;
    if (r->a.block_size) c->block_size = (int)r->a.block_size;
    if (gpt_config_check(c) != GPT_OK) {
        fprintf(stderr, "train: model shape: %s\n", gpt_last_error());
        return 0;
    }
    return 1;
}

/* With --init or --resume: the shape options given (--preset included) must match the file. */
static int check_shape(const run *r, const gpt_config *have, const char *path) {
    static const char *names[4] = {"layers", "heads", "embd", "block-size"};
    const long flags[4] = {r->a.layers, r->a.heads, r->a.embd, r->a.block_size};
    const int file[4] = {have->n_layer, have->n_head, have->n_embd, have->block_size};
    gpt_config c;
    int i, preset[4];
    if (given(r, "preset")) {
        if (!preset_config(&c, r->a.preset)) return 0;
        preset[0] = c.n_layer; preset[1] = c.n_head; preset[2] = c.n_embd;
        preset[3] = c.block_size;
        for (i = 0; i < 4; i++)
            if (!flags[i] && preset[i] != file[i]) {
                fprintf(stderr, "train: --preset %s (%s %d) does not match %s (%s %d)\n",
                        r->a.preset, names[i], preset[i], path, names[i], file[i]);
                return 0;
            }
    }
    for (i = 0; i < 4; i++)
        if (flags[i] && flags[i] != file[i]) {
            fprintf(stderr, "train: --%s %ld does not match %s (%s %d)\n", names[i], flags[i],
                    path, names[i], file[i]);
            return 0;
        }
    return 1;
}

/* The block size of a weights file, from its position embedding, without loading it. */
static int file_block_size(const char *path, long *block) {
    gpt_st *st;
    const gpt_st_tensor *t;
    int found;
    if (gpt_st_open(&st, path, NULL) != GPT_OK) {
        fprintf(stderr, "train: %s\n", gpt_last_error());
        return 0;
    }
    t = gpt_st_find(st, "wpe.weight");
    if (!t) t = gpt_st_find(st, "transformer.wpe.weight");
    found = t && t->ndim == 2;   /* t belongs to st: read it before closing */
    if (found) *block = (long)t->shape[0];
    gpt_st_close(st);
    if (!found) fprintf(stderr, "train: %s: no wpe.weight: not GPT-2 weights\n", path);
    return found;
}

/* Creates r->m: loaded from --resume or --init, or new with the initialisation of GPT-2. */
static int make_model(run *r) {
    gpt_load_options lo = gpt_load_options_defaults();
    const char *path = r->a.resume ? r->a.resume : r->a.init;
    long block = 0;
    gpt_config c;
    lo.model.max_batch = (int)r->a.batch;
    lo.model.max_seq = (int)r->a.seq;
    lo.model.training = 1;
    lo.model.kv_cache = 1;
    lo.optimizer = r->a.resume != NULL;
    if (!path) {
        if (!wanted_config(r, &c)) return 0;
        if (r->a.seq > c.block_size) {
            fprintf(stderr, "train: --seq %ld is longer than the block size %d\n", r->a.seq,
                    c.block_size);
            return 0;
        }
        /* the library says how much it will take before it takes it */
        printf("memory: %.1f MB for weights, gradients, AdamW state and activations\n",
               (double)gpt_model_bytes(&c, &lo.model) / 1e6);
        if (gpt_model_create(&r->m, &c, &lo.model) != GPT_OK) {
            fprintf(stderr, "train: creating the model: %s\n", gpt_last_error());
            return 0;
        }
        gpt_model_init(r->m, &r->rng);
        return 1;
    }
    if (!file_block_size(path, &block)) return 0;
    if (r->a.seq > block) {
        fprintf(stderr, "train: --seq %ld is longer than the block size %ld of %s\n",
                r->a.seq, block, path);
        return 0;
    }
    if (gpt_load(&r->m, path, &lo) != GPT_OK && r->a.heads) {
        lo.n_head = (int)r->a.heads;   /* no config.json and no metadata: take --heads */
        gpt_load(&r->m, path, &lo);
    }
    if (!r->m) {
        fprintf(stderr, "train: loading %s: %s%s\n", path, gpt_last_error(),
                strstr(gpt_last_error(), "config.json") ? " (a config.json beside a file "
                "describes it: that one belongs to another model; move it away)" : "");
        return 0;
    }
    printf("memory: %.1f MB for weights, gradients, AdamW state and activations\n",
           (double)r->m->arena_bytes / 1e6);
    return check_shape(r, &r->m->config, path);
}

/* ---- 4. Checkpoints -----------------------------------------------------------------------
   gpt_save writes the weights in Hugging Face's layout, the AdamW moments and step, the
   shape, and the metadata given here: every recorded option ("train.lr" ...) and the
   progress. Together they let --resume continue bit for bit. All values are decimal text;
   doubles use the shortest text that reads back to the same double. */
#define N_PROGRESS 7
static const char *progress_keys[N_PROGRESS] = {
    "train.step", "train.loader_pos", "train.best_loss", "train.epoch_loss_sum",
    "train.rng_state", "train.input_tokens", "train.input_hash"};

static int save(const run *r, const char *path, int with_config_json) {
    char keys[N_OPTIONS][32], values[N_OPTIONS + N_PROGRESS][40];
    const char *kv[2 * (N_OPTIONS + N_PROGRESS + 1) + 1];
    gpt_save_options so = gpt_save_options_defaults();
    int i, n = 0;
    for (i = 0; i < N_OPTIONS; i++) {
        if (!options[i].recorded) continue;
        snprintf(keys[i], sizeof keys[i], "train.%s", options[i].name);
        value_text(&options[i], &r->a, values[n], sizeof values[n]);
        kv[2 * n] = keys[i];
        kv[2 * n + 1] = values[n];
        n++;
    }
    snprintf(values[n], 40, "%ld", r->step);
    snprintf(values[n + 1], 40, "%lu", (unsigned long)r->loader.pos);
    exact_text(r->best_loss, values[n + 2], 40);
    exact_text(r->epoch_loss_sum, values[n + 3], 40);
    snprintf(values[n + 4], 40, "%llu", (unsigned long long)r->rng.state);
    snprintf(values[n + 5], 40, "%lu", (unsigned long)r->n_tokens);
    snprintf(values[n + 6], 40, "%llu", (unsigned long long)r->input_hash);
    for (i = 0; i < N_PROGRESS; i++, n++) {
        kv[2 * n] = progress_keys[i];
        kv[2 * n + 1] = values[n];
    }
    kv[2 * n] = "train.input";   /* the text, for --resume without --input */
    kv[2 * n + 1] = r->a.input;
    kv[2 * n + 2] = NULL;
    so.optimizer = 1;
    so.metadata = kv;
    so.write_config_json = with_config_json;
    if (gpt_save(r->m, path, &so) != GPT_OK) {
        fprintf(stderr, "train: saving %s: %s\n", path, gpt_last_error());
        return 0;
    }
    return 1;
}

/* Reads the metadata value key as an unsigned integer or a double (strict). */
static int meta_number(const gpt_st *st, const char *key, int is_double, double *d,
                       unsigned long long *u) {
    const char *text = gpt_st_meta(st, key);
    char *end;
    errno = 0;
    if (!text || !*text) return 0;
    if (is_double) *d = strtod(text, &end);
    else *u = strtoull(text, &end, 10);
    return *end == '\0' && errno != ERANGE && (is_double || text[0] != '-');
}

/* --resume, before the model is built: the recorded options (an option given on the command
   line must have the recorded value) and the progress. */
static int read_resume(run *r) {
    gpt_st *st;
    char mine[64];
    double d[N_PROGRESS];
    unsigned long long u[N_PROGRESS];
    char recorded[300] = "";
    int i, ok = 1;
    if (gpt_st_open(&st, r->a.resume, NULL) != GPT_OK) {
        fprintf(stderr, "train: --resume: %s\n", gpt_last_error());
        return 0;
    }
    for (i = 0; i < N_OPTIONS && ok; i++) {
        const option *o = &options[i];
        const char *theirs;
        if (!o->recorded) continue;
        snprintf(mine, sizeof mine, "train.%s", o->name);
        theirs = gpt_st_meta(st, mine);
        if (!theirs) continue;   /* an option older checkpoints lack: its default */
        value_text(o, &r->a, mine, sizeof mine);
        if (r->given[i] && strcmp(mine, theirs) != 0) {
            fprintf(stderr, "train: --%s %s contradicts %s, which was trained with --%s %s\n",
                    o->name, mine, r->a.resume, o->name, theirs);
            ok = 0;
        } else if (!set_value(o, &r->a, theirs)) break;
    }
    for (i = 0; i < N_PROGRESS && ok; i++)
        if (!meta_number(st, progress_keys[i], i == 2 || i == 3, &d[i], &u[i])) break;
    if (gpt_st_meta(st, "train.input"))
        snprintf(recorded, sizeof recorded, " (%s)", gpt_st_meta(st, "train.input"));
    gpt_st_close(st);
    if (ok && i < N_PROGRESS) {
        fprintf(stderr, "train: %s is not a training checkpoint of this program (metadata "
                "missing or malformed); to start from its weights use --init\n", r->a.resume);
        ok = 0;
    }
    if (!ok) return 0;
    if (u[5] != r->n_tokens || u[6] != r->input_hash) {
        fprintf(stderr, "train: %s is not the text %s was trained on%s: that had %lu tokens, "
                "this has %lu%s; give --input with that text\n", r->a.input, r->a.resume,
                recorded, (unsigned long)u[5], (unsigned long)r->n_tokens,
                u[5] == r->n_tokens ? " but other ones" : "");
        return 0;
    }
    /* a state this program can have saved: the loader inside the text, a step count and
       losses in range, and a random state that is not 0 (xorshift64* never reaches 0) */
    if (u[0] > (unsigned long long)BIG || u[1] > r->n_tokens || u[4] == 0 ||
        !(d[2] >= 0.0) || !(d[3] >= 0.0 && d[3] < HUGE_VAL)) {
        fprintf(stderr, "train: %s: the recorded progress is not one this program saves (step "
                "%llu, loader position %llu, best loss %g, epoch loss sum %g, random state "
                "%llu)\n", r->a.resume, u[0], u[1], d[2], d[3], u[4]);
        return 0;
    }
    r->step = (long)u[0];
    r->resumed_pos = (long)u[1];
    r->best_loss = d[2];
    r->epoch_loss_sum = d[3];
    r->rng.state = u[4];
    return 1;
}

/* Makes sure path can be written before the training starts, with the temporary file that
   gpt_save itself uses, so that a bad --out or --checkpoint fails now and not after hours. */
static int writable(const char *path) {
    char tmp[4096];
    FILE *f;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return 0;
    if (!(f = fopen(tmp, "wb"))) {
        fprintf(stderr, "train: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    fclose(f);
    remove(tmp);
    return 1;
}

/* ---- 5. Training ---------------------------------------------------------------------------
   Validation loss: the mean loss over consecutive, non-overlapping (B,T) batches from the
   start of the validation tokens, at most --eval-batches of them (0: all), with the training
   model (forward with targets, no backward). Always the same batches, so that two
   measurements compare two models and not two samples of text. When the validation tokens
   are fewer than one batch needs (B*T+1), one batch of as many whole sequences of T as fit
   is used instead; fewer than T+1 tokens is an error found at the start. */
static int val_loss(run *r, double *out) {
    const int *val = r->tokens + r->n_train;
    size_t n_val = r->n_tokens - r->n_train, T = (size_t)r->a.seq, rows = (size_t)r->a.batch;
    size_t batches = (n_val - 1) / (rows * T), b;
    double sum = 0.0;
    float loss;
    if (batches == 0) {
        rows = (n_val - 1) / T;
        batches = 1;
    }
    if (r->a.eval_batches > 0 && batches > (size_t)r->a.eval_batches)
        batches = (size_t)r->a.eval_batches;
    for (b = 0; b < batches; b++) {
        const int *x = val + b * rows * T;   /* (rows,T) inputs; the targets are x + 1 */
        if (gpt_forward(r->m, x, x + 1, (int)rows, (int)T, &loss) != GPT_OK) {
            fprintf(stderr, "train: validation: %s\n", gpt_last_error());
            return 0;
        }
        sum += loss;
    }
    *out = sum / (double)batches;
    return 1;
}

/* The best model: saved to --out whenever score, the validation loss (without validation
   the epoch's training loss), is the lowest so far. *best says whether it was. */
static int keep_best(run *r, double score, int *best) {
    *best = score < r->best_loss;
    if (!*best) return 1;
    r->best_loss = score;
    return save(r, r->a.out, 1);
}

/* Every --eval-every steps between the ends of epochs: the validation loss, so that a long
   run has a best model long before its first epoch ends. */
static int eval_now(run *r) {
    double val;
    int best;
    if (!val_loss(r, &val) || !keep_best(r, val, &best)) return 0;
    printf("eval after %ld steps: val loss %.6f | %s%s\n", r->step, val,
           best ? "best so far, saved " : "not better", best ? r->a.out : "");
    return 1;
}

/* Prints SAMPLE_TOKENS tokens drawn from the model after a newline, one at a time through
   the KV cache, with the run's generator (recorded in checkpoints, so that a resumed run draws
   the same samples). The context stays within T, the positions the model has been trained
   on: when it is full, its last half is run again from position 0. The inputs buffer holds
   the context. */
#define SAMPLE_TOKENS 64
static int print_sample(run *r) {
    gpt_sampler sampler = gpt_sampler_defaults();
    gpt_tok_stream stream;
    int *ctx = r->inputs, window = (int)r->a.seq, keep = window / 2, pos = 0, token, i;
    char text[512];
    size_t len, n;
    float *logits;
    if (gpt_tok_encode(r->tok, "\n", 1, 0, &token, 1, &n) != GPT_OK) token = 0;
    gpt_tok_stream_init(&stream);
    printf("---- sample after %ld step%s ----\n", r->step, r->step == 1 ? "" : "s");
    for (i = 0; i < SAMPLE_TOKENS; i++) {
        if (pos == window) {   /* context full: keep the last half, run it again */
            memmove(ctx, ctx + window - keep, (size_t)keep * sizeof(int));
            for (pos = 0; pos < keep; pos++)
                if (gpt_forward_token(r->m, ctx[pos], pos, NULL) != GPT_OK) break;
        }
        ctx[pos] = token;
        if (gpt_forward_token(r->m, token, pos++, &logits) != GPT_OK ||
            gpt_sample(r->m, logits, &sampler, &r->rng, &token) != GPT_OK) {
            fprintf(stderr, "train: sampling: %s\n", gpt_last_error());
            return 0;
        }
        if (gpt_tok_stream_push(&stream, r->tok, token, text, sizeof text, &len) == GPT_OK)
            fwrite(text, 1, len, stdout);
    }
    if (gpt_tok_stream_flush(&stream, text, sizeof text, &len) == GPT_OK)
        fwrite(text, 1, len, stdout);
    printf("\n---- end of sample ----\n");
    return 1;
}

static void print_duration(double seconds) {
    long s = (long)(seconds + 0.5);
    if (s >= 3600) printf("%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
    else printf("%ldm%02lds", s / 60, s % 60);
}

/* ---- Threads on a shared machine ------------------------------------------------------------
   With another busy program on one of the cores, each parallel loop of gpt.h waits at its end
   for the thread that shares that core, and all cores can be slower than one (GPT-2 124M,
   B=4 T=32, a busy loop on one of 2 cores: 1.7 s a step with 2 threads, 1.3 s with 1).
   gpt.h computes the same bits with any number of threads, so the trainer may change the
   number between steps without changing the run. Unless --threads is given, it times one
   step with all the cores and the next with one, every TUNE_EVERY steps (the first check
   right after the first step, which pays for first touches of memory), and runs with the
   faster until the next check. */
#define TUNE_EVERY 50

static void tuner_init(struct thread_tuner *t, int max) {
    t->max = t->chosen = max;
    t->probe = 0;
    t->since = TUNE_EVERY - 1;
    t->ms_all = 0.0;
}

/* The number of threads for the next step. */
static int tuner_next(struct thread_tuner *t) {
    if (t->max <= 1) return 1;
    if (t->probe == 0 && t->since >= TUNE_EVERY) t->probe = 1;
    return t->probe == 1 ? t->max : t->probe == 2 ? 1 : t->chosen;
}

/* Records the time of the step just done; returns 1 when a check changed the choice. */
static int tuner_done(struct thread_tuner *t, double ms) {
    int before = t->chosen;
    if (t->probe == 1) {
        t->ms_all = ms;
        t->probe = 2;
    } else if (t->probe == 2) {
        t->chosen = ms < t->ms_all ? 1 : t->max;
        t->probe = 0;
        t->since = 0;
    } else {
        t->since++;
    }
    return t->chosen != before;
}

/* The median time of the last RECENT steps (fewer at the start): one slow step (a page
   fault, another program) moves the ETA no more than any other step does. */
static double median_ms(const run *r) {
    double t[RECENT], x;
    int n = r->done < RECENT ? (int)r->done : RECENT, i, j;
    for (i = 0; i < n; i++) {   /* insertion sort of a copy */
        for (x = r->recent_ms[i], j = i; j > 0 && t[j - 1] > x; j--) t[j] = t[j - 1];
        t[j] = x;
    }
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* After the first PLAN_STEPS steps: how long the whole run will take, and when that is more
   than an hour, the quick alternative (the reference run takes days on a laptop). */
#define PLAN_STEPS 10
static void print_estimate(const run *r) {
    double ms = median_ms(r), left = (double)(r->total - r->step) * ms * 1e-3;
    printf("estimate: ");
    print_duration(r->ms_sum * 1e-3 + left);
    if (r->a.resume) printf(" for the %ld steps of this run", r->done + r->total - r->step);
    else printf(" for the whole run of %ld steps", r->total);
    printf(" (%.1f ms per step: the median of the last %d)\n", ms, PLAN_STEPS);
    if (left > 3600.0)
        printf("that is over an hour: for a sample within minutes, stop with Ctrl-C and run "
               "./train --preset small --steps 600 --overwrite\n");
}

/* One step. The loss is that of this batch before the update, lr the rate used for the
   update, norm the gradient norm before clipping; all three go to the log. Step numbers
   count from 0, as gpt_schedule_lr does. */
static int train_step(run *r) {
    gpt_model *m = r->m;
    int B = (int)r->a.batch, T = (int)r->a.seq;
    long epoch = r->step / r->per_epoch + 1, epochs = (r->total - 1) / r->per_epoch + 1;
    double t0, ms, tok_per_s;
    float loss, norm;
    double lr;
    if (!r->a.threads) {
        int threads = tuner_next(&r->tune);
#ifdef _OPENMP
        omp_set_num_threads(threads);
#else
        (void)threads;
#endif
    }
    t0 = now_ms();
    gpt_loader_next(&r->loader, r->inputs, r->targets);
    if (gpt_forward(m, r->inputs, r->targets, B, T, &loss) != GPT_OK) goto fail;
    gpt_zero_grad(m);
    if (gpt_backward(m) != GPT_OK) goto fail;
    if (gpt_clip_grad_norm(m, (float)r->a.clip, &norm) != GPT_OK) goto fail;
    lr = gpt_schedule_lr(&r->sched, r->step);
    if (gpt_adamw_step(m, &r->adamw, lr) != GPT_OK) goto fail;
    ms = now_ms() - t0;
    if (!r->a.threads && tuner_done(&r->tune, ms))
        printf("(now %d thread%s: a step took %.0f ms with %d, %.0f ms with 1; checked "
               "again in %d steps)\n", r->tune.chosen, r->tune.chosen > 1 ? "s" : "",
               r->tune.ms_all, r->tune.max, ms, TUNE_EVERY);
    if (!isfinite(loss) || !isfinite(norm)) {   /* diverged: stop before saving anything */
        fprintf(stderr, "train: step %ld: the loss is %g and the gradient norm %g; stopping "
                "without saving (try a lower --lr)\n", r->step, loss, norm);
        return 0;
    }
    tok_per_s = (double)B * T / (ms > 0 ? ms : 1e-3) * 1e3;
    r->epoch_loss_sum += loss;
    r->ms_sum += ms;
    r->recent_ms[r->done % RECENT] = ms;
    r->done++;
    printf("step %*ld/%ld | epoch %ld/%ld | loss %.6f | lr %.4e | norm %.4f | %.1f ms | "
           "%.0f tok/s | ETA ", (int)(log10((double)r->total) + 1), r->step, r->total,
           epoch, epochs, loss, lr, norm, ms, tok_per_s);
    print_duration((double)(r->total - r->step - 1) * median_ms(r) * 1e-3);
    printf("\n");
    fflush(stdout);
    if (r->log) {
        fprintf(r->log, "%ld,%ld,%.9g,%.9g,%.9g,%.9g,%.9g\n", r->step, epoch, loss, lr, norm,
                ms, tok_per_s);
        fflush(r->log);
    }
    r->step++;
    return 1;
fail:
    fprintf(stderr, "train: step %ld: %s\n", r->step, gpt_last_error());
    return 0;
}

/* The end of an epoch (or of the run, which may end within one): average training loss,
   validation loss, the best model when it improved, a sample, and the checkpoint. */
static int end_epoch(run *r) {
    long epoch = (r->step - 1) / r->per_epoch + 1;
    long steps = r->step - (epoch - 1) * r->per_epoch;   /* in this epoch */
    double train_loss = r->epoch_loss_sum / (double)steps, val = 0.0;
    int has_val = r->n_tokens > r->n_train, best;
    if (has_val && !val_loss(r, &val)) return 0;
    r->epoch_loss_sum = 0.0;
    if (!keep_best(r, has_val ? val : train_loss, &best)) return 0;
    printf("epoch %ld: train loss %.6f", epoch, train_loss);
    if (has_val) printf(" | val loss %.6f", val);
    printf(" | %s\n", best ? "best so far, saved" : "not better");
    if (best) printf("saved %s\n", r->a.out);
    if (r->epoch_log) {
        fprintf(r->epoch_log, "%ld,%.9g,", epoch, train_loss);
        if (has_val) fprintf(r->epoch_log, "%.9g", val);
        fprintf(r->epoch_log, ",%d\n", best);
        fflush(r->epoch_log);
    }
    return print_sample(r) && save(r, r->a.checkpoint, 0);
}

/* The loop. Returns the exit status. */
static int train(run *r) {
    int saved = 0, has_val = r->n_tokens > r->n_train;
    catch_sigint(r->a.out, r->a.checkpoint);
    while (r->step < r->total) {
        if (!train_step(r)) return 1;
        if (r->done == PLAN_STEPS && r->step < r->total) print_estimate(r);
        saved = 0;
        if (r->step % r->per_epoch == 0 || r->step == r->total) {
            if (!end_epoch(r)) return 1;
            saved = 1;
        } else {
            if (has_val && r->a.eval_every && r->step % r->a.eval_every == 0 && !eval_now(r))
                return 1;
            if (r->a.sample_every && r->step % r->a.sample_every == 0 && !print_sample(r))
                return 1;
        }
        if (!saved && r->a.save_every && r->step % r->a.save_every == 0) {
            if (!save(r, r->a.checkpoint, 0)) return 1;
            saved = 1;
        }
        if (interrupted || (r->a.stop_after && r->done == r->a.stop_after && r->step < r->total))
            break;
    }
    if (!saved && !save(r, r->a.checkpoint, 0)) return 1;
    if (r->step < r->total) {
        printf("%s after %ld steps (%ld of %ld done); saved %s. Continue with: ./train "
               "--resume %s\n", interrupted ? "interrupted" : "stopped", r->done, r->step,
               r->total, r->a.checkpoint, r->a.checkpoint);
        return interrupted ? 130 : 0;
    }
    printf("done: %ld steps in ", r->total);
    print_duration(r->ms_sum * 1e-3);
    printf(" of training; best loss %.6f in %s, last state in %s\n", r->best_loss, r->a.out,
           r->a.checkpoint);
    return 0;
}

/* ---- Setting up ------------------------------------------------------------------------- */

/* A CSV log: a new run starts it with its header, a resumed run appends to it. */
static FILE *open_log(const char *path, const char *header, int append) {
    FILE *f = fopen(path, append ? "a" : "w");
    if (!f) {
        fprintf(stderr, "train: cannot write %s: %s\n", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0) fprintf(f, "%s\n", header);
    return f;
}

/* --overwrite, once every check has passed: the earlier run's best model and its config.json
   go now. Until this run saves a best model of its own, ./sample would otherwise serve the
   earlier run's as this one's, and a loader reads config.json for any file in the folder, so
   this run's checkpoint would be checked against the earlier model's shape. The checkpoint
   itself is replaced (atomically) at this run's first save. */
static int remove_file(const char *path) {   /* a plain file only: never a folder */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || remove(path) != 0) return 0;
    printf("overwrite: removed %s\n", path);
    return 1;
}

static void remove_earlier_run(const run *r) {
    char config[4200], dir[4096];
    folder_of(r->a.out, dir, sizeof dir);
    snprintf(config, sizeof config, "%s/config.json", dir);
    if (remove_file(r->a.out)) remove_file(config);
}

/* Options that contradict each other, and the thread count. */
static int check_args(run *r) {
    const args *a = &r->a;
    gpt_config c;
    if (!preset_config(&c, a->preset)) return 0;
    if (a->val_frac >= 1.0) {
        fprintf(stderr, "train: --val-frac %g: must be below 1\n", a->val_frac);
        return 0;
    }
    if (a->init && a->resume) {
        fprintf(stderr, "train: --init and --resume exclude each other (a checkpoint holds "
                "its weights)\n");
        return 0;
    }
    if (strcmp(a->out, a->checkpoint) == 0) {
        fprintf(stderr, "train: --out and --checkpoint must be different files\n");
        return 0;
    }
#ifdef _OPENMP
    if (a->threads) omp_set_num_threads((int)a->threads);
#else
    if (a->threads > 1)
        fprintf(stderr, "train: built without OpenMP: --threads %ld is ignored\n", a->threads);
#endif
    return 1;
}

/* A new run (no --resume) does not destroy an earlier run's files unless told to: hours of
   training are in them, and a resume hint printed earlier still points at them. */
static int spares_earlier_run(const run *r) {
    const char *paths[2] = {r->a.checkpoint, r->a.out};
    int i;
    if (r->a.resume || r->a.overwrite) return 1;
    for (i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) continue;
        fclose(f);
        fprintf(stderr, "train: %s exists (an earlier run's %s) and a new run would overwrite "
                "it.\n  To continue that run: ./train --resume %s\n  To keep it: give this "
                "run a folder of its own (config.json goes beside the model):\n    --out "
                "DIR/model.safetensors --checkpoint DIR/checkpoint.safetensors\n  To replace it: "
                "add --overwrite\n",
                paths[i], i == 0 ? "latest state" : "best model", r->a.checkpoint);
        return 0;
    }
    return 1;
}

/* The data: the splits, the loader (at its recorded position after --resume), the steps. */
static int setup_data(run *r) {
    size_t B = (size_t)r->a.batch, T = (size_t)r->a.seq, n_val;
    r->n_train = r->n_tokens - (size_t)((double)r->n_tokens * r->a.val_frac);
    n_val = r->n_tokens - r->n_train;
    if (gpt_loader_init(&r->loader, r->tokens, r->n_train, (int)B, (int)T) != GPT_OK) {
        fprintf(stderr, "train: %s: the training split has %lu tokens, fewer than one batch "
                "needs (batch x seq + 1 = %lu): use a longer text, or a smaller --batch or "
                "--seq\n", r->a.input, (unsigned long)r->n_train, (unsigned long)(B * T + 1));
        return 0;
    }
    if (r->a.val_frac > 0 && n_val < T + 1) {
        fprintf(stderr, "train: %s: the validation split (--val-frac %g) has %lu tokens, "
                "fewer than one sequence needs (seq + 1 = %lu): use a longer text, a larger "
                "--val-frac, or --val-frac 0\n", r->a.input, r->a.val_frac,
                (unsigned long)n_val, (unsigned long)(T + 1));
        return 0;
    }
    r->per_epoch = (long)gpt_loader_steps_per_epoch(&r->loader);
    if (r->a.resume) {
        if ((size_t)r->resumed_pos + B * T + 1 > r->n_train) {
            fprintf(stderr, "train: %s: loader position %ld is past the text\n", r->a.resume,
                    r->resumed_pos);
            return 0;
        }
        r->loader.pos = (size_t)r->resumed_pos;
    }
    r->total = r->a.steps;
    if (!given(r, "steps") && !r->a.resume) {
        if (r->a.epochs > (long)(BIG / (double)r->per_epoch)) {
            fprintf(stderr, "train: --epochs %ld: too many steps\n", r->a.epochs);
            return 0;
        }
        r->total = r->a.epochs * r->per_epoch;
        r->a.steps = r->total;   /* recorded, so that --resume keeps the same schedule */
    }
    return 1;
}

static void print_header(const run *r) {
    const gpt_config *c = &r->m->config;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("model: %d layers, %d heads, %d channels, block %d, vocabulary %d: %.2fM "
           "parameters%s%s\n", c->n_layer, c->n_head, c->n_embd, c->block_size, c->vocab_size,
           (double)r->m->num_params / 1e6, r->a.init ? " from " : r->a.resume ?
           " resumed from " : "", r->a.init ? r->a.init : r->a.resume ? r->a.resume : "");
    printf("data: %s, %lu tokens: %lu train, %lu validation\n", r->a.input,
           (unsigned long)r->n_tokens, (unsigned long)r->n_train,
           (unsigned long)(r->n_tokens - r->n_train));
    printf("training: batch %ld x seq %ld, %ld steps per epoch, %ld steps (from step %ld), lr "
           "%g -> %g, warmup %ld, weight decay %g, clip %g, %d threads%s\n", r->a.batch,
           r->a.seq, r->per_epoch, r->total, r->step, r->a.lr, r->a.min_lr, r->a.warmup,
           r->a.weight_decay, r->a.clip, threads,
           r->a.threads || threads < 2 ? "" : " (or 1 when that is faster)");
    long epochs = (r->total - 1) / r->per_epoch + 1;
    printf("plan: steps %ld to %ld, %ld epoch%s; ", r->step, r->total - 1, epochs,
           epochs == 1 ? "" : "s");
    if (r->n_tokens == r->n_train) printf("no validation: the best model has the lowest epoch "
                                          "loss\n");
    else if (r->a.eval_every) printf("the validation loss every %ld steps and after each "
                                     "epoch\n", r->a.eval_every);
    else printf("the validation loss after each epoch\n");
    printf("plan: best model to %s, latest state to %s (each epoch, on exit)\n", r->a.out,
           r->a.checkpoint);
}

/* Everything before the first step. Every check is done here, before anything is written.
   Returns -1 to train, else the exit status. */
static int setup(run *r, int argc, char **argv) {
    int rc = parse_args(&r->a, r->given, argc, argv);
    if (rc <= 0) return rc == 0 ? 0 : 2;
    gpt_rng_seed(&r->rng, (uint64_t)r->a.seed);
    r->best_loss = HUGE_VAL;
    if (!check_args(r) || !spares_earlier_run(r) || !choose_input(r, argv[0]) ||
        !(r->tok = load_vocab(r, argv[0])) || !load_text(r))
        return 2;
    if (r->a.resume && !read_resume(r)) return 2;
    if (!setup_data(r) || !make_model(r)) return 2;
    if (gpt_tok_vocab_size(r->tok) > r->m->config.vocab_size) {
        fprintf(stderr, "train: the vocabulary has %d tokens, the model only %d\n",
                gpt_tok_vocab_size(r->tok), r->m->config.vocab_size);
        return 2;
    }
    if (r->step >= r->total) {
        printf("%s has finished all %ld steps already\n", r->a.resume, r->total);
        return 0;
    }
    r->sched.max_lr = r->a.lr;
    r->sched.min_lr = r->a.min_lr;
    r->sched.warmup_steps = r->a.warmup;
    r->sched.total_steps = r->total;
    r->adamw = gpt_adamw_defaults();
    r->adamw.weight_decay = r->a.weight_decay;
    r->inputs = (int *)malloc((size_t)r->a.batch * (size_t)r->a.seq * sizeof(int));
    r->targets = (int *)malloc((size_t)r->a.batch * (size_t)r->a.seq * sizeof(int));
    if (!r->inputs || !r->targets) { fprintf(stderr, "train: out of memory\n"); return 1; }
    if (!writable(r->a.out) || !writable(r->a.checkpoint)) return 2;
    if (r->a.overwrite && !r->a.resume) remove_earlier_run(r);
    if (r->a.log && !(r->log = open_log(r->a.log, "step,epoch,loss,lr,norm,ms,tok_per_s",
                                        r->a.resume != NULL)))
        return 2;
    if (r->a.epoch_log && !(r->epoch_log = open_log(r->a.epoch_log,
                                                    "epoch,train_loss,val_loss,best_saved",
                                                    r->a.resume != NULL)))
        return 2;
    print_header(r);
#ifdef _OPENMP
    tuner_init(&r->tune, omp_get_max_threads());
#else
    tuner_init(&r->tune, 1);
#endif
    return -1;
}

int main(int argc, char **argv) {
    static run r;   /* zeroed */
    int rc = setup(&r, argc, argv);
    if (rc < 0) rc = train(&r);
    if (r.log) fclose(r.log);
    if (r.epoch_log) fclose(r.epoch_log);
    gpt_model_free(r.m);
    gpt_tok_free(r.tok);
    free(r.tokens);
    free(r.inputs);
    free(r.targets);
    return rc;
}
