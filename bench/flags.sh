# Sourced by the bench scripts (from the repository root): the compiler and flags the Makefile
# builds the programs with, so that a benchmark measures what a user runs. CC, OPT and NO_OMP
# may be set in the environment, as for make. Sets CC, OPT and OMP (-fopenmp or empty).
CC=${CC:-cc}
OPT=${OPT:-$(sed -n 's/^OPT *?= *//p' Makefile)}
OMP=""
if [ -z "$NO_OMP" ] && echo 'int main(void){return 0;}' | $CC -fopenmp -x c - -o /dev/null \
        2>/dev/null; then
    OMP=-fopenmp
fi
