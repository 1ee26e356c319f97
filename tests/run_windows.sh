#!/bin/sh
# Builds the library's tests for Windows with MinGW-w64 and runs them under Wine: the checks
# of saving (MoveFileExA instead of rename), paths and files there. Not part of `make test`
# (it needs two large packages):  apt-get install gcc-mingw-w64-x86-64 wine64
# Run from the repository root: sh tests/run_windows.sh. The programs that start ./train or
# ./sample (test_generate, test_train) and test_build are left out.
cd "$(dirname "$0")/.." || exit 1
CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
WINE=${WINE:-$(command -v wine64 || command -v wine || echo /usr/lib/wine/wine64)}
command -v "$CC" >/dev/null || { echo "no $CC (apt-get install gcc-mingw-w64-x86-64)"; exit 1; }
[ -x "$WINE" ] || command -v "$WINE" >/dev/null || { echo "no wine (apt-get install wine64)"; exit 1; }
mkdir -p tests/bin/windows
export WINEDEBUG=-all WINEPREFIX="${WINEPREFIX:-$PWD/tests/bin/windows/prefix}"
progs=""
for t in test_core test_checkpoint test_tokenizer test_golden; do
    $CC -O2 -std=c99 -Wall -Wextra -pedantic -Werror -I. -o tests/bin/windows/$t.exe \
        tests/$t.c -lpthread || exit 1
    # a wrapper for run.sh: Windows ends lines with \r\n, the summary's pattern wants \n
    printf '#!/bin/sh\n"%s" tests/bin/windows/%s.exe > tests/bin/windows/%s.out 2>&1\nrc=$?\n%s\nexit $rc\n' \
        "$WINE" "$t" "$t" "tr -d '\\r' < tests/bin/windows/$t.out" > tests/bin/windows/$t
    chmod +x tests/bin/windows/$t
    progs="$progs tests/bin/windows/$t"
done
sh tests/run.sh $progs
