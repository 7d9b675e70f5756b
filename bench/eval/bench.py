"""Evaluation throughput: `kormo eval` vs lm-evaluation-harness's HF backend, same model
directory, same documents, same machine, same run, alternating, medians.

Each engine scores the first --limit documents of a 4-option task (KoBEST HellaSwag dev)
and a 2-option task (KoBEST COPA dev) from ../shared/data/bench. Timed: from the start of
the evaluation call to its end, with the model already loaded (kormo: the "N items in S s"
line `kormo eval` prints, which covers reading the documents, building the items and
scoring; lm-eval: `simple_evaluate` on an HFLM built beforehand, which covers the same).
Both run in fp32 and in bf16 (lm-eval: the model loaded as bfloat16, its fastest CPU setting
here; kormo: --precision bf16, bf16 matrix products with fp32 accumulation).
Usage:
    python3 bench/eval/bench.py --kormo build/kormo [--sizes 110M] [--limit 64] [--rounds 3] [--threads 2]
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SIZES = {
    "110M": dict(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_layers=12, num_heads=12,
                 num_kv_heads=4, head_dim=64),
    "1B": None,  # configs/model/proxy-1b.toml
}
TASKS = {"kobest_hellaswag": "HellaSwag", "kobest_copa": "COPA"}

LM_EVAL_SCRIPT = textwrap.dedent("""
    import json, sys, time, torch
    torch.set_num_threads({threads})
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    lm = HFLM(pretrained="{model}", dtype="{dtype}", device="cpu", batch_size={batch})
    tm = TaskManager(include_path="{tasks}")
    t0 = time.perf_counter()
    lm_eval.simple_evaluate(model=lm, tasks=["{task}_local"], task_manager=tm, limit={limit})
    print(json.dumps({{"seconds": time.perf_counter() - t0}}))
""")

KOBEST_YAML = {
    "kobest_hellaswag": """
        doc_to_text: "{{query}}"
        doc_to_target: "{{label}}"
        process_docs: !function utils.hellaswag_process_doc
        doc_to_choice: "choices"
        metric_list: [{metric: acc}, {metric: acc_norm}]""",
    "kobest_copa": """
        doc_to_text: !function utils.copa_doc_to_text
        doc_to_target: !function utils.copa_doc_to_target
        doc_to_choice: !function utils.copa_doc_to_choice
        metric_list: [{metric: acc}]""",
}


def lm_eval_tasks(tmp, limit):
    """lm-eval's own KoBEST definitions over the same TSV rows, converted to its fields."""
    import csv
    d = tmp / "lm_eval_tasks"
    d.mkdir(exist_ok=True)
    (d / "utils.py").write_text("from lm_eval.tasks.kobest.utils import *\n")
    for task, folder in TASKS.items():
        with open(DATA / "bench/ko/kobest" / folder / "dev.tsv", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:limit]
        if task == "kobest_copa":
            conv = [{"premise": r["sentence"], "question": r["question"], "alternative_1": r["1"],
                     "alternative_2": r["2"], "label": int(r["Answer"]) - 1} for r in rows]
        else:
            conv = [{"context": r["context"], "ending_1": r["choice1"], "ending_2": r["choice2"],
                     "ending_3": r["choice3"], "ending_4": r["choice4"], "label": int(r["label"])} for r in rows]
        (tmp / f"{task}.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in conv))
        (d / f"{task}.yaml").write_text(
            f"task: {task}_local\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    validation: {tmp}/{task}.jsonl\n"
            "output_type: multiple_choice\nvalidation_split: validation\n" + textwrap.dedent(KOBEST_YAML[task]).strip() + "\n")
    return d


def train_tokenizer(kormo, tmp):
    """An 8K-vocabulary kormo tokenizer in tmp/tok, trained on 8 MB of Korean petitions and English books."""
    subprocess.run([kormo, "tokenizer", "train", "-o", str(tmp / "tok"), "--vocab-size", "8192",
                    "--text-field", "content", "--max-input-bytes", "8M",
                    str(DATA / "corpora/ko/petitions"), str(DATA / "corpora/en/gutenberg")],
                   check=True, capture_output=True)


def make_model(kormo, tmp, size, max_seq_len=2048):
    """A randomly initialised model of `size` in tmp/model-SIZE carrying tmp/tok's tokenizer."""
    d = tmp / f"model-{size}"
    if size == "1B":
        cfg = ROOT / "configs/model/proxy-1b.toml"
    else:
        cfg = tmp / f"{size}.toml"
        cfg.write_text("[model]\n" + "".join(f"{k} = {v}\n" for k, v in SIZES[size].items()) +
                       f"max_seq_len = {max_seq_len}\n")
    subprocess.run([kormo, "model", "init", str(cfg), str(d)], check=True, capture_output=True)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (d / f).write_bytes((tmp / "tok" / f).read_bytes())
    return d


def run_kormo(kormo, model, task, limit, threads, precision):
    p = subprocess.run([kormo, "eval", str(model), "-t", f"{task}={DATA}/bench/ko/kobest/{TASKS[task]}/dev.tsv",
                        "--limit", str(limit), "--threads", str(threads), "--precision", precision],
                       capture_output=True, text=True, check=True)
    m = re.search(r"(\d+) items in ([0-9.]+) s", p.stderr)
    return float(m.group(2))


def run_lm_eval(model, tasks_dir, task, limit, threads, dtype, batch):
    code = LM_EVAL_SCRIPT.format(threads=threads, model=model, dtype=dtype, batch=batch, tasks=tasks_dir, task=task,
                                 limit=limit)
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(p.stdout.strip().splitlines()[-1])["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kormo", default=str(ROOT / "build/kormo"))
    ap.add_argument("--sizes", default="110M")
    ap.add_argument("--limit", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16, help="lm-eval batch size")
    a = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        train_tokenizer(a.kormo, tmp)
        tasks_dir = lm_eval_tasks(tmp, a.limit)
        print("| size | task | items | kormo fp32 | kormo bf16 | lm-eval fp32 | lm-eval bf16 | "
              "kormo fp32 ÷ lm-eval fp32 | best kormo ÷ best lm-eval |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for size in a.sizes.split(","):
            model = make_model(a.kormo, tmp, size)
            for task in TASKS:
                times = {"fp32": [], "bf16": [], "float32": [], "bfloat16": []}
                for _ in range(a.rounds):
                    for p in ("fp32", "bf16"):
                        times[p].append(run_kormo(a.kormo, model, task, a.limit, a.threads, p))
                    for dt in ("float32", "bfloat16"):
                        times[dt].append(run_lm_eval(model, tasks_dir, task, a.limit, a.threads, dt, a.batch))
                r = {k: a.limit / statistics.median(v) for k, v in times.items()}
                print(f"| {size} | {task} | {a.limit} | {r['fp32']:.2f} | {r['bf16']:.2f} | {r['float32']:.2f} | "
                      f"{r['bfloat16']:.2f} | {r['fp32'] / r['float32']:.2f}× | "
                      f"{max(r['fp32'], r['bf16']) / max(r['float32'], r['bfloat16']):.2f}× |", flush=True)


if __name__ == "__main__":
    main()
