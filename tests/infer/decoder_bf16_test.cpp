// The bf16 decoder against the bf16 training-path forward (model::Runner, Precision::kBf16):
// the same bf16 GEMMs over a KV cache, so logits agree to within bf16 rounding of inputs
// that differ by fp32 rounding (a flipped bf16 rounding moves a logit by ~2^-8 relative).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kormo/infer/decoder.h"
#include "kormo/model/runner.h"
#include "infer_fixture.h"

using namespace kormo;

namespace decoder_bf16_test {
using namespace kormo::infer_test;

float max_abs(const std::vector<float>& a) {
  float m = 0;
  for (float x : a) m = std::max(m, std::abs(x));
  return m;
}

TEST(DecoderBf16, PrefillAndDecodeMatchTheBf16Runner) {
  const Fixture f;
  const model::Weights& w = f.w;
  const std::vector<int32_t> seq = {5, 17, 3, 88, 41, 2, 60};
  const std::vector<float> ref = full_logits(w, seq, model::Precision::kBf16),
                           fp32 = full_logits(w, seq);
  infer::KvCache kv(tiny(), backend::cpu(), 1, 32);
  infer::Decoder dec(w, kv, model::Precision::kBf16);
  const int32_t s = kv.acquire();
  // Prefill six tokens (every position's logits), then decode the seventh.
  std::vector<infer::Chunk> prefill = {{s, std::span(seq).first(6)}};
  std::vector<float> got = dec.forward_host(prefill, true);
  std::vector<infer::Chunk> decode = {{s, std::span(seq).subspan(6, 1)}};
  const std::vector<float> last = dec.forward_host(decode);
  got.insert(got.end(), last.begin(), last.end());
  ASSERT_EQ(got.size(), ref.size());
  const float scale = max_abs(ref);
  float to_bf16_ref = 0, to_fp32 = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    to_bf16_ref = std::max(to_bf16_ref, std::abs(got[i] - ref[i]));
    to_fp32 = std::max(to_fp32, std::abs(got[i] - fp32[i]));
  }
  EXPECT_LT(to_bf16_ref, 1e-2f * scale);
  EXPECT_GT(to_fp32, 0.f) << "the bf16 decoder gave fp32's logits: the bf16 path did not run";
  EXPECT_LT(to_fp32, 5e-2f * scale);
}

}  // namespace decoder_bf16_test
