// kormo shard: write .ktok token shards from curated documents + a tokenizer,
// or from pre-tokenized ids.
#include "kormo/shard/docs.h"
#include "kormo/shard/format.h"
#include "kormo/shard/ids.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "verb.h"

namespace cmd_shard {

void setup(CLI::App& verb) {
  static kormo::shard::IdsShardOptions ids;
  static kormo::shard::DocsShardOptions docs;
  static std::vector<std::string> doc_inputs, id_inputs;
  static std::vector<std::pair<std::string, std::string>> mask_spans;
  static std::string out;
  static uint32_t source_id = 0;
  verb.add_option("--docs", doc_inputs, "Documents JSON Lines (.jsonl/.jsonl.zst; globs, directories)");
  verb.add_option("--tokenizer", docs.tokenizer, "tokenizer.json or its directory (with --docs)");
  verb.add_option("--text-field", docs.text_field, "JSON field holding the text (with --docs)")
      ->default_val("text");
  verb.add_option("--mask-span", mask_spans,
                  "OPEN CLOSE special tokens: tokens from OPEN through CLOSE are not trained on (with --docs; "
                  "repeatable)");
  verb.add_option("--ids", id_inputs, "Pre-tokenized JSON Lines instead of documents");
  verb.add_option("--vocab-size", ids.vocab_size, "Vocabulary size (with --ids; ids must be below it)")
      ->check(CLI::Range(uint32_t{1}, kormo::shard::kMaxVocab));
  verb.add_option("--out", out, "Output shard (.ktok)")->required();
  verb.add_option("--source-id", source_id, "Source id stored with every document of this shard");
  verb.footer(
      "Documents become BOS + tokens + EOT, so the loader and attention mask see document boundaries.\n"
      "With --mask-span, the marker text in documents becomes the special tokens and the shard's loss mask\n"
      "is 0 from each OPEN through the next CLOSE (both included).\n"
      "Pre-tokenized lines: {\"ids\": [int...], \"lang\": \"ko\", \"bytes\": N, \"synthetic\": bool} (only ids required).\n\n"
      "Examples:\n"
      "  kormo shard --docs curated.jsonl.zst --tokenizer tok/ --out shards/web.ktok\n"
      "  kormo shard --docs reasoning.jsonl --tokenizer tok/ --mask-span '<think>' '</think>' --out shards/r.ktok\n"
      "  kormo shard --ids ids.jsonl --vocab-size 32000 --out shards/ids.ktok");
  verb.callback([] {
    if (doc_inputs.empty() == id_inputs.empty()) kormo::fail_usage("give exactly one of --docs or --ids");
    if (!doc_inputs.empty()) {
      if (docs.tokenizer.empty()) kormo::fail_usage("--docs needs --tokenizer");
      docs.inputs = kormo::expand_inputs(doc_inputs);
      docs.out_path = out;
      docs.source_id = source_id;
      for (const auto& [open, close] : mask_spans) docs.mask_spans.push_back({open, close});
      kormo::shard::shard_from_docs(docs);
    } else {
      if (ids.vocab_size == 0) kormo::fail_usage("--ids needs --vocab-size");
      if (!mask_spans.empty()) kormo::fail_usage("--mask-span needs --docs (it names tokenizer special tokens)");
      ids.inputs = kormo::expand_inputs(id_inputs);
      ids.out_path = out;
      ids.source_id = source_id;
      kormo::shard::shard_from_ids(ids);
    }
  });
}

KORMO_VERB("shard", "Write .ktok token shards from documents + tokenizer (or pre-tokenized ids)", 40, setup);

}  // namespace cmd_shard
