# The README's two commands: `make run` (the server on embedded defaults, demo team) and
# `make test` (everything the tests need, then the whole suite on each store). CI runs `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHROMIUM := /usr/bin/chromium
# Debian's PostgreSQL server binaries; the tests start a private cluster from them.
PG_SERVER := $(wildcard /usr/lib/postgresql/*/bin/postgres)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The stores `make test` runs the whole suite on, one pytest run each (tests/stores.py);
# `make test STORES=postgres` runs only that one.
STORES ?= sqlite postgres

.PHONY: run test check chromium test-packages screenshots

run: $(VENV)/.installed
	$(BIN)/switchboard serve --demo

# pytest's workers (pytest-xdist): the tests mostly wait on servers, so two cores take two.
TEST_WORKERS ?= 2

# The first store's run is the whole suite; the next ones take only the tests that get a store,
# browser tests aside (tests/conftest.py, --store-tests-only): the rest would only repeat.
# Every store's run happens even when an earlier one fails; the target fails if any did.
test: $(VENV)/.installed test-packages
	@status=0; only=; for store in $(STORES); do \
		echo "== the suite on $$store (SWITCHBOARD_TEST_STORE=$$store) $$only"; \
		SWITCHBOARD_TEST_STORE=$$store $(BIN)/python -m pytest -n $(TEST_WORKERS) $$only \
			|| status=1; \
		only=--store-tests-only; \
	done; exit $$status

# Refresh the README's screenshots in docs/screenshots (the browser tests take them).
screenshots: $(VENV)/.installed chromium
	SWITCHBOARD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/web -q

check: $(VENV)/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# constraints.txt pins the versions the suite last passed with, so a fresh clone resolves at once.
$(VENV)/.installed: pyproject.toml constraints.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Debian packages, installed with apt-get when missing (as root, or through sudo), with one
# `apt-get update` for all of them: $(1) is the list of those missing.
define apt_install
	@[ -z "$(strip $(1))" ] || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(1) >/dev/null; }
endef

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
chromium:
	$(call apt_install,$(if $(wildcard $(CHROMIUM)),,chromium))

# What `make test` needs from Debian: Chromium, PostgreSQL for the run on it, and the proxies
# whose own validators check deploy/'s Caddyfile and nginx example (tests/test_packaging.py).
test-packages:
	$(call apt_install,$(if $(wildcard $(CHROMIUM)),,chromium) $(if $(PG_SERVER),,postgresql) \
		$(if $(wildcard /usr/bin/caddy),,caddy) $(if $(wildcard /usr/sbin/nginx),,nginx) \
		$(if $(wildcard /usr/bin/openssl),,openssl))
