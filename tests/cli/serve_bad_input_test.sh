#!/usr/bin/env bash
# kormo serve on a kormo checkpoint (model init + tokenizer train, whose
# tokenizer_config.json carries the KORMo chat template): each kind of bad request is a
# 4xx JSON error and the server keeps serving; completions and chat answer; SIGTERM exits 0.
# (tests/python/test_serve.py checks the answers against transformers and kormo generate.)
set -uo pipefail
source "$(dirname "$0")/tiny_model_common.sh"
pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$T"' EXIT
make_tiny_model 48

"$KORMO" serve "$T/model" --port 0 --api-key k --max-body 1000000 --max-tokens-limit 32 2> "$T/log" &
pid=$!
for _ in $(seq 100); do grep -q "on http://" "$T/log" && break; sleep 0.1; done
port=$(sed -n 's|.*on http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/log")
[[ -n $port ]] || { cat "$T/log"; echo "FAIL: server did not start"; exit 1; }
url=http://127.0.0.1:$port

# post NAME WANT_STATUS WANT_CODE BODY_FILE [curl args]: checks status and error code, then health.
post() {
  local name=$1 want=$2 code=$3 body=$4
  shift 4
  local got
  got=$(curl -s -o "$T/resp" -w '%{http_code}' -H "$AUTH" "$@" --data-binary @"$body" "$url/v1/completions")
  [[ $got == "$want" ]] || fail "$name: status $got, expected $want: $(head -c 300 "$T/resp")"
  if [[ -n $code ]]; then
    python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['error']; assert e['code']==sys.argv[2] and e['message'] and e['type'], e" \
      "$T/resp" "$code" || fail "$name: error body"
  fi
  [[ $(curl -s "$url/health") == '{"status":"ok"}' ]] || fail "$name: not serving afterwards"
}
AUTH='Authorization: Bearer k'
b() { printf '%s' "$1" > "$T/body"; echo "$T/body"; }

post "greedy completion" 200 "" "$(b '{"prompt": "ROMEO:", "max_tokens": 8, "temperature": 0}')"
post "malformed JSON" 400 invalid_json "$(b '{"prompt": ')"
post "unknown model" 404 model_not_found "$(b '{"model": "gpt-4", "prompt": "x"}')"
post "negative max_tokens" 400 invalid_value "$(b '{"prompt": "x", "max_tokens": -5}')"
post "huge max_tokens" 400 invalid_value "$(b '{"prompt": "x", "max_tokens": 99999999999}')"
printf '{"prompt": "\xc3\x28"}' > "$T/utf8"
post "invalid UTF-8" 400 invalid_utf8 "$T/utf8"
post "unknown field" 400 unknown_field "$(b '{"prompt": "x", "logit_bias": {}}')"
python3 -c "import json; print(json.dumps({'prompt': 'ROMEO: ' * 60}))" > "$T/long"
post "prompt longer than the context" 400 context_length_exceeded "$T/long"
AUTH='Authorization: Bearer nope' post "wrong API key" 401 invalid_api_key "$(b '{"prompt": "x"}')"
AUTH='X-No-Key: 1' post "no API key" 401 invalid_api_key "$(b '{"prompt": "x"}')"
head -c 100000000 /dev/zero | tr '\0' 'a' > "$T/big"
post "100 MB body" 413 body_too_large "$T/big"
curl -s -H 'Authorization: Bearer k' --data-binary @"$(b '{"prompt": "x", "logit_bias": {}}')" "$url/v1/completions" \
  | grep -q 'unknown or unsupported field \\"logit_bias\\"' || fail "unknown field not named"

# Chat through the KORMo template, thinking off and on.
for think in false true; do
  got=$(curl -s -o "$T/chat" -w '%{http_code}' -H 'Authorization: Bearer k' "$url/v1/chat/completions" \
    -d "{\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 6, \"chat_template_kwargs\": {\"enable_thinking\": $think}}")
  [[ $got == 200 ]] || fail "chat (thinking $think): $got $(head -c 300 "$T/chat")"
done

kill -TERM $pid
wait $pid
rc=$?
pid=
[[ $rc == 0 ]] || fail "SIGTERM: exit $rc, expected 0"
grep -q "POST /v1/completions 400" "$T/log" || fail "no request log lines"

err=$("$KORMO" serve "$T/model" --port 0 --backend tpu 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"unknown backend 'tpu'"* ]] || fail "unknown backend: rc=$rc $err"

[[ $fails == 0 ]] && echo "all serve bad-input checks passed"
exit $((fails > 0))
