"""The hand-written pre-tokenizer splits exactly like HF's Split(Qwen2 regex) (Oniguruma)."""
import json
import subprocess

import pytest
from conftest import run_kormo
from tokenizer_corpus import mixed_lines

PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


@pytest.fixture(scope="module")
def tok_dir(kormo_bin, shared_data, tmp_path_factory):
    t = tmp_path_factory.mktemp("pretok")
    (t / "tiny.txt").write_text("a tiny corpus, just enough to make a tokenizer.json\n" * 3)
    run_kormo(kormo_bin, "-q", "tokenizer", "train", "-o", t, "--vocab-size", 1000, t / "tiny.txt")
    return t


def kormo_pieces(kormo_bin, tok_dir, lines):
    data = "".join(l + "\n" for l in lines).encode()
    out = subprocess.run([kormo_bin, "tokenizer", "encode", "-t", str(tok_dir), "--pieces", "--no-normalize"],
                         input=data, capture_output=True, check=True).stdout.decode()
    return [json.loads(r) for r in out.split("\n")[:-1]]


def hf_split():
    from tokenizers import Regex, pre_tokenizers
    return pre_tokenizers.Split(Regex(PATTERN), behavior="isolated", invert=False)


def check(kormo_bin, tok_dir, lines):
    split = hf_split()
    ours = kormo_pieces(kormo_bin, tok_dir, lines)
    assert len(ours) == len(lines)
    for n, (line, got) in enumerate(zip(lines, ours)):
        want = [p for p, _ in split.pre_tokenize_str(line)]
        if got != want:
            i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            pytest.fail(f"line {n}: piece {i}: kormo {got[i:i + 3]!r} vs HF {want[i:i + 3]!r}")


def test_real_lines(kormo_bin, tok_dir, shared_data):
    check(kormo_bin, tok_dir, mixed_lines(shared_data, per_source=1500, seed=1))


def test_every_bmp_character_in_context(kormo_bin, tok_dir):
    # Each code point between letters, digits, spaces and punctuation, so its class decides the split.
    lines = []
    for start in range(1, 0x10000, 512):
        chars = [chr(c) for c in range(start, min(start + 512, 0x10000)) if not 0xD800 <= c < 0xE000 and c != 10]
        lines.append("".join(f"a{c}b {c}1 '{c}s {c}{c}  {c}!" for c in chars))
    check(kormo_bin, tok_dir, lines)


def test_supplementary_planes(kormo_bin, tok_dir):
    # Every assigned-or-not code point above the BMP, in steps, plus the Unicode 16 additions.
    cps = list(range(0x10000, 0x110000, 61)) + list(range(0x13460, 0x13470)) + list(range(0x16D40, 0x16D7A))
    lines = ["".join(f"x{chr(c)}y {chr(c)}{chr(c)} 7{chr(c)}" for c in cps[i:i + 400]) for i in range(0, len(cps), 400)]
    check(kormo_bin, tok_dir, lines)


def test_contractions_and_whitespace_edge_cases(kormo_bin, tok_dir):
    check(kormo_bin, tok_dir, ["it's IT'S we'Re they'VE I'M you'Ll he'D 'ſ 'x '", "a  b   c\t\td \u3000 e\u00a0\u00a0f",
                               "trailing   ", "\r\r x\r", "mixed 한국어English漢字123", "\x1c\x1d\x1e\x1f\x85 z"])
