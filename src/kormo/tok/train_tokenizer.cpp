#include "kormo/tok/train_tokenizer.h"

#include <filesystem>

#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace fs = std::filesystem;

namespace kormo::tok {
namespace {

// tokenizer.json and its config files are one unit: a reader that finds the directory
// must find all of them. They are written into a temporary sibling that is renamed into
// place, so a failure part way (a full disk) leaves no directory rather than a partial one.
void save_tokenizer_dir(const Tokenizer& tok, const std::string& out_dir, int model_max_length) {
  fs::path final_dir = fs::path(out_dir).lexically_normal();
  if (final_dir.filename().empty()) final_dir = final_dir.parent_path();  // "dir/"
  const fs::path tmp = final_dir.parent_path() / ("." + final_dir.filename().string() + ".tmp");
  std::error_code ec;
  if (fs::exists(final_dir, ec) && !fs::is_directory(final_dir, ec))
    fail("{}: exists and is not a directory; cannot write the tokenizer there", out_dir);
  fs::remove_all(tmp, ec);
  try {
    tok.save(tmp.string(), model_max_length);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::remove_all(final_dir, ec);  // a retrain replaces the whole directory, not file by file
  fs::rename(tmp, final_dir, ec);
  if (ec) {
    fs::remove_all(tmp);
    fail("{}: cannot move the trained tokenizer into place: {}", out_dir, ec.message());
  }
}

// A string key parsed further; a parser's complaint is reported at the key.
template <class Parse>
void parse_key(ConfigSection& sec, const char* key, Parse parse) {
  std::string value = sec.get_string(key, "");  // also marks the key as known
  if (!sec.has(key)) return;
  try {
    parse(value);
  } catch (const Error& e) {
    sec.bad_value(key, e.what());
  }
}

}  // namespace

TokenizerTrainConfig tokenizer_train_config_from_section(ConfigSection& sec, std::vector<std::string> inputs,
                                                         std::string out_dir) {
  TokenizerTrainConfig c;
  c.inputs = std::move(inputs);
  c.out_dir = std::move(out_dir);
  const int64_t vocab = sec.get_int("vocab_size", static_cast<int64_t>(c.bpe.vocab_size));
  if (vocab < static_cast<int64_t>(kMinVocabSize) || vocab > static_cast<int64_t>(kMaxVocabSize))
    sec.bad_value("vocab_size", fmt::format("{} is outside [{}, {}]", vocab, kMinVocabSize, kMaxVocabSize));
  c.bpe.vocab_size = static_cast<size_t>(vocab);
  parse_key(sec, "mix", [&](const std::string& v) { c.corpus.mix = parse_mix(v); });
  parse_key(sec, "max_memory", [&](const std::string& v) { c.corpus.max_memory = parse_byte_size(v); });
  parse_key(sec, "max_input_bytes", [&](const std::string& v) { c.corpus.max_input_bytes = parse_byte_size(v); });
  parse_key(sec, "format", [&](const std::string& v) { c.corpus.format = parse_input_format(v); });
  parse_key(sec, "on_invalid", [&](const std::string& v) { c.corpus.on_invalid = parse_on_invalid(v); });
  c.corpus.threads = static_cast<int>(sec.get_int("threads", c.corpus.threads));
  c.corpus.text_field = sec.get_string("text_field", c.corpus.text_field);
  c.corpus.lang_field = sec.get_string("lang_field", c.corpus.lang_field);
  std::vector<std::string> specials = sec.get_strings("special", {});
  if (sec.has("special")) c.bpe.specials = special_tokens_in_roles(specials);
  c.model_max_length = static_cast<int>(sec.get_int("model_max_length", c.model_max_length));
  sec.check_unused();
  return c;
}

TokenizerTrainSummary train_tokenizer(const TokenizerTrainConfig& cfg) {
  std::vector<std::string> files = expand_inputs(cfg.inputs);
  WordCounts wc = count_words(files, cfg.corpus);
  if (wc.words.empty()) fail("no text to learn from in {} input file(s)", files.size());
  log_info("{} documents, {} bytes, {} distinct words", wc.documents, wc.text_bytes, wc.words.size());
  TokenizerTrainSummary sum{wc.documents, wc.text_bytes, wc.words.size(), 0, 0};
  BpeOptions bpe = cfg.bpe;
  bpe.memory_budget = wc.memory_budget;
  Tokenizer tok = train_bpe(std::move(wc), bpe);
  save_tokenizer_dir(tok, cfg.out_dir, cfg.model_max_length);
  sum.vocab_size = tok.vocab_size();
  sum.merges = tok.merges().size();
  log_info("wrote {}/tokenizer.json ({} ids, {} merges)", cfg.out_dir, sum.vocab_size, sum.merges);
  return sum;
}

}  // namespace kormo::tok
