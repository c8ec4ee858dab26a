# Two commands do everything (see README.md):
#   make run   - set up and start the development server on 127.0.0.1:8000
#   make test  - set up with dev tools, then in order: ruff check, ruff format
#                --check, mypy, the layering contract, the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := .make

.PHONY: run test setup setup-dev lint typecheck layering check audit format messages migrate clean

# Reinstall only when a requirements file changed (the stamp is older).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP)/runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/dev: requirements.txt requirements-dev.txt requirements-sms.txt requirements-pay.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@mkdir -p $(STAMP) && touch $@ $(STAMP)/runtime

# The browser tests' axe-core, from the npm registry at the version the lock file pins.
$(STAMP)/e2e: tests/e2e/package.json tests/e2e/package-lock.json
	npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMP) && touch $@

setup: $(STAMP)/runtime messages
setup-dev: $(STAMP)/dev $(STAMP)/e2e messages

# Compiles the committed .po files (root locale/ and each app's locale/).
messages: $(STAMP)/runtime
	cd $(CURDIR) && DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0

migrate: $(STAMP)/runtime
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput

run: setup migrate
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py runserver 127.0.0.1:8000

lint: $(STAMP)/dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy loads the settings through the django-stubs plugin: DEBUG lets them
# load without production secrets, as for the other manage.py targets.
typecheck: $(STAMP)/dev
	DJANGO_DEBUG=1 $(BIN)/mypy

# The import contracts in pyproject.toml ([tool.importlinter]).
layering: $(STAMP)/dev
	$(BIN)/lint-imports --no-cache

# Everything `make test` checks before the tests (also what pre-commit runs).
check: lint typecheck layering

# Known advisories for the exact pins (PyPI's advisory data: needs a network).
# Every runtime package is pinned, so nothing is resolved or installed.
audit: $(STAMP)/dev
	$(BIN)/pip-audit --progress-spinner off --no-deps --disable-pip -r requirements.txt -r requirements-sms.txt

format: $(STAMP)/dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup-dev check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(STAMP) db.sqlite3 staticfiles tests/e2e/node_modules test-artifacts
