# Two commands on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synergy-installed
# pip's local mirrors print a harmless warning per missing package; keep the log readable.
PIP_FILTER := grep -v "is ignored: it is neither a file nor a directory" || true

.PHONY: setup demo test test-slow test-all test-under-load lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing synergy and its dependencies into $(VENV) (first time: a few minutes)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 | $(PIP_FILTER)
	@touch $(STAMP)

demo: setup
	$(BIN)/synergy measure torchvision:resnet18

# The everyday suite: everything but the tests marked slow (whole-zoo exports, long journeys).
test: setup
	$(BIN)/python -m pytest -q -m "not slow"

# The slow tests alone (the fleet campaign on a real broker, whole-zoo exports): CI runs them after `test`.
test-slow: setup
	$(BIN)/python -m pytest -q -m slow

test-all: setup
	$(BIN)/python -m pytest -q

# The suite three times in a row while another process keeps every core busy (stress-ng when installed,
# else one Python busy loop per core): timing assumptions that only hold on a quiet machine fail here.
# The load runs in its own session and is stopped with its whole process group, whatever the outcome.
ROUND ?= $(BIN)/python -m pytest -q -m "not slow" -p no:cacheprovider
BUSY_LOOP := import multiprocessing as m, sys; [m.Process(target=exec, args=("while True: pass",)).start() for _ in range(int(sys.argv[1]))]

test-under-load: setup
	@cores=$$(nproc); \
	if command -v stress-ng >/dev/null 2>&1; then setsid stress-ng --cpu $$cores --quiet & \
	else setsid $(BIN)/python -c '$(BUSY_LOOP)' $$cores & fi; \
	load=$$!; trap 'kill -- -$$load 2>/dev/null || true' EXIT; \
	for round in 1 2 3; do echo "== round $$round of 3, $$cores core(s) busy"; $(ROUND); done

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

bench: setup
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
