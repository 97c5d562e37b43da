# The README's two commands are `make demo` and `make test`; every target installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
# The project-local AiiDA configuration (.aiida/ in this folder) unless the caller chose another.
export AIIDA_PATH ?= $(CURDIR)
export PATH := $(BIN):$(PATH)

.PHONY: install system-packages test test-fast test-cluster services services-stop services-status demo docs lint bench bench-cluster kappa-yardstick \
	reference-data anharmonic-data sic-data model model-card sic-model-card clean

# Quantum ESPRESSO (pw.x, ph.x) and its pseudopotentials, from Debian, for the DFT reference data and its tests.
system-packages:
	@command -v pw.x >/dev/null && test -d /usr/share/espresso/pseudo || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		quantum-espresso quantum-espresso-data openmpi-bin; }

$(INSTALLED): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned to the CPU build through the constraints file, for this environment only
	$(BIN)/pip install --quiet --constraint requirements/constraints.txt --editable '.[tests,docs,dft]'
	touch $@

install: $(INSTALLED)

# Both tiers, the fast one first: pure functions, validators, parsers (under 5 minutes), then end to end (marker
# slow, set in tests/conftest.py). The cluster tier is test-cluster.
test: test-fast
	$(BIN)/pytest -m 'slow and not cluster'

test-fast: $(INSTALLED) system-packages
	$(BIN)/pytest -m 'not slow and not cluster'

# PostgreSQL, RabbitMQ, a one-node SLURM cluster and sshd on loopback, the profile unconmlip-cluster and its daemon
# (services/cluster.py; state in .services/). Needs root, as on the development and CI machines.
services: $(INSTALLED)
	$(BIN)/python services/cluster.py start

services-stop: $(INSTALLED)
	$(BIN)/python services/cluster.py stop

services-status: $(INSTALLED)
	$(BIN)/python services/cluster.py status

# The production path and its faults, on the services (marker cluster).
test-cluster: services
	UNCONMLIP_TEST_PROFILE=unconmlip-cluster $(BIN)/pytest -m cluster tests/cluster

demo: $(INSTALLED)
	$(BIN)/aiida-unconmlip setup
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run docs/examples/silicon_phonons.py

docs: $(INSTALLED)
	PYTHONWARNINGS=ignore $(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The DFT data behind the default model (about 1.5 h of pw.x on 2 cores), written to an AiiDA archive.
reference-data: $(INSTALLED) system-packages
	$(BIN)/aiida-unconmlip setup --with-dft
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run aiida_unconmlip/models/recipes/silicon_reference_data.py

# DFT of Si cells rattled by up to 0.2 A, where kappa's third derivatives live (about 40 minutes of pw.x on 2 cores),
# written to an AiiDA archive; the better default model learns from it too.
anharmonic-data: $(INSTALLED) system-packages
	$(BIN)/aiida-unconmlip setup --with-dft
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run aiida_unconmlip/models/recipes/silicon_anharmonic_data.py

# The DFT data of SiC (3C and 2H: rattled cells, DFPT with Born charges; hours of pw.x on 2 cores), written to an
# AiiDA archive with its provenance; what the SiC model learns from and is judged by.
sic-data: $(INSTALLED) system-packages
	$(BIN)/aiida-unconmlip setup --with-dft
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run aiida_unconmlip/models/recipes/silicon_carbide_data.py

# The DFT yardstick of Si's kappa: fc2 and fc3 from pw.x forces of 24 16-atom supercells (about 50 minutes of pw.x on
# 2 cores), written to an AiiDA archive with its provenance.
kappa-yardstick: $(INSTALLED) system-packages
	$(BIN)/aiida-unconmlip setup --with-dft
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run aiida_unconmlip/models/recipes/silicon_kappa_yardstick.py

# An embedded PET, trained with unconmlip.train on the archived DFT data as its recipe says (MODEL=pet-si-pbe for the
# first one; about 40-50 minutes on 2 cores): writes the model file, its registry entry and the archive of its
# provenance; MODEL_FLAGS=--default makes it the registry's default.
MODEL ?= pet-si-pbe-2
MODEL_FLAGS ?=
model: $(INSTALLED)
	$(BIN)/aiida-unconmlip setup
	$(BIN)/verdi daemon status >/dev/null 2>&1 || $(BIN)/verdi daemon start 1
	$(BIN)/verdi run aiida_unconmlip/models/recipes/default_model.py $(MODEL) $(MODEL_FLAGS)

# The numbers and the figure of a model's card (docs/default-model.rst); the default model unless CARD_MODEL names one.
CARD_MODEL ?=
model-card: $(INSTALLED)
	$(BIN)/aiida-unconmlip setup
	$(BIN)/verdi run benchmarks/default_model_card.py $(CARD_MODEL)

# The numbers and figures of the SiC model's card (benchmarks/results/sic-model-card-cpu.json; docs/dft.rst), against
# the DFPT of make sic-data; the model as make model MODEL=pet-sic-pbe registered it.
sic-model-card: $(INSTALLED)
	$(BIN)/aiida-unconmlip setup
	$(BIN)/verdi run benchmarks/sic_model_card.py

bench: $(INSTALLED)
	$(BIN)/python benchmarks/phonon_bench.py

# 50 evaluate jobs at once through SLURM over SSH: throughput and the daemon's overhead per job.
bench-cluster: services
	$(BIN)/python benchmarks/cluster_load.py

clean:
	rm -rf $(VENV) docs/_build .pytest_cache
