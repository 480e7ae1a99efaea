# npulab: two commands on a fresh machine.  `make demo` and `make test` each create .venv
# (if missing) and install the pinned package; re-running them on an installed tree is quick.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.npulab-installed
PIP    := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lab release bench clean help

help:
	@echo "make demo     install (once), print versions and the scorecard (plot in out/)"
	@echo "make test     install (once) and run unit tests, nbval on solutions/, release drift check"
	@echo "make lab      open the student labs in JupyterLab"
	@echo "make release  regenerate labs/ from solutions/"
	@echo "make bench    run every benchmark in benchmarks/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency files change (the package itself is installed editable).
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --disable-pip-version-check -q -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/npulab info
	@mkdir -p out
	$(BIN)/npulab scorecard --plot out/scorecard.png --csv out/scorecard.csv
	@echo
	@echo "Next: open the labs with 'make lab' (= $(BIN)/jupyter lab labs/)"

test: install
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-cell-timeout=600 \
		--nbval-sanitize-with tests/nbval_sanitize.cfg tests solutions $(PYTEST_ARGS)

# Unit tests only (no notebooks): the quick loop while developing.
test-fast: install
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

lab: install
	$(BIN)/jupyter lab labs/

release: install
	$(BIN)/npulab release solutions labs

bench: install
	@set -e; for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
