#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "../temp_dir.h"
#include "kormo/data/classifier.h"
#include "kormo/data/words.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

using namespace kormo;
using nlohmann::json;

using ClassifierTest = TempDirTest;

TEST(FastTextLine, SeparatorsBecomeSpacesAndLabelsCannotBePlanted) {
  EXPECT_EQ(data::fasttext_line("a\nb\tc\r\nd\v\fe"), "a b c  d  e");
  EXPECT_EQ(data::fasttext_line(std::string("x\0y", 3)), "x y");
  EXPECT_EQ(data::fasttext_line("__label__bad text"), "_label__bad text");
  EXPECT_EQ(data::fasttext_line("see\n__label__x and a__label__y"), "see _label__x and a__label__y");
  EXPECT_EQ(data::fasttext_line("한국어 Text"), "한국어 Text");  // no lower-casing
  // Idempotent: scoring a line that was already prepared changes nothing.
  std::string once = data::fasttext_line("__label__a\n___label__b");
  EXPECT_EQ(data::fasttext_line(once), once);
}

namespace classifier_test {

// Paragraphs of real English and Korean prose from ../shared/data.
std::vector<std::string> prose() {
  std::vector<std::string> out;
  std::string shared = KORMO_SHARED_DATA;
  for (const char* f : {"/corpora/en/gutenberg/Treasure-Island_120.txt", "/corpora/en/gutenberg/The-Time-Machine_35.txt"}) {
    std::string text = read_file(shared + f), para;
    for (auto line : data::split_lines(text)) {
      if (data::trim(line).empty()) {
        if (data::split_words(para).size() >= 20) out.push_back(para);
        para.clear();
      } else {
        para += (para.empty() ? "" : " ") + std::string(line);
      }
    }
  }
  return out;
}

// The planted "bad" version of a paragraph: its own words in random order with
// a fifth of them replaced by spam vocabulary, the way keyword-stuffed pages read.
std::string spam(const std::string& para, std::mt19937& rng) {
  static const std::vector<std::string> kSpam = {"casino", "bonus",  "click", "free",  "download", "cheap",
                                                 "loan",   "crypto", "무료",  "할인", "대출",     "바로가기"};
  std::vector<std::string> words;
  for (const auto& w : data::split_words(para)) words.emplace_back(w.text);
  std::shuffle(words.begin(), words.end(), rng);
  std::string out;
  for (auto& w : words) {
    if (rng() % 5 == 0) w = kSpam[rng() % kSpam.size()];
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

// A classifier trained here separates planted keyword-stuffed word salad from
// the prose it was made of: precision and recall of both classes >= 0.95 on
// the held-out tenth (measured when written: 145 documents, precision = recall
// = 0.985 for the prose and 0.987 for the salad).
TEST_F(ClassifierTest, SeparatesAPlantedSplit) {
  std::vector<std::string> paras = prose();
  ASSERT_GT(paras.size(), 800u);
  std::mt19937 rng(7);
  std::string good, bad;
  for (size_t i = 0; i < paras.size(); ++i) {
    // Different paragraphs on each side, so the model cannot match a bad
    // document to its good twin.
    if (i % 2 == 0) good += json{{"text", paras[i]}}.dump() + "\n";
    else bad += json{{"text", spam(paras[i], rng)}}.dump() + "\n";
  }
  write_file_atomic((dir_ / "good.jsonl").string(), good);
  write_file_atomic((dir_ / "bad.jsonl").string(), bad);
  data::ClassifierTrainOptions o;
  o.positive = {(dir_ / "good.jsonl").string()};
  o.negative = {(dir_ / "bad.jsonl").string()};
  o.output = (dir_ / "q.bin").string();
  o.dim = 16;
  o.bucket = 50000;
  json r = data::train_classifier(o);
  ASSERT_TRUE(r.contains("valid_metrics")) << r.dump();
  const json& m = r["valid_metrics"];
  EXPECT_GT(m["documents"].get<int>(), 60) << r.dump();
  for (const char* l : {"pos", "neg"}) {
    EXPECT_GE(m["labels"][l]["precision"].get<double>(), 0.95) << r.dump();
    EXPECT_GE(m["labels"][l]["recall"].get<double>(), 0.95) << r.dump();
  }
  EXPECT_FALSE(std::filesystem::exists(o.output + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(o.output + ".train-input.tmp"));

  data::FastTextModel model(o.output);
  EXPECT_EQ(model.labels().size(), 2u);
  double p_good = model.probability(paras[0], "pos"), p_bad = model.probability(spam(paras[0], rng), "pos");
  EXPECT_GT(p_good, 0.5);
  EXPECT_LT(p_bad, 0.5);
  double sum = 0;
  for (const auto& [l, p] : model.predict(paras[0])) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-4);  // fastText's +1e-5 per label, and float rounding
}

TEST_F(ClassifierTest, TrainingInputErrorsNameFileAndLine) {
  std::string f = (dir_ / "l.jsonl").string();
  write_file_atomic(f, "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"}\n");
  data::ClassifierTrainOptions o;
  o.labelled = {f};
  o.output = (dir_ / "m.bin").string();
  try {
    data::train_classifier(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(f + ":2: expected a label in field \"label\""), std::string::npos) << e.what();
  }
  write_file_atomic(f, "{\"text\":\"a\",\"label\":\"two words\"}\n");
  EXPECT_THROW(data::train_classifier(o), Error);
  // One class only: nothing to learn.
  write_file_atomic(f, "{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":1}\n");
  o.valid_fraction = 0;
  try {
    data::train_classifier(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least two"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.output));
}

TEST_F(ClassifierTest, BadModelFilesAndConfigsAreErrors) {
  std::string junk = (dir_ / "junk.bin").string();
  write_file_atomic(junk, "not a model at all");
  try {
    data::FastTextModel m(junk);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(junk + ": not a fastText model"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::FastTextModel((dir_ / "missing.bin").string()), Error);

  std::string f = (dir_ / "l.jsonl").string();
  std::string lines;
  for (int i = 0; i < 50; ++i) lines += json{{"text", "good words " + std::to_string(i)}, {"label", i % 2 ? "a" : "b"}}.dump() + "\n";
  write_file_atomic(f, lines);
  data::ClassifierTrainOptions o;
  o.labelled = {f};
  o.output = (dir_ / "m.bin").string();
  data::train_classifier(o);
  auto read = [&](const std::string& toml) {
    toml::table t = load_toml("", toml);
    ConfigSection top(&t, "test.toml");
    return data::read_classifier_config(top);
  };
  auto steps = read("[classifier.q]\nmodel = \"" + o.output + "\"\nlabel = \"a\"\nmin_score = 0.3\n");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].name, "q");
  EXPECT_DOUBLE_EQ(steps[0].min_score, 0.3);
  for (const std::string& bad : std::vector<std::string>{"[classifier.q]\nmodel = \"" + o.output + "\"\nlabel = \"nope\"\n",
                                 "[classifier.q]\nmodel = \"" + o.output + "\"\nlabel = \"a\"\nmin_scor = 1\n",
                                 std::string("[classifier.q]\nlabel = \"a\"\n"), std::string("[classifier]\nq = 1\n"),
                                 "[classifier.q]\nmodel = \"" + o.output + "\"\nlabel = \"a\"\nmin_score = 0.9\nmax_score = 0.1\n"})
    EXPECT_THROW(read(bad), Error) << bad;
}

}  // namespace classifier_test
