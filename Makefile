# Every target builds its own virtual environment, so a fresh machine needs only python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The official S3 Encryption Client (the S3 tests' oracle) pins cryptography<49: its own venv.
S3EC   := .venv-s3ec/installed

.PHONY: demo demo-s3 test test-faults fuzz lint bench clean

# The library (its aws and server extras, the test tools) and the CLI distribution, editable.
$(BIN)/envelope: pyproject.toml cli/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[aws,server,test,bench,fuzz]' -e ./cli
	@touch $@

# The AWS CLI, a real client for the envelope serve tests. awscli v1 pins botocore exactly, so it
# gets its own venv rather than a say in ours.
AWSCLI := .venv-awscli/bin/aws
$(AWSCLI):
	$(PYTHON) -m venv .venv-awscli
	.venv-awscli/bin/pip install -q --upgrade pip
	.venv-awscli/bin/pip install -q 'awscli>=1.33,<2'
	@touch $@

# The AWS Encryption CLI (a peer of the CLI benchmarks) needs aws-encryption-sdk 3.x, which cannot
# sit beside our 4.x: its own venv, with our raw-key master key provider plugin (no KMS needed).
ESDKCLI := .venv-esdkcli/installed
$(ESDKCLI): benchmarks/esdk_cli/requirements.txt benchmarks/esdk_cli/pyproject.toml benchmarks/esdk_cli/envelope_bench_rawkey.py
	$(PYTHON) -m venv .venv-esdkcli
	.venv-esdkcli/bin/pip install -q --upgrade pip
	.venv-esdkcli/bin/pip install -q -r benchmarks/esdk_cli/requirements.txt ./benchmarks/esdk_cli
	@touch $@

$(S3EC): tests/s3/oracle-requirements.txt
	$(PYTHON) -m venv .venv-s3ec
	.venv-s3ec/bin/pip install -q --upgrade pip
	.venv-s3ec/bin/pip install -q -r tests/s3/oracle-requirements.txt
	@touch $@

# The main job on the embedded default: no AWS account, no server.
demo: $(BIN)/envelope
	ENVELOPE_HOME=$${ENVELOPE_HOME:-$(CURDIR)/.demo-home} bash scripts/demo.sh $(BIN)/envelope

# S3 round trip against moto's S3 server, started on 127.0.0.1 and stopped by the script.
demo-s3: $(BIN)/envelope
	ENVELOPE_HOME=$${ENVELOPE_HOME:-$(CURDIR)/.demo-home} bash scripts/demo-s3.sh $(BIN)/envelope $(BIN)/python

lint: $(BIN)/envelope
	$(BIN)/ruff check envelope cli tests benchmarks
	$(BIN)/mypy --strict envelope cli/envelope_cli

# The whole test suite, every benchmark case once at small sizes (no timing; a case that errors
# fails the run), then the linters.
test: $(BIN)/envelope $(S3EC) $(AWSCLI) $(ESDKCLI)
	$(BIN)/pytest -n 2 -q
	$(BIN)/pytest benchmarks -q --benchmark-disable
	$(MAKE) --no-print-directory lint

# The report: every benchmark timed in one run (3.5-4.5 minutes on the shared 2-core machine), its JSON in
# .benchmarks/, then BENCHMARKS.md and the charts in benchmarks/charts/ written from it.
BENCH_JSON := .benchmarks/results.json
bench: $(BIN)/envelope $(S3EC) $(ESDKCLI)
	@mkdir -p .benchmarks
	$(BIN)/pytest benchmarks --benchmark-only --benchmark-json=$(BENCH_JSON) \
		--benchmark-max-time=0.25 --benchmark-columns=median,ops,rounds -q
	$(BIN)/python benchmarks/report.py $(BENCH_JSON) BENCHMARKS.md benchmarks/charts

# The whole fault campaign (tests/faults): SIGKILL at random points of every write path (at least
# 200 kills) and a full disk; its summary line states the counts. `make test` runs a part of it.
test-faults: $(BIN)/envelope
	rm -rf .faults && mkdir .faults
	ENVELOPE_FAULTS=full ENVELOPE_FAULTS_REPORTS=$(CURDIR)/.faults $(BIN)/pytest tests/faults -n 2 -q
	$(BIN)/python -m tests.faults.tally .faults

# Coverage-guided fuzzing (atheris): every parser's target for FUZZ_SECONDS each, from the seed
# corpus in tests/fuzz/corpus; new inputs and findings go to .fuzz/. `make test` runs each briefly.
FUZZ_SECONDS ?= 60
fuzz: $(BIN)/envelope
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(VENV) .venv-s3ec .venv-awscli .venv-esdkcli .demo-home .pytest_cache .mypy_cache .ruff_cache .fuzz .faults
