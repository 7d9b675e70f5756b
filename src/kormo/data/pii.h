// PII masking: replaces personal identifiers by placeholders.
//
// Hand-written scanners (no regex engine): e-mail addresses -> <EMAIL>; phone
// numbers (Korean 010-1234-5678, 02-123-4567, (02) 123-4567, +82 10 1234 5678,
// other +country numbers) -> <PHONE>; Korean resident registration numbers ->
// <RRN>: YYMMDD-GNNNNNN (also with spaces around the hyphen) with a valid
// month/day and gender digit 1-8, and the same without the hyphen (13 digits,
// or 6 + 7 split by a space) only when the check digit also holds, since bare
// 13-digit numbers are common and RRNs issued since 2020 carry no check digit
// that a hyphenated one would need; business registration numbers
// XXX-XX-XXXXX passing the National Tax Service check digit -> <BRN>; bank
// accounts (3-4 hyphenated groups, 10-14 digits, in a known Korean bank layout
// or within 30 bytes after a bank word such as 계좌/은행/입금/국민/신한) ->
// <ACCOUNT>; card-like numbers (13-19 digits, optionally grouped, passing the
// Luhn check) -> <CARD>; IPv4 (four 0-255 parts) and IPv6 (hex groups with ::
// or 7 colons) -> <IP>.
// An identifier starts at any byte that does not continue an ASCII token, so
// Hangul, ':', '(', '[', quotes and '/' right before it do not hide it.
// Dates, times, years, prices, versions and ISBNs are left alone (tests show which).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace kormo::data {

struct PiiCounts {
  size_t email = 0, phone = 0, rrn = 0, brn = 0, account = 0, card = 0, ip = 0;
  size_t total() const { return email + phone + rrn + brn + account + card + ip; }
};

std::string mask_pii(std::string_view text, PiiCounts& counts);

bool luhn_valid(std::string_view digits);

}  // namespace kormo::data
