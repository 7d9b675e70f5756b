// Packing data loader for pretraining.
//
// Promises:
//  - Rows hold seq_len + 1 tokens packed from whole documents (a document that does
//    not fit continues in a later row of the same source); inputs are tokens 0..T-1,
//    targets tokens 1..T. Each row's documents are segments (Batch::doc), so attention
//    and RoPE positions restart per document.
//  - Ignored targets (-100, loss_weight 0): a target in the next document (the last
//    token of a document does not predict the next one), padding ids, and tokens whose
//    shard loss mask is 0 (e.g. <think> … </think> spans masked by `kormo shard`).
//  - Sources are mixed per document chunk by weight; each source walks a permutation
//    of its training documents, reshuffled every epoch. Everything follows from the
//    seed: same seed and state() → same batches, so restore(state()) resumes exactly.
//  - Data parallelism: with world W, rank r and batch_size B, next_train() walks the
//    stream as one loader with batch_size W·B would and returns rows [r·B, (r+1)·B) of
//    that global batch; the W ranks together see exactly that batch. state() is the
//    global position, the same on every rank. validation() ignores rank and world.
//  - A document belongs to the validation split when the hash of (shard file name,
//    document index) falls under val_fraction; it never appears in training batches.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "kormo/util/batch.h"
#include "kormo/shard/reader.h"
#include "kormo/util/rng.h"

namespace kormo::shard {

struct SourceSpec {
  std::string name;
  std::vector<std::string> shards;  // files (already expanded)
  double weight = 1.0;
};

struct LoaderOptions {
  int64_t batch_size = 1;
  int64_t seq_len = 128;
  uint64_t seed = 0;
  double val_fraction = 0.0;
  int32_t pad_id = -1;
  int rank = 0, world = 1;  // this process's slice of each global batch of world × batch_size rows
};

// A batch plus what evaluation needs per target position.
struct LoadedBatch {
  Batch batch;
  std::vector<uint8_t> lang;        // language id of each target's document
  std::vector<float> target_bytes;  // UTF-8 bytes attributed to each target (doc bytes / doc tokens)
  std::vector<float> loss_weight;   // 1 where the target is trained on, 0 where ignored (target < 0)
};

// B rows × T positions with nothing to train on: inputs and segments 0, targets -100,
// loss weights 0 (what loaders fill row by row; unfilled rows stay ignored).
LoadedBatch empty_batch(int64_t B, int64_t T);

class DataLoader {
 public:
  DataLoader(const std::vector<SourceSpec>& sources, const LoaderOptions& opts);
  ~DataLoader();

  uint32_t vocab_size() const { return vocab_; }
  uint64_t train_docs() const;
  uint64_t val_docs() const;
  LoadedBatch next_train();
  // The validation split packed in a fixed order: each source's validation documents
  // in turn, up to max_tokens / sources target positions each (so every source and
  // language is measured); a source's last batch is padded with ignored rows.
  std::vector<LoadedBatch> validation(int64_t max_tokens) const;

  nlohmann::json state() const;
  // Throws Error if the state was saved with different data (document counts differ).
  void restore(const nlohmann::json& state);

 private:
  struct DocRef {
    uint32_t shard;
    uint64_t doc;
  };
  struct Source {
    std::string name;
    double weight;
    std::vector<DocRef> docs;
    std::vector<uint64_t> order;
    uint64_t epoch = 0, index = 0, offset = 0;
  };
  struct Chunk {
    const ShardReader* shard;
    uint64_t doc, begin, count;
  };
  void shuffle(Source& s);
  std::vector<Chunk> next_row();  // advances the training stream by one row
  void fill_row(const std::vector<Chunk>& chunks, int64_t row, LoadedBatch& out) const;

  LoaderOptions opts_;
  uint32_t vocab_ = 0;
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<Source> sources_;
  std::vector<std::vector<DocRef>> val_;  // per source
  Rng rng_;
};

}  // namespace kormo::shard
