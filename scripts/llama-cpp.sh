#!/usr/bin/env bash
# Builds llama.cpp (CPU only) for the GGUF tests and the inference benchmark — a reference
# to compare against, never part of the product. The source comes from the llama-cpp-python
# source distribution on PyPI, which vendors llama.cpp under vendor/llama.cpp, so pip is the
# only client needed. The build is cached under ${KORMO_CACHE:-$HOME/.cache/kormo}; a second
# run prints the cached bin directory at once.
#
# Usage: scripts/llama-cpp.sh        → prints the directory holding llama-simple, llama-bench,
#                                      llama-tokenize (the last line of stdout)
set -euo pipefail

PIN=${LLAMA_CPP_PYTHON_PIN:-0.3.16}
CACHE=${KORMO_CACHE:-$HOME/.cache/kormo}
ROOT=$CACHE/llama.cpp-$PIN
BIN=$ROOT/build/bin
TARGETS=(llama-simple llama-bench llama-tokenize)
JOBS=${KORMO_JOBS:-2}

have_all() {
  local t
  for t in "${TARGETS[@]}"; do [[ -x $BIN/$t ]] || return 1; done
}
if have_all; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$ROOT"
start=$(date +%s)
if [[ ! -f $ROOT/src/CMakeLists.txt ]]; then
  dl=$(mktemp -d "$ROOT/.download.XXXXXX")
  trap 'rm -rf "$dl"' EXIT
  python3 -m pip download --quiet --no-binary :all: --no-deps -d "$dl" "llama-cpp-python==$PIN" >&2
  tar -xzf "$dl"/llama_cpp_python-"$PIN".tar.gz -C "$dl"
  src=$dl/llama_cpp_python-$PIN/vendor/llama.cpp
  [[ -f $src/CMakeLists.txt ]] || { echo "llama-cpp.sh: $src has no CMakeLists.txt" >&2; exit 1; }
  rm -rf "$ROOT/src"
  mv "$src" "$ROOT/src"
fi
cmake -S "$ROOT/src" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$ROOT/build" -j "$JOBS" --target "${TARGETS[@]}" >&2
have_all || { echo "llama-cpp.sh: build finished without ${TARGETS[*]} in $BIN" >&2; exit 1; }
echo "llama-cpp.sh: built in $(( $(date +%s) - start )) s" >&2
echo "$BIN"
