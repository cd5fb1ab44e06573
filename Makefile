# The README's two commands: `make demo` and `make test`. Each creates .venv when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests and demos read the shared datasets when they sit beside the checkout.
SHARED := $(abspath ../shared/datasets)
export PLEXUS_DATA ?= $(if $(wildcard $(SHARED)),$(SHARED),)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# The CPU build of torch (the default PyPI wheel is a multi-GB CUDA build). Override the
# index (TORCH_INDEX=... or empty for the plain index); when it cannot be reached, the plain
# `pip install torch==$(TORCH_VERSION)` runs instead (e.g. an offline machine's wheel folder).
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k resume"`.
PYTEST_ARGS ?=

.PHONY: demo test test-slow bench install clean constraints

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; set PY=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned, so nothing later resolves an unpinned (CUDA) build.
	$(BIN)/python -m pip install -q --retries 1 --timeout 10 torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) || $(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	# The tested versions (constraints.txt); if the registry no longer has one of them, say so
	# and install the newest versions pyproject.toml allows.
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]' || { echo "warning: the pinned versions in constraints.txt did not install; installing unpinned"; $(BIN)/python -m pip install -q -e '.[test]'; }
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/plexus run glem --dataset citeseer-tag -c configs/glem/quick.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# pytest exits 5 when no test is selected: nothing marked slow is a clean exit, not a failure.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no test is marked slow"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/plexus bench vgae

# Record the versions in .venv as the tested ones (after `make test` passes).
constraints: $(STAMP)
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v -iE '^(plexus|torch==)'; } > constraints.txt.new && mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) runs
