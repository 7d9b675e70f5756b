// kormo pretrain: train a model from token shards (see docs/engine.md).
#include "kormo/train/pretrain.h"
#include "verb.h"

namespace cmd_pretrain {

void setup(CLI::App& verb) {
  static kormo::train::PretrainOptions o;
  verb.add_option("config", o.config_path, "Pretraining TOML ([model] or [train] model, [data], [train])")
      ->required();
  verb.add_flag("--resume", o.resume, "Continue the run in out_dir from its latest checkpoint");
  verb.add_option("--max-steps", o.max_steps, "Stop after this many steps of this invocation (checkpoint at the stop)");
  verb.footer(
      "[train] backend = \"auto\" (default) trains on the GPU when this build has CUDA and one is visible,\n"
      "else on the CPU; \"cpu\" or \"cuda\" force one. Under an MPI launcher each process is one\n"
      "data-parallel rank with micro-batch [data] batch_size; rank 0 writes metrics and checkpoints.\n"
      "Memory and speed: [train] precision = \"bf16\" (bf16 GEMM operands, fp32 master weights),\n"
      "recompute = true (keep one layer's activations), zero = 1 (AdamW moments sharded across ranks);\n"
      "`kormo model info CONFIG --gpus N --zero 1 --recompute` plans them. On GPUs: KORMO_CUDA_GEMM =\n"
      "bf16 (default) | tf32 | fp32, KORMO_CUDA_ATTENTION = fp32 (default) | bf16 (tensor cores, not yet\n"
      "run on a GPU), KORMO_DIST=nccl (NCCL for one GPU too). docs/engine.md, docs/ARCHITECTURE.md.\n\n"
      "Examples:\n"
      "  kormo pretrain configs/pretrain/tiny.toml\n"
      "  kormo pretrain configs/pretrain/tiny.toml --resume          # continue a stopped run\n"
      "  mpirun -np 2 --bind-to none kormo pretrain configs/pretrain/tiny.toml   # 2 ranks");
  verb.callback([] { kormo::train::pretrain(o); });
}

KORMO_VERB("pretrain", "Pretrain a decoder on .ktok shards (CPU or GPU, data-parallel under mpirun), HF checkpoints, exact resume", 60, setup);

}  // namespace cmd_pretrain
