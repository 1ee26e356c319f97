#!/bin/sh
# Sampling speed of GPT-2 124M with the KV cache against the memory-bandwidth bound, with fp32,
# bf16 and q8 weights in the same run (ratios to fp32), then the peak memory of sampling:
# 124M in each format (random weights, then loaded from a checkpoint through gpt_load), and
# gpt2-xl shapes (1.56e9 parameters, random weights) with q8, which must stay within 2.5 GB.
# Builds bench/bin/bench_sample with the Makefile's flags; arguments go to the speed run
# (--tokens N, --runs R, --mem-gb G, --threads T); then the bf16 and q8 products alone (one
# thread, in the L2 cache). Needs about 3 GB of memory, 600 MB of disk (a random 124M
# checkpoint in bench/bin, deleted at the end) and a few minutes.
cd "$(dirname "$0")/.." || exit 1
. bench/flags.sh   # CC, OPT, OMP as the Makefile builds
mkdir -p bench/bin
$CC $OPT -std=c99 -Wall -Wextra -pedantic $OMP -I. -o bench/bin/bench_sample \
    bench/bench_sample.c -lm || exit 1
echo "== bench_sample: $CC $OPT $OMP"
bench/bin/bench_sample "$@" || exit 1
echo "== the small products alone (one thread, matrix in L2)"
bench/bin/bench_sample --kernels || exit 1
echo "== peak memory while sampling (each in a process of its own)"
status=0
for w in f32 bf16 q8; do
    bench/bin/bench_sample --rss --weights $w --tokens 64 || status=1
done
ck=bench/bin/random_124m.safetensors
if bench/bin/bench_sample --save $ck; then
    for w in f32 bf16 q8; do
        bench/bin/bench_sample --rss --weights $w --tokens 64 --load $ck || status=1
    done
else
    status=1
fi
rm -f $ck
# gpt2-xl: the budget is the issue's 2.5 GB (10^9 bytes), not weights + KV + 10%
bench/bin/bench_sample --rss --weights q8 --preset gpt2-xl --tokens 16 > bench/bin/xl.out
xl=$?
cat bench/bin/xl.out
peak=$(sed -n 's/.*peak RSS \([0-9.]*\) MB.*/\1/p' bench/bin/xl.out)
if [ -n "$peak" ] && awk "BEGIN { exit !($peak <= 2500) }"; then
    echo "  gpt2-xl q8: peak RSS $peak MB, within 2.5 GB"
else
    echo "  gpt2-xl q8: peak RSS ${peak:-?} MB, OVER 2.5 GB (or failed, exit $xl)"; status=1
fi
exit $status
