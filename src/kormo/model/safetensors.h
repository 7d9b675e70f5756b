// safetensors files (the Hugging Face weight format), F32 only:
//   u64 little-endian header length | JSON header (space-padded to 8 bytes) | raw data
// Header: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}; offsets are relative to the data section.
//
// Promises: the reader validates everything it relies on (header length within the
// file, JSON, dtype, shape × 4 == byte range, ranges inside the data section and not
// overlapping) and names the file and offset in every error; the writer is atomic.
#pragma once

#include "kormo/util/mmap.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kormo::model {

struct TensorView {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
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
  // Copies tensor `name` into `out`, which must hold exactly its element count;
  // `expected_shape` (if not empty) must match.
  void read(const std::string& name, float* out, const std::vector<int64_t>& expected_shape) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  struct Entry {
    std::vector<int64_t> shape;
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
