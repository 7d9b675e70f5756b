#include "kormo/model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::model {

namespace {
std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t off = 0;
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {off, off + 4 * n}}};
    off += 4 * n;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  uint64_t len = h.size();
  char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  AtomicWriter w(path);
  w.write(std::string_view(le, 8));
  w.write(h);
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    w.write(std::string_view(reinterpret_cast<const char*>(t.data), 4 * n));
  }
  w.commit();
}

SafeTensors::SafeTensors(const std::string& path)
    : path_(path), map_(path), bytes_(reinterpret_cast<const char*>(map_.data())), size_(map_.size()) {
  parse();
}

SafeTensors::~SafeTensors() = default;

void SafeTensors::parse() {
  const std::string& path = path_;
  if (size_ < 8) fail("{}: not a safetensors file: {} bytes, need at least 8 for the header length", path, size_);
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[i])) << (8 * i);
  if (len > size_ - 8)
    fail("{}: corrupt safetensors: header length {} at offset 0 exceeds the file size {}", path, len, size_);
  data_start_ = 8 + len;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes_ + 8, bytes_ + 8 + len);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: corrupt safetensors: header at offset 8 is not valid JSON ({})", path, e.what());
  }
  if (!header.is_object()) fail("{}: corrupt safetensors: header at offset 8 is not a JSON object", path);
  const uint64_t data_size = size_ - data_start_;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail("{}: corrupt safetensors: __metadata__ must be an object", path);
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    const auto& e = *it;
    try {
      if (!e.is_object() || e.at("dtype") != "F32")
        fail("{}: tensor '{}' has dtype {}, only F32 is supported", path, it.key(),
             e.is_object() && e.contains("dtype") ? e["dtype"].dump() : "(missing)");
      Entry en;
      en.shape = e.at("shape").get<std::vector<int64_t>>();
      auto offs = e.at("data_offsets").get<std::vector<uint64_t>>();
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_size)
        fail("{}: corrupt safetensors: tensor '{}' data_offsets {} lie outside the data section ({} bytes at offset "
             "{})",
             path, it.key(), e["data_offsets"].dump(), data_size, data_start_);
      uint64_t n = 1;
      for (int64_t d : en.shape) {
        if (d < 0) fail("{}: tensor '{}' has a negative dimension", path, it.key());
        n *= static_cast<uint64_t>(d);
      }
      if (offs[1] - offs[0] != 4 * n)
        fail("{}: corrupt safetensors: tensor '{}' shape {} needs {} bytes but data_offsets give {}", path, it.key(),
             shape_str(en.shape), 4 * n, offs[1] - offs[0]);
      en.begin = offs[0];
      en.end = offs[1];
      ranges.emplace_back(en.begin, en.end);
      index_[it.key()] = std::move(en);
    } catch (const nlohmann::json::exception& ex) {
      fail("{}: corrupt safetensors: bad entry for tensor '{}': {}", path, it.key(), ex.what());
    }
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      fail("{}: corrupt safetensors: tensor data ranges overlap at data offset {}", path, ranges[i].first);
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::pair<uint64_t, std::string>> v;
  for (const auto& [n, e] : index_) v.emplace_back(e.begin, n);
  std::sort(v.begin(), v.end());
  std::vector<std::string> r;
  for (auto& p : v) r.push_back(p.second);
  return r;
}

const std::vector<int64_t>& SafeTensors::shape(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("{}: missing tensor '{}'", path_, name);
  return it->second.shape;
}

void SafeTensors::read(const std::string& name, float* out, const std::vector<int64_t>& expected_shape) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("{}: missing tensor '{}'", path_, name);
  if (!expected_shape.empty() && it->second.shape != expected_shape)
    fail("{}: tensor '{}' has shape {}, the model config needs {}", path_, name, shape_str(it->second.shape),
         shape_str(expected_shape));
  std::memcpy(out, bytes_ + data_start_ + it->second.begin, it->second.end - it->second.begin);
}

}  // namespace kormo::model
