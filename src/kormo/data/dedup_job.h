// The dedup verb's driver: two streaming passes over the documents (1: hashes
// and MinHash signatures on all threads; 2: write keepers, reject the rest), so
// memory is ~0.5 KB per document whatever the text size. Global by nature, so
// it runs on one process (rank 0) after the sharded stages have merged.
#pragma once

#include <string>
#include <vector>

#include "kormo/data/dedup.h"
#include "kormo/data/document.h"

namespace kormo::data {

struct DedupOptions {
  bool exact = true, near = true;
  MinHashParams minhash;
  std::string text_field = "text";
  // Names the input in rejects' "where" instead of its path (the pipeline's
  // intermediate file lives in a work directory whose name must not matter).
  std::string where_label;
};

// Reads `inputs`, writes kept documents to `output` and removed ones (plus bad
// input lines) to `rejects`. Returns counts by rule.
Counts dedup_files(const std::vector<std::string>& inputs, const std::string& output, const std::string& rejects,
                   const DedupOptions& opt);

}  // namespace kormo::data
