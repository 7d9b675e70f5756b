#include "kormo/model/weights.h"

#include <algorithm>
#include <utility>

#include "kormo/util/rng.h"

namespace kormo::model {

Weights::Weights(const ModelConfig& c, backend::Backend& be) : cfg_(c), layout_(parameter_layout(c)) {
  validate(c, "model config");
  data_ = backend::Array<float>(be, layout_.total);
}

void Weights::pad_to(int64_t capacity) {
  if (capacity <= data_.size()) return;
  backend::Array<float> grown(backend(), capacity);  // zero-filled
  backend().copy(grown.data(), data_.data(), static_cast<size_t>(size()) * sizeof(float));
  data_ = std::move(grown);
}

void Weights::init_random(uint64_t seed) {
  Rng rng(seed);
  const bool host = backend().host_accessible();
  std::vector<float> staging;
  for (const auto& t : layout_.tensors) {
    float* p = data_.data() + t.offset;
    if (!host) staging.resize(static_cast<size_t>(t.size)), p = staging.data();
    if (t.shape.size() == 1) {
      std::fill_n(p, t.size, 1.f);
    } else {
      for (int64_t i = 0; i < t.size; ++i) p[i] = static_cast<float>(rng.normal() * cfg_.init_std);
    }
    if (!host) data_.upload(p, t.size, t.offset);
  }
}

std::vector<float> Weights::to_host() const {
  std::vector<float> h(static_cast<size_t>(size()));
  data_.download(h.data(), size());
  return h;
}

}  // namespace kormo::model
