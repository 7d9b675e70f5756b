// safetensors files (the Hugging Face weight format) with F32, BF16 and F16 tensors:
//   u64 little-endian header length | JSON header (space-padded to 8 bytes) | raw data
// Header: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}; offsets are relative to the data section.
//
// Promises: the reader validates everything it relies on (header length within the
// file, JSON, dtype, shape × element size == byte range, ranges inside the data
// section and not overlapping) and names the file and offset in every error; the
// writer is atomic. In memory tensors are always fp32: the writer rounds to the
// stored dtype (round to nearest even), the reader widens exactly.
#pragma once

#include "kormo/util/mmap.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kormo::model {

enum class Dtype { kF32, kBF16, kF16 };
const char* dtype_name(Dtype d);  // "F32", "BF16", "F16" (the safetensors spelling)
// Accepts the safetensors names and the torch ones ("float32", "bfloat16", "float16").
Dtype parse_dtype(const std::string& s);
size_t dtype_bytes(Dtype d);

// Exact conversions used by the reader and writer (exposed for tests).
uint16_t float_to_bf16(float f);
float bf16_to_float(uint16_t h);
uint16_t float_to_f16(float f);
float f16_to_float(uint16_t h);

struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
  Dtype stored = Dtype::kF32;  // dtype written to the file
  // Without data: called with consecutive element ranges [begin, begin + count) of the
  // tensor, in order, to fill `out`; lets a writer stream a tensor no process holds whole
  // (ZeRO-1's optimizer moments).
  std::function<void(int64_t begin, int64_t count, float* out)> fill = nullptr;
};

void write_safetensors(const std::string& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads through a read-only memory map, so a large checkpoint is not copied twice.
class SafeTensors {
 public:
  explicit SafeTensors(const std::string& path);
  ~SafeTensors();
  SafeTensors(const SafeTensors&) = delete;
  SafeTensors& operator=(const SafeTensors&) = delete;
  bool has(const std::string& name) const { return index_.count(name) > 0; }
  // Names in file order of their data.
  std::vector<std::string> names() const;
  const std::vector<int64_t>& shape(const std::string& name) const;
  Dtype dtype(const std::string& name) const;
  // Converts tensor `name` to fp32 into `out`, which must hold exactly its element
  // count; `expected_shape` (if not empty) must match. The file pages it read are then
  // released, so reading a whole checkpoint costs its fp32 size in memory, not twice that.
  void read(const std::string& name, float* out, const std::vector<int64_t>& expected_shape) const;
  // Elements [begin, begin + count) of the flattened tensor `name` into `out`, with the
  // same conversion and page release; `expected_shape` as for read().
  void read_range(const std::string& name, int64_t begin, int64_t count, float* out,
                  const std::vector<int64_t>& expected_shape) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    std::vector<int64_t> shape;
    Dtype dtype;
    uint64_t begin, end;
  };
  void parse();

  std::string path_;
  MappedFile map_;
  const char* bytes_;
  size_t size_;
  uint64_t data_start_ = 0;
  std::map<std::string, Entry> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace kormo::model
