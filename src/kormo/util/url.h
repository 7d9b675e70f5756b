// Splitting the base URL of an OpenAI-compatible server (synth teachers, eval --endpoint)
// into what httplib::Client takes (the origin) and the path prefix requests go under.
#pragma once

#include <optional>
#include <string>

namespace kormo {

struct HttpUrl {
  std::string origin;  // scheme://host[:port]
  std::string path;    // the path prefix without a trailing '/', e.g. /v1 ("" when none)
};

// nullopt unless the scheme is http or https and a host follows it.
inline std::optional<HttpUrl> split_http_url(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos || (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0))
    return std::nullopt;
  const size_t slash = url.find('/', scheme + 3);
  HttpUrl u{url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash)};
  if (u.origin.size() == scheme + 3) return std::nullopt;
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  return u;
}

}  // namespace kormo
