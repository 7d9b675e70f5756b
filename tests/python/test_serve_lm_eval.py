"""lm-evaluation-harness scores a multiple-choice task through `kormo serve` exactly as
through its own HF backend on the same checkpoint.

A tiny LlamaForCausalLM (transformers, random init, save_pretrained) with a byte-level
BPE tokenizer saved by transformers (so AutoTokenizer loads it); a local task made of the
first 40 items of KoBEST COPA dev (../shared/data). Two runs of simple_evaluate with
log_samples: model="hf" on the directory, and model="local-completions" against the
server (tokenized requests; the server's /tokenize, /detokenize and /tokenizer_info as
the remote tokenizer). Per-item log-likelihoods must agree to 1e-4 and accuracy exactly.
Everything offline.
"""
import csv
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

from test_generate import make_model, tokenizer_json  # noqa: E402,F401  (fixture)
from test_serve import Server  # noqa: E402

ITEMS = 40
TASK = """task: kormo_copa_tiny
dataset_path: json
dataset_kwargs:
  data_files:
    validation: {data}
validation_split: validation
output_type: multiple_choice
doc_to_text: "{{{{premise}}}} {{{{connector}}}}"
doc_to_choice: "{{{{[choice1, choice2]}}}}"
doc_to_target: label
target_delimiter: " "
metric_list:
  - metric: acc
"""


@pytest.fixture(scope="module")
def setup(tokenizer_json, shared_data, tmp_path_factory):  # noqa: F811
    from transformers import PreTrainedTokenizerFast
    tok_path, tok = tokenizer_json
    root = tmp_path_factory.mktemp("lm_eval")
    model_dir = root / "tiny"
    make_model(tok.get_vocab_size()).save_pretrained(model_dir, safe_serialization=True)
    PreTrainedTokenizerFast(tokenizer_file=str(tok_path), eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                            model_max_length=128).save_pretrained(model_dir)
    with open(shared_data / "bench/ko/kobest/COPA/dev.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))[:ITEMS]
    data = root / "copa.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for r in rows:
            # KoBEST's question is 원인 (cause) or 결과 (effect).
            connector = "왜냐하면" if r["question"] == "원인" else "그래서"
            f.write(json.dumps({"premise": r["sentence"], "connector": connector, "choice1": r["1"],
                                "choice2": r["2"], "label": int(r["Answer"]) - 1}, ensure_ascii=False) + "\n")
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "copa.yaml").write_text(TASK.format(data=data))
    return model_dir, tasks


def evaluate(model, model_args, task_manager):
    import lm_eval
    t0 = time.time()
    out = lm_eval.simple_evaluate(model=model, model_args=model_args, tasks=["kormo_copa_tiny"],
                                  task_manager=task_manager, log_samples=True,
                                  batch_size=1, device="cpu", random_seed=0, numpy_random_seed=0,
                                  torch_random_seed=0, fewshot_random_seed=0)
    secs = time.time() - t0
    samples = sorted(out["samples"]["kormo_copa_tiny"], key=lambda s: s["doc_id"])
    lls = [[r[0] for r in s["filtered_resps"]] for s in samples]
    return out["results"]["kormo_copa_tiny"]["acc,none"], lls, secs


def test_lm_eval_scores_the_same_through_kormo_serve(kormo_bin, setup):
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager
    model_dir, tasks = setup
    tasks = TaskManager(include_path=str(tasks))  # indexing lm-eval's own tasks takes a while: once
    acc_hf, ll_hf, secs_hf = evaluate("hf", {"pretrained": str(model_dir), "dtype": "float32"}, tasks)
    server = Server(kormo_bin, model_dir, "--name", "tiny")
    try:
        acc_k, ll_k, secs_k = evaluate(
            "local-completions",
            {"base_url": f"http://127.0.0.1:{server.port}/v1/completions", "model": "tiny",
             "tokenizer_backend": "remote", "tokenized_requests": True, "num_concurrent": 1, "max_retries": 1},
            tasks)
    finally:
        assert server.stop() == 0, "".join(server.log)
    assert len(ll_hf) == len(ll_k) == ITEMS
    worst = max(abs(a - b) for x, y in zip(ll_hf, ll_k) for a, b in zip(x, y))
    assert worst <= 1e-4, worst
    assert acc_hf == acc_k
    print(f"lm-eval {ITEMS} items x 2 choices: hf {ITEMS / secs_hf:.1f} items/s, kormo serve {ITEMS / secs_k:.1f} "
          f"items/s; acc {acc_k:.3f}; largest log-likelihood difference {worst:.2e}")
