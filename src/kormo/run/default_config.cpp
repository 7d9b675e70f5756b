#include "kormo/run/run.h"

namespace kormo::run {

const char* default_config() {
  return R"toml(# kormo run — embedded default: the one-command demo on a fresh Debian machine.
# Print it with `kormo run --print-default`, edit, and pass the file to `kormo run`.
# The run's own paths (cache_dir, work_dir) are relative to the run directory; sources
# (inputs, files, rules) are relative to the directory kormo run is started in.

[data]                      # a `kormo data pipeline` config (docs/data.md)
[data.pipeline]
shard_docs = 500
[data.ingest]
source = "debian"           # LibreOffice help, gettext catalogues, Debian FAQ, installation guide
cache_dir = "cache/debian"
[data.normalize]
form = "NFC"
[data.langid]
keep = ["ko", "en"]
# Technical help pages are short and full of menu names: the demo relaxes
# FineWeb-2's web thresholds for word count, sentences and letter words.
[data.filter.ko]
min_words = 20
c4_min_sentences = 2
max_non_alpha_words_ratio = 0.65
[data.filter.en]
min_words = 20
c4_min_sentences = 2
max_non_alpha_words_ratio = 0.65
[data.dedup]
bands = 14
rows = 8

[tokenizer]
vocab_size = 8192
mix = "ko=0.5,en=0.5"

[model]                     # vocab_size comes from the tokenizer
hidden_size = 192
intermediate_size = 512
num_layers = 4
num_heads = 6
num_kv_heads = 2
head_dim = 32
max_seq_len = 256
rope_theta = 500000.0
rms_eps = 1e-5

[pretrain.data]
batch_size = 8
seq_len = 256
val_fraction = 0.05
val_tokens = 32768

[pretrain.train]
steps = 300
lr = 2e-3
schedule = "wsd"
warmup_frac = 0.03
decay_frac = 0.2
eval_every = 100
checkpoint_every = 300
threads = 2
seed = 1
)toml";
}

}  // namespace kormo::run
