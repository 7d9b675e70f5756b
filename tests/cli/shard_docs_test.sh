#!/usr/bin/env bash
# kormo shard --docs --mask-span: the markers become special tokens, the shard's loss mask is 0
# from each opening marker through its closing one, shards without masked tokens carry no mask,
# and a marker the tokenizer lacks is an error that writes nothing.
set -uo pipefail
: "${KORMO:?}" "${SHARED_DATA:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$KORMO" -q tokenizer train -o "$T/tok" --vocab-size 1000 "$SHARED_DATA/corpora/en/gutenberg/Alice-s-Adventures-in-Wonderland_11.txt" ||
  { echo "FAIL: tokenizer train"; exit 1; }
cat > "$T/docs.jsonl" <<'J'
{"text": "Alice thought <think>is it a rabbit? a watch!</think> and ran after it", "lang": "en"}
{"text": "Nothing to hide here, not even <|EOT|>.", "lang": "en"}
J
out=$("$KORMO" shard --docs "$T/docs.jsonl" --tokenizer "$T/tok" --mask-span '<think>' '</think>' --out "$T/m.ktok" 2>&1) ||
  fail "shard --mask-span: $out"
[[ "$out" == *"masked out of the loss"* ]] || fail "summary line: $out"
"$KORMO" -q shard --docs "$T/docs.jsonl" --tokenizer "$T/tok" --out "$T/plain.ktok" || fail "shard without --mask-span"

python3 - "$T/m.ktok" "$T/plain.ktok" "$T/tok/tokenizer.json" <<'PY' || fails=$((fails + 1))
import json, struct, sys
def read(path):
    b = open(path, "rb").read()
    magic, ver, vocab, width, ntok, ndoc, flags = struct.unpack_from("<4sIIIQQI", b, 0)
    assert (magic, ver, width) == (b"KTOK", 2, 2), (magic, ver, width)
    toks = struct.unpack_from(f"<{ntok}H", b, 64)
    off_pos = 64 + (2 * ntok + 7) // 8 * 8
    offs = struct.unpack_from(f"<{ndoc + 1}Q", b, off_pos)
    mask_pos = off_pos + 8 * (ndoc + 1) + 16 * ndoc
    mask = b[mask_pos:mask_pos + ntok] if flags & 1 else None
    assert len(b) == mask_pos + ((ntok + 7) // 8 * 8 if mask is not None else 0), (len(b), mask_pos, flags)
    return toks, offs, flags, mask
ids = {t["content"]: t["id"] for t in json.load(open(sys.argv[3]))["added_tokens"]}
think, end = ids["<think>"], ids["</think>"]
toks, offs, flags, mask = read(sys.argv[1])
assert flags == 1 and mask is not None, flags
doc0 = toks[offs[0]:offs[1]]
a, z = doc0.index(think), doc0.index(end)
want = [0 if a <= i <= z else 1 for i in range(len(doc0))]
assert list(mask[offs[0]:offs[1]]) == want, (list(mask[offs[0]:offs[1]]), want)
assert set(mask[offs[1]:offs[2]]) == {1}, "the document without a span is all ones"
assert toks[offs[1]:offs[2]].count(ids["<|EOT|>"]) == 1, "only the closing EOT: other special text stays text"
ptoks, _, pflags, pmask = read(sys.argv[2])
assert pflags == 0 and pmask is None and think not in ptoks, "without --mask-span: no mask, markers are text"
PY

err=$("$KORMO" shard --docs "$T/docs.jsonl" --tokenizer "$T/tok" --mask-span '<nope>' '</think>' --out "$T/bad.ktok" 2>&1); rc=$?
[[ $rc -eq 1 && "$err" == *"'<nope>' is not a special token of the tokenizer"* ]] || fail "absent marker: rc=$rc $err"
[[ -e "$T/bad.ktok" ]] && fail "a shard was written despite the error"
[[ $fails -eq 0 ]] && echo "shard docs tests passed"
exit $fails
