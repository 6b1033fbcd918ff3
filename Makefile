# srbench: everything a fresh machine with Python 3.11 needs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PRESET ?= quick
# Disk the install needs: .venv is 3.3 GB, plus pip's unpacking room.
MIN_FREE_GB ?= 4

.PHONY: run test test-fast test-slow setup setup-browser setup-bench clean help bench bench-smoke lock mutation mutation-tf

help:
	@echo "make run    - set up .venv and run the nightly pipeline on the offline 'quick' preset"
	@echo "make test   - set up .venv (and headless Chromium) and run the whole test suite"
	@echo "make test-fast - the suite without slow/browser tests"
	@echo "make mutation - mutmut over the core modules (MUTATE='sr_core.metrics*' for one), kill rate per module"
	@echo "make mutation-tf - mutmut over the TensorFlow-dependent functions (checkpoints, load_model), apart: slower"
	@echo "make lock   - re-pin every installed package into constraints.txt (used by make setup and the Dockerfile)"
	@echo "make bench  - run every benchmark (issue 12's figures) and regenerate BENCHMARKS.md (15 minutes on 2 cores;"
	@echo "              first installs the PyTorch peer, the 'bench' extra: ~4 GB with PyPI's CUDA wheels; NO_TORCH=1 skips it)"
	@echo "make bench-smoke - the benchmark suite at tiny sizes (seconds): checks it runs, writes to $(BENCH_SMOKE_OUT)"

$(BIN)/srbench: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(MIN_FREE_GB) ] || { \
	  echo "error: $(VENV) needs about $(MIN_FREE_GB) GB of disk (TensorFlow is 2 GB of it), but only $$free GB" \
	       "is free under $$(pwd); free some (old clones' .venv folders, ~/.cache/pip) or set MIN_FREE_GB=0 to try anyway" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,docker]'
	@touch $@

setup: $(BIN)/srbench

setup-browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  if [ -n "$$CI" ] && [ "$$CI" != false ] && [ "$$CI" != 0 ]; then \
	    echo "error: could not install Debian's chromium; CI must run the browser tests" >&2; exit 1; \
	  else \
	    echo "warning: could not install Debian's chromium; the browser tests will be skipped"; \
	  fi

run: setup
	$(BIN)/srbench run --preset $(PRESET)

test: setup setup-browser
	$(BIN)/python -m pytest -m "not slow" -q
	$(BIN)/python -m pytest -m slow -q

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser" -q

# Mutation testing (docs/testing.md). CPU-heavy: one module at a time on a shared machine, e.g.
#   make mutation MUTATE='sr_core.metrics*'
MUTATE ?= sr_core.metrics* sr_core.resize* sr_core.results* sr_core.crops* sr_core.report* sr_core.config* \
          sr_core.upscale* sr_core.registry* sr_core.export* sr_core.training.checkpoints*
MUTATION_JOBS ?= 2
mutation: setup
	$(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(foreach m,$(MUTATE),'$(m)')
	$(BIN)/python tests/mutation_summary.py --survivors

# The TensorFlow-dependent functions (Checkpoints, checkpoint_problem, load_model): mutmut's forkserver
# isolation in a scratch copy, each mutant importing TensorFlow itself (about 10 minutes on 2 cores).
mutation-tf: setup
	$(BIN)/python tests/mutation_tf.py --jobs $(MUTATION_JOBS)

BENCH_SMOKE_OUT ?= /tmp/srbench-bench-smoke
BENCH_ARGS ?=

setup-bench: setup
	$(if $(NO_TORCH),@echo "NO_TORCH set: the training figure runs without its PyTorch peer",$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,docker,bench]')

bench: setup-bench
	$(BIN)/python -m benchmarks --out benchmarks --markdown BENCHMARKS.md $(BENCH_ARGS)

bench-smoke: setup
	$(BIN)/python -m benchmarks --smoke --fresh --out $(BENCH_SMOKE_OUT) $(BENCH_ARGS)

# constraints.txt: every package pinned, for the worker image and reproducible installs.
lock: setup
	$(BIN)/pip install --quiet -e '.[dev,docker,tensorboard]'
	{ echo "# Pinned versions for GPU worker images (Dockerfile) and reproducible installs:"; \
	  echo "#   pip install -c constraints.txt -e '.[dev]'"; \
	  echo "# Regenerate with 'make lock'. Made with $$($(BIN)/python -V) on $$(uname -sm)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -viE '^(pip|setuptools|wheel)=='; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info mutants
