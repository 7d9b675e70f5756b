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
[[ $rc -eq 1 && "$err" == *"bad.jsonl:2: token id 100"* ]] || { echo "FAIL: rc=$rc $err"; fails=$((fails + 1)); }
[[ -e "$T/bad.ktok" ]] && { echo "FAIL: partial shard left"; fails=$((fails + 1)); }
err=$("$KORMO" shard --ids "$T/a.jsonl" --vocab-size 100 --mask-span '<think>' '</think>' --out "$T/m.ktok" 2>&1); rc=$?
[[ $rc -eq 2 && "$err" == *"--mask-span needs --docs"* ]] || { echo "FAIL: --mask-span with --ids: rc=$rc $err"; fails=$((fails + 1)); }
[[ $fails -eq 0 ]] && echo "shard ids tests passed"
exit $fails
