#include "kormo/gguf/writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::gguf {
namespace {

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the supported hosts are little-endian, as the file is
  out.append(b, sizeof(T));
}

void put_string(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

int64_t padded(int64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Appends `n` values of `x` encoded as `t`.
void encode(TensorType t, const float* x, int64_t n, std::string& out) {
  const size_t at = out.size();
  out.resize(at + static_cast<size_t>(row_bytes(t, n)));
  auto* p = reinterpret_cast<uint8_t*>(out.data() + at);
  switch (t) {
    case TensorType::kF32: std::memcpy(p, x, static_cast<size_t>(n) * 4); break;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = model::float_to_f16(x[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      break;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = model::float_to_bf16(x[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      break;
    case TensorType::kQ8_0: quantize_q8_0(x, n, p); break;
  }
}

}  // namespace

const char* type_name(TensorType t) {
  switch (t) {
    case TensorType::kF32: return "f32";
    case TensorType::kF16: return "f16";
    case TensorType::kBF16: return "bf16";
    case TensorType::kQ8_0: return "q8_0";
  }
  return "?";
}

int64_t row_bytes(TensorType t, int64_t n) {
  switch (t) {
    case TensorType::kF32: return 4 * n;
    case TensorType::kF16:
    case TensorType::kBF16: return 2 * n;
    case TensorType::kQ8_0:
      if (n % kQ8Block != 0) fail("q8_0 rows must hold a multiple of {} values (got {})", kQ8Block, n);
      return n / kQ8Block * kQ8BlockBytes;
  }
  fail_internal("unknown tensor type {}", static_cast<uint32_t>(t));
}

void quantize_q8_0(const float* x, int64_t n, uint8_t* out) {
  if (n % kQ8Block != 0) fail("q8_0 needs a multiple of {} values (got {})", kQ8Block, n);
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block, out += kQ8BlockBytes) {
    float amax = 0;
    for (int64_t i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = model::float_to_f16(d);
    std::memcpy(out, &dh, 2);
    for (int64_t i = 0; i < kQ8Block; ++i) {
      // std::round rounds halves away from zero, as ggml's roundf does.
      const auto q = static_cast<int8_t>(std::round(x[i] * id));
      std::memcpy(out + 2 + i, &q, 1);
    }
  }
}

void dequantize_q8_0(const uint8_t* in, int64_t n, float* out) {
  if (n % kQ8Block != 0) fail("q8_0 needs a multiple of {} values (got {})", kQ8Block, n);
  for (int64_t b = 0; b < n / kQ8Block; ++b, in += kQ8BlockBytes) {
    uint16_t dh;
    std::memcpy(&dh, in, 2);
    const float d = model::f16_to_float(dh);
    for (int64_t i = 0; i < kQ8Block; ++i) {
      int8_t q;
      std::memcpy(&q, in + 2 + i, 1);
      *out++ = d * static_cast<float>(q);
    }
  }
}

void Writer::begin_key(std::string_view key, ValueType t) {
  if (std::find(keys_.begin(), keys_.end(), key) != keys_.end()) fail_internal("GGUF key '{}' set twice", key);
  keys_.emplace_back(key);
  put_string(kv_, key);
  put<uint32_t>(kv_, static_cast<uint32_t>(t));
}

void Writer::set_u32(std::string_view key, uint32_t v) {
  begin_key(key, ValueType::kU32);
  put(kv_, v);
}

void Writer::set_f32(std::string_view key, float v) {
  begin_key(key, ValueType::kF32);
  put(kv_, v);
}

void Writer::set_bool(std::string_view key, bool v) {
  begin_key(key, ValueType::kBool);
  put<uint8_t>(kv_, v ? 1 : 0);
}

void Writer::set_string(std::string_view key, std::string_view v) {
  begin_key(key, ValueType::kString);
  put_string(kv_, v);
}

void Writer::set_strings(std::string_view key, const std::vector<std::string>& v) {
  begin_key(key, ValueType::kArray);
  put<uint32_t>(kv_, static_cast<uint32_t>(ValueType::kString));
  put<uint64_t>(kv_, v.size());
  for (const auto& s : v) put_string(kv_, s);
}

void Writer::set_i32s(std::string_view key, const std::vector<int32_t>& v) {
  begin_key(key, ValueType::kArray);
  put<uint32_t>(kv_, static_cast<uint32_t>(ValueType::kI32));
  put<uint64_t>(kv_, v.size());
  for (int32_t x : v) put(kv_, x);
}

void Writer::add_tensor(std::string name, std::vector<int64_t> ne, TensorType type, const float* data,
                        std::vector<int64_t> row_order) {
  if (ne.empty() || ne.size() > 4) fail_internal("GGUF tensor '{}': {} dimensions (1 to 4 allowed)", name, ne.size());
  for (const auto& t : tensors_)
    if (t.name == name) fail_internal("GGUF tensor '{}' added twice", name);
  int64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
  if (!row_order.empty()) {
    std::vector<int64_t> sorted = row_order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t r = 0; r < static_cast<int64_t>(sorted.size()); ++r)
      if (sorted[r] != r || static_cast<int64_t>(sorted.size()) != rows)
        fail_internal("GGUF tensor '{}': row order is not a permutation of its {} rows", name, rows);
  }
  int64_t bytes;
  try {
    bytes = rows * row_bytes(type, ne[0]);
  } catch (const Error& e) {
    fail("tensor '{}' as {}: {}", name, type_name(type), e.what());
  }
  tensors_.push_back({std::move(name), std::move(ne), type, data, std::move(row_order), rows, bytes});
}

void Writer::write(const std::string& path) const {
  std::string head;
  head.append("GGUF");
  put<uint32_t>(head, kVersion);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, keys_.size());
  head += kv_;
  int64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<uint64_t>(head, static_cast<uint64_t>(d));
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, static_cast<uint64_t>(offset));
    offset += padded(t.bytes);
  }
  head.resize(static_cast<size_t>(padded(static_cast<int64_t>(head.size()))), '\0');

  AtomicWriter out(path, 0);
  out.write(head);
  std::string buf;
  constexpr int64_t kChunkBytes = 4 << 20;
  for (const auto& t : tensors_) {
    const int64_t per_chunk = std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, row_bytes(t.type, t.ne[0])));
    for (int64_t r0 = 0; r0 < t.rows; r0 += per_chunk) {
      buf.clear();
      for (int64_t r = r0; r < std::min(t.rows, r0 + per_chunk); ++r) {
        const int64_t src = t.row_order.empty() ? r : t.row_order[static_cast<size_t>(r)];
        encode(t.type, t.data + src * t.ne[0], t.ne[0], buf);
      }
      out.write(buf);
    }
    out.write(std::string(static_cast<size_t>(padded(t.bytes) - t.bytes), '\0'));
  }
  out.commit();
}

}  // namespace kormo::gguf
