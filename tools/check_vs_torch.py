#!/usr/bin/python3
"""Randomized differential check of gpt.h against PyTorch (float32, with float64 as the truth).

USAGE (Debian's PyTorch: /usr/bin/python3 has torch and numpy; run from anywhere):

    /usr/bin/python3 tools/check_vs_torch.py --quick          # 30 configurations, ~1.5 minutes
    /usr/bin/python3 tools/check_vs_torch.py                  # 22 pinned + 100 random, 5-12 min
    /usr/bin/python3 tools/check_vs_torch.py --n 300 --seed 7 # more, another random stream
    /usr/bin/python3 tools/check_vs_torch.py --config '{...}' # one configuration, as printed
                                                              # ("reproduce:") for a failure
  --no-threads  skip the OMP_NUM_THREADS=1 and no-OpenMP reruns (bit-for-bit checks)
  --plain       also build with -DGPT_PLAIN_KERNELS and compare that against PyTorch
  --keep DIR    keep every configuration's files (model, job, outputs) under DIR
  --verbose     a line per quantity per configuration, and every above-tolerance instance
Exit status 0 when nothing is SUSPECT, every bit-for-bit check holds and no run failed.

HOW. The C driver tools/check_vs_torch.c (gpt.h's public API only) is built into /tmp, once per
content of gpt.h + driver (the two builds run in parallel), with the project's flags
    cc -O3 -march=native -mtune=generic -ffp-contract=fast -fno-math-errno -std=c99
       -Wall -Wextra -pedantic [-fopenmp] -I. tools/check_vs_torch.c -lm
For each configuration the script writes (in /dev/shm) a random GPT-2 checkpoint in Hugging
Face's layout and a job, runs the driver (OpenMP build, OMP_NUM_THREADS=2) and compares with
the PyTorch reference model of tests/make_fixtures.py, imported from there (its forward, loss,
lr schedule, safetensors helpers; AdamW(foreach=False) with decay on the 2-D tensors, as its
train()). Quantities (each per tensor where it is a tensor):

  logits, loss            gpt_forward with targets on batch 0 (B,T)
  grad.<tensor>           gpt_backward: every parameter gradient (layers pooled per name)
  kv.logits               gpt_forward_token from pos 0 (S sequences, up to block_size long)
                          vs PyTorch's full forward; kv.self: vs gpt.h's own gpt_forward
  train.loss/norm/lr      `steps` steps of forward, backward, gpt_clip_grad_norm (none, 1.0,
                          one that bites, huge), gpt_schedule_lr (warmup + cosine), gpt_adamw_step
                          (random lr, betas, eps, weight decay); each step a new batch of a
                          new (B,T) within the model's maxima
  final.<tensor>          the parameters after those steps (from gpt_save's file); adam_m,
                          adam_v: the AdamW moments from the same file
  opt.*                   the optimizer alone: a fresh model, given random gradients (random
                          scales 1e-6..1, exact zeros, 1e-20s) written into grad_memory, then
                          clip + lr + AdamW for steps+1 steps: opt.final, opt.adam_m/v, opt.norm
  bit-for-bit             OMP_NUM_THREADS=1 and the no-OpenMP build give identical files;
                          forward without targets gives the same logits; gpt_save + gpt_load
                          give back the same parameters, moments and step

CONFIGURATIONS. Pinned (pinned_configs; --quick keeps 14 of them): C=36/3 heads, 40/5, 40/2,
64/4, 72/6, 100/4, 768/12 with 1 layer (n_head from the GPT-2 family default), V=50257 with
C=16 and 24, V=1 (loss 0), C=1, HS=1 with 5 heads, block 1, B*T = 1 (matrix-vector path),
23/24/25 (around the fast matmul's 24-row tile), block 1024 run to its last position, B*T=600
(the matmuls' cache blocking splits the sums). Random (random_config): n_layer 1-3, n_embd 1
to 128 (multiples of 24 and not, odd ones) with n_head 1-6 dividing it, V from 1 to 1023 (and
50257 under C <= 24), block 1-256, B 1-5, T = 1, block_size or anything between, model maxima
(max_batch, max_seq) above the B,T used (max_seq sometimes above block_size: gpt_load lowers
it). Weight scales: GPT-2's init, the golden test's, large, huge (logits in the hundreds) and
per-tensor random. Tokens and targets always include 0 and V-1. Files: plain names sorted, or
HF-like ("transformer." prefix, attn.bias/masked_bias buffers, tied lm_head.weight, state_dict
order), F32, F16, BF16 or mixed per tensor (PyTorch then uses the values as read back); n_head
from the caller, config.json beside the file, or the file's metadata.

ERRORS. abs = max |gpt.h - torch32|; rel = abs / scale, the scale being max |reference| of the
tensor (for final.* and opt.final.*: the largest update max |final - initial|, counting only
what exceeds 2 float32 ulps of the value). gpt-f64 and t32-f64: the same for gpt.h and for
torch32 against float64 PyTorch. An instance above its tolerance (TOL) is SUSPECT when gpt.h
is clearly further from float64 than torch32 (max and rms both more than 4x) and either torch32
is within a tenth of the tolerance (a well-conditioned quantity) or gpt.h is more than 20x
further; 4-20x on a float32-sensitive quantity is listed as WATCH (at scale "huge" both land
anywhere from 1e-5 to 1e-2, gpt.h ahead as often as behind); the rest is float32 rounding.
An instance where torch32 itself is beyond the tolerance from float64 is "ill-conditioned"
and tabulated apart (column ill): e.g. C=1, where torch's fused layer_norm
leaves rounding noise where the exact result is 0 (gpt.h gives the exact 0). Configurations
with C <= 2 are degenerate (LayerNorm of 2 channels is +-1: its backward is all cancellation,
and every float32 gradient below it is noise, torch's as much as gpt.h's): their SUSPECT
instances are listed apart and not counted.
Notes: torch 1.13's clip_grad_norm_ sums in float32; gpt.h sums in double. So the f32
reference trains with a double-summed norm (what gpt.h implements) for train.*/final.*/opt.*,
train.norm compares with that, and *_torch rows compare with torch's own clip_grad_norm_ (a
second trajectory when the clip bites). final.* leaves out the elements where Adam is
ill-conditioned (see ref_train: a gradient below 100 eps or below 1e-3 of its tensor's largest
at some step turns float32 rounding into an update error of a good fraction of lr); the
optimizer arithmetic itself is checked exactly by opt.final.*.
Sensitivity (checked on mutated copies of gpt.h): LayerNorm eps 1e-5 -> 1.2e-5, GELU's 0.044715
-> 0.0448, Adam's bias correction off by 1e-4 from step 3, one KV-cache value off by 0.03 at
position 30: each gives SUSPECT lines and exit status 1.
"""

import argparse
import hashlib
import importlib.util
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in tests/

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(REPO, "tests", "make_fixtures.py"))
mf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mf)   # the reference model: mf.forward, mf.loss_of, mf.lr_at, ...

CFLAGS = ["-O3", "-march=native", "-mtune=generic", "-ffp-contract=fast", "-fno-math-errno",
          "-std=c99", "-Wall", "-Wextra", "-pedantic"]

# ---- building the driver ---------------------------------------------------------------------

def build_all(variants):
    """{variant: path of the driver} for 'omp', 'noomp' or 'plain' (OpenMP + plain kernels),
    built in parallel, each rebuilt only when gpt.h or the driver changed."""
    src = os.path.join(REPO, "tools", "check_vs_torch.c")
    base = hashlib.sha256()
    for f in (src, os.path.join(REPO, "gpt.h")):
        with open(f, "rb") as fh:
            base.update(fh.read())
    exes, jobs = {}, []
    for variant in variants:
        flags = list(CFLAGS)
        if variant in ("omp", "plain"):
            flags.append("-fopenmp")
        if variant == "plain":
            flags.append("-DGPT_PLAIN_KERNELS")
        h = base.copy()
        h.update(" ".join(flags).encode())
        exe = os.path.join(tempfile.gettempdir(),
                           "check_vs_torch_%s_%s" % (variant, h.hexdigest()[:12]))
        exes[variant] = exe
        if not os.path.exists(exe):
            cmd = ["cc"] + flags + ["-I.", "tools/check_vs_torch.c", "-o", exe + ".part", "-lm"]
            jobs.append((exe, cmd, subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, text=True)))
    for exe, cmd, proc in jobs:
        out = proc.communicate()[0]
        if proc.returncode != 0 or out.strip():
            print(" ".join(cmd))
            print(out)
            if proc.returncode != 0:
                sys.exit("build failed")
            print("WARNING: the build printed warnings (above)")
        os.replace(exe + ".part", exe)
    return exes

# ---- safetensors ----------------------------------------------------------------------------

def write_st(path, items, metadata, sort=True):
    """items: [(name, tensor, dtype)]; in the given order unless sort."""
    mf.write_safetensors(path, {name: (t, dtype) for name, t, dtype in items}, metadata,
                         sort=sort)

# ---- configurations -------------------------------------------------------------------------

WIDTHS = [(1, [1]), (2, [1, 2]), (3, [1, 3]), (5, [1, 5]), (8, [1, 2, 4]), (9, [3]),
          (12, [1, 2, 3, 4, 6]), (15, [3, 5]), (16, [2, 4]), (20, [4, 5]), (24, [1, 2, 3, 4, 6]),
          (25, [5]), (30, [2, 3, 5, 6]), (32, [2, 4]), (36, [3, 4, 6]), (40, [2, 4, 5]),
          (48, [3, 4, 6]), (50, [2, 5]), (64, [1, 2, 4]), (72, [3, 4, 6]), (96, [4, 6]),
          (100, [4, 5]), (120, [5, 6]), (128, [4])]
VOCABS = [1, 2, 5, 7, 31, 97, 101, 255, 256, 257, 1000, 1023]
BLOCKS = [1, 2, 3, 5, 8, 13, 16, 24, 25, 31, 32, 48, 64]
SCALES = ["gpt2", "golden", "large", "mixed", "huge"]
LAYOUTS = ["plain", "hf", "f16", "bf16", "mixed_dtype"]


def pick_hp(rng, steps):
    return dict(max_lr=float(10 ** rng.uniform(-4, -2)),
                min_lr_frac=float(rng.choice([0.0, 0.1, 0.5])),
                warmup=int(rng.integers(0, steps + 2)),
                total=int(steps + rng.integers(0, 4)),
                weight_decay=float(rng.choice([0.0, 0.1, 0.5])),
                betas=[[0.9, 0.95], [0.9, 0.999], [0.8, 0.99]][int(rng.integers(0, 3))],
                eps=float(rng.choice([1e-8, 1e-6])),
                clip=str(rng.choice(["none", "bite", "1.0", "huge"])))


def random_config(rng, idx, quick):
    L = int(rng.integers(1, 4))
    C, heads = WIDTHS[int(rng.integers(0, len(WIDTHS)))]
    NH = int(rng.choice(heads))
    V = int(rng.choice(VOCABS))
    if C <= 24 and rng.random() < 0.15:
        V = 50257   # GPT-2's vocabulary under a tiny model
    block = int(rng.choice(BLOCKS))
    if rng.random() < 0.1:
        block = int(rng.choice([100, 128, 256]))
    B = int(rng.integers(1, 6))
    r = rng.random()
    T = 1 if r < 0.15 else block if r < 0.4 else int(rng.integers(1, block + 1))
    if rng.random() < 0.2:   # B*T right around the 24-row tile of the fast matmul
        n = int(rng.choice([23, 24, 25, 47, 48, 49]))
        B = next((b for b in range(1, 6) if n % b == 0 and n // b <= block), B)
        T = min(block, max(1, n // B))
    # keep the attention activations modest: L * maxB * NH * maxT^2
    while L * B * NH * T * T > 4_000_000 and T > 1:
        T //= 2
    maxB = B + int(rng.integers(0, 3))
    maxT = int(rng.integers(T, block + 1)) if rng.random() < 0.6 else T
    if rng.random() < 0.1:
        maxT = block + 5   # above block_size: gpt_load lowers it
    while L * maxB * NH * min(maxT, block) ** 2 > 6_000_000 and maxT > T:
        maxT = max(T, maxT // 2)
    steps = int(rng.integers(1, 4 if quick else 6))
    S = int(rng.integers(1, 4))
    Tk = block if rng.random() < 0.5 else int(rng.integers(1, block + 1))
    return dict(id="r%d" % idx, seed=int(rng.integers(0, 2 ** 31)), L=L, NH=NH, C=C, V=V,
                block=block, B=B, T=T, maxB=maxB, maxT=maxT, steps=steps, S=S, Tk=Tk,
                scale=str(rng.choice(SCALES)), layout=str(rng.choice(LAYOUTS)),
                nhead=str(rng.choice(["option", "config", "meta"])), hp=pick_hp(rng, steps))


def pinned_configs(rng, quick):
    """The shapes the brief names, always run."""
    out = []

    def add(**kw):
        steps = kw.pop("steps", 3)
        c = dict(id="p%d" % len(out), seed=1000 + len(out), L=1, NH=1, C=16, V=97, block=16,
                 B=2, T=8, maxB=None, maxT=None, steps=steps, S=2, Tk=None, scale="golden",
                 layout="plain", nhead="option", hp=pick_hp(rng, steps))
        c.update(kw)
        c["maxB"] = c["maxB"] or c["B"]
        c["maxT"] = c["maxT"] or c["T"]
        c["Tk"] = c["Tk"] or c["block"]
        out.append(c)

    add(L=2, NH=3, C=36, V=97, block=32, B=3, T=32, scale="golden")
    add(L=3, NH=3, C=36, V=5, block=12, B=5, T=12, scale="large")
    add(L=2, NH=5, C=40, V=1000, block=20, B=2, T=13, maxT=20, scale="mixed", layout="hf",
        nhead="config")
    add(L=2, NH=2, C=40, V=101, block=24, B=1, T=24, scale="large", layout="f16")
    add(L=2, NH=4, C=64, V=257, block=64, B=4, T=64, scale="gpt2")
    add(L=3, NH=6, C=72, V=97, block=30, B=2, T=30, scale="large", layout="bf16")
    add(L=2, NH=4, C=100, V=1023, block=25, B=3, T=25, scale="mixed", nhead="meta")
    add(L=1, NH=12, C=768, V=1000, block=32, B=2, T=16, maxT=32, scale="golden", layout="hf",
        nhead="family", S=1, Tk=32, steps=2)
    add(L=1, NH=12, C=768, V=1000, block=8, B=1, T=1, scale="large", nhead="family", S=1,
        steps=2)
    add(L=2, NH=2, C=16, V=50257, block=16, B=2, T=16, scale="golden", S=1, Tk=8, steps=2)
    add(L=1, NH=3, C=24, V=50257, block=32, B=1, T=24, scale="large", layout="hf",
        nhead="config", S=1, Tk=4, steps=2)
    add(L=1, NH=1, C=8, V=1, block=4, B=2, T=4, scale="large")            # V = 1: loss 0
    add(L=1, NH=1, C=1, V=7, block=5, B=3, T=5, scale="large")            # C = 1, HS = 1
    add(L=2, NH=5, C=5, V=2, block=3, B=5, T=3, scale="mixed")            # HS = 1, 5 heads
    add(L=1, NH=2, C=50, V=31, block=1, B=5, T=1, scale="large")          # block 1
    add(L=1, NH=1, C=12, V=97, block=1, B=1, T=1, scale="golden")         # N = 1 (mat-vec)
    add(L=2, NH=3, C=30, V=255, block=25, B=1, T=24, maxB=3, maxT=25)     # N = 24
    add(L=2, NH=3, C=30, V=255, block=25, B=1, T=25, scale="large")       # N = 25
    add(L=2, NH=3, C=30, V=255, block=25, B=1, T=23, scale="mixed")       # N = 23
    add(L=1, NH=2, C=20, V=97, block=1024, B=1, T=64, maxT=1024, S=1, Tk=1024, steps=2,
        scale="large")                                                    # the full context
    add(L=1, NH=4, C=128, V=256, block=256, B=2, T=128, maxT=256, S=1, Tk=256, steps=2,
        scale="golden", layout="mixed_dtype")
    add(L=1, NH=4, C=128, V=97, block=256, B=3, T=200, S=1, Tk=200, steps=2,
        scale="large")            # B*T = 600: the matmuls' cache blocking splits every sum
    if quick:
        keep = {"p0", "p2", "p3", "p5", "p6", "p7", "p9", "p11", "p12", "p13", "p14", "p15",
                "p16", "p19"}
        out = [c for c in out if c["id"] in keep]
        for c in out:
            if c["C"] >= 768:   # the 7M-parameter model: one step is enough here
                c["steps"] = 1
    return out

# ---- weights and jobs -----------------------------------------------------------------------

def make_params(cfg, gen):
    """{HF name: float32 tensor} at the configuration's scale."""
    shapes = mf.param_shapes(dict(n_layer=cfg["L"], n_embd=cfg["C"], vocab_size=cfg["V"],
                                  block_size=cfg["block"]))
    s = cfg["scale"]
    p = {}
    for name, shape in shapes:
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        is_w2 = name.endswith(".weight") and len(shape) == 2
        is_ln = name.endswith(".weight") and len(shape) == 1
        if s == "mixed":
            std = float(10 ** (torch.rand((), generator=gen).item() * 3 - 3))
            p[name] = 1.0 + z * std if is_ln else z * std
            continue
        if s == "gpt2":
            std_w, std_e, std_pos, std_b, std_ln = 0.02, 0.02, 0.01, 0.0, 0.0
            if name.endswith("c_proj.weight"):
                std_w = 0.02 / math.sqrt(2 * cfg["L"])
        elif s == "golden":
            std_w, std_e, std_pos, std_b, std_ln = 0.02, 0.02, 0.02, 0.02, 0.1
        elif s == "large":
            std_w, std_e, std_pos, std_b, std_ln = 0.4, 1.0, 1.0, 0.5, 0.5
        else:   # huge: logits in the hundreds, saturated softmaxes and GELUs
            std_w, std_e, std_pos, std_b, std_ln = 1.0, 3.0, 3.0, 2.0, 2.0
        if name == "wte.weight":
            p[name] = z * std_e
        elif name == "wpe.weight":
            p[name] = z * std_pos
        elif is_w2:
            p[name] = z * std_w
        elif is_ln:
            p[name] = 1.0 + z * std_ln
        else:
            p[name] = z * std_b
    return p


def tokens(gen, B, T, V):
    x = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int32)
    x.view(-1)[0] = 0
    x.view(-1)[-1] = V - 1
    return x


def write_model(cfg, p, d, gen):
    """Writes d/model.safetensors (and maybe d/config.json) in the configuration's layout.
    Returns (path, the weights as the file gives them back in float32, n_head option)."""
    layout, L, NH = cfg["layout"], cfg["L"], cfg["NH"]
    dtypes = {}
    for name in p:
        if layout == "f16":
            dtypes[name] = "F16"
        elif layout == "bf16":
            dtypes[name] = "BF16"
        elif layout == "mixed_dtype":
            dtypes[name] = ["F32", "F16", "BF16"][int(torch.randint(0, 3, (), generator=gen))]
        else:
            dtypes[name] = "F32"
    back = {n: mf.read_back(t, dtypes[n]) for n, t in p.items()}
    hf = layout in ("hf", "mixed_dtype")
    prefix = "transformer." if hf else ""
    items = [(prefix + n, t, dtypes[n]) for n, t in p.items()]   # state_dict order
    if hf:
        maxT = cfg["block"]
        for i in range(L):
            items.append((prefix + "h.%d.attn.bias" % i,
                          torch.tril(torch.ones(maxT, maxT)).view(1, 1, maxT, maxT), "F32"))
            items.append((prefix + "h.%d.attn.masked_bias" % i, torch.tensor(-1e4), "F32"))
        items.append(("lm_head.weight", p["wte.weight"], dtypes["wte.weight"]))
    meta = {"format": "pt"}
    option = 0
    if cfg["nhead"] == "meta":
        meta.update(n_head=str(NH), n_layer=str(L))
    elif cfg["nhead"] == "config":
        mcfg = dict(n_layer=L, n_head=NH, n_embd=cfg["C"], block_size=cfg["block"],
                    vocab_size=cfg["V"])
        mf.write_json(os.path.join(d, "config.json"), mf.hf_config_json(mcfg))
    elif cfg["nhead"] == "option":
        option = NH
    path = os.path.join(d, "model.safetensors")
    write_st(path, items, meta, sort=not hf)   # HF-like files: unsorted, as state_dict
    return path, back, option


def make_batches(cfg, gen):
    """Batch 0 is (B,T); the batch of each later step has a random shape within the model's."""
    V, steps = cfg["V"], cfg["steps"]
    maxB, maxT = cfg["maxB"], min(cfg["maxT"], cfg["block"])
    batches = [(tokens(gen, cfg["B"], cfg["T"], V), tokens(gen, cfg["B"], cfg["T"], V))]
    for _ in range(1, max(1, steps)):
        b = int(torch.randint(1, maxB + 1, (), generator=gen))
        t = int(torch.randint(1, maxT + 1, (), generator=gen))
        batches.append((tokens(gen, b, t, V), tokens(gen, b, t, V)))
    kv = tokens(gen, cfg["S"], min(cfg["Tk"], cfg["block"]), V)
    return batches, kv


def write_job(cfg, d, option, clip, batches, kv, og):
    hp = cfg["hp"]
    meta = dict(n_head=str(option), max_batch=str(cfg["maxB"]), max_seq=str(cfg["maxT"]),
                steps=str(cfg["steps"]), clip=repr(clip), max_lr=repr(hp["max_lr"]),
                min_lr=repr(hp["max_lr"] * hp["min_lr_frac"]), warmup=str(hp["warmup"]),
                total=str(hp["total"]), weight_decay=repr(hp["weight_decay"]),
                beta1=repr(hp["betas"][0]), beta2=repr(hp["betas"][1]), eps=repr(hp["eps"]),
                opt_steps=str(len(og)))
    items = []
    for i, g in enumerate(og):
        items += [("og.%d.%s" % (i, n), t, "F32") for n, t in g.items()]
    for i, (x, y) in enumerate(batches):
        items += [("x.%d" % i, x, "I32"), ("y.%d" % i, y, "I32")]
    items.append(("kv.tokens", kv, "I32"))
    write_st(os.path.join(d, "job.safetensors"), items, meta)

# ---- the PyTorch side -----------------------------------------------------------------------

def mcfg_of(cfg):
    return dict(n_layer=cfg["L"], n_head=cfg["NH"], n_embd=cfg["C"], block_size=cfg["block"],
                vocab_size=cfg["V"])


def ref_grads(p0, mc, x, y, dtype):
    p = {n: t.to(dtype).clone().requires_grad_(True) for n, t in p0.items()}
    logits = mf.forward(p, mc, x)
    loss = mf.loss_of(logits, y)
    loss.backward()
    return logits.detach(), loss.detach(), {n: t.grad.detach() for n, t in p.items()}


def torch_norm(params):
    """What torch 1.13's clip_grad_norm_ returns (norm of the per-tensor float32 norms)."""
    return torch.norm(torch.stack([torch.norm(t.grad.detach(), 2.0) for t in params]),
                      2.0).item()


def clip_grads(p, clip, norm_mode, exact, tnorms):
    """Appends the double-summed norm to exact and torch's to tnorms, then clips as the mode
    says (see ref_train); returns the norm that the step reports."""
    ex = math.sqrt(sum((t.grad.double() ** 2).sum().item() for t in p.values()))
    exact.append(ex)
    tnorms.append(torch_norm(p.values()))
    if norm_mode == "torch":
        return torch.nn.utils.clip_grad_norm_(list(p.values()),
                                              clip if clip > 0 else float("inf")).item()
    norm = float(np.float32(ex))
    if clip > 0 and norm > clip:
        s = np.float32(clip / (norm + 1e-6))
        for t in p.values():
            t.grad.mul_(float(s))
    return norm


def ref_adamw(p0, hp, dtype):
    """A trainable copy of the parameters in dtype, and PyTorch's AdamW over it with decay on
    the 2-D tensors only (the fixture script's groups)."""
    p = {n: t.to(dtype).clone().requires_grad_(True) for n, t in p0.items()}
    decay = [t for t in p.values() if t.dim() >= 2]
    no_decay = [t for t in p.values() if t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=hp["max_lr"], betas=tuple(hp["betas"]), eps=hp["eps"],
                            foreach=False)
    return p, opt


def ref_train(p0, mc, batches, hp, clip, dtype, norm_mode):
    """The fixture script's train() with a batch per step and the clip optional.
    norm_mode 'torch': clip_grad_norm_; 'exact': the norm summed in double and the same
    scaling as gpt.h (scale max_norm/(norm+1e-6) when norm > max_norm).
    minabs, minrel: per element, the smallest |gradient| (after clipping) over the steps, and
    the smallest |gradient| / max |gradient of its tensor|. Adam's update m/(sqrt(v)+eps)
    turns the gradient's relative error into the update's (after the first step), and near
    eps even an absolute error: where a gradient is below 1e-3 of its tensor's largest (its
    float32 rounding, ~1e-7 of the largest, is then >1e-4 of it) or below 100 eps, a rounding
    error becomes an update error of a good fraction of lr (the key bias, whose exact
    gradient is 0, is all noise). Such elements are left out of final.* (the optimizer itself
    is checked on given gradients, tiny ones included: opt.final.*)."""
    p, opt = ref_adamw(p0, hp, dtype)
    losses, lrs, norms, exact, tnorms = [], [], [], [], []
    min_lr = hp["max_lr"] * hp["min_lr_frac"]
    minabs = {n: torch.full_like(t, float("inf")) for n, t in p.items()}
    minrel = {n: torch.full_like(t, float("inf")) for n, t in p.items()}
    for step, (x, y) in enumerate(batches):
        opt.zero_grad(set_to_none=True)
        loss = mf.loss_of(mf.forward(p, mc, x), y)
        loss.backward()
        norm = clip_grads(p, clip, norm_mode, exact, tnorms)
        for n, t in p.items():
            minabs[n] = torch.minimum(minabs[n], t.grad.abs())
            top = t.grad.abs().max()
            minrel[n] = torch.minimum(minrel[n], t.grad.abs() / top if top > 0 else
                                      torch.zeros_like(t))
        lr = mf.lr_at(step, hp["max_lr"], min_lr, hp["warmup"], hp["total"])
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        losses.append(loss.item())
        lrs.append(lr)
        norms.append(norm)
    final = {n: t.detach() for n, t in p.items()}
    m = {n: opt.state[t]["exp_avg"].detach() for n, t in p.items()}
    v = {n: opt.state[t]["exp_avg_sq"].detach() for n, t in p.items()}
    return dict(losses=losses, lrs=lrs, norms=norms, exact=exact, tnorms=tnorms, final=final,
                m=m, v=v,
                minabs=minabs, minrel=minrel)

def opt_grads(gen, p, steps):
    """Given gradients for the optimizer-only check: per tensor a random scale (1e-6..1),
    some exact zeros and some tiny values (1e-20: v underflows to subnormals)."""
    out = []
    for _ in range(steps):
        g = {}
        for name, t in p.items():
            std = float(10 ** (torch.rand((), generator=gen).item() * 6 - 6))
            z = torch.randn(t.shape, generator=gen) * std
            u = torch.rand(t.shape, generator=gen)
            z[u < 0.1] = 0.0
            z[(u >= 0.1) & (u < 0.13)] = 1e-20
            g[name] = z
        out.append(g)
    return out


def ref_opt(p0, grads, hp, clip, dtype, norm_mode):
    """AdamW as in ref_train, on given gradients."""
    p, opt = ref_adamw(p0, hp, dtype)
    norms, exact, tnorms = [], [], []
    min_lr = hp["max_lr"] * hp["min_lr_frac"]
    for step, g in enumerate(grads):
        for n, t in p.items():
            t.grad = g[n].to(dtype).clone()
        norm = clip_grads(p, clip, norm_mode, exact, tnorms)
        norms.append(norm)
        for grp in opt.param_groups:
            grp["lr"] = mf.lr_at(step, hp["max_lr"], min_lr, hp["warmup"], hp["total"])
        with torch.no_grad():
            opt.step()
    return dict(norms=norms, exact=exact, tnorms=tnorms,
                final={n: t.detach() for n, t in p.items()},
                m={n: opt.state[t]["exp_avg"].detach() for n, t in p.items()},
                v={n: opt.state[t]["exp_avg_sq"].detach() for n, t in p.items()})


# ---- comparing ------------------------------------------------------------------------------

class Stats:
    """Per quantity: the worst errors over every configuration. An instance where torch32 is
    itself further than the tolerance from float64 is ill-conditioned in float32 (Adam on
    near-zero gradients, saturated softmaxes, C = 1, ...): it is counted apart."""

    def __init__(self):
        self.q = {}
        self.n_masked = self.n_elems = 0
        self.degenerate = set()   # configurations with C <= 2 (see check_config)
        self.degenerate_notes = []
        self.suspects = []
        self.watch = []
        self.rounding = []
        self.bitwise = []

    def add(self, cid, qname, got, ref32, ref64, tol, scale=None, verbose=False, ulps=0,
            mask=None):
        """ulps > 0: each element's difference counts only beyond that many float32 ulps of
        the reference value (for parameters after optimizer steps, where one rounding of a
        large weight is much bigger than the update's error). mask: only those elements are
        judged (the others are ill-conditioned: see ref_train)."""
        got = np.asarray(got, dtype=np.float64)
        r32 = np.asarray(ref32, dtype=np.float64)
        r64 = np.asarray(ref64, dtype=np.float64)
        if got.shape != r32.shape:
            self.suspects.append((cid, qname, "shape %s, PyTorch %s" % (got.shape, r32.shape)))
            return
        if not np.all(np.isfinite(got)):
            self.suspects.append((cid, qname, "non-finite values in gpt.h's output"))
            return
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            got, r32, r64 = got[mask], r32[mask], r64[mask]
        if got.size == 0:
            return
        if scale is None:
            scale = max(float(np.max(np.abs(r64))), float(np.max(np.abs(r32))))
        den = scale if scale > 0 else 1.0
        dg32, dg64, dt64 = np.abs(got - r32), np.abs(got - r64), np.abs(r32 - r64)
        if ulps:
            slack = ulps * np.spacing(np.abs(r32).astype(np.float32)).astype(np.float64)
            dg32 = np.maximum(dg32 - slack, 0.0)
            dg64 = np.maximum(dg64 - slack, 0.0)
            dt64 = np.maximum(dt64 - slack, 0.0)
        a = float(np.max(np.abs(got - r32)))
        rel = float(np.max(dg32)) / den
        rg = float(np.max(dg64)) / den
        rt = float(np.max(dt64)) / den
        rms_g = float(np.sqrt(np.mean(dg64 ** 2))) / den
        rms_t = float(np.sqrt(np.mean(dt64 ** 2))) / den
        e = self.q.setdefault(qname, dict(n=0, abs=0.0, rel=0.0, cid="-", g64=0.0, t64=0.0,
                                          n_ill=0, ill_rel=0.0, ill_cid="-", ill_g64=0.0,
                                          ill_t64=0.0))
        e["n"] += 1
        ill = rt > tol
        if ill:
            e["n_ill"] += 1
            if rel >= e["ill_rel"]:
                e.update(ill_rel=rel, ill_cid=cid, ill_g64=rg, ill_t64=rt)
        else:
            e["abs"] = max(e["abs"], a)
            if rel >= e["rel"]:
                e.update(rel=rel, cid=cid, g64=rg, t64=rt)
        if verbose:
            print("    %-28s abs %.3g rel %.3g | vs f64: gpt %.3g torch32 %.3g (rms %.3g %.3g)"
                  % (qname, a, rel, rg, rt, rms_g, rms_t))
        if rel > tol:
            line = (cid, qname, "abs %.3g rel %.3g (tol %g); vs float64: gpt.h %.3g, torch32 "
                    "%.3g (rms %.3g, %.3g)" % (a, rel, tol, rg, rt, rms_g, rms_t))
            further = rg > 4 * rt + tol / 4 and rms_g > 4 * rms_t + 1e-7
            if further and cid in self.degenerate:
                self.degenerate_notes.append(line)
            elif further and (rt < tol / 10 or rg > 20 * rt):
                self.suspects.append(line)
            elif further:   # 4-20x torch32's error where float32 is itself sensitive
                self.watch.append(line)
            else:
                self.rounding.append(line)


def group_name(name):
    """h.3.attn.c_attn.weight -> attn.c_attn.weight (the per-tensor table aggregates layers)."""
    if name.startswith("h."):
        return name.split(".", 2)[2]
    return name


def run_driver(exe, d, tag, threads):
    out = os.path.join(d, "out_%s.safetensors" % tag)
    fin = os.path.join(d, "final_%s.safetensors" % tag)
    fopt = os.path.join(d, "finalopt_%s.safetensors" % tag)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    res = subprocess.run([exe, os.path.join(d, "model.safetensors"),
                          os.path.join(d, "job.safetensors"), out, fin, fopt],
                         env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("driver %s failed (%d): %s%s" % (tag, res.returncode, res.stdout,
                                                           res.stderr))
    return out, fin, fopt


def st_data(path):
    """The tensor bytes of a safetensors file with the metadata left out (files from two runs
    compare equal when their tensors are the same bits)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return json.dumps(header, sort_keys=True).encode() + raw[8 + n:]


TOL = dict(logits=1e-4, loss=1e-5, grad=2e-4, kv=1e-4, kvself=1e-4, tloss=1e-5, norm=1e-4,
           lr=1e-6, final=2e-3, adam=2e-3, opt=1e-5)


def check_config(cfg, exes, stats, args):
    t0 = time.time()
    cid = cfg["id"]
    # gpt_save fsyncs: on tmpfs that costs nothing
    work = args.keep or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    d = tempfile.mkdtemp(prefix="cvt_%s_" % cid, dir=work)
    if cfg["C"] <= 2:
        # LayerNorm over 1 channel is a constant and over 2 a sign function (+-1): its backward
        # is pure cancellation, float32 gradients below it are rounding noise (torch's too)
        stats.degenerate.add(cid)
    try:
        gen = torch.Generator().manual_seed(cfg["seed"])
        p = make_params(cfg, gen)
        mpath, back, option = write_model(cfg, p, d, gen)
        mc = mcfg_of(cfg)
        batches, kv = make_batches(cfg, torch.Generator().manual_seed(cfg["seed"] + 1))
        x, y = batches[0]
        l32, loss32, g32 = ref_grads(back, mc, x, y, torch.float32)
        l64, loss64, g64 = ref_grads(back, mc, x, y, torch.float64)
        hp = cfg["hp"]
        clip = {"none": 0.0, "1.0": 1.0, "huge": 1e9}.get(hp["clip"])
        if clip is None:   # "bite": half the first step's norm (2 significant digits)
            n0 = math.sqrt(sum((g.double() ** 2).sum().item() for g in g32.values()))
            clip = float("%.2g" % (0.5 * n0)) if n0 > 0 else 1.0
        og = opt_grads(torch.Generator().manual_seed(cfg["seed"] + 3), p, cfg["steps"] + 1)
        on0 = math.sqrt(sum((g.double() ** 2).sum().item() for g in og[0].values()))
        if hp["clip"] == "bite" and on0 > 0:   # the first given gradient: twice the clip
            for g in og:
                for n in g:
                    g[n] *= 2 * clip / on0
        write_job(cfg, d, option, clip, batches, kv, og)
        out, fin, fopt = run_driver(exes["omp"], d, "omp2", 2)
        o, meta = mf.read_safetensors(out)
        f, fmeta = mf.read_safetensors(fin)
        v = args.verbose
        stats.add(cid, "logits", o["logits"], l32, l64, TOL["logits"], verbose=v)
        stats.add(cid, "loss", o["loss"].reshape(()), loss32, loss64, TOL["loss"],
                  scale=max(abs(loss64.item()), 1.0), verbose=v)
        for name in g32:
            stats.add(cid, "grad." + group_name(name), o["grad." + name], g32[name],
                      g64[name], TOL["grad"], verbose=v)
        # KV cache
        with torch.no_grad():
            k32 = mf.forward(back, mc, kv)
            k64 = mf.forward({n: t.double() for n, t in back.items()}, mc, kv)
        stats.add(cid, "kv.logits", o["kv.logits"], k32, k64, TOL["kv"], verbose=v)
        if "kv.full" in o:
            stats.add(cid, "kv.self (vs gpt_forward)", o["kv.logits"], o["kv.full"], k64,
                      TOL["kvself"], verbose=v)
        # training
        steps = cfg["steps"]
        r32x = ref_train(back, mc, batches[:steps], hp, clip, torch.float32, "exact")
        # with torch's own clip_grad_norm_ (float32 sums): another trajectory only when it clips
        bites = clip > 0 and max(r32x["tnorms"] + r32x["exact"]) > clip * 0.999
        r32 = (ref_train(back, mc, batches[:steps], hp, clip, torch.float32, "torch")
               if bites else dict(r32x, norms=r32x["tnorms"]))
        r64 = ref_train(back, mc, batches[:steps], hp, clip, torch.float64, "exact")
        tl = o["train.losses"]
        for i in range(steps):
            stats.add(cid, "train.loss", tl[i], r32x["losses"][i], r64["losses"][i],
                      TOL["tloss"], scale=max(abs(r64["losses"][i]), 1.0), verbose=False)
            stats.add(cid, "train.norm (f64-summed)", o["train.norms"][i], r32x["exact"][i],
                      r64["exact"][i], TOL["norm"], verbose=False)
            stats.add(cid, "train.norm_torch", o["train.norms"][i], r32["norms"][i],
                      r64["exact"][i], 1.0, verbose=False)
            stats.add(cid, "train.lr", o["train.lrs"][i], r32x["lrs"][i], r64["lrs"][i],
                      TOL["lr"], verbose=False)
        for name in back:
            moved = float((r64["final"][name] - back[name].double()).abs().max())
            scale = moved if moved > 0 else max(float(back[name].abs().max()), 1e-30)
            well = ((r64["minabs"][name] >= 100 * hp["eps"]) &
                    (r64["minrel"][name] >= 1e-3)).numpy()
            stats.n_masked += int(well.size - well.sum())
            stats.n_elems += int(well.size)
            stats.add(cid, "final." + group_name(name), f[name], r32x["final"][name],
                      r64["final"][name], TOL["final"], scale=scale, verbose=v, ulps=2,
                      mask=well)
            stats.add(cid, "final_torch." + group_name(name), f[name], r32["final"][name],
                      r64["final"][name], 1.0, scale=scale, verbose=False, ulps=2, mask=well)
            stats.add(cid, "adam_m." + group_name(name), f["optimizer.m." + name],
                      r32x["m"][name], r64["m"][name], TOL["adam"], verbose=False)
            stats.add(cid, "adam_v." + group_name(name), f["optimizer.v." + name],
                      r32x["v"][name], r64["v"][name], TOL["adam"], verbose=False)
        # the optimizer alone, on given gradients
        q32 = ref_opt(back, og, hp, clip, torch.float32, "exact")
        bites = clip > 0 and max(q32["tnorms"] + q32["exact"]) > clip * 0.999
        q32t = (ref_opt(back, og, hp, clip, torch.float32, "torch") if bites
                else dict(q32, norms=q32["tnorms"]))
        q64 = ref_opt(back, og, hp, clip, torch.float64, "exact")
        fo, _ = mf.read_safetensors(fopt)
        for i in range(len(og)):
            stats.add(cid, "opt.norm (f64-summed)", o["opt.norms"][i], np.float32(q32["exact"][i]),
                      q64["exact"][i], TOL["norm"], verbose=False)
            stats.add(cid, "opt.norm_torch", o["opt.norms"][i], q32t["norms"][i],
                      q64["exact"][i], 1.0, verbose=False)
            lr = mf.lr_at(i, hp["max_lr"], hp["max_lr"] * hp["min_lr_frac"], hp["warmup"],
                          hp["total"])
            stats.add(cid, "opt.lr", o["opt.lrs"][i], lr, lr, TOL["lr"], verbose=False)
        for name in back:
            moved = float((q64["final"][name] - back[name].double()).abs().max())
            scale = moved if moved > 0 else max(float(back[name].abs().max()), 1e-30)
            stats.add(cid, "opt.final." + group_name(name), fo[name], q32["final"][name],
                      q64["final"][name], TOL["opt"], scale=scale, verbose=v, ulps=2)
            stats.add(cid, "opt.final_torch." + group_name(name), fo[name],
                      q32t["final"][name], q64["final"][name], 1.0, scale=scale, verbose=False,
                      ulps=2)
            stats.add(cid, "opt.adam_m." + group_name(name), fo["optimizer.m." + name],
                      q32["m"][name], q64["m"][name], TOL["opt"], verbose=False)
            stats.add(cid, "opt.adam_v." + group_name(name), fo["optimizer.v." + name],
                      q32["v"][name], q64["v"][name], TOL["opt"], verbose=False)
        if fmeta.get("adam_step") != str(steps):
            stats.suspects.append((cid, "adam_step", "saved %s, want %d"
                                   % (fmeta.get("adam_step"), steps)))
        # bit for bit
        if meta.get("logits_no_targets_equal") != "1":
            stats.bitwise.append((cid, "forward without targets gives other logits"))
        if meta.get("reload_equal") != "1":
            stats.bitwise.append((cid, "gpt_save + gpt_load does not give the same bits"))
        ref_bits = (st_data(out), st_data(fin), st_data(fopt))
        variants = []
        if not args.no_threads:
            variants += [("omp", "omp1", 1), ("noomp", "noomp", 2)]
        if args.plain:
            variants.append(("plain", "plain", 2))
        for build_name, tag, threads in variants:
            o2, f2, fo2 = run_driver(exes[build_name], d, tag, threads)
            if build_name == "plain":
                oo, _ = mf.read_safetensors(o2)
                ff, _ = mf.read_safetensors(f2)
                stats.add(cid, "plain.logits", oo["logits"], l32, l64, TOL["logits"])
                for name in g32:
                    stats.add(cid, "plain.grad." + group_name(name), oo["grad." + name],
                              g32[name], g64[name], TOL["grad"])
                stats.add(cid, "plain.kv.logits", oo["kv.logits"], k32, k64, TOL["kv"])
                continue
            if (st_data(o2), st_data(f2), st_data(fo2)) != ref_bits:
                stats.bitwise.append((cid, "%s (OMP_NUM_THREADS=%d) differs from the 2-thread "
                                      "OpenMP run" % (tag, threads)))
        cfg["_secs"] = time.time() - t0
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)


def describe(cfg):
    return ("L=%d NH=%d C=%d (HS=%d) V=%d block=%d B=%d T=%d max(B,T)=(%d,%d) steps=%d "
            "kv=%dx%d scale=%s layout=%s n_head from %s clip=%s"
            % (cfg["L"], cfg["NH"], cfg["C"], cfg["C"] // cfg["NH"], cfg["V"], cfg["block"],
               cfg["B"], cfg["T"], cfg["maxB"], cfg["maxT"], cfg["steps"], cfg["S"],
               min(cfg["Tk"], cfg["block"]), cfg["scale"], cfg["layout"], cfg["nhead"],
               cfg["hp"]["clip"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer configurations (< 3 minutes)")
    ap.add_argument("--n", type=int, default=None, help="random configurations (default 100, "
                    "quick 16)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--config", default=None, help="run only this configuration (JSON, as "
                    "printed for a failure)")
    ap.add_argument("--no-threads", action="store_true",
                    help="skip the OMP_NUM_THREADS=1 and no-OpenMP bitwise reruns")
    ap.add_argument("--plain", action="store_true", help="also the GPT_PLAIN_KERNELS build")
    ap.add_argument("--keep", default=None, help="keep every configuration's files under DIR")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    torch.set_num_threads(1)
    t0 = time.time()
    exes = build_all(["omp"] + ([] if args.no_threads else ["noomp"]) +
                     (["plain"] if args.plain else []))
    print("built the driver in %.1f s" % (time.time() - t0))

    rng = np.random.default_rng(args.seed)
    if args.config:
        cfgs = [json.loads(args.config)]
    else:
        n = args.n if args.n is not None else (16 if args.quick else 100)
        cfgs = pinned_configs(rng, args.quick) + [random_config(rng, i, args.quick)
                                                  for i in range(n)]
    stats = Stats()
    failed_runs = []
    for cfg in cfgs:
        try:
            check_config(cfg, exes, stats, args)
            print("  %-4s %5.1fs  %s" % (cfg["id"], cfg.get("_secs", 0), describe(cfg)))
        except Exception as e:   # a crash or an error of the driver is a finding too
            failed_runs.append((cfg["id"], str(e)))
            print("  %-4s FAILED %s: %s" % (cfg["id"], describe(cfg), e))
        sys.stdout.flush()

    print("\n%d configurations in %.0f s (torch %s, driver flags: %s)"
          % (len(cfgs), time.time() - t0, torch.__version__, " ".join(CFLAGS)))
    print("\nmax errors over the configurations (rel: relative to the tensor's scale, for final.*"
          "\nthe largest update, counting only what exceeds 2 float32 ulps; gpt-f64 and"
          "\nt32-f64: gpt.h and torch32 against float64 at that configuration; ill: instances"
          "\nwhere torch32 itself is beyond the tolerance from float64, worst shown apart)")
    print("%-34s %4s %9s %9s %-5s %9s %9s | %4s %9s %-5s %9s %9s"
          % ("quantity", "n", "max abs", "max rel", "at", "gpt-f64", "t32-f64", "ill",
             "rel", "at", "gpt-f64", "t32-f64"))
    for qname in sorted(stats.q):
        e = stats.q[qname]
        ill = ("%4d %9.2e %-5s %9.2e %9.2e" % (e["n_ill"], e["ill_rel"], e["ill_cid"],
                                               e["ill_g64"], e["ill_t64"])
               if e["n_ill"] else "   0")
        print("%-34s %4d %9.2e %9.2e %-5s %9.2e %9.2e | %s"
              % (qname, e["n"], e["abs"], e["rel"], e["cid"], e["g64"], e["t64"], ill))
    print("final.*: %d of %d parameter elements left out (at some step a gradient below 100 eps"
          " or 1e-3 of its tensor's largest: Adam is ill-conditioned there)"
          % (stats.n_masked, stats.n_elems))
    by_id = {c["id"]: c for c in cfgs}
    if stats.rounding:
        counts = {}
        for cid, q, msg in stats.rounding:
            counts.setdefault(q.split(".")[0], set()).add(cid)
        print("\nabove tolerance, but torch32 is as far from float64 (float32 rounding): %d "
              "instances; %s%s" % (len(stats.rounding), ", ".join(
                  "%s in %d configs" % (k, len(v)) for k, v in sorted(counts.items())),
                  "" if args.verbose else " (--verbose lists them)"))
        if args.verbose:
            for cid, q, msg in stats.rounding:
                print("  %s %s: %s" % (cid, q, msg))
    if stats.watch:
        print("\nWATCH (not counted): gpt.h 4-20x further from float64 than torch32 where "
              "torch32 itself is off by more than a tenth of the tolerance (float32-sensitive; "
              "rerun the seed to see if it persists):")
        for cid, q, msg in stats.watch:
            print("  %s %s: %s" % (cid, q, msg))
    if stats.degenerate_notes:
        print("\nC <= 2 (LayerNorm backward is all cancellation; not counted): %d instances where "
              "gpt.h is further from float64 than torch32, in %s%s"
              % (len(stats.degenerate_notes), ", ".join(sorted({r[0] for r in
                                                              stats.degenerate_notes})),
                 "" if args.verbose else " (--verbose lists them)"))
        if args.verbose:
            for cid, q, msg in stats.degenerate_notes:
                print("  %s %s: %s" % (cid, q, msg))
    ok = True
    for title, rows in (("SUSPECT (gpt.h further from float64 than torch32)", stats.suspects),
                        ("BIT-FOR-BIT checks that failed", stats.bitwise),
                        ("driver runs that failed", failed_runs)):
        if rows:
            ok = False
            print("\n%s:" % title)
            shown = set()
            for row in rows:
                print("  %s: %s" % (row[0], " ".join(str(r) for r in row[1:])))
                if row[0] not in shown and row[0] in by_id:
                    shown.add(row[0])
                    c = {k: v for k, v in by_id[row[0]].items() if not k.startswith("_")}
                    print("    reproduce: /usr/bin/python3 tools/check_vs_torch.py --config '%s'"
                          % json.dumps(c))
    print("\n%s" % ("OK: no discrepancy beyond float32 rounding" if ok else "DISCREPANCIES FOUND"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
