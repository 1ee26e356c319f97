# gpt.h - build the examples, the tests and the benchmarks.
#   make / make example   ./train ./sample ./tokenize in the repository root
#   make test             build and run every test (ends with "N passed, N failed")
#   make bench            the benchmarks
#   make NO_OMP=1 ...     build without OpenMP
CC      ?= cc
OPT     ?= -O3 -march=native -mtune=generic -ffp-contract=fast -fno-math-errno
CFLAGS  ?= $(OPT) -std=c99 -Wall -Wextra -pedantic
LDLIBS  = -lm

# OpenMP when the compiler has it (a tiny probe compile), unless NO_OMP=1.
ifeq ($(NO_OMP),)
OMP_FLAG := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
endif
CFLAGS += $(OMP_FLAG)

EXAMPLES := $(patsubst examples/%.c,%,$(wildcard examples/*.c))
TESTS    := $(patsubst tests/%.c,tests/bin/%,$(wildcard tests/test_*.c))

.PHONY: all example test bench clean shakespeare gpt2
all example: $(EXAMPLES)

%: examples/%.c gpt.h
	$(CC) $(CFLAGS) -I. -o $@ $< $(LDLIBS)

tests/bin/%: tests/%.c gpt.h tests/test.h
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -I. -o $@ $< $(LDLIBS)

test: $(TESTS) $(EXAMPLES)
	@sh tests/run.sh $(TESTS)

clean:
	rm -rf tests/bin $(EXAMPLES)

# Benchmarks: every bench/bench_*.sh, each printing its own report (they build what they need).
bench: $(EXAMPLES)
	@for b in bench/bench_*.sh; do sh $$b || exit 1; done
