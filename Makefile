# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "scimgate needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,test]'
	@touch $@

run: install
	$(BIN)/scimgate db upgrade
	$(BIN)/scimgate dev

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# How long one member's PATCH takes in a group of 10 and of 50,000 (BENCH_DATABASE_URL:
# a PostgreSQL URL whose account may create databases; SQLite by default).
bench: install
	$(BIN)/python -m bench.membership $(BENCH_DATABASE_URL)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
