# lantu — the two commands of the README, and the steps behind them.
#
#   make run    install what the project needs, build, import the bundled sample district into
#               an embedded store (first run), reconcile it, issue the checklists of its candidate
#               sites, then serve the API and the web map
#   make test   install what the tests need, then run every test (cargo, then the browser tests)
#   make serve  build the web page and serve the API and the map from the store

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
STORE ?= store
CARGO ?= cargo
# The debug binary the browser tests serve (cargo's target directory may be elsewhere).
LANTU_BIN ?= $(abspath $(or $(CARGO_TARGET_DIR),target))/debug/lantu

# Debian 12 packages: GDAL/PROJ/SQLite to link, clang for bindgen (proj-sys), CJK fonts for the
# PDF checklist and the map's labels, poppler-utils (pdftotext) for its tests, gdal-bin (ogr2ogr)
# for format tests, chromium for the browser tests (never a browser downloaded by a test tool).
APT_PACKAGES := build-essential pkg-config clang libclang-dev \
	libgdal-dev gdal-bin libproj-dev proj-bin libsqlite3-dev sqlite3 libgeos-dev \
	fonts-noto-cjk poppler-utils chromium
# Node.js and npm build the web page; installed from Debian only when `node`/`npm` are missing
# (a NodeSource nodejs already bundles npm and conflicts with Debian's npm package).
NODE_PACKAGES := nodejs npm

.PHONY: run test setup deps build web web-test serve sample-data bench clean-store

ADDR ?= 127.0.0.1:8080

run: setup build web
	@if [ -f $(STORE)/catalog.sqlite ]; then \
		./target/release/lantu summary --store $(STORE); \
	else \
		./target/release/lantu import --manifest data/sample/blueprint.toml --store $(STORE); \
	fi
	rm -rf out/reconcile
	./target/release/lantu reconcile --store $(STORE) --out out/reconcile --quiet
	rm -rf out/checklists
	./target/release/lantu check --store $(STORE) --site data/sample/sites.txt --format pdf,xlsx,json,txt --out out/checklists
	./target/release/lantu serve --store $(STORE) --addr $(ADDR) --manifest data/sample/blueprint.toml --web web/dist

test: setup web
	$(CARGO) test --all-targets
	$(CARGO) build
	$(MAKE) web-test

# The browser tests: target/debug/lantu serves the sample district to Debian's chromium.
web-test:
	cd web && LANTU_BIN=$(LANTU_BIN) npm test

serve: setup build web
	./target/release/lantu serve --store $(STORE) --addr $(ADDR) --manifest data/sample/blueprint.toml --web web/dist

# The web page: npm ci when package-lock.json changed, then the esbuild bundle in web/dist.
web: web/dist/index.html

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json web/build.mjs web/index.html $(wildcard web/src/*)
	cd web && npm run build

setup: deps

# Installs the Debian packages that are missing (apt-get only when something is).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing $(NODE_PACKAGES)"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build:
	$(CARGO) build --release

# Regenerates the committed sample district (deterministic).
sample-data: build
	./target/release/lantu sample --out data/sample

clean-store:
	rm -rf $(STORE)
