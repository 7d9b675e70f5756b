#!/usr/bin/env bash
# The CUDA backend's check on a GPU machine: run from the repo root with .gpu/ present
# (made by scripts/gpu-pack.sh on the build machine). Needs python3 and the NVIDIA driver
# and cuBLAS 13 (a CUDA toolkit or the nvidia-cublas Python wheel); the nccl section also
# libnccl.so.2 (a toolkit or the nvidia-nccl-cu13 wheel); no network.
#   bash scripts/gpu-check.sh        # logs and summary.txt under $OUT (default /tmp/kormo-gpu-check)
# Sections, each under a timeout inside one overall budget (GPU_CHECK_BUDGET seconds,
# default 480); a failing section is reported and the others still run:
#   env     nvidia-smi, library paths
#   data    random-walk token shards (python3 + kormo shard --ids)
#   parity  kormo_cuda_tests: every op (attention against the KV cache too), a tiny model
#           (training, and generation over the KV cache) against the CPU backend
#   curves  200 steps of the tiny model on cuda (fp32 and bf16 GEMM) and on cpu: |Δloss|
#   resume  40 steps straight vs 20 + --resume 20 on the GPU: checkpoints bit-identical
#   infer   kormo generate greedy on cuda vs cpu (tiny): identical tokens; prefill and
#           decode tokens/s of a 126M model on the GPU
#   nccl    the NCCL communicator: Cuda.Nccl* tests, a world of one (KORMO_DIST=nccl)
#           against no communicator and ZeRO-1 (zero = 1) against zero = 0 (checkpoints
#           bit-identical), 2 ranks vs 1 GPU and 2-rank ZeRO-1 when 2 GPUs and mpirun are there
#   speed   ~10 steps of a 126M model and of the 1B proxy: tokens/s and MFU against
#           989 TFLOP/s (H100/H200 dense bf16), plus a per-op profile of the 126M model
#   speed-bf16  the 126M and 1B speed runs with the Runner's bf16 mode ([train] precision
#           = "bf16": bf16 shadow weights and GEMM operands)
#   peer    the same shapes in PyTorch (bench/cuda/torch_peer.py: HF Llama, SDPA, bf16
#           autocast, fused AdamW; eager and torch.compile), right after each kormo run
#   speed-tc  the bf16 tensor-core attention (KORMO_CUDA_ATTENTION=bf16) with bf16 GEMM
#           operands (precision = "bf16"): the 126M and 1B proxy speed runs, a per-op profile
#           of the 126M one, and 200 tiny steps against the CPU's loss curve
# GPU_CHECK_ONLY="speed-126m peer-126m …" runs only the named sections (env and data always).
# summary.txt (also printed at the end) is the block to paste into bench/. Exit status 0
# when every section passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-/tmp/kormo-gpu-check}
BUDGET=${GPU_CHECK_BUDGET:-480}
BIN=$ROOT/.gpu/bin
KORMO=$BIN/kormo
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"
for b in kormo kormo_cuda_tests; do
  [[ -x $BIN/$b ]] || { echo "gpu-check: $BIN/$b is missing: run scripts/gpu-pack.sh and carry .gpu" | tee -a "$SUMMARY"; exit 2; }
done

# Checkpoints of the 1B proxy are ~16 GB: work in memory when there is room.
shm_gb=$(df -BG --output=avail /dev/shm 2>/dev/null | tail -1 | tr -dc 0-9)
if [[ ${shm_gb:-0} -ge 40 ]]; then WORK=$(mktemp -d /dev/shm/kormo-gpu.XXXXXX); else WORK=$(mktemp -d /tmp/kormo-gpu.XXXXXX); fi
CPU_PID=
cleanup() {
  [[ -n $CPU_PID ]] && pkill -P "$CPU_PID" 2>/dev/null  # the timeout wrapping the CPU run
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- libraries: .gpu/lib, then cuBLAS from a CUDA toolkit or a Python wheel
find_lib_dir() {  # find_lib_dir NAME: the first directory holding NAME
  local roots=(/usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
  local r f
  for r in $(python3 -c 'import site; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
    roots+=("$r/nvidia")
  done
  for r in "${roots[@]}"; do
    [[ -d $r ]] || continue
    f=$(find -L "$r" -maxdepth 3 -name "$1" -print -quit 2>/dev/null)
    [[ -n $f ]] && { dirname "$f"; return 0; }
  done
  return 1
}
CUBLAS_DIR=$(find_lib_dir libcublas.so.13) || CUBLAS_DIR=
CUBLASLT_DIR=$(find_lib_dir libcublasLt.so.13) || CUBLASLT_DIR=
# NCCL is opened at run time by the NCCL communicator alone (nccl section).
NCCL_DIR=$(find_lib_dir libnccl.so.2) || NCCL_DIR=
# The libraries gpu-pack.sh compressed (xz), unpacked into the work directory.
mkdir -p "$WORK/lib"
for f in "$ROOT"/.gpu/lib/*.xz; do
  [[ -e $f ]] || continue
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$f" "$WORK/lib/$(basename "$f" .xz)" || { echo "gpu-check: cannot unpack $f" | tee -a "$SUMMARY"; exit 2; }
done
export LD_LIBRARY_PATH="$WORK/lib:$ROOT/.gpu/lib:$CUBLAS_DIR:$CUBLASLT_DIR${NCCL_DIR:+:$NCCL_DIR}:${LD_LIBRARY_PATH:-}"
if ! "$KORMO" --version >/dev/null 2>&1; then
  export LD_LIBRARY_PATH="$ROOT/.gpu/compat:$LD_LIBRARY_PATH"  # an older system libstdc++
fi
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# ---- sections
FAILED=()
note() { echo "$*" | tee -a "$SUMMARY"; }
section() {  # section NAME LIMIT_S FUNCTION: FUNCTION's output goes to $OUT/NAME.log
  local name=$1 limit=$2 fn=$3 left=$((BUDGET - SECONDS)) t0=$SECONDS rc
  ((limit > left)) && limit=$left
  if ((limit < 10)); then
    note "$name: SKIP (overall budget of ${BUDGET}s spent)"
    FAILED+=("$name")
    return
  fi
  echo "== $name (up to ${limit}s)"
  timeout -k 10 "$limit" bash -c "$fn" >"$OUT/$name.log" 2>&1
  rc=$?
  if ((rc == 0)); then
    echo "   $name: ok ($((SECONDS - t0))s)"
  else
    if ((rc == 124 || rc == 137)); then note "$name: FAIL (timed out after ${limit}s)"; else note "$name: FAIL (exit $rc, see $name.log)"; fi
    tail -n 15 "$OUT/$name.log" | sed 's/^/   | /'
    FAILED+=("$name")
  fi
}
export ROOT OUT WORK KORMO BIN SUMMARY

sec_env() {
  set -e
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi
    echo "device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)" >>"$SUMMARY"
  fi
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  "$KORMO" --version | tee -a "$SUMMARY"
  echo "host: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; cuBLAS from ${CUBLAS_DIR:-?}; NCCL from ${NCCL_DIR:-nowhere}; work dir $WORK" | tee -a "$SUMMARY"
  [[ -n $CUBLAS_DIR && -n $CUBLASLT_DIR ]] || { echo "libcublas.so.13 / libcublasLt.so.13 not found"; exit 1; }
}

# Documents are random walks over ids 3..1002 (next = 7·id + 13 mod 1000 with
# probability 0.8): a pattern a model learns within 200 steps, so loss curves move.
sec_data() {
  set -e
  python3 - "$WORK/ids.jsonl" <<'PY'
import json, random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    for _ in range(4000):
        t, ids = rng.randrange(1000), []
        for _ in range(rng.randint(100, 700)):
            ids.append(t + 3)
            t = (7 * t + 13) % 1000 if rng.random() < 0.8 else rng.randrange(1000)
        f.write(json.dumps({"ids": ids}) + "\n")
PY
  "$KORMO" -q shard --ids "$WORK/ids.jsonl" --vocab-size 8192 --out "$WORK/data.ktok"
  cat >"$WORK/model-126m.toml" <<'TOML'
[model]
vocab_size = 32768
hidden_size = 768
intermediate_size = 2048
num_layers = 12
num_heads = 12
num_kv_heads = 4
head_dim = 64
max_seq_len = 2048
rope_theta = 500000.0
rms_eps = 1e-5
TOML
}

config() {  # config NAME BACKEND MODEL_FILE STEPS BATCH SEQ [extra [train] lines]: writes $WORK/NAME.toml
  cat >"$WORK/$1.toml" <<TOML
[data]
batch_size = $5
seq_len = $6
val_fraction = 0.0
val_tokens = 0
sources.walk = { shards = ["$WORK/data.ktok"] }
[train]
model = "$3"
out_dir = "$WORK/run-$1"
backend = "$2"
steps = $4
lr = 1e-3
warmup_frac = 0.05
weight_decay = 0.033
grad_clip = 1.0
spike_factor = 0.0
threads = $(($(nproc) > 4 ? $(nproc) - 4 : 1))
seed = 1
peak_gflops = 989000
${7:-}
TOML
}
export -f config

sec_parity() {
  # KORMO_CUDA_SYNC=1: a kernel fault is reported under the op that caused it.
  # The NCCL test runs in the nccl section (it needs libnccl.so.2, which parity does not).
  if KORMO_CUDA_SYNC=1 "$BIN/kormo_cuda_tests" --gtest_filter='Cuda*:-Cuda.Nccl*' --gtest_color=no; then
    if grep -q '^\[  SKIPPED \]' "$OUT/parity.log"; then
      echo "parity: FAIL (tests skipped: $(grep -m1 'no CUDA GPU' "$OUT/parity.log"))" >>"$SUMMARY"
      return 1
    fi
    echo "parity: PASS ($(grep -c '^\[       OK \]' "$OUT/parity.log") tests)" >>"$SUMMARY"
    grep '^\[ model' "$OUT/parity.log" >>"$SUMMARY"
    return 0
  fi
  # A fault poisons the CUDA context for every later test: rerun the failed ones alone.
  echo "parity: FAIL; the failed tests, each in a process of its own:" >>"$SUMMARY"
  for t in $(grep -o '^\[  FAILED  \] Cuda[A-Za-z0-9_.]*' "$OUT/parity.log" | awk '{print $4}' | sort -u); do
    if KORMO_CUDA_SYNC=1 "$BIN/kormo_cuda_tests" --gtest_filter="$t" --gtest_color=no >"$OUT/parity-$t.log" 2>&1; then
      echo "  $t: passes alone" >>"$SUMMARY"
    else
      echo "  $t: FAIL: $(grep -m3 -E 'Failure|error|Expected|Which is' "$OUT/parity-$t.log" | tr '\n' ' ' | cut -c1-300)" >>"$SUMMARY"
    fi
  done
  grep '^\[ model' "$OUT/parity.log" >>"$SUMMARY"
  return 1
}

sec_curves() {
  set -e
  config tiny-cuda-fp32 cuda "$ROOT/configs/model/tiny.toml" 200 8 256
  config tiny-cuda-bf16 cuda "$ROOT/configs/model/tiny.toml" 200 8 256
  KORMO_CUDA_GEMM=fp32 "$KORMO" -q pretrain "$WORK/tiny-cuda-fp32.toml"
  KORMO_CUDA_GEMM=bf16 "$KORMO" -q pretrain "$WORK/tiny-cuda-bf16.toml"
  curves_report tiny-cuda-fp32:1e-4:0.05 tiny-cuda-bf16:1e-2:0.15
}

# curves_report RUN:FIRST_TOL:MAX_TOL …: each run's 200-step loss curve against the CPU
# run's (started beside the GPU sections when curves or speed-tc is wanted); fails unless
# every run is within its limits.
curves_report() {
  echo "waiting for the CPU run"
  while [[ ! -f $WORK/cpu.rc ]]; do sleep 1; done
  [[ $(cat "$WORK/cpu.rc") == 0 ]] || { echo "the CPU run failed (exit $(cat "$WORK/cpu.rc"), see curves-cpu.log)"; return 1; }
  python3 - "$WORK" "$@" <<'PY' | tee -a "$SUMMARY"
import json, math, statistics, sys
w = sys.argv[1]
def metrics(name):
    return [json.loads(l) for l in open(f"{w}/run-{name}/metrics.jsonl")]
def losses(name):  # a non-finite loss is written as null
    return [float("nan") if m["loss"] is None else m["loss"] for m in metrics(name)]
cpu = losses("tiny-cpu")
ok = True
# step-1 loss: same weights and batch, so only op rounding differs; the later steps
# drift apart as any two fp32 implementations do; the limits catch a wrong op.
for name, first_tol, max_tol in ((n, float(a), float(b)) for n, a, b in (arg.split(":") for arg in sys.argv[2:])):
    c = losses(name)
    d = [abs(a - b) for a, b in zip(c, cpu)]
    good = len(c) == len(cpu) == 200 and all(math.isfinite(x) for x in c) and d[0] <= first_tol and max(d) <= max_tol
    ok &= good
    print(f"curves {name[5:]} vs cpu, 200 steps (tiny, B=8 T=256): loss {c[0]:.4f} -> {c[-1]:.4f} (cpu {cpu[0]:.4f} -> {cpu[-1]:.4f}); "
          f"|dloss| step 1 {d[0]:.2e}, max {max(d):.2e} at step {d.index(max(d)) + 1}, last {d[-1]:.2e}: {'PASS' if good else 'FAIL'}")
    # The demo size's speed (the tiny model is the demo pipeline's shape), steps 11..200.
    print(f"speed demo size (tiny, 4.7M) B=8 T=256 {name[5:]}: "
          f"{statistics.median(m['tokens_per_s'] for m in metrics(name)[10:]):,.0f} tokens/s (median of steps 11..200)")
sys.exit(0 if ok else 1)
PY
  return "${PIPESTATUS[0]}"
}
export -f curves_report

speed_report() {  # speed_report RUN LABEL: median tokens/s, step time and MFU over steps ≥ 3
  python3 - "$WORK/run-$1/metrics.jsonl" "$2" <<'PY' | tee -a "$SUMMARY"
import json, statistics, sys
m = [json.loads(l) for l in open(sys.argv[1])][2:]
med = lambda k: statistics.median(x[k] for x in m)
print(f"speed {sys.argv[2]}: {med('tokens_per_s'):,.0f} tokens/s, {med('step_s'):.3f} s/step, MFU {100 * med('mfu'):.1f}% "
      f"(median of steps 3..{len(m) + 2}; loss {m[-1]['loss']:.3f})")
PY
}
export -f speed_report

sec_speed_126m() {
  set -e
  config s126m cuda "$WORK/model-126m.toml" 12 8 2048
  "$KORMO" -q pretrain "$WORK/s126m.toml"
  speed_report s126m "126M (12x768, GQA 12/4, vocab 32768) B=8 T=2048 bf16 GEMM"
  rm -rf "$WORK/run-s126m"
  config s126m-tf32 cuda "$WORK/model-126m.toml" 8 8 2048
  KORMO_CUDA_GEMM=tf32 "$KORMO" -q pretrain "$WORK/s126m-tf32.toml"
  speed_report s126m-tf32 "126M B=8 T=2048 tf32 GEMM"
  # Per-op GPU time: synchronise after every op so the timers measure the kernels.
  config s126m-profile cuda "$WORK/model-126m.toml" 4 8 2048 "profile = true"
  KORMO_CUDA_SYNC=1 "$KORMO" pretrain "$WORK/s126m-profile.toml" 2>&1 | grep -o 'profile .*' | tee "$OUT/profile-126m.txt"
  { echo "profile 126M B=8 T=2048 bf16 (4 steps, synchronised per op):"; sed 's/^profile /  /' "$OUT/profile-126m.txt"; } >>"$SUMMARY"
}

sec_speed_1b() {
  set -e
  config s1b cuda "$ROOT/configs/model/proxy-1b.toml" 8 4 2048
  "$KORMO" -q pretrain "$WORK/s1b.toml"
  speed_report s1b "1B proxy (16x2048, GQA 16/8, vocab 125184) B=4 T=2048 bf16 GEMM"
  rm -rf "$WORK/run-s1b"
}

# speed_bf16_pair NAME LABEL: the speed-126m and speed-1b shapes with the Runner's bf16 mode
# ([train] precision = "bf16": bf16 shadow weights and GEMM operands, fp32 master weights
# and gradients), under whatever KORMO_CUDA_* the caller exported.
speed_bf16_pair() {
  config "$1-126m" cuda "$WORK/model-126m.toml" 12 8 2048 'precision = "bf16"'
  "$KORMO" -q pretrain "$WORK/$1-126m.toml"
  speed_report "$1-126m" "126M B=8 T=2048 $2"
  rm -rf "$WORK/run-$1-126m"
  config "$1-1b" cuda "$ROOT/configs/model/proxy-1b.toml" 8 4 2048 'precision = "bf16"'
  "$KORMO" -q pretrain "$WORK/$1-1b.toml"
  speed_report "$1-1b" "1B proxy B=4 T=2048 $2"
  rm -rf "$WORK/run-$1-1b"
}
export -f speed_bf16_pair

sec_speed_bf16() {
  set -e
  speed_bf16_pair s-bf16 "precision bf16"
}

# The bf16 tensor-core attention (attention_tc.cu) with the Runner's bf16 mode: the speed
# pair, a synchronised per-op profile of the 126M run, and the tiny loss curve against the
# CPU's (bf16 attention and GEMMs; limits as for bf16 GEMM).
sec_speed_tc() {
  set -eo pipefail  # a FAIL line piped through tee fails the section
  export KORMO_CUDA_ATTENTION=bf16
  speed_bf16_pair tc "bf16 attention, precision bf16"
  config tc126m-profile cuda "$WORK/model-126m.toml" 4 8 2048 'precision = "bf16"
profile = true'
  KORMO_CUDA_SYNC=1 "$KORMO" pretrain "$WORK/tc126m-profile.toml" 2>&1 | grep -o 'profile .*' | tee "$OUT/profile-126m-tc.txt"
  { echo "profile 126M B=8 T=2048 bf16 attention, precision bf16 (4 steps, synchronised per op):"; sed 's/^profile /  /' "$OUT/profile-126m-tc.txt"; } >>"$SUMMARY"
  rm -rf "$WORK/run-tc126m-profile"
  config tiny-cuda-bf16attn cuda "$ROOT/configs/model/tiny.toml" 200 8 256
  "$KORMO" -q pretrain "$WORK/tiny-cuda-bf16attn.toml"
  curves_report tiny-cuda-bf16attn:1e-2:0.15
}

sec_peer_126m() { python3 "$ROOT/bench/cuda/torch_peer.py" --size 126m --batch 8 --seq 2048 --steps 12 | tee -a "$SUMMARY"; }
sec_peer_1b() { python3 "$ROOT/bench/cuda/torch_peer.py" --size 1b --batch 4 --seq 2048 --steps 10 | tee -a "$SUMMARY"; }

sec_resume() {
  set -e
  config straight cuda "$ROOT/configs/model/tiny.toml" 40 8 256
  config split cuda "$ROOT/configs/model/tiny.toml" 40 8 256
  "$KORMO" -q pretrain "$WORK/straight.toml"
  "$KORMO" -q pretrain "$WORK/split.toml" --max-steps 20
  "$KORMO" -q pretrain "$WORK/split.toml" --resume
  local a=$WORK/run-straight/step-0000040 b=$WORK/run-split/step-0000040 ok=PASS
  cmp "$a/model.safetensors" "$b/model.safetensors" || ok=FAIL
  cmp "$a/trainer_state/optimizer.safetensors" "$b/trainer_state/optimizer.safetensors" || ok=FAIL
  echo "resume on cuda: 40 steps vs 20 + --resume 20 (tiny, bf16 GEMM): model and optimizer state bit-identical: $ok" >>"$SUMMARY"
  [[ $ok == PASS ]]
}
# Generation on the GPU. Parity: the tiny model trained 60 steps on the random walks (its
# greedy choices are clear-cut) generates greedily for 4 prompts of different lengths in
# one batch, on cuda (fp32 GEMM) and on cpu: the token ids must be identical. Speed: a
# randomly initialised 126M model, 8 prompts of ~500 tokens prefilled in one step, then
# 64 greedy decode steps of 8 sequences (bf16 GEMM, the default).
sec_infer() {
  set -eo pipefail  # a FAIL line piped through tee fails the section
  "$KORMO" -q tokenizer train -o "$WORK/tok" --vocab-size 1024 "$ROOT/README.md" "$ROOT/docs"
  config infer-tiny cuda "$ROOT/configs/model/tiny.toml" 60 8 256
  KORMO_CUDA_GEMM=fp32 "$KORMO" -q pretrain "$WORK/infer-tiny.toml"
  local model be
  model=$(ls -d "$WORK"/run-infer-tiny/step-* | tail -1)
  for be in cpu cuda; do
    KORMO_CUDA_GEMM=fp32 "$KORMO" -q generate "$model" --tokenizer "$WORK/tok/tokenizer.json" --backend $be \
      -p "The capital of" -p "kormo trains a bilingual model" -p "GPU" -p "$(sed -n 3,6p "$ROOT/README.md")" \
      --temperature 0 -n 48 --batch 4 -o "$WORK/gen-$be.jsonl"
  done
  python3 - "$WORK" <<'PY' | tee -a "$SUMMARY"
import json, sys
w = sys.argv[1]
cpu, gpu = ([json.loads(l) for l in open(f"{w}/gen-{b}.jsonl")] for b in ("cpu", "cuda"))
same = len(cpu) == len(gpu) == 4 and all(c["tokens"] == g["tokens"] for c, g in zip(cpu, gpu))
n = sum(len(c["tokens"]) for c in cpu)
first = next((f"prompt {i}: cpu {c['tokens']} cuda {g['tokens']}" for i, (c, g) in enumerate(zip(cpu, gpu))
              if c["tokens"] != g["tokens"]), "")
print(f"infer: kormo generate greedy --backend cuda vs cpu (tiny, 60 steps trained, fp32 GEMM, 4 prompts of "
      f"{', '.join(str(c['prompt_tokens']) for c in cpu)} tokens, {n} tokens generated): "
      f"{'PASS identical tokens' if same else 'FAIL ' + first[:400]}")
sys.exit(0 if same else 1)
PY
  "$KORMO" -q model init "$WORK/model-126m.toml" "$WORK/m126m"
  python3 - "$ROOT/README.md" >"$WORK/long.jsonl" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
for i in range(8):
    print(json.dumps({"prompt": text[i * 500:i * 500 + 2000]}))
PY
  "$KORMO" -q generate "$WORK/m126m" --tokenizer "$WORK/tok/tokenizer.json" --backend cuda -i "$WORK/long.jsonl" \
    --temperature 0 -n 64 --stop-token 32767 --batch 8 --timing -o "$WORK/gen-126m.jsonl" 2>"$WORK/timing.txt"
  python3 - "$WORK/timing.txt" <<'PY' | tee -a "$SUMMARY"
import json, sys
t = json.loads(next(l for l in open(sys.argv[1]) if l.startswith("{")))
print(f"infer speed 126M on cuda (bf16 GEMM, batch 8): prefill {t['prompt_tokens']} tokens "
      f"{t['prefill_tokens_per_s']:,.0f} tokens/s; decode {t['decode_tokens']} tokens {t['decode_tokens_per_s']:,.0f} tokens/s")
PY
}
# The NCCL communicator: its GPU test (a world of one), then the tiny model 20 steps with
# KORMO_DIST=nccl (gradients summed by NCCL in a world of one) against the plain run:
# checkpoints bit-identical; the same with [train] zero = 1 (ZeRO-1 over NCCL) against
# zero = 0. With ≥ 2 GPUs and mpirun: 2 ranks × batch 4 against one GPU × batch 8 (the
# same global batches), fp32 GEMM: losses within float rounding; and 2 ranks with
# zero = 1 against zero = 0: checkpoints bit-identical.
sec_nccl() {
  set -eo pipefail  # a FAIL line piped through tee fails the section
  same_checkpoints() {  # LABEL RUN_A RUN_B: the two runs' step-20 checkpoints byte-identical
    local a=$WORK/run-$2/step-0000020 b=$WORK/run-$3/step-0000020 ok=PASS
    cmp "$a/model.safetensors" "$b/model.safetensors" || ok=FAIL
    cmp "$a/trainer_state/optimizer.safetensors" "$b/trainer_state/optimizer.safetensors" || ok=FAIL
    echo "$1: model and optimizer state bit-identical: $ok" >>"$SUMMARY"
    [[ $ok == PASS ]]
  }
  [[ -n $NCCL_DIR ]] || { echo "libnccl.so.2 not found (pip install nvidia-nccl-cu13)"; echo "nccl: FAIL (libnccl.so.2 not found)" >>"$SUMMARY"; exit 1; }
  "$BIN/kormo_cuda_tests" --gtest_filter='Cuda.Nccl*' --gtest_color=no >"$OUT/nccl-test.log" 2>&1 ||
    { echo "nccl: FAIL (Cuda.NcclWorldOfOne, see nccl-test.log)" >>"$SUMMARY"; exit 1; }
  if grep -q '^\[  SKIPPED \]' "$OUT/nccl-test.log"; then echo "nccl: FAIL (Cuda.NcclWorldOfOne skipped)" >>"$SUMMARY"; exit 1; fi
  echo "nccl: Cuda.NcclWorldOfOne PASS" >>"$SUMMARY"
  config nccl-plain cuda "$ROOT/configs/model/tiny.toml" 20 8 256
  config nccl-world1 cuda "$ROOT/configs/model/tiny.toml" 20 8 256
  "$KORMO" -q pretrain "$WORK/nccl-plain.toml"
  KORMO_DIST=nccl "$KORMO" pretrain "$WORK/nccl-world1.toml" >"$OUT/nccl-world1.log" 2>&1 ||
    { echo "nccl world 1: FAIL ($(tail -n 1 "$OUT/nccl-world1.log" | cut -c1-300))" >>"$SUMMARY"; exit 1; }
  grep -q 'gradients are summed over NCCL' "$OUT/nccl-world1.log" || { echo "the NCCL path did not run"; exit 1; }
  same_checkpoints "nccl world 1 (KORMO_DIST=nccl) vs no communicator, 20 steps tiny bf16 GEMM" nccl-plain nccl-world1
  # ZeRO-1 over NCCL's world of one: padded weights and gradients, reduce-scatter,
  # sharded AdamW, all-gather, against the zero = 0 run just made.
  config nccl-zero1 cuda "$ROOT/configs/model/tiny.toml" 20 8 256 "zero = 1"
  KORMO_DIST=nccl "$KORMO" pretrain "$WORK/nccl-zero1.toml" >"$OUT/nccl-zero1.log" 2>&1 ||
    { echo "nccl zero 1: FAIL ($(tail -n 1 "$OUT/nccl-zero1.log" | cut -c1-300))" >>"$SUMMARY"; exit 1; }
  grep -q 'ZeRO-1 over 1 ranks' "$OUT/nccl-zero1.log" || { echo "the ZeRO-1 path did not run"; exit 1; }
  same_checkpoints "nccl world 1 (KORMO_DIST=nccl) zero = 1 vs zero = 0, 20 steps tiny bf16 GEMM" nccl-world1 nccl-zero1
  local gpus
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  if ((gpus < 2)) || ! command -v mpirun >/dev/null; then
    echo "nccl 2 ranks (and ZeRO-1 on 2 ranks): SKIPPED ($gpus GPU(s) visible$(command -v mpirun >/dev/null || echo ', no mpirun'))" >>"$SUMMARY"
    return 0
  fi
  config nccl-1gpu cuda "$ROOT/configs/model/tiny.toml" 20 8 256
  config nccl-2gpu cuda "$ROOT/configs/model/tiny.toml" 20 4 256
  config nccl-2gpu-zero1 cuda "$ROOT/configs/model/tiny.toml" 20 4 256 "zero = 1"
  KORMO_CUDA_GEMM=fp32 "$KORMO" -q pretrain "$WORK/nccl-1gpu.toml"
  local run
  for run in nccl-2gpu nccl-2gpu-zero1; do
    mpirun --allow-run-as-root -np 2 -x LD_LIBRARY_PATH -x KORMO_CUDA_GEMM=fp32 -x OMP_WAIT_POLICY \
      "$KORMO" -q pretrain "$WORK/$run.toml"
  done
  python3 - "$WORK" <<'PY' | tee -a "$SUMMARY"
import json, sys
w = sys.argv[1]
loss = lambda n: [json.loads(l)["loss"] for l in open(f"{w}/run-{n}/metrics.jsonl")]
one, two = loss("nccl-1gpu"), loss("nccl-2gpu")
d = [abs(a - b) for a, b in zip(one, two)]
good = len(one) == len(two) == 20 and d[0] <= 1e-5 and max(d) <= 1e-3
print(f"nccl 2 ranks x B=4 vs 1 GPU x B=8, 20 steps tiny fp32 GEMM: loss {one[-1]:.5f} vs {two[-1]:.5f}; "
      f"|dloss| step 1 {d[0]:.2e}, max {max(d):.2e}: {'PASS' if good else 'FAIL'}")
sys.exit(0 if good else 1)
PY
  # Two addends per element: NCCL's reduce-scatter gives the all-reduce's bits.
  same_checkpoints "nccl 2 ranks zero = 1 vs zero = 0, 20 steps tiny fp32 GEMM" nccl-2gpu nccl-2gpu-zero1
}
export -f sec_env sec_data sec_parity sec_curves sec_speed_126m sec_speed_1b sec_speed_tc sec_speed_bf16 sec_resume sec_peer_126m sec_peer_1b sec_infer sec_nccl
export CUBLAS_DIR CUBLASLT_DIR NCCL_DIR

want() { [[ -z ${GPU_CHECK_ONLY:-} || " $GPU_CHECK_ONLY " == *" $1 "* ]]; }
echo "gpu-check: kormo $(cat "$ROOT/.gpu/COMMIT" 2>/dev/null), logs in $OUT, work in $WORK"
section env 30 sec_env
section data 60 sec_data
if [[ -f $WORK/data.ktok ]] && { want curves || want speed-tc; }; then
  # The CPU reference of the loss curves runs beside the GPU sections.
  config tiny-cpu cpu "$ROOT/configs/model/tiny.toml" 200 8 256
  (
    timeout -k 10 400 "$KORMO" -q pretrain "$WORK/tiny-cpu.toml" >"$OUT/curves-cpu.log" 2>&1
    echo $? >"$WORK/cpu.rc"
  ) &
  CPU_PID=$!
fi
want parity && section parity 150 sec_parity
# The headline figure (MFU with the bf16 attention and GEMM operands) before the older checks,
# so a short budget still gets it.
want speed-tc && section speed-tc 150 sec_speed_tc
want curves && section curves 150 sec_curves
want resume && section resume 90 sec_resume
want infer && section infer 60 sec_infer
want nccl && section nccl 90 sec_nccl
want speed-126m && section speed-126m 100 sec_speed_126m
want peer-126m && section peer-126m 200 sec_peer_126m
want speed-1b && section speed-1b 150 sec_speed_1b
want peer-1b && section peer-1b 200 sec_peer_1b
want speed-bf16 && section speed-bf16 150 sec_speed_bf16

{
  echo
  echo "==== kormo CUDA backend check ($(date -u +%Y-%m-%dT%H:%MZ), ${SECONDS}s) ===="
  cat "$SUMMARY"
  if ((${#FAILED[@]})); then echo "FAILED sections: ${FAILED[*]}"; else echo "all sections passed"; fi
} | tee "$OUT/summary.block.txt"
((${#FAILED[@]} == 0))
