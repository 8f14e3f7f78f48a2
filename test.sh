#!/usr/bin/env bash
# Set up (first time only) and run every check: ruff (lint and format), mypy on core/ and ui/,
# then every test (two passes, below): core unit tests, AppTest page tests, real-browser tests (Playwright driving
# Debian's chromium, installed here if missing), the cluster tests (PostgreSQL, Ray).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --dev
scripts/install-browser.sh
scripts/install-services.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
if [ "$#" -gt 0 ]; then  # the tests asked for, as pytest runs them
  exec .venv/bin/python -m pytest "$@"
fi
# Every test, in two passes (tests/conftest.py ALONE says which go in the second): first the tests that do not time
# the machine, two pytest processes at once, each test file in one of them; then the others, one at a time, with the
# cores to themselves. Both passes run; the suite fails if either does.
status=0
.venv/bin/python -m pytest -m "not alone" -n 2 --dist loadfile || status=$?
.venv/bin/python -m pytest -m alone || status=$?
exit "$status"
