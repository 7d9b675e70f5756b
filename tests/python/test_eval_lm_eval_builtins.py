"""kormo eval's later built-ins against lm-evaluation-harness (HF backend) on the same model.

BoolQ, COPA, CommonsenseQA, SIQA and LAMBADA over llm-foundry's local eval JSONL in
../shared/data/bench/en/llmfoundry; CLIcK, KorQuAD and HellaSwag over small fixtures in their
published formats (CLIcK's JSON list, KorQuAD's SQuAD-layout JSON, Hugging Face hellaswag's
JSONL in tests/fixtures/eval: none of them is in ../shared/data). lm-eval runs its own
definitions (YAML strings and utils functions of super_glue/boolq, super_glue/copa,
commonsense_qa, siqa, lambada_openai, click, hellaswag's YAML and utils.process_docs) over the
llm-foundry rows converted back to the fields those definitions read. Where llm-foundry
dropped options (CommonsenseQA keeps 4 of 5, SIQA 2 of 3), lm-eval's template is given
that many options. Checked per item: log-likelihoods (≤ 1e-4), greedy flags, acc/acc_norm;
per task: the metrics. KorQuAD (no lm-eval task): the same greedy generations as lm-eval's
generate_until with the same prompt, and exact match / F1 equal to KorQuAD 1.0's script's
rules (re-implemented below) applied to those generations.
"""
import collections
import json
import os
import re
import string
import textwrap

import pytest

from conftest import ROOT, run_kormo
from test_eval_lm_eval import jsonl_rows, model_dir  # noqa: F401 (the shared model fixture)

LIMIT = 24
FOUNDRY = "bench/en/llmfoundry"


def boolq(r):
    q = r["query"]
    assert q.startswith("Passage: ")
    passage, question = q[len("Passage: "):].rsplit("\nQuestion: ", 1)
    assert question.endswith("?")
    return {"passage": passage, "question": question[:-1], "label": r["gold"]}


def copa(r):
    premise, connector = r["query"].rsplit(", ", 1)
    # lm-eval drops the premise's final character (its period) and lower-cases each
    # alternative's first letter: llm-foundry's alternatives are lower-cased already.
    return {"premise": premise + ".", "question": {"because": "cause", "therefore": "effect"}[connector],
            "choice1": r["choices"][0], "choice2": r["choices"][1], "label": r["gold"]}


def commonsense_qa(r):
    lines = r["query"].split("\n")
    assert lines[0].startswith("Question: ") and lines[1] == "Choices:" and lines[-1] == "Answer:"
    texts = [l[3:] for l in lines[2:-1]]
    labels = [chr(ord("A") + i) for i in range(len(texts))]
    return {"question": lines[0][len("Question: "):], "choices": {"text": texts, "label": labels},
            "answerKey": labels[r["gold"]]}


def siqa(r):
    lines = r["query"].split("\n")
    return {"context": lines[0][len("Context: "):], "question": lines[1][len("Question: "):],
            "answerA": lines[3][3:], "answerB": lines[4][3:], "label": str(r["gold"] + 1)}


def lambada(r):
    return {"text": r["context"] + " " + r["continuation"]}


FOUNDRY_TASKS = {  # kormo task: (llm-foundry file, conversion, lm-eval definition)
    "boolq": ("boolq.jsonl", boolq, """
        doc_to_text: "{{passage}}\\nQuestion: {{question}}?\\nAnswer:"
        doc_to_target: label
        doc_to_choice: ["no", "yes"]
        metric_list: [{metric: acc}]"""),
    "copa": ("copa.jsonl", copa, """
        doc_to_text: !function copa_utils.doc_to_text
        doc_to_target: !function copa_utils.doc_to_target
        doc_to_choice: !function copa_utils.doc_to_choice
        metric_list: [{metric: acc}]"""),
    "commonsense_qa": ("commonsense_qa.jsonl", commonsense_qa, """
        doc_to_text: "Question: {{ question.strip() }}\\nA. {{choices['text'][0]}}\\nB. {{choices['text'][1]}}\\nC. {{choices['text'][2]}}\\nD. {{choices['text'][3]}}\\nAnswer:"
        doc_to_target: answerKey
        doc_to_choice: ['A', 'B', 'C', 'D']
        metric_list: [{metric: acc}]"""),
    "siqa": ("siqa.jsonl", siqa, """
        doc_to_text: "Q: {{context}} {{question}}\\nA:"
        target_delimiter: " "
        doc_to_choice: "{{[answerA, answerB]}}"
        doc_to_target: "{{ (label|int) - 1 }}"
        metric_list: [{metric: acc}]"""),
    "lambada": ("lambada_openai.jsonl", lambada, """
        output_type: loglikelihood
        doc_to_text: "{{text.split(' ')[:-1]|join(' ')}}"
        doc_to_target: "{{' '+text.split(' ')[-1]}}"
        metric_list: [{metric: perplexity, aggregation: perplexity, higher_is_better: false}, {metric: acc, aggregation: mean, higher_is_better: true}]"""),
}

# CLIcK's published layout: a JSON list of {id, paragraph, question, choices, answer}; ids
# as the dataset's (CSAT items have five choices).
CLICK = [
    {"id": "KIIP_economy_1", "paragraph": "", "question": "한국의 화폐 단위는 무엇인가?",
     "choices": ["원", "엔", "달러", "위안"], "answer": "원"},
    {"id": "CSAT_korean_22_7", "paragraph": "봄이 오면 산과 들에 꽃이 핀다. 사람들은 꽃구경을 하러 나선다.",
     "question": "윗글의 내용과 일치하는 것은?",
     "choices": ["봄에는 꽃이 진다.", "사람들이 꽃구경을 간다.", "여름에 눈이 온다.", "산에는 꽃이 없다.", "들에는 비가 온다."],
     "answer": "사람들이 꽃구경을 간다."},
    {"id": "Kedu_history_3", "paragraph": "", "question": "훈민정음을 창제한 왕은 누구인가?",
     "choices": ["태조", "세종", "정조", "광해군"], "answer": "세종"},
    {"id": "TK_korean_6", "paragraph": "그는 밥을 먹고 학교에 갔다.", "question": "밑줄 친 부분의 품사는?",
     "choices": ["명사", "동사", "형용사", "부사"], "answer": "동사"},
    {"id": "KIIP_tradition_12", "paragraph": "", "question": "설날에 먹는 음식은?",
     "choices": ["송편", "떡국", "팥죽", "삼계탕"], "answer": "떡국"},
    {"id": "CSAT_korean_23_40", "paragraph": "가을 하늘은 높고 맑다.", "question": "이 문장의 주어는?",
     "choices": ["가을", "하늘은", "높고", "맑다", "없음"], "answer": "하늘은"},
]

# KorQuAD 1.0's layout (SQuAD's): data → paragraphs → qas with every answer.
KORQUAD = {"version": "KorQuAD_v1.0_dev", "data": [
    {"title": "한글", "paragraphs": [{"context": "한글은 1443년 세종대왕이 창제한 문자로, 처음에는 훈민정음이라 불렸다.", "qas": [
        {"id": "k1", "question": "한글은 언제 창제되었나?", "answers": [{"text": "1443년", "answer_start": 4}]},
        {"id": "k2", "question": "한글을 창제한 사람은?", "answers": [{"text": "세종대왕", "answer_start": 10},
                                                            {"text": "세종대왕이", "answer_start": 10}]},
        {"id": "k3", "question": "한글의 처음 이름은?", "answers": [{"text": "훈민정음", "answer_start": 29}]}]}]},
    {"title": "서울", "paragraphs": [{"context": "서울은 대한민국의 수도이며, 한강이 도시를 가로질러 흐른다.", "qas": [
        {"id": "k4", "question": "대한민국의 수도는?", "answers": [{"text": "서울", "answer_start": 0}]},
        {"id": "k5", "question": "서울을 가로지르는 강은?", "answers": [{"text": "한강", "answer_start": 16}]}]}]},
]}
KORQUAD_PROMPT = "제목: {{title}}\\n\\n본문: {{context}}\\n\\n질문: {{question}}\\n\\n답변:"


def korquad_normalize(s):
    """KorQuAD 1.0's normalize_answer, written from its documented steps."""
    for sym in ("'", '"', "《", "》", "<", ">", "〈", "〉", "(", ")", "‘", "’"):
        s = s.replace(sym, " ")
    s = "".join(c for c in s.lower() if c not in string.punctuation)
    return " ".join(s.split())


def korquad_f1(pred, ref):
    p = list("".join(korquad_normalize(pred).split()))
    g = list("".join(korquad_normalize(ref).split()))
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def data(shared_data, tmp_path_factory):
    """Per task: (kormo data file, lm-eval JSONL in its definition's fields)."""
    d = tmp_path_factory.mktemp("data")
    out = {}
    for task, (name, convert, _) in FOUNDRY_TASKS.items():
        src = shared_data / FOUNDRY / name
        (d / f"{task}.jsonl").write_text("".join(json.dumps(convert(r)) + "\n" for r in jsonl_rows(src, LIMIT)))
        out[task] = (src, d / f"{task}.jsonl")
    (d / "click.json").write_text(json.dumps(CLICK, ensure_ascii=False, indent=1), encoding="utf-8")
    (d / "click_lm_eval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CLICK),
                                           encoding="utf-8")
    out["click"] = (d / "click.json", d / "click_lm_eval.jsonl")
    (d / "korquad.json").write_text(json.dumps(KORQUAD, ensure_ascii=False), encoding="utf-8")
    flat = [{"title": a["title"], "context": p["context"], "id": q["id"], "question": q["question"],
             "answers": [x["text"] for x in q["answers"]]}
            for a in KORQUAD["data"] for p in a["paragraphs"] for q in p["qas"]]
    (d / "korquad_lm_eval.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in flat),
                                             encoding="utf-8")
    out["korquad"] = (d / "korquad.json", d / "korquad_lm_eval.jsonl")
    hellaswag = ROOT / "tests/fixtures/eval/hellaswag_val.jsonl"  # HF's layout: both read it as it is
    out["hellaswag"] = (hellaswag, hellaswag)
    return out


def lm_eval_run(model_dir, data, tmp_path):
    import lm_eval
    from lm_eval.tasks import TaskManager
    tasks_dir = tmp_path / "lm_eval_tasks"
    tasks_dir.mkdir()
    (tasks_dir / "copa_utils.py").write_text("from lm_eval.tasks.super_glue.copa.utils import *  # the official functions\n")
    (tasks_dir / "click_utils.py").write_text("from lm_eval.tasks.click.click_lang.utils import *  # the official functions\n")
    (tasks_dir / "hellaswag_utils.py").write_text("from lm_eval.tasks.hellaswag.utils import *  # the official functions\n")
    bodies = {t: body for t, (_, _, body) in FOUNDRY_TASKS.items()}
    bodies["click"] = """
        doc_to_text: !function click_utils.get_context
        doc_to_choice: !function click_utils.get_choices
        doc_to_target: !function click_utils.get_target
        metric_list: [{metric: acc}, {metric: acc_norm}]"""
    # lm_eval/tasks/hellaswag/hellaswag.yaml
    bodies["hellaswag"] = """
        process_docs: !function hellaswag_utils.process_docs
        doc_to_text: "{{query}}"
        doc_to_target: "{{label}}"
        doc_to_choice: "choices"
        metric_list: [{metric: acc}, {metric: acc_norm}]"""
    bodies["korquad"] = f"""
        output_type: generate_until
        doc_to_text: "{KORQUAD_PROMPT}"
        doc_to_target: "{{{{answers[0]}}}}"
        generation_kwargs: {{until: ["\\n"], max_gen_toks: 32, do_sample: false}}
        metric_list: [{{metric: exact_match}}]"""
    for task, body in bodies.items():
        body = textwrap.dedent(body).strip()
        header = textwrap.dedent(f"""\
            task: {task}_local
            dataset_path: json
            dataset_kwargs:
              data_files:
                validation: {data[task][1]}
            validation_split: validation
            """)
        if "output_type" not in body:
            header += "output_type: multiple_choice\n"
        (tasks_dir / f"{task}.yaml").write_text(header + body + "\n", encoding="utf-8")
    return lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32,device=cpu",
        tasks=[f"{t}_local" for t in bodies], task_manager=TaskManager(include_path=str(tasks_dir)),
        log_samples=True, batch_size=8)


def test_later_builtins_equal_lm_eval_harness(kormo_bin, model_dir, data, tmp_path):
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tasks = list(FOUNDRY_TASKS) + ["click", "korquad", "hellaswag"]
    args = ["eval", model_dir, "-o", tmp_path / "r.json", "--samples", tmp_path / "s.jsonl", "--threads", 2,
            "--limit", LIMIT]
    for t in tasks:
        args += ["-t", f"{t}={data[t][0]}"]
    table = run_kormo(kormo_bin, *args).stdout
    assert "| lambada | perplexity |" in table and "| korquad | f1 |" in table, table
    samples = collections.defaultdict(list)
    for line in (tmp_path / "s.jsonl").read_text().splitlines():
        s = json.loads(line)
        samples[s["where"].split(":")[0]].append(s)
    ours = json.loads((tmp_path / "r.json").read_text())["results"]
    ref = lm_eval_run(model_dir, data, tmp_path)

    for task in tasks:
        mine = samples[str(data[task][0])]
        theirs = sorted(ref["samples"][f"{task}_local"], key=lambda s: s["doc_id"])
        assert len(mine) == len(theirs) == {"click": len(CLICK), "korquad": 5, "hellaswag": 20}.get(task, LIMIT), task
        results, ref_results = ours[task], ref["results"][f"{task}_local"]
        if task == "korquad":
            ems, f1s = [], []
            for s, r in zip(mine, theirs):
                assert s["contexts"][0] == r["arguments"][0][0], s["doc_id"]
                assert s["resps"] == r["resps"][0][0], (s["doc_id"], s["resps"], r["resps"])
                refs = s["references"]
                em = float(any(korquad_normalize(s["resps"]) == korquad_normalize(x) for x in refs))
                f1 = max(korquad_f1(s["resps"], x) for x in refs)
                assert s["exact_match"]["none"] == em and s["f1"]["none"] == pytest.approx(f1, abs=1e-12), s
                ems.append(em), f1s.append(f1)
            assert results["exact_match,none"] == pytest.approx(sum(ems) / len(ems), abs=1e-12)
            assert results["f1,none"] == pytest.approx(sum(f1s) / len(f1s), abs=1e-12)
            continue
        worst = 0.0
        for s, r in zip(mine, theirs):
            lls = [float(x[0][0]) for x in r["resps"]]
            greedy = [bool(x[0][1]) for x in r["resps"]]
            assert s["contexts"] == [r["arguments"][0][0]], (task, s["doc_id"])
            assert s["continuations"] == [a[1] for a in r["arguments"]], (task, s["doc_id"])
            if task == "lambada":
                worst = max(worst, abs(s["loglikelihood"] - lls[0]))
                assert [s["greedy"]] == greedy and s["acc"] == r["acc"], (task, s["doc_id"])
                continue
            worst = max(worst, max(abs(a - b) for a, b in zip(s["loglikelihoods"], lls)))
            assert s["greedy"] == greedy and s["acc"] == r["acc"], (task, s["doc_id"])
            if "acc_norm" in r:
                assert s["acc_norm"] == r["acc_norm"], (task, s["doc_id"])
        assert worst <= 1e-4, f"{task}: log-likelihoods differ by {worst}"
        for key, value in ref_results.items():
            if re.fullmatch(r"(acc|acc_norm|perplexity),none", key):
                # perplexity: exp of a mean of log-likelihoods that agree to 1e-4
                assert results[key] == pytest.approx(value, rel=1e-4 if key.startswith("perplexity") else 0,
                                                     abs=0 if key.startswith("perplexity") else 1e-12), (task, key)
