#include "kormo/train/checkpoint.h"

#include <filesystem>

#include "kormo/model/checkpoint.h"
#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::train {

namespace fs = std::filesystem;

namespace {
std::vector<float> host_copy(const backend::Array<float>& a) {
  std::vector<float> h(static_cast<size_t>(a.size()));
  a.download(h.data(), a.size());
  return h;
}
}  // namespace

std::string save_checkpoint(const std::string& out_dir, const model::Weights& w, AdamW& opt, const TrainerState& st,
                            const std::vector<std::string>& extra_files) {
  const std::string name = fmt::format("step-{:07d}", st.step);
  const fs::path final_dir = fs::path(out_dir) / name;
  const fs::path tmp = fs::path(out_dir) / ("." + name + ".tmp");
  fs::remove_all(tmp);
  make_dirs((tmp / "trainer_state").string());
  model::save_model_dir(tmp.string(), w);
  for (const auto& f : extra_files) fs::copy_file(f, tmp / fs::path(f).filename());
  const std::vector<float> m = host_copy(opt.m()), v = host_copy(opt.v());
  const int64_t n = w.size();
  model::write_safetensors((tmp / "trainer_state" / "optimizer.safetensors").string(),
                           {{"adamw.m", {n}, m.data()}, {"adamw.v", {n}, v.data()}});
  nlohmann::json j = {{"step", st.step},   {"updates", st.updates}, {"loss_ema", st.loss_ema},
                      {"tokens", st.tokens}, {"loader", st.source},  {"seed", st.seed},
                      {"threads", st.threads}, {"format", "kormo-trainer-state-1"}};
  write_file_atomic((tmp / "trainer_state" / "state.json").string(), j.dump(2) + "\n");
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  log_info("checkpoint {}", final_dir.string());
  return final_dir.string();
}

void load_checkpoint(const std::string& dir, model::Weights& w, AdamW& opt, TrainerState& st) {
  model::load_weights(w, dir + "/model.safetensors");
  model::SafeTensors ost(dir + "/trainer_state/optimizer.safetensors");
  std::vector<float> staging(static_cast<size_t>(w.size()));
  for (auto [name, arr] : {std::pair{"adamw.m", &opt.m()}, std::pair{"adamw.v", &opt.v()}}) {
    ost.read(name, staging.data(), {w.size()});
    arr->upload(staging.data(), w.size());
  }
  const std::string sp = dir + "/trainer_state/state.json";
  try {
    auto j = nlohmann::json::parse(read_file(sp));
    if (j.value("format", "") != "kormo-trainer-state-1")
      fail("{}: unknown trainer state format {} (this kormo reads kormo-trainer-state-1)", sp,
           j.contains("format") ? j["format"].dump() : "(missing)");
    st.step = j.at("step");
    st.updates = j.at("updates");
    st.loss_ema = j.at("loss_ema");
    st.tokens = j.at("tokens");
    st.source = j.at("loader");
    st.seed = j.value("seed", uint64_t{0});
    st.threads = j.at("threads");
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed trainer state: {}", sp, e.what());
  }
}

std::string latest_checkpoint(const std::string& out_dir) {
  std::string best;
  if (!fs::is_directory(out_dir)) return best;
  for (const auto& e : fs::directory_iterator(out_dir)) {
    std::string n = e.path().filename().string();
    if (e.is_directory() && n.rfind("step-", 0) == 0 && fs::exists(e.path() / "trainer_state" / "state.json") &&
        n > fs::path(best).filename().string())
      best = e.path().string();
  }
  return best;
}

}  // namespace kormo::train
