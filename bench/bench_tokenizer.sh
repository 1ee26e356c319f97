#!/bin/sh
# Tokenizer speed: gpt.h's encoder against OpenAI's tiktoken (Node), single-threaded, on the
# same file: Tiny Shakespeare by default (../shared/data/tinyshakespeare.txt, else input.txt),
# or the file given as $1. Prints both median rates in MB/s and their ratio. tiktoken is
# skipped when node or tools/node_modules (cd tools && npm ci) is missing.
FILE=$1
case "$FILE" in ""|/*) ;; *) FILE="$PWD/$FILE" ;; esac     # before the cd below
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}
OPT=${OPT:--O3 -march=native}
SHAKESPEARE=../shared/data/tinyshakespeare.txt
[ -z "$FILE" ] && [ -f $SHAKESPEARE ] && FILE=$SHAKESPEARE
[ -z "$FILE" ] && [ -f input.txt ] && FILE=input.txt
if [ ! -f "$FILE" ]; then
    echo "bench_tokenizer: no text (give a file, or put input.txt here)" >&2
    exit 1
fi
mkdir -p bench/bin
$CC $OPT -std=c99 -Wall -Wextra -pedantic -I. -o bench/bin/bench_tokenizer \
    bench/bench_tokenizer.c -lm || exit 1
echo "== bench_tokenizer: $CC $OPT, one thread, $FILE"
ours=$(bench/bin/bench_tokenizer "$FILE") || exit 1
echo "$ours"
if command -v node >/dev/null 2>&1 && [ -d tools/node_modules/tiktoken ]; then
    theirs=$(node bench/tiktoken_rate.js "$FILE") || exit 1
    echo "$theirs"
    a=$(echo "$ours" | awk '{ print $2 }'); b=$(echo "$theirs" | awk '{ print $2 }')
    awk -v a="$a" -v b="$b" 'BEGIN { printf "ratio gpt.h / tiktoken: %.1fx\n", a / b }'
else
    echo "tiktoken: skipped (needs node and tools/node_modules: cd tools && npm ci)"
fi
