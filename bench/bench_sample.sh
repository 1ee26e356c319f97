#!/bin/sh
# Sampling speed of GPT-2 124M with the KV cache, against the memory-bandwidth bound.
# Builds bench/bin/bench_sample with the Makefile's flags and runs it; arguments go to the
# program (--tokens N, --runs R, --mem-gb G). Needs about 2.5 GB of memory and a minute.
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}
OPT=${OPT:-$(sed -n 's/^OPT *?= *//p' Makefile)}
OMP=""
if [ -z "$NO_OMP" ] && echo 'int main(void){return 0;}' | $CC -fopenmp -x c - -o /dev/null \
        2>/dev/null; then
    OMP=-fopenmp
fi
mkdir -p bench/bin
$CC $OPT -std=c99 -Wall -Wextra -pedantic $OMP -I. -o bench/bin/bench_sample \
    bench/bench_sample.c -lm || exit 1
echo "== bench_sample: $CC $OPT $OMP"
bench/bin/bench_sample "$@"
