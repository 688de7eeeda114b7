# ropuf: one entry point for set-up, the main job and the tests.
#   make demo    set up .venv if needed, then run the end-to-end demo
#   make test    set up .venv if needed (and Debian's chromium for the browser test), check the
#                import layers, then run the default test tier (unit, simulation, builds)
#   make mutation  show that deliberate bugs in the security checks fail the tests
# Set-up is done once: .venv/.installed is redone only when pyproject.toml changes.

VENV    := .venv
STAMP   := $(VENV)/.installed
PY      := $(VENV)/bin/python
PYTEST  := $(PY) -m pytest
# Conversion to Verilog always uses Amaranth's bundled Yosys, even when YOSYS is set for boards.
export AMARANTH_USE_YOSYS := builtin

.PHONY: setup browser demo test test-build test-slow test-icarus test-all mutation lint bench clean distclean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@python=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$python"; "$$python" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ropuf demo

# Debian's chromium for the fleet page's browser test: installed when missing (as root with
# apt-get), a no-op when present, so it needs no stamp; scripts/ensure-browser says the rest.
browser:
	@scripts/ensure-browser

test: $(STAMP) browser
	$(VENV)/bin/lint-imports
	$(PYTEST)

test-build: $(STAMP)
	$(PYTEST) -m build

test-slow: $(STAMP)
	$(PYTEST) -m slow

test-icarus: $(STAMP)
	$(PYTEST) -m icarus

test-all: $(STAMP)
	$(PYTEST) -m ''

# Deliberate bugs in security checks, one at a time on a copy of the tree: each must make the
# tests it names fail (scripts/mutation-check holds the table).
mutation: $(STAMP)
	$(PY) scripts/mutation-check

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build .pytest_cache

distclean: clean
	rm -rf $(VENV)
