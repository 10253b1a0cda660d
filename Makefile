# Set-up is idempotent: every target below depends on it, so a fresh clone
# needs one command to run the default simulation and one to run the tests.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.emg-installed
SCENARIO ?= scenarios/default.toml
OUT     ?= runs/default

.PHONY: setup simulate solve test typecheck test-long bench clean

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The pinned solcjs (package.json + package-lock.json); scripts/solc wraps it for py-solc-x.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

simulate: setup
	$(BIN)/emg simulate $(SCENARIO) --out $(OUT)

solve: setup
	$(BIN)/emg solve $(SCENARIO)

# The suite, then the type check of the public packages (mypy, ~10 s).
test: setup
	$(BIN)/python -m pytest -q
	$(BIN)/mypy

typecheck: setup
	$(BIN)/mypy

# The long fuzzing profile: >= 10,000 Hypothesis state-machine steps.
test-long: setup
	EMG_FUZZ=long $(BIN)/python -m pytest -q tests/chain/test_market_machine.py

bench: setup
	$(BIN)/python scripts/bench.py gas
	$(BIN)/python scripts/bench.py solve
	$(BIN)/python scripts/bench.py chain

clean:
	rm -rf build runs .pytest_cache .hypothesis
