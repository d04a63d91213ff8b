# Two commands: `make chat` starts the web chat, `make test` runs the whole test suite.
# Both create .venv and install everything first (torch is the CPU build, pinned in pyproject).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test install browser lint bench clean

chat: $(STAMP)
	$(BIN)/assistant serve

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/build_llama.py
	python3 -m venv $(VENV)
	# torch first, alone and pinned, so no dependency pulls the multi-GB CUDA build.
	$(BIN)/pip install --quiet "torch==2.13.0"
	# llama-cpp-python for x86-64-v3 plus an AVX-512 module, never -march=native (cached by flags).
	$(BIN)/python scripts/build_llama.py
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The browser tests drive Debian's Chromium; install it when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/dense_search.py
	$(BIN)/python benchmarks/answer.py

clean:
	rm -rf $(VENV) index/chroma index/manifest.sqlite* test-output
