#!/usr/bin/env bash
# kormo synth builtin: on a small documents fixture in the Debian source's layout
# (LibreOffice paragraphs, a gettext catalog with multi-line entries, FAQ pages),
# every output line is a valid conversation (roles alternate, assistant last,
# provenance present), each program yields what the fixture holds, a seed gives the
# same bytes twice, and bad input fails naming file:line and writes nothing.
set -uo pipefail
: "${KORMO:?}" "${SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
DOCS="$SRC/tests/fixtures/synth/docs.jsonl"

"$KORMO" -q synth builtin --program all --docs "$DOCS" -n 200 --seed 11 -o "$T/a.jsonl.zst" || fail "synth all"
"$KORMO" -q synth builtin --program all --docs "$DOCS" -n 200 --seed 11 -o "$T/b.jsonl.zst" || fail "synth all again"
cmp -s <(zstdcat "$T/a.jsonl.zst") <(zstdcat "$T/b.jsonl.zst") || fail "same seed, different output"
"$KORMO" -q synth builtin --program all --docs "$DOCS" -n 200 --seed 12 -o "$T/c.jsonl.zst" || fail "synth seed 12"
cmp -s <(zstdcat "$T/a.jsonl.zst") <(zstdcat "$T/c.jsonl.zst") && fail "seeds 11 and 12 gave the same output"
[[ -f "$T/a.summary.json" ]] || fail "no summary beside the output"

zstdcat "$T/a.jsonl.zst" > "$T/a.jsonl"
python3 - "$T/a.jsonl" "$T/a.summary.json" <<'PY' || fails=$((fails + 1))
import collections, json, sys
count = collections.Counter()
ids = set()
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    c = json.loads(line)
    where = f"line {n}"
    assert list(c) == ["id", "conversation", "lang", "source", "synthetic", "meta"], (where, list(c))
    turns = c["conversation"]
    assert len(turns) >= 2 and turns[-1]["role"] == "assistant", where
    roles = [t["role"] for t in turns if t["role"] != "system"]
    assert all(r == ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(roles)), (where, roles)
    for t in turns:
        assert isinstance(t["content"], str) and t["content"].strip(), where
        assert "reasoning_content" not in t or t["role"] == "assistant", where
    assert c["synthetic"] is True and c["lang"] in ("ko", "en"), where
    assert c["source"] == c["meta"]["program"] and c["meta"]["template"], where
    assert c["id"] not in ids, (where, "duplicate id")
    ids.add(c["id"])
    if c["source"] != "arith":
        assert c["meta"]["seed_id"].startswith("debian/") and c["meta"]["path"], where
    else:
        assert turns[-1]["reasoning_content"], where
    count[c["source"]] += 1
    text = {t["role"]: t["content"] for t in turns}
    if c["meta"].get("item") == "entry 3":  # the accelerator is gone from both sides
        assert "_" not in text["user"] + text["assistant"], text
# The fixture: 2 of 3 LibreOffice paragraphs ("Open" is one word, too short) + 4 of 5
# catalog entries (the last is placeholders only), both directions; 3 Korean FAQ
# sections (a 4th is left in English) + 2 English ones; 200 arith items.
assert count == {"translate": 12, "faq": 5, "arith": 200}, count
s = json.load(open(sys.argv[2]))
assert s["conversations"] == 217 and s["counts"]["faq.wrong_language"] == 1, s
assert s["counts"]["translate.too_short"] == 1 and s["counts"]["translate.placeholder_only"] == 1, s["counts"]
PY

# Only one program; arith alone needs no documents.
"$KORMO" -q synth builtin --program arith -n 30 -o "$T/arith.jsonl" || fail "arith"
[[ $(wc -l < "$T/arith.jsonl") -eq 30 ]] || fail "arith -n 30 wrote $(wc -l < "$T/arith.jsonl") lines"

# Bad input: a line that is not a document names file:line; nothing is written.
cp "$DOCS" "$T/bad.jsonl"
echo '{"text": ' >> "$T/bad.jsonl"
out=$("$KORMO" synth builtin --program translate --docs "$T/bad.jsonl" -o "$T/bad-out.jsonl" 2>&1)
rc=$?
[[ $rc -eq 1 ]] || fail "bad line: exit $rc (expected 1): $out"
[[ "$out" == *"$T/bad.jsonl:7"* ]] || fail "bad line: no file:line in: $out"
[[ ! -e "$T/bad-out.jsonl" ]] || fail "bad line: output written"

# Usage errors exit 2.
"$KORMO" synth builtin --program faq -o "$T/x.jsonl" >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "faq without --docs is not a usage error"
"$KORMO" synth builtin --program poems -o "$T/x.jsonl" >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "unknown program is not a usage error"
"$KORMO" synth builtin --program translate --docs "$DOCS" -o "$DOCS" >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "output over input is not refused"

[[ $fails -eq 0 ]] && echo "synth_test: all passed"
exit $((fails > 0))
