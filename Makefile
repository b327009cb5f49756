# Two commands on a fresh machine: `make repro` (set up, run the pipeline, print the report's path)
# and `make test` (set up, run every test). Set-up is automatic: a virtual environment in .venv with
# the package and its pinned dependencies (constraints.txt).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: setup repro test lab bench clean help

help:
	@echo "make repro   set up, run the pipeline on the synthetic default, print the report's path"
	@echo "make test    set up, run the whole test suite"
	@echo "make lab     JupyterLab on the project's kernel"
	@echo "make bench   benchmarks against the peers (ratios)"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required: set PYTHON=/path/to/python3")'
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

repro: setup
	@test -d .git || git init -q
	$(BIN)/dvc repro
	@echo ""
	@echo "Report: $(CURDIR)/reports/validation_report.html"

NOTEBOOKS := $(wildcard notebooks/*.ipynb)

test: setup
	$(BIN)/python -m pytest tests $(if $(NOTEBOOKS),--nbmake --nbmake-timeout=900 $(NOTEBOOKS),)

lab: setup
	$(BIN)/python -m ipykernel install --sys-prefix --name validation --display-name "Python (validation)" >/dev/null
	$(BIN)/jupyter lab notebooks/

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
