// TOML configuration with strict keys.
//
// Every stage reads its section through ConfigSection, which records the keys
// it reads; check_unused() then rejects typos ("lr_peek") with the file, line
// and the list of keys that section accepts, instead of silently ignoring them.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kormo {

// Parses a TOML file (or, if `path` is empty, `text`). Errors name file:line:col.
toml::table load_toml(const std::string& path, const std::string& text = "");

class ConfigSection {
 public:
  // `where` names the section in messages, e.g. "configs/demo.toml [train]".
  ConfigSection(const toml::table* table, std::string where);

  bool has(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& def);
  std::string require_string(const std::string& key);
  int64_t get_int(const std::string& key, int64_t def);
  double get_double(const std::string& key, double def);
  bool get_bool(const std::string& key, bool def);
  std::vector<std::string> get_strings(const std::string& key, const std::vector<std::string>& def);
  // A nested table; missing tables give an empty section.
  ConfigSection section(const std::string& key);
  const toml::table* table() const { return table_; }
  // Throws Error listing the unknown keys and the accepted ones.
  void check_unused() const;
  // Throws Error naming the key's place (section, line) and why its value is
  // wrong, for values a caller parses further (sizes, lists, names).
  [[noreturn]] void bad_value(const std::string& key, const std::string& why) const;

 private:
  const toml::node* find(const std::string& key);
  std::string at(const toml::node& n) const;

  const toml::table* table_;
  std::string where_;
  std::set<std::string> used_;
};

}  // namespace kormo
