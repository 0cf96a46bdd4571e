# Two commands on a fresh machine:
#   make demo   set up .venv and run the quickstart recipe (embedded demo data, no GPU, no hub)
#   make test   set up .venv and run the linter and the test suite
VENV ?= .venv
PYTHON ?= python3
# A CPU build of torch; override for CUDA, e.g. make TORCH_SPEC="torch==2.13.0" TORCH_INDEX=...
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin

.PHONY: setup demo test lint format clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

demo: setup
	$(BIN)/emocompress run recipes/quickstart.yaml --fresh
	$(BIN)/emocompress bench runs/quickstart --runs 10 --warmup 2 --n-texts 64

test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format emocompress tui tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache
