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

[split]                     # documents held out of every later stage, for evaluation
heldout_fraction = 0.03     # of the documents (by a hash of their text) …
heldout_bytes = 60000       # … up to this much text per language

[synth]                     # teacher-free instruction data (kormo synth builtin, docs/synth.md)
programs = ["translate", "faq", "arith"]
n = 2000                    # at most this many conversations per program
seed = 1
heldout_arith = 50          # arithmetic problems kept for the eval stage, not trained on
# A teacher LLM (any OpenAI-compatible endpoint) adds Korean text written from the training
# documents with the embedded teacher program (`kormo run --print-teacher-program`):
# [synth.teachers.local]
# url = "http://127.0.0.1:8080/v1"
# model = "my-teacher"
# api_key_env = "TEACHER_API_KEY"   # the key's environment variable, never the key
# [synth.budget]
# max_requests = 2000

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

[pretrain.data]             # shared by every phase; a phase's [data] overrides
batch_size = 8
seq_len = 256
val_fraction = 0.05
val_tokens = 32768

[pretrain.train]            # shared by every phase; a phase's [train] overrides
lr = 2e-3
schedule = "wsd"
warmup_frac = 0.0
decay_frac = 0.0            # WSD: a phase decays only when it says so
eval_every = 100
checkpoint_every = 100
keep_last = 1
threads = 2
seed = 1

# KORMo's phases: each starts from the previous one's final weights (fresh optimizer state).
[[pretrain.phase]]          # stage 1: broad text
name = "stage1"
mix = { docs = 1.0 }
[pretrain.phase.train]
steps = 400
warmup_frac = 0.03

[[pretrain.phase]]          # stage 2: curated text with the synthetic (reasoning) data
name = "stage2"
mix = { docs = 0.6, synth = 0.4 }
[pretrain.phase.train]
steps = 200

[[pretrain.phase]]          # mid-training: longer context, new RoPE base, decay to the end
name = "mid"
mix = { docs = 0.5, synth = 0.5 }
[pretrain.phase.model]
max_seq_len = 512
rope_theta = 1000000.0
[pretrain.phase.data]
seq_len = 512
batch_size = 4
[pretrain.phase.train]
steps = 150
decay_frac = 0.5

[sft]                       # a `kormo sft` config (docs/sft.md) over the synth conversations
sample_prompt = "다음 문장을 한국어로 번역하세요:\n\nSelect the text you want to copy."
[sft.data]
seq_len = 512
batch_size = 8
thinking = "hybrid"         # arithmetic reasoning trained with and without <think>
val_fraction = 0.05
[sft.train]
steps = 200
lr = 1e-3
schedule = "wsd"
warmup_frac = 0.05
decay_frac = 0.3
eval_every = 100
checkpoint_every = 100
keep_last = 1
threads = 2
seed = 1

[eval]                      # held-out bits per byte per language; held-out arithmetic
bpb = true
arith = 50
max_gen_toks = 48

[export]                    # export/hf and export/gguf, each with a model card
name = "kormo-demo"
gguf_type = "f16"
)toml";
}

const char* default_teacher_program() {
  return R"toml(# kormo run — the teacher program of the synth stage when [synth] names a teacher and no
# program file (docs/synth.md § Teacher programs has the keys). The run sets [program] output
# and format and [seeds] (a sample of its training documents); [synth.teachers.NAME],
# [synth.budget] and [synth.filters] of the run config are added over this.

[program]
name = "run-teacher"
seed = 1
items_per_seed = 1
language = "ko"

[mix]                       # KORMo's synthetic kinds: rewrites, translation, textbooks, Q&A, reasoning
tasks = ["rewrite-ko", "translate", "explainer", "qa", "reasoning"]
personas = ["고등학교 국어 교사", "과학 기자", "소프트웨어 개발자", "역사학자", "경제학 교수", "도서관 사서",
            "초등학교 교사", "의사"]
styles = ["설명문", "대화체", "강의록", "신문 기사", "블로그 글", "교과서"]
audiences = ["초등학생", "중학생", "고등학생", "대학생", "일반 독자", "직장인"]
lengths = ["300자 안팎", "600자 안팎", "1000자 안팎"]

[filters]
min_chars = 50
)toml";
}

}  // namespace kormo::run
