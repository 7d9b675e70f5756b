#include "kormo/model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::model {

const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::kF32: return "F32";
    case Dtype::kBF16: return "BF16";
    case Dtype::kF16: return "F16";
  }
  return "?";
}

Dtype parse_dtype(const std::string& s) {
  if (s == "F32" || s == "float32" || s == "fp32") return Dtype::kF32;
  if (s == "BF16" || s == "bfloat16" || s == "bf16") return Dtype::kBF16;
  if (s == "F16" || s == "float16" || s == "fp16") return Dtype::kF16;
  fail("unknown dtype '{}' (expected float32, bfloat16 or float16)", s);
}

size_t dtype_bytes(Dtype d) { return d == Dtype::kF32 ? 4 : 2; }

// Bit-level conversions written out rather than using _Float16/__bf16: the fuzz build
// compiles the library with clang 14, which lacks both on x86.
uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_float(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t float_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to ±inf
  if (a < 0x38800000u) {
    // Subnormal half (or zero): scale to units of 2^-24 and round to nearest even.
    if (a < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
    // value = mant · 2^(exp-150); in units of 2^-24 that is mant >> (126 - exp).
    const int s = 126 - static_cast<int>(a >> 23);
    uint32_t q = mant >> s;
    const uint32_t rem = mant & ((1u << s) - 1), half = 1u << (s - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  // Normal: rebias the exponent (127 → 15) and round the 13 dropped mantissa bits.
  uint32_t r = a - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1);
  return static_cast<uint16_t>(sign | (r >> 13));
}

float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
  if (e == 0x1f) {
    u = sign | 0x7f800000u | (m << 13);
  } else if (e != 0) {
    u = sign | ((e + 112) << 23) | (m << 13);
  } else if (m == 0) {
    u = sign;
  } else {  // subnormal: normalise
    int shift = 0;
    while (!(m & 0x400u)) m <<= 1, ++shift;
    u = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {
uint64_t element_count(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}
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
    const uint64_t bytes = element_count(t.shape) * dtype_bytes(t.stored);
    header[t.name] = {{"dtype", dtype_name(t.stored)}, {"shape", t.shape}, {"data_offsets", {off, off + bytes}}};
    off += bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  uint64_t len = h.size();
  char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  AtomicWriter w(path);
  w.write(std::string_view(le, 8));
  w.write(h);
  std::vector<uint16_t> half;
  std::vector<float> filled;
  for (const auto& t : tensors) {
    const uint64_t n = element_count(t.shape);
    if (t.stored == Dtype::kF32 && t.data) {
      w.write(std::string_view(reinterpret_cast<const char*>(t.data), 4 * n));
      continue;
    }
    // Converted (or filled) in slices so a large tensor needs no second full-size copy.
    constexpr uint64_t kSlice = 1 << 20;
    half.resize(std::min(n, kSlice));
    for (uint64_t i = 0; i < n; i += kSlice) {
      const uint64_t m = std::min(kSlice, n - i);
      const float* src = t.data ? t.data + i : nullptr;
      if (!src) {
        filled.resize(std::min(n, kSlice));
        t.fill(static_cast<int64_t>(i), static_cast<int64_t>(m), filled.data());
        src = filled.data();
      }
      if (t.stored == Dtype::kF32) {
        w.write(std::string_view(reinterpret_cast<const char*>(src), 4 * m));
        continue;
      }
      for (uint64_t j = 0; j < m; ++j) half[j] = t.stored == Dtype::kBF16 ? float_to_bf16(src[j]) : float_to_f16(src[j]);
      w.write(std::string_view(reinterpret_cast<const char*>(half.data()), 2 * m));
    }
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
      const std::string dt = e.is_object() && e.contains("dtype") && e["dtype"].is_string() ? e["dtype"] : "";
      if (dt != "F32" && dt != "BF16" && dt != "F16")
        fail("{}: tensor '{}' has dtype {}, supported are F32, BF16 and F16", path, it.key(),
             e.is_object() && e.contains("dtype") ? e["dtype"].dump() : "(missing)");
      Entry en;
      en.dtype = parse_dtype(dt);
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
      const uint64_t need = n * dtype_bytes(en.dtype);
      if (offs[1] - offs[0] != need)
        fail("{}: corrupt safetensors: tensor '{}' shape {} needs {} bytes but data_offsets give {}", path, it.key(),
             shape_str(en.shape), need, offs[1] - offs[0]);
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
  read_range(name, 0, static_cast<int64_t>(element_count(it->second.shape)), out, expected_shape);
}

void SafeTensors::read_range(const std::string& name, int64_t begin, int64_t count, float* out,
                             const std::vector<int64_t>& expected_shape) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("{}: missing tensor '{}'", path_, name);
  if (!expected_shape.empty() && it->second.shape != expected_shape)
    fail("{}: tensor '{}' has shape {}, the model config needs {}", path_, name, shape_str(it->second.shape),
         shape_str(expected_shape));
  const Entry& e = it->second;
  const uint64_t total = element_count(e.shape), width = dtype_bytes(e.dtype);
  if (begin < 0 || count < 0 || static_cast<uint64_t>(begin) + static_cast<uint64_t>(count) > total)
    fail("{}: elements [{}, {}) of tensor '{}' requested; it has {}", path_, begin, begin + count, name, total);
  const uint64_t first = static_cast<uint64_t>(begin), n = static_cast<uint64_t>(count);
  const char* src = bytes_ + data_start_ + e.begin + first * width;
  // In slices, releasing each slice's file pages once read: a 1 GB embedding then costs
  // its destination and one slice of mapped pages, not both in full.
  constexpr uint64_t kSlice = 16 << 20;  // elements
  for (uint64_t i = 0; i < n; i += kSlice) {
    const uint64_t m = std::min(kSlice, n - i);
    const char* from = src + i * width;
    if (e.dtype == Dtype::kF32) {
      std::memcpy(out + i, from, 4 * m);
    } else {
      const bool bf = e.dtype == Dtype::kBF16;
      for (uint64_t j = 0; j < m; ++j) {
        uint16_t h;
        std::memcpy(&h, from + 2 * j, 2);  // the data section need not be 2-byte aligned
        out[i + j] = bf ? bf16_to_float(h) : f16_to_float(h);
      }
    }
    map_.release(data_start_ + e.begin + (first + i) * width, m * width);
  }
}

Dtype SafeTensors::dtype(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("{}: missing tensor '{}'", path_, name);
  return it->second.dtype;
}

}  // namespace kormo::model
