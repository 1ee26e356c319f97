#!/bin/sh
# Training speed of ./train: the median ms per step and tokens per second of GPT-2 124M (the
# default) and of --preset small, at the reference trainer's batch 4 x sequence 32; and, when
# /usr/bin/python3 has torch, of the same step in PyTorch (forward, backward, clipping, AdamW;
# same shapes, same thread count), with the speed ratio.
#   sh bench/bench_train.sh [STEPS]     default 6 steps per run; the first is not counted
# The text is input.txt when there is one, else the test fixture's. Everything is written to
# a temporary folder, removed at the end. Needs about 4 GB of memory, and 3 GB of disk for
# the 124M model's two checkpoints (weights and AdamW moments) at the end of its run.
cd "$(dirname "$0")/.." || exit 1
STEPS=${1:-6}
THREADS=${THREADS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
make -s train || exit 1
TEXT=input.txt
[ -f "$TEXT" ] || TEXT=tests/fixtures/train_ref/input.txt
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

# median of the ms column (6th) of a ./train log, without the first step (warm-up)
median_ms() {
    tail -n +3 "$1" | cut -d, -f6 | sort -g | awk '{ a[NR] = $1 }
        END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# the PyTorch step: a plain GPT-2 as in build-nanogpt's trainer (nn.Linear, manual causal
# attention, tied head)
torch_ms() {   # L NH C block -> median ms per step
    /usr/bin/python3 - "$1" "$2" "$3" "$4" "$STEPS" "$THREADS" <<'EOF'
import math, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
L, NH, C, maxT, steps, threads = map(int, sys.argv[1:7])
V, B, T = 50257, 4, 32
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
EOF
}

HAVE_TORCH=0
/usr/bin/python3 -c "import torch" 2>/dev/null && HAVE_TORCH=1
echo "== bench_train: $STEPS steps, batch 4 x seq 32, $THREADS threads, text $TEXT"
for preset in small gpt2; do
    case $preset in
        small) shape="4 4 128 256" ;;
        gpt2) shape="12 12 768 1024" ;;
    esac
    if ! ./train --preset $preset --steps "$STEPS" --val-frac 0 --input "$TEXT" \
            --threads "$THREADS" --log "$TMP/$preset.csv" --out "$TMP/model.safetensors" \
            --checkpoint "$TMP/checkpoint.safetensors" > "$TMP/$preset.out" 2>&1; then
        echo "./train --preset $preset failed:"; tail -n 5 "$TMP/$preset.out"; exit 1
    fi
    rm -f "$TMP"/*.safetensors
    ms=$(median_ms "$TMP/$preset.csv")
    printf '%-6s gpt.h    %9.1f ms/step %9.0f tok/s\n' "$preset" "$ms" \
        "$(echo "$ms" | awk '{ print 128000 / $1 }')"
    if [ "$HAVE_TORCH" = 1 ]; then
        # shellcheck disable=SC2086
        tms=$(torch_ms $shape) || { echo "PyTorch run failed"; exit 1; }
        printf '%-6s pytorch  %9.1f ms/step %9.0f tok/s   gpt.h is %.2fx the speed of PyTorch\n' \
            "$preset" "$tms" "$(echo "$tms" | awk '{ print 128000 / $1 }')" \
            "$(echo "$tms $ms" | awk '{ print $1 / $2 }')"
    fi
done
[ "$HAVE_TORCH" = 1 ] || echo "(no torch in /usr/bin/python3: the PyTorch comparison is skipped)"
