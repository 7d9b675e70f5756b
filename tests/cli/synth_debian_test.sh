#!/usr/bin/env bash
# translate and faq on real Debian documents. The grep package (fetched with
# apt-get download into the test cache, as data_debian_test does) has a Korean
# catalog whose --help entries span several lines: its documents must say how many
# lines each entry has (meta.entry_lines) and translate must re-pair every entry.
# With the full default cache (~/.cache/kormo/debian, left by `kormo data ingest
# --source debian`) present, all programs run over it too; skipped otherwise.
set -uo pipefail
: "${KORMO:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cache="${KORMO_DEBIAN_CACHE:-${HOME:-/tmp}/.cache/kormo/debian-test}"

"$KORMO" -q data ingest --source debian --packages grep --cache-dir "$cache" -o "$T/grep.jsonl" || fail "ingest grep"
"$KORMO" -q synth builtin --program translate --docs "$T/grep.jsonl" -o "$T/tr.jsonl" || fail "synth translate"
python3 - "$T/grep.jsonl" "$T/tr.jsonl" "$T/tr.summary.json" <<'PY' || fails=$((fails + 1))
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
cat = [d for d in docs if "catalog_side" in d["meta"]]
assert len(cat) == 2, [d["id"] for d in docs]
for d in cat:
    m = d["meta"]
    assert len(m["entry_lines"]) == m["pairs"], d["id"]
    assert sum(m["entry_lines"]) == d["text"].count("\n"), d["id"]
assert any(n > 1 for n in cat[0]["meta"]["entry_lines"]), "no multi-line entry: the test would not test re-pairing"
counts = json.load(open(sys.argv[3]))["counts"]
assert "translate.group.misaligned" not in counts, counts
rejected = sum(v for k, v in counts.items() if k.startswith("translate.") and k.split(".")[1] not in
               ("candidates", "kept", "pairs", "dedup", "length", "sampled_out"))
assert counts["translate.pairs"] + rejected == cat[0]["meta"]["pairs"], counts
assert counts["translate.pairs"] >= 50, counts
out = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
# Every Korean→English answer is an English msgid and its prompt holds the msgstr paired with it.
en = {e for e in cat[0 if cat[0]["lang"] == "en" else 1]["text"].split("\n")}
multi = [c for c in out if "\n" in c["conversation"][1]["content"]]
assert multi, "no multi-line entry survived the rules"
for c in out:
    if c["lang"] == "en":
        assert all(line in en for line in c["conversation"][1]["content"].split("\n")), c
PY

full="${HOME:-/tmp}/.cache/kormo/debian"
complete=1
for p in libreoffice-help-en-us libreoffice-help-ko debian-faq debian-faq-ko installation-guide-amd64 coreutils dpkg apt grep findutils; do
  compgen -G "$full/${p}_*.deb" > /dev/null || complete=0
done
if [[ $complete -eq 1 ]]; then
  "$KORMO" -q data ingest --source debian -o "$T/all.jsonl.zst" || fail "ingest the default packages"
  "$KORMO" -q synth builtin --program all --docs "$T/all.jsonl.zst" --seed 1 -o "$T/all-sft.jsonl.zst" ||
    fail "synth all on the default packages"
  python3 - "$T/all-sft.summary.json" <<'PY' || fails=$((fails + 1))
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
assert "translate.group.misaligned" not in c, c
assert c["translate.kept"] > 20000 and c["faq.kept"] > 300 and c["arith.kept"] == 1000, c
PY
else
  echo "synth_debian_test: $full incomplete, the default-packages check is skipped"
fi

[[ $fails -eq 0 ]] && echo "synth_debian_test: all passed"
exit $((fails > 0))
