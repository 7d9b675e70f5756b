#include "kormo/train/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>

#include "kormo/model/checkpoint.h"
#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::train {

namespace fs = std::filesystem;

namespace {
// An integer field of state.json, checked before conversion: nlohmann would silently turn
// 1e300 or 2.5 into an undefined or truncated integer.
int64_t state_int(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key)) fail("{}: missing field {}", path, key);
  const auto& v = j[key];
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)))
    fail("{}: {} must be an integer, got {}", path, key, v.dump());
  return v.get<int64_t>();
}

std::vector<float> host_copy(const backend::Array<float>& a) {
  std::vector<float> h(static_cast<size_t>(a.size()));
  a.download(h.data(), a.size());
  return h;
}

// ZeRO-1's moments reach rank 0 as a sequence of broadcasts every rank makes in the same
// order: for adamw.m then adamw.v, for each rank k > 0, its shard in pieces of kPiece
// elements, each broadcast from k (rank 0's own shard needs no message). A broadcast,
// not a gather, because it is a collective every communicator has; the ranks other than
// 0 and k receive a piece they drop, which costs bandwidth but not memory.
constexpr int64_t kPiece = int64_t{1} << 20;  // elements: 4 MiB

// Calls fn(k, begin, count) for every piece of the shards of ranks 1 … size-1, in order.
template <class Fn>
void for_each_piece(int64_t n, int size, Fn&& fn) {
  for (int k = 1; k < size; ++k) {
    const dist::Shard s = dist::shard_of(n, size, k);
    for (int64_t b = s.begin; b < s.end; b += kPiece) fn(k, b, std::min(kPiece, s.end - b));
  }
}

// A rank other than 0: takes part in every piece's broadcast, sending its own.
void send_moment_shards(AdamW& opt, int64_t n, dist::Communicator& comm) {
  std::vector<float> piece(static_cast<size_t>(std::min(kPiece, std::max<int64_t>(opt.shard().size(), 1))));
  std::vector<float> drop;
  for (backend::Array<float>* a : {&opt.m(), &opt.v()})
    for_each_piece(n, comm.size(), [&](int k, int64_t begin, int64_t count) {
      float* buf = piece.data();
      if (k == comm.rank()) {
        a->download(buf, count, begin - opt.shard().begin);
      } else {
        drop.resize(static_cast<size_t>(kPiece));
        buf = drop.data();
      }
      comm.broadcast(buf, static_cast<size_t>(count) * sizeof(float), k);
    });
}

// Rank 0: the whole tensor for the safetensors writer, which asks for consecutive ranges;
// its own shard comes from `a`, the rest from the broadcasts in for_each_piece order.
class MomentStream {
 public:
  MomentStream(const backend::Array<float>& a, const dist::Shard& mine, int64_t n, dist::Communicator& comm)
      : a_(a), mine_(mine), comm_(comm) {
    for_each_piece(n, comm.size(), [&](int k, int64_t begin, int64_t count) { pieces_.push_back({k, begin, count}); });
  }
  void fill(int64_t begin, int64_t count, float* out) {
    while (count > 0) {
      int64_t take;
      if (begin < mine_.end) {
        take = std::min(count, mine_.end - begin);
        a_.download(out, take, begin - mine_.begin);
      } else {
        if (begin >= held_.begin + held_.count) receive();
        take = std::min(count, held_.begin + held_.count - begin);
        std::copy_n(buf_.data() + (begin - held_.begin), take, out);
      }
      begin += take, out += take, count -= take;
    }
  }

 private:
  struct Piece {
    int k;
    int64_t begin, count;
  };
  void receive() {
    if (next_ >= pieces_.size()) fail_internal("MomentStream: read past the last shard");
    held_ = pieces_[next_++];
    buf_.resize(static_cast<size_t>(kPiece));
    comm_.broadcast(buf_.data(), static_cast<size_t>(held_.count) * sizeof(float), held_.k);
  }
  const backend::Array<float>& a_;
  dist::Shard mine_;
  dist::Communicator& comm_;
  std::vector<Piece> pieces_;
  size_t next_ = 0;
  Piece held_{0, 0, 0};
  std::vector<float> buf_;
};
}  // namespace

std::string save_checkpoint(const std::string& out_dir, const model::Weights& w, AdamW& opt, const TrainerState& st,
                            const std::vector<std::string>& extra_files, dist::Communicator& comm) {
  const int64_t n = w.size();
  const bool streamed = opt.sharded() && comm.size() > 1;
  if (comm.rank() != 0) {
    if (streamed) send_moment_shards(opt, n, comm);
    return "";
  }
  const std::string name = fmt::format("step-{:07d}", st.step);
  const fs::path final_dir = fs::path(out_dir) / name;
  const fs::path tmp = fs::path(out_dir) / ("." + name + ".tmp");
  fs::remove_all(tmp);
  make_dirs((tmp / "trainer_state").string());
  model::save_model_dir(tmp.string(), w);
  for (const auto& f : extra_files) fs::copy_file(f, tmp / fs::path(f).filename());
  const std::string opt_path = (tmp / "trainer_state" / "optimizer.safetensors").string();
  if (streamed) {
    MomentStream m(opt.m(), opt.shard(), n, comm), v(opt.v(), opt.shard(), n, comm);
    model::TensorView mt{"adamw.m", {n}}, vt{"adamw.v", {n}};
    mt.fill = [&](int64_t b, int64_t c, float* out) { m.fill(b, c, out); };
    vt.fill = [&](int64_t b, int64_t c, float* out) { v.fill(b, c, out); };
    model::write_safetensors(opt_path, {mt, vt});
  } else {
    // On a host backend the moments are written from where they live: copies would add 8
    // bytes per parameter to the training peak (1 GB at 110M) at every checkpoint.
    std::vector<float> m_copy, v_copy;
    const float* m = opt.m().data();
    const float* v = opt.v().data();
    if (!w.backend().host_accessible()) {
      m_copy = host_copy(opt.m());
      v_copy = host_copy(opt.v());
      m = m_copy.data();
      v = v_copy.data();
    }
    model::write_safetensors(opt_path, {{"adamw.m", {n}, m}, {"adamw.v", {n}, v}});
  }
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
  const dist::Shard s = opt.shard();
  std::vector<float> staging(static_cast<size_t>(s.size()));
  for (auto [name, arr] : {std::pair{"adamw.m", &opt.m()}, std::pair{"adamw.v", &opt.v()}}) {
    ost.read_range(name, s.begin, s.size(), staging.data(), {w.size()});
    for (size_t i = 0; i < staging.size(); ++i)
      if (!std::isfinite(staging[i]))
        fail("{}/trainer_state/optimizer.safetensors: tensor {} holds a non-finite value ({}) at element {}", dir, name,
             staging[i], s.begin + static_cast<int64_t>(i));
    if (s.size() > 0) arr->upload(staging.data(), s.size());  // a rank past a tiny model's end owns nothing
  }
  const std::string sp = dir + "/trainer_state/state.json";
  parse_trainer_state(read_file(sp), sp, st);
}

void parse_trainer_state(std::string_view text, const std::string& sp, TrainerState& st) {
  try {
    auto j = nlohmann::json::parse(text);
    if (j.value("format", "") != "kormo-trainer-state-1")
      fail("{}: unknown trainer state format {} (this kormo reads kormo-trainer-state-1)", sp,
           j.contains("format") ? j["format"].dump() : "(missing)");
    st.step = state_int(j, "step", sp);
    if (st.step < 0) fail("{}: step is {}, must be at least 0", sp, st.step);
    st.updates = state_int(j, "updates", sp);
    if (st.updates < 0 || st.updates > st.step)
      fail("{}: updates is {}, must lie in [0, step = {}]", sp, st.updates, st.step);
    if (!j.contains("loss_ema") || !j["loss_ema"].is_number()) fail("{}: loss_ema must be a number", sp);
    st.loss_ema = j["loss_ema"].get<double>();
    if (!std::isfinite(st.loss_ema) || st.loss_ema < 0)
      fail("{}: loss_ema is {}, must be finite and at least 0", sp, st.loss_ema);
    st.tokens = state_int(j, "tokens", sp);
    if (st.tokens < 0) fail("{}: tokens is {}, must be at least 0", sp, st.tokens);
    st.source = j.at("loader");
    if (j.contains("seed")) {
      if (!j["seed"].is_number_unsigned()) fail("{}: seed must be a non-negative integer", sp);
      st.seed = j["seed"].get<uint64_t>();
    }
    const int64_t threads = state_int(j, "threads", sp);
    if (threads < 1 || threads > 1 << 20) fail("{}: threads is {}, must be at least 1", sp, threads);
    st.threads = static_cast<int>(threads);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed trainer state: {}", sp, e.what());
  }
}

namespace {
// The complete step-* directories of out_dir, newest (largest step) first.
std::vector<fs::path> complete_checkpoints(const std::string& out_dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(out_dir)) return out;
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && n.rfind("step-", 0) == 0 && fs::exists(e.path() / "trainer_state" / "state.json"))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  return out;
}
}  // namespace

std::string latest_checkpoint(const std::string& out_dir) {
  const std::vector<fs::path> all = complete_checkpoints(out_dir);
  return all.empty() ? std::string() : all.front().string();
}

void prune_checkpoints(const std::string& out_dir, int64_t keep_last) {
  if (keep_last < 1) fail_internal("prune_checkpoints: keep_last is {}, must be at least 1", keep_last);
  const std::vector<fs::path> all = complete_checkpoints(out_dir);
  for (size_t i = static_cast<size_t>(std::min<int64_t>(keep_last, static_cast<int64_t>(all.size()))); i < all.size();
       ++i) {
    fs::remove_all(all[i]);
    log_info("removed checkpoint {} (keep_last = {})", all[i].string(), keep_last);
  }
}

}  // namespace kormo::train
