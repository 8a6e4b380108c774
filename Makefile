# Every target builds its own virtual environment, so a fresh machine needs only python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

# The library (with its aws extra and the test tools) and the CLI distribution, both editable.
$(BIN)/envelope: pyproject.toml cli/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[aws,test]' -e ./cli
	@touch $@

# The main job on the embedded default: no AWS account, no server.
demo: $(BIN)/envelope
	ENVELOPE_HOME=$${ENVELOPE_HOME:-$(CURDIR)/.demo-home} bash scripts/demo.sh $(BIN)/envelope

lint: $(BIN)/envelope
	$(BIN)/ruff check envelope cli tests benchmarks
	$(BIN)/mypy --strict envelope cli/envelope_cli

# The whole test suite, every benchmark once as a smoke test (no timing), then the linters.
test: $(BIN)/envelope
	$(BIN)/pytest -n 2 -q
	$(BIN)/pytest benchmarks -q --benchmark-disable
	$(MAKE) --no-print-directory lint

bench: $(BIN)/envelope
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops -q

clean:
	rm -rf $(VENV) .demo-home .pytest_cache .mypy_cache .ruff_cache
