#include <gtest/gtest.h>

#include "kormo/model/config_io.h"
#include "kormo/model/layout.h"
#include "kormo/util/batch.h"
#include "kormo/util/error.h"

using namespace kormo::model;

static std::string src(const char* rel) { return std::string(KORMO_TEST_DIR) + "/../" + rel; }

TEST(ModelConfig, Kormo10BHasExactlyTheReleasedParameterCount) {
  ModelConfig c = load_model_config(src("configs/model/kormo-10b.toml"));
  EXPECT_EQ(num_parameters(c), 10756624384LL);
  EXPECT_EQ(c.num_kv_heads, 8);
  EXPECT_EQ(c.rope_theta, 500000.0);
}

TEST(ModelConfig, LayoutCoversTheFlatBufferInHfNames) {
  ModelConfig c = load_model_config(src("configs/model/tiny.toml"));
  ParameterLayout L = parameter_layout(c);
  const auto& t = L.tensors;
  EXPECT_EQ(L.total, num_parameters(c));
  EXPECT_EQ(L.layers.size(), static_cast<size_t>(c.num_layers));
  // Named offsets point at the tensors of those names.
  EXPECT_EQ(L.find("model.layers.1.self_attn.o_proj.weight").offset, L.layers[1].wo);
  EXPECT_EQ(L.find("lm_head.weight").offset, L.head);
  EXPECT_EQ(L.find("model.norm.weight").offset, L.norm);
  // The fused projections rely on adjacency.
  EXPECT_EQ(L.layers[0].wk, L.layers[0].wq + c.num_heads * c.head_dim * c.hidden_size);
  EXPECT_EQ(L.layers[0].wu, L.layers[0].wg + c.intermediate_size * c.hidden_size);
  EXPECT_THROW(L.find("model.layers.99.mlp.up_proj.weight"), kormo::Error);
  EXPECT_EQ(t.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(t[1].name, "model.layers.0.input_layernorm.weight");
  EXPECT_EQ(t.back().name, "lm_head.weight");
  EXPECT_EQ(t.back().offset + t.back().size, num_parameters(c));
  EXPECT_FALSE(t.front().decay);
  EXPECT_TRUE(t.back().decay);
  EXPECT_FALSE(t[t.size() - 2].decay);  // model.norm.weight
}

TEST(ModelConfig, HfJsonRoundTrip) {
  ModelConfig c = load_model_config(src("configs/model/proxy-1b.toml"));
  ModelConfig d = model_config_from_hf(model_config_to_hf(c), "config.json");
  EXPECT_EQ(num_parameters(c), num_parameters(d));
  EXPECT_EQ(d.head_dim, 128);
  EXPECT_EQ(d.num_kv_heads, 8);
}

TEST(ModelConfig, RejectsBadShapes) {
  ModelConfig c = load_model_config(src("configs/model/tiny.toml"));
  c.num_kv_heads = 4;  // 6 heads are not a multiple of 4
  EXPECT_THROW(validate(c, "x"), kormo::Error);
  auto j = model_config_to_hf(c);
  j.erase("hidden_size");
  EXPECT_THROW(model_config_from_hf(j, "config.json"), kormo::Error);
}

TEST(Model, DocIdsFromBos) {
  std::vector<int32_t> tok = {5, 0, 7, 8, 0, 9};
  auto d = kormo::doc_ids_from_bos(tok, 2, 3, 0);
  EXPECT_EQ(d, (std::vector<int32_t>{0, 1, 1, 0, 1, 1}));
}

TEST(ModelConfig, GpuPlanShardsMomentsAndTradesMemoryForRecompute) {
  ModelConfig c = load_model_config(src("configs/model/proxy-1b.toml"));
  GpuPlanOptions o;
  o.gpus = 8, o.batch = 2, o.seq = 4096;
  GpuPlan plain = plan_gpu(c, o);
  EXPECT_DOUBLE_EQ(plain.per_gpu.optimizer, 8.0 * num_parameters(c));  // two fp32 moments
  o.zero_stage = 1;
  GpuPlan zero = plan_gpu(c, o);
  EXPECT_DOUBLE_EQ(zero.per_gpu.optimizer, plain.per_gpu.optimizer / 8);
  o.recompute = true;
  GpuPlan rec = plan_gpu(c, o);
  // 16 layers keep one input each, and one layer's area serves them all.
  EXPECT_LT(rec.activations, plain.activations / 4);
  EXPECT_DOUBLE_EQ(rec.step_s, plain.step_s * 4 / 3);  // one more forward pass
  // step = FLOPs per GPU step / (peak × MFU); tokens/s counts every GPU.
  EXPECT_NEAR(plain.step_s, train_flops_per_token(c, 4096) * 2 * 4096 / (989e12 * 0.45), 1e-12);
  EXPECT_NEAR(plain.tokens_per_s, 8 * 2 * 4096 / plain.step_s, 1e-6);
  o.zero_stage = 3;
  EXPECT_THROW(plan_gpu(c, o), kormo::Error);
}

// Absurd shapes are a clear error naming the keys, never a wrapped or negative count.
TEST(ModelConfig, SizeOverflowIsAnErrorNamingTheKeys) {
  const ModelConfig ok = load_model_config(src("configs/model/tiny.toml"));
  auto message = [](const ModelConfig& c) {
    try {
      validate(c, "m.toml");
    } catch (const kormo::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  ModelConfig c = ok;
  c.vocab_size = int64_t{1} << 40;
  c.hidden_size = 1000000000;
  c.num_heads = c.num_kv_heads = 1, c.head_dim = 1000000000;
  EXPECT_NE(message(c).find("m.toml: model too large: "), std::string::npos) << message(c);
  EXPECT_THROW(num_parameters(c), kormo::Error);
  c = ok;
  c.vocab_size = int64_t{1} << 40;
  c.hidden_size = int64_t{1} << 24;
  EXPECT_NE(message(c).find("vocab_size × hidden_size"), std::string::npos) << message(c);
  c = ok;
  c.num_layers = int64_t{1} << 50;
  EXPECT_NE(message(c).find("num_layers × one layer's parameters"), std::string::npos) << message(c);
  c = ok;
  c.num_heads = c.num_kv_heads = int64_t{1} << 32, c.head_dim = int64_t{1} << 32;
  EXPECT_NE(message(c).find("num_heads × head_dim"), std::string::npos) << message(c);
  // Large but representable: 1e6 layers of the tiny shape is a valid (if useless) count.
  c = ok;
  c.num_layers = 1000000;
  EXPECT_EQ(message(c), "(no error)");
  EXPECT_GT(num_parameters(c), 0);
  // The memory estimate checks its own products: batch × seq tokens.
  EXPECT_THROW(estimate_memory(ok, int64_t{1} << 40, int64_t{1} << 40), kormo::Error);
  EXPECT_THROW(estimate_memory(ok, 0, 128), kormo::Error);
}
