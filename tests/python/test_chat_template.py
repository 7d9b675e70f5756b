"""kormo's chat templates render as transformers' apply_chat_template: text and ids.

Templates: KORMo's own (as `kormo tokenizer train` writes it) and two feature-heavy ones
written for this test, each put into a tokenizer_config.json next to the same
tokenizer.json; kormo renders through `kormo chat DIR --render conversation.json`."""
import json
import shutil

import pytest
from conftest import run_kormo
from tokenizer_corpus import mixed_lines, write_lines

# Whitespace control, namespace, filtered loops, string methods, raise_exception, kwargs.
TEMPLATE_SYS = r"""{%- set ns = namespace(last_user=-1, sys='') -%}
{%- for m in messages -%}
  {%- if m.role == 'user' %}{% set ns.last_user = loop.index0 %}{% endif -%}
{%- endfor -%}
{{- bos_token -}}
{%- if messages and messages[0].role == 'system' -%}
  {%- set ns.sys = messages[0].content | trim -%}
{%- endif -%}
{%- if ns.sys %}<<SYS>>{{ ns.sys }}<</SYS>>
{% endif -%}
{%- for m in messages if m.role != 'system' -%}
  {%- if m.role not in ['user', 'assistant'] -%}{{ raise_exception('role ' ~ m.role ~ ' is not supported') }}{%- endif -%}
  {%- set content = m.content.split('</think>')[-1].lstrip('\n') -%}
  {%- if m.role == 'assistant' and m.reasoning_content is defined -%}
<|BOT|>assistant
<think>{{ m.reasoning_content.strip() }}</think>{{ content }}<|EOT|>
  {%- else %}
<|BOT|>{{ m.role }}
{{ content }}<|EOT|>
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt %}
<|BOT|>assistant
{% if enable_thinking is defined and enable_thinking is false %}<think>

</think>

{% endif -%}
{%- endif -%}
"""

# Macros, dict items, tojson of messages (key order, non-ASCII), map/selectattr/join, slices.
TEMPLATE_JSON = r"""{% macro show(m, i) -%}
[{{ i }}] {{ m.role | upper }}{% for k, v in m.items() if k not in ('role', 'content') %} {{ k }}={{ v | tojson }}{% endfor %}:
{{ m.content | replace('\n', ' ') }}
{%- endmacro %}
{% for m in messages %}
{{ show(m, loop.index) }}
{% if not loop.last %}---
{% endif %}
{% endfor %}
{{ messages | map(attribute='role') | join(',') }}|{{ messages | selectattr('role', 'eq', 'user') | list | length }}|{{ messages[-1].content[:5] }}|{{ messages[::-1][0].role }}
{{ messages | tojson }}
{% if add_generation_prompt %}{{ '<|BOT|>assistant\n' }}{% if enable_thinking %}<think>{% endif %}{% endif %}
"""

CONVERSATIONS = {
    "one_user": [{"role": "user", "content": "안녕하세요?"}],
    "system_user": [{"role": "system", "content": " You are KORMo. \n"}, {"role": "user", "content": "What is 2+2?"}],
    "multi_reasoning": [
        {"role": "system", "content": "Answer in Korean."},
        {"role": "user", "content": "서울의 인구는?"},
        {"role": "assistant", "content": "약 940만 명입니다.", "reasoning_content": "\n서울 인구 통계를 떠올린다.\n"},
        {"role": "user", "content": "부산은?\n짧게."},
    ],
    "multi_plain": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! \"quoted\" \\ back"},
        {"role": "user", "content": "Tell me a joke."},
    ],
}


@pytest.fixture(scope="module")
def tok_dirs(kormo_bin, shared_data, tmp_path_factory):
    t = tmp_path_factory.mktemp("chattpl")
    write_lines(t / "train.txt", mixed_lines(shared_data, per_source=300))
    run_kormo(kormo_bin, "-q", "tokenizer", "train", "-o", t / "kormo", "--vocab-size", 2000, t / "train.txt")
    dirs = {"kormo": t / "kormo"}
    for name, template in (("sys", TEMPLATE_SYS), ("json", TEMPLATE_JSON)):
        d = t / name
        shutil.copytree(t / "kormo", d)
        cfg = json.loads((d / "tokenizer_config.json").read_text())
        cfg["chat_template"] = template
        (d / "tokenizer_config.json").write_text(json.dumps(cfg, ensure_ascii=False))
        dirs[name] = d
    return dirs


def kormo_render(kormo_bin, tok_dir, conv_file, gen, thinking):
    args = ["chat", tok_dir, "--render", conv_file]
    if not gen:
        args.append("--no-generation-prompt")
    if thinking is not None:
        args += ["--enable-thinking", "true" if thinking else "false"]
    return json.loads(run_kormo(kormo_bin, *args).stdout)


def hf_ids(tok, conv, **kw):
    out = tok.apply_chat_template(conv, tokenize=True, **kw)
    return list(out["input_ids"]) if hasattr(out, "keys") else list(out)


@pytest.mark.parametrize("template", ["kormo", "sys", "json"])
def test_render_matches_transformers(kormo_bin, tok_dirs, tmp_path, template):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(tok_dirs[template]))
    checked = 0
    for name, conv in CONVERSATIONS.items():
        conv_file = tmp_path / f"{name}.json"
        conv_file.write_text(json.dumps(conv, ensure_ascii=False))
        for gen in (True, False):
            for thinking in (None, True, False):
                kw = {"add_generation_prompt": gen}
                if thinking is not None:
                    kw["enable_thinking"] = thinking
                text = tok.apply_chat_template(conv, tokenize=False, **kw)
                ours = kormo_render(kormo_bin, tok_dirs[template], conv_file, gen, thinking)
                where = f"{template}/{name} gen={gen} thinking={thinking}"
                assert ours["text"] == text, where
                assert ours["ids"] == hf_ids(tok, conv, **kw), where
                checked += 1
    assert checked == 24


def test_kormo_template_thinking_control(kormo_bin, tok_dirs, tmp_path):
    """KORMo's generation prompt: enable_thinking false closes an empty think block, true opens one."""
    conv_file = tmp_path / "c.json"
    conv_file.write_text(json.dumps(CONVERSATIONS["multi_reasoning"], ensure_ascii=False))
    texts = {t: kormo_render(kormo_bin, tok_dirs["kormo"], conv_file, True, t)["text"] for t in (None, True, False)}
    assert texts[None].endswith("<|EOT|><|BOT|>assistant\n")
    assert texts[True] == texts[None] + "<think>"
    assert texts[False] == texts[None] + "<think></think>"
    assert "<|BOT|>assistant\n<think>\n서울 인구 통계를 떠올린다.\n</think>약 940만 명입니다.<|EOT|>" in texts[None]


def test_template_errors_reach_the_user(kormo_bin, tok_dirs, tmp_path):
    conv_file = tmp_path / "tool.json"
    conv_file.write_text(json.dumps([{"role": "tool", "content": "{}"}]))
    proc = run_kormo(kormo_bin, "chat", tok_dirs["sys"], "--render", conv_file, check=False)
    assert proc.returncode == 1
    assert "raise_exception at line 12: role tool is not supported" in proc.stderr
    bad = tmp_path / "bad.jinja"
    bad.write_text("{% for m in messages %}\n{{ m.content }")
    proc = run_kormo(kormo_bin, "chat", tok_dirs["kormo"], "--render", conv_file, "--template", bad, check=False)
    assert proc.returncode == 1
    assert f"{bad}: chat template: line 2, column 14: unexpected '}}'" in proc.stderr
