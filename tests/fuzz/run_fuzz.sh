#!/bin/sh
# tests/fuzz/run_fuzz.sh - builds the libFuzzer harnesses and fuzzes each for a while.
#
#   sh tests/fuzz/run_fuzz.sh [SECONDS] [HARNESS...]   fuzz each harness SECONDS (default 60)
#   sh tests/fuzz/run_fuzz.sh --replay                 run tests/fuzz/crashes/* once each
#
# HARNESS is any of: checkpoint json st_write encode vocab resume options (default: all, one after
# the other). Needs clang with libFuzzer (clang-14 or later). Everything it makes goes to
# $FUZZ_WORK (default /tmp/gpt-fuzz): bin/ the harnesses, corpus/<harness>/ the corpora
# (seeded by make_seeds on the first run, kept and grown by later runs), artifacts/<harness>/
# the inputs that failed, log/<harness>.txt the fuzzer's output. Exit status 1 when a
# harness found a crash, leak, timeout or out-of-memory.
set -u
cd "$(dirname "$0")/../.." || exit 2          # the repository root: data/ and tests/
WORK=${FUZZ_WORK:-/tmp/gpt-fuzz}
CC=${CC_FUZZ:-clang}
ALL="checkpoint json st_write encode vocab resume options"
FLAGS="-g -O1 -std=c99 -Wall -Wextra -pedantic -fno-omit-frame-pointer"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

dict_of() {
    case $1 in
        checkpoint|json|resume) echo "-dict=tests/fuzz/safetensors.dict" ;;
        encode|vocab) echo "-dict=tests/fuzz/vocab.dict" ;;
        *) echo "" ;;
    esac
}

mkdir -p "$WORK/bin" "$WORK/log" || exit 2
for h in $ALL; do
    $CC $FLAGS $SAN -I. "tests/fuzz/fuzz_$h.c" -o "$WORK/bin/fuzz_$h" -lm || exit 2
done

if [ "${1:-}" = "--replay" ]; then
    # Each reproducer is named <harness>_<what>; it fails (exit status not 0) until fixed.
    status=0
    for f in tests/fuzz/crashes/*; do
        [ -f "$f" ] || continue
        h=$(basename "$f" | sed 's/_.*//')
        case " $ALL " in *" $h "*) ;; *) continue ;; esac
        if FUZZ_ALLOC_ABORT=1 "$WORK/bin/fuzz_$h" -rss_limit_mb=2048 \
               -timeout=10 "$f" > "$WORK/log/replay.txt" 2>&1
        then echo "fixed:  $f"
        else echo "FAILS:  $f ($(grep -m1 -E 'ERROR|fuzz:' "$WORK/log/replay.txt"))"; status=1
        fi
    done
    exit $status
fi

SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
LIST=${*:-$ALL}
if [ ! -d "$WORK/corpus" ]; then
    cc -std=c99 -O1 -I. tests/fuzz/make_seeds.c -o "$WORK/bin/make_seeds" -lm || exit 2
    "$WORK/bin/make_seeds" "$WORK/corpus" || exit 2
fi

found=0
for h in $LIST; do
    mkdir -p "$WORK/corpus/$h" "$WORK/artifacts/$h"
    echo "fuzz_$h: $SECONDS_EACH s"
    # -rss_limit_mb: gpt.h may not need more for any input; FUZZ_ALLOC_CAP (fuzz.h) refuses
    # single blocks above 256 MB so that files claiming huge models give GPT_ERR_NOMEM.
    "$WORK/bin/fuzz_$h" $(dict_of "$h") -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -report_slow_units=1 -print_final_stats=1 \
        -artifact_prefix="$WORK/artifacts/$h/" "$WORK/corpus/$h" > "$WORK/log/$h.txt" 2>&1
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb' \
        "$WORK/log/$h.txt" | sed 's/^/    /'
    for a in "$WORK/artifacts/$h"/crash-* "$WORK/artifacts/$h"/leak-* \
             "$WORK/artifacts/$h"/timeout-* "$WORK/artifacts/$h"/oom-*; do
        [ -f "$a" ] || continue
        echo "    FOUND $a"
        found=1
    done
done
[ "$found" -eq 0 ] || { echo "see $WORK/log/ for the reports"; exit 1; }
echo "no crash, leak, timeout or out-of-memory"
