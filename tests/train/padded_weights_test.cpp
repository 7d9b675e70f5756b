// Weights padded for NCCL's whole-shard collectives (Weights::pad_to, as the trainer does
// for ZeRO-1 on GPUs) train exactly like unpadded ones: same loss, gradient, gradient norm
// and AdamW bits, with the per-rank sharded AdamW of ZeRO-1 on the padded buffer against
// the whole-buffer AdamW on the plain one; the padding of weights and gradients stays zero
// and is never seen by parameter counts or host copies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "kormo/dist/communicator.h"
#include "kormo/model/runner.h"
#include "kormo/train/optimizer.h"
#include "kormo/util/rng.h"
#include "../model/model_fixture.h"

using namespace kormo;

namespace padded_weights_test {
using namespace kormo::model_test;

bool all_zero(const float* p, int64_t n) {
  return std::all_of(p, p + n, [](float x) { return x == 0.f; });
}

void same_bits(const float* a, const float* b, int64_t n, const char* what, int step) {
  EXPECT_EQ(std::memcmp(a, b, static_cast<size_t>(n) * sizeof(float)), 0) << what << " differ at step " << step;
}

class PaddedWeights : public ::testing::TestWithParam<model::Precision> {};

TEST_P(PaddedWeights, TrainBitIdenticalToUnpaddedAndPaddingStaysZero) {
  constexpr int kRanks = 3;
  model::Weights plain(tiny(), backend::cpu()), padded(tiny(), backend::cpu());
  plain.init_random(7);
  padded.init_random(7);
  const int64_t n = plain.size();
  const int64_t cap = dist::padded_length(n, kRanks);
  ASSERT_GT(cap, n) << "the model must not fill its shards exactly, or there is no padding to test";
  padded.pad_to(cap);
  ASSERT_EQ(padded.capacity(), cap);
  EXPECT_EQ(padded.size(), n);
  EXPECT_EQ(plain.capacity(), n);
  EXPECT_EQ(padded.to_host().size(), static_cast<size_t>(n));
  same_bits(plain.data(), padded.data(), n, "weights after pad_to", 0);
  EXPECT_TRUE(all_zero(padded.data() + n, cap - n));

  const model::Precision p = GetParam();
  model::Runner rp(plain, model::Runner::Mode::kTraining, p), rq(padded, model::Runner::Mode::kTraining, p);
  train::AdamWConfig ac;
  ac.weight_decay = 0.1;
  train::AdamW whole(ac, plain);
  std::vector<std::unique_ptr<train::AdamW>> shards;
  for (int r = 0; r < kRanks; ++r)
    shards.push_back(std::make_unique<train::AdamW>(ac, padded, dist::shard_of(n, kRanks, r)));

  for (int step = 1; step <= 3; ++step) {
    const Batch b = batch(2, 16, tiny().vocab_size, 100 + static_cast<uint64_t>(step));
    const std::vector<float> weight(b.inputs.size(), 1.f / static_cast<float>(b.inputs.size()));
    rp.zero_grads(), rq.zero_grads();
    EXPECT_TRUE(all_zero(rq.grads() + n, cap - n)) << "zero_grads must clear the padding, step " << step;
    const double lp = rp.forward(b), lq = rq.forward(b);
    EXPECT_EQ(lp, lq) << "step " << step;
    rp.backward(b, weight), rq.backward(b, weight);
    same_bits(rp.grads(), rq.grads(), n, "gradients", step);
    EXPECT_TRUE(all_zero(rq.grads() + n, cap - n)) << "backward wrote into the padding, step " << step;
    const double norm = train::grad_norm(backend::cpu(), rp.grads(), n);
    EXPECT_EQ(norm, train::grad_norm(backend::cpu(), rq.grads(), n));
    EXPECT_EQ(train::block_grad_norm(backend::cpu(), rp.grads(), n, whole.shard(), nullptr),
              train::block_grad_norm(backend::cpu(), rq.grads(), n, dist::Shard{0, n}, nullptr));
    // NCCL leaves the gradient padding unspecified after a reduce-scatter: the optimizer
    // must not carry it into the weights, and the next zero_grads must clear it.
    std::fill(rq.grads() + n, rq.grads() + cap, 1e3f);
    const float clip = static_cast<float>(0.5 / norm);
    whole.step(plain, rp.grads(), 1e-2, step, clip);
    for (auto& s : shards) s->step(padded, rq.grads(), 1e-2, step, clip);
    same_bits(plain.data(), padded.data(), n, "weights after AdamW", step);
    EXPECT_TRUE(all_zero(padded.data() + n, cap - n)) << "AdamW wrote into the padding, step " << step;
    rp.weights_changed(), rq.weights_changed();
  }
}

INSTANTIATE_TEST_SUITE_P(Precision, PaddedWeights, ::testing::Values(model::Precision::kFp32, model::Precision::kBf16),
                         [](const auto& info) { return info.param == model::Precision::kFp32 ? "fp32" : "bf16"; });

TEST(PaddedWeightsPadTo, NeverShrinks) {
  model::Weights w(tiny(), backend::cpu());
  w.init_random(1);
  const std::vector<float> before = w.to_host();
  w.pad_to(w.size() - 1);
  EXPECT_EQ(w.capacity(), w.size());
  w.pad_to(w.size() + 5);
  w.pad_to(w.size() + 1);
  EXPECT_EQ(w.capacity(), w.size() + 5);
  EXPECT_EQ(w.to_host(), before);
}

}  // namespace padded_weights_test
