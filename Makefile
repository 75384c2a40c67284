# Two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean gsas2

# GSAS-II (second refinement engine, `--engine gsas2`): from its public repository by
# default; CI points GSAS2_SOURCE at the tarball in ../shared/vendor.  Building it needs
# gfortran, installed here when missing and we are root (Debian/Ubuntu apt-get).
GSAS2_SOURCE ?= GSAS-II @ git+https://github.com/AdvancedPhotonSource/GSAS-II@v5.7.9

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# an editable install writes no bytecode (a regular one does): without it every
	@# start compiles xtal's modules again when PYTHONDONTWRITEBYTECODE is set
	$(BIN)/python -m compileall -q xtal
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
	$(BIN)/python bench/series.py

gsas2: $(STAMP)
	@if $(BIN)/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('GSASII') is None)"; then \
	  echo "GSAS-II is already installed in $(VENV) (pip uninstall GSAS-II to rebuild)"; exit 0; fi; \
	if ! command -v gfortran >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing gfortran (needed to build GSAS-II)"; \
	    apt-get update -qq && apt-get install -y -qq gfortran >/dev/null || exit 1; \
	  else \
	    echo "make gsas2: GSAS-II needs a Fortran compiler: install gfortran (e.g. 'sudo apt-get install gfortran', 'brew install gcc' or 'conda install gfortran') and run make gsas2 again" >&2; \
	    exit 1; \
	  fi; \
	fi; \
	echo "building GSAS-II from $(GSAS2_SOURCE) (a minute or more)"; \
	$(BIN)/python -m pip install --quiet "$(GSAS2_SOURCE)" && \
	cd "$$(mktemp -d)" && $(abspath $(BIN))/python -c "import GSASII.GSASIIscriptable" >/dev/null && \
	echo "GSAS-II installed: xtal refine ... --engine gsas2"

lint: $(STAMP)
	$(BIN)/ruff check xtal tests bench

clean:
	rm -rf $(VENV) demo-output
