/* tools/check_vs_torch.c - the C half of tools/check_vs_torch.py (read its docstring).

   Runs gpt.h, through its public API only, on a model and a job that the Python script
   wrote, and writes everything PyTorch is compared against:

       check_vs_torch MODEL.safetensors JOB.safetensors OUT.safetensors FINAL.safetensors
                      [FINAL_OPT.safetensors]

   MODEL  a GPT-2 checkpoint in Hugging Face's layout, loaded with gpt_load (n_head from the
          job's metadata when it is > 0, else config.json / the file's metadata).
   JOB    metadata: n_head max_batch max_seq steps clip max_lr min_lr warmup total
          weight_decay beta1 beta2 eps; I32 tensors x.<i>, y.<i> (B_i,T_i) for the batches
          (batch 0 also gives the logits, the loss and the gradients; step i trains on batch
          i) and, optionally, kv.tokens (S,Tk) for the one-token KV-cache forward; with
          metadata opt_steps > 0, F32 tensors og.<step>.<HF name>: given gradients for the
          optimizer-only check.
   OUT    logits (B0,T0,V), loss (1), grad.<HF name> (HF layout), kv.logits (S,Tk,V),
          kv.full (S,Tk,V: gpt_forward on kv.tokens, when they fit the model), train.losses,
          train.norms, train.lrs (steps); metadata: logits_no_targets_equal,
          reload_equal, num_params.
   FINAL  gpt_save(optimizer=1) after the training steps (parameters and AdamW moments).
   FINAL_OPT  gpt_save(optimizer=1) of a fresh copy of MODEL after opt_steps steps of
          gpt_clip_grad_norm + gpt_schedule_lr + gpt_adamw_step on the job's given gradients
          (written into model->grad_memory); OUT then also holds opt.norms and opt.lrs.

   Build (see the Python script, which does it for you):
       cc -O3 -march=native -mtune=generic -ffp-contract=fast -fno-math-errno -std=c99 \
          -Wall -Wextra -pedantic -fopenmp -I. tools/check_vs_torch.c -o /tmp/check_vs_torch -lm */
#define GPT_IMPLEMENTATION
#include "gpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what) {
    fprintf(stderr, "check_vs_torch: %s: %s\n", what, gpt_last_error());
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "check_vs_torch: out of memory (%lu bytes)\n", (unsigned long)n);
        exit(2);
    }
    return p;
}

static double meta_num(gpt_st *st, const char *key, double dflt) {
    const char *v = gpt_st_meta(st, key);
    return v ? strtod(v, NULL) : dflt;
}

/* An I32 (rows, cols) tensor of the job, or NULL when absent. */
static int *read_tokens(gpt_st *st, const char *name, int *rows, int *cols) {
    const gpt_st_tensor *t = gpt_st_find(st, name);
    int *buf;
    if (!t) return NULL;
    if (t->ndim != 2) {
        fprintf(stderr, "check_vs_torch: %s must be 2-D\n", name);
        exit(2);
    }
    *rows = (int)t->shape[0];
    *cols = (int)t->shape[1];
    buf = (int *)xmalloc(sizeof(int) * (size_t)t->numel);
    if (gpt_st_read_int(st, name, buf, (size_t)t->numel) != GPT_OK) die(name);
    return buf;
}

/* Output entries and the names they point to. */
#define MAX_OUT 4096
static gpt_st_entry out_e[MAX_OUT];
static char out_names[MAX_OUT][128];
static int n_out;

static void add_out(const char *name, const float *data, int ndim, const uint64_t *shape,
                    int transposed) {
    gpt_st_entry *e = &out_e[n_out];
    int d;
    if (n_out >= MAX_OUT) {
        fprintf(stderr, "check_vs_torch: too many outputs\n");
        exit(2);
    }
    snprintf(out_names[n_out], sizeof out_names[n_out], "%s", name);
    e->name = out_names[n_out];
    e->dtype = GPT_DTYPE_F32;
    e->ndim = ndim;
    for (d = 0; d < ndim; d++) e->shape[d] = shape[d];
    e->data = data;
    e->transposed = transposed;
    n_out++;
}

static float *copy_floats(const float *src, size_t n) {
    float *p = (float *)xmalloc(n * sizeof(float));
    memcpy(p, src, n * sizeof(float));
    return p;
}

int main(int argc, char **argv) {
    gpt_st *job = NULL;
    gpt_load_options lo = gpt_load_options_defaults();
    gpt_model *m = NULL, *m2 = NULL, *m3 = NULL;
    gpt_adamw adamw = gpt_adamw_defaults();
    gpt_schedule sched;
    gpt_save_options so = gpt_save_options_defaults();
    int steps, opt_steps, n_batches, i, l, V, S = 0, Tk = 0, *kv_tokens;
    int **xs, **ys, *Bs, *Ts;
    float clip, loss = 0.0f, *losses, *norms, *lrs;
    char name[160], nt_equal[8], reload_equal[8], nparams[32];
    const char *meta_list[8];
    uint64_t shape[3];

    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s MODEL JOB OUT FINAL [FINAL_OPT]\n", argv[0]);
        return 2;
    }
    if (gpt_st_open(&job, argv[2], NULL) != GPT_OK) die(argv[2]);
    steps = (int)meta_num(job, "steps", 0);
    n_batches = steps > 1 ? steps : 1;
    xs = (int **)xmalloc(sizeof(int *) * n_batches);
    ys = (int **)xmalloc(sizeof(int *) * n_batches);
    Bs = (int *)xmalloc(sizeof(int) * n_batches);
    Ts = (int *)xmalloc(sizeof(int) * n_batches);
    for (i = 0; i < n_batches; i++) {
        int b2, t2;
        snprintf(name, sizeof name, "x.%d", i);
        if (!(xs[i] = read_tokens(job, name, &Bs[i], &Ts[i]))) die(name);
        snprintf(name, sizeof name, "y.%d", i);
        if (!(ys[i] = read_tokens(job, name, &b2, &t2)) || b2 != Bs[i] || t2 != Ts[i]) die(name);
    }
    kv_tokens = read_tokens(job, "kv.tokens", &S, &Tk);

    lo.model.max_batch = (int)meta_num(job, "max_batch", 1);
    lo.model.max_seq = (int)meta_num(job, "max_seq", 1);
    lo.model.training = 1;
    lo.model.kv_cache = 1;
    lo.n_head = (int)meta_num(job, "n_head", 0);
    if (gpt_load(&m, argv[1], &lo) != GPT_OK) die(argv[1]);
    V = m->config.vocab_size;

    /* 1. forward with targets on batch 0: logits and loss; then the gradients */
    if (gpt_forward(m, xs[0], ys[0], Bs[0], Ts[0], &loss) != GPT_OK) die("forward");
    {
        size_t n = (size_t)Bs[0] * Ts[0] * V;
        float *logits = copy_floats(m->acts.logits, n);
        float *loss_copy = copy_floats(&loss, 1);
        shape[0] = (uint64_t)Bs[0]; shape[1] = (uint64_t)Ts[0]; shape[2] = (uint64_t)V;
        add_out("logits", logits, 3, shape, 0);
        shape[0] = 1;
        add_out("loss", loss_copy, 1, shape, 0);
        gpt_zero_grad(m);
        if (gpt_backward(m) != GPT_OK) die("backward");
        {
            float *grads = copy_floats(m->grad_memory, m->num_params);
            for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
                const gpt_tensor *t = &m->tensors[i];
                size_t off = (size_t)(t->data - m->param_memory);
                for (l = 0; l < t->layers; l++) {
                    int nd;
                    if (t->per_block) snprintf(name, sizeof name, "grad.h.%d.%s", l, t->name);
                    else snprintf(name, sizeof name, "grad.%s", t->name);
                    nd = t->cols == 0 ? 1 : 2;   /* HF shape: Conv1D weights are (cols, rows) */
                    shape[0] = (uint64_t)(t->conv1d ? t->cols : t->rows);
                    shape[1] = (uint64_t)(t->conv1d ? t->rows : t->cols);
                    add_out(name, grads + off + (size_t)l * t->size, nd, shape, t->conv1d);
                }
            }
        }
        /* the same forward without targets must give the same logits, bit for bit */
        if (gpt_forward(m, xs[0], NULL, Bs[0], Ts[0], NULL) != GPT_OK) die("forward (no targets)");
        strcpy(nt_equal, memcmp(logits, m->acts.logits, n * sizeof(float)) == 0 ? "1" : "0");
    }

    /* 2. the one-token KV-cache forward, sequence after sequence (each restarts at pos 0) */
    if (kv_tokens) {
        float *kvl = (float *)xmalloc(sizeof(float) * (size_t)S * Tk * V);
        int s, pos;
        for (s = 0; s < S; s++)
            for (pos = 0; pos < Tk; pos++) {
                float *lg = NULL;
                if (gpt_forward_token(m, kv_tokens[s * Tk + pos], pos, &lg) != GPT_OK)
                    die("forward_token");
                memcpy(kvl + ((size_t)s * Tk + pos) * V, lg, sizeof(float) * V);
            }
        shape[0] = (uint64_t)S; shape[1] = (uint64_t)Tk; shape[2] = (uint64_t)V;
        add_out("kv.logits", kvl, 3, shape, 0);
        if (S <= m->options.max_batch && Tk <= m->options.max_seq) {
            if (gpt_forward(m, kv_tokens, NULL, S, Tk, NULL) != GPT_OK) die("forward (kv)");
            add_out("kv.full", copy_floats(m->acts.logits, (size_t)S * Tk * V), 3, shape, 0);
        }
    }

    /* 3. training steps: clip, cosine schedule, AdamW */
    clip = (float)meta_num(job, "clip", 1.0);
    sched.max_lr = meta_num(job, "max_lr", 6e-4);
    sched.min_lr = meta_num(job, "min_lr", 6e-5);
    sched.warmup_steps = (long)meta_num(job, "warmup", 0);
    sched.total_steps = (long)meta_num(job, "total", steps);
    adamw.weight_decay = meta_num(job, "weight_decay", 0.1);
    adamw.beta1 = meta_num(job, "beta1", 0.9);
    adamw.beta2 = meta_num(job, "beta2", 0.95);
    adamw.eps = meta_num(job, "eps", 1e-8);
    losses = (float *)xmalloc(sizeof(float) * (steps + 1));
    norms = (float *)xmalloc(sizeof(float) * (steps + 1));
    lrs = (float *)xmalloc(sizeof(float) * (steps + 1));
    for (i = 0; i < steps; i++) {
        if (gpt_forward(m, xs[i], ys[i], Bs[i], Ts[i], &losses[i]) != GPT_OK) die("train forward");
        gpt_zero_grad(m);
        if (gpt_backward(m) != GPT_OK) die("train backward");
        if (gpt_clip_grad_norm(m, clip, &norms[i]) != GPT_OK) die("clip");
        double lr = gpt_schedule_lr(&sched, i);
        lrs[i] = (float)lr;   /* written out as F32; the step uses the double */
        if (gpt_adamw_step(m, &adamw, lr) != GPT_OK) die("adamw");
    }
    if (steps > 0) {
        shape[0] = (uint64_t)steps;
        add_out("train.losses", losses, 1, shape, 0);
        add_out("train.norms", norms, 1, shape, 0);
        add_out("train.lrs", lrs, 1, shape, 0);
    }

    /* 4. save parameters and moments in HF layout; load them back: the same bits */
    so.optimizer = 1;
    if (gpt_save(m, argv[4], &so) != GPT_OK) die("save");
    {
        gpt_load_options lo2 = gpt_load_options_defaults();
        int same;
        lo2.model.max_batch = 1;
        lo2.model.max_seq = 1;
        lo2.model.training = 1;
        lo2.optimizer = 1;
        if (gpt_load(&m2, argv[4], &lo2) != GPT_OK) die("reload");
        same = m2->num_params == m->num_params && m2->adam_step == m->adam_step &&
               m2->config.n_head == m->config.n_head &&
               memcmp(m2->param_memory, m->param_memory, m->num_params * sizeof(float)) == 0 &&
               memcmp(m2->adam_m, m->adam_m, m->num_params * sizeof(float)) == 0 &&
               memcmp(m2->adam_v, m->adam_v, m->num_params * sizeof(float)) == 0;
        strcpy(reload_equal, same ? "1" : "0");
        gpt_model_free(m2);
    }
    /* 5. the optimizer alone: a fresh copy of the model, the gradients of each step given by
       the job (og.<step>.<HF name>), then clip, schedule and AdamW as in 3 */
    opt_steps = (int)meta_num(job, "opt_steps", 0);
    if (argc == 6 && opt_steps > 0) {
        gpt_load_options lo3 = lo;
        float *onorms = (float *)xmalloc(sizeof(float) * opt_steps);
        float *olrs = (float *)xmalloc(sizeof(float) * opt_steps);
        lo3.model.max_batch = 1;
        lo3.model.max_seq = 1;
        lo3.model.kv_cache = 0;
        if (gpt_load(&m3, argv[1], &lo3) != GPT_OK) die("load (optimizer check)");
        for (i = 0; i < opt_steps; i++) {
            int p;
            gpt_zero_grad(m3);   /* also resets grad_scale, the last clip's pending factor */
            for (p = 0; p < GPT_NUM_PARAM_TENSORS; p++) {
                const gpt_tensor *t = &m3->tensors[p];
                float *g = m3->grad_memory + (t->data - m3->param_memory);
                for (l = 0; l < t->layers; l++) {
                    if (t->per_block) snprintf(name, sizeof name, "og.%d.h.%d.%s", i, l, t->name);
                    else snprintf(name, sizeof name, "og.%d.%s", i, t->name);
                    if (gpt_st_read_param(job, name, t, g + (size_t)l * t->size) != GPT_OK)
                        die(name);
                }
            }
            if (gpt_clip_grad_norm(m3, clip, &onorms[i]) != GPT_OK) die("clip (optimizer check)");
            double lr = gpt_schedule_lr(&sched, i);
            olrs[i] = (float)lr;
            if (gpt_adamw_step(m3, &adamw, lr) != GPT_OK) die("adamw (optimizer check)");
        }
        shape[0] = (uint64_t)opt_steps;
        add_out("opt.norms", onorms, 1, shape, 0);
        add_out("opt.lrs", olrs, 1, shape, 0);
        if (gpt_save(m3, argv[5], &so) != GPT_OK) die("save (optimizer check)");
        gpt_model_free(m3);
    }

    snprintf(nparams, sizeof nparams, "%lu", (unsigned long)m->num_params);
    meta_list[0] = "logits_no_targets_equal"; meta_list[1] = nt_equal;
    meta_list[2] = "reload_equal"; meta_list[3] = reload_equal;
    meta_list[4] = "num_params"; meta_list[5] = nparams;
    meta_list[6] = NULL;
    if (gpt_st_write(argv[3], out_e, n_out, meta_list, NULL) != GPT_OK) die("write output");
    gpt_model_free(m);
    gpt_st_close(job);
    return 0;
}
