#include <gtest/gtest.h>

#include <set>

#include "../temp_dir.h"

#include "kormo/data/decontam.h"
#include "kormo/data/dedup.h"
#include "kormo/util/io.h"
#include "kormo/util/hash.h"
#include "kormo/util/rng.h"

namespace kormo::data {
namespace dedup_decontam_test {

std::string random_word(Rng& rng) {
  static const char* syll[] = {"ka", "ro", "mi", "tu", "sen", "bal", "do", "ri", "han", "gul", "pe", "zo", "lin", "qua"};
  std::string w;
  int n = 2 + static_cast<int>(rng.below(3));
  for (int i = 0; i < n; ++i) w += syll[rng.below(14)];
  return w + std::to_string(rng.below(1000));
}

double jaccard(const std::string& a, const std::string& b, int n) {
  auto sa = shingles(dedup_normal_form(a), n), sb = shingles(dedup_normal_form(b), n);
  std::set<uint64_t> A(sa.begin(), sa.end()), B(sb.begin(), sb.end()), U = A;
  U.insert(B.begin(), B.end());
  size_t inter = 0;
  for (auto x : A) inter += B.count(x);
  return double(inter) / U.size();
}

// Planted near-duplicates: each base document gets one variant with k words
// replaced; the true shingle Jaccard of every pair is measured, and default
// parameters must find >= 90% of pairs at J >= 0.8 and merge <= 1% at J <= 0.5.
TEST(NearDup, PlantedSetRecallAndFalsePositives) {
  Rng rng(42);
  MinHashParams p;  // defaults: 5-gram shingles, 14 bands x 8 rows
  std::vector<std::string> docs;
  std::vector<double> pair_j;
  const int bases = 300;
  for (int i = 0; i < bases; ++i) {
    std::vector<std::string> w(200);
    for (auto& x : w) x = random_word(rng);
    std::string base;
    for (auto& x : w) base += x + " ";
    // Half the pairs are close (0-4 words edited), half far (13-40).
    int k = i % 2 == 0 ? static_cast<int>(rng.below(5)) : 13 + static_cast<int>(rng.below(28));
    for (int e = 0; e < k; ++e) w[rng.below(w.size())] = random_word(rng);
    std::string var;
    for (auto& x : w) var += x + " ";
    pair_j.push_back(jaccard(base, var, p.ngram));
    docs.push_back(base);
    docs.push_back(var);
  }
  std::vector<uint64_t> exact(docs.size(), 0);
  std::vector<uint32_t> sigs;
  for (const auto& d : docs) {
    auto s = minhash_signature(shingles(dedup_normal_form(d), p.ngram), p);
    sigs.insert(sigs.end(), s.begin(), s.end());
  }
  DedupResult r = cluster_duplicates(exact, sigs, p);
  size_t hi = 0, hi_found = 0, lo = 0, lo_merged = 0;
  for (int i = 0; i < bases; ++i) {
    bool merged = r.keeper[2 * i + 1] == r.keeper[2 * i];
    if (pair_j[i] >= 0.8) ++hi, hi_found += merged;
    if (pair_j[i] <= 0.5) ++lo, lo_merged += merged;
    EXPECT_EQ(r.keeper[2 * i], static_cast<size_t>(2 * i));  // the first (the base) is kept
  }
  ASSERT_GE(hi, 100u);
  ASSERT_GE(lo, 100u);
  EXPECT_GE(double(hi_found) / hi, 0.9) << hi_found << "/" << hi;
  EXPECT_LE(double(lo_merged) / lo, 0.01) << lo_merged << "/" << lo;
  // No document merges with another base's documents.
  for (size_t d = 0; d < docs.size(); ++d) EXPECT_EQ(r.keeper[d] / 2, d / 2);
}

TEST(Dedup, ExactDuplicatesKeepFirstAndCountCluster) {
  std::vector<std::string> docs = {"Hello, World!", "another text", "hello world", "HELLO   world."};
  std::vector<uint64_t> exact;
  for (auto& d : docs) exact.push_back(xxh3_64(dedup_normal_form(d)) | 1);
  DedupResult r = cluster_duplicates(exact, {}, MinHashParams{});
  EXPECT_EQ(r.keeper, (std::vector<size_t>{0, 1, 0, 0}));
  EXPECT_EQ(r.cluster_size[0], 3u);
  EXPECT_TRUE(r.exact[2]);
}

TEST(Decontam, CatchesPastedBenchmarkItemLeavesUnrelatedText) {
  std::string shared = KORMO_SHARED_DATA;
  DecontamIndex idx;
  EXPECT_GT(idx.add_file(shared + "/bench/en/llmfoundry/arc_easy.jsonl"), 1000u);
  EXPECT_GT(idx.add_file(shared + "/bench/ko/kobest/BoolQ/dev.tsv"), 1000u);
  std::string book = read_file(shared + "/corpora/en/gutenberg/Treasure-Island_120.txt").substr(20000, 30000);
  EXPECT_EQ(idx.match(book).ngrams, 0u);
  std::string pasted = book.substr(0, 15000) +
                       " Question: Which piece of safety equipment is used to keep mold spores from entering the "
                       "respiratory system? " +
                       book.substr(15000);
  auto m = idx.match(pasted);
  EXPECT_GT(m.ngrams, 0u);
  EXPECT_NE(m.first_file.find("arc_easy"), std::string::npos);
  // A KoBEST BoolQ passage pasted into Korean text.
  LineReader r(shared + "/bench/ko/kobest/BoolQ/dev.tsv");
  std::string_view line;
  r.next(line);  // header
  r.next(line);
  std::string row(line);
  std::string passage = row.substr(row.find('\t') + 1);
  passage = passage.substr(0, passage.find('\t'));
  std::string ko = "오늘 읽은 글을 정리한다. " + passage + " 이상으로 정리를 마친다.";
  EXPECT_GT(idx.match(ko).ngrams, 0u);
  EXPECT_EQ(idx.match("오늘 읽은 글을 정리한다. 전혀 관계없는 내용으로 긴 문장을 여러 개 씁니다. 이상으로 정리를 마친다.").ngrams, 0u);
}

class DecontamFiles : public TempDirTest {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    write_file_atomic(path, text);
    return path;
  }
};

// Korean eojeol are long: a KoBEST-size item has 3-7 words, under any word
// minimum sized for English. The default rule still catches it, with other
// spacing and punctuation, and leaves a near miss (same start, other ending)
// and a document sharing only its words alone.
TEST_F(DecontamFiles, ShortKoreanItemCaughtNearMissNot) {
  DecontamIndex idx;
  EXPECT_GT(idx.add_file(write("copa.tsv", "ID\tsentence\tAnswer\n1\t남자는 토스트가 타는 냄새를 맡았다.\t2\n")), 0u);
  const std::string before = "아침에 일어나 부엌으로 갔다. ", after = " 그래서 창문을 열었다.";
  EXPECT_GT(idx.match(before + "남자는 토스트가 타는 냄새를 맡았다." + after).ngrams, 0u);
  EXPECT_GT(idx.match(before + "남자는 토스트가 타는냄새를 맡았다!" + after).ngrams, 0u);
  EXPECT_EQ(idx.match(before + "남자는 토스트가 타는 소리를 들었다." + after).ngrams, 0u);
  EXPECT_EQ(idx.match(before + "토스트 냄새를 맡았다. 남자는 타는 줄 몰랐다." + after).ngrams, 0u);
}

// Non-Korean segments keep the word rule: a short English item stays below it.
TEST_F(DecontamFiles, WordRuleForOtherScripts) {
  DecontamIndex idx;
  idx.add_file(write("en.jsonl", "{\"q\":\"the cat sat on the mat today\",\"long\":\"" +
                                     std::string("one two three four five six seven eight nine ten eleven twelve "
                                                 "thirteen fourteen") +
                                     "\"}\n"));
  EXPECT_EQ(idx.match("yes the cat sat on the mat today indeed").ngrams, 0u);
  EXPECT_GT(idx.match("so one two three four five six seven eight nine ten eleven twelve thirteen").ngrams, 0u);
}

// An evaluation file that yields nothing to check against would pass every
// document: an error naming the file instead.
TEST_F(DecontamFiles, EvalFileWithoutTextIsAnError) {
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"empty.jsonl", ""}, {"numbers.tsv", "ID\tLabel\n1\t0\n2\t1\n"}, {"numbers.jsonl", "{\"a\":1}\n[2]\n"},
           {"header_only.csv", "question,answer\n"}}) {
    DecontamIndex idx;
    std::string path = write(name, text);
    try {
      idx.add_file(path);
      ADD_FAILURE() << name << " accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(path + ": no evaluation text"), std::string::npos) << e.what();
    }
  }
}

}  // namespace dedup_decontam_test

}  // namespace kormo::data
