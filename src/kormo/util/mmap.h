// A read-only memory map of a whole file, for readers of large binary files
// (token shards, safetensors) that must not copy them into memory.
#pragma once

#include <cstddef>
#include <string>

namespace kormo {

class MappedFile {
 public:
  // Throws an I/O Error naming the path when it cannot be opened or mapped. An empty
  // file maps to data() == nullptr, size() == 0.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  // Tells the kernel the bytes [offset, offset+len) will not be read again, so their
  // pages leave this process's resident set (whole pages inside the range only).
  void release(size_t offset, size_t len) const;
  size_t size() const { return size_; }

 private:
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kormo
