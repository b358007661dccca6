# Skyeye: `make demo` runs the demo, `make test` runs every check. Both set up what they need
# on a fresh Debian machine first (virtual environment, Python packages, Debian packages,
# npm assets); set-up is skipped when nothing it depends on changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PY_STAMP  := $(VENV)/.stamp-python
APT_STAMP := $(VENV)/.stamp-debian
NPM_STAMP := node_modules/.stamp-npm
# command:Debian package, installed when the command is missing
DEBIAN_NEEDS := /usr/sbin/mosquitto:mosquitto /usr/bin/chromium:chromium node:nodejs npm:npm

.PHONY: setup demo test check lint typecheck unit bench clean

setup: $(PY_STAMP) $(APT_STAMP) $(NPM_STAMP)

# torch and torchvision first, pinned to the builds on this machine kind's disk (see README).
$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	# MAVProxy is a test peer; its declared deps would add a second OpenCV and VTK.
	$(BIN)/pip install --quiet --no-deps 'mavproxy>=1.8.70,<2'
	$(BIN)/pip install --quiet defusedxml pynmeagps pyserial
	touch $@

$(APT_STAMP): Makefile
	@missing=""; for need in $(DEBIAN_NEEDS); do \
	  command -v "$${need%%:*}" >/dev/null 2>&1 || missing="$$missing $${need##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/skyeye demo

lint: $(PY_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy .

unit: setup
	$(BIN)/pytest

check: lint typecheck unit

test: setup check

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
