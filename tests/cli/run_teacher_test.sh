#!/usr/bin/env bash
# kormo run's synth stage with a teacher endpoint (a real kormo serve on loopback, behind a
# counting proxy): tests/python/test_run_teacher.py — requests counted per planned item, the
# budget, reuse without requests, kill -9 mid-synth then exactly-once, provenance into the
# pretraining shard, the diversity report in the manifest and the run report.
set -uo pipefail
: "${KORMO:?}" "${SRC:?}"
export OMP_WAIT_POLICY=passive
cd "$SRC/tests/python" && KORMO_FROM_CTEST=1 KORMO_BIN="$KORMO" python3 -m pytest -q -p no:cacheprovider test_run_teacher.py \
  || { echo "FAIL: tests/python/test_run_teacher.py"; exit 1; }
echo "run_teacher_test: ok"
