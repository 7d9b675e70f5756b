#!/usr/bin/env bash
# kormo shard --ids: writes a shard the reader accepts; bad lines name file:line; no partial output.
set -uo pipefail
: "${KORMO:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
printf '{"ids": [0, 5, 6, 1], "lang": "ko", "text": "안녕"}\n\n{"ids": [0, 7, 1], "lang": "en", "bytes": 9, "synthetic": true}\n' > "$T/a.jsonl"
zstd -q "$T/a.jsonl" -o "$T/b.jsonl.zst"
err=$("$KORMO" shard --ids "$T/a.jsonl" "$T/b.jsonl.zst" --vocab-size 100 --out "$T/a.ktok" 2>&1)
[[ $? -eq 0 && "$err" == *"4 documents, 14 tokens"* ]] || { echo "FAIL: shard: $err"; fails=$((fails + 1)); }
# Header: magic, version 2, vocab 100, width 2, 14 tokens, 4 docs, flags 0 (no loss mask).
python3 - "$T/a.ktok" <<'PY' || fails=$((fails + 1))
import struct, sys
b = open(sys.argv[1], "rb").read()
head = struct.unpack_from("<4sIIIQQI", b, 0)
assert head == (b"KTOK", 2, 100, 2, 14, 4, 0), head
toks = struct.unpack_from("<14H", b, 64)
assert toks[:4] == (0, 5, 6, 1), toks
off_pos = 64 + (14 * 2 + 7) // 8 * 8
offs = struct.unpack_from("<5Q", b, off_pos)
assert offs == (0, 4, 7, 11, 14), offs
info = struct.unpack_from("<QIBBH", b, off_pos + 40)
assert info[0] == len("안녕".encode()) and info[2] == 1, info
info2 = struct.unpack_from("<QIBBH", b, off_pos + 40 + 16)
assert info2[0] == 9 and info2[2] == 2 and info2[3] == 1, info2
assert len(b) == off_pos + 40 + 4 * 16
PY
printf '{"ids": [1, 2]}\n{"ids": [3, 100]}\n' > "$T/bad.jsonl"
err=$("$KORMO" shard --ids "$T/bad.jsonl" --vocab-size 100 --out "$T/bad.ktok" 2>&1); rc=$?
[[ $rc -eq 1 && "$err" == *"bad.jsonl:2: token id 100 (ids[1]) is not an integer in [0, 100)"* ]] || { echo "FAIL: rc=$rc $err"; fails=$((fails + 1)); }
[[ -e "$T/bad.ktok" ]] && { echo "FAIL: partial shard left"; fails=$((fails + 1)); }
# Every value is range-checked before conversion: nothing is truncated (1.5 → 1) or
# wrapped (2^32 + 5 → 5) into a valid-looking id. Each case: line, expected message.
while IFS=$'\t' read -r line want; do
  rm -f "$T/case.ktok"
  printf '{"ids": [0]}\n%s\n' "$line" > "$T/case.jsonl"
  err=$("$KORMO" shard --ids "$T/case.jsonl" --vocab-size 100 --out "$T/case.ktok" 2>&1); rc=$?
  [[ $rc -eq 1 && "$err" == *"case.jsonl:2$want"* ]] || { echo "FAIL: $line: rc=$rc $err"; fails=$((fails + 1)); }
  [[ -e "$T/case.ktok" ]] && { echo "FAIL: $line: shard written"; fails=$((fails + 1)); }
done <<'CASES'
{"ids": [1, 12x]}	:15: expected {"ids": [int...], ...}
{"ids": [1, ]}	:13: expected {"ids": [int...], ...}
{"ids": [1.5]}	: token id 1.5 (ids[0]) is not an integer in [0, 100)
{"ids": [3, ""]}	: token id "" (ids[1]) is not an integer in [0, 100)
{"ids": [3, "7"]}	: token id "7" (ids[1]) is not an integer in [0, 100)
{"ids": [3, -3]}	: token id -3 (ids[1]) is not an integer in [0, 100)
{"ids": [99999999999999999999]}	: token id 1e+20 (ids[0]) is not an integer in [0, 100)
{"ids": [9223372036854775808]}	: token id 9223372036854775808 (ids[0]) is not an integer in [0, 100)
{"ids": [4294967296]}	: token id 4294967296 (ids[0]) is not an integer in [0, 100)
{"ids": [4294967301]}	: token id 4294967301 (ids[0]) is not an integer in [0, 100)
{"ids": [null]}	: token id null (ids[0]) is not an integer in [0, 100)
{"ids": 5}	: expected {"ids": [int...], ...}
[1, 2]	: expected {"ids": [int...], ...}
{"ids": [1], "bytes": -1}	: bytes: expected a non-negative integer, got -1
{"ids": [1], "bytes": 2.5}	: bytes: expected a non-negative integer, got 2.5
{"ids": [1], "source": 4294967296}	: source: expected a source id in [0, 2^32), got 4294967296
{"ids": [1], "lang": 5}	: lang: expected a string, got 5
{"ids": [1], "text": 5}	: text: expected a string, got 5
{"ids": [1], "synthetic": 1}	: synthetic: expected true or false, got 1
CASES
# --vocab-size is a usage error outside [1, 2^31] (ids are int32).
for v in 0 2147483649 4294967296 -1 12x; do
  err=$("$KORMO" shard --ids "$T/a.jsonl" --vocab-size "$v" --out "$T/v.ktok" 2>&1); rc=$?
  [[ $rc -eq 2 && "$err" == *"--vocab-size"* ]] || { echo "FAIL: --vocab-size $v: rc=$rc $err"; fails=$((fails + 1)); }
done
err=$("$KORMO" shard --ids "$T/a.jsonl" --vocab-size 100 --mask-span '<think>' '</think>' --out "$T/m.ktok" 2>&1); rc=$?
[[ $rc -eq 2 && "$err" == *"--mask-span needs --docs"* ]] || { echo "FAIL: --mask-span with --ids: rc=$rc $err"; fails=$((fails + 1)); }
[[ $fails -eq 0 ]] && echo "shard ids tests passed"
exit $fails
