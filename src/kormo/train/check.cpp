#include "kormo/train/check.h"

#include <nlohmann/json.hpp>

#include "kormo/model/checkpoint.h"
#include "kormo/model/runner.h"
#include "kormo/model/safetensors.h"
#include "kormo/train/optimizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::train {

void model_check(const CheckOptions& o) {
  const model::Precision precision = model::parse_precision(o.precision, "--precision");
  model::Weights w = model::load_model_dir(o.model_dir, backend::get(o.backend));
  Batch b;
  try {
    auto j = nlohmann::json::parse(read_file(o.batch_path));
    b.B = j.at("B");
    b.T = j.at("T");
    b.inputs = j.at("inputs").get<std::vector<int32_t>>();
    b.targets = j.at("targets").get<std::vector<int32_t>>();
    b.doc = j.at("doc").get<std::vector<int32_t>>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: bad batch JSON: {}", o.batch_path, e.what());
  }
  const int64_t N = b.B * b.T, V = w.config().vocab_size;
  double valid = 0;
  for (int32_t t : b.targets) valid += t >= 0;
  if (valid == 0) fail("{}: every target is ignored", o.batch_path);

  // Logits without targets first: they must equal the training forward's.
  model::Runner infer(w, model::Runner::Mode::kInference, precision);
  Batch no_targets = b;
  no_targets.targets.clear();
  infer.forward(no_targets);
  std::vector<float> logits_inference = infer.logits_host();
  model::ForwardOptions last;
  last.last_only = true;
  infer.forward(no_targets, last);
  std::vector<float> logits_last = infer.logits_host();

  model::Runner r(w, model::Runner::Mode::kTraining, precision, {.loss_chunk_rows = o.loss_chunk_rows});
  model::ForwardOptions fo;
  fo.z_loss = static_cast<float>(o.z_loss);
  fo.keep_logits = true;
  float loss = static_cast<float>(r.forward(b, fo) / valid);
  std::vector<float> logits = r.logits_host(), losses = r.losses_host();
  std::vector<float> weight(N);
  for (int64_t n = 0; n < N; ++n) weight[n] = b.targets[n] >= 0 ? static_cast<float>(1.0 / valid) : 0.f;
  r.zero_grads();
  r.backward(b, weight);
  AdamWConfig ac;
  ac.weight_decay = o.weight_decay;
  AdamW opt(ac, w);
  const std::vector<float> grads = [&] {
    std::vector<float> g(static_cast<size_t>(w.size()));
    w.backend().copy_to_host(g.data(), r.grads(), g.size() * sizeof(float));
    return g;
  }();
  opt.step(w, r.grads(), o.lr, 1);
  const std::vector<float> updated = w.to_host();
  std::vector<model::TensorView> out = {{"logits", {N, V}, logits.data()},
                                        {"logits_inference", {N, V}, logits_inference.data()},
                                        {"logits_last", {b.B, V}, logits_last.data()},
                                        {"losses", {N}, losses.data()},
                                        {"loss", {1}, &loss}};
  for (const auto& t : w.layout().tensors) {
    out.push_back({"grad." + t.name, t.shape, grads.data() + t.offset});
    out.push_back({"updated." + t.name, t.shape, updated.data() + t.offset});
  }
  model::write_safetensors(o.out_path, out);
}

}  // namespace kormo::train
