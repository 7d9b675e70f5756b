#include "kormo/data/document.h"

#include <gtest/gtest.h>

TEST(Document, NumberOverflowIsMalformedNotACrash) {
  // Found by the data fuzzer: nlohmann throws out_of_range even with exceptions off.
  kormo::data::Document d;
  std::string rule, why;
  EXPECT_FALSE(kormo::data::parse_document("1e2102", d, rule, why));
  EXPECT_EQ(rule, "bad_input.malformed_json");
  EXPECT_FALSE(kormo::data::parse_document(R"({"text": "a", "n": -1e999})", d, rule, why));
  EXPECT_EQ(rule, "bad_input.malformed_json");
}
