#!/usr/bin/env bash
# One command for a newcomer: install, build the default index from corpus/ if missing, start the chat UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/python -m ingest --if-missing
echo ">> Starter chatten på http://localhost:${PA_PORT:-8501}"
exec .venv/bin/streamlit run ui/app.py --server.port "${PA_PORT:-8501}" --server.headless true \
  --browser.gatherUsageStats false
