# gpt.h - build the examples, the tests and the benchmarks.
#   make / make example   ./train ./sample ./tokenize ./train_min in the repository root
#   make test             build and run every test (ends with "N passed, N failed")
#   make bench            the benchmarks
#   make notebook         run notebook/gpt.ipynb, refreshing its outputs
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
# test_core and test_quant once more with the plain-C tiles of the fast products (the matmul's,
# the Q8 product's), the ones that compilers without GNU C vector types get (>>speed, >>small)
TESTS    += tests/bin/test_core_novec tests/bin/test_quant_novec

# The library's tests once more under AddressSanitizer and UndefinedBehaviorSanitizer (every
# out-of-bounds access, use after free, leak, signed overflow or misaligned read is a
# failure), when clang with its sanitizer runtime is installed; SANITIZE=0 leaves them out.
# (test_build builds, test_train and test_programs drive the programs: none of them tests the
# library's memory itself.)
SAN_CC   ?= clang
SAN_FLAGS = -g -O1 -std=c99 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
ifneq ($(SANITIZE),0)
SAN_OK   := $(shell echo 'int main(void){return 0;}' | $(SAN_CC) $(SAN_FLAGS) -x c - -o /dev/null 2>/dev/null && echo yes)
SAN_OMP  := $(shell echo 'int main(void){return 0;}' | $(SAN_CC) $(SAN_FLAGS) -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp)
endif
ifeq ($(SAN_OK),yes)
SAN_TESTS := $(patsubst tests/%.c,tests/bin/san_%,$(filter-out tests/test_build.c tests/test_train.c tests/test_programs.c,$(wildcard tests/test_*.c)))
endif

# The companion notebook runs in make test too when Debian's Python has nbconvert and
# ipykernel (PyTorch optional): tests/notebook_check.sh executes a copy (under 3 minutes on
# 2 cores). NOTEBOOK=0 leaves it out.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
ifneq ($(NOTEBOOK),0)
NB_OK := $(shell $(PYTHON) -c 'import nbconvert, ipykernel' 2>/dev/null && echo yes)
endif
ifeq ($(NB_OK),yes)
NOTEBOOK_TEST := tests/notebook_check.sh
endif

.PHONY: all example test bench clean shakespeare gpt2 notebook
all example: $(EXAMPLES)

%: examples/%.c gpt.h
	$(CC) $(CFLAGS) -I. -o $@ $< $(LDLIBS)

tests/bin/%: tests/%.c gpt.h tests/test.h tests/test_alloc.h
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -I. -o $@ $< $(LDLIBS)

tests/bin/%_novec: tests/%.c gpt.h tests/test.h tests/test_alloc.h
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) -DGPT_NO_VECTOR_EXTENSIONS -I. -o $@ $< $(LDLIBS)

tests/bin/san_%: tests/%.c gpt.h tests/test.h tests/test_alloc.h
	@mkdir -p tests/bin
	$(SAN_CC) $(SAN_FLAGS) $(SAN_OMP) -I. -o $@ $< $(LDLIBS)

test: $(TESTS) $(SAN_TESTS) $(EXAMPLES)
	@PYTHON=$(PYTHON) sh tests/run.sh $(TESTS) $(SAN_TESTS) $(NOTEBOOK_TEST)

# notebook/gpt.ipynb run top to bottom with its outputs refreshed in place (commit the result
# after changing the notebook). Its files go to notebook/out/.
# PYDEVD_DISABLE_FILE_VALIDATION: the kernel's debugger (debugpy) otherwise prints a warning
# about Python 3.11's frozen modules on every run; the notebook does not use the debugger.
notebook: $(EXAMPLES)
	cd notebook && PYDEVD_DISABLE_FILE_VALIDATION=1 $(PYTHON) -m nbconvert --to notebook \
	    --execute --inplace --ExecutePreprocessor.timeout=1800 gpt.ipynb

clean:
	rm -rf tests/bin $(EXAMPLES)

# Benchmarks: every bench/bench_*.sh, each printing its own report (they build what they need).
bench: $(EXAMPLES)
	@for b in bench/bench_*.sh; do sh $$b || exit 1; done

# OpenAI's GPT-2 124M from the Hugging Face hub (about 550 MB) into gpt2/, for ./sample. A
# first small request says at once, in one line, when the hub cannot be reached (offline,
# or a proxy); nothing is written then. Each file is fetched once (to a .part file, renamed
# when complete); run again to finish a broken download. Needs curl; no test needs the
# network.
GPT2_URL   := https://huggingface.co/gpt2/resolve/main
GPT2_FILES := model.safetensors config.json vocab.json merges.txt
gpt2:
	@command -v curl >/dev/null 2>&1 || { echo "make gpt2: needs curl"; exit 1; }
	@curl -sSfL --max-time 30 -o /dev/null -r 0-0 $(GPT2_URL)/config.json 2>/dev/null || { \
	    echo "make gpt2: cannot reach $(GPT2_URL) (offline? behind a proxy, set" \
	         "https_proxy); nothing was downloaded"; exit 1; }
	@mkdir -p gpt2
	@for f in $(GPT2_FILES); do \
	    if [ -s gpt2/$$f ]; then echo "gpt2/$$f: already here"; continue; fi; \
	    echo "downloading $(GPT2_URL)/$$f"; \
	    curl -L --fail --retry 3 --progress-bar -o gpt2/$$f.part $(GPT2_URL)/$$f && \
	        mv gpt2/$$f.part gpt2/$$f || { rm -f gpt2/$$f.part; rmdir gpt2 2>/dev/null; \
	            echo "make gpt2: downloading $$f failed; run it again to go on"; exit 1; }; \
	done
	@echo "GPT-2 124M is in gpt2/. Try (after make example):"
	@echo "  ./sample --model gpt2/model.safetensors --prompt \"Hello, I'm a language model,\""

# Tiny Shakespeare as input.txt, the text ./train reads by default. It ships in data/ (1.1 MB,
# public domain; data/SOURCE-tinyshakespeare.md says where it comes from), so nothing is
# downloaded; ./train also reads it by itself when there is no input.txt.
shakespeare:
	@if [ -s input.txt ]; then echo "input.txt: already here (remove it for Tiny Shakespeare)"; \
	else cat data/tinyshakespeare.txt > input.txt && \
	    echo "input.txt: Tiny Shakespeare, copied from data/tinyshakespeare.txt"; fi
