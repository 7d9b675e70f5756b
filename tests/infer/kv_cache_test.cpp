#include <gtest/gtest.h>

#include <vector>

#include "infer_fixture.h"
#include "kormo/infer/decoder.h"
#include "kormo/infer/kv_cache.h"
#include "kormo/util/error.h"

using namespace kormo;

namespace kv_cache_test {
model::ModelConfig tiny() {
  model::ModelConfig c;
  c.vocab_size = 32, c.hidden_size = 16, c.intermediate_size = 32, c.num_layers = 2, c.num_heads = 4,
  c.num_kv_heads = 2, c.head_dim = 4, c.max_seq_len = 64;
  return c;
}

TEST(KvCache, SlotsComeAndGoAndLayoutIsDisjoint) {
  infer::KvCache kv(tiny(), backend::cpu(), 2, 10);
  EXPECT_EQ(kv.row_stride(), 16);
  EXPECT_EQ(kv.slot_stride(), 160);
  // Layer 1's slot 0 starts after layer 0's two slots; V sits after K in a row.
  EXPECT_EQ(kv.k(1) - kv.k(0), 2 * 160);
  EXPECT_EQ(kv.v(0) - kv.k(0), 8);
  int32_t a = kv.acquire(), b = kv.acquire();
  EXPECT_NE(a, b);
  EXPECT_THROW(kv.acquire(), Error);
  kv.advance(a, 10);
  EXPECT_EQ(kv.length(a), 10);
  EXPECT_THROW(kv.advance(a, 1), Error);
  EXPECT_THROW(kv.advance(b, 11), Error);
  EXPECT_EQ(kv.length(b), 0);
  kv.release(a);
  EXPECT_THROW(kv.release(a), Error);
  EXPECT_THROW(kv.length(a), Error);
  int32_t c = kv.acquire();
  EXPECT_EQ(c, a);
  EXPECT_EQ(kv.length(c), 0);  // a reused slot starts empty
}

TEST(KvCache, RejectsACapacityBeyondTheContext) {
  EXPECT_THROW(infer::KvCache(tiny(), backend::cpu(), 1, 65), Error);
  EXPECT_THROW(infer::KvCache(tiny(), backend::cpu(), 0, 8), Error);
}

// One context in the cache serves several continuations: copied into other slots, or
// kept in place and the continuation truncated away; either way the logits are those
// of the whole sequence recomputed.
TEST(KvCache, SharedPrefixCopiedOrTruncatedEqualsRecomputation) {
  infer_test::Fixture f;
  const int64_t V = infer_test::tiny().vocab_size;
  std::vector<int32_t> ctx = {5, 17, 3, 88, 41}, a = {2, 60, 7}, b = {9, 30};
  infer::KvCache kv(infer_test::tiny(), backend::cpu(), 2, 16);
  infer::Decoder dec(f.w, kv);
  const int32_t s0 = kv.acquire(), s1 = kv.acquire();
  std::vector<infer::Chunk> prefill = {{s0, ctx}};
  dec.forward(prefill);
  kv.copy_prefix(s0, s1, static_cast<int64_t>(ctx.size()));
  std::vector<infer::Chunk> conts = {{s0, a}, {s1, b}};
  auto got = dec.forward_host(conts, true);
  auto whole = [&](const std::vector<int32_t>& cont) {
    std::vector<int32_t> seq = ctx;
    seq.insert(seq.end(), cont.begin(), cont.end());
    return infer_test::full_logits(f.w, seq);
  };
  auto ref_a = whole(a), ref_b = whole(b);
  const int64_t n = static_cast<int64_t>(ctx.size());
  EXPECT_LT(infer_test::max_abs_diff(got.data(), ref_a.data() + n * V, 3 * V), 1e-4);
  EXPECT_LT(infer_test::max_abs_diff(got.data() + 3 * V, ref_b.data() + n * V, 2 * V), 1e-4);
  kv.truncate(s0, n);
  std::vector<infer::Chunk> again = {{s0, b}};
  auto got_b = dec.forward_host(again, true);
  EXPECT_LT(infer_test::max_abs_diff(got_b.data(), ref_b.data() + n * V, 2 * V), 1e-4);
  EXPECT_THROW(kv.truncate(s0, n + 3), Error);
  EXPECT_THROW(kv.copy_prefix(s0, s1, n + 3), Error);
}

}  // namespace kv_cache_test
