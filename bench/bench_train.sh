#!/bin/sh
# Training speed of gpt.h against PyTorch, on this machine, in one run:
#   1. bench_gemm: the fast matmul on GPT-2 124M's 15 products, against an FMA probe of the
#      machine's peak and (when libopenblas-dev is installed) OpenBLAS's sgemm.
#   2. bench_step: one training step (zero_grad, forward, backward, clip, AdamW) by phase,
#      for GPT-2 124M at B=4 T=64, B=4 T=32 and B=1 T=1024, and --preset small at B=4 T=32;
#      beside each, the same step in PyTorch (when /usr/bin/python3 has torch) and the ratio.
#   3. Under load: ./train's step (124M, B=4 T=32) with a busy loop on one core, its default
#      threads against --threads 1.
#       sh bench/bench_train.sh [STEPS]     default 6 steps per run (the first one not counted)
# PyTorch runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they hold this machine's
# OpenBLAS to slower kernels), so gpt.h races the strongest PyTorch the machine has; the
# tests never unset them. Needs about 4 GB of memory and 5 minutes.
cd "$(dirname "$0")/.." || exit 1
STEPS=${1:-6}
THREADS=${THREADS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
. bench/flags.sh   # CC, OPT, OMP as the Makefile builds
FLAGS="$OPT -std=c99 -Wall -Wextra -pedantic $OMP -I."
mkdir -p bench/bin
# OpenBLAS for the comparison only: its cblas.h is in a multiarch folder on Debian
BLAS=""
for inc in /usr/include/x86_64-linux-gnu /usr/include/aarch64-linux-gnu /usr/include/openblas \
           /usr/include; do
    if [ -f "$inc/cblas.h" ] && echo 'int main(void){return 0;}' | \
            $CC -x c - -o /dev/null -lopenblas 2>/dev/null; then
        BLAS="-DBENCH_OPENBLAS -I$inc -lopenblas"; break
    fi
done
# shellcheck disable=SC2086
$CC $FLAGS -o bench/bin/bench_gemm bench/bench_gemm.c $BLAS -lm || exit 1
# shellcheck disable=SC2086
$CC $FLAGS -o bench/bin/bench_step bench/bench_step.c -lm || exit 1
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS"

echo "== bench_gemm: $CC $OPT $OMP${BLAS:+ (OpenBLAS beside)}"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bench/bin/bench_gemm || exit 1
[ -n "$BLAS" ] || echo "(no libopenblas-dev: the OpenBLAS comparison is skipped)"

# the PyTorch step: GPT-2 as build-nanogpt's trainer has it (nn.Linear, manual causal
# attention, tied head), the same B, T and threads; prints the median ms per step
torch_ms() {   # L NH C block B T steps -> median ms per step
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 - "$@" "$THREADS" <<'PYEOF'
import math, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
L, NH, C, maxT, B, T, steps, threads = map(int, sys.argv[1:9])
V = 50257
torch.set_num_threads(threads)
torch.manual_seed(0)

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, NH, C // NH).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // NH)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(maxT, C)
        self.h, self.ln_f = nn.ModuleList(Block() for _ in range(L)), nn.LayerNorm(C)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))

model = GPT()
params = list(model.parameters())
groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
          {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
opt = torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.95), eps=1e-8)
data = torch.randint(0, V, (B * T + 1,))
x, y = data[:-1].view(B, T), data[1:].view(B, T)
times = []
for step in range(steps):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    times.append((time.perf_counter() - t0) * 1e3)
times = sorted(times[1:])
n = len(times)
print(times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2)
PYEOF
}

HAVE_TORCH=0
/usr/bin/python3 -c "import torch" 2>/dev/null && HAVE_TORCH=1
if [ "$HAVE_TORCH" = 1 ]; then
    # which BLAS library torch's matmul loaded (Debian's torch takes whichever libblas is set)
    echo "== PyTorch $(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 -c '
import torch
a = torch.randn(64, 64); a @ a
blas = [l.split()[-1] for l in open("/proc/self/maps") if "blas" in l]
print(torch.__version__, "matmuls in", blas[0] if blas else "an unknown BLAS")')"
else
    echo "(no torch in /usr/bin/python3: the PyTorch comparison is skipped)"
fi

echo "== bench_step: $STEPS steps a run, $THREADS threads (ms are medians)"
for run in "gpt2 4 64 12 12 768 1024" "gpt2 4 32 12 12 768 1024" "gpt2 1 1024 12 12 768 1024" \
           "small 4 32 4 4 128 256"; do
    # shellcheck disable=SC2086
    set -- $run
    steps=$STEPS
    [ "$3" -ge 512 ] && steps=3   # the long context: fewer, longer steps
    bench/bin/bench_step --preset "$1" --batch "$2" --seq "$3" --steps "$steps" \
        > bench/bin/step.out || { cat bench/bin/step.out; exit 1; }
    if [ "$3" = 64 ]; then head -n 4 bench/bin/step.out; else head -n 3 bench/bin/step.out; fi
    ms=$(sed -n 's/^step_ms //p' bench/bin/step.out | cut -d' ' -f6)
    if [ "$HAVE_TORCH" = 1 ]; then
        tms=$(torch_ms "$4" "$5" "$6" "$7" "$2" "$3" "$steps") || { echo "PyTorch failed"; exit 1; }
        printf '  PyTorch %.1f ms: gpt.h takes %.2fx PyTorch'"'"'s time (%.1fx as fast)\n' \
            "$tms" "$(echo "$ms $tms" | awk '{ print $1 / $2 }')" \
            "$(echo "$ms $tms" | awk '{ print $2 / $1 }')"
    fi
done

echo "== under load: ./train (GPT-2 124M, B=4 T=32), a busy loop pinned to the last core"
# ./train's default threads (all cores, or 1 when a timed check finds that faster) against
# --threads 1; the median ms of steps 4..N+3 of each run (the first steps include the check)
LAST=$((THREADS - 1))
if command -v taskset >/dev/null && [ "$THREADS" -ge 2 ]; then
    make -s train || exit 1
    TEXT=input.txt
    [ -f "$TEXT" ] || TEXT=tests/fixtures/train_ref/input.txt
    taskset -c "$LAST" sh -c 'while :; do :; done' &
    BUSY=$!
    trap 'kill $BUSY 2>/dev/null; rm -f bench/bin/load_*' EXIT INT TERM
    sleep 1
    for t in 0 1; do
        ./train --steps $((STEPS + 3)) --val-frac 0 --input "$TEXT" --threads "$t" --overwrite \
            --log bench/bin/load_$t.csv --out bench/bin/load_model.st \
            --checkpoint bench/bin/load_ck.st > bench/bin/load_$t.out 2>&1 ||
            { tail -n 5 bench/bin/load_$t.out; exit 1; }
        ms=$(tail -n +5 bench/bin/load_$t.csv | cut -d, -f6 | sort -g | awk '{ a[NR] = $1 }
            END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
        if [ "$t" = 0 ]; then
            printf '  default threads: %.1f ms a step %s\n' "$ms" \
                "$(grep -o '(now [0-9]* thread[s]*' bench/bin/load_0.out | tail -n 1 | tr -d '(')"
        else
            printf '  --threads 1:     %.1f ms a step\n' "$ms"
        fi
    done
    kill $BUSY 2>/dev/null
    rm -f bench/bin/load_*
else
    echo "  (needs taskset and 2 or more cores)"
fi
