# lantu — the two commands of the README, and the steps behind them.
#
#   make run    install what the project needs, build, import the bundled sample district
#               into an embedded store and print its summary
#   make test   install what the tests need, then run every test

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
STORE ?= store
CARGO ?= cargo

# Debian 12 packages: GDAL/PROJ/SQLite to link, clang for bindgen (proj-sys), CJK fonts for the
# PDF checklist, poppler-utils (pdftotext) for its tests, gdal-bin (ogr2ogr) for format tests.
APT_PACKAGES := build-essential pkg-config clang libclang-dev \
	libgdal-dev gdal-bin libproj-dev proj-bin libsqlite3-dev sqlite3 libgeos-dev \
	fonts-noto-cjk poppler-utils

.PHONY: run test setup deps build sample-data bench clean-store

run: setup build
	./target/release/lantu import --manifest data/sample/blueprint.toml --store $(STORE)
	rm -rf out/reconcile
	./target/release/lantu reconcile --store $(STORE) --out out/reconcile

test: setup
	$(CARGO) test --all-targets

setup: deps

# Installs the Debian packages that are missing (apt-get only when something is).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
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
