#include "kormo/model/checkpoint.h"

#include <filesystem>

#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::model {

void write_model_files(const std::string& dir, const Model& m) {
  const ModelConfig& c = m.config();
  write_file_atomic(dir + "/config.json", model_config_to_hf(c).dump(2) + "\n");
  nlohmann::json gen = {{"bos_token_id", c.bos_token_id}, {"eos_token_id", c.eos_token_id},
                        {"pad_token_id", c.pad_token_id}, {"do_sample", false}};
  write_file_atomic(dir + "/generation_config.json", gen.dump(2) + "\n");
  std::vector<TensorView> views;
  for (const auto& t : m.tensors()) views.push_back({t.name, t.shape, m.params().data() + t.offset});
  write_safetensors(dir + "/model.safetensors", views, {{"format", "pt"}});
}

void load_weights(Model& m, const std::string& path) {
  SafeTensors st(path);
  for (const auto& t : m.tensors()) st.read(t.name, m.params().data() + t.offset, t.shape);
}

Model load_model_dir(const std::string& dir) {
  std::string cfg_path = dir + "/config.json";
  if (!std::filesystem::exists(cfg_path)) fail("{}: not a model directory (no config.json)", dir);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(cfg_path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", cfg_path, e.what());
  }
  Model m(model_config_from_hf(j, cfg_path));
  load_weights(m, dir + "/model.safetensors");
  return m;
}

}  // namespace kormo::model
