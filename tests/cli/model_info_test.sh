#!/usr/bin/env bash
# kormo model info: exact KORMo-10B count, HF config.json input, bad configs name the file.
set -uo pipefail
: "${KORMO:?}" "${SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
out=$("$KORMO" model info "$SRC/configs/model/kormo-10b.toml" --batch 16 --seq 4096) || fails=$((fails + 1))
grep -q "parameters        10756624384" <<<"$out" || { echo "FAIL: 10B count: $out"; fails=$((fails + 1)); }
grep -q "batch 16 × seq 4096" <<<"$out" || { echo "FAIL: memory line: $out"; fails=$((fails + 1)); }
cat > "$T/config.json" <<'JSON'
{"model_type": "llama", "vocab_size": 125184, "hidden_size": 2048, "intermediate_size": 6144,
 "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128}
JSON
a=$("$KORMO" model info "$T" | grep parameters)
b=$("$KORMO" model info "$SRC/configs/model/proxy-1b.toml" | grep parameters)
[[ -n "$a" && "$a" == "$b" ]] || { echo "FAIL: HF config.json and TOML disagree: '$a' vs '$b'"; fails=$((fails + 1)); }
printf '[model]\nvocab_size = 10\n' > "$T/m.toml"
err=$("$KORMO" model info "$T/m.toml" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"m.toml: model hidden_size must be positive"* ]] || { echo "FAIL: rc=$rc $err"; fails=$((fails + 1)); }
echo '{"model_type": "llama"' > "$T/config.json"
err=$("$KORMO" model info "$T" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"config.json: invalid JSON"* ]] || { echo "FAIL: rc=$rc $err"; fails=$((fails + 1)); }
# Absurd sizes: a clear error naming the keys, not a wrapped, negative or infinite figure.
printf '[model]\nvocab_size = 1099511627776\nhidden_size = 1000000000\nintermediate_size = 4\nnum_layers = 1000000\nnum_heads = 2\nhead_dim = 2\n' > "$T/huge.toml"
err=$("$KORMO" model info "$T/huge.toml" 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"huge.toml: model too large: "*"vocab_size × hidden_size"*"overflows a 64-bit count"* ]] ||
  { echo "FAIL: huge config: rc=$rc $err"; fails=$((fails + 1)); }
err=$("$KORMO" model info "$SRC/configs/model/tiny.toml" --batch 1099511627776 --seq 1099511627776 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"batch × seq"*"overflows"* ]] || { echo "FAIL: huge batch: rc=$rc $err"; fails=$((fails + 1)); }
[[ $fails -eq 0 ]] && echo "model info tests passed"
exit $fails
