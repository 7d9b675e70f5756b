#!/usr/bin/env bash
# Installs everything kormo needs on Debian 12 (as root) and builds it.
#   bash scripts/setup.sh            # product + test dependencies, Release build in build/
#   KORMO_SKIP_TEST_DEPS=1 bash scripts/setup.sh   # product dependencies only
#   KORMO_CUDA=OFF bash scripts/setup.sh            # CPU-only even where nvcc is installed
# Idempotent: packages already present are not reinstalled; the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

# Product dependencies (Debian packages; see README "Dependencies" for why each).
DEB_PACKAGES=(
  build-essential cmake ninja-build pkg-config git zstd
  libutf8proc-dev libzstd-dev libxxhash-dev nlohmann-json3-dev libtomlplusplus-dev
  libcli11-dev libfmt-dev libblis-dev libopenblas-dev libdnnl-dev libcpp-httplib-dev
  libfasttext-dev fasttext libopenmpi-dev openmpi-bin libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev python3 python3-pip
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ "${KORMO_SKIP_TEST_DEPS:-0}" != 1 ]]; then
  # Headless Chromium: the chat page test (tests/python/test_serve_page.py).
  if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
    echo "setup: installing chromium (test dependency)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  fi
  PY=${PYTHON:-python3}
  if ! $PY -c "import pytest, numpy, tokenizers, transformers, safetensors, torch, lm_eval, accelerate, tenacity, gguf" 2>/dev/null; then
    echo "setup: installing Python test/benchmark references (requirements-test.txt)"
    $PY -m pip install -q --root-user-action=ignore -r requirements-test.txt
  fi
fi

# The CUDA backend is built whenever a CUDA toolkit is found (KORMO_CUDA=AUTO; ON/OFF to force).
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH=/usr/local/cuda/bin:$PATH; fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKORMO_WERROR="${KORMO_WERROR:-ON}" \
  -DKORMO_CUDA="${KORMO_CUDA:-AUTO}" -DKORMO_UNITY="${KORMO_UNITY:-OFF}" >/dev/null
cmake --build build
