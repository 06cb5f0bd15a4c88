# Dateline: `make demo` (install, ingest the samples, open the chat) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
EXTRAS ?= dev,bench,local-model
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: install test lint typecheck pytest demo serve bench clean

$(BIN)/python:
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed ($(PY) not found); set PY=/path/to/python3.11"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned in pyproject.toml to the CPU build (an unpinned torch pulls GBs of CUDA).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

demo: install
	$(BIN)/dateline ingest samples/
	$(BIN)/dateline serve

serve: install
	$(BIN)/dateline serve

bench: install
	$(BIN)/python evals/bench_ingest.py

clean:
	rm -rf $(VENV) data artifacts .pytest_cache .mypy_cache .ruff_cache
