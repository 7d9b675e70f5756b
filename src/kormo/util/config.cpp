#include "kormo/util/config.h"

#include <fmt/format.h>

#include <sstream>

#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo {

toml::table load_toml(const std::string& path, const std::string& text) {
  std::string src = path.empty() ? text : read_file(path);
  std::string name = path.empty() ? "<embedded config>" : path;
  try {
    return toml::parse(src, name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    fail("{}:{}:{}: invalid TOML: {}", name, b.line, b.column, e.description());
  }
}

static const toml::table kEmpty;

ConfigSection::ConfigSection(const toml::table* table, std::string where)
    : table_(table ? table : &kEmpty), where_(std::move(where)) {}

bool ConfigSection::has(const std::string& key) const { return table_->contains(key); }

const toml::node* ConfigSection::find(const std::string& key) {
  used_.insert(key);
  return table_->get(key);
}

std::string ConfigSection::at(const toml::node& n) const {
  const auto& s = n.source();
  if (s.begin.line == 0) return where_;
  return fmt::format("{} (line {})", where_, s.begin.line);
}

std::string ConfigSection::get_string(const std::string& key, const std::string& def) {
  const toml::node* n = find(key);
  if (!n) return def;
  if (auto v = n->value<std::string>()) return *v;
  fail("{}: '{}' must be a string", at(*n), key);
}

std::string ConfigSection::require_string(const std::string& key) {
  if (!has(key)) fail("{}: missing required key '{}'", where_, key);
  return get_string(key, "");
}

int64_t ConfigSection::get_int(const std::string& key, int64_t def) {
  const toml::node* n = find(key);
  if (!n) return def;
  if (n->is_integer()) return n->as_integer()->get();
  fail("{}: '{}' must be an integer", at(*n), key);
}

double ConfigSection::get_double(const std::string& key, double def) {
  const toml::node* n = find(key);
  if (!n) return def;
  if (n->is_floating_point()) return n->as_floating_point()->get();
  if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
  fail("{}: '{}' must be a number", at(*n), key);
}

bool ConfigSection::get_bool(const std::string& key, bool def) {
  const toml::node* n = find(key);
  if (!n) return def;
  if (n->is_boolean()) return n->as_boolean()->get();
  fail("{}: '{}' must be true or false", at(*n), key);
}

std::vector<std::string> ConfigSection::get_strings(const std::string& key, const std::vector<std::string>& def) {
  const toml::node* n = find(key);
  if (!n) return def;
  std::vector<std::string> out;
  if (auto v = n->value<std::string>()) return {*v};
  const toml::array* arr = n->as_array();
  if (!arr) fail("{}: '{}' must be a string or a list of strings", at(*n), key);
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) fail("{}: '{}' must contain only strings", at(*n), key);
    out.push_back(*s);
  }
  return out;
}

void ConfigSection::bad_value(const std::string& key, const std::string& why) const {
  const toml::node* n = table_->get(key);
  fail("{}: '{}': {}", n ? at(*n) : where_, key, why);
}

ConfigSection ConfigSection::section(const std::string& key) {
  const toml::node* n = find(key);
  if (!n) return ConfigSection(nullptr, where_ + "." + key);
  if (!n->is_table()) fail("{}: '{}' must be a table", at(*n), key);
  return ConfigSection(n->as_table(), where_ + "." + key);
}

void ConfigSection::check_unused() const {
  std::vector<std::string> unknown;
  for (const auto& [k, v] : *table_)
    if (!used_.count(std::string(k.str()))) unknown.emplace_back(k.str());
  if (unknown.empty()) return;
  std::string known;
  for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
  std::string bad;
  for (const auto& k : unknown) bad += (bad.empty() ? "" : ", ") + k;
  fail("{}: unknown key(s) {}; accepted keys are: {}", where_, bad, known);
}

}  // namespace kormo
