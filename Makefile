# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   restore the sample catalog on the embedded engine (Sail, local Delta, local MLflow)
#   make test   run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench venv clean

venv: $(STAMP)

# torch is pinned first so that pip never resolves a CUDA build on a CPU machine. 2.13.0 is the tested
# version; the fallback (a platform without that wheel) is pyproject.toml's range.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q "torch==2.13.0" || $(PY) -m pip install -q "torch>=2.4,<2.14"
	$(PY) -m pip install -q -c constraints.txt -e ".[local,dev,niqe,shots,gguf]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/seedvr-demo

test: $(STAMP)
	$(PY) -m ruff check seedvr udfs jobs tests bench notebooks
	$(PY) -m pytest -q

bench: $(STAMP)
	for b in bench/bench_*.py; do $(PY) $$b --tiny || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
