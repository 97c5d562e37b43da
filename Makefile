# The README's two commands are `make demo` and `make test`; every target installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
# The project-local AiiDA configuration (.aiida/ in this folder) unless the caller chose another.
export AIIDA_PATH ?= $(CURDIR)
export PATH := $(BIN):$(PATH)

.PHONY: install test demo docs lint bench clean

$(INSTALLED): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned to the CPU build through the constraints file, for this environment only
	$(BIN)/pip install --quiet --constraint requirements/constraints.txt --editable '.[tests,docs]'
	touch $@

install: $(INSTALLED)

test: $(INSTALLED)
	$(BIN)/pytest

demo: $(INSTALLED)
	$(BIN)/aiida-unconmlip setup
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run docs/examples/silicon_phonons.py

docs: $(INSTALLED)
	PYTHONWARNINGS=ignore $(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python benchmarks/batched_vs_single.py

clean:
	rm -rf $(VENV) docs/_build .pytest_cache
