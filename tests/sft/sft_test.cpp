#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "kormo/model/runner.h"
#include "kormo/model/weights.h"
#include "kormo/sft/conversation.h"
#include "kormo/sft/packing.h"
#include "kormo/sft/render.h"
#include "kormo/tok/chat_template.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"

namespace kormo::sft {
namespace sft_test {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// Byte tokens plus KORMo's specials, saved with the chat template kormo writes.
struct Tok {
  tok::Tokenizer tok = tok::Tokenizer::from_merges({}, {});
  std::string dir;
  Tok() {
    dir = (fs::temp_directory_path() / ("kormo_sft_test_" + std::to_string(::getpid()))).string();
    tok.save(dir);
  }
  ~Tok() { fs::remove_all(dir); }
};

const Tok& tk() {
  static const Tok t;
  return t;
}

Conversation conv(const std::string& line) {
  Rejects r;
  auto c = parse_conversation(line, "mem.jsonl", 1, r);
  EXPECT_TRUE(c.has_value()) << r.jsonl();
  return *c;
}

// The text of the trained tokens, with "|" where a trained run ends.
std::string trained_text(const Rendered& r, const tok::Tokenizer& t) {
  std::string out;
  for (size_t j = 0; j < r.ids.size(); ++j) {
    if (r.trained[j]) out += t.token_bytes(r.ids[j]);
    if (r.trained[j] && (j + 1 == r.ids.size() || !r.trained[j + 1])) out += "|";
  }
  return out;
}

const char* kReasoned =
    R"({"conversation": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},)"
    R"( {"role": "assistant", "content": "4입니다.", "reasoning_content": "two and two"},)"
    R"( {"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "6."}]})";
const char* kPlain =
    R"({"messages": [{"role": "user", "content": "안녕?"}, {"role": "assistant", "content": "Hello."}]})";

TEST(SftRender, MaskIsExactlyTheAssistantTurnsWithReasoningWhenOn) {
  const auto tmpl = tok::ChatTemplate::load(tk().dir);
  const Rendered r = render_conversation(conv(kReasoned), tmpl, tk().tok, Thinking::kOn);
  EXPECT_EQ(r.text,
            "<|BOT|>system\nBe brief.<|EOT|><|BOT|>user\n2+2?<|EOT|><|BOT|>assistant\n<think>two and two</think>"
            "4입니다.<|EOT|><|BOT|>user\n3+3?<|EOT|><|BOT|>assistant\n6.<|EOT|>");
  EXPECT_EQ(trained_text(r, tk().tok), "<think>two and two</think>4입니다.<|EOT|>|6.<|EOT|>|");
  EXPECT_TRUE(r.thinking);
  // ids are the plain encoding of the rendering (what apply_chat_template(tokenize=True) gives).
  EXPECT_EQ(r.ids, tk().tok.encode(r.text, {.allow_special = true}));
}

TEST(SftRender, OffDropsReasoningAndHybridDecidesPerConversation) {
  const auto tmpl = tok::ChatTemplate::load(tk().dir);
  const Rendered off = render_conversation(conv(kReasoned), tmpl, tk().tok, Thinking::kOff);
  EXPECT_EQ(off.text.find("<think>"), std::string::npos);
  EXPECT_EQ(off.text.find("two and two"), std::string::npos);
  EXPECT_EQ(trained_text(off, tk().tok), "4입니다.<|EOT|>|6.<|EOT|>|");
  EXPECT_FALSE(off.thinking);
  const Rendered hybrid_reasoned = render_conversation(conv(kReasoned), tmpl, tk().tok, Thinking::kHybrid);
  EXPECT_TRUE(hybrid_reasoned.thinking);
  EXPECT_EQ(trained_text(hybrid_reasoned, tk().tok), "<think>two and two</think>4입니다.<|EOT|>|6.<|EOT|>|");
  const Rendered hybrid_plain = render_conversation(conv(kPlain), tmpl, tk().tok, Thinking::kHybrid);
  EXPECT_FALSE(hybrid_plain.thinking);
  EXPECT_EQ(trained_text(hybrid_plain, tk().tok), "Hello.<|EOT|>|");
}

TEST(SftRender, TemplateWhoseGenerationPromptIsNotAPrefixIsAnErrorNamingTheTurn) {
  const tok::ChatTemplate odd(
      "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}"
      "{% if add_generation_prompt %}{{ 'ASSISTANT: ' }}{% endif %}",
      nlohmann::json::object());
  try {
    render_conversation(conv(kPlain), odd, tk().tok, Thinking::kOff);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mem.jsonl:1: turn 2"), std::string::npos) << e.what();
  }
}

TEST(SftConversation, BadLinesAreCountedWithFileAndLine) {
  const std::string path = std::string(KORMO_TEST_DIR) + "/fixtures/sft/bad.jsonl";
  Rejects r;
  const auto convs = read_conversations(path, "bad", r);
  ASSERT_EQ(convs.size(), 3u);  // lines 1, 6 (too long, but only SFT knows the context) and 8
  EXPECT_EQ(convs[0].where, path + ":1");
  EXPECT_EQ(convs[1].where, path + ":6");
  EXPECT_EQ(convs[2].where, path + ":8");
  EXPECT_EQ(r.total(), 5);
  const std::map<std::string, int64_t> want = {{"bad_field", 1},    {"malformed", 1},
                                               {"no_assistant_turn", 1}, {"reasoning_not_assistant", 1},
                                               {"unknown_role", 1}};
  EXPECT_EQ(r.counts, want);
  std::map<std::string, std::string> where;
  for (const auto& e : r.entries) where[e.reason] = e.where;
  EXPECT_EQ(where["no_assistant_turn"], path + ":2");
  EXPECT_EQ(where["unknown_role"], path + ":3");
  EXPECT_EQ(where["reasoning_not_assistant"], path + ":4");
  EXPECT_EQ(where["malformed"], path + ":5");
  EXPECT_EQ(where["bad_field"], path + ":7");
}

// Item k: ids 100k, 100k+1, …; every token after the first trained except the second.
std::vector<Item> numbered_items(int n, int64_t max_len) {
  std::vector<Item> items;
  for (int k = 0; k < n; ++k) {
    Item it;
    const int64_t len = 2 + (k * 7) % (max_len - 1);
    for (int64_t j = 0; j < len; ++j) it.ids.push_back(static_cast<int32_t>(100 * k + j));
    it.trained.assign(it.ids.size(), 1);
    it.trained[0] = 0;
    it.trained[1] = 0;
    items.push_back(std::move(it));
  }
  return items;
}

TEST(SftPacking, RowsHoldWholeConversationsAndNoTargetCrossesThem) {
  PackOptions o{.batch_size = 3, .seq_len = 16, .pad_id = 5, .seed = 9};
  SampledSource src(numbered_items(12, 17), std::vector<double>(12, 1.0), o);
  int64_t segments = 0;
  for (int step = 0; step < 20; ++step) {
    const shard::LoadedBatch b = src.next();
    for (int64_t row = 0; row < o.batch_size; ++row) {
      const int64_t base = row * o.seq_len;
      for (int64_t t = 0; t < o.seq_len; ++t) {
        const int32_t in = b.batch.inputs[base + t], tg = b.batch.targets[base + t];
        const bool starts = t == 0 || b.batch.doc[base + t] != b.batch.doc[base + t - 1];
        // A segment starts with its conversation's first token (or is padding).
        if (starts) {
          EXPECT_TRUE(in % 100 == 0 || in == 5) << "row " << row << " t " << t;
          segments += in != 5;
        } else if (in != 5) {
          EXPECT_EQ(in, b.batch.inputs[base + t - 1] + 1) << "a conversation is split";
        }
        const bool last_of_segment = t + 1 < o.seq_len && b.batch.doc[base + t] != b.batch.doc[base + t + 1];
        if (last_of_segment || in == 5) {
          EXPECT_EQ(tg, -100) << "a target crosses conversations";
        }
        if (tg >= 0) {
          EXPECT_EQ(tg, in + 1);
          EXPECT_GE(tg % 100, 2) << "an untrained token is a target";
        }
        EXPECT_EQ(b.loss_weight[base + t], tg >= 0 ? 1.f : 0.f);
      }
    }
  }
  EXPECT_GT(segments, 60);
}

TEST(SftPacking, OverlongItemIsRefused) {
  EXPECT_THROW((SampledSource(numbered_items(3, 30), {1, 1, 1}, PackOptions{.batch_size = 1, .seq_len = 8})), Error);
}

TEST(SftPacking, StateRestoreContinuesExactlyAndRanksSplitTheGlobalBatch) {
  const PackOptions o{.batch_size = 2, .seq_len = 16, .pad_id = 5, .seed = 3};
  const std::vector<double> w = {1, 2, 3, 4, 5, 6, 7, 8};
  SampledSource a(numbered_items(8, 17), w, o);
  for (int i = 0; i < 3; ++i) a.next();
  SampledSource b(numbered_items(8, 17), w, o);
  b.restore(a.state());
  for (int i = 0; i < 4; ++i) {
    const auto x = a.next(), y = b.next();
    EXPECT_EQ(x.batch.inputs, y.batch.inputs);
    EXPECT_EQ(x.batch.targets, y.batch.targets);
    EXPECT_EQ(x.batch.doc, y.batch.doc);
  }
  EXPECT_EQ(a.state(), b.state());
  SampledSource other(numbered_items(7, 17), {1, 2, 3, 4, 5, 6, 7}, o);
  EXPECT_THROW(other.restore(a.state()), Error);

  PackOptions r0 = o, r1 = o, global = o;
  r0.world = r1.world = 2, r1.rank = 1, global.batch_size = 4;
  SampledSource s0(numbered_items(8, 17), w, r0), s1(numbered_items(8, 17), w, r1), g(numbered_items(8, 17), w, global);
  for (int i = 0; i < 3; ++i) {
    auto x0 = s0.next(), x1 = s1.next(), xg = g.next();
    x0.batch.inputs.insert(x0.batch.inputs.end(), x1.batch.inputs.begin(), x1.batch.inputs.end());
    EXPECT_EQ(x0.batch.inputs, xg.batch.inputs);
    EXPECT_EQ(s0.state(), g.state());
  }
}

TEST(SftPacking, SamplingFollowsTheWeights) {
  std::vector<Item> items = numbered_items(2, 3);
  SampledSource src(std::move(items), {1.0, 3.0}, PackOptions{.batch_size = 4, .seq_len = 8, .pad_id = 5, .seed = 1});
  double first = 0, total = 0;
  for (int i = 0; i < 200; ++i) {
    const auto b = src.next();
    for (size_t t = 0; t < b.batch.inputs.size(); ++t) {
      const bool starts = t % 8 == 0 || b.batch.doc[t] != b.batch.doc[t - 1];
      if (!starts || b.batch.inputs[t] == 5) continue;
      first += b.batch.inputs[t] == 0, total += 1;
    }
  }
  EXPECT_NEAR(first / total, 0.25, 0.03);
}

// Gradients of one SFT batch: targets outside the assistant spans get exactly zero
// gradient, whatever their ids.
std::vector<float> grads_of(const model::Weights& w, const Batch& b, const std::vector<float>& weight) {
  model::Runner r(w, model::Runner::Mode::kTraining);
  r.zero_grads();
  r.forward(b);
  r.backward(b, weight);
  return std::vector<float>(r.grads(), r.grads() + w.size());
}

TEST(SftMasking, TokensOutsideAssistantTurnsGetExactlyZeroGradient) {
  const auto tmpl = tok::ChatTemplate::load(tk().dir);
  std::vector<Item> items;
  for (const char* line : {kReasoned, kPlain}) {
    const Rendered r = render_conversation(conv(line), tmpl, tk().tok, Thinking::kOff);
    items.push_back(Item{r.ids, r.trained, 1, 1.f});
  }
  const auto batches = pack_in_order(items, PackOptions{.batch_size = 1, .seq_len = 160, .pad_id = 258});
  ASSERT_EQ(batches.size(), 1u);
  model::ModelConfig c;
  c.vocab_size = 270, c.hidden_size = 32, c.intermediate_size = 64, c.num_layers = 2, c.num_heads = 4;
  c.num_kv_heads = 2, c.head_dim = 8, c.max_seq_len = 160, c.init_std = 0.2;
  model::Weights w(c, backend::cpu());
  w.init_random(4);
  const Batch& sft = batches[0].batch;
  double n = 0;
  for (float x : batches[0].loss_weight) n += x;
  ASSERT_GT(n, 4);
  std::vector<float> weight(batches[0].loss_weight.size());
  for (size_t i = 0; i < weight.size(); ++i) weight[i] = batches[0].loss_weight[i] / static_cast<float>(n);
  const std::vector<float> g = grads_of(w, sft, weight);
  // Every untrained position given a real target (two different ones): weight 0 keeps
  // the gradients bit-identical.
  for (int32_t filler : {7, 200}) {
    Batch full = sft;
    for (size_t i = 0; i < full.targets.size(); ++i)
      if (weight[i] == 0) full.targets[i] = filler;
    EXPECT_EQ(grads_of(w, full, weight), g) << "filler " << filler;
  }
  // …while changing one assistant target does change them (the check can fail).
  Batch changed = sft;
  for (size_t i = 0; i < changed.targets.size(); ++i)
    if (weight[i] > 0) {
      changed.targets[i] = (changed.targets[i] + 1) % 256;
      break;
    }
  EXPECT_NE(grads_of(w, changed, weight), g);
}

}  // namespace sft_test

}  // namespace kormo::sft
