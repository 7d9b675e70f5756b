// kormo shard: write .ktok token shards. Until the tokenizer verb is wired in, input
// is pre-tokenized JSON Lines: {"ids": [...], "lang": "ko", "bytes": 123} per document.
#include "kormo/shard/ids.h"
#include "kormo/shard/reader.h"
#include "kormo/util/io.h"
#include "verb.h"

namespace {

void setup(CLI::App& verb) {
  static kormo::shard::IdsShardOptions o;
  static std::vector<std::string> inputs;
  verb.add_option("--ids", inputs, "Pre-tokenized JSON Lines (.jsonl or .jsonl.zst; globs and directories)")
      ->required();
  verb.add_option("--vocab-size", o.vocab_size, "Vocabulary size (token ids must be below it)")->required();
  verb.add_option("--out", o.out_path, "Output shard (.ktok)")->required();
  verb.add_option("--source-id", o.source_id, "Source id stored with documents that have no \"source\" field");
  verb.footer(
      "Each line: {\"ids\": [int...], \"lang\": \"ko\"|\"en\"|..., \"bytes\": UTF-8 bytes of the text (or \"text\"),\n"
      "            \"synthetic\": bool, \"source\": int} (all but ids optional).");
  verb.callback([] {
    o.inputs = kormo::expand_inputs(inputs);
    kormo::shard::shard_from_ids(o);
  });
}

}  // namespace

KORMO_VERB("shard", "Write .ktok token shards (from pre-tokenized ids JSON Lines)", 40, setup);
