#!/usr/bin/env bash
# One command that runs the tests: installs everything (incl. the LLM smoke model, Chromium, LibreOffice), then pytest.
#   bash scripts/test.sh            the full suite (real model, real Chroma, Chroma server, browser) = .ci/run
#   bash scripts/test.sh --fast     logic tests only (fake embeddings, no setup step), < 60 s
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
if [ "${1:-}" = "--fast" ]; then
  shift
  python=${PYTHON:-.venv/bin/python}
  exec "$python" -m pytest -m "not real and not slow and not e2e" -p no:cacheprovider "$@"
fi
bash scripts/setup.sh --llm --system
exec .venv/bin/python -m pytest "$@"
