#include "kormo/util/url.h"

#include <gtest/gtest.h>

namespace kormo {

TEST(SplitHttpUrl, OriginAndPathPrefixForHttpAndHttps) {
  const auto a = split_http_url("https://api.example.com/v1/");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->origin, "https://api.example.com");
  EXPECT_EQ(a->path, "/v1");
  const auto b = split_http_url("http://127.0.0.1:8080");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->origin, "http://127.0.0.1:8080");
  EXPECT_EQ(b->path, "");
}

TEST(SplitHttpUrl, RefusesOtherSchemesAndMissingHosts) {
  for (const char* u : {"ftp://host/v1", "127.0.0.1:8080/v1", "https:///v1", "http://", "httpss://h/v1", "htt://h"})
    EXPECT_FALSE(split_http_url(u)) << u;
}

}  // namespace kormo
