#!/usr/bin/env bash
# Set up (first time only) and run every test: core unit tests, AppTest page tests and
# real-browser tests (Playwright driving Debian's chromium, installed here if missing).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --dev
scripts/install-browser.sh
exec .venv/bin/python -m pytest "$@"
