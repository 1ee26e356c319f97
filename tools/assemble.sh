#!/bin/sh
# Development only: concatenates parts/*.h (sorted by name) into gpt.h atomically.
cd "$(dirname "$0")/.." || exit 1
[ -d parts ] || { echo "no parts/ folder: gpt.h is edited directly" >&2; exit 1; }
tmp=gpt.h.tmp.$$
cat parts/*.h > "$tmp" && mv "$tmp" gpt.h
