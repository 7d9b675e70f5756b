#!/usr/bin/env bash
# kormo synth run's own cost and its end-to-end rate (docs/BENCHMARKS.md § synth).
#  1. Client overhead: N requests with 64 in flight against instant_server (answers at
#     once), which shares the 2 cores with the client; requests/s while asking and the
#     generator's CPU per request (from its log line), then the output phase alone.
#  2. End to end: a real `kormo serve` teacher (the tiny random model of the CLI tests)
#     with concurrency 8; documents/s and the share of the asking time the client spent
#     on its own CPU (the rest is waiting on the teacher).
# Usage: bash bench/synth/run.sh [N]   (from the repository root, after the build)
set -euo pipefail
N=${1:-20000}
KORMO=${KORMO:-$PWD/build/kormo}
SHARED=${SHARED_DATA:-$PWD/../shared/data}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
g++ -O2 -std=c++17 bench/synth/instant_server.cpp $(pkg-config --cflags --libs cpp-httplib) -lpthread -o "$T/instant"
"$T/instant" 18099 128 2>/dev/null &  # more threads than connections: none waits for one
sleep 0.5

program() {  # OUT URL CONCURRENCY ITEMS
  python3 - "$@" <<'PY'
import json, sys
out, url, conc, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
print(f'''[program]
name = "bench"
output = "{out}"
[seeds]
topics = {json.dumps([f"주제 {i}" for i in range(n)], ensure_ascii=False)}
[mix]
tasks = ["explainer", "qa", "reasoning"]
personas = ["과학 교사", "역사학자", "기자", "의사"]
styles = ["설명문", "대화체"]
[templates]  # short: the tiny model's context is 256 tokens of an English-trained vocabulary
explainer = "{{{{ persona }}}}: {{{{ seed }}}}"
qa = "Q {{{{ seed }}}}"
reasoning = "R {{{{ seed }}}} {{{{ style }}}}"
[teachers.t]
url = "{url}"
model = "model"
concurrency = {conc}
[teachers.t.sampling]
max_tokens = 16
[filters]
min_chars = 0
min_lang_score = 0
refusals = false
reject_truncated = false
''')
PY
}

echo "== client overhead: $N requests, 64 in flight, instant endpoint =="
program "$T/o1" http://127.0.0.1:18099/v1 64 "$N" > "$T/p1.toml"
"$KORMO" synth run "$T/p1.toml" 2>&1 | grep -E "requests in|kept"
/usr/bin/time -f "output phase alone (filters, dedup, diversity): %e s wall, %U+%S s CPU" \
  "$KORMO" -q synth run "$T/p1.toml" --no-requests

echo "== end to end: kormo serve (tiny random model), 8 in flight =="
head -n 3000 "$SHARED/corpora/en/tinyshakespeare/input.txt" > "$T/train.txt"
"$KORMO" -q tokenizer train -o "$T/tok" --vocab-size 1000 "$T/train.txt" >/dev/null 2>&1
printf '[model]\nvocab_size = 1024\nhidden_size = 32\nintermediate_size = 64\nnum_layers = 2\nnum_heads = 4\nnum_kv_heads = 2\nhead_dim = 8\nmax_seq_len = 256\n' > "$T/m.toml"
"$KORMO" -q model init "$T/m.toml" "$T/model" >/dev/null
cp "$T/tok/tokenizer.json" "$T/tok/tokenizer_config.json" "$T/model/"
"$KORMO" serve "$T/model" --port 18098 --max-sequences 8 --threads 1 2>/dev/null &
for _ in $(seq 50); do curl -sf http://127.0.0.1:18098/health >/dev/null && break; sleep 0.2; done
program "$T/o2" http://127.0.0.1:18098/v1 8 1000 > "$T/p2.toml"
start=$(date +%s.%N)
"$KORMO" synth run "$T/p2.toml" 2>&1 | grep -E "requests in|kept"
end=$(date +%s.%N)
python3 -c "print(f'end to end: 1000 documents in {$end - $start:.2f} s = {1000 / ($end - $start):.1f} docs/s')"
