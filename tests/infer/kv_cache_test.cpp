#include <gtest/gtest.h>

#include "kormo/infer/kv_cache.h"
#include "kormo/util/error.h"

using namespace kormo;

namespace {
model::ModelConfig tiny() {
  model::ModelConfig c;
  c.vocab_size = 32, c.hidden_size = 16, c.intermediate_size = 32, c.num_layers = 2, c.num_heads = 4,
  c.num_kv_heads = 2, c.head_dim = 4, c.max_seq_len = 64;
  return c;
}
}  // namespace

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
