"""kormo's tokenizer.json loads in HF tokenizers/transformers and gives kormo's ids."""
import json
import subprocess
import unicodedata

import pytest
from conftest import run_kormo
from tokenizer_corpus import mixed_lines, write_lines


@pytest.fixture(scope="module")
def trained(kormo_bin, shared_data, tmp_path_factory):
    t = tmp_path_factory.mktemp("tokpar")
    lines = mixed_lines(shared_data, per_source=2000)
    train, held = lines[::2], lines[1::2]
    write_lines(t / "train.txt", train)
    run_kormo(kormo_bin, "-q", "tokenizer", "train", "-o", t / "tok", "--vocab-size", 6000, t / "train.txt")
    return t, held, lines


def kormo_encode(kormo_bin, tok_dir, lines, *flags):
    data = "".join(l + "\n" for l in lines).encode()
    out = subprocess.run([kormo_bin, "tokenizer", "encode", "-t", str(tok_dir), *flags], input=data,
                         capture_output=True, check=True).stdout.decode()
    rows = out.split("\n")[:-1]
    assert len(rows) == len(lines)
    return [[int(x) for x in r.split()] for r in rows]


def test_hf_tokenizers_gives_the_same_ids(kormo_bin, trained):
    from tokenizers import Tokenizer
    t, _, lines = trained
    assert len(lines) >= 10000  # seen and unseen halves
    hf = Tokenizer.from_file(str(t / "tok" / "tokenizer.json"))
    # HF turns special-token text into ids by default; kormo does with --allow-special.
    ours = kormo_encode(kormo_bin, t / "tok", lines, "--allow-special")
    theirs = [e.ids for e in hf.encode_batch(lines, add_special_tokens=True)]
    bad = [(l, a, b) for l, a, b in zip(lines, ours, theirs) if a != b]
    assert not bad, f"{len(bad)} of {len(lines)} lines differ; first: {bad[0]}"
    held = lines
    # Decoding: HF's ByteLevel decoder and kormo agree, and give back the NFC text.
    decoded = subprocess.run([kormo_bin, "tokenizer", "decode", "-t", str(t / "tok")],
                             input="".join(" ".join(map(str, ids)) + "\n" for ids in ours).encode(),
                             capture_output=True, check=True).stdout.decode().split("\n")[:-1]
    for line, ids, back in zip(held, ours, decoded):
        assert back == unicodedata.normalize("NFC", line)
        assert hf.decode(ids, skip_special_tokens=False) == back


def test_compression_is_bilingual(kormo_bin, trained):
    t, held, _ = trained
    ids = kormo_encode(kormo_bin, t / "tok", held)
    ko = [(l, i) for l, i in zip(held, ids) if sum("\uac00" <= c <= "\ud7a3" for c in l) > len(l) / 3]
    ko_bpt = sum(len(l.encode()) for l, _ in ko) / sum(len(i) for _, i in ko)
    assert ko_bpt > 2.5, ko_bpt


def test_hf_matches_on_tricky_text(kormo_bin, trained):
    from tokenizers import Tokenizer
    t, _, _ = trained
    hf = Tokenizer.from_file(str(t / "tok" / "tokenizer.json"))
    tricky = ["It's WE'LL they'Re 'ſ", "   leading and trailing   ", "tab\there\tand\x0bvt", "a\r", "\r\r\r",
              "e\u0301 combining \u1100\u1161\u11a8 jamo", "emoji 👩‍👩‍👧 🇰🇷 ✔️", "漢字 한자 かな カナ", "x" * 300,
              "😀" * 100, "!!!???...", "12,345.678원", "\u3000전각 공백\u3000", "NUL-free \x01\x02\x1f binary-ish \x7f"]
    ours = kormo_encode(kormo_bin, t / "tok", tricky, "--allow-special")
    for line, ids in zip(tricky, ours):
        assert hf.encode(line).ids == ids, line


def test_transformers_autotokenizer_loads_the_directory(kormo_bin, trained):
    from transformers import AutoTokenizer
    t, held, _ = trained
    tok = AutoTokenizer.from_pretrained(str(t / "tok"))
    assert tok.bos_token == "<|BOS|>" and tok.eos_token == "<|EOT|>" and tok.pad_token == "<|PAD|>"
    sample = held[:300]
    ours = kormo_encode(kormo_bin, t / "tok", sample, "--allow-special")
    for line, ids in zip(sample, ours):
        assert tok(line, add_special_tokens=True)["input_ids"] == ids
    chat = tok.apply_chat_template([{"role": "user", "content": "안녕?"}, {"role": "assistant", "content": "네!"}],
                                   tokenize=False)
    assert chat == "<|BOT|>user\n안녕?<|EOT|><|BOT|>assistant\n네!<|EOT|>"
    with_specials = kormo_encode(kormo_bin, t / "tok", [chat.replace("\n", " ")], "--allow-special")[0]
    assert with_specials == tok(chat.replace("\n", " "), add_special_tokens=False)["input_ids"]
    cfg = json.loads((t / "tok" / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_kormo_loads_an_hf_trained_qwen2_style_tokenizer(kormo_bin, trained, tmp_path):
    """A tokenizer.json written by HF itself (specials first, string merges) encodes identically in kormo."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    t, held, _ = trained
    pattern = json.loads((t / "tok" / "tokenizer.json").read_text())["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train([str(t / "train.txt")], trainers.BpeTrainer(
        vocab_size=3000, special_tokens=["<|endoftext|>", "<|im_start|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    sample = held[:2000] + ["<|im_start|>user hi<|endoftext|>"]
    ours = kormo_encode(kormo_bin, tmp_path, sample, "--allow-special")
    assert ours == [e.ids for e in tok.encode_batch(sample)]


def test_kormo_loads_a_gpt2_style_tokenizer(kormo_bin, trained, tmp_path):
    """GPT-2's pipeline (no normaliser, ByteLevel with its own regex) loads and encodes identically."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    t, held, _ = trained
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.train([str(t / "train.txt")], trainers.BpeTrainer(
        vocab_size=3000, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    sample = held[:2000] + ["It's we'LL  two  spaces\tand\ttabs 123 4567 ?!x <|endoftext|>", "  leading", "end  "]
    ours = kormo_encode(kormo_bin, tmp_path, sample, "--allow-special")
    theirs = [e.ids for e in tok.encode_batch(sample)]
    bad = [(l, a, b) for l, a, b in zip(sample, ours, theirs) if a != b]
    assert not bad, f"{len(bad)} differ; first {bad[0]}"
