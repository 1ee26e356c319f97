/* tests/test_golden.c - gpt.h against PyTorch on the same weights and tokens.
   The fixture tests/fixtures/golden_core.safetensors comes from tests/make_fixtures.py (read
   its docstring to regenerate it): a small GPT-2 with random weights, biases and layernorms,
   its logits, loss and every gradient for one batch, then the losses, learning rates,
   gradient norms and final weights of 10 AdamW steps with warmup, cosine decay and clipping
   that clips. Checked here: logits and loss to ~1e-5, gradients to ~1e-4 relative, all ten
   steps, and the final weights. */
#define GPT_IMPLEMENTATION
#define GPT_STATIC
#include "gpt.h"
#include "test.h"
#include <stdlib.h>

#define FIXTURE "tests/fixtures/golden_core.safetensors"

static double meta(gpt_st *st, const char *key) {
    const char *v = gpt_st_meta(st, key);
    CHECK(v != NULL, "fixture metadata lacks %s", key);
    return v ? strtod(v, NULL) : 0.0;
}

/* Reads every parameter stored as prefix + its Hugging Face name into dst (num_params),
   in gpt.h's layout. */
static int read_params(gpt_st *st, const gpt_model *m, const char *prefix, float *dst) {
    int i, l;
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m->tensors[i];
        float *d = dst + (t->data - m->param_memory);
        for (l = 0; l < t->layers; l++) {
            char name[128];
            int err;
            if (t->per_block) snprintf(name, sizeof name, "%sh.%d.%s", prefix, l, t->name);
            else snprintf(name, sizeof name, "%s%s", prefix, t->name);
            err = gpt_st_read_param(st, name, t, d + (size_t)l * t->size);
            if (err != GPT_OK) {
                printf("reading %s: %s\n", name, gpt_last_error());
                return err;
            }
        }
    }
    return GPT_OK;
}

/* Per tensor: the largest difference, relative to the largest reference value. */
static void compare_params(const gpt_model *m, const float *got, const float *want,
                           double tol, const char *what) {
    int i;
    for (i = 0; i < GPT_NUM_PARAM_TENSORS; i++) {
        const gpt_tensor *t = &m->tensors[i];
        size_t off = (size_t)(t->data - m->param_memory), n = t->size * t->layers, j;
        double maxref = 0, maxdiff = 0;
        for (j = 0; j < n; j++) {
            double d = fabs((double)got[off + j] - want[off + j]);
            if (fabs(want[off + j]) > maxref) maxref = fabs(want[off + j]);
            if (!(d <= maxdiff)) maxdiff = d;
        }
        CHECK(maxdiff <= tol * maxref + 1e-9, "%s %s: max difference %.3g, largest value %.3g",
              what, t->name, maxdiff, maxref);
    }
}

int main(void) {
    gpt_st *st = NULL;
    gpt_config cfg;
    gpt_model_options opt = gpt_model_options_defaults();
    gpt_model *m = NULL;
    gpt_adamw adamw = gpt_adamw_defaults();
    gpt_schedule sched;
    int B, T, V, *tokens, *targets, step, steps;
    float loss, ref_loss, *ref_logits, *ref, *initial, ref_losses[16], ref_lrs[16], ref_norms[16];
    double clip;

    if (gpt_st_open(&st, FIXTURE, NULL) != GPT_OK) {
        printf("FAIL cannot open %s: %s\n", FIXTURE, gpt_last_error());
        return 1;
    }
    cfg.n_layer = (int)meta(st, "n_layer");
    cfg.n_head = (int)meta(st, "n_head");
    cfg.n_embd = (int)meta(st, "n_embd");
    cfg.block_size = (int)meta(st, "block_size");
    cfg.vocab_size = V = (int)meta(st, "vocab_size");
    B = (int)meta(st, "B");
    T = (int)meta(st, "T");
    steps = (int)meta(st, "steps");
    opt.max_batch = B;
    opt.max_seq = T;
    CHECK(steps <= 16, "at most 16 steps in the fixture");
    CHECK(gpt_model_create(&m, &cfg, &opt) == GPT_OK, "create: %s", gpt_last_error());
    tokens = (int *)malloc(sizeof(int) * B * T);
    targets = (int *)malloc(sizeof(int) * B * T);
    ref_logits = (float *)malloc(sizeof(float) * B * T * V);
    ref = (float *)malloc(sizeof(float) * m->num_params);
    initial = (float *)malloc(sizeof(float) * m->num_params);
    CHECK(read_params(st, m, "", initial) == GPT_OK, "initial weights");
    CHECK(gpt_st_read_int(st, "tokens", tokens, (size_t)B * T) == GPT_OK, "tokens");
    CHECK(gpt_st_read_int(st, "targets", targets, (size_t)B * T) == GPT_OK, "targets");
    CHECK(gpt_st_read_f32(st, "logits", ref_logits, (size_t)B * T * V) == GPT_OK, "logits");
    CHECK(gpt_st_read_f32(st, "loss", &ref_loss, 1) == GPT_OK, "loss");

    /* forward: logits and loss */
    memcpy(m->param_memory, initial, sizeof(float) * m->num_params);
    CHECK(gpt_forward(m, tokens, targets, B, T, &loss) == GPT_OK, "forward");
    CHECK(test_max_rel(m->acts.logits, ref_logits, (size_t)B * T * V, 1e-2) < 1e-4,
          "logits differ from PyTorch: %g", test_max_rel(m->acts.logits, ref_logits,
                                                       (size_t)B * T * V, 1e-2));
    CHECK(test_close(loss, ref_loss, 0, 1e-5), "loss %.9g, PyTorch %.9g", loss, ref_loss);

    /* backward: every gradient */
    gpt_zero_grad(m);
    CHECK(gpt_backward(m) == GPT_OK, "backward");
    CHECK(read_params(st, m, "grad.", ref) == GPT_OK, "gradients");
    compare_params(m, m->grad_memory, ref, 1e-4, "gradient");

    /* ten training steps on the same batch */
    sched.max_lr = meta(st, "max_lr");
    sched.min_lr = meta(st, "min_lr");
    sched.warmup_steps = (long)meta(st, "warmup");
    sched.total_steps = steps;
    adamw.weight_decay = meta(st, "weight_decay");
    adamw.beta1 = meta(st, "beta1");
    adamw.beta2 = meta(st, "beta2");
    adamw.eps = meta(st, "eps");
    clip = meta(st, "clip");
    CHECK(gpt_st_read_f32(st, "train.losses", ref_losses, (size_t)steps) == GPT_OK, "losses");
    CHECK(gpt_st_read_f32(st, "train.lrs", ref_lrs, (size_t)steps) == GPT_OK, "lrs");
    CHECK(gpt_st_read_f32(st, "train.norms", ref_norms, (size_t)steps) == GPT_OK, "norms");
    memcpy(m->param_memory, initial, sizeof(float) * m->num_params);
    for (step = 0; step < steps; step++) {
        float norm = -1.0f;   /* (-1: a failed clip fails the checks below too) */
        double lr;
        gpt_forward(m, tokens, targets, B, T, &loss);
        gpt_zero_grad(m);
        gpt_backward(m);
        CHECK(gpt_clip_grad_norm(m, (float)clip, &norm) == GPT_OK, "clip: %s", gpt_last_error());
        lr = gpt_schedule_lr(&sched, step);
        gpt_adamw_step(m, &adamw, lr);
        CHECK(test_close(loss, ref_losses[step], 0, 1e-5), "step %d loss %.9g, PyTorch %.9g",
              step, loss, ref_losses[step]);
        CHECK(test_close(lr, ref_lrs[step], 0, 1e-6), "step %d lr %.9g, PyTorch %.9g", step,
              lr, ref_lrs[step]);
        CHECK(test_close(norm, ref_norms[step], 0, 1e-4), "step %d norm %.9g, PyTorch %.9g",
              step, norm, ref_norms[step]);
        CHECK(norm > clip, "step %d: the fixture's clip value should clip", step);
    }
    CHECK(read_params(st, m, "final.", ref) == GPT_OK, "final weights");
    compare_params(m, m->param_memory, ref, 1e-4, "final weight");
    {   /* and elementwise: every final weight within 2e-6 of PyTorch's */
        size_t j, bad = 0;
        for (j = 0; j < m->num_params; j++)
            if (fabs((double)m->param_memory[j] - ref[j]) > 2e-6) bad++;
        CHECK(bad == 0, "%lu final weights differ from PyTorch by more than 2e-6",
              (unsigned long)bad);
    }
    gpt_st_close(st);
    gpt_model_free(m);
    free(tokens); free(targets); free(ref_logits); free(ref); free(initial);
    return test_report("golden");
}
