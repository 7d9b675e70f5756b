#include "kormo/infer/kv_cache.h"

#include "kormo/util/error.h"

namespace kormo::infer {

KvCache::KvCache(const model::ModelConfig& c, backend::Backend& be, int64_t slots, int64_t capacity)
    : capacity_(capacity), kv_(c.num_kv_heads * c.head_dim), layers_(c.num_layers) {
  if (slots <= 0 || capacity <= 0) fail("KV cache needs at least one slot and one position ({} × {})", slots, capacity);
  if (capacity > c.max_seq_len)
    fail("KV cache capacity {} exceeds the model's max_seq_len {}", capacity, c.max_seq_len);
  layer_stride_ = slots * capacity * 2 * kv_;
  data_ = backend::Array<float>(be, layers_ * layer_stride_);
  length_.assign(static_cast<size_t>(slots), -1);
  for (int64_t s = slots - 1; s >= 0; --s) free_.push_back(static_cast<int32_t>(s));
}

int32_t KvCache::acquire() {
  if (free_.empty()) fail("KV cache: all {} sequence slots are in use", slots());
  int32_t s = free_.back();
  free_.pop_back();
  length_[s] = 0;
  return s;
}

void KvCache::check_held(int32_t slot) const {
  if (slot < 0 || slot >= slots() || length_[slot] < 0) fail("KV cache: slot {} is not in use", slot);
}

void KvCache::release(int32_t slot) {
  check_held(slot);
  length_[slot] = -1;
  free_.push_back(slot);
}

int64_t KvCache::length(int32_t slot) const {
  check_held(slot);
  return length_[slot];
}

void KvCache::advance(int32_t slot, int64_t n) {
  check_held(slot);
  if (n < 0 || length_[slot] + n > capacity_)
    fail("KV cache: slot {} would hold {} positions, capacity is {}", slot, length_[slot] + n, capacity_);
  length_[slot] += n;
}


void KvCache::truncate(int32_t slot, int64_t n) {
  check_held(slot);
  if (n < 0 || n > length_[slot]) fail("KV cache: cannot truncate slot {} of {} positions to {}", slot, length_[slot], n);
  length_[slot] = n;
}

void KvCache::copy_prefix(int32_t src, int32_t dst, int64_t n) {
  check_held(src);
  check_held(dst);
  if (n < 0 || n > length_[src]) fail("KV cache: slot {} holds {} positions, not {}", src, length_[src], n);
  if (src != dst)
    for (int64_t l = 0; l < layers_; ++l)
      data_.backend().copy(k(l) + dst * slot_stride(), k(l) + src * slot_stride(),
                           static_cast<size_t>(n * row_stride()) * sizeof(float));
  length_[dst] = n;
}

}  // namespace kormo::infer
