#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, then runs
#   1. C++ unit tests and CLI integration tests (ctest),
#   2. reference checks against PyTorch / Hugging Face (pytest),
#   3. the unit and CLI tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (clang build in build-fuzz/; KORMO_SKIP_SANITIZE=1 skips it),
#   4. a short libFuzzer run of each fuzz target from the same build (KORMO_SKIP_FUZZ=1 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
# Idle OpenMP threads sleep instead of spinning: on shared or small machines spinning
# threads steal the cores the working ones need (docs/engine.md, "Threads").
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
bash scripts/setup.sh

# One clang build with AddressSanitizer and UndefinedBehaviorSanitizer (build-fuzz/) serves
# both the sanitizer run of the unit and CLI tests and the libFuzzer targets. It starts now,
# at the lowest CPU priority, so it takes only what the Release tests leave idle (pytest runs
# one test at a time, many of them waiting on a server) instead of all of it after them.
sanitizer_build=
if [[ "${KORMO_SKIP_SANITIZE:-0}" != 1 || "${KORMO_SKIP_FUZZ:-0}" != 1 ]]; then
  mkdir -p build-fuzz
  set -m  # the build gets a process group of its own, so a failed stage can stop all of it
  (
    renice -n 19 -p $BASHPID >/dev/null
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DKORMO_FUZZ=ON -DKORMO_CUDA=OFF -DKORMO_NATIVE=OFF -DKORMO_UNITY="${KORMO_UNITY:-OFF}" -DBUILD_TESTING=ON
    cmake --build build-fuzz
  ) > build-fuzz/build.log 2>&1 &
  sanitizer_build=$!
  set +m
  trap 'kill -- -"$sanitizer_build" 2>/dev/null || true' EXIT
fi

echo "== ctest"
ctest --test-dir build --output-on-failure -j2

echo "== pytest"
PY=${PYTHON:-python3}
KORMO_BIN="$PWD/build/kormo" $PY -m pytest -q tests/python

if [[ -n $sanitizer_build ]]; then
  echo "== sanitizer build (build-fuzz/; its log: build-fuzz/build.log)"
  if ! wait "$sanitizer_build"; then
    tail -60 build-fuzz/build.log
    echo "the sanitizer build failed (build-fuzz/build.log)"
    exit 1
  fi
  trap - EXIT
fi

if [[ "${KORMO_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== ctest under ASan+UBSan (build-fuzz/)"
  # Any report fails the test: UBSan stops at its first finding, ASan always does. Leaks are
  # checked except in the tests that start MPI jobs (label mpi: their ctest environment
  # appends detect_leaks=0; tests/CMakeLists.txt says why).
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0
  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
    ctest --test-dir build-fuzz --output-on-failure -j2 -LE no_sanitizer
fi

if [[ "${KORMO_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz (${KORMO_FUZZ_SECONDS:-20}s per target)"
  mapfile -t targets < <(cd tests/fuzz && ls *_fuzz.cpp 2>/dev/null | sed 's/\.cpp$//')
  for t in "${targets[@]}"; do
    mkdir -p build-fuzz/corpus/"$t"
    if ! build-fuzz/tests/"$t" -max_total_time="${KORMO_FUZZ_SECONDS:-20}" -seed=1 -print_final_stats=0 \
        -artifact_prefix=build-fuzz/ build-fuzz/corpus/"$t" tests/fuzz/seeds/"$t" > build-fuzz/"$t".log 2>&1; then
      tail -60 build-fuzz/"$t".log
      echo "fuzz: $t found a failure (input saved under build-fuzz/crash-*)"
      exit 1
    fi
    tail -1 build-fuzz/"$t".log
  done
fi
echo "all test stages passed"
