"""kormo eval against lm-evaluation-harness (HF backend) on the same model and data.

A tiny LlamaForCausalLM made by transformers (random init, save_pretrained, fp32) with a
tokenizer trained by `kormo tokenizer train` on real Korean and English text. The data are
the first items of KoBEST dev (the KoBEST repository's TSV) and llm-foundry's ARC-Easy and
PIQA JSONL from ../shared/data/bench. lm-eval scores them with its own prompt definitions:
the KoBEST tasks' python functions imported from lm_eval.tasks.kobest.utils, the ARC and
PIQA YAML definitions copied below, over the same documents converted to the fields those
definitions expect. Checked per item: log-likelihood of every option (≤ 1e-4) and the
greedy flag; per task: acc and acc_norm identical. The model's 256-token window is shorter
than many KoBEST BoolQ paragraphs, so left truncation is compared too.
"""
import csv
import json
import math
import os
import textwrap

import numpy

import pytest

from conftest import ROOT, run_kormo

LIMIT = 24
KORMO_NAME = {"mmlu0": "mmlu", "mmlu5": "mmlu"}  # our built-in serves both lm-eval task variants

KOBEST = {
    # task: (folder, lm-eval field names built from the TSV row)
    "kobest_copa": ("COPA", lambda r: {"premise": r["sentence"], "question": r["question"],
                                       "alternative_1": r["1"], "alternative_2": r["2"],
                                       "label": int(r["Answer"]) - 1}),
    "kobest_boolq": ("BoolQ", lambda r: {"paragraph": r["Text"], "question": r["Question"],
                                         "label": 1 if r["Answer"] == "True" else 0}),
    "kobest_hellaswag": ("HellaSwag", lambda r: {"context": r["context"], "ending_1": r["choice1"],
                                                 "ending_2": r["choice2"], "ending_3": r["choice3"],
                                                 "ending_4": r["choice4"], "label": int(r["label"])}),
    "kobest_sentineg": ("SentiNeg", lambda r: {"sentence": r["Text"], "label": int(r["Label"])}),
    "kobest_wic": ("WiC", lambda r: {"word": r["Target"], "context_1": r["SENTENCE1"],
                                     "context_2": r["SENTENCE2"],
                                     "label": 1 if r["ANSWER"].lower() == "true" else 0}),
}

# lm-evaluation-harness's own definitions (lm_eval/tasks/kobest/*.yaml, arc/arc_easy.yaml,
# piqa/piqa.yaml), with the dataset pointed at the converted local files.
LM_EVAL_TASKS = {
    "kobest_copa": """
        doc_to_text: !function utils.copa_doc_to_text
        doc_to_target: !function utils.copa_doc_to_target
        doc_to_choice: !function utils.copa_doc_to_choice
        metric_list: [{metric: acc}]""",
    "kobest_boolq": """
        doc_to_text: "{{paragraph}} 질문: {{question}} 답변: "
        doc_to_target: "{{label}}"
        doc_to_choice: ["아니오", "예"]
        metric_list: [{metric: acc}]""",
    "kobest_hellaswag": """
        doc_to_text: "{{query}}"
        doc_to_target: "{{label}}"
        process_docs: !function utils.hellaswag_process_doc
        doc_to_choice: "choices"
        metric_list: [{metric: acc}, {metric: acc_norm}]""",
    "kobest_sentineg": """
        doc_to_text: !function utils.sentineg_doc_to_text
        doc_to_target: "{{label}}"
        doc_to_choice: ["부정", "긍정"]
        metric_list: [{metric: acc}]""",
    "kobest_wic": """
        doc_to_text: !function utils.wic_doc_to_text
        doc_to_target: "{{label}}"
        doc_to_choice: ['아니오', '예']
        metric_list: [{metric: acc}]""",
    "arc_easy": """
        doc_to_text: "Question: {{question}}\\nAnswer:"
        doc_to_target: "{{choices.label.index(answerKey)}}"
        doc_to_choice: "{{choices.text}}"
        metric_list: [{metric: acc}, {metric: acc_norm}]""",
    "piqa": """
        doc_to_text: "Question: {{goal}}\\nAnswer:"
        doc_to_target: label
        doc_to_choice: "{{[sol1, sol2]}}"
        metric_list: [{metric: acc}, {metric: acc_norm}]""",
    "winogrande": """
        doc_to_text: !function winogrande.doc_to_text
        doc_to_target: !function winogrande.doc_to_target
        doc_to_choice: !function winogrande.doc_to_choice
        metric_list: [{metric: acc}]""",
    # mmlu/default/_default_template_yaml with mmlu_anatomy.yaml's description; anatomy's dev
    # as test, 0- and 5-shot. MMLU ships 5 dev items per subject, so the 5 examples (first_n)
    # come from another subject's dev file (lm-eval would leave no 5 besides the item itself).
    **{name: f"""
        description: "The following are multiple choice questions (with answers) about anatomy.\\n\\n"
        fewshot_config: {{sampler: first_n}}
        num_fewshot: {shots}
        doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
        doc_to_choice: ["A", "B", "C", "D"]
        doc_to_target: answer
        metric_list: [{{metric: acc}}]""" for name, shots in (("mmlu0", 0), ("mmlu5", 5))},
}


def tsv_rows(path, n):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:n]


def jsonl_rows(path, n):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()][:n]


@pytest.fixture(scope="module")
def model_dir(kormo_bin, shared_data, tmp_path_factory):
    from transformers import LlamaConfig, LlamaForCausalLM
    import torch
    d = tmp_path_factory.mktemp("model")
    run_kormo(kormo_bin, "tokenizer", "train", "-o", d, "--vocab-size", 1500, "--threads", 2,
              "--text-field", "content", "--max-input-bytes", "3M",
              shared_data / "corpora/ko/petitions/petitions_2019-05.jsonl",
              shared_data / "corpora/en/tinyshakespeare/input.txt")
    vocab = len(json.loads((d / "tokenizer.json").read_text())["model"]["vocab"]) + \
        len(json.loads((d / "tokenizer.json").read_text())["added_tokens"])
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                      num_attention_heads=8, num_key_value_heads=2, head_dim=8, max_position_embeddings=256,
                      rope_theta=500000.0, rms_norm_eps=1e-5, initializer_range=0.1, tie_word_embeddings=False,
                      bos_token_id=vocab - 6, eos_token_id=vocab - 5, pad_token_id=vocab - 4)
    LlamaForCausalLM(cfg).eval().save_pretrained(d, safe_serialization=True)
    return d


@pytest.fixture(scope="module")
def data(shared_data, tmp_path_factory):
    """Per task: (kormo data file, lm-eval JSONL in the fields its definition expects)."""
    d = tmp_path_factory.mktemp("data")
    out = {}
    for task, (folder, convert) in KOBEST.items():
        src = shared_data / "bench/ko/kobest" / folder / "dev.tsv"
        rows = tsv_rows(src, LIMIT)
        (d / f"{task}.jsonl").write_text("".join(json.dumps(convert(r), ensure_ascii=False) + "\n" for r in rows))
        out[task] = (src, d / f"{task}.jsonl")
    src = shared_data / "bench/en/llmfoundry/winogrande.jsonl"
    conv = []
    for r in jsonl_rows(src, LIMIT):
        a, b = r["context_options"]
        common = os.path.commonprefix([a, b])
        prefix = common[:common.rfind(" ") + 1]  # the blank starts a word
        conv.append({"sentence": prefix + "_ " + r["continuation"], "option1": a[len(prefix):],
                     "option2": b[len(prefix):], "answer": str(r["gold"] + 1)})
    (d / "winogrande.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in conv))
    out["winogrande"] = (src, d / "winogrande.jsonl")
    src = shared_data / "bench/en/mmlu/dev/anatomy_dev.csv"
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    mmlu = [{"question": r["question"], "choices": [r[f"choice{i}"] for i in range(4)], "answer": int(r["answer"])}
            for r in rows]
    (d / "mmlu.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in mmlu))
    out["mmlu0"] = out["mmlu5"] = (src, d / "mmlu.jsonl")
    shots = shared_data / "bench/en/mmlu/dev/astronomy_dev.csv"
    with open(shots, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    (d / "mmlu_shots.jsonl").write_text("".join(json.dumps(
        {"question": r["question"], "choices": [r[f"choice{i}"] for i in range(4)], "answer": int(r["answer"])},
        ensure_ascii=False) + "\n" for r in rows))
    out["mmlu_shots"] = (shots, d / "mmlu_shots.jsonl")
    out["gsm8k_train"] = shared_data / "bench/en/gsm8k/train.jsonl"
    for task, name in (("arc_easy", "arc_easy"), ("piqa", "piqa")):
        src = shared_data / f"bench/en/llmfoundry/{name}.jsonl"
        rows = jsonl_rows(src, LIMIT)
        conv = []
        for r in rows:
            assert r["query"].startswith("Question: ")
            q = r["query"][len("Question: "):]
            if task == "arc_easy":
                labels = [chr(ord("A") + i) for i in range(len(r["choices"]))]
                conv.append({"question": q, "choices": {"text": r["choices"], "label": labels},
                             "answerKey": labels[r["gold"]]})
            else:
                conv.append({"goal": q, "sol1": r["choices"][0], "sol2": r["choices"][1], "label": r["gold"]})
        (d / f"{task}.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in conv))
        out[task] = (src, d / f"{task}.jsonl")
    return out


def lm_eval_run(model_dir, data, tmp_path):
    import lm_eval
    from lm_eval.tasks import TaskManager
    tasks_dir = tmp_path / "lm_eval_tasks"
    tasks_dir.mkdir()
    (tasks_dir / "utils.py").write_text("from lm_eval.tasks.kobest.utils import *  # the official functions\n")
    (tasks_dir / "winogrande.py").write_text("from lm_eval.tasks.winogrande.preprocess_winogrande import *\n")
    for task, body in LM_EVAL_TASKS.items():
        header = textwrap.dedent(f"""\
            task: {task}_local
            dataset_path: json
            dataset_kwargs:
              data_files:
                validation: {data[task][1]}
            output_type: multiple_choice
            validation_split: validation
            """)
        if task.startswith("mmlu"):
            header = header.replace("validation_split:", f"fewshot_split: train\nvalidation_split:").replace(
                f"validation: {data[task][1]}\n", f"validation: {data[task][1]}\n    train: {data['mmlu_shots'][1]}\n")
        (tasks_dir / f"{task}.yaml").write_text(header + textwrap.dedent(body).strip() + "\n")
    # lm_eval/tasks/kobest/_kobest.yaml's group over the local tasks (f1 is not run here).
    kobest = [f"{t}_local" for t in KOBEST]
    (tasks_dir / "_kobest_local.yaml").write_text(
        "group: kobest_local\ntask: [" + ", ".join(kobest) + "]\naggregate_metric_list:\n"
        "  - {metric: acc, aggregation: mean, weight_by_size: true}\n"
        "  - {metric: acc_norm, aggregation: mean, weight_by_size: true}\n")
    return lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32,device=cpu",
        tasks=["kobest_local"] + [f"{t}_local" for t in LM_EVAL_TASKS if t not in KOBEST],
        task_manager=TaskManager(include_path=str(tasks_dir)), log_samples=True, batch_size=8)


def test_kormo_eval_equals_lm_eval_harness(kormo_bin, model_dir, data, tmp_path):
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    def kormo_eval(tag, tasks, *extra):
        args = ["eval", model_dir, "-o", tmp_path / f"{tag}.json", "--samples", tmp_path / f"{tag}.jsonl",
                "--threads", 2, "--limit", LIMIT, *extra]
        for task in tasks:
            args += ["-t", f"{KORMO_NAME.get(task, task)}={data[task][0]}"]
        run_kormo(kormo_bin, *args)
        samples = {}
        for line in (tmp_path / f"{tag}.jsonl").read_text().splitlines():
            s = json.loads(line)
            samples.setdefault(s["where"].split(":")[0], []).append(s)
        whole = json.loads((tmp_path / f"{tag}.json").read_text())
        groups.update(whole.get("groups", {}))
        return {t: (samples[str(data[t][0])], whole["results"][KORMO_NAME.get(t, t)]) for t in tasks}

    groups = {}
    zero_shot = [t for t in LM_EVAL_TASKS if t != "mmlu5"]
    ours = kormo_eval("zero", zero_shot)
    ours.update(kormo_eval("five", ["mmlu5"], "--num-fewshot", 5, "--fewshot-data", f"mmlu={data['mmlu_shots'][0]}"))
    ref = lm_eval_run(model_dir, data, tmp_path)

    for task in LM_EVAL_TASKS:
        mine, results = ours[task]
        theirs = sorted(ref["samples"][f"{task}_local"], key=lambda s: s["doc_id"])
        assert len(theirs) == len(mine) == (5 if task.startswith("mmlu") else LIMIT)
        worst = 0.0
        for s, r in zip(mine, theirs):
            lls = [float(x[0][0]) for x in r["resps"]]
            greedy = [bool(x[0][1]) for x in r["resps"]]
            assert len(lls) == len(s["loglikelihoods"]), task
            worst = max(worst, max(abs(a - b) for a, b in zip(s["loglikelihoods"], lls)))
            assert s["greedy"] == greedy, (task, s["doc_id"])
            assert s["acc"] == r["acc"], (task, s["doc_id"])
            if "acc_norm" in r:
                assert s["acc_norm"] == r["acc_norm"], (task, s["doc_id"])
        assert worst <= 1e-4, f"{task}: log-likelihoods differ by {worst}"
        for m in ("acc", "acc_norm"):
            key = f"{m},none"
            if key in ref["results"][f"{task}_local"]:
                assert results[key] == pytest.approx(ref["results"][f"{task}_local"][key],
                                                                      abs=1e-12), (task, m)
    # The KoBEST group: micro averages and pooled standard errors as lm-eval's groups; the
    # macro average is the plain mean of the tasks' scores.
    assert sorted(groups) == ["kobest"] and len(groups["kobest"]["tasks"]) == len(KOBEST)
    theirs = ref["groups"]["kobest_local"]
    for key in ("acc,none", "acc_stderr,none", "acc_norm,none", "acc_norm_stderr,none"):
        assert groups["kobest"][key] == pytest.approx(theirs[key], abs=1e-12), key
    assert groups["kobest"]["acc_macro,none"] == pytest.approx(
        sum(ref["results"][f"{t}_local"]["acc,none"] for t in KOBEST) / len(KOBEST), abs=1e-12)


def test_eval_bad_task_inputs(kormo_bin, model_dir, tmp_path):
    """A wrong column, an out-of-range gold index, duplicate options, an empty option and a
    template naming a missing field are errors naming file:line and the field or index."""
    bad = tmp_path / "copa.tsv"
    bad.write_text("ID\tsentence\tquestion\t1\t2\tAnswer\n1\t비가 왔다.\t결과\t땅이 젖었다.\t해가 떴다.\t3\n")
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"kobest_copa={bad}", check=False)
    assert p.returncode == 1 and f"{bad}:2: gold index 2 is out of range for 2 choices" in p.stderr, p.stderr
    bad.write_text("ID\tsentence\tquestion\t1\t2\tAnswer\n1\t비가 왔다.\t결과\t같다\t같다\t1\n")
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"kobest_copa={bad}", check=False)
    assert p.returncode == 1 and f"{bad}:2: choices 0 and 1 are the same" in p.stderr, p.stderr
    # A file with other columns (BoolQ's given to COPA): the column the template names, and
    # the columns the file has.
    bad.write_text("ID\tText\tQuestion\tAnswer\n1\t문단\t질문\tTrue\n")
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"kobest_copa={bad}", check=False)
    assert p.returncode == 1 and f"{bad}:2: built-in kobest_copa.toml [task] choices[0]" in p.stderr, p.stderr
    assert "no attribute or item 1" in p.stderr and "(the document's fields: ID, Text, Question, Answer)" in p.stderr
    # A task file of one's own naming a column the data lacks: data file:line, task file, template, field.
    own = tmp_path / "own.toml"
    own.write_text('[task]\nname = "own"\ntext = "{{ Text }} {{ premise }}"\nchoices = ["a", "b"]\ntarget = "0"\n')
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"{own}={bad}", check=False)
    assert p.returncode == 1 and f"{bad}:2: {own} [task] text" in p.stderr and "'premise' is undefined" in p.stderr, \
        p.stderr
    task = tmp_path / "t.toml"
    task.write_text('[task]\nname = "t"\ntext = "{{ question"\nchoices = ["a", "b"]\ntarget = "0"\n')
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"{task}={bad}", check=False)
    assert p.returncode == 1 and str(task) in p.stderr and "text" in p.stderr, p.stderr
    task.write_text('[task]\nname = "t"\ntext = "x"\nchoices = ["a", "b"]\ntarget = "0"\nmetric = ["acc"]\n')
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"{task}={bad}", check=False)
    assert p.returncode != 0 and "metric" in p.stderr, p.stderr
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", "no_such_task=x.jsonl", check=False)
    assert p.returncode == 2 and "kobest_copa" in p.stderr, p.stderr
    bad.write_text("ID\tsentence\tquestion\t1\t2\tAnswer\n1\t비가 왔다.\t결과\t\t해가 떴다.\t1\n")
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"kobest_copa={bad}", check=False)
    assert p.returncode == 1 and f"{bad}:2" in p.stderr and "choice 0 is empty" in p.stderr, p.stderr
    # A generation task's document without the field its target names: file, line and field.
    gsm = tmp_path / "gsm.jsonl"
    gsm.write_text('{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+2?", "solution": "#### 4"}\n')
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"gsm8k={gsm}", "--num-fewshot", 0, check=False)
    assert p.returncode == 1 and f"{gsm}:2" in p.stderr and "'answer' is undefined" in p.stderr, p.stderr
    kmmlu = tmp_path / "kmmlu.csv"
    kmmlu.write_text("question,A,B,C,D,answer,Category,Human Accuracy\n질문,가,나,다,라,5,STEM,0.1\n")
    p = run_kormo(kormo_bin, "eval", model_dir, "-t", f"kmmlu={kmmlu}", check=False)
    assert p.returncode == 1 and f"{kmmlu}:2" in p.stderr and "out of range" in p.stderr, p.stderr


def test_eval_through_an_endpoint_equals_in_process(kormo_bin, model_dir, data, tmp_path):
    """kormo eval --endpoint against kormo serve scores what kormo eval scores in process: every
    task of the lm-eval parity checks (which compare the in-process scores with lm-eval's)."""
    from test_serve import KEY, Server
    tasks = {t: data[t][0] for t in ("kobest_copa", "kobest_boolq", "kobest_hellaswag", "winogrande", "arc_easy",
                                     "piqa")}
    tasks["mmlu"] = data["mmlu0"][0]
    tasks["hellaswag"] = ROOT / "tests/fixtures/eval/hellaswag_val.jsonl"
    targs = [a for t, path in tasks.items() for a in ("-t", f"{t}={path}")]
    # mmlu 5-shot in a run of its own: --num-fewshot applies to every task of a run.
    shots = ["-t", f"mmlu={data['mmlu0'][0]}", "--num-fewshot", 5, "--fewshot-data", f"mmlu={data['mmlu_shots'][0]}"]
    run_kormo(kormo_bin, "eval", model_dir, *targs, "--limit", 12, "--samples", tmp_path / "local.jsonl")
    # Its contexts are longer than the server's 256 tokens: an echoed prompt holds the last
    # target too, so the window through the server is 255 tokens, in process --max-length 255.
    run_kormo(kormo_bin, "eval", model_dir, *shots, "--max-length", 255, "--samples", tmp_path / "shots_local.jsonl")
    train = data["gsm8k_train"]
    (tmp_path / "bpb.txt").write_text("A short first paragraph.\n\n" + "Words repeat across windows. " * 60 + "\n",
                                      encoding="utf-8")
    gsm = ["-t", f"gsm8k={train}", "--fewshot-data", f"gsm8k={train}", "--max-gen-toks", 16, "--limit", 3]
    bpb = ["-t", f"bpb={tmp_path / 'bpb.txt'}"]
    gargs = gsm + bpb
    run_kormo(kormo_bin, "eval", model_dir, *gsm, "--samples", tmp_path / "gen_local.jsonl")
    # Through a server of context 256 the rolling windows are 255 tokens (the echoed prompt
    # holds one more): in process that is --max-length 255.
    run_kormo(kormo_bin, "eval", model_dir, *bpb, "--max-length", 255, "--samples", tmp_path / "bpb_local.jsonl")
    server = Server(kormo_bin, model_dir, "--api-key", KEY)
    try:
        run_kormo(kormo_bin, "eval", "--endpoint", f"http://127.0.0.1:{server.port}/v1", "--api-key", KEY,
                  "--tokenizer", model_dir / "tokenizer.json", "--max-length", 256, *targs, "--limit", 12,
                  "--samples", tmp_path / "remote.jsonl")
        run_kormo(kormo_bin, "eval", "--endpoint", f"http://127.0.0.1:{server.port}/v1", "--api-key", KEY,
                  "--tokenizer", model_dir / "tokenizer.json", "--max-length", 256, *shots,
                  "--samples", tmp_path / "shots_remote.jsonl")
        run_kormo(kormo_bin, "eval", "--endpoint", f"http://127.0.0.1:{server.port}/v1", "--api-key", KEY,
                  "--tokenizer", model_dir / "tokenizer.json", "--max-length", 256, *gargs,
                  "--samples", tmp_path / "gen_remote.jsonl")
        wrong = run_kormo(kormo_bin, "eval", "--endpoint", f"http://127.0.0.1:{server.port}/v1", "--api-key", "nope",
                          "--tokenizer", model_dir / "tokenizer.json", *targs, "--limit", 1, check=False)
        assert wrong.returncode != 0 and "401" in wrong.stderr, wrong.stderr
    finally:
        server.proc.terminate()
        server.proc.wait(timeout=60)
    local = [json.loads(l) for f in ("local.jsonl", "shots_local.jsonl") for l in (tmp_path / f).read_text().splitlines()]
    remote = [json.loads(l) for f in ("remote.jsonl", "shots_remote.jsonl") for l in (tmp_path / f).read_text().splitlines()]
    # 12 items of each task but mmlu (5 in anatomy's dev file), then mmlu 5-shot
    assert len(local) == len(remote) == 12 * (len(tasks) - 1) + 5 + 5
    assert sum(len(s["contexts"][0]) > 1500 for s in local[-5:]) == 5  # the five examples are there
    for a, b in zip(local, remote):
        assert a["where"] == b["where"]
        assert max(abs(x - y) for x, y in zip(a["loglikelihoods"], b["loglikelihoods"])) <= 1e-4, a["where"]
        assert a["greedy"] == b["greedy"] and a["pred"] == b["pred"], a["where"]
    # Generation (gsm8k) and rolling log-likelihood (bpb) through the server: the same texts.
    local = [json.loads(l) for f in ("gen_local.jsonl", "bpb_local.jsonl") for l in (tmp_path / f).read_text().splitlines()]
    remote = [json.loads(l) for l in (tmp_path / "gen_remote.jsonl").read_text().splitlines()]
    assert len(local) == len(remote) == 3 + len(paragraphs((tmp_path / "bpb.txt").read_text()))
    for a, b in zip(local, remote):
        assert a["where"] == b["where"]
        if "resps" in a:
            assert a["resps"] == b["resps"] and a["filtered_resps"] == b["filtered_resps"], a["where"]
        else:
            assert abs(a["loglikelihood"] - b["loglikelihood"]) <= 1e-3, a["where"]


GSM8K_LIMIT = 8
GSM8K_GEN_TOKS = 24
# lm_eval/tasks/gsm8k/gsm8k.yaml with the dataset pointed at the local train file, used as
# the test split too (the test split is not in ../shared/data): lm-eval then draws n + 1
# few-shot examples and drops the document itself, as kormo does when --fewshot-data is
# the data file.
GSM8K_YAML = """
output_type: generate_until
test_split: train
fewshot_split: train
doc_to_text: "Question: {{question}}\\nAnswer:"
doc_to_target: "{{answer}}"
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]
generation_kwargs:
  until: ["Question:", "</s>", "<|im_end|>"]
  do_sample: false
  temperature: 0.0
  max_gen_toks: %d
num_fewshot: 5
filter_list:
  - name: "strict-match"
    filter:
      - function: "regex"
        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"
      - function: "take_first"
  - name: "flexible-extract"
    filter:
      - function: "regex"
        group_select: -1
        regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)"
      - function: "take_first"
""" % GSM8K_GEN_TOKS


def test_gsm8k_generation_and_random_fewshot_equal_lm_eval(kormo_bin, model_dir, data, shared_data, tmp_path):
    """gsm8k (5-shot, random sampler seed 1234, greedy) and kobest_copa 3-shot with the random
    sampler: the same contexts, generations, filtered answers and scores as lm-eval."""
    import lm_eval
    from lm_eval.tasks import TaskManager
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    train = shared_data / "bench/en/gsm8k/train.jsonl"
    copa_src, copa_conv = data["kobest_copa"]
    copa = tmp_path / "copa_dev.tsv"  # the pool both sides draw from: the first LIMIT documents
    copa.write_text("".join(copa_src.read_text(encoding="utf-8").splitlines(keepends=True)[:LIMIT + 1]),
                    encoding="utf-8")
    tasks_dir = tmp_path / "lm_eval_tasks"
    tasks_dir.mkdir()
    (tasks_dir / "utils.py").write_text("from lm_eval.tasks.kobest.utils import *\n")
    (tasks_dir / "gsm8k_local.yaml").write_text(
        f"task: gsm8k_local\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    train: {train}\n" + GSM8K_YAML)
    (tasks_dir / "copa_random.yaml").write_text(textwrap.dedent(f"""\
        task: copa_random
        dataset_path: json
        dataset_kwargs:
          data_files:
            validation: {copa_conv}
        output_type: multiple_choice
        test_split: validation
        fewshot_split: validation
        num_fewshot: 3
        """) + textwrap.dedent(LM_EVAL_TASKS["kobest_copa"]).strip() + "\n")
    ref = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32,device=cpu",
        tasks=["gsm8k_local", "copa_random"], task_manager=TaskManager(include_path=str(tasks_dir)),
        log_samples=True, batch_size=1, limit=GSM8K_LIMIT)

    run_kormo(kormo_bin, "eval", model_dir, "--threads", 2, "--limit", GSM8K_LIMIT, "--max-gen-toks", GSM8K_GEN_TOKS,
              "-t", f"gsm8k={train}", "--fewshot-data", f"gsm8k={train}",
              "-o", tmp_path / "r.json", "--samples", tmp_path / "s.jsonl")
    run_kormo(kormo_bin, "eval", model_dir, "--threads", 2, "--limit", GSM8K_LIMIT,
              "-t", f"kobest_copa={copa}", "--fewshot-data", f"kobest_copa={copa}", "--num-fewshot", 3,
              "--samples", tmp_path / "copa.jsonl")
    mine = [json.loads(l) for l in (tmp_path / "s.jsonl").read_text().splitlines()]
    mine += [json.loads(l) for l in (tmp_path / "copa.jsonl").read_text().splitlines()]
    results = json.loads((tmp_path / "r.json").read_text())["results"]

    gsm = [s for s in mine if s["where"].startswith(str(train))]
    theirs = {(r["doc_id"], r["filter"]): r for r in ref["samples"]["gsm8k_local"]}  # a sample per filter
    assert len(gsm) == GSM8K_LIMIT and len(theirs) == 2 * GSM8K_LIMIT
    for s in gsm:
        for f in ("strict-match", "flexible-extract"):
            r = theirs[(s["doc_id"], f)]
            assert s["contexts"][0] == r["arguments"][0][0], s["where"]
            assert s["resps"] == r["resps"][0][0], s["where"]
            assert s["filtered_resps"][f] == r["filtered_resps"][0], (s["where"], f)
            assert s["exact_match"][f] == r["exact_match"], (s["where"], f)
    for f in ("strict-match", "flexible-extract"):
        key = f"exact_match,{f}"
        assert results["gsm8k"][key] == pytest.approx(ref["results"]["gsm8k_local"][key], abs=1e-12), f

    copa_mine = [s for s in mine if s["where"].startswith(str(copa))]
    copa_ref = sorted(ref["samples"]["copa_random"], key=lambda s: s["doc_id"])
    assert len(copa_mine) == len(copa_ref) == GSM8K_LIMIT
    for s, r in zip(copa_mine, copa_ref):
        assert s["contexts"][0] == r["arguments"][0][0], s["where"]
        lls = [float(x[0][0]) for x in r["resps"]]
        assert max(abs(a - b) for a, b in zip(s["loglikelihoods"], lls)) <= 1e-4, s["where"]
        assert s["acc"] == r["acc"], s["where"]


def paragraphs(text):
    """The bpb task's documents: lines up to a blank (or whitespace-only) line, joined by \\n."""
    out, cur = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip(" \t"):
            cur.append(line)
        elif cur:
            out.append("\n".join(cur))
            cur = []
    if cur:
        out.append("\n".join(cur))
    return out


def test_bits_per_byte_equals_lm_eval_loglikelihood_rolling(kormo_bin, model_dir, shared_data, tmp_path):
    """bpb on short Korean and English texts (paragraphs longer than the 256-token window
    among them): per-document rolling log-likelihood ≤ 1e-4 and the same bits_per_byte,
    byte and word perplexity as lm-eval's loglikelihood_rolling with wikitext's metrics."""
    import lm_eval
    from lm_eval.tasks import TaskManager
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sources = {"ko": shared_data / "corpora/ko/literature_pd/kim_yujeong_dongbaekkot_1936.txt",
               "en": shared_data / "corpora/en/wikitext2/valid.txt"}
    tasks_dir = tmp_path / "lm_eval_tasks"
    tasks_dir.mkdir()
    texts = {}
    for lang, src in sources.items():
        lines = src.read_text(encoding="utf-8-sig").splitlines(keepends=True)[:12 if lang == "en" else 16]
        (tmp_path / f"{lang}.txt").write_text("".join(lines), encoding="utf-8")
        texts[lang] = paragraphs("".join(lines))
        (tmp_path / f"{lang}.jsonl").write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                                                        for t in texts[lang]), encoding="utf-8")
        (tasks_dir / f"bpb_{lang}.yaml").write_text(textwrap.dedent(f"""\
            task: bpb_{lang}
            dataset_path: json
            dataset_kwargs:
              data_files:
                test: {tmp_path / f"{lang}.jsonl"}
            output_type: loglikelihood_rolling
            test_split: test
            doc_to_text: ""
            doc_to_target: "{{{{text}}}}"
            metric_list:
              - metric: word_perplexity
              - metric: byte_perplexity
              - metric: bits_per_byte
            """))
    assert max(len(t) for t in texts["en"]) > 1000  # more than one 256-token window
    ref = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32,device=cpu",
        tasks=["bpb_ko", "bpb_en"], task_manager=TaskManager(include_path=str(tasks_dir)),
        log_samples=True, batch_size=4)
    run_kormo(kormo_bin, "eval", model_dir, "--threads", 2, "-t", f"bpb={tmp_path / 'ko.txt'}",
              "-t", f"bpb={tmp_path / 'en.txt'}", "-o", tmp_path / "r.json", "--samples", tmp_path / "s.jsonl")
    mine = [json.loads(l) for l in (tmp_path / "s.jsonl").read_text().splitlines()]
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    for lang in ("ko", "en"):
        ours = [s for s in mine if s["where"].startswith(str(tmp_path / f"{lang}.txt"))]
        theirs = sorted(ref["samples"][f"bpb_{lang}"], key=lambda s: s["doc_id"])
        assert [s["doc"]["text"] for s in ours] == texts[lang]
        assert len(theirs) == len(ours) >= 2
        slack = 0.0
        for s, r in zip(ours, theirs):
            # lm-eval sums each window's log-probabilities in float32: at a few thousand nats
            # one float32 step is ~5e-4, so allow 1e-4 plus four float32 steps of the value.
            theirs_ll = float(r["resps"][0][0])
            tol = 1e-4 + 4 * float(numpy.spacing(numpy.float32(abs(theirs_ll))))
            assert abs(s["loglikelihood"] - theirs_ll) <= tol, (s["where"], s["loglikelihood"], theirs_ll)
            slack += tol
        # The aggregates: lm-eval's formulas over our log-likelihoods and its per-document
        # word and byte counts give ours to double rounding; against lm-eval's own figures
        # they may differ by what the per-document tolerances add up to, and no more.
        ll = sum(s["loglikelihood"] for s in ours)
        words = sum(r["word_perplexity"][1] for r in theirs)
        nbytes = sum(r["bits_per_byte"][1] for r in theirs)
        assert nbytes == sum(r["byte_perplexity"][1] for r in theirs) == sum(len(t.encode()) for t in texts[lang])
        expected = {"bits_per_byte": (-ll / (nbytes * math.log(2)), slack / abs(ll)),
                    "byte_perplexity": (math.exp(-ll / nbytes), math.expm1(slack / nbytes)),
                    "word_perplexity": (math.exp(-ll / words), math.expm1(slack / words))}
        for m, (value, rel) in expected.items():
            got = results[f"bpb_{lang}"][f"{m},none"]
            assert got == pytest.approx(value, rel=1e-12), (lang, m, "not lm-eval's formula")
            assert got == pytest.approx(ref["results"][f"bpb_{lang}"][f"{m},none"], rel=rel), (lang, m, rel)
