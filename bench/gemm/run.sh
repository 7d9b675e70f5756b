#!/usr/bin/env bash
# Builds the GEMM benchmark once per library and runs each with 2 threads.
# Usage: bash bench/gemm/run.sh [threads]   (LIBS="onednn bf16" runs a subset)
set -euo pipefail
cd "$(dirname "$0")"
T=${1:-2}
B=${BUILD:-/tmp/kormo-gemm-bench}
mkdir -p "$B"
CXX=${CXX:-g++}
F="-O2 -march=native -fopenmp -std=c++20"
$CXX $F -DUSE_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread gemm_bench.cpp -o "$B/openblas" \
  -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas
$CXX $F -DUSE_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp gemm_bench.cpp -o "$B/blis" \
  -L/usr/lib/x86_64-linux-gnu/blis-openmp -lblis
$CXX $F -DUSE_DNNL gemm_bench.cpp -o "$B/onednn" -ldnnl
# kormo's bf16 GEMM, linked from the engine build (KORMO_BUILD, default ../../build).
K=${KORMO_BUILD:-../../build}
if [ -f "$K/src/libkormo_backend.a" ]; then
  $CXX $F -DUSE_KORMO_BF16 -I../../src gemm_bench.cpp -o "$B/bf16" "$K/src/libkormo_backend.a" \
    "$K/src/libkormo_util.a" -ldnnl -lfmt
  DEFAULT_LIBS="openblas blis onednn bf16"
else
  echo "no engine build at $K: skipping the bf16 column" >&2
  DEFAULT_LIBS="openblas blis onednn"
fi
for lib in ${LIBS:-$DEFAULT_LIBS}; do
  OMP_NUM_THREADS=$T BLIS_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T "$B/$lib" "$T"
done
