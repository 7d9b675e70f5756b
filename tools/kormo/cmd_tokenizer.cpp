// kormo tokenizer: train, encode, decode and measure byte-level BPE tokenizers.
#include <charconv>
#include <cstdio>
#include <memory>

#include "kormo/tok/encode_lines.h"
#include "kormo/tok/stats.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/tok/train_tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "verb.h"

namespace kormo::cli {
namespace cmd_tokenizer {

using namespace kormo::tok;

// Refuses an output that is one of the inputs or the tokenizer (-t may name its
// directory, whose tokenizer.json is the file read).
void check_output(const std::string& out, std::vector<std::string> inputs, const std::string& tok) {
  inputs.push_back(tok);
  inputs.push_back(tok + "/tokenizer.json");
  check_output_not_input(out, inputs);
}

// Output to a file (atomically) or to stdout.
class Output {
 public:
  explicit Output(const std::string& path) {
    if (!path.empty() && path != "-") file_ = std::make_unique<AtomicWriter>(path);
  }
  void write(std::string_view s) {
    if (file_) file_->write(s);
    else if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) fail("cannot write to stdout");
  }
  void commit() {
    if (file_) file_->commit();
    else std::fflush(stdout);
  }

 private:
  std::unique_ptr<AtomicWriter> file_;
};

// An option whose value a library parser reads: a bad value is a usage error naming the flag.
template <class T>
CLI::Option* add_parsed(CLI::App* app, const std::string& flag, T& into, T (*parse)(const std::string&),
                        const std::string& help) {
  return app->add_option_function<std::string>(
      flag,
      [&into, parse, flag](const std::string& v) {
        try {
          into = parse(v);
        } catch (const Error& e) {
          throw CLI::ValidationError(flag, e.what());
        }
      },
      help);
}

const char* kTrainHelp = R"(Learn a byte-level BPE tokenizer (Qwen2 pre-tokenizer, NFC, GPT-2 byte alphabet) and write
DIR/tokenizer.json, DIR/tokenizer_config.json and DIR/special_tokens_map.json, which Hugging Face
tokenizers/transformers load unchanged.

Inputs: plain text (one document per line) or JSON Lines ({"text": ..., "lang": ...}), optionally
.zst, given as files, directories or globs.

Examples:
  kormo tokenizer train -o tok/ --vocab-size 32000 corpus/*.jsonl.zst
  kormo tokenizer train -o tok/ --vocab-size 125041 --mix ko=0.5,en=0.5 --max-memory 8G ko/ en/
  kormo tokenizer train -o tok/ --vocab-size 4096 --on-invalid fail notes.txt)";

void setup_train(CLI::App& app) {
  auto c = std::make_shared<TokenizerTrainConfig>();
  auto* t = app.add_subcommand("train", "Learn a BPE tokenizer from text");
  t->footer(kTrainHelp);
  t->add_option("inputs", c->inputs, "Text or JSON Lines files, directories or globs (.zst ok)")->required();
  t->add_option("-o,--output", c->out_dir, "Output directory for tokenizer.json and the config files")->required();
  t->add_option("--vocab-size", c->bpe.vocab_size, "Total ids: 256 bytes + merges + special tokens (1K-256K)")
      ->check(CLI::Range(kMinVocabSize, kMaxVocabSize))
      ->capture_default_str();
  add_parsed(t, "--mix", c->corpus.mix, parse_mix,
             "Target language shares by bytes, e.g. ko=0.5,en=0.5 (others left out)");
  add_parsed(t, "--max-memory", c->corpus.max_memory, parse_byte_size,
             "Memory bound, e.g. 2G (default: half the RAM); rare words are dropped when it bites");
  add_parsed(t, "--max-input-bytes", c->corpus.max_input_bytes, parse_byte_size,
             "Read at most this much text, e.g. 500M");
  t->add_option("--threads", c->corpus.threads, "Worker threads (default: all cores)");
  add_parsed(t, "--format", c->corpus.format, parse_input_format,
             "Input format: auto (.jsonl = JSON Lines), text, jsonl")
      ->default_str("auto");
  add_parsed(t, "--on-invalid", c->corpus.on_invalid, parse_on_invalid,
             "Lines with invalid UTF-8: skip (counted, warned) or fail")
      ->default_str("skip");
  t->add_option("--text-field", c->corpus.text_field, "JSON field holding the text")->capture_default_str();
  t->add_option("--lang-field", c->corpus.lang_field, "JSON field holding the language (else guessed by script)")
      ->capture_default_str();
  t->add_option_function<std::vector<std::string>>(
      "--special", [c](const std::vector<std::string>& v) { c->bpe.specials = special_tokens_in_roles(v); },
      "Special tokens in the roles BOS EOT(=EOS) PAD BOT THINK THINK_END, then extras "
      "(default <|BOS|> <|EOT|> <|PAD|> <|BOT|> <think> </think>)");
  t->add_option("--model-max-length", c->model_max_length, "model_max_length in tokenizer_config.json")
      ->capture_default_str();
  t->callback([c] { train_tokenizer(*c); });
}

const char* kEncodeHelp = R"(Each input line becomes one output line of space-separated ids (the newline itself is not
encoded). With --binary the ids of every line, newline included, are written as uint32 little-endian,
so `decode --binary` gives the input back byte for byte (after NFC).

Examples:
  kormo tokenizer encode -t tok/ notes.txt > notes.ids
  echo '안녕하세요, world!' | kormo tokenizer encode -t tok/
  kormo tokenizer encode -t tok/ --binary -o corpus.u32 corpus.txt)";

void setup_encode(CLI::App& app) {
  struct Args {
    std::string tok, out;
    std::vector<std::string> inputs{"-"};
    bool binary = false, allow_special = false, no_normalize = false, pieces = false;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  auto* e = app.add_subcommand("encode", "Text to token ids");
  e->footer(kEncodeHelp);
  e->add_option("-t,--tokenizer", a->tok, "tokenizer.json or its directory")->required();
  e->add_option("inputs", a->inputs, "Text files (default: stdin)");
  e->add_option("-o,--output", a->out, "Output file (default: stdout)");
  e->add_flag("--binary", a->binary, "Write uint32 little-endian ids instead of text");
  e->add_flag("--allow-special", a->allow_special, "Turn special-token text like <|EOT|> into its id");
  e->add_flag("--no-normalize", a->no_normalize, "Skip NFC (encode the bytes as they are)");
  e->add_flag("--pieces", a->pieces, "Print each line's pre-tokenizer pieces as a JSON array instead of ids");
  e->add_option("--threads", a->threads, "Worker threads (default: all cores)");
  e->callback([a] {
    EncodeLinesOptions eo;
    eo.encode.allow_special = a->allow_special;
    eo.encode.normalize = !a->no_normalize;
    eo.output = a->pieces ? LineOutput::kPieces : a->binary ? LineOutput::kBinary : LineOutput::kIds;
    eo.threads = a->threads;
    std::vector<std::string> inputs = expand_inputs(a->inputs);
    check_output(a->out, inputs, a->tok);
    Output out(a->out);
    encode_lines(Tokenizer::load(a->tok), inputs, eo, [&](std::string_view s) { out.write(s); });
    out.commit();
  });
}

const char* kDecodeHelp = R"(Each input line of space-separated ids becomes one line of text; with --binary the input
is uint32 little-endian ids and the output is their bytes, nothing added.

Examples:
  kormo tokenizer decode -t tok/ notes.ids
  echo '1 2 3' | kormo tokenizer decode -t tok/
  kormo tokenizer decode -t tok/ --binary corpus.u32 -o corpus.txt)";

void setup_decode(CLI::App& app) {
  struct Args {
    std::string tok, out, input = "-";
    bool binary = false, skip_special = false;
  };
  auto a = std::make_shared<Args>();
  auto* d = app.add_subcommand("decode", "Token ids to text");
  d->footer(kDecodeHelp);
  d->add_option("-t,--tokenizer", a->tok, "tokenizer.json or its directory")->required();
  d->add_option("input", a->input, "Ids file (default: stdin)");
  d->add_option("-o,--output", a->out, "Output file (default: stdout)");
  d->add_flag("--binary", a->binary, "Read uint32 little-endian ids");
  d->add_flag("--skip-special", a->skip_special, "Leave special tokens out of the text");
  d->callback([a] {
    check_output(a->out, {a->input}, a->tok);
    Tokenizer tok = Tokenizer::load(a->tok);
    Output out(a->out);
    if (a->binary) {
      std::string raw = read_file(a->input);
      if (raw.size() % 4) fail("{}: {} bytes is not a whole number of uint32 ids", a->input, raw.size());
      std::vector<int32_t> ids(raw.size() / 4);
      for (size_t k = 0; k < ids.size(); ++k) {
        const auto* b = reinterpret_cast<const unsigned char*>(raw.data() + 4 * k);
        uint32_t v = b[0] | (uint32_t(b[1]) << 8) | (uint32_t(b[2]) << 16) | (uint32_t(b[3]) << 24);
        if (v >= tok.vocab_size()) fail("{}: id {} at byte {} is outside the vocabulary [0, {})", a->input, v, 4 * k, tok.vocab_size());
        ids[k] = static_cast<int32_t>(v);
      }
      out.write(tok.decode(ids, a->skip_special));
    } else {
      LineReader r(a->input);
      std::string_view line;
      std::vector<int32_t> ids;
      while (r.next(line)) {
        ids.clear();
        const char* p = line.data();
        const char* end = p + line.size();
        while (p < end) {
          while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',')) ++p;
          if (p == end) break;
          int64_t v = 0;
          auto res = std::from_chars(p, end, v);
          if (res.ec != std::errc() || (res.ptr < end && *res.ptr != ' ' && *res.ptr != '\t' && *res.ptr != '\r' && *res.ptr != ','))
            fail("{}:{}: expected space-separated token ids, found '{}'", a->input, r.line_number(),
                 std::string(p, std::min<size_t>(end - p, 20)));
          if (v < 0 || static_cast<uint64_t>(v) >= tok.vocab_size())
            fail("{}:{}: id {} is outside the vocabulary [0, {})", a->input, r.line_number(), v, tok.vocab_size());
          ids.push_back(static_cast<int32_t>(v));
          p = res.ptr;
        }
        out.write(tok.decode(ids, a->skip_special));
        out.write("\n");
      }
    }
    out.commit();
  });
}

const char* kStatsHelp = R"(Measures a tokenizer on held-out text: bytes/token and chars/token per language (the JSON
lang field, else a guess by script), the vocabulary's composition (Hangul, Han, Latin, digit, space,
other, partial-UTF-8 byte tokens), its longest tokens and the tokens the text never uses.

Examples:
  kormo tokenizer stats -t tok/ heldout/ko.txt heldout/en.txt
  kormo tokenizer stats -t tok/ --json heldout.jsonl > stats.json)";

void setup_stats(CLI::App& app) {
  struct Args {
    std::string tok, out;
    std::vector<std::string> inputs;
    bool json = false;
    StatsOptions so;
  };
  auto a = std::make_shared<Args>();
  auto* s = app.add_subcommand("stats", "Compression and vocabulary report on held-out text");
  s->footer(kStatsHelp);
  s->add_option("-t,--tokenizer", a->tok, "tokenizer.json or its directory")->required();
  s->add_option("inputs", a->inputs, "Held-out text or JSON Lines files")->required();
  s->add_option("-o,--output", a->out, "Output file (default: stdout)");
  s->add_flag("--json", a->json, "Write JSON instead of a table");
  s->add_option("--top", a->so.top, "How many longest / unused tokens to list")->capture_default_str();
  add_parsed(s, "--format", a->so.format, parse_input_format, "Input format: auto, text, jsonl")->default_str("auto");
  add_parsed(s, "--max-input-bytes", a->so.max_input_bytes, parse_byte_size, "Read at most this much text, e.g. 10M");
  s->callback([a] {
    Tokenizer tok = Tokenizer::load(a->tok);
    std::vector<std::string> inputs = expand_inputs(a->inputs);
    check_output(a->out, inputs, a->tok);
    TokenizerStats st = compute_stats(tok, inputs, a->so);
    Output out(a->out);
    out.write(a->json ? stats_to_json(tok, st) : stats_to_text(tok, st));
    out.commit();
  });
}

void setup_tokenizer(CLI::App& verb) {
  verb.require_subcommand(1);
  verb.footer(
      "Subcommands: train, encode, decode, stats (`kormo tokenizer <sub> --help` for options and examples).\n"
      "Format and design: docs/tokenizer.md.");
  setup_train(verb);
  setup_encode(verb);
  setup_decode(verb);
  setup_stats(verb);
}

KORMO_VERB("tokenizer", "Train, apply and measure the byte-level BPE tokenizer", 30, setup_tokenizer);

}  // namespace cmd_tokenizer

}  // namespace kormo::cli
