// GGUF v3 files (the llama.cpp/ggml model format; docs/FORMATS.md § GGUF):
//   "GGUF" | u32 version 3 | u64 tensor count | u64 key-value count
//   | key-values (string key, u32 value type, value) | tensor infos (string name, u32 n_dims,
//   u64 dims in GGML order — dims[0] is the contiguous one —, u32 ggml type, u64 offset into
//   the data section) | zero padding to the alignment | tensor data, each padded to the alignment.
// Strings are u64 length + UTF-8 bytes; everything little-endian.
//
// Promises: write() produces the file atomically (temporary name, then rename) and streams
// tensor data from the caller's fp32 arrays one chunk of rows at a time, so exporting costs
// the source weights plus a few MiB. Rounding to F16/BF16 is to nearest even; Q8_0 is ggml's
// reference quantization (blocks of 32: fp16 scale amax/127, values rounded half away from 0).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kormo::gguf {

inline constexpr uint32_t kVersion = 3;
inline constexpr uint32_t kAlignment = 32;
inline constexpr int64_t kQ8Block = 32;     // values per Q8_0 block
inline constexpr int64_t kQ8BlockBytes = 34;  // fp16 scale + 32 int8

// GGUF metadata value types (their numbers are the file's).
enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

// ggml tensor types written here (their numbers are ggml's).
enum class TensorType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };
const char* type_name(TensorType t);  // "f32", "f16", "q8_0", "bf16"
// Bytes one row of `n` values takes; throws Error when Q8_0 rows are not whole blocks.
int64_t row_bytes(TensorType t, int64_t n);

// Q8_0 of n values (n a multiple of 32) into n/32 blocks of 34 bytes; exposed for tests.
void quantize_q8_0(const float* x, int64_t n, uint8_t* out);
// The values a Q8_0 block array stands for (scale × int8).
void dequantize_q8_0(const uint8_t* in, int64_t n, float* out);

class Writer {
 public:
  // Keys must be unique (a repeated key is a bug: Error kInternal).
  void set_u32(std::string_view key, uint32_t v);
  void set_f32(std::string_view key, float v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_strings(std::string_view key, const std::vector<std::string>& v);
  void set_i32s(std::string_view key, const std::vector<int32_t>& v);

  // A tensor of `ne` (GGML order, ne[0] contiguous) read from fp32 `data` (row-major, rows of
  // ne[0] values) when write() runs, so `data` must stay valid until then. `row_order`, when
  // given, lists for each stored row the source row it takes (a permutation of the rows).
  void add_tensor(std::string name, std::vector<int64_t> ne, TensorType type, const float* data,
                  std::vector<int64_t> row_order = {});

  // Writes the file at `path` atomically; errors name the path and the tensor.
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;
    TensorType type;
    const float* data;
    std::vector<int64_t> row_order;
    int64_t rows, bytes;
  };
  void begin_key(std::string_view key, ValueType t);

  std::vector<std::string> keys_;
  std::string kv_;  // the encoded key-value section
  std::vector<Tensor> tensors_;
};

}  // namespace kormo::gguf
