#include "kormo/tok/train_tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "../temp_dir.h"

namespace fs = std::filesystem;
using namespace kormo;
using namespace kormo::tok;

namespace train_tokenizer_test {

const std::string kText = std::string(KORMO_SHARED_DATA) + "/corpora/en/gutenberg/The-Time-Machine_35.txt";

class TokenizerConfig : public TempDirTest {
 protected:
  // Reads [tokenizer] from a config file, as `kormo run` does.
  TokenizerTrainConfig read(const std::string& keys) {
    const std::string path = (dir_ / "run.toml").string();
    write_file_atomic(path, "[tokenizer]\n" + keys + "\n");
    toml::table root = load_toml(path);
    ConfigSection sec(root["tokenizer"].as_table(), path + " [tokenizer]");
    return tokenizer_train_config_from_section(sec, {"in.jsonl"}, "out");
  }

  std::string error_of(const std::string& keys) {
    try {
      read(keys);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(TokenizerConfig, DefaultsAreTheFlagDefaults) {
  TokenizerTrainConfig c = read("");
  TokenizerTrainConfig d;
  EXPECT_EQ(c.inputs, std::vector<std::string>{"in.jsonl"});
  EXPECT_EQ(c.out_dir, "out");
  EXPECT_EQ(c.bpe.vocab_size, d.bpe.vocab_size);
  EXPECT_EQ(c.bpe.specials.all(), d.bpe.specials.all());
  EXPECT_TRUE(c.corpus.mix.empty());
  EXPECT_EQ(c.corpus.format, InputFormat::kAuto);
  EXPECT_EQ(c.model_max_length, 4096);
}

TEST_F(TokenizerConfig, ReadsEveryKey) {
  TokenizerTrainConfig c = read(R"(vocab_size = 8192
mix = "ko=0.6,en=0.4"
max_memory = "2G"
max_input_bytes = "10M"
threads = 3
format = "text"
on_invalid = "fail"
text_field = "content"
lang_field = "language"
special = ["<s>", "</s>", "<pad>", "<bot>", "<t>", "</t>", "<tool>"]
model_max_length = 2048)");
  EXPECT_EQ(c.bpe.vocab_size, 8192u);
  ASSERT_EQ(c.corpus.mix.size(), 2u);
  EXPECT_EQ(c.corpus.mix[0], (std::pair<std::string, double>{"ko", 0.6}));
  EXPECT_EQ(c.corpus.max_memory, 2ull << 30);
  EXPECT_EQ(c.corpus.max_input_bytes, 10ull << 20);
  EXPECT_EQ(c.corpus.threads, 3);
  EXPECT_EQ(c.corpus.format, InputFormat::kText);
  EXPECT_EQ(c.corpus.on_invalid, OnInvalid::kFail);
  EXPECT_EQ(c.corpus.text_field, "content");
  EXPECT_EQ(c.corpus.lang_field, "language");
  EXPECT_EQ(c.bpe.specials.bos, "<s>");
  EXPECT_EQ(c.bpe.specials.think_end, "</t>");
  EXPECT_EQ(c.bpe.specials.extra, std::vector<std::string>{"<tool>"});
  EXPECT_EQ(c.model_max_length, 2048);
}

TEST_F(TokenizerConfig, FewerSpecialsLeaveLaterRolesEmpty) {
  TokenizerTrainConfig c = read(R"(special = ["<s>", "</s>"])");
  EXPECT_EQ(c.bpe.specials.eot, "</s>");
  EXPECT_EQ(c.bpe.specials.pad, "");
  EXPECT_EQ(c.bpe.specials.think_end, "");
}

TEST_F(TokenizerConfig, UnknownKeyNamesFileAndKey) {
  std::string err = error_of("vocab_sise = 8192");
  EXPECT_NE(err.find((dir_ / "run.toml").string() + " [tokenizer]"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key(s) vocab_sise"), std::string::npos) << err;
  EXPECT_NE(err.find("vocab_size"), std::string::npos) << err;  // among the accepted keys
}

TEST_F(TokenizerConfig, BadValuesNameFileLineAndKey) {
  const std::string at = (dir_ / "run.toml").string() + " [tokenizer] (line 2): ";
  EXPECT_EQ(error_of("mix = \"ko\""), at + "'mix': 'ko' is not a language mix (expected LANG=WEIGHT[,LANG=WEIGHT...])");
  EXPECT_EQ(error_of("max_memory = \"2Q\""), at + "'max_memory': '2Q' is not a size (unknown unit 'Q'; use k, M, G, T)");
  EXPECT_EQ(error_of("format = \"csv\""), at + "'format': 'csv' is not an input format (expected auto, text or jsonl)");
  EXPECT_EQ(error_of("vocab_size = 10"), at + "'vocab_size': 10 is outside [1000, 262144]");
  EXPECT_EQ(error_of("vocab_size = \"8K\""), at + "'vocab_size' must be an integer");
}

TEST_F(TokenizerConfig, TrainsTheSameTokenizerOnAnyThreadCount) {
  TokenizerTrainConfig c;
  c.inputs = {kText};
  c.bpe.vocab_size = 1200;
  c.corpus.threads = 1;
  c.out_dir = (dir_ / "t1").string();
  TokenizerTrainSummary s = train_tokenizer(c);
  EXPECT_EQ(s.vocab_size, 1200u);
  EXPECT_EQ(s.merges, 1200u - 256 - 6);
  EXPECT_GT(s.documents, 1000u);
  c.corpus.threads = 2;
  c.out_dir = (dir_ / "t2").string();
  train_tokenizer(c);
  EXPECT_EQ(read_file((dir_ / "t1/tokenizer.json").string()), read_file((dir_ / "t2/tokenizer.json").string()));
  EXPECT_TRUE(fs::exists(dir_ / "t1/tokenizer_config.json"));
}

TEST_F(TokenizerConfig, NoTextIsAnErrorAndWritesNothing) {
  write_file_atomic((dir_ / "empty.txt").string(), "");
  TokenizerTrainConfig c;
  c.inputs = {(dir_ / "empty.txt").string()};
  c.out_dir = (dir_ / "t").string();
  EXPECT_THROW(train_tokenizer(c), Error);
  EXPECT_FALSE(fs::exists(dir_ / "t/tokenizer.json"));
}

}  // namespace train_tokenizer_test
