// Fuzzes encode/decode: for any input, encoding without normalisation must
// decode to the same bytes; for valid UTF-8, encoding with NFC must decode to
// NFC(input); the pre-tokenizer pieces must cover the input exactly. The
// tokenizer is trained in-process from embedded bilingual text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"
#include "kormo/tok/pretokenizer.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/tok/trainer.h"
#include "kormo/util/io.h"

namespace {

const char* kCorpus[] = {
    "대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
    "모든 국민은 법 앞에 평등하다. 누구든지 성별·종교 또는 사회적 신분에 의하여 차별을 받지 아니한다.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Alice was beginning to get very tired of sitting by her sister on the bank.",
    "한국어와 English가 섞인 문장: GPT-4는 2024년 10월에 123,456개의 토큰을 처리했다.",
    "漢字 한자 ㅋㅋㅋ ㅠㅠ 😀👍 café naïve — “quotes” and 'single' it's we'll they're",
    "for (int i = 0; i < n; ++i) { sum += x[i] * 2; }  // code-like text\r\n",
};

kormo::tok::Tokenizer* g_tok = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  fs::path tmp = fs::temp_directory_path() / ("kormo_fuzz_corpus_" + std::to_string(::getpid()) + ".txt");
  std::string text;
  for (int rep = 0; rep < 20; ++rep)
    for (const char* line : kCorpus) text += std::string(line) + "\n";
  kormo::write_file_atomic(tmp.string(), text);
  kormo::tok::CorpusOptions co;
  co.threads = 1;
  kormo::tok::WordCounts wc = kormo::tok::count_words({tmp.string()}, co);
  fs::remove(tmp);
  kormo::tok::BpeOptions bo;
  bo.vocab_size = 1000;
  g_tok = new kormo::tok::Tokenizer(kormo::tok::train_bpe(std::move(wc), bo));
  // Exercise the tokenizer.json path as well: fuzz the reloaded copy.
  auto* reloaded = new kormo::tok::Tokenizer(kormo::tok::Tokenizer::from_json(g_tok->to_json(), "fuzz"));
  delete g_tok;
  g_tok = reloaded;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const kormo::tok::Tokenizer& tok = *g_tok;

  std::string joined;
  kormo::tok::for_each_piece(in, [&](std::string_view p) {
    if (p.empty()) std::abort();
    joined.append(p);
  });
  if (joined != in) std::abort();

  kormo::tok::EncodeOptions raw;
  raw.normalize = false;
  raw.allow_special = size > 0 && (data[0] & 1);
  if (tok.decode(tok.encode(in, raw)) != in) std::abort();

  if (kormo::text::is_valid_utf8(in)) {
    std::string nfc = kormo::text::normalize(in, kormo::text::NormForm::kNFC);
    kormo::tok::EncodeOptions norm;
    if (tok.decode(tok.encode(in, norm)) != nfc) std::abort();
    // Encoding is idempotent on NFC text.
    if (tok.encode(nfc, norm) != tok.encode(in, norm)) std::abort();
  }
  return 0;
}
