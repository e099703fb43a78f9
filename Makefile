# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

## run: create the environment, build the demo force area on first start, serve it
run: $(STAMP)
	$(BIN)/hotspot serve --demo --host $(HOST) --port $(PORT)

## test: create the environment, lint, type-check, run the whole suite
test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## bench: the benchmarks (not part of test: these machines are shared and noisy)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.hotspots

clean:
	rm -rf $(VENV) build *.egg-info
