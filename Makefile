# The README's commands. `make run` and `make test` create .venv on first use.
#   make run     the pipeline on the bundled digits data (default config: hypertune.yaml)
#   make test    the whole test suite (two processes; TEST_WORKERS=1 for one)
#   make lock    re-resolve requirements.lock from requirements.in (needs the registry)
#   make bench   the quick benchmarks (about 15 min; makes a run first if needed); see BENCHMARKS.md
#   make image   build the Kubeflow image (needs a Docker engine): IMAGE=registry/name:tag

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
# Re-install when the lock or the package definition changes.
STAMP := $(VENV)/.installed

IMAGE ?= tfx-hypertune:latest

.PHONY: run test test-fast lock clean-runs image bench

run: $(STAMP)
	$(VENV)/bin/hypertune run --config hypertune.yaml $(ARGS)

# Two test processes, each test file whole in one of them (its module fixtures run once), the
# longest files first (tests/conftest.py orders them): see tests/README.md.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

$(STAMP): requirements.lock setup.py
	@test -x $(PY) || { \
	  python310="$$( (python3.10 -c 'import sys' >/dev/null 2>&1 && command -v python3.10) || \
	    ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10.*/bin/python 2>/dev/null | tail -n 1 || true)"; \
	  if [ -z "$$python310" ] && command -v uv >/dev/null; then python310="$$(uv python find 3.10 2>/dev/null || true)"; fi; \
	  if [ -z "$$python310" ]; then echo "error: CPython 3.10 not found (TFX 1.16 needs it); install it or put python3.10 on PATH" >&2; exit 1; fi; \
	  echo "creating $(VENV) with $$python310"; \
	  "$$python310" -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)
	$(VENV)/bin/uv pip compile --quiet --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_28 requirements.in -o requirements.lock

# The quick benchmark set (about 14 minutes on 2 cores, plus a `make run` if there is no run);
# BENCHMARKS.md says how each full result was produced. Input pipeline, search overhead and
# parallel trials read the data of the run `make run` made. bench/scale.py is not in the quick
# set (about 4 minutes for 1x and 10x; BENCHMARKS.md "Scale").
bench: $(STAMP)
	@test -f runs/hypertune-digits/metadata.sqlite || $(PY) -m tfx_hypertune.hypertune.cli run
	$(PY) bench/input_pipeline.py runs/hypertune-digits
	$(PY) bench/search_overhead.py runs/hypertune-digits --repeats 1
	$(PY) bench/parallel_trials.py runs/hypertune-digits --repeats 1
	$(PY) bench/search_efficiency.py --seeds 1 --datasets digits --algorithms hyperband_longest_first,random --no-stock
	$(PY) bench/pipeline_overhead.py --repeats 1

image:
	docker build -f kubeflow/Dockerfile -t $(IMAGE) .

clean-runs:
	rm -rf runs
