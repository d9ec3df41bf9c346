#!/usr/bin/env bash
# One command that runs the tests: installs everything (incl. the LLM smoke model, Chromium, LibreOffice), then pytest.
#   bash scripts/test.sh            the full suite (real model, real Chroma, Chroma server, browser) = .ci/run
#   bash scripts/test.sh --fast     logic tests only (fake embeddings, no setup step), < 60 s: two pytest-xdist
#                                   workers, each running whole test files (module fixtures are built once);
#                                   -n 0 runs in one process (e.g. for --pdb), -n 4 on more workers
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
if [ "${1:-}" = "--fast" ]; then
  shift
  python=${PYTHON:-.venv/bin/python}
  # the whole tier on two workers; a run of named files or tests (tests/x.py, x.py::test_y) stays in one process,
  # where starting two workers would cost more than they save
  workers=(-n 2 --dist loadfile)
  for arg in "$@"; do
    case "$arg" in -*) ;; *) if [ -e "${arg%%::*}" ]; then workers=(); fi ;; esac
  done
  if [ "${#workers[@]}" -gt 0 ] && ! "$python" -c "import xdist" 2>/dev/null; then
    echo ">> pytest-xdist mangler (bash scripts/setup.sh installerer det): testene kører i én proces" >&2
    workers=()
  fi
  exec "$python" -m pytest -m "not real and not slow and not e2e" -p no:cacheprovider "${workers[@]}" "$@"
fi
bash scripts/setup.sh --llm --system
exec .venv/bin/python -m pytest "$@"
