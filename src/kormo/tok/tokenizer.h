// A byte-level BPE tokenizer stored as a Hugging Face tokenizer.json.
//
// Promises:
//  - encode() gives the ids HF `tokenizers` gives for the same tokenizer.json:
//    NFC normaliser, Qwen2 split pre-tokenizer (pretokenizer.h), GPT-2 byte-level
//    alphabet, BPE merges applied lowest rank first (ties: leftmost).
//  - decode(encode(x)) == NFC(x) for valid UTF-8 x (== x with normalize=false).
//  - Loads what save() writes and byte-level BPE files from HF whose
//    pre-tokenizer is the Qwen2 split (Qwen2, kormo) or GPT-2's ByteLevel regex
//    (GPT-2, RoBERTa without prefix space); anything else is rejected with a
//    message naming the file and the unsupported part.
//  - All const methods are thread-safe; encode() keeps a per-thread word cache.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kormo::tok {

// The Qwen2 split regex, as written into tokenizer.json.
inline constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The special tokens of a KORMo tokenizer, in the order their ids follow the merges.
struct SpecialTokenNames {
  std::string bos = "<|BOS|>";
  std::string eot = "<|EOT|>";
  std::string pad = "<|PAD|>";
  std::string bot = "<|BOT|>";
  std::string think = "<think>";
  std::string think_end = "</think>";
  std::vector<std::string> extra;  // further special tokens, ids after think_end
  std::vector<std::string> all() const;
};

// Token ids of the special tokens; -1 where the tokenizer has none.
struct SpecialIds {
  int32_t bos = -1, eot = -1, pad = -1, bot = -1, think = -1, think_end = -1;
};

struct AddedToken {
  int32_t id;
  std::string content;
  bool special;  // skipped by decode(skip_special=true)
};

struct EncodeOptions {
  // Turn the text of special tokens (e.g. "<|EOT|>") into their ids, as HF does
  // by default. Off: they are ordinary text (what untrusted input needs).
  bool allow_special = false;
  // Apply the NFC normaliser. Off: encode bytes as they are (decode gives them back).
  bool normalize = true;
};

class Tokenizer {
 public:
  // Reads tokenizer.json (or a directory holding one). Throws kormo::Error.
  // Special ids come from the KORMo names; for a directory whose tokenizer
  // lacks them, bos/eot/pad fall back to tokenizer_config.json's
  // bos_token/eos_token/pad_token (how Qwen2 or GPT-2 directories name them).
  static Tokenizer load(const std::string& path);
  // Parses tokenizer.json text; `origin` names it in error messages.
  static Tokenizer from_json(std::string_view json, const std::string& origin);
  // Builds a tokenizer from trained merges (pairs of existing ids, rank order;
  // ids 0..255 are the byte tokens in kByteOrder) and appends the specials.
  static Tokenizer from_merges(const std::vector<std::pair<int32_t, int32_t>>& merges,
                               const SpecialTokenNames& specials);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // tokenizer.json text (deterministic bytes for the same tokenizer).
  std::string to_json() const;
  // Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json
  // into dir atomically (each file appears complete or not at all).
  void save(const std::string& dir, int model_max_length = 4096) const;

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const;
  // Appends to out (no clear), for callers that batch many documents.
  void encode_append(std::string_view text, std::vector<int32_t>& out, const EncodeOptions& opt = {}) const;
  // Raw bytes of the tokens concatenated; may end inside a UTF-8 sequence when
  // ids are a prefix of an encoding. Throws on ids outside [0, vocab_size()).
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // Id of a token given as its tokenizer.json string (byte-level form for BPE
  // tokens, plain text for added tokens), or -1.
  int32_t token_to_id(std::string_view token) const;
  // The tokenizer.json string of an id ("" for an unused id).
  const std::string& id_to_token(int32_t id) const;
  // The raw bytes an id decodes to.
  std::string_view token_bytes(int32_t id) const;
  // One past the largest id (BPE vocabulary plus added tokens).
  size_t vocab_size() const;
  bool is_special(int32_t id) const;
  const SpecialIds& special_ids() const;
  const std::vector<AddedToken>& added_tokens() const;
  // Merges in rank order as (left id, right id) -> result id.
  struct Merge {
    int32_t left, right, result;
  };
  const std::vector<Merge>& merges() const;
  // Ids of the single-byte tokens: byte_token(b) decodes to the byte b.
  int32_t byte_token(uint8_t b) const;

  // BPE of one pre-tokenized piece (no normalisation, no specials), appended to out.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  Tokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kormo::tok
