# Every target builds its own virtual environment, so a fresh machine needs only python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The official S3 Encryption Client (the S3 tests' oracle) pins cryptography<49: its own venv.
S3EC   := .venv-s3ec/installed

.PHONY: demo test lint bench clean

$(BIN)/envelope: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

$(S3EC): tests/s3/oracle-requirements.txt
	$(PYTHON) -m venv .venv-s3ec
	.venv-s3ec/bin/pip install -q --upgrade pip
	.venv-s3ec/bin/pip install -q -r tests/s3/oracle-requirements.txt
	@touch $@

# The main job on the embedded default: no AWS account, no server.
demo: $(BIN)/envelope
	ENVELOPE_HOME=$${ENVELOPE_HOME:-$(CURDIR)/.demo-home} bash scripts/demo.sh $(BIN)/envelope

lint: $(BIN)/envelope
	$(BIN)/ruff check envelope tests benchmarks
	$(BIN)/mypy --strict envelope

# The whole test suite, every benchmark once as a smoke test (no timing), then the linters.
test: $(BIN)/envelope $(S3EC)
	$(BIN)/pytest -n 2 -q
	$(BIN)/pytest benchmarks -q --benchmark-disable
	$(MAKE) --no-print-directory lint

bench: $(BIN)/envelope $(S3EC)
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops -q

clean:
	rm -rf $(VENV) .venv-s3ec .demo-home .pytest_cache .mypy_cache .ruff_cache
