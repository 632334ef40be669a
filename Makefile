# newsrag: `make run` starts the app over the bundled sample corpus; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# llama-cpp-python compiles llama.cpp. A native build (-march=native) on a CPU with AMX crashed with a segfault
# at the first token inside this workplace's VMs, so the build names the CPU features it uses: AVX2 always,
# AVX-512 where the CPU has it (1.5x faster prompt reading here), AMX never.
cpu_has = $(shell grep -q -w $(1) /proc/cpuinfo 2>/dev/null && echo ON || echo OFF)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=$(call cpu_has,avx512bw) -DGGML_AVX512_VBMI=$(call cpu_has,avx512vbmi) \
	-DGGML_AVX512_VNNI=$(call cpu_has,avx512_vnni) -DGGML_AVX512_BF16=$(call cpu_has,avx512_bf16) \
	-DGGML_AVX_VNNI=$(call cpu_has,avx_vnni) -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: setup run print-cmake-args test test-fast lint format bench bench-quick eval browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "newsrag needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the pinned CPU build; an unpinned torch would pull gigabytes of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# the embedding model's ONNX export (questions then never import torch); else made on the first embedding
	HF_HUB_OFFLINE=1 $(BIN)/python -m index.embed --export-onnx || echo "ONNX export failed: the torch model is used"
	touch $(STAMP)

print-cmake-args:
	@echo "$$CMAKE_ARGS"

run: setup
	$(BIN)/newsrag serve

# Chromium from Debian for the browser tests (Playwright drives it; no browser download).
browser:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
		else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi; }

test: setup browser
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not real and not browser and not slow"

lint: setup
	$(BIN)/ruff check core index ingest rag ui cli serve eval bench tests app.py
	$(BIN)/ruff format --check core index ingest rag ui cli serve eval bench tests app.py

format: setup
	$(BIN)/ruff format core index ingest rag ui cli serve eval bench tests app.py
	$(BIN)/ruff check --fix core index ingest rag ui cli serve eval bench tests app.py

bench: setup
	$(BIN)/python -m bench

bench-quick: setup
	$(BIN)/python -m bench --quick

eval: setup
	$(BIN)/newsrag eval --suite seed

clean:
	rm -rf $(VENV) .pytest_cache test-output
