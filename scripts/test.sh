#!/usr/bin/env bash
# One command that runs the tests: installs everything (incl. the LLM smoke model, Chromium, LibreOffice), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --llm --system
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
