#include "kormo/tok/encode_lines.h"

#include <omp.h>

#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

#include "kormo/text/unicode.h"
#include "kormo/tok/pretokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::tok {
namespace {

constexpr size_t kBatchBytes = 8u << 20;

void render_ids(const std::vector<int32_t>& ids, bool binary, std::string& r) {
  if (binary) {
    r.resize(ids.size() * 4);
    for (size_t k = 0; k < ids.size(); ++k) {
      uint32_t v = static_cast<uint32_t>(ids[k]);
      unsigned char b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
      std::memcpy(&r[k * 4], b, 4);
    }
    return;
  }
  char buf[16];
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k) r.push_back(' ');
    auto res = std::to_chars(buf, buf + sizeof buf, ids[k]);
    r.append(buf, res.ptr);
  }
  r.push_back('\n');
}

std::string render_pieces(std::string_view line, const EncodeOptions& eo) {
  std::string norm = eo.normalize ? text::normalize(line, text::NormForm::kNFC) : std::string(line);
  nlohmann::json arr = nlohmann::json::array();
  for_each_piece(norm, [&](std::string_view p) { arr.push_back(std::string(p)); });
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

void encode_lines(const Tokenizer& tok, const std::vector<std::string>& files, const EncodeLinesOptions& opt,
                  const std::function<void(std::string_view)>& write) {
  const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
  const bool binary = opt.output == LineOutput::kBinary;
  // Lines are read serially into one arena (to know file:line) and rendered in
  // parallel into per-line strings, which are then written in order.
  std::string arena;
  std::vector<std::pair<size_t, size_t>> lines;      // (offset, length) in arena
  std::vector<std::pair<uint32_t, uint64_t>> where;  // (file index, line number) for errors
  std::vector<std::string> rendered, errors;
  auto flush = [&] {
    rendered.assign(lines.size(), {});
    errors.assign(lines.size(), {});
#pragma omp parallel for num_threads(threads) schedule(dynamic, 64)
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string_view line(arena.data() + lines[i].first, lines[i].second);
      try {
        if (opt.output == LineOutput::kPieces) {
          rendered[i] = render_pieces(line, opt.encode);
        } else {
          std::vector<int32_t> ids;
          tok.encode_append(line, ids, opt.encode);
          render_ids(ids, binary, rendered[i]);
        }
      } catch (const std::exception& ex) {
        errors[i] = ex.what();
      }
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!errors[i].empty()) fail("{}:{}: {}", files[where[i].first], where[i].second, errors[i]);
      write(rendered[i]);
    }
    arena.clear();
    lines.clear();
    where.clear();
  };
  for (uint32_t f = 0; f < files.size(); ++f) {
    LineReader r(files[f]);
    std::string_view line;
    uint64_t before = 0;
    while (r.next(line)) {
      lines.emplace_back(arena.size(), line.size());
      arena.append(line);
      // LineReader strips '\n' but counts it in bytes_read(); binary output
      // encodes it with its line (and adds none to a last line that had none).
      const bool had_newline = r.bytes_read() - before > line.size();
      before = r.bytes_read();
      if (binary && had_newline) {
        arena.push_back('\n');
        ++lines.back().second;
      }
      where.emplace_back(f, r.line_number());
      if (arena.size() >= kBatchBytes) flush();
    }
  }
  flush();
}

}  // namespace kormo::tok
