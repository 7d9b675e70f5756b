#!/usr/bin/env bash
# kormo synth run/plan: bad configs are refused with file and key (a key in the file, an
# unset key variable, an unknown key), then the end-to-end checks of
# tests/python/test_synth_teacher.py (fault-injecting endpoint, planted outputs, kill -9
# against kormo serve), which need only the binary and ../shared/data.
set -uo pipefail
: "${KORMO:?}" "${SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

base='[program]
name = "t"
output = "'$T'/out"
[seeds]
topics = ["광합성"]
[teachers.a]
url = "http://127.0.0.1:9/v1"
model = "m"'

printf '%s\napi_key = "sk-secret"\n' "$base" > "$T/key.toml"
out=$("$KORMO" synth plan "$T/key.toml" 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"key.toml [teachers.a]"*"api_key_env"* && $out != *"sk-secret"* ]] \
  || fail "a key in the config is refused without echoing it (rc $rc): $out"

printf '%s\napi_key_env = "KORMO_TEST_UNSET_KEY"\n' "$base" > "$T/env.toml"
out=$(env -u KORMO_TEST_UNSET_KEY "$KORMO" synth run "$T/env.toml" 2>&1); rc=$?
[[ $rc -eq 2 && $out == *"KORMO_TEST_UNSET_KEY"* ]] || fail "an unset key variable is a usage error (rc $rc): $out"

printf '%s\nconcurency = 3\n' "$base" > "$T/typo.toml"
out=$("$KORMO" synth plan "$T/typo.toml" 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"concurency"* ]] || fail "an unknown key is named (rc $rc): $out"

printf '%s\n' "$base" > "$T/ok.toml"
n=$("$KORMO" synth plan "$T/ok.toml" | wc -l)
[[ $n -eq 1 ]] || fail "plan prints one line per item (got $n)"

cd "$SRC/tests/python" && KORMO_FROM_CTEST=1 KORMO_BIN="$KORMO" python3 -m pytest -q -p no:cacheprovider test_synth_teacher.py \
  || fail "tests/python/test_synth_teacher.py"

[[ $fails -eq 0 ]] || exit 1
echo "synth_teacher_test: ok"
