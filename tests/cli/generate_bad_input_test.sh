#!/usr/bin/env bash
# kormo generate: results per prompt (JSONL, atomic -o), seeded sampling reproducible,
# and bad input named precisely (missing model, bad JSONL line, over-long prompt).
set -uo pipefail
source "$(dirname "$0")/tiny_model_common.sh"
trap 'rm -rf "$T"' EXIT
make_tiny_model 48

out=$("$KORMO" generate "$T/model" -p "ROMEO:" -p "First Citizen" --temperature 0 -n 8) || fail "greedy run"
[[ $(wc -l <<<"$out") -eq 2 ]] || fail "expected 2 result lines: $out"
python3 - "$out" <<'PY' || fail "result lines"
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [r["index"] for r in rows] == [0, 1], rows
for r in rows:
    assert r["finish_reason"] in ("stop", "length") and 1 <= len(r["tokens"]) <= 8, r
PY

printf '{"prompt": "ROMEO:", "id": "a"}\n\n{"prompt": "JULIET:", "id": 7}\n' > "$T/p.jsonl"
"$KORMO" -q generate "$T/model" -i "$T/p.jsonl" -o "$T/out.jsonl" --seed 5 --top-k 20 -n 6 --logprobs 2 || fail "jsonl run"
"$KORMO" -q generate "$T/model" -i "$T/p.jsonl" -o "$T/out2.jsonl" --seed 5 --top-k 20 -n 6 --logprobs 2 || fail "jsonl rerun"
cmp -s "$T/out.jsonl" "$T/out2.jsonl" || fail "same seed gave different output"
python3 - "$T/out.jsonl" <<'PY' || fail "jsonl results"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["id"] for r in rows] == ["a", 7], rows
for r in rows:
    assert len(r["logprobs"]) == len(r["tokens"]), r
    assert all(len(e["top_logprobs"]) == 2 and e["logprob"] <= 0 for e in r["logprobs"]), r
PY
ls "$T"/out.jsonl.* 2>/dev/null && fail "temporary file left behind"

err=$("$KORMO" generate "$T/nope" -p hi 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"nope: not a model directory"* ]] || fail "missing model: rc=$rc $err"
printf '{"prompt": "ok"}\n{"prompt": 3}\n' > "$T/bad.jsonl"
err=$("$KORMO" generate "$T/model" -i "$T/bad.jsonl" -o "$T/bad.out" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"bad.jsonl:2: \"prompt\" must be a string"* ]] || fail "bad line: rc=$rc $err"
[[ -e "$T/bad.out" ]] && fail "output written despite the error"
printf '{"prompt": "ok"\n' > "$T/bad2.jsonl"
err=$("$KORMO" generate "$T/model" -i "$T/bad2.jsonl" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"bad2.jsonl:1: expected a JSON object"* ]] || fail "bad JSON: rc=$rc $err"
long=$(head -c 2000 "$T/train.txt" | tr '\n' ' ')
err=$("$KORMO" generate "$T/model" -p ok -p "$long" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"--prompt 2: the prompt has"*"max_seq_len 48"* ]] || fail "long prompt: rc=$rc $err"
err=$("$KORMO" generate "$T/model" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 2 && "$err" == *"give prompts with --prompt or --input"* ]] || fail "no prompts: rc=$rc $err"
err=$("$KORMO" generate "$T/model" -p hi --top-p 0 2>&1 >/dev/null); rc=$?
[[ $rc -eq 2 && "$err" == *"top_p must be in (0, 1]"* ]] || fail "bad top-p: rc=$rc $err"

# --backend: auto is the CPU where no GPU is visible (same output as cpu); cuda there is an
# error saying why; an unknown name is an error listing the backends.
out_cpu=$("$KORMO" -q generate "$T/model" -p "ROMEO:" --temperature 0 -n 8 --backend cpu) || fail "--backend cpu"
out_auto=$("$KORMO" -q generate "$T/model" -p "ROMEO:" --temperature 0 -n 8) || fail "--backend auto (default)"
err=$("$KORMO" generate "$T/model" -p "ROMEO:" --backend cuda 2>&1 >/dev/null); rc=$?
if [[ $rc -ne 0 ]]; then
  [[ $rc -eq 1 && "$err" == *"backend 'cuda': "* ]] || fail "cuda without a GPU: rc=$rc $err"
  [[ "$out_auto" == "$out_cpu" ]] || fail "auto without a GPU differs from cpu: $out_auto / $out_cpu"
fi
err=$("$KORMO" generate "$T/model" -p hi --backend tpu 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"unknown backend 'tpu'"* ]] || fail "unknown backend: rc=$rc $err"

[[ $fails -eq 0 ]] && echo "generate tests passed"
exit $fails
