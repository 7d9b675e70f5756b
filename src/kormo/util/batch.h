// A batch of token rows: the unit the data loaders produce and the model consumes.
// It lives here, below both, so that neither the loaders nor the model depend on
// each other.
//
// Rows are packed documents: doc[n] is a per-row segment id (non-decreasing along a
// row); attention never crosses segments and RoPE positions restart at 0 at each
// segment start.
#pragma once

#include <cstdint>
#include <vector>

namespace kormo {

struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> inputs;   // [B·T]
  std::vector<int32_t> targets;  // [B·T], < 0 = ignored; empty = no targets (inference)
  std::vector<int32_t> doc;      // [B·T] segment id per position; empty = one document per row
};

// doc[t] = number of BOS tokens in row positions 0..t (a row not starting with BOS
// starts in segment 0).
inline std::vector<int32_t> doc_ids_from_bos(const std::vector<int32_t>& tokens, int64_t B, int64_t T,
                                             int32_t bos_id) {
  std::vector<int32_t> doc(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b) {
    int32_t d = 0;
    for (int64_t t = 0; t < T; ++t) {
      if (tokens[b * T + t] == bos_id) ++d;
      doc[b * T + t] = d;
    }
  }
  return doc;
}

}  // namespace kormo
