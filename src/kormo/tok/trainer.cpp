#include "kormo/tok/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"
#include "kormo/tok/byte_level.h"
#include "kormo/tok/pair_hash.h"
#include "kormo/tok/pretokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/parallel.h"
#include "kormo/util/progress.h"

namespace kormo::tok {

uint64_t parse_byte_size(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    fail("'{}' is not a size (expected e.g. 2G, 512M, 100k)", s);
  }
  std::string unit = s.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b')) unit.pop_back();
  double mult = 1;
  if (unit == "k" || unit == "K") mult = 1024.0;
  else if (unit == "m" || unit == "M") mult = 1024.0 * 1024;
  else if (unit == "g" || unit == "G") mult = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) fail("'{}' is not a size (unknown unit '{}'; use k, M, G, T)", s, unit);
  if (!(v >= 0)) fail("'{}' is not a size (negative)", s);
  return static_cast<uint64_t>(v * mult);
}

std::vector<std::pair<std::string, double>> parse_mix(const std::string& s) {
  std::vector<std::pair<std::string, double>> mix;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      fail("'{}' is not a language mix (expected LANG=WEIGHT[,LANG=WEIGHT...])", s);
    double w = 0;
    try {
      size_t used = 0;
      w = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1) throw std::invalid_argument("trailing");
    } catch (...) {
      fail("'{}': weight of '{}' is not a number", s, item.substr(0, eq));
    }
    if (!(w > 0)) fail("'{}': weight of '{}' must be positive", s, item.substr(0, eq));
    for (auto& [l, _] : mix)
      if (l == item.substr(0, eq)) fail("'{}': language '{}' given twice", s, l);
    mix.emplace_back(item.substr(0, eq), w);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return mix;
}

InputFormat parse_input_format(const std::string& s) {
  if (s == "auto") return InputFormat::kAuto;
  if (s == "text") return InputFormat::kText;
  if (s == "jsonl") return InputFormat::kJsonl;
  fail("'{}' is not an input format (expected auto, text or jsonl)", s);
}

OnInvalid parse_on_invalid(const std::string& s) {
  if (s == "skip") return OnInvalid::kSkip;
  if (s == "fail") return OnInvalid::kFail;
  fail("'{}' is not a way to handle invalid UTF-8 (expected skip or fail)", s);
}

SpecialTokenNames special_tokens_in_roles(const std::vector<std::string>& tokens) {
  SpecialTokenNames s;
  std::string* roles[] = {&s.bos, &s.eot, &s.pad, &s.bot, &s.think, &s.think_end};
  for (size_t i = 0; i < std::size(roles); ++i) *roles[i] = i < tokens.size() ? tokens[i] : "";
  for (size_t i = std::size(roles); i < tokens.size(); ++i) s.extra.push_back(tokens[i]);
  return s;
}

namespace {

using json = nlohmann::json;

// ------------------------------------------------------------------ word table

// Open-addressing map from a piece to per-language counts; keys live in one
// arena. Its footprint is what the memory bound accounts for.
class WordTable {
 public:
  explicit WordTable(size_t nlang = 1) : nlang_(nlang) {}
  void add(std::string_view w, uint64_t h, size_t lang, uint64_t count) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t i = h & (slots_.size() - 1);
    while (true) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s = Slot{h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(w.size()), static_cast<uint32_t>(size_)};
        arena_.append(w);
        counts_.resize(counts_.size() + nlang_, 0);
        counts_[size_ * nlang_ + lang] += count;
        ++size_;
        return;
      }
      if (s.hash == h && s.len == w.size() && std::string_view(arena_).substr(s.off, s.len) == w) {
        counts_[s.idx * nlang_ + lang] += count;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
  }
  // Adds every entry of o (same nlang).
  void merge(const WordTable& o) {
    for (const Slot& s : o.slots_) {
      if (s.len == kEmpty) continue;
      std::string_view w = std::string_view(o.arena_).substr(s.off, s.len);
      for (size_t l = 0; l < nlang_; ++l)
        if (uint64_t c = o.counts_[s.idx * nlang_ + l]) add(w, s.hash, l, c);
    }
  }
  void clear() {
    for (Slot& s : slots_) s.len = kEmpty;
    arena_.clear();
    counts_.clear();
    size_ = 0;
  }
  size_t memory() const {
    return slots_.size() * sizeof(Slot) + arena_.capacity() + counts_.capacity() * sizeof(uint64_t);
  }
  size_t size() const { return size_; }
  // Calls fn(word, hash, const uint64_t* counts) for each entry, in slot order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const Slot& s : slots_)
      if (s.len != kEmpty) fn(std::string_view(arena_).substr(s.off, s.len), s.hash, &counts_[s.idx * nlang_]);
  }
  // Keeps only entries whose total count exceeds `threshold`.
  void prune(uint64_t threshold) {
    WordTable kept(nlang_);
    for_each([&](std::string_view w, uint64_t h, const uint64_t* c) {
      uint64_t t = 0;
      for (size_t l = 0; l < nlang_; ++l) t += c[l];
      if (t > threshold)
        for (size_t l = 0; l < nlang_; ++l)
          if (c[l]) kept.add(w, h, l, c[l]);
    });
    *this = std::move(kept);
  }

 private:
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  struct Slot {
    uint64_t hash;
    uint32_t off, len, idx;
  };
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot{0, 0, kEmpty, 0});
    for (const Slot& s : old) {
      if (s.len == kEmpty) continue;
      size_t i = s.hash & (slots_.size() - 1);
      while (slots_[i].len != kEmpty) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = s;
    }
  }
  size_t nlang_;
  std::vector<Slot> slots_;
  std::string arena_;
  std::vector<uint64_t> counts_;
  size_t size_ = 0;
};

constexpr size_t kShards = 64;  // global table shards, merged in parallel
inline size_t shard_of(uint64_t h) { return h >> 58; }

// ------------------------------------------------------------------ batches

// Lines read sequentially, then processed in parallel. A batch closes at a
// fixed byte size (from the memory budget), so batch boundaries and pruning
// points depend on the input and options only, never on timing or threads.
struct Batch {
  std::string arena;
  struct Line {
    size_t off, len;
    uint32_t file;
    uint64_t line_no;
  };
  std::vector<Line> lines;
  void clear() {
    arena.clear();
    lines.clear();
  }
};

// What processing one line found wrong; the earliest in input order is reported.
struct LineIssue {
  size_t line_index = SIZE_MAX;
  std::string message;
};

uint64_t physical_memory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : (8ull << 30);
}

}  // namespace

bool is_jsonl_path(const std::string& path, InputFormat f) {
  if (f != InputFormat::kAuto) return f == InputFormat::kJsonl;
  std::string p = has_zst_suffix(path) ? path.substr(0, path.size() - 4) : path;
  auto ends = [&](const char* s) {
    size_t n = std::strlen(s);
    return p.size() >= n && p.compare(p.size() - n, n, s) == 0;
  };
  return ends(".jsonl") || ends(".ndjson");
}

namespace {

struct ThreadState {
  std::vector<WordTable> shards;
  std::vector<uint64_t> lang_bytes;
  uint64_t docs = 0, bytes = 0, pieces = 0, excluded = 0, invalid = 0;
  LineIssue invalid_first, fatal;
  std::string norm;
};

void note(LineIssue& issue, size_t index, std::string msg) {
  if (index < issue.line_index) {
    issue.line_index = index;
    issue.message = std::move(msg);
  }
}

std::string format_size(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", b / double(1ull << 30));
  return fmt::format("{:.1f} MiB", b / double(1ull << 20));
}

}  // namespace

WordCounts count_words(const std::vector<std::string>& files, const CorpusOptions& opt) {
  WordCounts out;
  const size_t nlang = opt.mix.empty() ? 1 : opt.mix.size();
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  out.memory_budget = opt.max_memory ? opt.max_memory : physical_memory() / 2;
  // Counting keeps a quarter of the budget: training needs about 3x the table.
  const uint64_t table_budget = out.memory_budget / 4;
  // Smaller batches under small budgets: a batch's text and the words it adds
  // before the next check must fit next to the table.
  const size_t batch_bytes = std::clamp<uint64_t>(out.memory_budget / 32, 1u << 20, 16u << 20);

  std::vector<WordTable> global(kShards, WordTable(nlang));
  std::vector<ThreadState> ts(threads);
  for (auto& t : ts) {
    t.shards.assign(kShards, WordTable(nlang));
    t.lang_bytes.assign(nlang, 0);
  }
  std::vector<uint8_t> jsonl(files.size());
  uint64_t total_file_bytes = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    jsonl[f] = is_jsonl_path(files[f], opt.format);
    std::error_code ec;
    if (files[f] != "-") total_file_bytes += std::filesystem::file_size(files[f], ec);
  }

  auto process_line = [&](ThreadState& st, const Batch& b, size_t index) {
    const Batch::Line& ln = b.lines[index];
    std::string_view raw(b.arena.data() + ln.off, ln.len);
    const std::string& path = files[ln.file];
    size_t bad = text::find_invalid_utf8(raw);
    if (bad != text::kValid) {
      ++st.invalid;
      note(opt.on_invalid == OnInvalid::kFail ? st.fatal : st.invalid_first, index,
           fmt::format("{}:{}: invalid UTF-8 at byte {} of the line", path, ln.line_no, bad + 1));
      return;
    }
    std::string_view doc = raw;
    std::string lang;
    json j;
    if (jsonl[ln.file]) {
      if (raw.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank line
      try {
        j = json::parse(raw);
      } catch (const json::parse_error& e) {
        note(st.fatal, index, fmt::format("{}:{}: malformed JSON at column {}: expected one JSON object per line", path,
                                          ln.line_no, e.byte));
        return;
      } catch (const json::exception& e) {  // e.g. a number overflowing a double
        note(st.fatal, index, fmt::format("{}:{}: malformed JSON: {}", path, ln.line_no, e.what()));
        return;
      }
      auto it = j.is_object() ? j.find(opt.text_field) : j.end();
      if (it == j.end() || !it->is_string()) {
        note(st.fatal, index, fmt::format("{}:{}: expected a JSON object with a string field \"{}\"", path, ln.line_no,
                                          opt.text_field));
        return;
      }
      doc = it->get_ref<const std::string&>();
      auto lt = j.find(opt.lang_field);
      if (lt != j.end() && lt->is_string()) lang = lt->get<std::string>();
    }
    size_t li = 0;
    if (!opt.mix.empty()) {
      if (lang.empty()) lang = text::guess_language_by_script(doc);
      li = SIZE_MAX;
      for (size_t k = 0; k < opt.mix.size(); ++k)
        if (opt.mix[k].first == lang) li = k;
      if (li == SIZE_MAX) {
        st.excluded += doc.size();
        return;
      }
    }
    if (!text::is_nfc_quick(doc)) {
      st.norm = text::normalize(doc, text::NormForm::kNFC);
      doc = st.norm;
    }
    ++st.docs;
    st.bytes += doc.size() + !jsonl[ln.file];
    st.lang_bytes[li] += doc.size() + !jsonl[ln.file];
    auto add = [&](std::string_view piece) {
      uint64_t h = xxh3_64(piece);
      st.shards[shard_of(h)].add(piece, h, li, 1);
      ++st.pieces;
    };
    for_each_piece(doc, add);
    // A plain-text line keeps its newline, as HF's trainer reads lines.
    if (!jsonl[ln.file]) add("\n");
  };

  Progress progress("counting", static_cast<double>(total_file_bytes) / 1e6, "MB");
  uint64_t file_bytes_done = 0, text_bytes_read = 0;
  LineIssue invalid_first;
  bool stop = false;
  uint64_t prunes = 0;
  Batch batch;
  auto run_batch = [&] {
    if (batch.lines.empty()) return;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256)
    for (size_t i = 0; i < batch.lines.size(); ++i) {
      ThreadState& st = ts[omp_get_thread_num()];
      try {
        process_line(st, batch, i);
      } catch (const std::exception& e) {
        const auto& ln = batch.lines[i];
        note(st.fatal, i, fmt::format("{}:{}: {}", files[ln.file], ln.line_no, e.what()));
      }
    }
    LineIssue fatal, batch_invalid;
    for (auto& st : ts) {
      if (st.fatal.line_index < fatal.line_index) fatal = st.fatal;
      if (st.invalid_first.line_index < batch_invalid.line_index) batch_invalid = st.invalid_first;
      st.fatal = st.invalid_first = LineIssue{};
    }
    if (invalid_first.message.empty()) invalid_first = batch_invalid;
    if (!fatal.message.empty()) fail("{}", fatal.message);
    FirstError merge_err;  // allocation failure while merging must not abort
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t s = 0; s < kShards; ++s)
      merge_err.run([&] {
        for (auto& st : ts) {
          global[s].merge(st.shards[s]);
          st.shards[s].clear();
        }
      });
    merge_err.rethrow();
    batch.clear();
    size_t mem = 0;
    for (auto& g : global) mem += g.memory();
    for (auto& st : ts)
      for (auto& l : st.shards) mem += l.memory();
    if (mem <= table_budget) return;
    // Lossy counting: drop the rarest words until the table needs at most 70%
    // of its share. Words dropped had a count <= threshold in the text read so
    // far. Per entry: key bytes, counts, and two slots (tables stay under half full).
    const uint64_t entry_overhead = 8 * nlang + 64;
    std::vector<uint64_t> mem_by_count(1 << 16, 0);
    uint64_t est = 0, live = 0;
    for (auto& g : global) {
      live += g.size();
      g.for_each([&](std::string_view w, uint64_t, const uint64_t* c) {
        uint64_t t = 0;
        for (size_t l = 0; l < nlang; ++l) t += c[l];
        mem_by_count[std::min<uint64_t>(t, mem_by_count.size() - 1)] += w.size() + entry_overhead;
        est += w.size() + entry_overhead;
      });
    }
    // The estimate leaves out table slack and the per-thread tables; scale it to
    // the measured footprint so the target is met, and always drop something.
    const double scale = est ? static_cast<double>(mem) / static_cast<double>(est) : 1.0;
    const uint64_t target = static_cast<uint64_t>(0.7 * static_cast<double>(table_budget) / scale);
    uint64_t threshold = 0;
    while (threshold + 1 < mem_by_count.size() && (threshold == 0 || est > target)) est -= mem_by_count[++threshold];
    FirstError prune_err;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (size_t s = 0; s < kShards; ++s) prune_err.run([&] { global[s].prune(threshold); });
    prune_err.rethrow();
    size_t kept = 0;
    for (auto& g : global) kept += g.size();
    out.prune_threshold = std::max(out.prune_threshold, threshold);
    ++prunes;
    std::string msg = fmt::format(
        "word table reached {} (budget {} of --max-memory {}): dropped {} of {} distinct words seen <= {} times",
        format_size(mem), format_size(table_budget), format_size(out.memory_budget), live - kept, live, threshold);
    if (prunes == 1) log_warn("{}; counts are now approximate (lossy counting), see docs/tokenizer.md", msg);
    else log_debug("{}", msg);
  };

  for (size_t f = 0; f < files.size() && !stop; ++f) {
    LineReader reader(files[f]);
    std::string_view line;
    while (reader.next(line)) {
      if (opt.max_input_bytes && text_bytes_read >= opt.max_input_bytes) {
        stop = true;
        break;
      }
      text_bytes_read += line.size() + 1;
      batch.lines.push_back(Batch::Line{batch.arena.size(), line.size(), static_cast<uint32_t>(f), reader.line_number()});
      batch.arena.append(line);
      if (batch.arena.size() >= batch_bytes) {
        run_batch();
        progress.update(static_cast<double>(file_bytes_done + reader.file_bytes_read()) / 1e6);
      }
    }
    file_bytes_done += reader.file_bytes_read();
  }
  run_batch();

  std::vector<uint64_t> lang_bytes(nlang, 0);
  for (auto& st : ts) {
    out.documents += st.docs;
    out.text_bytes += st.bytes;
    out.pieces += st.pieces;
    out.excluded_bytes += st.excluded;
    out.invalid_skipped += st.invalid;
    for (size_t l = 0; l < nlang; ++l) lang_bytes[l] += st.lang_bytes[l];
  }
  progress.update(static_cast<double>(file_bytes_done) / 1e6);
  progress.finish(fmt::format("{} documents, {} pieces", out.documents, out.pieces));
  if (prunes > 1)
    log_warn("the memory bound pruned the word table {} times (largest count dropped: {}); rare-word counts are "
             "underestimates", prunes, out.prune_threshold);
  if (out.invalid_skipped)
    log_warn("skipped {} lines with invalid UTF-8 (first: {}); use --on-invalid fail to stop instead",
             out.invalid_skipped, invalid_first.message);
  if (out.excluded_bytes) log_info("left out {} of text in languages not named by --mix", format_size(out.excluded_bytes));

  // Mixing: scale each language's counts so its share of bytes becomes its weight.
  std::vector<double> factor(nlang, 1.0);
  if (!opt.mix.empty()) {
    double wsum = 0;
    for (auto& [_, w] : opt.mix) wsum += w;
    for (size_t l = 0; l < nlang; ++l) {
      out.language_bytes.emplace_back(opt.mix[l].first, lang_bytes[l]);
      if (lang_bytes[l] == 0) {
        log_warn("--mix names '{}' but the input has no text in that language", opt.mix[l].first);
        continue;
      }
      factor[l] = opt.mix[l].second / wsum * static_cast<double>(out.text_bytes) / static_cast<double>(lang_bytes[l]);
    }
  } else {
    out.language_bytes.emplace_back("all", lang_bytes[0]);
  }
  for (auto& g : global) {
    g.for_each([&](std::string_view w, uint64_t, const uint64_t* c) {
      double v = 0;
      for (size_t l = 0; l < nlang; ++l) v += factor[l] * static_cast<double>(c[l]);
      int64_t n = std::llround(v);
      if (n <= 0) return;
      out.words.emplace_back(w);
      out.counts.push_back(n);
    });
    g = WordTable(nlang);
  }
  return out;
}

// ------------------------------------------------------------------ BPE training

namespace {

// Pair (left, right) -> dense index; the hot map of training.
class PairIndex {
 public:
  uint32_t find_or_add(int32_t l, int32_t r) {
    if ((keys_.size() + 1) * 2 > slots_.size()) grow();
    uint64_t key = pack_pair(l, r);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      if (slots_[i] == kEmpty) {
        slots_[i] = static_cast<uint32_t>(keys_.size());
        keys_.push_back(key);
        return slots_[i];
      }
      if (keys_[slots_[i]] == key) return slots_[i];
    }
  }
  uint32_t find(int32_t l, int32_t r) const {
    uint64_t key = pack_pair(l, r);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      if (slots_[i] == kEmpty) return kEmpty;
      if (keys_[slots_[i]] == key) return slots_[i];
    }
  }
  size_t size() const { return keys_.size(); }
  int32_t left(uint32_t i) const { return static_cast<int32_t>(keys_[i] >> 32); }
  int32_t right(uint32_t i) const { return static_cast<int32_t>(keys_[i] & 0xFFFFFFFFu); }
  static constexpr uint32_t kEmpty = ~uint32_t{0};

 private:
  size_t slot_of(uint64_t key) const { return static_cast<size_t>(hash_pair(key)) & mask_; }
  void grow() {
    size_t cap = std::max<size_t>(1024, slots_.size() * 2);
    slots_.assign(cap, kEmpty);
    mask_ = cap - 1;
    for (uint32_t i = 0; i < keys_.size(); ++i) {
      size_t s = slot_of(keys_[i]);
      while (slots_[s] != kEmpty) s = (s + 1) & mask_;
      slots_[s] = i;
    }
  }
  std::vector<uint32_t> slots_;
  std::vector<uint64_t> keys_;
  size_t mask_ = 0;
};

struct HeapEntry {
  int64_t count;
  int32_t left, right;
  // Max count first; ties go to the smallest (left, right): total and thread-independent.
  bool operator<(const HeapEntry& o) const {
    if (count != o.count) return count < o.count;
    if (left != o.left) return left > o.left;
    return right > o.right;
  }
};

// Estimated bytes training needs for these words (symbols, occurrence index, pairs).
double progress_clock_s(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

uint64_t training_memory(const WordCounts& wc) {
  uint64_t b = 0;
  for (const auto& w : wc.words) b += 12 * w.size() + 48;
  return b;
}

}  // namespace

Tokenizer train_bpe(WordCounts wc, const BpeOptions& opt) {
  std::vector<std::string> specials;
  for (const auto& s : opt.specials.all())
    if (!s.empty()) specials.push_back(s);
  if (opt.vocab_size < 256 + specials.size() || opt.vocab_size > (1u << 30))
    fail("vocab size {} must hold the 256 byte tokens and {} special tokens", opt.vocab_size, specials.size());
  const size_t target = opt.vocab_size - specials.size();

  // Keep training inside the memory bound: drop the rarest words first.
  if (opt.memory_budget) {
    uint64_t est = training_memory(wc);
    if (est > opt.memory_budget * 3 / 4) {
      std::vector<int64_t> sorted = wc.counts;
      std::sort(sorted.begin(), sorted.end());
      int64_t threshold = 0;
      uint64_t cut_words = 0;
      size_t k = 0;
      while (est > opt.memory_budget / 2 && k < sorted.size()) {
        threshold = sorted[k];
        for (; k < sorted.size() && sorted[k] == threshold; ++k) est -= std::min<uint64_t>(est, 60);
      }
      size_t j = 0;
      for (size_t i = 0; i < wc.words.size(); ++i) {
        if (wc.counts[i] <= threshold) {
          ++cut_words;
          continue;
        }
        wc.words[j] = std::move(wc.words[i]);
        wc.counts[j++] = wc.counts[i];
      }
      wc.words.resize(j);
      wc.counts.resize(j);
      log_warn("training would exceed the memory budget: dropped {} words seen <= {} times before learning merges",
               cut_words, threshold);
    }
  }

  // Words as symbol sequences in one pool; merges rewrite them in place.
  const auto t_start = std::chrono::steady_clock::now();
  const size_t nwords = wc.words.size();
  std::vector<uint32_t> start(nwords + 1);
  std::vector<uint32_t> len(nwords);
  size_t total = 0;
  for (size_t w = 0; w < nwords; ++w) total += wc.words[w].size();
  if (total >= (1ull << 32)) fail("word table too large for training ({} bytes of distinct words)", total);
  std::vector<int32_t> sym(total);
  int32_t byte_id[256];
  for (int i = 0; i < 256; ++i) byte_id[kByteOrder[i]] = i;
  {
    size_t p = 0;
    for (size_t w = 0; w < nwords; ++w) {
      start[w] = static_cast<uint32_t>(p);
      len[w] = static_cast<uint32_t>(wc.words[w].size());
      for (unsigned char c : wc.words[w]) sym[p++] = byte_id[c];
      std::string().swap(wc.words[w]);
    }
  }
  const std::vector<int64_t>& count = wc.counts;

  PairIndex pairs;
  std::vector<int64_t> pair_count;
  std::vector<std::vector<uint32_t>> where;
  auto pair_of = [&](int32_t l, int32_t r) {
    uint32_t i = pairs.find_or_add(l, r);
    if (i == pair_count.size()) {
      pair_count.push_back(0);
      where.emplace_back();
    }
    return i;
  };
  for (size_t w = 0; w < nwords; ++w) {
    const int32_t* s = &sym[start[w]];
    for (uint32_t i = 0; i + 1 < len[w]; ++i) {
      uint32_t p = pair_of(s[i], s[i + 1]);
      pair_count[p] += count[w];
      // A word appends itself once per pair: it is always the latest entry.
      if (where[p].empty() || where[p].back() != w) where[p].push_back(static_cast<uint32_t>(w));
    }
  }
  log_debug("initial pair counts: {} distinct pairs over {} words in {:.2f} s", pairs.size(), nwords,
            progress_clock_s(t_start));
  std::priority_queue<HeapEntry> heap;
  for (uint32_t p = 0; p < pairs.size(); ++p)
    if (pair_count[p] > 0) heap.push(HeapEntry{pair_count[p], pairs.left(p), pairs.right(p)});

  std::vector<std::string> token_bytes(256);
  for (int i = 0; i < 256; ++i) token_bytes[i] = std::string(1, static_cast<char>(kByteOrder[i]));
  std::unordered_map<std::string, int32_t> id_of_bytes;
  for (int i = 0; i < 256; ++i) id_of_bytes.emplace(token_bytes[i], i);
  std::vector<std::pair<int32_t, int32_t>> merges;
  std::vector<uint32_t> touched_step;  // per pair: last merge step that created it
  std::vector<uint32_t> fresh;

  Progress progress("merges", static_cast<double>(target > 256 ? target - 256 : 0), "merges");
  while (token_bytes.size() < target && !heap.empty()) {
    HeapEntry top = heap.top();
    heap.pop();
    uint32_t p = pairs.find(top.left, top.right);
    if (pair_count[p] != top.count) {  // stale: counts only drop between pushes
      if (pair_count[p] > 0) heap.push(HeapEntry{pair_count[p], top.left, top.right});
      continue;
    }
    const int32_t a = top.left, b = top.right;
    std::string bytes = token_bytes[a] + token_bytes[b];
    auto [it, is_new] = id_of_bytes.emplace(bytes, static_cast<int32_t>(token_bytes.size()));
    const int32_t c = it->second;
    if (is_new) token_bytes.push_back(std::move(bytes));
    merges.emplace_back(a, b);
    const uint32_t step = static_cast<uint32_t>(merges.size());

    std::vector<uint32_t> words = std::move(where[p]);
    where[p] = {};
    fresh.clear();
    auto bump = [&](int32_t l, int32_t r, int64_t delta, uint32_t w) {
      uint32_t q = pair_of(l, r);
      pair_count[q] += delta;
      if (delta > 0) {
        if (where[q].empty() || where[q].back() != w) where[q].push_back(w);
        if (touched_step.size() <= q) touched_step.resize(pairs.size() + 1024, 0);
        if (touched_step[q] != step) {
          touched_step[q] = step;
          fresh.push_back(q);
        }
      }
    };
    for (uint32_t w : words) {
      int32_t* s = &sym[start[w]];
      const uint32_t n = len[w];
      const int64_t cw = count[w];
      uint32_t out = 0;
      for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
          if (out > 0) {
            bump(s[out - 1], a, -cw, w);
            bump(s[out - 1], c, cw, w);
          }
          if (i + 2 < n) {
            bump(b, s[i + 2], -cw, w);
            bump(c, s[i + 2], cw, w);
          }
          s[out++] = c;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      len[w] = out;
    }
    pair_count[p] = 0;
    for (uint32_t q : fresh)
      if (pair_count[q] > 0) heap.push(HeapEntry{pair_count[q], pairs.left(q), pairs.right(q)});
    if ((merges.size() & 255) == 0) progress.update(static_cast<double>(token_bytes.size() - 256));
  }
  progress.finish(fmt::format("{} merges, {} tokens", merges.size(), token_bytes.size()));
  if (token_bytes.size() < target)
    log_warn("the corpus ran out of pairs to merge: vocabulary has {} tokens, fewer than the {} asked for",
             token_bytes.size() + specials.size(), opt.vocab_size);
  return Tokenizer::from_merges(merges, opt.specials);
}

}  // namespace kormo::tok
