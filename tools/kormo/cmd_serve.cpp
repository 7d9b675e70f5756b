// kormo serve: an OpenAI-compatible HTTP server over one model directory.
#include <omp.h>

#include "kormo/serve/server.h"
#include "verb.h"

namespace cmd_serve {

struct Args {
  kormo::serve::Options o;
  int threads = 0;
};

void setup(CLI::App& verb) {
  static Args a;
  auto& o = a.o;
  verb.add_option("model", o.model, "Model directory: a kormo checkpoint or an HF Llama directory (config.json, "
                                    "model.safetensors, tokenizer.json; tokenizer_config.json for chat)")
      ->required();
  verb.add_option("--host", o.host, "Address to listen on (loopback by default; 0.0.0.0 exposes it)")->capture_default_str();
  verb.add_option("--port", o.port, "Port (0: any free port, printed in the log)")->capture_default_str();
  verb.add_option("--api-key", o.api_key, "Require 'Authorization: Bearer KEY' (all routes but /, /health, /metrics)");
  verb.add_option("--name", o.name, "Model id clients send as \"model\" (default: the directory's name)");
  verb.add_option("--max-sequences", o.max_sequences, "Sequences decoded together (KV cache slots)")->capture_default_str();
  verb.add_option("--context", o.context, "Tokens per sequence, prompt + output (default: the model's max_seq_len)");
  verb.add_option("--max-body", o.max_body, "Largest request body in bytes (larger: 413)")->capture_default_str();
  verb.add_option("--max-tokens-limit", o.max_tokens_limit, "Largest max_tokens a request may ask for")->capture_default_str();
  verb.add_option("--http-threads", o.http_threads,
                  "Connections served at once (each streaming client or keep-alive connection holds one)")
      ->capture_default_str();
  verb.add_option("--threads", a.threads, "CPU threads for the model (default: all cores)");
  verb.add_option("--backend", o.backend, "Backend: cpu, cuda, or auto (the GPU when one is visible, else cpu; docs/inference.md)")->capture_default_str();
  verb.add_option("--precision", o.precision, "Matrix products in fp32, or bf16 with fp32 accumulation (docs/engine.md)")
      ->capture_default_str();
  verb.footer(
      "Endpoints: POST /v1/completions, /v1/chat/completions, /tokenize, /detokenize;\n"
      "GET /v1/models, /tokenizer_info, /health, /metrics. docs/serve.md has every field.\n"
      "SIGTERM or Ctrl-C: finishes running requests (new ones get 503), then exits 0.\n"
      "Examples:\n"
      "  kormo serve runs/demo/pretrain/step-0000300 --port 8080\n"
      "  curl -s localhost:8080/v1/completions -H 'Content-Type: application/json' \\\n"
      "       -d '{\"prompt\": \"서울은\", \"max_tokens\": 32, \"temperature\": 0}'\n"
      "  curl -sN localhost:8080/v1/chat/completions -d '{\"messages\": [{\"role\": \"user\", \"content\": \"안녕\"}],\n"
      "       \"stream\": true, \"chat_template_kwargs\": {\"enable_thinking\": false}}'\n"
      "  # scoring (echo + logprobs, what lm-evaluation-harness sends):\n"
      "  curl -s localhost:8080/v1/completions -d '{\"prompt\": \"The sky is blue\", \"max_tokens\": 0, \"echo\": true, \"logprobs\": 1}'");
  verb.callback([] {
    if (a.threads > 0) omp_set_num_threads(a.threads);
    kormo::serve::run(a.o);
  });
}

KORMO_VERB("serve", "Serve a model over an OpenAI-compatible HTTP API (continuous batching)", 75, setup);

}  // namespace cmd_serve
