// Teacher programs: synthetic data asked of teacher LLMs, declared in one TOML file
// (docs/synth.md § Teacher programs).
//
// A program is seed material (documents, topics or aligned en/ko pairs) crossed with
// personas, styles, audiences, lengths and task types, rendered through one Jinja
// template per task, and sent to weighted teacher endpoints with their own sampling.
//
// Promises:
//  - The plan is a pure function of the config and the seed files: item i's seed is
//    i / items_per_seed, and its task, persona, style, audience, length and teacher are
//    drawn from a stream seeded with XXH3("<program>/<i>", seed). Adding seeds at the end
//    leaves earlier items as they were.
//  - An item's key hashes everything that shapes its request (program, seed id and text,
//    replica, task, persona, style, audience, length, teacher name, model and sampling,
//    the rendered prompt): equal keys are the same request, so a finished key is never
//    asked again.
//  - The config never holds a secret: a teacher names the environment variable of its API
//    key (api_key_env); an `api_key` key is refused.
#pragma once

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kormo::synth {

// The task types and the seeds each accepts.
//   rewrite-ko: a document rewritten in Korean for a Korean reader (documents)
//   translate:  English → Korean (pairs, English documents)
//   explainer:  a textbook-style section on the seed (any seed)
//   qa:         a question and its answer about the seed (any seed)
//   reasoning:  a problem about the seed, reasoned step by step, answered in Korean (any seed)
std::vector<std::string> teacher_tasks();

struct Teacher {
  std::string name;         // the table's name: [teachers.NAME]
  std::string url;          // http(s) base URL, e.g. http://127.0.0.1:8080/v1 (POST url + /chat/completions)
  std::string model;        // the "model" field sent
  std::string api_key_env;  // environment variable holding the bearer token ("" = none)
  std::string ca_file;      // PEM CA bundle for an https url ("" = the system store)
  double weight = 1;
  int concurrency = 4;               // requests in flight at once
  double requests_per_second = 0;    // 0 = unlimited
  double timeout_s = 120, connect_timeout_s = 10;
  int max_attempts = 6;              // per item, first try included
  double backoff_s = 1, max_backoff_s = 60;
  double price_input = 0, price_output = 0;  // cost per million prompt / completion tokens
  nlohmann::json sampling = nlohmann::json::object();  // sent with every request
  int64_t max_tokens() const;                         // sampling.max_tokens (default 1024)
};

// One [teachers.NAME] table, checked; errors name `where`, the table and the key. A
// `kormo run` config's [synth.teachers.NAME] tables are checked with it before they become
// the program's.
Teacher teacher_from_toml(const std::string& name, const toml::node& node, const std::string& where);

struct Seed {
  std::string id, text;
  std::string lang;  // the document's language ("" for topics)
  std::string kind;  // "document", "topic" or "pair" (text = the English side)
};

struct FilterOptions {
  size_t min_chars = 20, max_chars = 20000;  // the answer, in code points
  double min_lang_score = 0.5;               // identify_language() must give `language` at least this (0: off)
  bool refusals = true;                      // refusal and meta-commentary patterns
  std::vector<std::string> extra_refusals;   // more patterns (matched case-insensitively for ASCII)
  bool dedup = true;                         // exact and near duplicates of kept outputs and of seeds
  double near_threshold = 0.7;               // MinHash Jaccard estimate
  bool reject_truncated = true;              // finish_reason "length"
  std::vector<std::string> decontam;         // evaluation files (data::DecontamIndex)
};

struct Program {
  std::string path;  // the config file
  std::string name;
  uint64_t seed = 0;
  int64_t items_per_seed = 1;
  std::string language = "ko";         // target language of every output
  std::string format = "conversation";  // or "document"
  std::string output;                  // directory (relative paths: to the working directory)
  std::vector<std::string> seed_files;  // documents and pairs files read
  std::vector<Seed> seeds;
  std::vector<std::string> tasks, personas, styles, audiences, lengths;
  std::map<std::string, std::string> templates;  // task -> Jinja source
  std::vector<Teacher> teachers;
  int64_t max_requests = 0, max_tokens = 0;  // budgets over the whole output directory (0 = none)
  FilterOptions filters;
};

// Reads and checks the config and its seed files; errors name the file and key.
Program load_program(const std::string& path);
// The same from a parsed config; errors name `where`. Without `read_seeds` the seed files
// are not read (the program has only its topics): a check of a config whose seed files
// do not exist yet.
Program program_from_toml(const toml::table& root, const std::string& where, bool read_seeds = true);

struct PlanItem {
  size_t index = 0, seed = 0;
  int64_t replica = 0;
  std::string task, persona, style, audience, length;
  size_t teacher = 0;
  std::string template_id;  // "<task>.default" or "<task>.custom"
  std::string prompt;       // the rendered user message
  std::string key;          // XXH3-128 hex of the request's parameters
};

std::vector<PlanItem> make_plan(const Program& p);

// What `kormo synth plan` prints for an item: one JSON line without its '\n'.
std::string plan_item_line(const Program& p, const PlanItem& item);

// The /chat/completions body of an item: the teacher's sampling, the prompt as the user
// message, a per-item `seed` when the sampling sets none, and `user` = the key.
nlohmann::json request_body(const Program& p, const PlanItem& item);

// A qa answer in the form the default template asks for: "질문: …" then "답: …", each at
// the start of a line (markdown emphasis and headings allowed), as the question and the
// answer; nothing when the teacher wrote another form or left a part empty.
std::optional<std::pair<std::string, std::string>> split_question_answer(const std::string& answer);

}  // namespace kormo::synth
