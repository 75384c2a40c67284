# Two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m xtal.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check xtal tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]' || true
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/refine.py
	$(BIN)/python bench/cli.py

lint: $(STAMP)
	$(BIN)/ruff check xtal tests bench

clean:
	rm -rf $(VENV) demo-output
