#!/usr/bin/env bash
# Set up (first time only) and run every check: ruff (lint and format), mypy on core/ and ui/,
# then every test: core unit tests, AppTest page tests, real-browser tests (Playwright driving
# Debian's chromium, installed here if missing), the cluster tests (PostgreSQL, Ray).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --dev
scripts/install-browser.sh
scripts/install-services.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
