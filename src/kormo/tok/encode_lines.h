// Encoding text files line by line on many threads (`kormo tokenizer encode`).
//
// Promises: every input line gives one output record, in input order whatever
// the thread count; memory stays within a batch of about 8 MiB of text however
// large the input; the first line that cannot be encoded (invalid UTF-8 under
// NFC) stops the run with FILE:LINE, after every earlier line was written.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kormo/tok/tokenizer.h"

namespace kormo::tok {

enum class LineOutput {
  kIds,     // decimal ids separated by spaces, then '\n'; the line's newline is not encoded
  kBinary,  // uint32 little-endian ids; the line is encoded with its newline, so decoding gives the input back
  kPieces,  // the line's pre-tokenizer pieces (after normalisation) as a JSON array, then '\n'
};

struct EncodeLinesOptions {
  EncodeOptions encode;
  LineOutput output = LineOutput::kIds;
  int threads = 0;  // 0: all hardware threads
};

// Reads each file in turn ("-" is stdin; .zst is decompressed) and hands
// `write` the output bytes in order.
void encode_lines(const Tokenizer& tok, const std::vector<std::string>& files, const EncodeLinesOptions& opt,
                  const std::function<void(std::string_view)>& write);

}  // namespace kormo::tok
