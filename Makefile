# ModelService developer entry points.  `make help` lists the targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CHART  := charts/modelservice

# Pinned helm/kubectl from scripts/install_tools.py come first for every recipe.
export PATH := $(CURDIR)/.tools/bin:$(PATH)

# YAML linted with yamllint beside `ct lint` (which lints the chart's Chart.yaml and values
# files): presets/, examples/, the helm-unittest suites and the chart's facts file.
YAMLLINT_PATHS := $(wildcard presets examples $(CHART)/tests $(CHART)/files)

# ct: on PATH, or the static build in ../shared/tools (docs/chart-tests.md).
SHARED_TOOLS_UNPACK := ../shared/tools/unpack

# The demo also validates the custom resources when the upstream CRDs sit beside the repo.
DEMO_CRDS := $(if $(wildcard ../shared/crds),--crds ../shared/crds)

.DEFAULT_GOAL := help
.PHONY: help setup tools checkov vllm vllm-render guidellm guidellm-test inference-perf test chart-test lint demo clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install when pyproject.toml changes or once the package directory appears. The
# editable install is a plain path entry (compat mode), not setuptools' import finder,
# which costs every `mst` start about 8 ms (docs/cli.md#performance).
$(VENV)/.installed: $(BIN)/python pyproject.toml $(wildcard modelservice_tool/__init__.py)
	$(BIN)/pip install -q -e '.[test]' --config-settings editable_mode=compat
	@touch $@

setup: $(VENV)/.installed tools ## create .venv, install package + test deps and pinned tools

tools: $(BIN)/python ## install pinned helm 4 / helm 3 / kubectl into .tools/ (linked into .venv/bin)
	$(BIN)/python scripts/install_tools.py --quiet
	@for tool in helm kubectl; do ln -sfn ../../.tools/bin/$$tool $(BIN)/$$tool; done

# checkov pins old packaging/dateutil versions, so it gets its own venv in .tools/checkov
# (about 30 s and 290 MB); tests/test_security.py finds it there (or $MST_CHECKOV).
CHECKOV_VERSION := 3.3.30
.tools/checkov/bin/checkov:
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install -q 'checkov==$(CHECKOV_VERSION)' || \
	  echo 'checkov not installed: tests/test_security.py will skip its checkov test'

checkov: .tools/checkov/bin/checkov ## install checkov into .tools/checkov (security scan)

# vLLM's real `serve` argument parser for tests/test_vllm_cli.py, in its own venv: the vLLM
# wheel without its dependencies, the few packages importing the parser needs
# (scripts/vllm_cli_requirements.txt) and torch from the CPU wheel (never a CUDA build).
# 0.17.1 is the vLLM of ghcr.io/llm-d/llm-d-cuda:v0.6.0, the chart's default engine image
# (docs/vllm-cli.md says how we know). 1-5 min (machine load) and 2.1 GB.
VLLM_VERSION := 0.17.1
VLLM_TORCH   := 2.13.0+cpu
VLLM_VENV    := .tools/vllm
# $(call vllm_parser,VENV,VERSION,REQUIREMENTS,TESTS): a fresh venv with the CPU torch, the
# requirements file and vLLM itself without its dependencies; marks the target installed.
define vllm_parser
	rm -rf $(1)
	$(PYTHON) -m venv $(1)
	$(1)/bin/pip install -q --no-compile 'torch==$(VLLM_TORCH)' -r $(3) && \
	  $(1)/bin/pip install -q --no-compile --no-deps 'vllm==$(2)' && touch $@ || \
	  echo 'vLLM $(2) not installed: $(4) will skip (and fail when CI=true)'
endef

$(VLLM_VENV)/.installed-$(VLLM_VERSION): scripts/vllm_cli_requirements.txt
	$(call vllm_parser,$(VLLM_VENV),$(VLLM_VERSION),$<,tests/test_vllm_cli.py)

vllm: $(VLLM_VENV)/.installed-$(VLLM_VERSION) ## install vLLM's serve parser into .tools/vllm

# The vLLM of the EPP's tokenizer render sidecar (`vllm launch render`, which 0.17.1 lacks;
# the chart's default image vllm/vllm-openai:v0.31.0), the same way: its parser judges the
# sidecar's command line (tests/test_vllm_render.py). About 2 min and 2.8 GB.
VLLM_RENDER_VERSION := 0.31.0
VLLM_RENDER_VENV    := .tools/vllm-render
$(VLLM_RENDER_VENV)/.installed-$(VLLM_RENDER_VERSION): scripts/vllm_render_requirements.txt
	$(call vllm_parser,$(VLLM_RENDER_VENV),$(VLLM_RENDER_VERSION),$<,tests/test_vllm_render.py)

vllm-render: $(VLLM_RENDER_VENV)/.installed-$(VLLM_RENDER_VERSION) ## install the render sidecar's vLLM parser into .tools/vllm-render

# Real guidellm (and the CPU torch it needs, installed first: the same CPU build as vLLM's
# parser, never a CUDA one) in its own venv for the end-to-end bench test against guidellm's
# mock server (tests/test_bench_llmd.py): about 2.5 min and 1.5 GB the first time.
GUIDELLM_VERSION := 0.8.1
.tools/guidellm/bin/guidellm:
	$(PYTHON) -m venv .tools/guidellm
	.tools/guidellm/bin/pip install -q --no-compile 'torch==$(VLLM_TORCH)' && \
	  .tools/guidellm/bin/pip install -q --no-compile 'guidellm==$(GUIDELLM_VERSION)' || \
	  echo 'guidellm not installed: the end-to-end bench test will skip'

guidellm: .tools/guidellm/bin/guidellm ## install guidellm into .tools/guidellm (bench e2e test)

guidellm-test: setup guidellm ## real guidellm vs its mock server -> llm-d reports (~1 min)
	$(BIN)/python -m pytest -q tests/test_bench_llmd.py

# inference-perf (the `mst bench --harness inference-perf` tool) for tests/harness_mock.py and
# the tests that run it. It needs Python >= 3.12: PYTHON312 names the interpreter, else the
# first of python3.13, python3.12 and pyenv's 3.12+ builds that runs; without one its tests
# skip (the committed fixture stands in). About 2 min and 635 MB.
INFERENCE_PERF_VERSION := 0.6.1
PY312_CANDIDATES = python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3)
PYTHON312 ?= $(firstword $(foreach p,$(PY312_CANDIDATES),$(if $(shell $(p) -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && echo ok),$(p))))
.tools/inference-perf/bin/inference-perf:
	@if [ -z "$(PYTHON312)" ]; then \
	  echo 'no Python >= 3.12 found (set PYTHON312): inference-perf not installed, its tests will skip'; \
	else \
	  $(PYTHON312) -m venv .tools/inference-perf && \
	  .tools/inference-perf/bin/pip install -q --no-compile 'inference-perf==$(INFERENCE_PERF_VERSION)' || \
	  { rm -rf .tools/inference-perf; echo 'inference-perf not installed: its harness tests will skip'; }; \
	fi

inference-perf: .tools/inference-perf/bin/inference-perf ## install inference-perf into .tools/inference-perf (Python >= 3.12)

test: setup checkov vllm vllm-render guidellm inference-perf ## ruff + pytest (parallel)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto -q

chart-test: setup ## helm-unittest suites (standalone, helm 4 and 3 plugin) and ct lint
	$(BIN)/python -m pytest -n 2 -q tests/test_chart_unittest.py tests/test_lint.py

lint: setup ## ruff, ct lint of the chart, yamllint of presets, examples and suites
	$(BIN)/ruff check .
	$(BIN)/yamllint -c lintconf.yaml $(YAMLLINT_PATHS)
	@ct=$$(command -v ct || { [ -x $(SHARED_TOOLS_UNPACK) ] && echo "$$($(SHARED_TOOLS_UNPACK))/bin/ct"; }); \
	if [ -n "$$ct" ]; then PATH="$(CURDIR)/$(BIN):$$PATH" "$$ct" lint --config ct.yaml --all --check-version-increment=false; \
	else echo "ct not found (on PATH or $(SHARED_TOOLS_UNPACK)): ct lint skipped, see docs/chart-tests.md"; fi

demo: setup ## validate and render the gpt-oss-120b prefill/decode example
	$(BIN)/mst validate --preset pd-a100 --values examples/gpt-oss-120b-pd.yaml --release gpt-oss $(DEMO_CRDS)
	$(BIN)/mst template --preset pd-a100 --values examples/gpt-oss-120b-pd.yaml --release gpt-oss --output-dir out/gpt-oss-120b-pd

clean: ## remove .venv, .tools, out/ and caches
	rm -rf $(VENV) .tools out build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
