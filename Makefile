# Two commands for a fresh clone: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

demo: $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'
	$(BIN)/llmpipe demo

test: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m pytest -q
