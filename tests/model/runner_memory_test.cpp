// The training Runner's memory options against its plain path on the same weights and
// batches (3 layers, rows packing several documents, ignored targets, z-loss):
//  - recompute: losses and gradients bit-identical, in fp32 and bf16, and the activation
//    buffer smaller by exactly the per-layer tensors of all layers but one;
//  - chunked LM head / cross-entropy: losses within 1e-6 and every gradient tensor within
//    1e-5 (max |a − b| / max |b|) of one chunk over all rows, bit-identical run to run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kormo/model/runner.h"
#include "kormo/util/error.h"
#include "kormo/util/rng.h"

using namespace kormo;

namespace runner_memory_test {
model::ModelConfig config() {
  model::ModelConfig c;
  c.vocab_size = 96, c.hidden_size = 64, c.intermediate_size = 128, c.num_layers = 3, c.num_heads = 4,
  c.num_kv_heads = 2, c.head_dim = 16, c.max_seq_len = 64;
  return c;
}

// Rows of T tokens packing documents of varying length; every 7th target ignored.
Batch batch(int64_t B, int64_t T, uint64_t seed) {
  Rng r(seed);
  Batch b;
  b.B = B, b.T = T;
  for (int64_t n = 0; n < B * T; ++n) {
    const int64_t t = n % T;
    b.inputs.push_back(static_cast<int32_t>(r.next_u64() % config().vocab_size));
    b.targets.push_back(n % 7 == 3 ? -1 : static_cast<int32_t>(r.next_u64() % config().vocab_size));
    b.doc.push_back(static_cast<int32_t>(n / T == 0 ? (t >= 5) + (t >= 19) : (t >= 11)));
  }
  return b;
}

struct Result {
  std::vector<double> loss;
  std::vector<std::vector<float>> losses;
  std::vector<float> grads;
  int64_t activation_bytes = 0;
};

// Two micro-batches of different shapes accumulated into one gradient, as a step with
// grad_accum = 2 does, so buffers are re-carved between them.
Result run(const model::Weights& w, model::Precision p, const model::RunnerOptions& o) {
  model::Runner r(w, model::Runner::Mode::kTraining, p, o);
  r.zero_grads();
  model::ForwardOptions fo;
  fo.z_loss = 1e-3f;
  Result out;
  for (const Batch& b : {batch(2, 32, 5), batch(3, 16, 6)}) {
    out.loss.push_back(r.forward(b, fo));
    out.losses.push_back(r.losses_host());
    out.activation_bytes = std::max(out.activation_bytes, r.activation_bytes());
    r.backward(b, std::vector<float>(b.inputs.size(), 1.f / static_cast<float>(b.inputs.size())));
  }
  out.grads.resize(static_cast<size_t>(w.size()));
  w.backend().copy_to_host(out.grads.data(), r.grads(), out.grads.size() * sizeof(float));
  return out;
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double max_rel(const float* a, const float* b, int64_t n) {
  double d = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i)
    d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i])), ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  return d / std::max(ref, 1e-30);
}

class RunnerMemory : public ::testing::TestWithParam<model::Precision> {};

TEST_P(RunnerMemory, RecomputeGivesBitIdenticalLossesAndGradients) {
  model::Weights w(config(), backend::cpu());
  w.init_random(3);
  // Once with the LM head in one chunk, once in chunks of 10 rows (64 = 6 × 10 + 4).
  for (int64_t chunk : {0, 10}) {
    const Result plain = run(w, GetParam(), {.recompute = false, .loss_chunk_rows = chunk});
    const Result rec = run(w, GetParam(), {.recompute = true, .loss_chunk_rows = chunk});
    EXPECT_EQ(rec.loss, plain.loss) << "chunk " << chunk;
    for (size_t i = 0; i < plain.losses.size(); ++i) EXPECT_TRUE(bit_identical(rec.losses[i], plain.losses[i]));
    EXPECT_TRUE(bit_identical(rec.grads, plain.grads)) << "chunk " << chunk;
    EXPECT_LT(rec.activation_bytes, plain.activation_bytes);
  }
}

TEST_P(RunnerMemory, ChunkedLossWithinBoundOfOneChunk) {
  model::Weights w(config(), backend::cpu());
  w.init_random(4);
  const Result one = run(w, GetParam(), {.loss_chunk_rows = 1000});  // more rows than any batch: one chunk
  const Result chunked = run(w, GetParam(), {.loss_chunk_rows = 10});  // 6 × 10 + 4, then 4 × 10 + 8
  const Result again = run(w, GetParam(), {.loss_chunk_rows = 10});
  EXPECT_TRUE(bit_identical(chunked.grads, again.grads)) << "chunked gradients differ run to run";
  EXPECT_EQ(chunked.loss, again.loss);
  for (size_t i = 0; i < one.loss.size(); ++i) {
    EXPECT_NEAR(chunked.loss[i], one.loss[i], 1e-6 * std::fabs(one.loss[i]));
    EXPECT_LE(max_rel(chunked.losses[i].data(), one.losses[i].data(), static_cast<int64_t>(one.losses[i].size())),
              1e-6);
  }
  for (const auto& t : w.layout().tensors)
    EXPECT_LE(max_rel(chunked.grads.data() + t.offset, one.grads.data() + t.offset, t.size), 1e-5) << t.name;
  // The logits are 10 rows at a time instead of 64 (bf16's output-gradient scratch is
  // sized by the gate|up gradient here, larger than either).
  EXPECT_EQ(one.activation_bytes - chunked.activation_bytes, (64 - 10) * config().vocab_size * 4);
}

INSTANTIATE_TEST_SUITE_P(Precision, RunnerMemory, ::testing::Values(model::Precision::kFp32, model::Precision::kBf16),
                         [](const auto& info) { return info.param == model::Precision::kFp32 ? "fp32" : "bf16"; });

// The activation buffer shrinks by the saved tensors of L − 1 layers, and matches the
// estimate `kormo model info` prints (all sizes here are multiples of the 64-byte slices).
TEST(RunnerMemory, RecomputeDropsAllButOneLayerAreaAndMatchesTheEstimate) {
  const model::ModelConfig c = config();
  model::Weights w(c, backend::cpu());
  w.init_random(5);
  const Batch b = batch(2, 32, 7);
  const int64_t N = 64, C = c.hidden_size, Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim,
                F = c.intermediate_size;
  // ln1, rstd1, qkv, att, lse, res2, ln2, rstd2, gate|up, h.
  const int64_t area = N * (3 * C + 2 + Q + 2 * KV + Q + c.num_heads + 3 * F);
  const model::MemoryEstimate est = model::estimate_memory(c, 2, 32);
  int64_t bytes[2] = {};
  for (bool rec : {false, true}) {
    model::Runner r(w, model::Runner::Mode::kTraining, model::Precision::kFp32, {.recompute = rec});
    r.forward(b);
    bytes[rec] = r.activation_bytes();
    EXPECT_EQ(static_cast<double>(bytes[rec]), rec ? est.activations_recompute : est.activations);
  }
  EXPECT_EQ(bytes[0] - bytes[1], (c.num_layers - 1) * area * 4);
  // bf16 runs also drop the bf16 copies of each layer's 4 GEMM inputs.
  int64_t bf[2] = {};
  for (bool rec : {false, true}) {
    model::Runner r(w, model::Runner::Mode::kTraining, model::Precision::kBf16, {.recompute = rec});
    r.forward(b);
    bf[rec] = r.activation_bytes();
  }
  EXPECT_EQ(bf[0] - bf[1], (c.num_layers - 1) * (area * 4 + N * (2 * C + Q + F) * 2));
}

TEST(RunnerMemory, TrainingLogitsOnlyWhenAskedFor) {
  model::Weights w(config(), backend::cpu());
  w.init_random(6);
  const Batch b = batch(2, 32, 8);
  model::Runner r(w, model::Runner::Mode::kTraining, model::Precision::kFp32, {.loss_chunk_rows = 10});
  r.forward(b);
  EXPECT_EQ(r.logits(), nullptr);
  EXPECT_THROW(r.logits_host(), Error);
  model::ForwardOptions keep;
  keep.keep_logits = true;
  const double loss = r.forward(b, keep);
  const std::vector<float> logits = r.logits_host();
  ASSERT_EQ(logits.size(), static_cast<size_t>(64 * config().vocab_size));
  model::Runner inf(w, model::Runner::Mode::kInference);
  Batch no_targets = b;
  no_targets.targets.clear();
  inf.forward(no_targets);
  // 10-row GEMMs against one 64-row GEMM: the same products, summed in an order that may
  // differ with the shape.
  const std::vector<float> ref = inf.logits_host();
  EXPECT_LE(max_rel(logits.data(), ref.data(), static_cast<int64_t>(ref.size())), 1e-6);
  // Kept logits give the same losses and gradients as chunks recomputed in backward.
  model::Runner plain(w, model::Runner::Mode::kTraining, model::Precision::kFp32, {.loss_chunk_rows = 10});
  EXPECT_EQ(plain.forward(b), loss);
  const std::vector<float> weight(b.inputs.size(), 1.f / 64);
  r.zero_grads(), plain.zero_grads();
  r.backward(b, weight), plain.backward(b, weight);
  EXPECT_EQ(std::memcmp(r.grads(), plain.grads(), static_cast<size_t>(w.size()) * sizeof(float)), 0);
  EXPECT_THROW(model::Runner(w, model::Runner::Mode::kTraining, model::Precision::kFp32, {.loss_chunk_rows = -1}),
               Error);
}

}  // namespace runner_memory_test
