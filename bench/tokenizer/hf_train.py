#!/usr/bin/env python3
"""Peer: HF tokenizers BpeTrainer with kormo's pipeline (NFC, Qwen2 split, ByteLevel), same specials.
usage: hf_train.py VOCAB OUT_DIR FILE..."""
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIALS = ["<|BOS|>", "<|EOT|>", "<|PAD|>", "<|BOT|>", "<think>", "</think>"]

vocab, out, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
tok = Tokenizer(models.BPE())
tok.normalizer = normalizers.NFC()
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(PATTERN), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIALS, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train(files, trainer)
import os
os.makedirs(out, exist_ok=True)
tok.save(os.path.join(out, "tokenizer.json"))
