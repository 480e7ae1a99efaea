# npulab: two commands on a fresh machine.  `make demo` and `make test` each create .venv
# (if missing) and install the pinned package; re-running them on an installed tree is quick.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.npulab-installed
LAB_STAMP := $(VENV)/.npulab-lab-installed
PIP    := $(BIN)/python -m pip
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core; TEST_WORKERS=0 runs in this process only.
TEST_WORKERS ?= auto

.PHONY: install install-lab demo test test-fast lint docs lab release bench clean help sandbox browser

help:
	@echo "make demo     install what a student needs (once), print versions and the scorecard (plot in out/)"
	@echo "make test     install the developer extra (once) and run unit tests, nbval on solutions/, release drift check"
	@echo "make test-fast  the quick loop: unit tests without the ones marked slow (< 3 min on 2 cores)"
	@echo "make lint     ruff (rules in pyproject.toml [tool.ruff]) and mypy on npulab/ ([tool.mypy])"
	@echo "make docs     build the documentation site into build/docs (Sphinx, warnings are errors)"
	@echo "make lab      open the student labs in JupyterLab (--allow-root when run as root)"
	@echo "make sandbox  install bubblewrap, the autograder's OS sandbox (apt-get; sudo unless root)"
	@echo "make browser  install Chromium + chromedriver for the grading page's browser test (apt-get)"
	@echo "make release  regenerate labs/ (English) and labs/ko/ (Korean) from solutions/, and course/lectures/ko/"
	@echo "make bench    run every benchmark in benchmarks/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency files change (the package itself is installed editable).
# Two stamps: a student's install (base dependencies: the labs, the engines, `npulab check`)
# and the developer's (the `dev` extra: pytest, nbval, nbgrader and the peer tools).
$(LAB_STAMP): $(BIN)/python pyproject.toml constraints.txt
	@echo "Installing npulab and its runtime dependencies into $(VENV) (a few minutes the first time)..."
	$(PIP) install --disable-pip-version-check -c constraints.txt -e .
	@touch $(LAB_STAMP)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --disable-pip-version-check -q -c constraints.txt -e ".[dev]"
	@touch $(STAMP) $(LAB_STAMP)

install: $(STAMP)

install-lab: $(LAB_STAMP)

demo: install-lab
	$(BIN)/npulab info
	@mkdir -p out
	$(BIN)/npulab scorecard --plot out/scorecard.png --csv out/scorecard.csv
	@echo
	@echo "Next: open the labs with 'make lab' (= $(BIN)/jupyter lab labs/)"

# -n: the tests on every core.  --dist loadscope keeps a module (a notebook's nbval cells: one
# kernel) or a test class on one worker; tests/test_lab_mutants.py has one class a lab.
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=15 \
		--nbval --nbval-current-env --nbval-cell-timeout=600 \
		--nbval-sanitize-with tests/nbval_sanitize.cfg tests solutions $(PYTEST_ARGS)

# The quick loop while developing: unit tests without notebooks and without the tests marked
# slow (the mutant test, the class grader, nbgrader, peer-tool cross-checks; the list is in
# tests/conftest.py).  `make test` still runs everything.
test-fast: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m "not slow" tests $(PYTEST_ARGS)

# Lint: ruff's rule set and mypy's settings live in pyproject.toml; pre-commit runs the same.
lint: install
	@status=0; $(BIN)/ruff check . || status=1; $(BIN)/mypy || status=1; exit $$status

# The documentation site (docs/conf.py): API reference from the docstrings, architecture, CLI
# reference, the student labs with their stored outputs (never executed, never solutions/).
# -W: any warning (a broken reference, an undocumented public name) fails the build.
docs: install
	$(BIN)/sphinx-build -b html -E -n -W --keep-going -q docs build/docs
	@echo "docs: build/docs/index.html"

# JupyterLab refuses to run as root unless told; in a container you often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install-lab
	$(BIN)/jupyter lab $(ROOT_FLAG) labs/

# The autograder's OS sandbox (bubblewrap, Debian/Ubuntu): as root directly, else with sudo.
sandbox:
	@if command -v bwrap >/dev/null 2>&1; then echo "bubblewrap is installed: $$(command -v bwrap)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q bubblewrap; \
	else sudo apt-get update -q && sudo apt-get install -y -q bubblewrap; fi

# Chromium and its driver (Debian/Ubuntu) for the grading page's browser test (npulab formgrade).
browser:
	@if command -v chromedriver >/dev/null 2>&1; then echo "chromedriver is installed: $$(command -v chromedriver)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium chromium-driver; \
	else sudo apt-get update -q && sudo apt-get install -y -q chromium chromium-driver; fi

release: install
	$(BIN)/npulab release solutions labs
	$(BIN)/python -m npulab.i18n build --lang ko

bench: install
	@set -e; for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build docs/api docs/labs *.egg-info
