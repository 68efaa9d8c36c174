# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format clean bench bench-quick bench-soak

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
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[embedded,test,bench]'
	@touch $@

# The benchmark harness at default sizes (several minutes; see bench/README.md). PostgreSQL
# runs when SCIMGATE_TEST_POSTGRES_URL names a server whose account may create databases.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# The same harness at small sizes, into bench/results/tmp/ (a minute or two).
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench --results bench/results/tmp --users 500 --lookup-sizes 500,5000 \
		--lookups 500 --group-sizes 10,2000 --membership-rounds 50 --entra-groups 10 \
		--entra-group-size 20 --ceiling-users 500 --peer-users 500 --peer-lookup-sizes 500,2000 \
		--worker-rows 2000 --import-walks 1 $(BENCH_ARGS)

# A hostile mix replayed at gunicorn for 5 minutes per database: does web memory stay flat?
# Into bench/results/soak.md (see bench/README.md, The soak).
bench-soak: install
	$(BIN)/python -m bench.soak $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
