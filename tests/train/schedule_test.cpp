#include <gtest/gtest.h>

#include <algorithm>

#include "kormo/train/optimizer.h"
#include "kormo/train/schedule.h"
#include "kormo/util/error.h"

using namespace kormo::train;

TEST(Schedule, WarmupStableDecay) {
  ScheduleConfig s;
  s.peak = 1e-3;
  s.total_steps = 1000;
  s.warmup_frac = 0.03;
  s.decay_frac = 0.2;
  s.min_ratio = 0.05;
  EXPECT_NEAR(lr_at(s, 0), 1e-3 / 30, 1e-12);
  EXPECT_NEAR(lr_at(s, 29), 1e-3, 1e-12);
  EXPECT_DOUBLE_EQ(lr_at(s, 500), 1e-3);
  EXPECT_DOUBLE_EQ(lr_at(s, 799), 1e-3);
  EXPECT_LT(lr_at(s, 900), 1e-3);
  EXPECT_NEAR(lr_at(s, 999), 0.05e-3, 1e-12);  // decay floor at the last step
}

TEST(Schedule, Cosine) {
  ScheduleConfig s;
  s.kind = "cosine";
  s.peak = 2.0;
  s.total_steps = 101;
  s.warmup_frac = 0.0;
  s.min_ratio = 0.1;
  EXPECT_DOUBLE_EQ(lr_at(s, 0), 2.0);
  EXPECT_NEAR(lr_at(s, 50), 1.1, 1e-9);
  EXPECT_NEAR(lr_at(s, 100), 0.2, 1e-9);
}

TEST(Schedule, RejectsBadSettings) {
  ScheduleConfig s;
  s.kind = "linear";
  EXPECT_THROW(validate(s, "x"), kormo::Error);
  s.kind = "wsd";
  s.warmup_frac = 0.9;
  s.decay_frac = 0.2;
  EXPECT_THROW(validate(s, "x"), kormo::Error);
}

TEST(Optimizer, AdamWDecaysOnlyMarkedTensors) {
  kormo::model::ModelConfig mc;
  mc.vocab_size = 4, mc.hidden_size = 2, mc.intermediate_size = 2, mc.num_layers = 1, mc.num_heads = 1,
  mc.num_kv_heads = 1, mc.head_dim = 2;
  kormo::model::Weights w(mc, kormo::backend::cpu());
  std::fill_n(w.data(), w.size(), 1.f);
  std::vector<float> g(static_cast<size_t>(w.size()), 0.f);
  AdamWConfig c;
  c.weight_decay = 0.1;
  AdamW opt(c, w);
  opt.step(w, g.data(), 0.5, 1);  // zero gradient: only decay moves weights
  const auto& L = w.layout();
  EXPECT_FLOAT_EQ(w.data()[L.embed], 1.f);           // embeddings: no decay
  EXPECT_FLOAT_EQ(w.data()[L.layers[0].ln1], 1.f);   // norms: no decay
  EXPECT_FLOAT_EQ(w.data()[L.layers[0].wq], 0.95f);  // linear weights decay
  EXPECT_FLOAT_EQ(w.data()[L.head], 0.95f);
  std::vector<float> g2 = {3.f, -4.f};
  EXPECT_DOUBLE_EQ(grad_norm(kormo::backend::cpu(), g2.data(), 2), 5.0);
}
