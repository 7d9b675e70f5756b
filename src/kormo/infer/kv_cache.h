// Keys and values of every layer for a fixed number of sequence slots, in backend memory.
//
// Promises:
//  - One allocation at construction (slots × capacity positions × layers); nothing is
//    allocated afterwards, so sequences come and go between decode steps for free.
//  - Layout per layer: [slot][position][K | V], each K and V nkv·head_dim floats; the
//    attention op reads a slot at k(layer) + slot·slot_stride(), rows row_stride() apart.
//  - A slot's length is the number of positions written; acquire() hands out a free slot
//    with length 0, release() returns it.
#pragma once

#include <cstdint>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/model/config.h"

namespace kormo::infer {

class KvCache {
 public:
  KvCache(const model::ModelConfig& c, backend::Backend& be, int64_t slots, int64_t capacity);

  int64_t slots() const { return static_cast<int64_t>(length_.size()); }
  int64_t capacity() const { return capacity_; }
  int64_t free_slots() const { return static_cast<int64_t>(free_.size()); }

  // Throws Error when every slot is taken.
  int32_t acquire();
  // Throws Error for a slot that is not held.
  void release(int32_t slot);

  int64_t length(int32_t slot) const;
  // Records that positions length .. length+n−1 of the slot have been written; throws
  // Error (naming the capacity) past the end.
  void advance(int32_t slot, int64_t n);
  // Forgets positions n.. of the slot (n ≤ its length), so they are written again.
  void truncate(int32_t slot, int64_t n);
  // Makes `dst` hold a copy of the first n positions of `src` (every layer), e.g. one
  // scored context shared by several continuations.
  void copy_prefix(int32_t src, int32_t dst, int64_t n);

  float* k(int64_t layer) { return data_.data() + layer * layer_stride_; }
  float* v(int64_t layer) { return k(layer) + kv_; }
  int64_t row_stride() const { return 2 * kv_; }
  int64_t slot_stride() const { return capacity_ * 2 * kv_; }

 private:
  void check_held(int32_t slot) const;

  int64_t capacity_, kv_, layers_, layer_stride_;
  backend::Array<float> data_;
  std::vector<int64_t> length_;  // -1: free
  std::vector<int32_t> free_;    // a stack of free slots
};

}  // namespace kormo::infer
