// kormo sft: supervised fine-tuning of a pretrained checkpoint on conversations (see docs/sft.md).
#include "kormo/sft/sft.h"
#include "verb.h"

namespace cmd_sft {

void setup(CLI::App& verb) {
  static kormo::sft::SftOptions o;
  verb.add_option("config", o.config_path, "SFT TOML ([train] init, out_dir, …; [data] sources, thinking, …)")
      ->required();
  verb.add_flag("--resume", o.resume, "Continue the run in out_dir from its latest checkpoint");
  verb.add_option("--max-steps", o.max_steps, "Stop after this many steps of this invocation (checkpoint at the stop)");
  verb.add_option("--dump-batch", o.dump_batch,
                  "Debug: write the first training batch as JSON ({B, T, inputs, targets, doc}, the format of "
                  "`kormo model check --batch`) and stop");
  verb.footer(
      "Starts from [train] init (a model directory or a pretraining out_dir: its newest checkpoint); the\n"
      "tokenizer and chat template are the checkpoint's unless [train] tokenizer names others. Loss is on\n"
      "assistant tokens only; [data] thinking = \"on\" | \"off\" | \"hybrid\" says whether reasoning is\n"
      "trained. Bad conversations are counted, listed in out_dir/sft_rejects.jsonl with file:line, and\n"
      "skipped. Under an MPI launcher each process is one data-parallel rank.\n\n"
      "Example config:\n"
      "  [train]\n"
      "  init = \"runs/tiny\"          # pretraining out_dir or a model directory\n"
      "  out_dir = \"runs/tiny-sft\"\n"
      "  steps = 200\n"
      "  lr = 3e-4\n"
      "  [data]\n"
      "  seq_len = 512\n"
      "  batch_size = 8\n"
      "  thinking = \"hybrid\"\n"
      "  lang_weights = { ko = 2.0, en = 1.0 }\n"
      "  sources.chat = { files = [\"data/chat/*.jsonl\"], weight = 1.0 }\n\n"
      "Examples:\n"
      "  kormo sft configs/sft/tiny.toml\n"
      "  kormo sft configs/sft/tiny.toml --resume\n"
      "  mpirun -np 2 --bind-to none kormo sft configs/sft/tiny.toml");
  verb.callback([] { kormo::sft::sft(o); });
}

KORMO_VERB("sft", "Supervised fine-tuning on conversations (assistant-token loss, thinking on/off/hybrid), exact resume",
           65, setup);

}  // namespace cmd_sft
