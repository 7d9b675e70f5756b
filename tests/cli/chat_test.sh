#!/usr/bin/env bash
# kormo chat through a pipe on a tiny random model: each greedy reply equals `kormo generate`
# of the conversation rendered so far (so /system, /reset and /think reach the prompt, and
# replies enter the history, reasoning as reasoning_content); old turns are dropped to fit
# the context and say so; a message too long for the context is refused and the chat goes
# on; a bad template file is named.
set -uo pipefail
source "$(dirname "$0")/tiny_model_common.sh"
trap 'rm -rf "$T"' EXIT
make_tiny_model 256

KORMO="$KORMO" python3 - "$T" <<'PY' || fail "chat replies equal generate of the rendered conversation"
import json, os, subprocess, sys
T = sys.argv[1]
K = os.environ["KORMO"]
model = f"{T}/model"
tok = json.load(open(f"{model}/tokenizer.json"))
eot = next(t["id"] for t in tok["added_tokens"] if t["content"] == "<|EOT|>")
eos = json.load(open(f"{model}/config.json"))["eos_token_id"]
N = 6

def expected_reply(conv, thinking):
    (open(f"{T}/conv.json", "w")).write(json.dumps(conv))
    args = [K, "chat", model, "--render", f"{T}/conv.json"]
    if thinking is not None:
        args += ["--enable-thinking", "true" if thinking else "false"]
    prompt = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)["text"]
    out = subprocess.run([K, "-q", "generate", model, "-p", prompt, "--allow-special", "--temperature", "0",
                          "-n", str(N), "--stop-token", str(eot), "--stop-token", str(eos)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["text"]

def shown(text, in_think):
    # What chat prints for a reply off a terminal: reasoning lines prefixed "think> ".
    assert "<think>" not in text and "</think>" not in text, f"pick another prompt: {text!r}"
    if not in_think:
        return text + "\n"
    s, start = "", True
    for ch in text:
        s += ("think> " if start else "") + ch
        start = ch == "\n"
    return s + ("" if start else "\n") + "\n"

sysmsg = {"role": "system", "content": "Be brief."}
a = expected_reply([{"role": "user", "content": "Hello"}], False)
b = expected_reply([sysmsg, {"role": "user", "content": "Hello"}, {"role": "assistant", "content": a},
                    {"role": "user", "content": "How are you?"}], False)
c = expected_reply([sysmsg, {"role": "user", "content": "Again"}], None)
d = expected_reply([sysmsg, {"role": "user", "content": "Again"}, {"role": "assistant", "content": c},
                    {"role": "user", "content": "Why?"}], True)
e = expected_reply([sysmsg, {"role": "user", "content": "Again"}, {"role": "assistant", "content": c},
                    {"role": "user", "content": "Why?"},
                    {"role": "assistant", "content": "", "reasoning_content": d}, {"role": "user", "content": "Ok"}], True)
script = "Hello\n/system Be brief.\nHow are you?\n/think auto\n/reset\nAgain\n/think on\nWhy?\nOk\n"
got = subprocess.run([K, "chat", model, "--temperature", "0", "-n", str(N), "--think", "off"], input=script,
                     capture_output=True, text=True)
assert got.returncode == 0, got.stderr
want = (shown(a, False) + "(system message set)\n" + shown(b, False) + "(thinking: auto)\n(conversation cleared)\n"
        + shown(c, False) + "(thinking: on)\n" + shown(d, True) + shown(e, True))
assert got.stdout == want, f"\n got: {got.stdout!r}\nwant: {want!r}"
assert len({a, b, c, d, e}) > 1, "all replies equal: the test would not see a wrong prompt"
PY

# History within the context: 64 tokens, replies of up to 8.
printf 'Hello there, how are you today?\nTell me about the weather in the city.\nAnd what about tomorrow morning?\n%s\nShort one.\n' \
  "$(head -c 600 "$T/train.txt" | tr '\n' ' ')" > "$T/long.txt"
out=$("$KORMO" chat "$T/model" --temperature 0 -n 8 --context 64 < "$T/long.txt" 2>"$T/err"); rc=$?
[[ $rc -eq 0 ]] || fail "context chat exited $rc: $(cat "$T/err")"
[[ "$out" == *"oldest message"*"to fit the context of 64 tokens)"* ]] || fail "no truncation notice: $out"
[[ "$out" == *"error: this message makes a prompt of"*"exceeds the context of 64 tokens"* ]] || fail "no too-long error: $out"
[[ $(tail -n 1 <<<"$out") != error:* ]] || fail "chat did not go on after the too-long message: $out"

# Ctrl-C during a reply stops that reply, not the chat: the next message is answered and the
# chat exits 0. A long context makes the reply last long enough to be interrupted.
python3 - "$T" <<'PY' || fail "Ctrl-C stops the reply, the chat goes on"
import json, os, shutil, signal, subprocess, sys, threading, time
T = sys.argv[1]
K = os.environ["KORMO"]
shutil.copytree(f"{T}/model", f"{T}/long")
cfg = json.load(open(f"{T}/long/config.json"))
cfg["max_position_embeddings"] = 20000
json.dump(cfg, open(f"{T}/long/config.json", "w"))
args = [K, "chat", f"{T}/long", "--temperature", "0", "-n", "19000", "--think", "off"]
p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = []
reader = threading.Thread(target=lambda: out.extend(iter(lambda: p.stdout.read(1), b"")))
reader.start()
p.stdin.write(b"Hello\n"); p.stdin.flush()
t0 = time.time()
while len(out) < 200 and time.time() - t0 < 60:
    time.sleep(0.01)
assert len(out) >= 200, f"no streamed reply: {b''.join(out)!r}"
p.send_signal(signal.SIGINT)
time.sleep(0.5)
p.stdin.write(b"/think auto\n"); p.stdin.close()
p.wait(timeout=600)
reader.join()
text = b"".join(out).decode(errors="replace")
assert p.returncode == 0, f"exit {p.returncode}: {p.stderr.read().decode()[-2000:]}"
assert "(reply stopped)\n" in text, text[-500:]
# The chat went on after the stopped reply and took the next line.
assert text.endswith("(reply stopped)\n(thinking: auto)\n"), text[-500:]
PY

# Bad template files are named.
err=$("$KORMO" chat "$T/model" --template "$T/nope.jinja" </dev/null 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"nope.jinja: no such template file"* ]] || fail "missing template: rc=$rc $err"
printf '{%% for m in messages %%}{{ m.content }}\n{%% endfr %%}' > "$T/bad.jinja"
err=$("$KORMO" chat "$T/model" --template "$T/bad.jinja" </dev/null 2>&1 >/dev/null); rc=$?
[[ $rc -eq 1 && "$err" == *"bad.jinja: chat template: line 2, column 4: unsupported tag 'endfr'"* ]] || fail "bad template: rc=$rc $err"
err=$("$KORMO" chat "$T/model" --think maybe </dev/null 2>&1 >/dev/null); rc=$?
[[ $rc -eq 2 && "$err" == *"--think must be on, off or auto"* ]] || fail "bad --think: rc=$rc $err"

[[ $fails -eq 0 ]] && echo "chat tests passed"
exit $fails
