#!/usr/bin/env bash
# The MPI communicator under mpirun (dist_check, tests/dist/dist_check.cpp):
# sums equal the rank-order sum exactly and are bit-identical across ranks and
# runs; broadcast and barrier work; a rank killed with -9 or stopped ends the
# others within seconds with "rank R of N died or stopped responding".
set -euo pipefail
: "${DIST_CHECK:?set DIST_CHECK to the dist_check binary}"
TMP=$(mktemp -d)
MPI_PID=
cleanup() {
  [ -n "$MPI_PID" ] && kill -9 "$MPI_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() {
  echo "FAIL: $*" >&2
  [ -f "$TMP/loop.err" ] && sed 's/^/  | /' "$TMP/loop.err" >&2
  exit 1
}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe)
now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Exact, bit-identical sums, broadcast, barrier; the same result bits on every run.
r0=$("$DIST_CHECK" check) || fail "check in a plain process"
[[ "$r0" == *"ok size=1 single"* ]] || fail "plain process is not the single communicator: $r0"
r1=$("${MPIRUN[@]}" -np 2 "$DIST_CHECK" check) || fail "check with 2 ranks"
r2=$("${MPIRUN[@]}" -np 2 "$DIST_CHECK" check) || fail "check with 2 ranks (second run)"
r3=$("${MPIRUN[@]}" -np 3 "$DIST_CHECK" check) || fail "check with 3 ranks"
echo "$r1"
echo "$r3"
[ "$r1" = "$r2" ] || fail "two runs with 2 ranks differ: '$r1' vs '$r2'"

# Throughput for a 25M-parameter model's gradients. Under the sanitizer the figure means
# nothing and the sums above already cover several blocks: a short run of 4 blocks.
if [[ "${KORMO_TEST_SANITIZED:-0}" == 1 ]]; then
  "${MPIRUN[@]}" -np 2 "$DIST_CHECK" bench 4194304 2 || fail "bench"
else
  "${MPIRUN[@]}" -np 2 "$DIST_CHECK" bench 25000000 5 || fail "bench"
fi

# Starts `dist_check loop` on $1 ranks (more mpirun arguments follow) and waits
# until every rank loops. With wrap=1 each rank runs under a shell that records
# its exit status and time in $TMP/exit.<rank>; the shell also hides a rank's
# death from mpirun, so only the communicator can end the survivors.
start_loop() {
  local np=$1
  shift
  rm -f "$TMP"/exit.* "$TMP"/loop.*
  if [ "${wrap:-0}" = 1 ]; then
    "${MPIRUN[@]}" -np "$np" "$@" bash -c \
      '"$0" loop; echo "$? $(date +%s.%N)" > "$1/exit.$OMPI_COMM_WORLD_RANK"' "$DIST_CHECK" "$TMP" \
      > "$TMP/loop.out" 2> "$TMP/loop.err" &
  else
    "${MPIRUN[@]}" -np "$np" "$@" "$DIST_CHECK" loop > "$TMP/loop.out" 2> "$TMP/loop.err" &
  fi
  MPI_PID=$!
  for _ in $(seq 600); do
    [ "$(grep -c looping "$TMP/loop.out" || true)" = "$np" ] && return 0
    sleep 0.1
  done
  fail "dist_check loop did not start on $np ranks"
}
pid_of_rank() { awk -v r="$1" '$3 == r && $4 == "pid" { print $5 }' "$TMP/loop.out"; }
# Waits for mpirun (at most 60 s) and sets RC; fails past the limit.
wait_job() {
  for _ in $(seq 600); do
    kill -0 "$MPI_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$MPI_PID" 2>/dev/null && fail "job still running 60 s after a rank failed"
  RC=0
  wait "$MPI_PID" || RC=$?
  MPI_PID=
}

# kill -9 with nothing but the communicator to notice: the survivor exits 1
# with the message, within seconds.
wrap=1 start_loop 2
victim=$(pid_of_rank 1)
t0=$(now)
kill -9 "$victim"
wait_job
read -r status t1 < "$TMP/exit.0" || fail "rank 0 left no exit record"
took=$(seconds "$t0" "$t1")
echo "kill -9 of rank 1 of 2: rank 0 exited with $status after ${took}s"
[ "$status" = 1 ] || fail "rank 0 exited with $status, expected 1"
awk -v s="$took" 'BEGIN { exit !(s < 30) }' || fail "rank 0 took ${took}s to notice"
grep -q "rank 1 of 2 died or stopped responding" "$TMP/loop.err" || fail "no clear message"

# kill -9 under plain mpirun, 3 ranks: the whole job ends non-zero, quickly.
start_loop 3
t0=$(now)
kill -9 "$(pid_of_rank 1)"
wait_job
took=$(seconds "$t0" "$(now)")
echo "kill -9 of rank 1 of 3 under mpirun: exit $RC after ${took}s"
[ "$RC" != 0 ] || fail "mpirun exited 0 after a rank was killed"
awk -v s="$took" 'BEGIN { exit !(s < 30) }' || fail "job took ${took}s to end"
grep -qE "rank 1 of 3 died or stopped responding|exited on signal 9" "$TMP/loop.err" || fail "no clear message"

# A stopped rank (alive, silent): the survivors time out after KORMO_DIST_TIMEOUT_S.
start_loop 3 -x KORMO_DIST_TIMEOUT_S=3
victim=$(pid_of_rank 2)
t0=$(now)
kill -STOP "$victim"
wait_job
kill -9 "$victim" 2>/dev/null || true
took=$(seconds "$t0" "$(now)")
echo "SIGSTOP of rank 2 of 3 (timeout 3 s): exit $RC after ${took}s"
[ "$RC" != 0 ] || fail "mpirun exited 0 after a rank stopped"
awk -v s="$took" 'BEGIN { exit !(s >= 3 && s < 30) }' || fail "stopped rank noticed after ${took}s, expected 3-30"
grep -qE "ranks? ([0-9], )*2 of 3 died or stopped responding: .*process $victim on this host is stopped" \
  "$TMP/loop.err" || fail "no clear message for the stopped rank"
echo "dist_mpi: ok"
