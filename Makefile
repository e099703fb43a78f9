# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

PG_MAJOR ?= $(shell ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
PG_MAJOR := $(or $(PG_MAJOR),15)

.PHONY: run test lint browser postgres gdal redis haproxy bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

## the compiled analysis steps (numba), compiled once after an install and cached beside the
## package, so that neither the service's first start nor the tests' workers compile them
COMPILED := $(VENV)/.compiled-stamp
$(COMPILED): $(STAMP) hotspot/_gridnative.py
	@echo "compiling the analysis steps (numba: once after an install, about half a minute)"
	@$(BIN)/python -c 'from hotspot._griddbscan import warm_up_compiled; warm_up_compiled()'
	@touch $(COMPILED)

## the front-end libraries from npm (package-lock.json), copied where the service serves them
VENDOR := maps/vendor
NPM_STAMP := $(VENDOR)/.npm-stamp
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's npm for the offline basemap's vector-tile library"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q npm >/dev/null 2>&1 || \
	  { $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && \
	    $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q npm >/dev/null; }; }
	@command -v npm >/dev/null 2>&1 || { echo "npm could not be installed: the offline \
	basemap's vector-tile library comes from npm (package-lock.json)" >&2; exit 1; }
	npm ci --no-audit --no-fund --silent
	@mkdir -p $(VENDOR)
	cp node_modules/protomaps-leaflet/dist/protomaps-leaflet.js \
	  node_modules/protomaps-leaflet/LICENSE $(VENDOR)/
	@touch $(NPM_STAMP)

## run: create the environment, build the demo force area on first start, serve it (with
## Debian's chromium, which prints the priority reports' PDFs)
run: $(STAMP) $(COMPILED) $(NPM_STAMP) browser
	$(BIN)/hotspot serve --demo --host $(HOST) --port $(PORT)

## test: create the environment, lint, type-check, get a browser, PostGIS and GDAL, run the whole
## suite on two workers (each module on one worker, its own database, ports and folders); a
## worker that crashes or hangs (pyproject's timeout) is replaced at most twice, and what it had
## not finished, the failed test included, goes back to the queue for the next free worker (a
## test that hangs every time costs 30 minutes, then the run stops and fails)
test: lint browser postgres gdal redis $(NPM_STAMP) $(COMPILED)
	$(BIN)/python -m pytest -n 2 --dist loadfile --max-worker-restart 2

## browser: Debian's chromium for the browser tests (Playwright drives it; it downloads nothing)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests (apt-get install chromium)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/dev/null; }; }
	@command -v chromium >/dev/null 2>&1 || { echo "chromium could not be installed: the browser tests need it" >&2; exit 1; }

## gdal: Debian's gdal-bin (ogrinfo, ogr2ogr) for the OGC API conformance test: GDAL's own OAPIF
## driver reads the service as QGIS does
gdal:
	@command -v ogrinfo >/dev/null 2>&1 || { \
	  echo "installing Debian's gdal-bin for the OGC API conformance test (apt-get install gdal-bin)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q gdal-bin >/dev/null 2>&1 || \
	  { $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q gdal-bin >/dev/null; }; }
	@command -v ogrinfo >/dev/null 2>&1 || { echo "gdal-bin could not be installed: the OGC API conformance test needs ogrinfo" >&2; exit 1; }

## redis: Redis on 127.0.0.1:6379 for the tests of several instances sharing one state (the
## one already answering there, else Debian's redis-server started here, keeping nothing on disk)
redis: $(STAMP)
	@if [ -z "$$HOTSPOT_TEST_REDIS_URL" ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  answers() { $(BIN)/python -c "import socket; s = socket.create_connection(('127.0.0.1', 6379), 1); \
	    s.sendall(b'PING\r\n'); assert s.recv(16).startswith(b'+PONG')" 2>/dev/null; }; \
	  answers || { \
	    command -v redis-server >/dev/null 2>&1 || { echo "installing Debian's redis-server (apt-get install)"; \
	      $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q redis-server >/dev/null 2>&1 || \
	      { $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && \
	        $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q redis-server >/dev/null; }; }; \
	    echo "starting redis-server on 127.0.0.1:6379 (nothing kept on disk)"; \
	    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null; \
	    sleep 1; }; \
	  answers || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }; \
	fi

## haproxy: Debian's haproxy, the balancer of the two-instance load test (bench.load --instances 2)
haproxy:
	@command -v haproxy >/dev/null 2>&1 || { \
	  echo "installing Debian's haproxy for the two-instance load test (apt-get install haproxy)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q haproxy >/dev/null 2>&1 || \
	  { $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q haproxy >/dev/null; }; }
	@command -v haproxy >/dev/null 2>&1 || { echo "haproxy could not be installed: bench.load --instances 2 --balancer python runs without it" >&2; exit 1; }

## postgres: PostgreSQL with PostGIS on 127.0.0.1:5432 for the PostGIS store tests (Debian's
## packages; skipped when HOTSPOT_TEST_POSTGRES_URL names another server)
postgres:
	@if [ -z "$$HOTSPOT_TEST_POSTGRES_URL" ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  install() { echo "installing Debian's $$* (apt-get install)"; \
	    $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "$$@" >/dev/null 2>&1 || \
	    { $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "$$@" >/dev/null; }; }; \
	  command -v pg_lsclusters >/dev/null 2>&1 || install postgresql; \
	  ls /usr/share/postgresql/$(PG_MAJOR)/extension/postgis.control >/dev/null 2>&1 || \
	    install postgresql-$(PG_MAJOR)-postgis-3; \
	  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
	    echo "starting PostgreSQL $(PG_MAJOR) (pg_ctlcluster $(PG_MAJOR) main start)"; \
	    $$SUDO pg_ctlcluster --skip-systemctl-redirect $(PG_MAJOR) main start; sleep 1; }; \
	  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on \
	127.0.0.1:5432 and could not be started here: the PostGIS store tests need it \
	(or set HOTSPOT_TEST_POSTGRES_URL)" >&2; exit 1; }; \
	  ls /usr/share/postgresql/$(PG_MAJOR)/extension/postgis.control >/dev/null 2>&1 || { \
	    echo "postgresql-$(PG_MAJOR)-postgis-3 could not be installed: the PostGIS store \
	tests need it" >&2; exit 1; }; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: the benchmarks (not part of test: these machines are shared and noisy)
bench: $(STAMP) postgres browser redis haproxy
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.hotspots
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.postgis
	$(BIN)/python -m bench.patrol
	$(BIN)/python -m bench.products
	$(BIN)/python -m bench.answer
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.load --instances 2 --only load
	$(BIN)/python -m bench.scaling --rows 1e7

clean:
	rm -rf $(VENV) build *.egg-info node_modules $(VENDOR)
