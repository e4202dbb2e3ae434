# Two entry points for a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest system-deps boundaries clean lock

LOCK := requirements.lock

# Installs the versions in requirements.lock (tested together); `make lock` refreshes them.
$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $(STAMP)

# Refresh requirements.lock: the newest versions pyproject.toml allows, resolved in a clean venv.
lock:
	rm -rf .lock-venv && $(PY) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^iszones' > $(LOCK)
	rm -rf .lock-venv

# Debian packages the browser tests and PDF checks need (chromium, poppler-utils).
system-deps:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null; \
	  else echo "Install Debian packages first: sudo apt-get install chromium poppler-utils"; exit 1; fi; }

run: $(STAMP)
	$(BIN)/iszones app

LINTED := iszones tests app.py benchmarks

lint: $(STAMP)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy iszones app.py

pytest: $(STAMP) system-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

boundaries: $(STAMP)
	$(BIN)/iszones build-boundaries

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .mypy_cache .ruff_cache
