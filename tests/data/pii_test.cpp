#include "kormo/data/pii.h"

#include <gtest/gtest.h>

namespace kormo::data {
namespace {

std::string mask(const std::string& s, PiiCounts* out = nullptr) {
  PiiCounts c;
  std::string r = mask_pii(s, c);
  if (out) *out = c;
  return r;
}

TEST(Pii, Emails) {
  PiiCounts c;
  EXPECT_EQ(mask("연락처: hong.gildong+work@example.co.kr 로 보내세요.", &c), "연락처: <EMAIL> 로 보내세요.");
  EXPECT_EQ(c.email, 1u);
  EXPECT_EQ(mask("Write to a@b.c or user@localhost."), "Write to a@b.c or user@localhost.");  // no valid TLD
  EXPECT_EQ(mask("@mention and me@x.org."), "@mention and <EMAIL>.");
}

TEST(Pii, KoreanAndInternationalPhones) {
  PiiCounts c;
  EXPECT_EQ(mask("휴대폰 010-1234-5678, 사무실 02-123-4567", &c), "휴대폰 <PHONE>, 사무실 <PHONE>");
  EXPECT_EQ(c.phone, 2u);
  EXPECT_EQ(mask("전화 01012345678 로"), "전화 <PHONE> 로");
  EXPECT_EQ(mask("Call +82 10 1234 5678 or +82-2-3146-1316."), "Call <PHONE> or <PHONE>.");
  EXPECT_EQ(mask("+1 (555) 123-4567"), "<PHONE>");
  EXPECT_EQ(mask("call 010-1234-5678 2024"), "call <PHONE> 2024");
}

TEST(Pii, ResidentRegistrationNumbers) {
  PiiCounts c;
  EXPECT_EQ(mask("주민번호 900101-1234567 입니다", &c), "주민번호 <RRN> 입니다");
  EXPECT_EQ(c.rrn, 1u);
  // Month 13 is no date: not an RRN (and not any other class).
  EXPECT_EQ(mask("코드 901301-1234567"), "코드 901301-1234567");
}

TEST(Pii, CardsNeedLuhn) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  PiiCounts c;
  EXPECT_EQ(mask("card 4111 1111 1111 1111 ok", &c), "card <CARD> ok");
  EXPECT_EQ(c.card, 1u);
  EXPECT_EQ(mask("card 4111-1111-1111-1112 no"), "card 4111-1111-1111-1112 no");
}

TEST(Pii, IpAddresses) {
  PiiCounts c;
  EXPECT_EQ(mask("server 192.168.0.1 and 2001:db8::8a2e:370:7334 and fe80::1ff:fe23:4567:890a", &c),
            "server <IP> and <IP> and <IP>");
  EXPECT_EQ(c.ip, 3u);
  EXPECT_EQ(mask("version 1.2.3.4.5 and 999.1.1.1"), "version 1.2.3.4.5 and 999.1.1.1");
  EXPECT_EQ(mask("at 12:30:45 sharp"), "at 12:30:45 sharp");
}

TEST(Pii, LeavesDatesYearsPricesAlone) {
  std::string s = "2024-01-15 회의, 1999년, 가격 12,000원, 3.14, 제3조 제2항, 1,234,567명";
  EXPECT_EQ(mask(s), s);
  EXPECT_EQ(mask("no digits at all 한글만"), "no digits at all 한글만");
}

}  // namespace
}  // namespace kormo::data
