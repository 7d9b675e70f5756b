// JSON parsing that never throws on bad input.
//
// nlohmann's parse(..., allow_exceptions=false) still throws out_of_range for
// numbers that overflow a double ("1e2102"), which a fuzzer found; every
// reader of untrusted JSON goes through this instead.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace kormo {

// The parsed value, or a discarded value (is_discarded()) for anything invalid.
inline nlohmann::json parse_json_or_discarded(std::string_view text) {
  try {
    return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

}  // namespace kormo
