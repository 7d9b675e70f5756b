#!/usr/bin/env bash
# kormo sft end to end: a tiny model pretrained briefly on English and Korean text is
# fine-tuned on the conversation fixture (thinking off). Assistant-token loss on the
# held-back conversations goes down; greedy answers under enable_thinking=false hold no
# <think> span; a stopped and resumed run ends bit-identical to an uninterrupted one;
# the bad-input fixture's lines are reported with file:line and the run still completes;
# two MPI ranks train as one process with their joint batch; a config without init is
# a usage error.
set -uo pipefail
: "${SRC:?}"
source "$(dirname "$0")/tiny_model_common.sh"
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
FIX="$SRC/tests/fixtures/sft"

# Tokenizer and pretraining text: Shakespeare and Korean chatbot lines.
head -n 2000 "$SHARED_DATA/corpora/en/tinyshakespeare/input.txt" > "$T/en.txt"
cut -d, -f1,2 "$SHARED_DATA/corpora/ko/chatbot_qa/ChatbotData.csv" | head -n 3000 > "$T/ko.txt"
"$KORMO" -q tokenizer train -o "$T/tok" --vocab-size 1000 "$T/en.txt" "$T/ko.txt" >/dev/null 2>&1 || fail "tokenizer train"
python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
with open(f"{t}/docs.jsonl", "w") as out:
    for name, lang in (("en", "en"), ("ko", "ko")):
        lines = open(f"{t}/{name}.txt", encoding="utf-8").read().split("\n")
        for i in range(0, len(lines), 20):
            out.write(json.dumps({"text": "\n".join(lines[i:i + 20]), "lang": lang}, ensure_ascii=False) + "\n")
PY
pretrain_tiny "$T/docs.jsonl" "$T/tok" "$T/pre" 40 256

sft_config() {  # sft_config OUT_DIR STEPS
  cat <<TOML
[train]
init = "$T/pre"
out_dir = "$1"
steps = $2
lr = 3e-3
warmup_frac = 0.05
eval_every = 5
checkpoint_every = 100
threads = 2
seed = 3
[data]
seq_len = 192
batch_size = 4
thinking = "off"
val_fraction = 0.15
lang_weights = { ko = 1.5, en = 1.0 }
sources.chat = { files = ["$FIX/conversations.jsonl"], weight = 3.0 }
sources.bad = { files = ["$FIX/bad.jsonl"], weight = 1.0 }
TOML
}

# 1. Training; bad lines reported with file:line; the run completes.
sft_config "$T/sft" 60 > "$T/sft.toml"
"$KORMO" sft "$T/sft.toml" > "$T/sft.out" 2> "$T/sft.err" || { cat "$T/sft.err"; fail "sft exited non-zero"; }
for want in "bad.jsonl:2: no_assistant_turn" "bad.jsonl:3: unknown_role" "bad.jsonl:4: reasoning_not_assistant" \
            "bad.jsonl:5: malformed" "bad.jsonl:6: too_long" "bad.jsonl:7: bad_field"; do
  grep -qF "$want" "$T/sft.err" || fail "no '$want' in the log"
done
grep -q "rejected 6: bad_field 1, malformed 1, no_assistant_turn 1, reasoning_not_assistant 1, too_long 1, unknown_role 1" \
  "$T/sft.err" || fail "summary counts: $(grep rejected "$T/sft.err")"
[[ $(wc -l < "$T/sft/sft_rejects.jsonl") == 6 ]] || fail "sft_rejects.jsonl: $(cat "$T/sft/sft_rejects.jsonl")"
[[ -f "$T/sft/step-0000060/model.safetensors" && -f "$T/sft/step-0000060/tokenizer_config.json" ]] ||
  fail "no final checkpoint with the tokenizer"

# 2. Held-back assistant-token loss goes down.
python3 - "$T/sft/metrics.jsonl" <<'PY' || fail "validation loss did not go down"
import json, sys
v = [json.loads(l)["val_loss"] for l in open(sys.argv[1]) if "val_loss" in l]
print("val_loss", v[0], "->", v[-1])
sys.exit(0 if len(v) >= 3 and v[-1] < 0.8 * v[0] else 1)
PY

# 3. Thinking off: the greedy answer to a held-out-style question has no <think> span.
M="$T/sft/step-0000060"
for q in "What is 12 plus 9?" "14 더하기 3는 얼마인가요?"; do
  printf '[{"role": "user", "content": "%s"}]' "$q" > "$T/q.json"
  "$KORMO" chat "$M" --render "$T/q.json" --enable-thinking false > "$T/r.json" || fail "chat --render"
  prompt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"], end="")' "$T/r.json")
  "$KORMO" -q generate "$M" -p "$prompt" --allow-special -n 24 --threads 2 > "$T/g.jsonl" || fail "generate"
  answer=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["text"])' "$T/g.jsonl")
  echo "answer to '$q': $answer"
  [[ -n "$answer" ]] || fail "empty answer"
  [[ "$answer" != *"<think>"* ]] || fail "answer with thinking off holds <think>: $answer"
done

# 4. Resume: stopped at step 4, resumed to 8 → the same bits as 8 steps at once.
sft_config "$T/once" 8 > "$T/once.toml"
sft_config "$T/twice" 8 > "$T/twice.toml"
"$KORMO" -q sft "$T/once.toml" 2>/dev/null || fail "sft once"
"$KORMO" -q sft "$T/twice.toml" --max-steps 4 2>/dev/null || fail "sft first half"
"$KORMO" -q sft "$T/twice.toml" 2>/dev/null && fail "a second start without --resume was accepted"
"$KORMO" -q sft "$T/twice.toml" --resume 2>/dev/null || fail "sft resume"
cmp -s "$T/once/step-0000008/model.safetensors" "$T/twice/step-0000008/model.safetensors" ||
  fail "resumed weights differ from the uninterrupted run's"
cmp -s <(cut -d, -f1-3 "$T/once/metrics.jsonl") <(cut -d, -f1-3 "$T/twice/metrics.jsonl") ||
  fail "resumed metrics differ"

# 5. Data parallel: 2 ranks × 2 rows see the global batch of one process × 4 rows (same loss).
sft_config "$T/one" 3 | sed 's/threads = 2/threads = 1/' > "$T/one.toml"
sft_config "$T/two" 3 | sed -e 's/batch_size = 4/batch_size = 2/' -e 's/threads = 2/threads = 1/' > "$T/two.toml"
"$KORMO" -q sft "$T/one.toml" 2>/dev/null || fail "sft one process"
mpirun --allow-run-as-root --oversubscribe -np 2 "$KORMO" -q sft "$T/two.toml" 2>/dev/null || fail "mpirun -np 2 sft"
python3 - "$T/one/metrics.jsonl" "$T/two/metrics.jsonl" <<'PY' || fail "2 ranks' losses differ from one process's"
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p)] for p in sys.argv[1:])
print("losses 1 rank", a, "2 ranks", b)
sys.exit(0 if len(a) == len(b) == 3 and all(abs(x - y) <= 1e-5 * abs(x) for x, y in zip(a, b)) else 1)
PY

# 6. No init: a usage error (exit 2); nothing usable: an error naming the counts.
grep -v '^init' "$T/once.toml" | sed "s|$T/once|$T/noinit|" > "$T/noinit.toml"
"$KORMO" -q sft "$T/noinit.toml" 2> "$T/noinit.err"
[[ $? == 2 ]] || fail "missing init: exit status not 2"
grep -q "init is required" "$T/noinit.err" || fail "missing init: $(cat "$T/noinit.err")"
sed -e "s|$T/once|$T/allbad|" -e '/sources.chat/d' "$T/once.toml" | sed 's/seq_len = 192/seq_len = 8/' > "$T/allbad.toml"
"$KORMO" -q sft "$T/allbad.toml" 2> "$T/allbad.err" && fail "a run with nothing usable succeeded"
grep -q "no usable conversation" "$T/allbad.err" || fail "nothing usable: $(cat "$T/allbad.err")"

[[ $fails == 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "sft_test: ok"
