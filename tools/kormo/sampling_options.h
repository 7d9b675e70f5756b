// The sampling options `kormo generate` and `kormo chat` share, defined once so both
// verbs spell and document them alike.
#pragma once

#include <CLI/CLI.hpp>

#include "kormo/infer/sampler.h"

namespace kormo::cli {

inline void add_sampling_options(CLI::App& verb, infer::SamplingParams& s) {
  verb.add_option("--temperature", s.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  verb.add_option("--top-k", s.top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
  verb.add_option("--top-p", s.top_p, "Nucleus sampling mass (1 = off)")->capture_default_str();
  verb.add_option("--min-p", s.min_p, "Drop tokens below min-p × the top probability (0 = off)")->capture_default_str();
  verb.add_option("--repetition-penalty", s.repetition_penalty,
                  "transformers-style penalty over prompt and output (1 = off)")
      ->capture_default_str();
  verb.add_option("--frequency-penalty", s.frequency_penalty, "OpenAI-style, per occurrence in the output")
      ->capture_default_str();
  verb.add_option("--presence-penalty", s.presence_penalty, "OpenAI-style, once per token in the output")
      ->capture_default_str();
  verb.add_option("--seed", s.seed, "Random seed (same seed, same output)")->capture_default_str();
}

}  // namespace kormo::cli
