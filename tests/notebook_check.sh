#!/bin/sh
# Runs notebook/gpt.ipynb top to bottom (a copy: the committed one keeps its outputs) for
# make test. Every cell of the notebook asserts what it shows, so a cell that raises is a
# failure. Prints the summary line tests/run.sh adds up.
cd "$(dirname "$0")/.." || exit 1
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p tests/bin
# (no debugger warning about frozen modules from the kernel: see the Makefile's notebook rule)
if PYDEVD_DISABLE_FILE_VALIDATION=1 "$PYTHON" -m nbconvert --to notebook --execute \
        --ExecutePreprocessor.timeout=1800 \
        --output-dir tests/bin --output notebook_run.ipynb notebook/gpt.ipynb \
        > tests/bin/notebook_run.log 2>&1; then
    echo "notebook: 1 passed, 0 failed"
else
    tail -n 30 tests/bin/notebook_run.log
    echo "notebook: 0 passed, 1 failed"
    exit 1
fi
