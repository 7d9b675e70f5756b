#include "kormo/train/check.h"

#include <nlohmann/json.hpp>

#include "kormo/model/checkpoint.h"
#include "kormo/model/safetensors.h"
#include "kormo/train/optimizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::train {

void model_check(const CheckOptions& o) {
  model::Model m = model::load_model_dir(o.model_dir);
  model::Batch b;
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
  const int64_t N = b.B * b.T, V = m.config().vocab_size;
  double valid = 0;
  for (int32_t t : b.targets) valid += t >= 0;
  if (valid == 0) fail("{}: every target is ignored", o.batch_path);
  float loss = static_cast<float>(m.forward(b, static_cast<float>(o.z_loss)) / valid);
  std::vector<float> logits(m.logits(), m.logits() + N * V), losses(m.losses(), m.losses() + N);
  std::vector<float> w(N);
  for (int64_t n = 0; n < N; ++n) w[n] = b.targets[n] >= 0 ? static_cast<float>(1.0 / valid) : 0.f;
  m.zero_grads();
  m.backward(b, w);
  AdamWConfig ac;
  ac.weight_decay = o.weight_decay;
  AdamW opt(ac, m.params().size());
  std::vector<float> updated = m.params();
  opt.step(updated, m.grads(), m.tensors(), o.lr, 1);
  std::vector<model::TensorView> out = {{"logits", {N, V}, logits.data()}, {"losses", {N}, losses.data()},
                                        {"loss", {1}, &loss}};
  for (const auto& t : m.tensors()) {
    out.push_back({"grad." + t.name, t.shape, m.grads().data() + t.offset});
    out.push_back({"updated." + t.name, t.shape, updated.data() + t.offset});
  }
  model::write_safetensors(o.out_path, out);
}

}  // namespace kormo::train
