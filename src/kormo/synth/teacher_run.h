// Running a teacher program (program.h) for days: requests to the teachers, raw answers
// kept in append-only shards, and the filtered output with provenance, summary and
// diversity report rebuilt from those shards at the end of every invocation.
//
// The output directory (Program::output):
//   raw/part-NNNNN.jsonl  one shard per invocation; one line per finished item
//                         ({"key","item","status":"ok"|"failed",…}, docs/FORMATS.md),
//                         written whole with one write(2), and an {"end":true,…} line
//                         when the invocation ended cleanly
//   synth.jsonl           kept outputs in plan order (conversations or documents)
//   rejects.jsonl         rejected outputs with their rule (data's rejects layout)
//   summary.json          counts per rule, requests, tokens, cost, errors by reason
//   diversity.json        diversity_stats() of the kept outputs: all, and per teacher
//   .lock                 flock held while a generator runs (a second one is refused)
//
// Promises:
//  - A key with an "ok" record is never requested again: kill -9 at any moment loses at
//    most the requests in flight (a torn last line of a shard is ignored). A "failed" key
//    (retries used up, or a 4xx) is asked again by the next invocation.
//  - Budgets count every request sent and the tokens the servers reported, over all
//    shards; a request is only sent when its worst case (prompt bytes + max_tokens) fits
//    what is left of the token budget.
//  - The output files depend only on the config, the seeds and the shards' answers, not
//    on the order answers arrived in or on where a kill fell.
#pragma once

#include <string>

#include "kormo/data/document.h"

namespace kormo::synth {

struct TeacherRunOptions {
  std::string config;  // the program's TOML
  std::string output;  // overrides [program] output when not empty
  bool requests = true;  // false: only rebuild the output from the shards
};

struct TeacherRunResult {
  size_t planned = 0, done = 0, failed = 0, pending = 0;
  bool budget_exhausted = false, stopped = false;  // stopped: SIGTERM/SIGINT
  data::Counts counts;                             // the summary's counts
};

// The library entry point: `kormo synth run`, and the stage a pipeline can call.
TeacherRunResult run_teacher_program(const TeacherRunOptions& opt);

}  // namespace kormo::synth
