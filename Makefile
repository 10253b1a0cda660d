# Set-up is idempotent: every target below depends on it, so a fresh clone
# needs one command to run the default simulation and one to run the tests.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.emg-installed
SCENARIO ?= scenarios/default.toml
OUT     ?= runs/default

.PHONY: setup simulate solve compile test test-fast typecheck test-long bench clean chromium

# The venv runs emg (the compiled contracts ship in agents/chain/artifacts/);
# node_modules (the pinned solcjs and Anvil) is for `emg compile`, `--node anvil` and the tests.
setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The pinned solcjs (scripts/solc wraps it for py-solc-x) and Anvil (the binary ships in
# the npm package; agents/chain/node.py finds it): package.json + package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

simulate: $(STAMP)
	mkdir -p $(dir $(OUT))  # emg refuses an --out whose parent is missing (a typo'd path)
	$(BIN)/emg simulate $(SCENARIO) --out $(OUT)

solve: $(STAMP)
	$(BIN)/emg solve $(SCENARIO)

# After editing contracts/*.sol: recompile and rewrite the shipped artifacts
# (agents/chain/artifacts/contracts.json); commit that file with the sources.
compile: setup
	$(BIN)/emg compile

# Headless Chromium for the HTML report test, where apt-get can install it (the test skips
# with a message where it is missing).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	    || echo "make: could not install chromium; the report test will skip (fail in CI)" >&2

# The suite, then the type check of the public packages (mypy, ~10 s).
test: setup chromium
	$(BIN)/python -m pytest -q
	$(BIN)/mypy

# The fast loop: everything but the tests marked slow (simulations, compiler, state machine, install).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

typecheck: setup
	$(BIN)/mypy

# The long fuzzing profiles: >= 10,000 Hypothesis state-machine steps; 1,000 hostile
# scenario documents through the loader and both commands (counts printed).
test-long: setup
	EMG_FUZZ=long $(BIN)/python -m pytest -q tests/chain/test_market_machine.py
	EMG_FUZZ=long $(BIN)/python -m pytest -q -s tests/app/test_fuzz_cli.py

bench: setup
	$(BIN)/python scripts/bench.py gas
	$(BIN)/python scripts/bench.py solve
	$(BIN)/python scripts/bench.py chain

clean:
	rm -rf build runs .pytest_cache .hypothesis
