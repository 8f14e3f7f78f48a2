#!/usr/bin/env bash
# Set up (first time only) and run Keras Playground on http://localhost:8501.
# Works offline: the default datasets are built in. For MNIST & co. offline, point
# PLAYGROUND_DATA_DIR at a folder laid out like the Keras cache (see README).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python -m ui.launch app.py "$@"  # streamlit run app.py, with the workers started at once
