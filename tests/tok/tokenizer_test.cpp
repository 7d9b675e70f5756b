#include "kormo/tok/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"
#include "kormo/tok/byte_level.h"
#include "kormo/tok/trainer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

using namespace kormo::tok;
namespace fs = std::filesystem;

namespace {

const std::string kData = KORMO_SHARED_DATA;

// A small bilingual tokenizer trained once from real text.
const Tokenizer& trained() {
  static const Tokenizer tok = [] {
    CorpusOptions co;
    co.text_field = "content";  // the petitions' field
    co.threads = 2;
    WordCounts wc = count_words({kData + "/corpora/ko/petitions/petitions_2019-05.jsonl",
                                 kData + "/corpora/en/gutenberg/Alice-s-Adventures-in-Wonderland_11.txt"},
                                co);
    BpeOptions bo;
    bo.vocab_size = 2000;
    return train_bpe(std::move(wc), bo);
  }();
  return tok;
}

std::string round_trip(const Tokenizer& t, const std::string& s, EncodeOptions o = {}) {
  return t.decode(t.encode(s, o));
}

}  // namespace

TEST(ByteLevel, MapsEveryByteAndBack) {
  for (int b = 0; b < 256; ++b) EXPECT_EQ(char_to_byte(byte_to_char(static_cast<uint8_t>(b))), b);
  EXPECT_EQ(byte_to_char(' '), U'\u0120');  // GPT-2's "Ġ"
  EXPECT_EQ(byte_to_char('A'), U'A');
  EXPECT_EQ(kByteOrder[0], '!');
  std::string bytes;
  ASSERT_TRUE(byte_level_to_bytes(bytes_to_byte_level("\xEA\xB0\x80 \n"), bytes));
  EXPECT_EQ(bytes, "\xEA\xB0\x80 \n");
  EXPECT_FALSE(byte_level_to_bytes("<|EOT|>\u4E00", bytes));  // not in the byte alphabet
}

TEST(Tokenizer, RoundTripsNfcText) {
  const Tokenizer& t = trained();
  const char* cases[] = {
      "안녕하세요, 세계! Hello, world.",
      "한자 漢字와 English가 섞인 문장 2024년 10월",
      "emoji 😀👍🏽 and flags 🇰🇷",
      "CRLF line\r\nnext line\r\n",
      "tabs\tand   spaces   ",
      "\x01\x02 control \x7F bytes",
      "conjoining jamo stays: \u1100\u1161\u11A8 after NFC",
      "ㅋㅋㅋ ㅠㅠ",
  };
  for (const char* c : cases) {
    std::string nfc = kormo::text::normalize(c, kormo::text::NormForm::kNFC);
    EXPECT_EQ(round_trip(t, c), nfc) << c;
  }
}

TEST(Tokenizer, NfcChangesInputButNotNormalizeOff) {
  const Tokenizer& t = trained();
  std::string decomposed = "e\u0301 \u1100\u1161";  // NFC composes both
  EXPECT_NE(round_trip(t, decomposed), decomposed);
  EXPECT_EQ(round_trip(t, decomposed), kormo::text::normalize(decomposed, kormo::text::NormForm::kNFC));
  EncodeOptions raw;
  raw.normalize = false;
  EXPECT_EQ(round_trip(t, decomposed, raw), decomposed);
  // Without normalisation even invalid UTF-8 survives (byte-level alphabet).
  std::string junk = "ab\xFF\xC0\x80 cd";
  EXPECT_EQ(round_trip(t, junk, raw), junk);
  EXPECT_THROW(t.encode(junk), kormo::Error);
}

TEST(Tokenizer, SpecialTokensOnlyWhenAllowed) {
  const Tokenizer& t = trained();
  const SpecialIds& s = t.special_ids();
  ASSERT_GE(s.bos, 0);
  EXPECT_EQ(s.bos + 1, s.eot);
  EXPECT_EQ(static_cast<size_t>(s.think_end), t.vocab_size() - 1);
  std::string text = "<|BOT|>user\n질문<|EOT|>";
  EncodeOptions allow;
  allow.allow_special = true;
  auto ids = t.encode(text, allow);
  EXPECT_EQ(ids.front(), s.bot);
  EXPECT_EQ(ids.back(), s.eot);
  auto plain = t.encode(text);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), s.eot), 0);
  EXPECT_EQ(t.decode(ids), text);
  EXPECT_EQ(t.decode(ids, /*skip_special=*/true), "user\n질문");
}

TEST(Tokenizer, TrainedVocabularyCompresses) {
  const Tokenizer& t = trained();
  EXPECT_EQ(t.vocab_size(), 2000u);
  std::string ko = "국민 여러분께 청원합니다. 정부는 이 문제를 해결해야 합니다.";
  std::string en = "Alice was beginning to get very tired of sitting by her sister.";
  EXPECT_GT(double(ko.size()) / t.encode(ko).size(), 2.0);
  EXPECT_GT(double(en.size()) / t.encode(en).size(), 2.0);
  // One pre-tokenized piece: encode_piece is the BPE step encode() applies to it.
  std::vector<int32_t> piece;
  t.encode_piece(" 청원합니다", piece);
  EXPECT_EQ(piece, t.encode(" 청원합니다"));
  EXPECT_LT(piece.size(), 5u);
  for (const auto& m : t.merges()) EXPECT_EQ(t.token_bytes(m.result), std::string(t.token_bytes(m.left)) + std::string(t.token_bytes(m.right)));
}

TEST(Tokenizer, SaveLoadGivesTheSameTokenizer) {
  const Tokenizer& t = trained();
  fs::path dir = fs::temp_directory_path() / "kormo_tok_test_save";
  fs::remove_all(dir);
  t.save(dir.string());
  EXPECT_TRUE(fs::exists(dir / "tokenizer_config.json"));
  EXPECT_TRUE(fs::exists(dir / "special_tokens_map.json"));
  Tokenizer u = Tokenizer::load(dir.string());
  EXPECT_EQ(u.to_json(), t.to_json());
  std::string s = kormo::read_file(kData + "/corpora/ko/law_bills/kolaw/constitution.txt").substr(0, 20000);
  s = kormo::text::normalize(kormo::text::replace_invalid_utf8(s), kormo::text::NormForm::kNFC);
  EXPECT_EQ(u.encode(s), t.encode(s));
  EXPECT_EQ(u.decode(u.encode(s)), s);
  EXPECT_EQ(u.token_to_id(u.id_to_token(300)), 300);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(u.token_bytes(u.byte_token(static_cast<uint8_t>(b))), std::string(1, char(b)));
  fs::remove_all(dir);
}

TEST(Tokenizer, TrainingIsThreadCountIndependent) {
  auto train = [](int threads) {
    CorpusOptions co;
    co.text_field = "content";  // the petitions' field
    co.threads = threads;
    co.mix = {{"ko", 0.3}, {"en", 0.7}};
    WordCounts wc = count_words({kData + "/corpora/ko/petitions/petitions_2017-08.jsonl",
                                 kData + "/corpora/en/gutenberg/The-Time-Machine_35.txt"},
                                co);
    BpeOptions bo;
    bo.vocab_size = 1500;
    return train_bpe(std::move(wc), bo).to_json();
  };
  EXPECT_EQ(train(1), train(2));
}

TEST(Tokenizer, RejectsUnsupportedJson) {
  std::string good = trained().to_json();
  EXPECT_NO_THROW(Tokenizer::from_json(good, "good.json"));
  std::string other_regex = good;
  other_regex.replace(other_regex.find("\\\\p{N}|"), 7, "\\\\p{N}+|");
  EXPECT_THROW(Tokenizer::from_json(other_regex, "x.json"), kormo::Error);
  EXPECT_THROW(Tokenizer::from_json("{\"model\": 3}", "y.json"), kormo::Error);
  EXPECT_THROW(Tokenizer::from_json("{not json", "z.json"), kormo::Error);
  try {
    Tokenizer::from_json("{not json", "z.json");
  } catch (const kormo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("z.json"), std::string::npos);
  }
}

namespace {
// The error from_json gives for a tokenizer.json, "" if it loads.
std::string load_error(const std::string& text) {
  try {
    Tokenizer::from_json(text, "t.json");
  } catch (const kormo::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

// Ids of vocab and added tokens must be in range, unique and contiguous; every error
// names the file and the token.
TEST(Tokenizer, RejectsBadTokenIds) {
  // Bytes 0..255, one merge (256), then the six KORMo specials 257..262.
  const nlohmann::json base = nlohmann::json::parse(Tokenizer::from_merges({{0, 1}}, {}).to_json());
  ASSERT_EQ(load_error(base.dump()), "");
  ASSERT_EQ(base["added_tokens"][0]["content"], "<|BOS|>");
  ASSERT_EQ(base["model"]["vocab"]["!"], 0);
  auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = base;
    edit(j);
    return load_error(j.dump());
  };
  auto added = [](nlohmann::json& j, int i) -> nlohmann::json& { return j["added_tokens"][i]; };
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"added id far outside", [&](auto& j) { added(j, 0)["id"] = 100000; },
       R"(added token "<|BOS|>" has id 100000, out of range [0, 263))"},
      {"added id above 2^32", [&](auto& j) { added(j, 0)["id"] = int64_t{1} << 40; },
       R"(added token "<|BOS|>" has id 1099511627776, out of range)"},
      {"added id negative", [&](auto& j) { added(j, 1)["id"] = -3; }, R"(added token "<|EOT|>" has id -3, out of range)"},
      {"added id not an integer", [&](auto& j) { added(j, 1)["id"] = 258.5; }, "added token id/content of the wrong type"},
      {"added id repeated", [&](auto& j) { added(j, 1)["id"] = 257; },
       R"(added tokens "<|BOS|>" and "<|EOT|>" both have id 257)"},
      {"added content repeated", [&](auto& j) { added(j, 2)["content"] = "<|BOS|>"; },
       R"(added token "<|BOS|>" appears twice (ids 257 and 259))"},
      {"added content of another vocab id", [&](auto& j) { added(j, 0)["content"] = "!"; },
       R"(added token "!" has id 257 but the vocabulary gives it id 0)"},
      {"added content empty", [&](auto& j) { added(j, 0)["content"] = ""; }, "added token 257 has empty content"},
      {"added special not a boolean", [&](auto& j) { added(j, 0)["special"] = "yes"; },
       "added token special is not a boolean"},
      {"gap in ids",
       [&](auto& j) {
         // An added token repeating a vocab entry (GPT-2 does this) is fine and makes room for a gap.
         j["added_tokens"].push_back({{"id", 0}, {"content", "!"}, {"special", false}});
         added(j, 5)["id"] = 263;
       },
       R"(no token has id 262, yet "</think>" has id 263; ids must run from 0 without gaps)"},
      {"vocab id negative", [&](auto& j) { j["model"]["vocab"]["!"] = -1; },
       R"(vocab id -1 of token "!" is out of range [0, 263))"},
      {"vocab id far outside", [&](auto& j) { j["model"]["vocab"]["!"] = 4294967296; },
       R"(vocab id 4294967296 of token "!" is out of range)"},
      {"vocab id repeated", [&](auto& j) { j["model"]["vocab"]["\""] = 0; }, "vocab id 0 is used twice"},
      {"vocab id not an integer", [&](auto& j) { j["model"]["vocab"]["!"] = 0.5; }, "vocab value is not an integer"},
      {"added_tokens not an array", [&](auto& j) { j["added_tokens"] = {{"id", 1}}; }, "added_tokens is not an array"},
      {"a field of the wrong type", [&](auto& j) { j["model"]["type"] = 3; }, "t.json: unsupported tokenizer.json"},
  };
  for (const Case& c : cases) {
    const std::string e = edited(c.edit);
    EXPECT_EQ(e.rfind("t.json: ", 0), 0u) << c.what << ": " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.what << ": " << e;
  }
  // A repeated key would silently drop one of the token's ids.
  std::string text = base.dump();
  text.replace(text.find(R"("vocab":{)"), 9, R"("vocab":{"!":0,)");
  EXPECT_EQ(load_error(text), R"(t.json: key "!" appears twice in one object)");
}

TEST(Trainer, ParsesSizesAndMixes) {
  EXPECT_EQ(parse_byte_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("100"), 100u);
  EXPECT_THROW(parse_byte_size("12X"), kormo::Error);
  auto mix = parse_mix("ko=0.5,en=1.5");
  ASSERT_EQ(mix.size(), 2u);
  EXPECT_EQ(mix[1].first, "en");
  EXPECT_DOUBLE_EQ(mix[1].second, 1.5);
  EXPECT_THROW(parse_mix("ko=0"), kormo::Error);
  EXPECT_THROW(parse_mix("ko"), kormo::Error);
}

TEST(Trainer, MemoryBoundPrunesButStillTrains) {
  CorpusOptions co;
  co.text_field = "content";
  co.max_memory = 6 << 20;  // below what the word table wants
  co.max_input_bytes = 2 << 20;
  WordCounts wc = count_words({kData + "/corpora/ko/petitions/petitions_2019-07.jsonl"}, co);
  EXPECT_GT(wc.prune_threshold, 0u);
  BpeOptions bo;
  bo.vocab_size = 1000;
  bo.memory_budget = wc.memory_budget;
  Tokenizer t = train_bpe(std::move(wc), bo);
  EXPECT_EQ(t.vocab_size(), 1000u);
}

TEST(Tokenizer, ForeignDirectoryNamesSpecialsInItsConfig) {
  SpecialTokenNames qwen;
  qwen.bos = qwen.pad = qwen.bot = qwen.think = qwen.think_end = "";
  qwen.eot = "<|endoftext|>";
  qwen.extra = {"<|im_start|>", "<|im_end|>"};
  Tokenizer t = Tokenizer::from_merges({{0, 1}}, qwen);
  EXPECT_EQ(t.special_ids().eot, t.token_to_id("<|endoftext|>"));  // the role it was given
  EXPECT_EQ(t.special_ids().bos, -1);
  fs::path dir = fs::temp_directory_path() / "kormo_tok_test_foreign";
  fs::remove_all(dir);
  fs::create_directories(dir);
  kormo::write_file_atomic((dir / "tokenizer.json").string(), t.to_json());
  kormo::write_file_atomic((dir / "tokenizer_config.json").string(),
                           R"({"eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"}})");
  Tokenizer u = Tokenizer::load(dir.string());
  EXPECT_EQ(u.special_ids().eot, u.token_to_id("<|im_end|>"));
  EXPECT_EQ(u.special_ids().pad, u.token_to_id("<|endoftext|>"));
  EXPECT_EQ(u.special_ids().bos, -1);
  EXPECT_EQ(u.vocab_size(), 260u);
  fs::remove_all(dir);
  // A hostile id is refused instead of allocating gigabytes.
  std::string j = t.to_json();
  j.replace(j.find("\"id\": 257"), 9, "\"id\": 2000000000");
  EXPECT_THROW(Tokenizer::from_json(j, "big.json"), kormo::Error);
}

TEST(Trainer, MixUsesTheLangFieldAndScalesCounts) {
  fs::path dir = fs::temp_directory_path() / "kormo_tok_test_mix";
  fs::create_directories(dir);
  std::string path = (dir / "docs.jsonl").string();
  std::string lines;
  // "lang" wins over the script guess: the third document is labelled ko although it is Latin.
  for (int i = 0; i < 30; ++i) lines += R"({"text": "alpha beta", "lang": "en"})" "\n";
  for (int i = 0; i < 10; ++i) lines += R"({"text": "가나 다라"})" "\n";
  for (int i = 0; i < 10; ++i) lines += R"({"text": "zeta", "lang": "ko"})" "\n";
  lines += R"({"text": "Привет мир", "lang": "ru"})" "\n";
  kormo::write_file_atomic(path, lines);
  CorpusOptions co;
  co.mix = {{"ko", 1.0}, {"en", 1.0}};
  WordCounts wc = count_words({path}, co);
  ASSERT_EQ(wc.language_bytes.size(), 2u);
  EXPECT_EQ(wc.language_bytes[0].second, 10u * std::string("가나 다라").size() + 40u);  // ko: Hangul + "zeta"
  EXPECT_EQ(wc.language_bytes[1].second, 30u * 10u);                                 // en
  EXPECT_EQ(wc.excluded_bytes, std::string("Привет мир").size());
  auto count_of = [&](const std::string& w) {
    for (size_t i = 0; i < wc.words.size(); ++i)
      if (wc.words[i] == w) return wc.counts[i];
    return int64_t{0};
  };
  // Equal weights: each language's counts scale so both carry half of the bytes.
  double total = 10.0 * std::string("가나 다라").size() + 40 + 300;
  EXPECT_EQ(count_of("alpha"), std::llround(30 * 0.5 * total / 300));
  EXPECT_EQ(count_of("zeta"), std::llround(10 * 0.5 * total / (total - 300)));
  EXPECT_EQ(count_of("Привет"), 0);
  fs::remove_all(dir);
}

TEST(Tokenizer, PieceCacheGrowsAndEmptiesWithoutChangingIds) {
  // More distinct pieces than the per-thread cache holds (it grows from 4K slots and is
  // emptied at 256K entries): encoding them in one call, with the cache filling, growing and
  // emptying on the way, gives the ids each piece gets on its own from a fresh thread's cache.
  const Tokenizer& t = trained();
  std::string text;
  std::vector<std::string> words;
  for (int i = 0; i < 300000; ++i) {
    std::string w = " ";
    for (int v = i; v > 0 || w.size() == 1; v /= 20) w += static_cast<char>('a' + v % 20);
    words.push_back(w);
    text += w;
  }
  const std::vector<int32_t> all = t.encode(text);
  std::vector<int32_t> each;
  std::thread([&] {
    for (size_t i = 0; i < words.size(); i += 997) {
      const auto ids = t.encode(words[i]);
      each.insert(each.end(), ids.begin(), ids.end());
    }
  }).join();
  // The same pieces picked out of the one-call encoding (each word is one pre-token).
  std::vector<int32_t> picked;
  size_t at = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    const auto ids = t.encode(words[i]);
    if (i % 997 == 0) picked.insert(picked.end(), all.begin() + at, all.begin() + at + ids.size());
    at += ids.size();
  }
  EXPECT_EQ(at, all.size());
  EXPECT_EQ(picked, each);
}
