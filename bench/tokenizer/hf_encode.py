#!/usr/bin/env python3
"""Peer: HF tokenizers encode_batch on the lines of a file; prints seconds spent encoding.
usage: hf_encode.py TOKENIZER_DIR FILE   (threads: RAYON_NUM_THREADS)"""
import sys
import time

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
t0 = time.perf_counter()
enc = tok.encode_batch(lines)
dt = time.perf_counter() - t0
print(f"{dt:.4f} {sum(len(e.ids) for e in enc)}")
