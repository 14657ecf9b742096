# Two commands: `make run` (set up, index, serve; `make run PORT=8080 HOST=0.0.0.0` elsewhere) and
# `make test` (set up, test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install index run serve test lint eval bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing the package and its dependencies into $(VENV) (about 2 minutes the first time; quiet)"
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/rag index

run: index
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

serve: run

# Chromium and CJK fonts for the real-browser tests and the PDF fixtures (printed by Chromium), and
# Tesseract with Simplified Chinese for OCR of scanned PDFs (optional), installed only when missing.
# Runs apt-get: needs root and the network. Only this target installs system packages.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		echo "installing chromium and fonts-noto-cjk"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "warning: could not install chromium/fonts-noto-cjk; browser and PDF tests will be skipped"; \
	fi
	@if ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim; then \
		echo "installing tesseract-ocr-chi-sim"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-chi-sim >/dev/null) \
		|| echo "warning: could not install tesseract-ocr-chi-sim; scanned PDFs will ask for OCR and the OCR test is skipped"; \
	fi

# Never installs system packages: without Chromium the browser and PDF tests are skipped, each
# with its reason (`make system-deps` installs them, as root with the network).
test: install
	@[ -x /usr/bin/chromium ] || echo "note: /usr/bin/chromium is missing, so the browser and PDF tests are skipped; 'make system-deps' (root, network) installs it"
	$(BIN)/ruff check rag ui
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# ruff and mypy alone (make test runs them first)
lint: install
	$(BIN)/ruff check rag ui
	$(BIN)/mypy

eval: index
	$(BIN)/rag eval --dataset eval/dev.jsonl --retriever all --out eval/reports/latest

bench: index
	$(BIN)/rag bench --out eval/reports/bench

clean:
	rm -rf $(VENV) index/CURRENT index/build-* index/.staging-*
