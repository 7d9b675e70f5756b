// `kormo serve`: the HTTP server over one model (cpp-httplib), its routes and its
// lifetime. docs/serve.md is the client's view.
//
// Promises:
//  - Binds loopback unless told otherwise; with an API key every route but /health,
//    /metrics and the chat page needs `Authorization: Bearer KEY` (401).
//  - SIGTERM/SIGINT: new requests get 503, running ones finish (streams included),
//    then run() returns. A second signal ends the process at once.
//  - One log line per request: method, path, status, milliseconds.
#pragma once

#include <cstdint>
#include <string>

namespace kormo::serve {

struct Options {
  std::string model, host = "127.0.0.1", api_key, name, precision = "fp32", backend = "auto";
  int port = 8080;  // 0: any free port (the log line says which)
  int64_t max_sequences = 16, context = 0, max_body = 8 << 20, max_tokens_limit = 4096;
  int http_threads = 64;
};

void run(const Options& o);

}  // namespace kormo::serve
