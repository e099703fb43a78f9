# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint browser bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

## run: create the environment, build the demo force area on first start, serve it
run: $(STAMP)
	$(BIN)/hotspot serve --demo --host $(HOST) --port $(PORT)

## test: create the environment, lint, type-check, get a browser, run the whole suite
test: lint browser
	$(BIN)/python -m pytest

## browser: Debian's chromium for the browser tests (Playwright drives it; it downloads nothing)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests (apt-get install chromium)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium could not be installed: the browser tests need it" >&2; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## bench: the benchmarks (not part of test: these machines are shared and noisy)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.hotspots
	$(BIN)/python -m bench.pages

clean:
	rm -rf $(VENV) build *.egg-info
