#include "kormo/data/pii.h"

#include <gtest/gtest.h>

namespace kormo::data {
namespace pii_test {

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

// Every identifier kind is masked whatever character comes right before or
// after it: Hangul, ':', brackets, quotes, '/' (the text around it is kept).
TEST(Pii, EveryKindAtEveryBoundary) {
  struct KindCase {
    const char* raw;
    const char* tag;
    size_t PiiCounts::*count;
  };
  const KindCase kinds[] = {
      {"hong@example.com", "<EMAIL>", &PiiCounts::email},
      {"010-1234-5678", "<PHONE>", &PiiCounts::phone},
      {"02-123-4567", "<PHONE>", &PiiCounts::phone},
      {"01012345678", "<PHONE>", &PiiCounts::phone},
      {"+82-10-1234-5678", "<PHONE>", &PiiCounts::phone},
      {"900101-1234567", "<RRN>", &PiiCounts::rrn},
      {"900101 - 1234567", "<RRN>", &PiiCounts::rrn},
      {"9001011234568", "<RRN>", &PiiCounts::rrn},
      {"123-45-67891", "<BRN>", &PiiCounts::brn},
      {"110-123-456789", "<ACCOUNT>", &PiiCounts::account},
      {"4111-1111-1111-1111", "<CARD>", &PiiCounts::card},
      {"192.168.0.1", "<IP>", &PiiCounts::ip},
      {"fe80::1ff:fe23:4567:890a", "<IP>", &PiiCounts::ip},
  };
  const std::pair<const char*, const char*> around[] = {
      {"", ""},           {"번호 ", " 입니다"}, {"번호", "입니다"}, {"연락처:", ""}, {"연락처: ", "."},
      {"Tel:", ""},       {"(", ")"},           {"[", "]"},         {"\"", "\""},    {"'", "'"},
      {"/", "/"},         {"「", "」"},         {"<", ">"},         {"=", ","},      {"·", "·"},
      {"메일/전화:", ";"}, {"\t", "\n"},
  };
  for (const auto& k : kinds)
    for (const auto& [before, after] : around) {
      std::string in = std::string(before) + k.raw + after;
      PiiCounts c;
      EXPECT_EQ(mask(in, &c), std::string(before) + k.tag + after) << in;
      EXPECT_EQ(c.*(k.count), 1u) << in;
      EXPECT_EQ(c.total(), 1u) << in;
    }
}

TEST(Pii, ParenthesesStayUnlessTheyHoldTheAreaCode) {
  EXPECT_EQ(mask("연락처(010-1234-5678)로"), "연락처(<PHONE>)로");
  EXPECT_EQ(mask("사무실 (02) 123-4567"), "사무실 <PHONE>");
  EXPECT_EQ(mask("사무실 (02)123-4567."), "사무실 <PHONE>.");
  EXPECT_EQ(mask("(2024-01-15)"), "(2024-01-15)");
  EXPECT_EQ(mask("(12) 항목"), "(12) 항목");
}

TEST(Pii, RrnWithoutHyphenNeedsTheCheckDigit) {
  PiiCounts c;
  EXPECT_EQ(mask("주민번호 9001011234568 와 851231 2345673", &c), "주민번호 <RRN> 와 <RRN>");
  EXPECT_EQ(c.rrn, 2u);
  // Valid date and gender but a wrong check digit: any 13-digit number.
  EXPECT_EQ(mask("번호 9001011234567"), "번호 9001011234567");
  // With the hyphen no check digit is needed (post-2020 numbers have none).
  EXPECT_EQ(mask("주민번호 900101-1234567"), "주민번호 <RRN>");
  EXPECT_EQ(mask("주민번호 900101- 1234567, 900101 -1234567"), "주민번호 <RRN>, <RRN>");
  // Day 30 of February is no date.
  EXPECT_EQ(mask("코드 900230-1234567"), "코드 900230-1234567");
}

TEST(Pii, BusinessRegistrationNeedsTheCheckDigit) {
  PiiCounts c;
  EXPECT_EQ(mask("사업자등록번호: 220-81-12341", &c), "사업자등록번호: <BRN>");
  EXPECT_EQ(c.brn, 1u);
  EXPECT_EQ(mask("사업자등록번호: 123-45-67890"), "사업자등록번호: 123-45-67890");
}

TEST(Pii, BankAccountsByLayoutOrBankWord) {
  PiiCounts c;
  EXPECT_EQ(mask("국민은행 123456-01-123456, 하나 123-456789-12345", &c), "국민은행 <ACCOUNT>, 하나 <ACCOUNT>");
  EXPECT_EQ(c.account, 2u);
  // An unusual layout is an account only after a bank word.
  EXPECT_EQ(mask("농협 계좌 301-12-345678-9 로 입금"), "농협 계좌 <ACCOUNT> 로 입금");
  EXPECT_EQ(mask("입금:301-12-345678-9"), "입금:<ACCOUNT>");
  EXPECT_EQ(mask("문서번호 301-12-345678-9"), "문서번호 301-12-345678-9");
  // A bank word does not make dates, prices or short codes accounts.
  std::string s = "국민 여러분, 2024-01-15 은행 영업시간 09:00-16:00, 입금액 1,500,000원, 계좌 개설 12-345";
  EXPECT_EQ(mask(s), s);
}

TEST(Pii, LeavesNumbersThatAreNoIdentifiersAlone) {
  const char* keep[] = {
      "2024-01-15 회의",          "기간:2024-01-15~2024-02-15", "일시: 2024.01.15 14:30",
      "(2023-12-31 23:59:59)",   "가격:12,000원",              "₩1,500,000",
      "버전 v1.2.3, 1.2.3.4.5",  "ISBN 978-89-374-6044-9",     "ISBN:9788937460005",
      "인구 51,744,876명",        "번호 1234567890123",          "주문번호 20240115-0001234",
      "제3조 제2항",              "1999년 12월 31일",            "좌표 37.5665, 126.9780",
  };
  for (const char* s : keep) EXPECT_EQ(mask(s), s);
}

}  // namespace pii_test

}  // namespace kormo::data
