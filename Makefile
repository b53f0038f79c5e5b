# The two commands of the README:
#   make demo    set up, then train LeNet and predict (offline; MNIST if given or cached)
#   make test    set up, then lint (ruff check, ruff format --check) and run the whole test suite
# Both create .venv on first use. DATA=path/to/mnist EPOCHS=3 make demo picks the data.

VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.installed-stamp
RUN_DIR ?= runs/demo
DATA    ?=
EPOCHS  ?= $(if $(DATA),3,12)

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/convkit summary examples/lenet.yaml
	$(BIN)/convkit train examples/lenet.yaml $(if $(DATA),--data $(DATA)) --epochs $(EPOCHS) --run-dir $(RUN_DIR)
	$(BIN)/python examples/predict_a_digit.py $(RUN_DIR)/model.convkit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks

test: lint
	$(BIN)/python -m pytest -n 2 -q --durations=15

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
