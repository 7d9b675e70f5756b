#include "kormo/model/checkpoint.h"

#include <cmath>
#include <filesystem>

#include "kormo/model/config_io.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::model {

void save_model_dir(const std::string& dir, const Weights& w, Dtype dtype) {
  const ModelConfig& c = w.config();
  const char* torch_dtype = dtype == Dtype::kF32 ? "float32" : dtype == Dtype::kBF16 ? "bfloat16" : "float16";
  write_file_atomic(dir + "/config.json", model_config_to_hf(c, torch_dtype).dump(2) + "\n");
  nlohmann::json gen = {{"bos_token_id", c.bos_token_id}, {"eos_token_id", c.eos_token_id},
                        {"pad_token_id", c.pad_token_id}, {"do_sample", false}};
  write_file_atomic(dir + "/generation_config.json", gen.dump(2) + "\n");
  std::vector<float> host;
  const float* base = w.data();
  if (!w.backend().host_accessible()) host = w.to_host(), base = host.data();
  std::vector<TensorView> views;
  for (const auto& t : w.layout().tensors) views.push_back({t.name, t.shape, base + t.offset, dtype});
  write_safetensors(dir + "/model.safetensors", views, {{"format", "pt"}});
}

void load_weights(Weights& w, const std::string& path) {
  SafeTensors st(path);
  const bool host = w.backend().host_accessible();
  std::vector<float> staging;
  for (const auto& t : w.layout().tensors) {
    const float* values;
    if (host) {
      st.read(t.name, w.data() + t.offset, t.shape);
      values = w.data() + t.offset;
    } else {
      staging.resize(static_cast<size_t>(t.size));
      st.read(t.name, staging.data(), t.shape);
      values = staging.data();
    }
    // A NaN/Inf weight poisons every step and every output; refuse it here, naming the
    // tensor, instead of training or generating garbage that exits 0.
    for (int64_t i = 0; i < t.size; ++i)
      if (!std::isfinite(values[i]))
        fail("{}: tensor {} holds a non-finite value ({}) at element {}", path, t.name, values[i], i);
    if (!host) w.backend().copy_to_device(w.data() + t.offset, staging.data(), staging.size() * sizeof(float));
  }
}

Weights load_model_dir(const std::string& dir, backend::Backend& be) {
  std::string cfg_path = dir + "/config.json";
  if (!std::filesystem::exists(cfg_path)) fail("{}: not a model directory (no config.json)", dir);
  Weights w(load_hf_config(cfg_path), be);
  load_weights(w, dir + "/model.safetensors");
  return w;
}

}  // namespace kormo::model
