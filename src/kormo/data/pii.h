// PII masking: replaces personal identifiers by placeholders.
//
// Hand-written scanners (no regex engine): e-mail addresses -> <EMAIL>; phone
// numbers (Korean 010-1234-5678, 02-123-4567, +82 10 1234 5678, other
// +country numbers) -> <PHONE>; Korean resident registration numbers
// (YYMMDD-GNNNNNN with a valid date and gender digit) -> <RRN>; card-like
// numbers (13-19 digits, optionally grouped, passing the Luhn check) -> <CARD>;
// IPv4 (four 0-255 parts) and IPv6 (hex groups with :: or 7 colons) -> <IP>.
// Dates, years, prices and version numbers are left alone (tests show which).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace kormo::data {

struct PiiCounts {
  size_t email = 0, phone = 0, rrn = 0, card = 0, ip = 0;
  size_t total() const { return email + phone + rrn + card + ip; }
};

std::string mask_pii(std::string_view text, PiiCounts& counts);

bool luhn_valid(std::string_view digits);

}  // namespace kormo::data
